//! The read-through flow: our document -> (single-flight) refresh -> our last good ->
//! the original's last good -> 503, with a Redis-down bypass; and the hit/miss counters.
//!
//! Its parts are child modules, each an `impl Service` block with the state it owns:
//! - [`refresh`]: one single-flight refresh writing both systems' values (or only TTLs);
//! - [`bypass`]: the Redis-down path: one shared fetch per market and isolate, kept briefly;
//! - [`metrics`]: the counters and outcomes of both markets, read in one round trip;
//! - `changes`: the changes feed read a page at a time; [`webhook`]: each refresh's
//!   events POSTed after the response.
//!
//! Every Redis interaction is one batched round trip (see [`Store::exec`]); the
//! comments on each step say which.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::future::Either;
pub use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub mod bypass;
mod changes;
pub mod metrics;
pub mod refresh;
pub mod webhook;

use crate::config::Config;
use crate::keys;
use crate::log::{Level, Logger};
use crate::market::Market;
use crate::original;
use crate::ports::{Clock, Cmd, Http, Reply, Store, StoreError};
use crate::symbols::{Source, StoredList};
use crate::time::rfc3339;

use bypass::BypassState;
pub use metrics::MarketMetrics;
pub use refresh::{Refresh, Stored};

/// How a list was served: the `X-Cache` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// From the primary cache (or the edge cache in front of it).
    Hit,
    /// Not in the primary cache: fetched for this request, or by the refresh it waited for.
    Miss,
    /// A last good list, because the upstream failed.
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

    /// Whether the list is the current primary one (HIT or MISS), so a cache in front of
    /// Redis may keep a copy. A STALE or BYPASS list must not come back as a HIT: it is
    /// what answered while the current one could not be had.
    pub fn is_current(self) -> bool {
        matches!(self, CacheStatus::Hit | CacheStatus::Miss)
    }
}

/// A list ready to serve.
#[derive(Clone, Debug)]
pub struct Served {
    /// The document.
    pub list: StoredList,
    /// How it was obtained.
    pub status: CacheStatus,
    /// The `source` of the response body.
    pub source: Source,
    /// Redis REST round trips spent on the critical path.
    pub redis_round_trips: u32,
    /// HTTP status of the last upstream attempt, if the upstream was called.
    pub upstream_status: Option<u16>,
}

impl Served {
    /// `list` as a copy of the primary cache answered it (Redis, or a cache in front of it
    /// taking `redis_round_trips` to read): a HIT, whose body says `source: "cache"`.
    pub fn hit(list: StoredList, redis_round_trips: u32) -> Self {
        Served {
            list,
            status: CacheStatus::Hit,
            source: Source::Cache,
            redis_round_trips,
            upstream_status: None,
        }
    }
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
    /// `request`, `cron`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Request => "request",
            Trigger::Cron => "cron",
            Trigger::Admin => "admin",
        }
    }

    /// Whether the original's warmup counters count it: they count warmups, not requests.
    pub fn is_warmup(self) -> bool {
        self != Trigger::Request
    }

    /// Whether the caller needs the list in hand: a request serves it, an admin refresh
    /// (the route, the CLI) reports it. Only the cron, which needs nothing but the stored
    /// values kept current, may end with [`Refresh::Current`] and process nothing.
    pub fn needs_list(self) -> bool {
        self != Trigger::Cron
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
    /// Symbols in the list now served (new on success, the stored one's otherwise).
    pub count: Option<usize>,
    /// Failure reason label, if failed.
    #[serde(default)]
    pub reason: Option<String>,
    /// Duration of the attempt.
    pub duration_ms: u64,
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
    /// Per market: the Redis-down path's state in this isolate ([`bypass`]).
    pub(crate) bypass_state: [BypassState; 2],
    /// Per market: unix ms before which Binance is not called, as this isolate last heard
    /// it (429/418 `Retry-After`); honoured also when Redis cannot hold the back-off.
    blocked_until: [Cell<u64>; 2],
    /// Per market: the last list a refresh in this isolate stored (or a waiter read), and
    /// when (unix ms): the other waiters of the isolate take it instead of each pulling the
    /// whole document from Redis.
    landed: [RefCell<Option<(StoredList, u64)>>; 2],
    /// Change events waiting for the webhook ([`webhook`]).
    pub(crate) outbox: webhook::Outbox,
}

