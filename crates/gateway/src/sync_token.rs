//! Read-your-writes tokens: the `upstash-sync-token` header, issued on every response and
//! accepted on requests, as Upstash does and `@upstash/redis` (and `upstash-rest`) expect.
//!
//! A token is a decimal number that increases with every response. It is issued after the
//! request's commands have completed, so a request carrying token `T` starts after every command
//! answered with a token up to `T`: with one redis-server (no replica to lag behind) those writes
//! are all visible to it, which is what honouring the token means here. The counter starts at the
//! wall clock in microseconds, so tokens keep increasing across gateway restarts.
//!
//! Tokens received, classified in [`Received`] and counted in the stats:
//! - none or empty (the SDK's first request sends `""`): served as usual;
//! - malformed (not 1-20 ASCII digits, or over `u64`): ignored and served as usual (Upstash
//!   documents the token only as a checkpoint for replicas and names no error for a bad one; a
//!   client could not fix it by retrying anyway);
//! - from the future (larger than any token issued, e.g. from another gateway or a clock moved
//!   back): served at once with the current token, since no replica here could ever catch up,
//!   and an error would strand every client holding it. The client then takes the current token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderValue;

/// The header name (requests and responses).
pub const HEADER: &str = "upstash-sync-token";

/// What a request's token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// No header, or an empty one.
    Absent,
    /// Not a token this gateway could have issued the shape of.
    Malformed,
    /// A token up to the latest issued: its writes are visible.
    Satisfied(u64),
    /// Larger than any token issued so far.
    Future(u64),
}

/// The token counter.
#[derive(Debug)]
pub struct SyncTokens {
    last: AtomicU64,
}

impl Default for SyncTokens {
    fn default() -> Self {
        SyncTokens::starting_at(now_micros())
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl SyncTokens {
    /// A counter whose next token is above `last`.
    pub fn starting_at(last: u64) -> Self {
        SyncTokens {
            last: AtomicU64::new(last),
        }
    }

    /// The latest token issued.
    pub fn current(&self) -> u64 {
        self.last.load(Ordering::SeqCst)
    }

    /// A new token, larger than every one before (and at least the clock in microseconds).
    pub fn issue(&self) -> u64 {
        let now = now_micros();
        let previous = self
            .last
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(last.saturating_add(1).max(now))
            })
            .unwrap_or_else(|last| last);
        previous.saturating_add(1).max(now)
    }

    /// The header value of a new token.
    pub fn issue_header(&self) -> HeaderValue {
        HeaderValue::from(self.issue())
    }

    /// Classifies a request's header value.
    pub fn classify(&self, value: Option<&HeaderValue>) -> Received {
        let bytes = value.map_or(&b""[..], HeaderValue::as_bytes);
        if bytes.is_empty() {
            return Received::Absent;
        }
        if bytes.len() > 20 || !bytes.iter().all(u8::is_ascii_digit) {
            return Received::Malformed;
        }
        let Some(token) = std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return Received::Malformed;
        };
        if token <= self.current() {
            Received::Satisfied(token)
        } else {
            Received::Future(token)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_increase_and_follow_the_clock() {
        let tokens = SyncTokens::starting_at(5);
        let a = tokens.issue();
        let b = tokens.issue();
        assert!(a >= now_micros() - 60_000_000, "{a}");
        assert!(b > a);
        assert_eq!(tokens.current(), b);
        let ahead = SyncTokens::starting_at(u64::MAX - 1);
        assert_eq!(ahead.issue(), u64::MAX);
        assert_eq!(ahead.issue(), u64::MAX, "saturates instead of wrapping");
    }

    #[test]
    fn received_tokens_are_classified() {
        let tokens = SyncTokens::starting_at(1000);
        let h = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(tokens.classify(None), Received::Absent);
        assert_eq!(tokens.classify(Some(&h(""))), Received::Absent);
        assert_eq!(tokens.classify(Some(&h("999"))), Received::Satisfied(999));
        assert_eq!(tokens.classify(Some(&h("1000"))), Received::Satisfied(1000));
        assert_eq!(tokens.classify(Some(&h("1001"))), Received::Future(1001));
        for bad in [
            "abc",
            "-1",
            "1.5",
            " 12",
            "99999999999999999999",
            "123456789012345678901",
        ] {
            assert_eq!(tokens.classify(Some(&h(bad))), Received::Malformed, "{bad}");
        }
    }
}
