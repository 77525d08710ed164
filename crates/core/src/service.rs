//! The read-through flow: cache -> (single-flight) refresh -> last_good -> 503, with
//! Redis-down bypass; the cron warmup; counters and the metrics snapshot.
//!
//! Every Redis interaction is one batched round trip (see [`Store::exec`]); the
//! comments on each step say which.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::Config;
use crate::exchange_info::{self, ProcessError};
use crate::keys;
use crate::log::{Level, Logger};
use crate::market::Market;
use crate::ports::{Clock, Cmd, Http, Reply, Store, StoreError};
use crate::symbols::{rfc3339, StoredList};
use crate::upstream::{self, FailureReason, FetchError};

/// How a list was served: the `X-Cache` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// From the primary cache (or the edge cache in front of it).
    Hit,
    /// Fetched upstream for this request.
    Miss,
    /// last_good, because the upstream failed.
    Stale,
    /// Redis unreachable: fetched upstream directly, nothing stored.
    Bypass,
}

impl CacheStatus {
    /// `HIT`, `MISS`, `STALE`, `BYPASS`.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Stale => "STALE",
            CacheStatus::Bypass => "BYPASS",
        }
    }
}

/// A list ready to serve.
#[derive(Clone, Debug)]
pub struct Served {
    /// The document.
    pub list: StoredList,
    /// How it was obtained.
    pub status: CacheStatus,
    /// Redis REST round trips spent on the critical path.
    pub redis_round_trips: u32,
    /// HTTP status of the last upstream attempt, if the upstream was called.
    pub upstream_status: Option<u16>,
}

/// Nothing can be served.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no {market} symbol list available: {reason}")]
pub struct Unavailable {
    /// The market.
    pub market: Market,
    /// Suggested `Retry-After`.
    pub retry_after_secs: u64,
    /// Log-safe reason.
    pub reason: String,
}

/// What started a refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A request found the cache empty.
    Request,
    /// The cron trigger.
    Cron,
    /// `POST /api/symbols/{market}/refresh`.
    Admin,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Request => "request",
            Trigger::Cron => "cron",
            Trigger::Admin => "admin",
        }
    }
}

/// The stored outcome of the last refresh attempt (`cache:symbols:<m>:last_outcome`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastOutcome {
    /// Succeeded?
    pub ok: bool,
    /// Unix ms.
    pub at_ms: u64,
    /// `request`, `cron`, `admin`.
    pub trigger: String,
    /// Symbols in the list now served (new on success, last_good's otherwise).
    pub count: Option<usize>,
    /// Failure reason label, if failed.
    #[serde(default)]
    pub reason: Option<String>,
    /// Duration of the attempt.
    pub duration_ms: u64,
}

/// Result of one refresh attempt.
#[derive(Clone, Debug)]
pub enum Refresh {
    /// A new validated list was stored.
    Stored(StoredList),
    /// Another refresh holds the lock.
    Busy {
        /// last_good, if readable.
        last_good: Option<StoredList>,
    },
    /// Upstream or validation failed; nothing was overwritten.
    Failed {
        /// Why.
        reason: FailureReason,
        /// Log-safe detail.
        detail: String,
        /// Seconds until the upstream may be called again (429/418 back-off).
        retry_after_secs: Option<u64>,
        /// last_good, if readable.
        last_good: Option<StoredList>,
        /// Last upstream HTTP status.
        status: Option<u16>,
    },
    /// Redis is unreachable: cannot lock, read or store.
    StoreDown(String),
}

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
}

/// The service: generic over its ports so it runs in workerd, natively and in unit tests.
pub struct Service<S, H, C> {
    /// Redis.
    pub store: S,
    /// The exchange.
    pub http: H,
    /// Time.
    pub clock: C,
    /// Settings.
    pub config: Config,
    /// Logs.
    pub log: Logger,
    /// Hits counted here but not yet in Redis (see [`Service::record`]).
    tally: HitTally,
}

/// Per-market hits waiting for their coalesced `INCRBY`, and when the flush that will
/// write them was scheduled (unix ms). Single-threaded (one per isolate), hence `Cell`.
#[derive(Default)]
struct HitTally {
    pending: [std::cell::Cell<u64>; 2],
    scheduled_at: [std::cell::Cell<Option<u64>>; 2],
}