/// Work the platform keeps running after the response (`ctx.wait_until` in the Worker):
/// [`Service::list`] hands it a refresh it stopped waiting for. `None`: the caller waits
/// for everything itself (the CLI, tests).
pub type Spawn<'s, 'a> = Option<&'s dyn Fn(LocalBoxFuture<'a, ()>)>;

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

/// `Retry-After` when a refresh failed without Binance naming a wait.
const RETRY_AFTER_FAILED_SECS: u64 = 10;
/// `Retry-After` when another refresh is still running or has just failed.
const RETRY_AFTER_BUSY_SECS: u64 = 2;

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// Builds a service.
    pub fn new(store: S, http: H, clock: C, config: Config, log: Logger) -> Self {
        Self {
            store,
            http,
            clock,
            config,
            log,
            tally: HitTally::default(),
            bypass_state: Default::default(),
            blocked_until: Default::default(),
            landed: Default::default(),
            outbox: Default::default(),
        }
    }

    /// The clock's now (unix ms).
    pub fn clock_now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Serves `market`'s list: one round trip on a hit (MGET of our document and the
    /// back-off key); counting is left to [`Service::record`], off the critical path.
    ///
    /// A miss waits at most `REFRESH_WAIT_MS` for Binance when a last good list exists:
    /// then that list is served (STALE) and the refresh goes on through `spawn`, storing
    /// its result when it arrives. Without `spawn` the call waits for the refresh.
    ///
    /// # Errors
    /// [`Unavailable`] when neither cache, upstream nor a last good list can serve.
    pub async fn list<'a>(
        self: &Rc<Self>,
        market: Market,
        spawn: Spawn<'_, 'a>,
    ) -> Result<Served, Unavailable>
    where
        Self: 'a,
    {
        let read = self
            .store
            .exec(vec![Cmd::MGet(vec![
                keys::document(market),
                keys::upstream_blocked_until(market),
            ])])
            .await;
        let replies = match read {
            Ok(r) => r,
            Err(e) => return self.bypass(market, e).await,
        };
        let mut items = match replies.into_iter().next() {
            Some(Reply::Array(items)) => items.into_iter(),
            _ => Vec::new().into_iter(),
        };
        let cached = items
            .next()
            .and_then(Reply::into_bytes)
            .and_then(|b| StoredList::from_bytes(market, b));
        if let Some(list) = cached {
            return Ok(Served::hit(list, 1));
        }
        let blocked_until = items.next().and_then(|r| r.as_int()).unwrap_or(0);
        let me = Rc::clone(self);
        let miss: LocalBoxFuture<'a, Result<Served, Unavailable>> =
            Box::pin(async move { me.miss(market, blocked_until).await });
        let Some(spawn) = spawn else {
            return miss.await;
        };
        let deadline = Box::pin(self.clock.sleep(self.config.wait_ms));
        match futures::future::select(miss, deadline).await {
            Either::Left((done, _)) => done,
            Either::Right(((), miss)) => {
                match self.last_good_now(market, 1).await {
                    Some(stale) => {
                        self.log.emit(
                        Level::Info,
                        "refresh_continues",
                        json!({"market": market.as_str(), "waited_ms": self.config.wait_ms, "served": stale.source.as_str()}),
                    );
                        spawn(Box::pin(async move {
                            let _ = miss.await;
                        }));
                        Ok(stale)
                    }
                    // Nothing to serve instead: waiting is better than a 503.
                    None => miss.await,
                }
            }
        }
    }

    /// Seconds left of a 429/418 back-off this isolate heard of, if any.
    pub(crate) fn upstream_blocked_secs(&self, market: Market) -> Option<u64> {
        let until = self.blocked_until[market.index()].get();
        let now = self.clock.now_ms();
        (until > now).then(|| (until - now).div_ceil(1000))
    }

    /// A list this isolate has just stored or read: waiters in it take this copy.
    pub(crate) fn note_landed(&self, market: Market, list: &StoredList) {
        *self.landed[market.index()].borrow_mut() = Some((list.clone(), self.clock.now_ms()));
    }

    /// The list that landed in this isolate since `since` (unix ms), if any.
    fn landed_since(&self, market: Market, since: u64) -> Option<StoredList> {
        self.landed[market.index()]
            .borrow()
            .as_ref()
            .filter(|(_, at)| *at >= since)
            .map(|(l, _)| l.clone())
    }

    /// Remembers a back-off in this isolate (Redis may not be able to hold it).
    pub(crate) fn note_backoff(&self, market: Market, secs: u64) {
        let until = self.clock.now_ms() + secs * 1000;
        let slot = &self.blocked_until[market.index()];
        slot.set(slot.get().max(until));
    }

    async fn miss(&self, market: Market, blocked_until_ms: i64) -> Result<Served, Unavailable> {
        let now = self.clock.now_ms() as i64;
        if blocked_until_ms > now {
            // Binance asked us to wait: do not even take the lock.
            let secs = ((blocked_until_ms - now) as u64).div_ceil(1000);
            return self
                .fallback(market, 1, secs, "upstream back-off in effect".into(), None)
                .await;
        }
        match self.refresh(market, Trigger::Request).await {
            Refresh::Stored(list) | Refresh::NotStored { list, .. } => Ok(fresh(list, 4)),
            Refresh::Failed {
                detail,
                retry_after_secs,
                status,
                ..
            } => {
                self.fallback(
                    market,
                    3,
                    retry_after_secs.unwrap_or(RETRY_AFTER_FAILED_SECS),
                    detail,
                    status,
                )
                .await
            }
            // Current: only a cron ends so (the stored list is this one); read it like a
            // holder's.
            Refresh::Busy { .. } | Refresh::Current(_) => self.wait_for_holder(market).await,
            Refresh::StoreDown(e) => self.bypass(market, StoreError::Unreachable(e)).await,
        }
    }

    /// Serves a last good list, ours first, else the original's (projected; USDT only),
    /// else [`Unavailable`]. One round trip per list looked at.
    async fn fallback(
        &self,
        market: Market,
        round_trips: u32,
        retry_after_secs: u64,
        reason: String,
        upstream_status: Option<u16>,
    ) -> Result<Served, Unavailable> {
        let stale = |list, source, extra| Served {
            list,
            status: CacheStatus::Stale,
            source,
            redis_round_trips: round_trips + extra,
            upstream_status,
        };
        if let Some(list) = self.read_document_last_good(market).await {
            return Ok(stale(list, Source::LastGood, 1));
        }
        if let Some((list, source)) = self.read_original_last_good(market).await {
            // A refresh writes ours before the original's: if it landed between the two
            // reads, ours is there now, and it is the whole list.
            if let Some(ours) = self.read_document_last_good(market).await {
                return Ok(stale(ours, Source::LastGood, 3));
            }
            return Ok(stale(list, source, 3));
        }
        Err(Unavailable {
            market,
            retry_after_secs: retry_after_secs.max(1),
            reason,
        })
    }

    /// Our last good list as a STALE answer, for a request that has waited long enough
    /// for a slow (not failing) Binance. The original's USDT-only list is not offered
    /// here: a refresh in flight may be writing it, and the whole list is on its way.
    async fn last_good_now(&self, market: Market, round_trips: u32) -> Option<Served> {
        let list = self.read_document_last_good(market).await?;
        Some(Served {
            list,
            status: CacheStatus::Stale,
            source: Source::LastGood,
            redis_round_trips: round_trips + 1,
            upstream_status: None,
        })
    }

    async fn read_document_last_good(&self, market: Market) -> Option<StoredList> {
        let replies = self
            .store
            .exec(vec![Cmd::Get(keys::document_last_good(market))])
            .await
            .ok()?;
        replies
            .into_iter()
            .next()?
            .into_bytes()
            .and_then(|b| StoredList::from_bytes(market, b))
    }

    /// The original's `last_good` as a list of ours: its array projected (dated by its
    /// refresh timestamp), or a document of ours that an earlier version of this service
    /// stored under that key (read as it is).
    async fn read_original_last_good(&self, market: Market) -> Option<(StoredList, Source)> {
        let (bytes, written_at) = self.original_last_good_raw(&self.store, market).await?;
        if bytes.first() == Some(&b'{') {
            return StoredList::from_bytes(market, bytes).map(|l| (l, Source::LastGood));
        }
        let symbols = match original::parse(market, &bytes) {
            Ok(s) if !s.is_empty() => s,
            Ok(_) => return None,
            Err(e) => {
                self.log.emit(
                    Level::Warn,
                    "original_last_good_unreadable",
                    json!({"market": market.as_str(), "error": e.to_string()}),
                );
                return None;
            }
        };
        let list = StoredList::build(market, original::UPSTREAM, written_at, &symbols);
        Some((list, Source::OriginalLastGood))
    }

    /// The original's `last_good` bytes as stored, with the time its last refresh wrote
    /// them (its `last_refresh_ts`, RFC 3339; the epoch when it has none): one `MGET`
    /// through `store` (this service's, or a counting view of it).
    pub(crate) async fn original_last_good_raw(
        &self,
        store: &impl Store,
        market: Market,
    ) -> Option<(Vec<u8>, String)> {
        let replies = store
            .exec(vec![Cmd::MGet(vec![
                keys::original_last_good(market),
                keys::last_refresh_ts(market),
            ])])
            .await
            .ok()?;
        original_last_good_of(replies)
    }

    /// Another request or the cron holds the lock: poll until its result lands (bounded
    /// by `wait_ms`). When the lock goes away without a new list, the holder either
    /// failed (it wrote `last_outcome` meanwhile: serve a last good list now, without
    /// another upstream call) or crashed and its lock expired (take over, once). A list
    /// found this way is a miss, as the original counts it: the request did not find it.
    async fn wait_for_holder(&self, market: Market) -> Result<Served, Unavailable> {
        let started = self.clock.now_ms();
        // After REFRESH_WAIT_MS a last good list is served; with none, waiting on for the
        // holder (its lock's lifetime at most) beats a 503 while its refresh is landing.
        let soft = started + self.config.wait_ms;
        let deadline = started + self.config.wait_ms.max(self.config.lock_ms);
        let mut tried_fallback = false;
        let mut round_trips = 2;
        let mut took_over = false;
        let mut pause = POLL_MS;
        while self.clock.now_ms() < deadline {
            // Sleeps end at the soft deadline first, so the fallback below is tried on time.
            let until = if tried_fallback { deadline } else { soft };
            self.clock
                .sleep(pause.min(until.saturating_sub(self.clock.now_ms()).max(10)))
                .await;
            pause = (pause * 2).min(POLL_MAX_MS);
            if let Some(list) = self.landed_since(market, started) {
                return Ok(waited(list, round_trips));
            }
            if !tried_fallback && self.clock.now_ms() >= soft {
                tried_fallback = true;
                if let Some(stale) = self.last_good_now(market, round_trips).await {
                    return Ok(stale);
                }
            }
            round_trips += 1;
            // Poll the small keys only: with many waiters, re-reading the whole list every
            // poll would move megabytes through Redis for nothing.
            let polled = self
                .store
                .exec(vec![Cmd::MGet(vec![
                    keys::refresh_lock(market),
                    keys::last_outcome(market),
                ])])
                .await;
            let mut items = match polled.ok().and_then(|r| r.into_iter().next()) {
                Some(Reply::Array(items)) => items.into_iter(),
                _ => continue, // a slow or failed poll: try again until the deadline
            };
            if items.next().is_some_and(|r| r != Reply::Nil) {
                continue; // still held
            }
            round_trips += 1;
            let cached = match self
                .store
                .exec(vec![Cmd::Get(keys::document(market))])
                .await
            {
                Ok(r) => r
                    .into_iter()
                    .next()
                    .and_then(Reply::into_bytes)
                    .and_then(|b| StoredList::from_bytes(market, b)),
                Err(_) => continue,
            };
            if let Some(list) = cached {
                self.note_landed(market, &list);
                return Ok(waited(list, round_trips));
            }
            let outcome: Option<LastOutcome> = items
                .next()
                .and_then(Reply::into_bytes)
                .and_then(|b| serde_json::from_slice(&b).ok());
            if outcome.is_some_and(|o| o.at_ms >= started) || took_over {
                break; // the holder finished and failed: its failure is ours too
            }
            took_over = true;
            match self.refresh(market, Trigger::Request).await {
                Refresh::Stored(list) | Refresh::NotStored { list, .. } => {
                    return Ok(fresh(list, round_trips + 3))
                }
                Refresh::Busy { .. } | Refresh::Current(_) => {}
                Refresh::Failed {
                    detail,
                    retry_after_secs,
                    status,
                    ..
                } => {
                    return self
                        .fallback(
                            market,
                            round_trips + 2,
                            retry_after_secs.unwrap_or(RETRY_AFTER_FAILED_SECS),
                            detail,
                            status,
                        )
                        .await
                }
                Refresh::StoreDown(_) => break,
            }
        }
        self.fallback(
            market,
            round_trips,
            RETRY_AFTER_BUSY_SECS,
            "a refresh is in progress or just failed".into(),
            None,
        )
        .await
    }

    /// The cron warmup: both markets, independently (one failing never stops the other).
    pub async fn warmup_all(&self) -> Vec<(Market, Refresh)> {
        let (spot, futures) = futures::future::join(
            self.refresh(Market::Spot, Trigger::Cron),
            self.refresh(Market::Futures, Trigger::Cron),
        )
        .await;
        vec![(Market::Spot, spot), (Market::Futures, futures)]
    }

    /// Counts a served request as the original does: a hit when it found the list in the
    /// primary cache, else a miss. Run it off the critical path: [`Self::tally`], then
    /// [`Self::flush`] when the tally says so.
    pub async fn record(&self, market: Market, status: CacheStatus) {
        if self.tally(market, status) {
            self.flush(market, status).await;
        }
    }

    /// The synchronous half of [`Self::record`]: `true` when a write is due after the
    /// response ([`Self::flush`]), `false` when there is nothing more to do. A hit that a
    /// pending flush will write returns `false`, so a Worker schedules no work at all for
    /// it (on an isolate hit that work was a promise and a `waitUntil` per request).
    ///
    /// Hits are coalesced: the first hit of a window schedules the flush, which sleeps
    /// `counter_flush_ms`, then writes every hit the isolate served meanwhile as one
    /// `INCRBY n`. A busy isolate thus sends a few counter commands a second instead of
    /// one per request, and every hit is still counted (a failed write puts its hits back
    /// for the next flush). Misses are rare and go out one by one.
    pub fn tally(&self, market: Market, status: CacheStatus) -> bool {
        match status {
            CacheStatus::Bypass => false,
            CacheStatus::Hit if self.config.counter_flush_ms != 0 => {
                let i = market.index();
                let pending = &self.tally.pending[i];
                pending.set(pending.get() + 1);
                let now = self.clock.now_ms();
                let horizon = self.config.counter_flush_ms + FLUSH_PRESUMED_DEAD_MS;
                let scheduled = &self.tally.scheduled_at[i];
                if scheduled
                    .get()
                    .is_some_and(|at| now.saturating_sub(at) < horizon)
                {
                    return false;
                }
                scheduled.set(Some(now));
                true
            }
            _ => true,
        }
    }

    /// The write [`Self::tally`] made due: a miss's `INCRBY 1`, or, for a hit, the
    /// window's sleep and then one `INCRBY` of every hit counted meanwhile.
    pub async fn flush(&self, market: Market, status: CacheStatus) {
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
        self.clock.sleep(self.config.counter_flush_ms).await;
        self.tally.scheduled_at[i].set(None);
        // Taken, not read: a flush that is slow but alive and a later one never write
        // the same hits twice.
        let pending = &self.tally.pending[i];
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
                self.log.emit(
                    Level::Warn,
                    "counter_failed",
                    json!({"market": market.as_str(), "by": n, "error": e.to_string()}),
                );
                false
            }
        }
    }

    /// Is Redis reachable? One PING-equivalent round trip.
    ///
    /// # Errors
    /// The store's error.
    pub async fn ping(&self) -> Result<(), StoreError> {
        ping(&self.store).await
    }
}

