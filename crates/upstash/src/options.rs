//! [`ClientOptions`]: deadlines, retries, encoding, read-your-writes and the log sink, shared by
//! the client, its pipelines and the transport under both.

use std::fmt;
use std::time::Duration;

use crate::sink;

/// A log sink: receives one JSON object per line (no trailing newline), e.g.
/// `{"level":"warn","event":"upstash.read_json_failed","key":"k","error":"..."}`.
/// Plain function pointer so it works the same on wasm (no `Send` closures needed).
pub type LogFn = fn(&str);

/// Longest per-attempt timeout accepted (longer values are clamped).
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Client settings. `Default` gives the production values.
#[derive(Clone)]
pub struct ClientOptions {
    /// Deadline of each attempt (send + full body read). Default 5 s; clamped to 1 ms ..= 1 h.
    pub timeout: Duration,
    /// Retries after a transport failure (so at most `1 + retries` attempts). Default 2.
    pub retries: u32,
    /// Total time after which no further retry is started. Default 1.5 s.
    pub retry_budget: Duration,
    /// Delay before the first retry, doubled for each further one. Default 50 ms.
    pub backoff: Duration,
    /// Ask for base64-encoded replies (`Upstash-Encoding: base64`) and decode them, so any
    /// bytes survive the JSON transport. Default true.
    pub base64: bool,
    /// Where log lines go; `None` silences the client. Default: stderr natively,
    /// `console.log` on wasm (a Worker may pass its own `console_log!` wrapper).
    pub log: Option<LogFn>,
    /// Read-your-writes: keep the latest `upstash-sync-token` and send it back (see the
    /// transport's docs in `transport/mod.rs`). Default true; false is the SDK's
    /// `readYourWrites: false`.
    pub read_your_writes: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(5),
            retries: 2,
            retry_budget: Duration::from_millis(1500),
            backoff: Duration::from_millis(50),
            base64: true,
            log: Some(sink::default_log),
            read_your_writes: true,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("retry_budget", &self.retry_budget)
            .field("backoff", &self.backoff)
            .field("base64", &self.base64)
            .field("log", &self.log.is_some())
            .field("read_your_writes", &self.read_your_writes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let o = ClientOptions::default();
        assert_eq!(o.timeout, Duration::from_secs(5));
        assert_eq!(o.retries, 2);
        assert_eq!(o.retry_budget, Duration::from_millis(1500));
        assert!(o.base64);
        assert!(o.log.is_some());
        assert!(o.read_your_writes);
    }
}
