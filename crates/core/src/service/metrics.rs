//! The metrics snapshot of both markets (`/api/symbols/metrics`, `/metrics`, the status
//! page, `symbols status`): every counter and outcome, read in one round trip.

use serde::Serialize;

use super::{LastOutcome, Service};
use crate::changes::Kind;
use crate::feed::{self, Event};
use crate::keys;
use crate::market::Market;
use crate::ports::{Clock, Cmd, Http, Reply, Store, StoreError};
use crate::time::rfc3339;
use crate::upstream::FailureReason;

/// Per-market figures for `/api/symbols/metrics`, `/metrics` and the status page.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketMetrics {
    /// Cache hits.
    pub hits: i64,
    /// Cache misses.
    pub misses: i64,
    /// hits / (hits + misses), 0 when both are 0.
    pub hit_ratio: f64,
    /// Successful warmups.
    pub warmup_success: i64,
    /// Failed warmups.
    pub warmup_error: i64,
    /// Unix seconds of the last successful refresh.
    pub last_refresh_ts: Option<i64>,
    /// RFC 3339 of the same.
    pub last_refresh_at: Option<String>,
    /// Seconds since then.
    pub age_seconds: Option<i64>,
    /// Symbols in the current list.
    pub symbol_count: Option<usize>,
    /// The last refresh attempt.
    pub last_outcome: Option<LastOutcome>,
    /// Upstream failures by reason label.
    pub upstream_failures: std::collections::BTreeMap<String, i64>,
    /// Change events recorded, by type (`listed`, `rules`, ...).
    pub changes_recorded: std::collections::BTreeMap<String, i64>,
    /// Webhook deliveries of change events that got a 2xx.
    pub webhook_ok: i64,
    /// Webhook deliveries that failed (non-2xx, timeout, network, dropped).
    pub webhook_failed: i64,
    /// The newest change events, newest first (at most [`RECENT_CHANGES`]).
    pub recent_changes: Vec<Event>,
}

/// Change events the snapshot carries per market (the status page's "recent changes").
pub const RECENT_CHANGES: u64 = 10;

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// Reads every counter and outcome of both markets, and their newest change events,
    /// in one round trip.
    ///
    /// # Errors
    /// The store's error.
    pub async fn metrics(&self) -> Result<Vec<(Market, MarketMetrics)>, StoreError> {
        let mut keys_list = Vec::new();
        for m in Market::ALL {
            keys_list.extend([
                keys::cache_hit(m),
                keys::cache_miss(m),
                keys::warmup_success(m),
                keys::warmup_error(m),
                keys::last_refresh_ts(m),
                keys::last_outcome(m),
            ]);
            keys_list.extend(
                FailureReason::ALL
                    .iter()
                    .map(|r| keys::upstream_failure(m, r.as_str())),
            );
            keys_list.extend(Kind::ALL.iter().map(|&k| keys::changes_recorded(m, k)));
            keys_list.extend([
                keys::changes_webhook(m, true),
                keys::changes_webhook(m, false),
            ]);
        }
        let mut cmds = vec![Cmd::MGet(keys_list)];
        cmds.extend(
            Market::ALL
                .iter()
                .map(|&m| feed::recent_cmd(m, RECENT_CHANGES)),
        );
        let mut replies = self.store.exec(cmds).await?.into_iter();
        let values = match replies.next() {
            Some(Reply::Array(v)) => v,
            Some(Reply::Error(e)) => return Err(StoreError::Refused(e)),
            _ => Vec::new(),
        };
        let mut it = values.into_iter();
        let now_s = (self.clock.now_ms() / 1000) as i64;
        let mut out = Vec::new();
        for m in Market::ALL {
            let mut int = || it.next().and_then(|r| r.as_int());
            let hits = int().unwrap_or(0);
            let misses = int().unwrap_or(0);
            let warmup_success = int().unwrap_or(0);
            let warmup_error = int().unwrap_or(0);
            let last_refresh_ts = int();
            let last_outcome: Option<LastOutcome> = it
                .next()
                .and_then(Reply::into_bytes)
                .and_then(|b| serde_json::from_slice(&b).ok());
            let mut upstream_failures = std::collections::BTreeMap::new();
            for r in FailureReason::ALL {
                upstream_failures.insert(
                    r.as_str().to_string(),
                    it.next().and_then(|x| x.as_int()).unwrap_or(0),
                );
            }
            let mut changes_recorded = std::collections::BTreeMap::new();
            for k in Kind::ALL {
                changes_recorded.insert(
                    k.as_str().to_string(),
                    it.next().and_then(|x| x.as_int()).unwrap_or(0),
                );
            }
            let webhook_ok = it.next().and_then(|x| x.as_int()).unwrap_or(0);
            let webhook_failed = it.next().and_then(|x| x.as_int()).unwrap_or(0);
            let recent_changes = replies.next().map(feed::recent).unwrap_or_default();
            let total = hits + misses;
            out.push((
                m,
                MarketMetrics {
                    hits,
                    misses,
                    hit_ratio: if total > 0 {
                        hits as f64 / total as f64
                    } else {
                        0.0
                    },
                    warmup_success,
                    warmup_error,
                    last_refresh_ts,
                    last_refresh_at: last_refresh_ts.map(|t| rfc3339(t.max(0) as u64 * 1000)),
                    age_seconds: last_refresh_ts.map(|t| (now_s - t).max(0)),
                    symbol_count: last_outcome.as_ref().and_then(|o| o.count),
                    last_outcome,
                    upstream_failures,
                    changes_recorded,
                    webhook_ok,
                    webhook_failed,
                    recent_changes,
                },
            ));
        }
        Ok(out)
    }
}
