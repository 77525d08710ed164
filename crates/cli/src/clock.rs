//! The native [`Clock`]: wall time from `SystemTime`, waits on tokio, lock-owner nonces.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use symbols_core::ports::Clock;

/// Wall clock + tokio timers.
#[derive(Debug, Default)]
pub struct SystemClock {
    counter: AtomicU64,
}

impl SystemClock {
    /// A clock.
    pub fn new() -> Self {
        Self::default()
    }
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(since_epoch().as_millis()).unwrap_or(u64::MAX)
    }

    async fn sleep(&self, ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// `cli-<pid>-<ns since epoch, hex>-<n>`: unique per process and call, and visibly the
    /// CLI's when someone looks at a held lock (the Worker's owners are bare hex).
    fn nonce(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!(
            "cli-{}-{:x}-{n}",
            std::process::id(),
            since_epoch().as_nanos()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_differ_and_time_is_plausible() {
        let c = SystemClock::new();
        assert_ne!(c.nonce(), c.nonce());
        assert!(c.nonce().starts_with("cli-"));
        assert!(c.now_ms() > 1_600_000_000_000);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn sleep_waits() {
        let start = std::time::Instant::now();
        SystemClock::new().sleep(20).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}
