//! The Redis-down path, per isolate: Binance asked directly, but never once per request.
//!
//! With Redis unreachable there is no lock, no shared cache and no shared back-off, and
//! every request would turn into an exchangeInfo call (Binance bans an IP after repeated
//! 429s, and Workers share egress IPs). So, per market and isolate: concurrent requests
//! share one fetch; its list serves the isolate for `BYPASS_CACHE_SECONDS`; a 429/418 seen
//! here is honoured in memory (see [`Service::upstream_blocked_ms`]); when Binance fails,
//! the last list fetched this way is served STALE rather than nothing.

use std::cell::{Cell, RefCell};

use serde_json::json;

use crate::log::Level;
use crate::market::Market;
use crate::ports::{Clock, Http, Store, StoreError};
use crate::service::{CacheStatus, Served, Service, Unavailable};
use crate::symbols::{Source, StoredList};

/// How often a request waiting for the isolate's bypass fetch looks again.
const SHARE_POLL_MS: u64 = 25;
/// `Retry-After` when Redis and Binance are both failing.
const RETRY_AFTER_BOTH_DOWN_SECS: u64 = 10;

/// One market's Redis-down state in this isolate.
#[derive(Default)]
pub(crate) struct BypassState {
    /// The last list fetched while Redis was down, and until when (unix ms) it is served
    /// without asking Binance.
    list: RefCell<Option<(StoredList, u64)>>,
    /// A fetch is running; others wait for it.
    fetching: Cell<bool>,
    /// Why the last fetch failed (log-safe), for the requests that shared it.
    failure: RefCell<Option<String>>,
}

/// Clears `fetching` however the fetch ends (a dropped request future included), so one
/// cancelled request never blocks the isolate's later fetches.
struct Fetching<'a>(&'a Cell<bool>);

impl Drop for Fetching<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// Redis is unreachable: serve from this isolate's bypass copy, or share one fetch.
    pub(crate) async fn bypass(
        &self,
        market: Market,
        err: StoreError,
    ) -> Result<Served, Unavailable> {
        let state = &self.bypass_state[market.index()];
        let now = self.clock.now_ms();
        if let Some(list) = state.fresh(now) {
            return Ok(bypassed(list));
        }
        self.log.emit(
            Level::Warn,
            "redis_unavailable",
            json!({"market": market.as_str(), "error": err.to_string()}),
        );
        if let Some(secs) = self.upstream_blocked_secs(market) {
            return state.stale_or(
                market,
                secs,
                "redis unreachable and Binance asked us to wait (Retry-After)".into(),
            );
        }
        if state.fetching.get() {
            // Another request of this isolate is fetching: its answer is ours too.
            let deadline = now + self.config.upstream(market).deadline_ms + SHARE_POLL_MS;
            while state.fetching.get() && self.clock.now_ms() < deadline {
                self.clock.sleep(SHARE_POLL_MS).await;
            }
            if let Some(list) = state.fresh(self.clock.now_ms()) {
                return Ok(bypassed(list));
            }
            let why = state
                .failure
                .borrow()
                .clone()
                .unwrap_or_else(|| "the shared fetch did not finish".into());
            return state.stale_or(
                market,
                RETRY_AFTER_BOTH_DOWN_SECS,
                format!("redis unreachable and {why}"),
            );
        }
        state.fetching.set(true);
        let _fetching = Fetching(&state.fetching);
        match self.fetch_document(market).await {
            Ok(list) => {
                let until = self.clock.now_ms() + self.config.bypass_cache_secs * 1000;
                *state.list.borrow_mut() = Some((list.clone(), until));
                *state.failure.borrow_mut() = None;
                Ok(bypassed(list))
            }
            Err(e) => {
                *state.failure.borrow_mut() = Some(e.to_string());
                let retry = e.retry_after_secs.unwrap_or(RETRY_AFTER_BOTH_DOWN_SECS);
                state.stale_or(market, retry, format!("redis unreachable and {e}"))
            }
        }
    }
}

impl BypassState {
    /// The bypass list, while it is still within `BYPASS_CACHE_SECONDS`.
    fn fresh(&self, now: u64) -> Option<StoredList> {
        self.list
            .borrow()
            .as_ref()
            .filter(|(_, until)| now < *until)
            .map(|(l, _)| l.clone())
    }

    /// The last bypass list however old (STALE), else [`Unavailable`].
    fn stale_or(
        &self,
        market: Market,
        retry_after_secs: u64,
        reason: String,
    ) -> Result<Served, Unavailable> {
        match self.list.borrow().as_ref() {
            Some((list, _)) => Ok(Served {
                list: list.clone(),
                status: CacheStatus::Stale,
                source: Source::LastGood,
                redis_round_trips: 1,
                upstream_status: None,
            }),
            None => Err(Unavailable {
                market,
                retry_after_secs: retry_after_secs.max(1),
                reason,
            }),
        }
    }
}

fn bypassed(list: StoredList) -> Served {
    Served {
        list,
        status: CacheStatus::Bypass,
        source: Source::Upstream,
        redis_round_trips: 1,
        upstream_status: Some(200),
    }
}
