//! Serving `?format=ccxt`: our stored ccxt markets on a hit (one round trip); otherwise the
//! list route's own flow decides (single-flight refresh, waits, fallbacks) and the ccxt
//! value of the tier it served from answers, so `X-Cache` and `source` mean what they
//! mean for our list. Redis unreachable is a 503: the ccxt markets exist only as stored.

use std::rc::Rc;

use crate::ccxt::CcxtList;
use crate::keys;
use crate::market::Market;
use crate::ports::{Clock, Cmd, Http, Reply, Store};
use crate::service::{CacheStatus, LocalBoxFuture, Served, Service, Spawn, Unavailable};
use crate::symbols::Source;

/// ccxt markets ready to serve.
#[derive(Clone, Debug)]
pub struct ServedCcxt {
    /// The stored value.
    pub list: CcxtList,
    /// How it was obtained.
    pub status: CacheStatus,
    /// The `source` of the response body.
    pub source: Source,
    /// Redis REST round trips spent on the critical path.
    pub redis_round_trips: u32,
    /// HTTP status of the last upstream attempt, if the upstream was called.
    pub upstream_status: Option<u16>,
}

/// `Retry-After` when Redis cannot be read (the ccxt markets are not built on the
/// Redis-down path, which serves our own list only).
const RETRY_AFTER_REDIS_DOWN_SECS: u64 = 5;
/// `Retry-After` when no ccxt value exists anywhere yet.
const RETRY_AFTER_NONE_SECS: u64 = 10;

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// Serves `market`'s ccxt markets (see the module docs).
    ///
    /// # Errors
    /// [`Unavailable`] when Redis is unreachable, or when neither the cache, a refresh
    /// nor a last good value can serve.
    pub async fn ccxt<'a>(
        self: &Rc<Self>,
        market: Market,
        spawn: Spawn<'_, 'a>,
    ) -> Result<ServedCcxt, Unavailable>
    where
        Self: 'a,
    {
        let read = self
            .store
            .exec(vec![Cmd::Get(keys::ccxt(market))])
            .await
            .map_err(|e| Unavailable {
                market,
                retry_after_secs: RETRY_AFTER_REDIS_DOWN_SECS,
                reason: format!("the ccxt format is served from Redis only, and {e}"),
            })?;
        if let Some(list) = first_list(market, read) {
            return Ok(ServedCcxt {
                list,
                status: CacheStatus::Hit,
                source: Source::Cache,
                redis_round_trips: 1,
                upstream_status: None,
            });
        }
        // A boxed (dynamic) future: the list flow is not inlined here a second time (the
        // Worker's bundle).
        let list: LocalBoxFuture<'_, Result<Served, Unavailable>> =
            Box::pin(self.list(market, spawn));
        let served = list.await?;
        // Our document current but no ccxt markets beside it (a version before them, or
        // their write failed): the last good ones answer until the next refresh writes or
        // repairs them. Not a refresh per request: that is megabytes each time.
        let round_trips = 2 + served.redis_round_trips;
        let both = self
            .store
            .exec(vec![Cmd::MGet(vec![
                keys::ccxt(market),
                keys::ccxt_last_good(market),
            ])])
            .await
            .ok()
            .and_then(|r| r.into_iter().next());
        let mut items = match both {
            Some(Reply::Array(items)) => items.into_iter(),
            _ => Vec::new().into_iter(),
        };
        let mut next = || {
            items
                .next()
                .and_then(Reply::into_bytes)
                .and_then(|b| CcxtList::from_bytes(market, b))
        };
        let (primary, last_good) = (next(), next());
        let current = served.source == Source::Upstream;
        if let Some(list) = primary.filter(|_| current) {
            return Ok(ServedCcxt {
                list,
                status: CacheStatus::Miss,
                source: Source::Upstream,
                redis_round_trips: round_trips,
                upstream_status: served.upstream_status,
            });
        }
        let stale = |list, source, round_trips| ServedCcxt {
            list,
            status: CacheStatus::Stale,
            source,
            redis_round_trips: round_trips,
            upstream_status: served.upstream_status,
        };
        if let Some(list) = last_good {
            return Ok(stale(list, Source::LastGood, round_trips));
        }
        if let Some(list) = self.ccxt_from_original(market).await {
            return Ok(stale(list, Source::OriginalLastGood, round_trips + 1));
        }
        Err(Unavailable {
            market,
            retry_after_secs: RETRY_AFTER_NONE_SECS,
            reason: "no ccxt markets stored yet, and none could be fetched".into(),
        })
    }

    /// The original system's last good array (raw objects, USDT only) projected, dated by
    /// its refresh timestamp: built per request, only when we have no ccxt value at all.
    async fn ccxt_from_original(&self, market: Market) -> Option<CcxtList> {
        let (bytes, written_at) = self.original_last_good_raw(&self.store, market).await?;
        CcxtList::from_original(market, &bytes, &written_at).filter(|l| l.header().count > 0)
    }
}

fn first_list(market: Market, replies: Vec<Reply>) -> Option<CcxtList> {
    replies
        .into_iter()
        .next()?
        .into_bytes()
        .and_then(|b| CcxtList::from_bytes(market, b))
}
