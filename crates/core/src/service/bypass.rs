//! The Redis-down path, per isolate: Binance asked directly, but never once per request.
//!
//! With Redis unreachable there is no lock, no shared cache and no shared back-off, and
//! every request would turn into an exchangeInfo call (Binance bans an IP after repeated
//! 429s, and Workers share egress IPs). So, per market and isolate: concurrent requests
//! share one fetch; its list serves the isolate for `BYPASS_CACHE_SECONDS`; a 429/418 seen
//! here is honoured in memory (see `upstream_blocked_secs` below); when Binance fails,
//! the last list fetched this way is served STALE rather than nothing.

use std::cell::{Cell, RefCell};

use serde_json::json;

use super::{CacheStatus, Served, Service, Unavailable};
use crate::log::Level;
use crate::market::Market;
use crate::ports::{Clock, Http, Store, StoreError};
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
    /// Counts finished fetches: a waiter knows the one it waited for has landed.
    generation: Cell<u64>,
    /// The last fetch's result, for the requests that shared it (errors log-safe).
    shared: RefCell<Option<Result<StoredList, String>>>,
}

/// Ends a fetch however it ends (a dropped request future included): clears `fetching`
/// and wakes the waiters, so one cancelled request never blocks the isolate's later ones.
struct Fetching<'a>(&'a BypassState);

impl Drop for Fetching<'_> {
    fn drop(&mut self) {
        self.0.fetching.set(false);
        self.0.generation.set(self.0.generation.get() + 1);
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
            let before = state.generation.get();
            let deadline = now + self.config.upstream(market).deadline_ms + SHARE_POLL_MS;
            while state.generation.get() == before && self.clock.now_ms() < deadline {
                self.clock.sleep(SHARE_POLL_MS).await;
            }
            let shared = state.shared.borrow().clone();
            return match shared {
                Some(Ok(list)) if state.generation.get() != before => Ok(bypassed(list)),
                Some(Err(why)) if state.generation.get() != before => state.stale_or(
                    market,
                    RETRY_AFTER_BOTH_DOWN_SECS,
                    format!("redis unreachable and {why}"),
                ),
                _ => state.stale_or(
                    market,
                    RETRY_AFTER_BOTH_DOWN_SECS,
                    "redis unreachable and the shared Binance fetch did not finish".into(),
                ),
            };
        }
        state.fetching.set(true);
        let _fetching = Fetching(state);
        let fetched = self.fetch_document(market).await;
        *state.shared.borrow_mut() = Some(fetched.clone().map_err(|e| e.to_string()));
        match fetched {
            Ok(list) => {
                // 0 keeps nothing: requests arriving later ask Binance again.
                if self.config.bypass_cache_secs > 0 {
                    let until = self.clock.now_ms() + self.config.bypass_cache_secs * 1000;
                    *state.list.borrow_mut() = Some((list.clone(), until));
                }
                Ok(bypassed(list))
            }
            Err(e) => {
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