/// [`Service::ping`] through any store (the Worker counts its round trip with
/// [`crate::ports::Counted`]).
///
/// # Errors
/// The store's error.
pub async fn ping(store: &impl Store) -> Result<(), StoreError> {
    store
        .exec(vec![Cmd::Get(keys::refresh_lock(Market::Spot))])
        .await
        .map(|_| ())
}

/// [`Service::original_last_good_raw`]'s reply read; apart from the generic read so that
/// one copy serves every store type (the service's own and the Worker's counting view).
fn original_last_good_of(replies: Vec<Reply>) -> Option<(Vec<u8>, String)> {
    let mut items = match replies.into_iter().next()? {
        Reply::Array(items) => items.into_iter(),
        _ => return None,
    };
    let bytes = items.next()?.into_bytes()?;
    let written_ms = items
        .next()
        .and_then(|r| r.as_int())
        .map_or(0, |s| s.max(0) as u64 * 1000);
    Some((bytes, rfc3339(written_ms)))
}

/// A list fetched for this request (or by the refresh it took over).
/// A list another refresh stored while this request waited for it: a miss all the same.
fn waited(list: StoredList, round_trips: u32) -> Served {
    Served {
        list,
        status: CacheStatus::Miss,
        source: Source::Upstream,
        redis_round_trips: round_trips,
        upstream_status: None,
    }
}

fn fresh(list: StoredList, round_trips: u32) -> Served {
    Served {
        list,
        status: CacheStatus::Miss,
        source: Source::Upstream,
        redis_round_trips: round_trips,
        upstream_status: Some(200),
    }
}
