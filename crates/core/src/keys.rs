//! Every Redis key name, in two groups: the original Python system's keys (a contract we
//! keep exactly: `../ORIGINAL-CONTRACT` facts, README "Redis keys") and this service's own.
//!
//! The original's names and value formats are never changed here. Ours change only with a
//! new name (e.g. `document2`) and a note in README.

use crate::market::Market;

// ---- The original system's keys (shared; it reads and writes them too) ----

/// The original's primary cache: a JSON array of raw Binance symbol objects (USDT only, in
/// its priority order), with the market's TTL. See [`crate::original`].
pub fn original_list(m: Market) -> String {
    format!("cache:symbols:{}:v1", m.as_str())
}

/// The original's last good list: the same array, no TTL.
pub fn original_last_good(m: Market) -> String {
    format!("cache:symbols:{}:last_good", m.as_str())
}

/// Unix seconds (a JSON integer) of the last successful primary write, by either system.
pub fn last_refresh_ts(m: Market) -> String {
    format!("metrics:{}_symbols_cache:last_refresh_ts", m.as_str())
}

/// INCRBY counter of requests that found the list in the primary key.
pub fn cache_hit(m: Market) -> String {
    format!("metrics:cache_hit:symbols_{}", m.as_str())
}

/// INCRBY counter of requests that did not (also when they then waited for a refresh).
pub fn cache_miss(m: Market) -> String {
    format!("metrics:cache_miss:symbols_{}", m.as_str())
}

/// INCRBY counter of warmups (cron, admin) whose writes all succeeded.
pub fn warmup_success(m: Market) -> String {
    format!("metrics:warmup_{}_symbols_cache:success", m.as_str())
}

/// INCRBY counter of failed warmups: once per failed refresh (fetch, validation or write).
pub fn warmup_error(m: Market) -> String {
    format!("metrics:warmup_{}_symbols_cache:error", m.as_str())
}

// ---- This service's keys (the original never reads them) ----

/// Our list document (every quote asset, projected fields, version, fetchedAt), with the
/// market's TTL. Served as stored bytes on a hit. See [`crate::symbols::StoredList`].
pub fn document(m: Market) -> String {
    format!("symbols-edge:{}:document", m.as_str())
}

/// Our last validated document; no TTL; replaced only by a newer validated list.
pub fn document_last_good(m: Market) -> String {
    format!("symbols-edge:{}:document:last_good", m.as_str())
}

/// Our ccxt markets (`?format=ccxt`: ccxt's unified market for every symbol, `info` the raw
/// object), with the market's TTL; written and extended with our document. See
/// [`crate::ccxt::CcxtList`].
pub fn ccxt(m: Market) -> String {
    format!("symbols-edge:{}:ccxt", m.as_str())
}

/// The last validated ccxt markets; no TTL; replaced only with our last good document.
pub fn ccxt_last_good(m: Market) -> String {
    format!("symbols-edge:{}:ccxt:last_good", m.as_str())
}

/// Our full records (every rule of every symbol; single-symbol lookups and `?fields=`): a
/// hash, one field per symbol, with the market's TTL; written and extended with our ccxt
/// markets. See [`crate::rules`].
pub fn rules(m: Market) -> String {
    format!("symbols-edge:{}:rules", m.as_str())
}

/// The last validated full records; no TTL.
pub fn rules_last_good(m: Market) -> String {
    format!("symbols-edge:{}:rules:last_good", m.as_str())
}

/// Where a refresh assembles new full records before copying them to both keys above
/// (deleted right after; never read).
pub fn rules_scratch(m: Market) -> String {
    format!("symbols-edge:{}:rules:writing", m.as_str())
}

/// What the last full write stored (versions and counts, a few hundred bytes): lets a
/// refresh that finds the same list extend TTLs instead of re-writing megabytes, and
/// validate without reading last_good. See [`crate::service::refresh::Stored`].
pub fn stored_meta(m: Market) -> String {
    format!("symbols-edge:{}:stored", m.as_str())
}

/// INCRBY counter of upstream failures by reason (`429`, `timeout`, `rejected`, ...).
pub fn upstream_failure(m: Market, reason: &str) -> String {
    format!("metrics:upstream_failure:symbols_{}:{}", m.as_str(), reason)
}

/// Single-flight refresh lock (`SET .. NX PX`), released only by its owner.
pub fn refresh_lock(m: Market) -> String {
    format!("lock:symbols:{}:refresh", m.as_str())
}

/// Unix milliseconds before which Binance must not be called (after 429/418 Retry-After).
pub fn upstream_blocked_until(m: Market) -> String {
    format!("cache:symbols:{}:upstream_blocked_until", m.as_str())
}

/// JSON of the last refresh attempt's outcome (status page, metrics).
pub fn last_outcome(m: Market) -> String {
    format!("cache:symbols:{}:last_outcome", m.as_str())
}

