//! Every Redis key name: the contract shared with the original Python system.
//!
//! Changing any name here breaks the other readers of the same Redis: bump the
//! version suffix (`:v2`) and note it in README instead.

use crate::market::Market;

/// Primary cache: the processed list document, with a TTL.
pub fn cache(m: Market) -> String {
    format!("cache:symbols:{}:v1", m.as_str())
}

/// The last validated list; no TTL; only replaced by a newer validated list.
pub fn last_good(m: Market) -> String {
    format!("cache:symbols:{}:last_good", m.as_str())
}

/// Unix seconds of the last successful refresh.
pub fn last_refresh_ts(m: Market) -> String {
    format!("cache:symbols:{}:last_refresh_ts", m.as_str())
}

/// `symbols_spot` / `symbols_futures`: the suffix of the metric keys.
fn metric_name(m: Market) -> String {
    format!("symbols_{}", m.as_str())
}

/// INCRBY counter of primary-cache hits.
pub fn cache_hit(m: Market) -> String {
    format!("metrics:cache_hit:{}", metric_name(m))
}

/// INCRBY counter of primary-cache misses.
pub fn cache_miss(m: Market) -> String {
    format!("metrics:cache_miss:{}", metric_name(m))
}

/// INCRBY counter of successful refreshes (cron, admin, and request-time misses).
pub fn warmup_success(m: Market) -> String {
    format!("metrics:warmup_success:{}", metric_name(m))
}

/// INCRBY counter of failed refreshes.
pub fn warmup_error(m: Market) -> String {
    format!("metrics:warmup_error:{}", metric_name(m))
}

/// INCRBY counter of upstream failures by reason (`429`, `timeout`, `rejected`, ...).
/// Added by this service; the Python system does not write it.
pub fn upstream_failure(m: Market, reason: &str) -> String {
    format!("metrics:upstream_failure:{}:{}", metric_name(m), reason)
}

/// Single-flight refresh lock (`SET .. NX PX`), released only by its owner.
pub fn refresh_lock(m: Market) -> String {
    format!("lock:symbols:{}:refresh", m.as_str())
}

/// Unix milliseconds before which Binance must not be called (after 429/418 Retry-After).
pub fn upstream_blocked_until(m: Market) -> String {
    format!("cache:symbols:{}:upstream_blocked_until", m.as_str())
}

/// JSON of the last refresh attempt's outcome (status page, metrics). Added by this service.
pub fn last_outcome(m: Market) -> String {
    format!("cache:symbols:{}:last_outcome", m.as_str())
}

/// Every key this service reads or writes for a market (for the ops CLI and docs).
pub fn all(m: Market) -> Vec<String> {
    let mut keys = vec![
        cache(m),
        last_good(m),
        last_refresh_ts(m),
        cache_hit(m),
        cache_miss(m),
        warmup_success(m),
        warmup_error(m),
        refresh_lock(m),
        upstream_blocked_until(m),
        last_outcome(m),
    ];
    keys.extend(crate::upstream::FailureReason::ALL.iter().map(|r| upstream_failure(m, r.as_str())));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_python_system() {
        assert_eq!(cache(Market::Spot), "cache:symbols:spot:v1");
        assert_eq!(cache(Market::Futures), "cache:symbols:futures:v1");
        assert_eq!(last_good(Market::Spot), "cache:symbols:spot:last_good");
        assert_eq!(last_refresh_ts(Market::Futures), "cache:symbols:futures:last_refresh_ts");
        assert_eq!(cache_hit(Market::Spot), "metrics:cache_hit:symbols_spot");
        assert_eq!(cache_miss(Market::Futures), "metrics:cache_miss:symbols_futures");
        assert_eq!(warmup_success(Market::Spot), "metrics:warmup_success:symbols_spot");
        assert_eq!(warmup_error(Market::Futures), "metrics:warmup_error:symbols_futures");
        assert_eq!(refresh_lock(Market::Spot), "lock:symbols:spot:refresh");
    }
}
