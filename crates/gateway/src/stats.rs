//! Request and command counters behind `GET /__gateway/stats` and `POST /__gateway/stats/reset`.
//!
//! `requests` counts every HTTP request except the `/__gateway/…` endpoints themselves (so reading
//! the counters does not change them); `commands` counts every command sent to Redis on behalf of a
//! client (a pipeline of 3 counts 3; a transaction counts its commands, not `MULTI`/`EXEC`).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// The counters.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    commands: AtomicU64,
}

/// A point-in-time copy of the counters, serialised as `{"requests":N,"commands":M}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StatsSnapshot {
    /// HTTP requests served (excluding `/__gateway/…`).
    pub requests: u64,
    /// Redis commands executed for clients.
    pub commands: u64,
}

impl Stats {
    /// Counts one request.
    pub fn add_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
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
        }
    }

    /// Sets both counters to zero and returns the values they had.
    pub fn reset(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.swap(0, Ordering::Relaxed),
            commands: self.commands.swap(0, Ordering::Relaxed),
        }
    }
}