/// A scheduled flush older than this is presumed dead: workerd stops `wait_until` work
/// 30 s after the response, and a stopped future is never polled again (nor dropped),
/// so its mark would otherwise block every later flush of the isolate.
const FLUSH_PRESUMED_DEAD_MS: u64 = 30_000;


/// First wait between polls of a held lock; doubles up to [`POLL_MAX_MS`] so a crowd of
/// waiters does not turn into a crowd of Redis requests.
const POLL_MS: u64 = 100;
const POLL_MAX_MS: u64 = 1_000;

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// Builds a service.
    pub fn new(store: S, http: H, clock: C, config: Config, log: Logger) -> Self {
        Self { store, http, clock, config, log, tally: HitTally::default() }
    }

    /// The clock's now (unix ms).
    pub fn clock_now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Serves `market`'s list: one round trip on a hit (MGET of the cache key and the
    /// back-off key); counting is left to [`Service::record`], off the critical path.
    ///
    /// # Errors
    /// [`Unavailable`] when neither cache, upstream nor last_good can serve.
    pub async fn list(&self, market: Market) -> Result<Served, Unavailable> {
        let read = self
            .store
            .exec(vec![Cmd::MGet(vec![keys::cache(market), keys::upstream_blocked_until(market)])])
            .await;
        let replies = match read {
            Ok(r) => r,
            Err(e) => return self.bypass(market, e).await,
        };
        let mut items = match replies.into_iter().next() {
            Some(Reply::Array(items)) => items.into_iter(),
            _ => Vec::new().into_iter(),
        };
        let cached = items.next().and_then(Reply::into_bytes).and_then(|b| StoredList::from_bytes(market, b));
        if let Some(list) = cached {
            return Ok(Served { list, status: CacheStatus::Hit, redis_round_trips: 1, upstream_status: None });
        }
        let blocked_until = items.next().and_then(|r| r.as_int()).unwrap_or(0);
        self.miss(market, blocked_until).await
    }

    async fn miss(&self, market: Market, blocked_until_ms: i64) -> Result<Served, Unavailable> {
        let now = self.clock.now_ms() as i64;
        if blocked_until_ms > now {
            // Binance asked us to wait: do not even take the lock.
            let last_good = self.read_last_good(market).await;
            let secs = ((blocked_until_ms - now) as u64).div_ceil(1000);
            return self.stale_or_unavailable(market, last_good, 2, secs, "upstream back-off in effect".into(), None);
        }
        match self.refresh(market, Trigger::Request).await {
            Refresh::Stored(list) => {
                Ok(Served { list, status: CacheStatus::Miss, redis_round_trips: 3, upstream_status: Some(200) })
            }
            Refresh::Failed { detail, retry_after_secs, last_good, status, .. } => {
                self.stale_or_unavailable(market, last_good, 3, retry_after_secs.unwrap_or(10), detail, status)
            }
            Refresh::Busy { last_good } => self.wait_for_holder(market, last_good).await,
            Refresh::StoreDown(e) => self.bypass(market, StoreError::Unreachable(e)).await,
        }
    }

    fn stale_or_unavailable(
        &self,
        market: Market,
        last_good: Option<StoredList>,
        round_trips: u32,
        retry_after_secs: u64,
        reason: String,
        upstream_status: Option<u16>,
    ) -> Result<Served, Unavailable> {
        match last_good {
            Some(list) => Ok(Served { list, status: CacheStatus::Stale, redis_round_trips: round_trips, upstream_status }),
            None => Err(Unavailable { market, retry_after_secs: retry_after_secs.max(1), reason }),
        }
    }

    /// Another request or the cron holds the lock: poll until its result lands (bounded
    /// by `wait_ms`). When the lock goes away without a new list, the holder either
    /// failed (it wrote `last_outcome` meanwhile: serve last_good now, without another
    /// upstream call) or crashed and its lock expired (take over, once).
    async fn wait_for_holder(&self, market: Market, mut last_good: Option<StoredList>) -> Result<Served, Unavailable> {
        let started = self.clock.now_ms();
        let deadline = started + self.config.wait_ms;
        let mut round_trips = 2;
        let mut took_over = false;
        let mut pause = POLL_MS;
        while self.clock.now_ms() < deadline {
            self.clock.sleep(pause.min(deadline.saturating_sub(self.clock.now_ms()).max(10))).await;
            pause = (pause * 2).min(POLL_MAX_MS);
            round_trips += 1;
            // Poll the small keys only: with many waiters, re-reading the whole list every
            // poll would move megabytes through Redis for nothing.
            let polled = self
                .store
                .exec(vec![Cmd::MGet(vec![keys::refresh_lock(market), keys::last_outcome(market)])])
                .await;
            let mut items = match polled.ok().and_then(|r| r.into_iter().next()) {
                Some(Reply::Array(items)) => items.into_iter(),
                _ => continue, // a slow or failed poll: try again until the deadline
            };
            if items.next().is_some_and(|r| r != Reply::Nil) {
                continue; // still held
            }
            round_trips += 1;
            let cached = match self.store.exec(vec![Cmd::Get(keys::cache(market))]).await {
                Ok(r) => r.into_iter().next().and_then(Reply::into_bytes).and_then(|b| StoredList::from_bytes(market, b)),
                Err(_) => continue,
            };
            if let Some(list) = cached {
                return Ok(Served { list, status: CacheStatus::Hit, redis_round_trips: round_trips, upstream_status: None });
            }
            let outcome: Option<LastOutcome> =
                items.next().and_then(Reply::into_bytes).and_then(|b| serde_json::from_slice(&b).ok());
            if outcome.is_some_and(|o| o.at_ms >= started) || took_over {
                break; // the holder finished and failed: its failure is ours too
            }
            took_over = true;
            match self.refresh(market, Trigger::Request).await {
                Refresh::Stored(list) => {
                    return Ok(Served { list, status: CacheStatus::Miss, redis_round_trips: round_trips + 2, upstream_status: Some(200) })
                }
                Refresh::Busy { last_good: lg } => last_good = lg.or(last_good),
                Refresh::Failed { detail, retry_after_secs, last_good: lg, status, .. } => {
                    return self.stale_or_unavailable(market, lg.or(last_good), round_trips + 2, retry_after_secs.unwrap_or(10), detail, status)
                }
                Refresh::StoreDown(_) => break,
            }
        }
        self.stale_or_unavailable(market, last_good, round_trips, 2, "a refresh is in progress or just failed".into(), None)
    }

    /// Redis is unreachable: fetch and answer directly; nothing can be stored or locked.
    async fn bypass(&self, market: Market, err: StoreError) -> Result<Served, Unavailable> {
        self.log.emit(Level::Warn, "redis_unavailable", json!({"market": market.as_str(), "error": err.to_string()}));
        match self.fetch_and_process(market, None).await {
            Ok(list) => Ok(Served { list, status: CacheStatus::Bypass, redis_round_trips: 1, upstream_status: Some(200) }),
            Err(e) => Err(Unavailable {
                market,
                retry_after_secs: e.retry_after_secs.unwrap_or(10),
                reason: format!("redis unreachable and {e}"),
            }),
        }
    }

    async fn read_last_good(&self, market: Market) -> Option<StoredList> {
        let replies = self.store.exec(vec![Cmd::Get(keys::last_good(market))]).await.ok()?;
        replies.into_iter().next()?.into_bytes().and_then(|b| StoredList::from_bytes(market, b))
    }

    async fn fetch_and_process(&self, market: Market, previous: Option<usize>) -> Result<StoredList, FetchError> {
        let fetched = upstream::fetch(&self.http, &self.clock, self.config.upstream(market), market).await?;
        if let Some(w) = &fetched.used_weight {
            self.log.emit(
                Level::Info,
                "upstream_weight",
                json!({"market": market.as_str(), "base": fetched.base, "used_weight_1m": w, "bytes": fetched.body.len()}),
            );
        }
        let reject = |e: ProcessError, reason| FetchError { reason, detail: e.to_string(), retry_after_secs: None, status: Some(200) };
        let symbols = exchange_info::parse(market, &fetched.body).map_err(|e| reject(e, FailureReason::Malformed))?;
        exchange_info::validate(symbols.len(), previous, self.config.max_shrink)
            .map_err(|e| reject(e, FailureReason::Rejected))?;
        Ok(StoredList::build(market, &fetched.base, rfc3339(self.clock.now_ms()), &symbols))
    }

    /// One single-flight refresh: lock, fetch, process, validate, store; or record why not.
    /// Three round trips: lock + reads, (upstream), writes + unlock.
    pub async fn refresh(&self, market: Market, trigger: Trigger) -> Refresh {
        let started = self.clock.now_ms();
        let owner = self.clock.nonce();
        let lock_key = keys::refresh_lock(market);
        let first = self
            .store
            .exec(vec![
                Cmd::Set { key: lock_key.clone(), value: owner.clone().into_bytes(), ex: None, px: Some(self.config.lock_ms), nx: true },
                Cmd::Get(keys::last_good(market)),
                Cmd::Get(keys::upstream_blocked_until(market)),
            ])
            .await;
        let mut replies = match first {
            Ok(r) => r.into_iter(),
            Err(e) => return Refresh::StoreDown(e.to_string()),
        };
        let locked = matches!(replies.next(), Some(Reply::Ok));
        let last_good = replies.next().and_then(Reply::into_bytes).and_then(|b| StoredList::from_bytes(market, b));
        let blocked_until = replies.next().and_then(|r| r.as_int()).unwrap_or(0);
        if !locked {
            self.log.emit(Level::Info, "refresh_skipped", json!({"market": market.as_str(), "trigger": trigger.as_str(), "why": "lock held"}));
            return Refresh::Busy { last_good };
        }
        let now = self.clock.now_ms() as i64;
        let result = if blocked_until > now {
            Err(FetchError {
                reason: FailureReason::RateLimited,
                detail: "upstream back-off in effect (Retry-After)".into(),
                retry_after_secs: Some(((blocked_until - now) as u64).div_ceil(1000)),
                status: None,
            })
        } else {
            self.fetch_and_process(market, last_good.as_ref().map(|l| l.header().count)).await
        };
        let finished = self.clock.now_ms();
        let counts = trigger != Trigger::Request;
        let mut writes = Vec::new();
        let outcome = match &result {
            Ok(list) => {
                let bytes = list.as_bytes().to_vec();
                writes.push(Cmd::Set { key: keys::cache(market), value: bytes.clone(), ex: Some(self.config.cache_ttl_secs.max(1)), px: None, nx: false });
                writes.push(Cmd::set(keys::last_good(market), bytes));
                writes.push(Cmd::set(keys::last_refresh_ts(market), (finished / 1000).to_string()));
                if counts {
                    writes.push(Cmd::IncrBy(keys::warmup_success(market), 1));
                }
                LastOutcome { ok: true, at_ms: finished, trigger: trigger.as_str().into(), count: Some(list.header().count), reason: None, duration_ms: finished - started }
            }
            Err(e) => {
                writes.push(Cmd::IncrBy(keys::upstream_failure(market, e.reason.as_str()), 1));
                if let Some(secs) = e.retry_after_secs.filter(|_| blocked_until <= now) {
                    let until = finished + secs * 1000;
                    writes.push(Cmd::Set { key: keys::upstream_blocked_until(market), value: until.to_string().into_bytes(), ex: Some(secs.max(1)), px: None, nx: false });
                }
                if counts {
                    writes.push(Cmd::IncrBy(keys::warmup_error(market), 1));
                }
                LastOutcome {
                    ok: false,
                    at_ms: finished,
                    trigger: trigger.as_str().into(),
                    count: last_good.as_ref().map(|l| l.header().count),
                    reason: Some(e.reason.as_str().into()),
                    duration_ms: finished - started,
                }
            }
        };
        writes.push(Cmd::set(keys::last_outcome(market), serde_json::to_vec(&outcome).unwrap_or_default()));
        writes.push(Cmd::DelIfEq(lock_key, owner));
        let stored = self.store.exec(writes).await;
        let mut fields = json!({
            "market": market.as_str(),
            "trigger": trigger.as_str(),
            "ok": outcome.ok && stored.is_ok(),
            "count": outcome.count,
            "duration_ms": outcome.duration_ms,
        });
        match &result {
            Ok(list) => {
                fields["bytes"] = list.as_bytes().len().into();
                fields["upstream"] = list.header().upstream.clone().into();
            }
            Err(e) => {
                fields["reason"] = e.reason.as_str().into();
                fields["detail"] = e.detail.clone().into();
                fields["upstream_status"] = e.status.into();
            }
        }
        if let Err(e) = &stored {
            fields["store_error"] = e.to_string().into();
        }
        let level = if outcome.ok && stored.is_ok() { Level::Info } else { Level::Warn };
        self.log.emit(level, "refresh", fields);
        match (result, stored) {
            (Ok(list), Ok(_)) => Refresh::Stored(list),
            // Fetched fine but could not store: still a good list to serve once.
            (Ok(list), Err(_)) => Refresh::Stored(list),
            (Err(e), _) => Refresh::Failed {
                reason: e.reason,
                detail: e.detail,
                retry_after_secs: e.retry_after_secs,
                last_good,
                status: e.status,
            },
        }
    }

    /// The cron warmup: both markets, independently (one failing never stops the other).
    pub async fn warmup_all(&self) -> Vec<(Market, Refresh)> {
        let (spot, futures) =
            futures::future::join(self.refresh(Market::Spot, Trigger::Cron), self.refresh(Market::Futures, Trigger::Cron)).await;
        vec![(Market::Spot, spot), (Market::Futures, futures)]
    }

    /// Counts a served request (hit or miss). Run it off the critical path.
    ///
    /// Hits are coalesced: the first hit of a window sleeps `counter_flush_ms`, then
    /// writes every hit the isolate served meanwhile as one `INCRBY n`; the other calls
    /// return at once. A busy isolate thus sends a few counter commands a second instead
    /// of one per request, and every hit is still counted (a failed write puts its hits
    /// back for the next flush). Misses are rare and go out one by one.
    pub async fn record(&self, market: Market, status: CacheStatus) {
        let key = match status {
            CacheStatus::Hit => keys::cache_hit(market),
            CacheStatus::Miss | CacheStatus::Stale => keys::cache_miss(market),
            CacheStatus::Bypass => return,
        };
        if status != CacheStatus::Hit || self.config.counter_flush_ms == 0 {
            self.incr(market, key, 1).await;
            return;
        }
        let i = market.index();
        let pending = &self.tally.pending[i];
        pending.set(pending.get() + 1);
        let now = self.clock.now_ms();
        let horizon = self.config.counter_flush_ms + FLUSH_PRESUMED_DEAD_MS;
        if self.tally.scheduled_at[i].get().is_some_and(|at| now.saturating_sub(at) < horizon) {
            return;
        }
        self.tally.scheduled_at[i].set(Some(now));
        self.clock.sleep(self.config.counter_flush_ms).await;
        self.tally.scheduled_at[i].set(None);
        // Taken, not read: a flush that is slow but alive and a later one never write
        // the same hits twice.
        let n = pending.replace(0);
        if !self.incr(market, key, n).await {
            pending.set(pending.get() + n);
        }
    }

    /// Hits counted in this isolate and not yet written to Redis.
    pub fn unflushed_hits(&self, market: Market) -> u64 {
        self.tally.pending[market.index()].get()
    }

    async fn incr(&self, market: Market, key: String, n: u64) -> bool {
        match self.store.exec(vec![Cmd::IncrBy(key, n as i64)]).await {
            Ok(_) => true,
            Err(e) => {
                self.log.emit(Level::Warn, "counter_failed", json!({"market": market.as_str(), "by": n, "error": e.to_string()}));
                false
            }
        }
    }

    /// Is Redis reachable? One PING-equivalent round trip.
    ///
    /// # Errors
    /// The store's error.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.exec(vec![Cmd::Get(keys::refresh_lock(Market::Spot))]).await.map(|_| ())
    }

    /// Reads every counter and outcome of both markets in one round trip.
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
            keys_list.extend(FailureReason::ALL.iter().map(|r| keys::upstream_failure(m, r.as_str())));
        }
        let replies = self.store.exec(vec![Cmd::MGet(keys_list)]).await?;
        let values = match replies.into_iter().next() {
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
            let last_outcome: Option<LastOutcome> =
                it.next().and_then(Reply::into_bytes).and_then(|b| serde_json::from_slice(&b).ok());
            let mut upstream_failures = std::collections::BTreeMap::new();
            for r in FailureReason::ALL {
                upstream_failures.insert(r.as_str().to_string(), it.next().and_then(|x| x.as_int()).unwrap_or(0));
            }
            let total = hits + misses;
            out.push((
                m,
                MarketMetrics {
                    hits,
                    misses,
                    hit_ratio: if total > 0 { hits as f64 / total as f64 } else { 0.0 },
                    warmup_success,
                    warmup_error,
                    last_refresh_ts,
                    last_refresh_at: last_refresh_ts.map(|t| rfc3339(t.max(0) as u64 * 1000)),
                    age_seconds: last_refresh_ts.map(|t| (now_s - t).max(0)),
                    symbol_count: last_outcome.as_ref().and_then(|o| o.count),
                    last_outcome,
                    upstream_failures,
                },
            ));
        }
        Ok(out)
    }
}
