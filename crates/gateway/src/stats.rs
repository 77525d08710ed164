//! Request and command counters behind `GET /__gateway/stats` and `POST /__gateway/stats/reset`.
//!
//! `requests` counts every HTTP request except the `/__gateway/…` endpoints themselves (so reading
//! the counters does not change them); `commands` counts every command sent to Redis on behalf of a
//! client (a pipeline of 3 counts 3; a transaction counts its commands, not `MULTI`/`EXEC`);
//! `sync_tokens` counts requests that carried a well-formed `upstash-sync-token` (of them,
//! `sync_tokens_future` were from the future, see [`crate::sync_token`]).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// The counters.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    commands: AtomicU64,
    sync_tokens: AtomicU64,
    sync_tokens_future: AtomicU64,
    request_bytes: AtomicU64,
    response_bytes: AtomicU64,
}

/// A point-in-time copy of the counters, serialised as
/// `{"requests":N,"commands":M,"syncTokens":S,"syncTokensFuture":F,"requestBytes":B,"responseBytes":R}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    /// HTTP requests served (excluding `/__gateway/…`).
    pub requests: u64,
    /// Redis commands executed for clients.
    pub commands: u64,
    /// Requests (excluding `/__gateway/…`) that carried a well-formed sync token.
    pub sync_tokens: u64,
    /// Of those, tokens larger than any issued.
    pub sync_tokens_future: u64,
    /// Request body bytes received (excluding `/__gateway/…`): what Upstash bills as
    /// bandwidth on the way in.
    #[serde(default)]
    pub request_bytes: u64,
    /// Response body bytes sent (excluding `/__gateway/…`).
    #[serde(default)]
    pub response_bytes: u64,
}

impl Stats {
    /// Counts one request.
    pub fn add_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request's well-formed sync token (`future`: larger than any issued).
    pub fn add_sync_token(&self, future: bool) {
        self.sync_tokens.fetch_add(1, Ordering::Relaxed);
        if future {
            self.sync_tokens_future.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one request's body bytes and its response's.
    pub fn add_bytes(&self, request: usize, response: usize) {
        self.request_bytes
            .fetch_add(request as u64, Ordering::Relaxed);
        self.response_bytes
            .fetch_add(response as u64, Ordering::Relaxed);
    }

    /// Counts `n` commands.
    pub fn add_commands(&self, n: usize) {
        self.commands.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
            sync_tokens: self.sync_tokens.load(Ordering::Relaxed),
            sync_tokens_future: self.sync_tokens_future.load(Ordering::Relaxed),
            request_bytes: self.request_bytes.load(Ordering::Relaxed),
            response_bytes: self.response_bytes.load(Ordering::Relaxed),
        }
    }

    /// Sets the counters to zero and returns the values they had.
    pub fn reset(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.swap(0, Ordering::Relaxed),
            commands: self.commands.swap(0, Ordering::Relaxed),
            sync_tokens: self.sync_tokens.swap(0, Ordering::Relaxed),
            sync_tokens_future: self.sync_tokens_future.swap(0, Ordering::Relaxed),
            request_bytes: self.request_bytes.swap(0, Ordering::Relaxed),
            response_bytes: self.response_bytes.swap(0, Ordering::Relaxed),
        }
    }
}