/// The changes feed of a market: a stream, one entry per event (field `event`, its
/// JSON), ids `<detected ms>-<n>`, trimmed to `CHANGES_MAX_EVENTS`. See [`crate::feed`].
pub fn changes(m: Market) -> String {
    format!("symbols-edge:{}:changes", m.as_str())
}

/// When each version of our document was stored (a sorted set: member the version,
/// score its detection time in unix ms), so `?since=<version>` finds its place in the
/// stream; the newest `CHANGES_MAX_EVENTS` versions are kept.
pub fn changes_versions(m: Market) -> String {
    format!("symbols-edge:{}:changes:versions", m.as_str())
}

/// INCRBY counter of change events recorded, by type (`listed`, `rules`, ...).
pub fn changes_recorded(m: Market, kind: crate::changes::Kind) -> String {
    format!(
        "symbols-edge:{}:changes:recorded:{}",
        m.as_str(),
        kind.as_str()
    )
}

/// INCRBY counter of webhook deliveries of the market's changes: `ok` (2xx) or `failed`.
pub fn changes_webhook(m: Market, ok: bool) -> String {
    let outcome = if ok { "ok" } else { "failed" };
    format!("symbols-edge:{}:changes:webhook:{}", m.as_str(), outcome)
}

/// Keys the previous version of this service wrote and this one no longer reads or writes
/// (README "Upgrading"): left in place, never an error. (`cache:symbols:<m>:v1` and
/// `last_good` are not here: they are the original's, and a document of ours found there is
/// read as a fallback and replaced by the original's array at the next refresh.)
pub fn legacy(m: Market) -> Vec<String> {
    vec![
        format!("cache:symbols:{}:last_refresh_ts", m.as_str()),
        format!("metrics:warmup_success:symbols_{}", m.as_str()),
        format!("metrics:warmup_error:symbols_{}", m.as_str()),
    ]
}

/// Every key this service reads or writes for a market (for the ops CLI and docs).
pub fn all(m: Market) -> Vec<String> {
    let mut keys = vec![
        original_list(m),
        original_last_good(m),
        last_refresh_ts(m),
        cache_hit(m),
        cache_miss(m),
        warmup_success(m),
        warmup_error(m),
        document(m),
        document_last_good(m),
        ccxt(m),
        ccxt_last_good(m),
        rules(m),
        rules_last_good(m),
        rules_scratch(m),
        stored_meta(m),
        refresh_lock(m),
        upstream_blocked_until(m),
        last_outcome(m),
        changes(m),
        changes_versions(m),
        changes_webhook(m, true),
        changes_webhook(m, false),
    ];
    keys.extend(
        crate::upstream::FailureReason::ALL
            .iter()
            .map(|r| upstream_failure(m, r.as_str())),
    );
    keys.extend(
        crate::changes::Kind::ALL
            .iter()
            .map(|&k| changes_recorded(m, k)),
    );
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_systems_names() {
        assert_eq!(original_list(Market::Spot), "cache:symbols:spot:v1");
        assert_eq!(original_list(Market::Futures), "cache:symbols:futures:v1");
        assert_eq!(
            original_last_good(Market::Spot),
            "cache:symbols:spot:last_good"
        );
        assert_eq!(
            original_last_good(Market::Futures),
            "cache:symbols:futures:last_good"
        );
        assert_eq!(
            last_refresh_ts(Market::Spot),
            "metrics:spot_symbols_cache:last_refresh_ts"
        );
        assert_eq!(
            last_refresh_ts(Market::Futures),
            "metrics:futures_symbols_cache:last_refresh_ts"
        );
        assert_eq!(cache_hit(Market::Spot), "metrics:cache_hit:symbols_spot");
        assert_eq!(
            cache_miss(Market::Futures),
            "metrics:cache_miss:symbols_futures"
        );
        assert_eq!(
            warmup_success(Market::Spot),
            "metrics:warmup_spot_symbols_cache:success"
        );
        assert_eq!(
            warmup_error(Market::Futures),
            "metrics:warmup_futures_symbols_cache:error"
        );
    }

    #[test]
    fn our_document_keys_are_outside_the_originals_namespace() {
        for m in Market::ALL {
            for k in [
                document(m),
                document_last_good(m),
                ccxt(m),
                ccxt_last_good(m),
                rules(m),
                rules_last_good(m),
                rules_scratch(m),
                stored_meta(m),
                changes(m),
                changes_versions(m),
                changes_webhook(m, false),
                changes_recorded(m, crate::changes::Kind::Rules),
            ] {
                assert!(k.starts_with("symbols-edge:"), "{k}");
            }
        }
        assert_eq!(refresh_lock(Market::Spot), "lock:symbols:spot:refresh");
    }
}
