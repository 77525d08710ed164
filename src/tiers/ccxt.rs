//! The ccxt markets' tiers: this isolate's copy of each market's, for
//! `ISOLATE_CACHE_TTL_SECONDS` as for our list (a hit costs no I/O: the value is
//! megabytes, so Redis is asked at most once per isolate and TTL), then the service.
//! Filled only from Redis hits and misses, never from a STALE value.

use std::cell::RefCell;
use std::rc::Rc;

use symbols_core::ccxt::CcxtList;
use symbols_core::service::{CacheStatus, LocalBoxFuture};
use symbols_core::symbols::Source;
use symbols_core::Market;
use worker::Context;

use crate::app::App;
use crate::error::AppError;
use crate::trace::{Tier, Trace};

/// The ccxt markets as one request got them.
pub struct Ccxt {
    /// The markets.
    pub list: Rc<CcxtList>,
    /// The `X-Cache` value.
    pub status: CacheStatus,
    /// The body's `source`.
    pub source: Source,
}

/// The ccxt markets: this isolate's copy, else the service (a Redis hit or a miss then
/// becomes the copy); counted like the list route.
///
/// # Errors
/// [`AppError::Unavailable`] when nothing can be served.
pub async fn serve(
    app: &Rc<App>,
    ctx: &Context,
    market: Market,
    trace: &mut Trace,
) -> Result<Ccxt, AppError> {
    if let Some(list) = get(market) {
        super::count_hit(app, ctx, market, trace, Tier::Isolate);
        return Ok(Ccxt {
            list,
            status: CacheStatus::Hit,
            source: Source::Cache,
        });
    }
    let spawn = |rest: LocalBoxFuture<'static, ()>| ctx.wait_until(rest);
    let served = app
        .ccxt(market, Some(&spawn))
        .await
        .map_err(AppError::Unavailable)?;
    trace.served(
        served.status,
        served.redis_round_trips,
        served.upstream_status,
    );
    let list = Rc::new(served.list);
    if served.status.is_current() {
        put(market, list.clone(), app.config.isolate_ttl_secs);
    }
    let (app2, status) = (app.clone(), served.status);
    ctx.wait_until(async move { app2.record(market, status).await });
    Ok(Ccxt {
        list,
        status: served.status,
        source: served.source,
    })
}

/// A copy and when it stops being fresh (unix ms).
type Copy = Option<(Rc<CcxtList>, f64)>;

thread_local! {
    // wasm isolates are single-threaded: this is the isolate's memory. Index: market.
    static COPY: RefCell<[Copy; 2]> = const { RefCell::new([None, None]) };
}

/// The isolate's copy, while fresh.
fn get(market: Market) -> Option<Rc<CcxtList>> {
    let now = js_sys::Date::now();
    COPY.with(|c| {
        c.borrow()[market.index()]
            .as_ref()
            .filter(|(_, expires)| *expires > now)
            .map(|(l, _)| l.clone())
    })
}

/// Keeps `list` for `ttl_secs` (0: keeps nothing).
fn put(market: Market, list: Rc<CcxtList>, ttl_secs: u64) {
    let expires = js_sys::Date::now() + ttl_secs as f64 * 1000.0;
    COPY.with(|c| {
        c.borrow_mut()[market.index()] = (ttl_secs > 0).then_some((list, expires));
    });
}
