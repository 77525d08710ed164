//! Where a request's list comes from, nearest first: this isolate's copy, the edge copy
//! (the Workers Cache API), then the service (Redis, a refresh, the fallbacks). Each tier
//! is looked up at most once per request. Hits in front of Redis are counted after the
//! response, and a current list from the service refills the copies.
//!
//! - [`edge`]: the list's copies (isolate memory and the Cache API), as finished bodies;
//! - [`ccxt`]: the isolate's copy of the ccxt markets;
//! - [`fields`]: the isolate's copies of `?fields=` bodies and single full records.

pub mod ccxt;
pub mod edge;
pub mod fields;

use std::rc::Rc;

use symbols_core::service::{CacheStatus, LocalBoxFuture, Served};
use symbols_core::symbols::StoredList;
use symbols_core::Market;
use worker::Context;

use crate::app::App;
use crate::error::AppError;
use crate::trace::{Tier, Trace};

/// The whole list, as it is served without filters.
pub enum Whole {
    /// A copy in front of Redis: the finished body, still on the JS side.
    Copy(edge::Copy),
    /// The service's answer.
    Served(Served),
}

/// The whole list: a copy's body if one is fresh, else the service's answer.
///
/// # Errors
/// [`AppError::Unavailable`] when nothing can be served.
pub async fn whole(
    app: &Rc<App>,
    ctx: &Context,
    market: Market,
    trace: &mut Trace,
) -> Result<Whole, AppError> {
    if let Some(copy) = copy(app, market).await {
        count_hit(app, ctx, market, trace, copy.tier);
        return Ok(Whole::Copy(copy));
    }
    service(app, ctx, market, trace).await.map(Whole::Served)
}

/// The list read into a [`StoredList`] (filters, single symbols, `?fields=`): a copy's if
/// one is fresh and reads back, else the service's answer.
///
/// # Errors
/// [`AppError::Unavailable`] when nothing can be served.
pub async fn list(
    app: &Rc<App>,
    ctx: &Context,
    market: Market,
    trace: &mut Trace,
) -> Result<Served, AppError> {
    if let Some(copy) = copy(app, market).await {
        let tier = copy.tier;
        if let Some(list) = copy.list(market).await {
            count_hit(app, ctx, market, trace, tier);
            return Ok(Served::hit(list, 0));
        }
    }
    service(app, ctx, market, trace).await
}

/// The list's nearest fresh copy (none while the edge copy is off).
async fn copy(app: &App, market: Market) -> Option<edge::Copy> {
    if app.config.edge_ttl_secs == 0 {
        return None;
    }
    edge::get(market, app.config.isolate_ttl_secs).await
}

/// The service's answer; counting, change delivery and the copies' refill happen after
/// the response.
async fn service(
    app: &Rc<App>,
    ctx: &Context,
    market: Market,
    trace: &mut Trace,
) -> Result<Served, AppError> {
    // A refresh the request stops waiting for (a last good list was served) goes on here,
    // and its change events go to the webhook when it is done.
    let for_rest = app.clone();
    let spawn = |rest: LocalBoxFuture<'static, ()>| {
        let app = for_rest.clone();
        ctx.wait_until(async move {
            rest.await;
            app.deliver_changes().await;
        })
    };
    let served = app
        .list(market, Some(&spawn))
        .await
        .map_err(AppError::Unavailable)?;
    trace.served(
        served.status,
        served.redis_round_trips,
        served.upstream_status,
    );
    let (app2, list, status) = (app.clone(), served.list.clone(), served.status);
    ctx.wait_until(async move {
        app2.record(market, status).await;
        // A refresh this request ran (a miss) may have recorded change events.
        app2.deliver_changes().await;
        // The service keeps its own BYPASS copy for BYPASS_CACHE_SECONDS.
        if status.is_current() {
            fill(&app2, market, &list).await;
        }
    });
    Ok(served)
}

/// A hit answered in front of Redis: traced, and counted after the response.
pub(crate) fn count_hit(
    app: &Rc<App>,
    ctx: &Context,
    market: Market,
    trace: &mut Trace,
    tier: Tier,
) {
    trace.hit(tier);
    // Most hits join a flush already scheduled: then nothing is left to run.
    if app.tally(market, CacheStatus::Hit) {
        let app = app.clone();
        ctx.wait_until(async move { app.flush(market, CacheStatus::Hit).await });
    }
}

/// A current list becomes the edge copy and this isolate's (the cron, an admin refresh,
/// and every current answer of the service).
pub async fn fill(app: &App, market: Market, list: &StoredList) {
    edge::put(
        market,
        list,
        app.config.edge_ttl_secs,
        app.config.isolate_ttl_secs,
    )
    .await;
}
