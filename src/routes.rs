//! HTTP <-> service: parses the request with `symbols_core::request`, calls the
//! service, and shapes responses (headers, ETag/304, CORS). The cron handler too.

use std::cell::Cell;
use std::rc::Rc;

use serde_json::json;
use symbols_core::ccxt::CcxtList;
use symbols_core::filter::Filter;
use symbols_core::log::{HitSampling, Level, Line};
use symbols_core::ports::Counted;
use symbols_core::request::{self, Route};
use symbols_core::service::{CacheStatus, Refresh, Served, Trigger};
use symbols_core::symbols::Source;
use symbols_core::Market;
use worker::{Context, Env, Headers, Request, Response};

use crate::app::{self, App};
use crate::error::AppError;
use crate::fields_cache::{self, Kind};
use crate::{ccxt_cache, edge_cache};
use symbols_core::rules_flow::Selection;

const JSON: &str = "application/json; charset=utf-8";

/// A response under construction, turned into a `worker::Response` in one place.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
    /// A body that stays a JS stream (edge hits), used instead of `body`.
    stream: Option<worker::ResponseBody>,
}

impl Reply {
    fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::bytes(status, JSON, value.to_string().into_bytes())
    }

    fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            body,
            headers: Vec::new(),
            stream: None,
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl From<AppError> for Reply {
    fn from(e: AppError) -> Self {
        let (status, headers, body) = e.parts();
        let mut r = Reply::json(status, &body);
        r.headers.extend(headers);
        r
    }
}

/// What one request did, for its log line.
#[derive(Default)]
struct Trace {
    route: &'static str,
    market: Option<Market>,
    cache: Option<&'static str>,
    upstream_status: Option<u16>,
    redis_round_trips: u32,
    /// Which cache answered a hit: `isolate`, `edge` or `redis`.
    tier: Option<&'static str>,
}

/// Handles one request: every error becomes a JSON response; only a failure to build a
/// response object at all (a JS exception) is returned as `Err`.
pub async fn handle(req: Request, env: &Env, ctx: &Context) -> worker::Result<Response> {
    let started = js_sys::Date::now();
    let method = req.method().to_string();
    let url = req.url().ok();
    let path = url
        .as_ref()
        .map(|u| u.path().to_string())
        .unwrap_or_else(|| "/".into());
    let query = url
        .as_ref()
        .and_then(|u| u.query().map(str::to_string))
        .unwrap_or_default();
    let origin = req.headers().get("Origin").ok().flatten();
    let mut trace = Trace::default();
    let reply = match dispatch(&req, &method, &path, &query, env, ctx, &mut trace).await {
        Ok(r) => r,
        Err(e) => Reply::from(e),
    };
    let status = reply.status;
    let app = app::get(env).ok();
    if let Some(app) = &app {
        if logs_this(&trace, status, app.config.hit_log) {
            app.log
                .write(request_line(&req, &method, &trace, status, started));
        }
    }
    let cors = app
        .as_ref()
        .map(|a| a.config.cors_origins.clone())
        .unwrap_or_else(|| vec!["*".into()]);
    finish(reply, &method, origin.as_deref(), &cors)
}

/// Whether this request gets its log line: everything but a routine hit always does; hits
/// as `HIT_LOG_SAMPLE` says (counted per isolate).
fn logs_this(trace: &Trace, status: u16, sampling: HitSampling) -> bool {
    thread_local! {
        static HITS: Cell<u64> = const { Cell::new(0) };
    }
    let hit = trace.cache == Some("HIT") && status < 400;
    if !hit || sampling.every == 1 {
        return true;
    }
    let seq = HITS.with(|h| {
        let n = h.get();
        h.set(n.wrapping_add(1));
        n
    });
    sampling.keeps(seq)
}

/// The request's log line, written field by field (the hit path's largest cost was building
/// a `serde_json` tree for it). The field names are a contract: dashboards and tests read them.
fn request_line(req: &Request, method: &str, trace: &Trace, status: u16, started: f64) -> Line {
    let level = if status >= 500 {
        Level::Warn
    } else {
        Level::Info
    };
    let request_id = req.headers().get("cf-ray").ok().flatten();
    Line::new(level, "request")
        .opt_str("request_id", request_id.as_deref())
        .str("method", method)
        .str("route", trace.route)
        .opt_str("market", trace.market.map(Market::as_str))
        .uint("status", u64::from(status))
        .opt_str("cache", trace.cache)
        .opt_str("cache_tier", trace.tier)
        .opt_uint("upstream_status", trace.upstream_status.map(u64::from))
        .uint("redis_round_trips", u64::from(trace.redis_round_trips))
        // Date.now() counts whole milliseconds: an integer, and no float formatting linked in.
        .uint(
            "duration_ms",
            (js_sys::Date::now() - started).max(0.0) as u64,
        )
}

async fn dispatch(
    req: &Request,
    method: &str,
    path: &str,
    query: &str,
    env: &Env,
    ctx: &Context,
    trace: &mut Trace,
) -> Result<Reply, AppError> {
    let route = request::route(method, path, query).map_err(AppError::Route)?;
    if method == "OPTIONS" {
        trace.route = "preflight";
        return Ok(Reply::bytes(204, JSON, Vec::new()));
    }
    let app = app::get(env).map_err(|e| AppError::Setup(e.0))?;
    match route {
        Route::Health => {
            trace.route = "healthz";
            let store = Counted::new(&app.store);
            let ping = symbols_core::service::ping(&store).await;
            trace.redis_round_trips = store.batches();
            let mut reply = match ping {
                Ok(()) => json!({"status": "ok", "redis": "reachable"}),
                Err(e) => {
                    json!({"status": "degraded", "redis": "unreachable", "error": e.to_string()})
                }
            };
            // Under `wrangler dev` with nothing configured: what is missing, how to start it.
            if let Some(notice) = crate::env::local_notice() {
                reply["missing"] = json!(notice.missing());
                reply["hint"] = json!(notice.to_string());
            }
            let status = if reply["redis"] == "reachable" {
                200
            } else {
                503
            };
            Ok(Reply::json(status, &reply))
        }
        Route::List { market, filter } => {
            trace.route = "list";
            trace.market = Some(market);
            if filter.is_empty() && app.config.edge_ttl_secs > 0 {
                if let Some(hit) = edge_cache::get_stream(market, app.config.isolate_ttl_secs).await
                {
                    count_edge_hit(&app, ctx, market, trace, hit.tier);
                    return Ok(edge_reply(req, hit));
                }
            }
            let served = serve(&app, ctx, market, trace).await?;
            list_reply(req, &served, &filter)
        }
        Route::One { market, symbol } => {
            trace.route = "symbol";
            trace.market = Some(market);
            let served = serve(&app, ctx, market, trace).await?;
            let found = served
                .list
                .find(&symbol)
                .map_err(|e| AppError::Corrupt(e.to_string()))?;
            let Some(s) = found else {
                return Err(AppError::UnknownSymbol { market, symbol });
            };
            // Every rule: our full record of the tier the list came from (this isolate's
            // copy, else one small read), else the list's own record (a version before
            // them, or Redis unreachable).
            let key = format!(
                "{}|{}|{}|{}",
                market.as_str(),
                symbols_core::rules_flow::records_tier(served.source),
                served.list.header().version,
                s.symbol
            );
            let full = match fields_cache::get(Kind::Record, &key) {
                Some(copy) => Some(copy.body.clone()),
                None if served.status == CacheStatus::Bypass => None,
                None => {
                    let store = Counted::new(&app.store);
                    let full = app
                        .full_record(&store, market, &s.symbol, served.source)
                        .await;
                    trace.redis_round_trips += store.batches();
                    if let Some(body) = full
                        .as_ref()
                        .filter(|_| served.status != CacheStatus::Stale)
                    {
                        let copy = Selection {
                            body: body.clone(),
                            etag: String::new(),
                        };
                        fields_cache::put(
                            Kind::Record,
                            key,
                            Rc::new(copy),
                            app.config.isolate_ttl_secs,
                        );
                    }
                    full
                }
            };
            // The list's record is serialised from the struct: fields keep the list's order.
            let body = full.unwrap_or_else(|| serde_json::to_vec(&s).unwrap_or_default());
            Ok(Reply::bytes(200, JSON, body).header("X-Cache", served.status.as_str()))
        }
        Route::Selected {
            market,
            filter,
            fields,
        } => {
            trace.route = "list_fields";
            trace.market = Some(market);
            let served = serve(&app, ctx, market, trace).await?;
            let key = format!(
                "{}|{}|{}|{}",
                market.as_str(),
                symbols_core::rules_flow::records_tier(served.source),
                served.list.header().version,
                symbols_core::rules_flow::selection_key(fields.as_deref(), &filter)
            );
            let selection = match fields_cache::get(Kind::Selection, &key) {
                Some(s) => s,
                None => {
                    let store = Counted::new(&app.store);
                    let made = app
                        .selected(&store, market, &served, fields.as_deref(), &filter)
                        .await;
                    trace.redis_round_trips += store.batches();
                    let made = made.map_err(AppError::Select)?;
                    let made = Rc::new(made);
                    if matches!(served.status, CacheStatus::Hit | CacheStatus::Miss) {
                        fields_cache::put(
                            Kind::Selection,
                            key,
                            made.clone(),
                            app.config.isolate_ttl_secs,
                        );
                    }
                    made
                }
            };
            let r = if not_modified(req, &selection.etag) {
                Reply::bytes(304, JSON, Vec::new())
            } else {
                Reply::bytes(200, JSON, selection.body.clone())
            };
            Ok(r.header("X-Cache", served.status.as_str())
                .header("ETag", selection.etag.clone())
                .header("Cache-Control", "no-cache"))
        }
        Route::Ccxt { market } => {
            trace.route = "list_ccxt";
            trace.market = Some(market);
            let (list, status, source) = serve_ccxt(&app, ctx, market, trace).await?;
            let etag = list.etag();
            let r = if not_modified(req, &etag) {
                Reply::bytes(304, JSON, Vec::new())
            } else {
                Reply::bytes(200, JSON, list.response_body(source))
            };
            Ok(r.header("X-Cache", status.as_str())
                .header("ETag", etag)
                .header("Cache-Control", "no-cache"))
        }
        Route::CcxtOne { market, symbol } => {
            trace.route = "symbol_ccxt";
            trace.market = Some(market);
            let (list, status, _) = serve_ccxt(&app, ctx, market, trace).await?;
            match list.find(&symbol) {
                Some(found) => {
                    Ok(Reply::bytes(200, JSON, found.to_vec()).header("X-Cache", status.as_str()))
                }
                None => Err(AppError::UnknownSymbol { market, symbol }),
            }
        }
        Route::SymbolsMetrics => {
            trace.route = "metrics_json";
            let metrics = app
                .metrics()
                .await
                .map_err(|e| AppError::Metrics(e.to_string()))?;
            let body: serde_json::Map<String, serde_json::Value> = metrics
                .into_iter()
                .map(|(m, v)| (m.as_str().to_string(), json!(v)))
                .collect();
            Ok(Reply::json(200, &serde_json::Value::Object(body))
                .header("Cache-Control", "no-store"))
        }
        Route::Prometheus => {
            trace.route = "metrics";
            let metrics = app.metrics().await.ok();
            let instance = symbols_core::exposition::InstanceGauges {
                wasm_memory_bytes: crate::platform::wasm_memory_bytes(),
                unflushed_hits: Market::ALL
                    .iter()
                    .map(|&m| (m, app.unflushed_hits(m)))
                    .collect(),
            };
            let text = symbols_core::exposition::prometheus(metrics.as_deref(), &instance);
            Ok(Reply::bytes(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                text.into_bytes(),
            )
            .header("Cache-Control", "no-store"))
        }
        Route::StatusPage => {
            trace.route = "status_page";
            let metrics = app.metrics().await.ok();
            let html =
                symbols_core::exposition::status_page(metrics.as_deref(), app.clock_now_ms());
            Ok(
                Reply::bytes(200, "text/html; charset=utf-8", html.into_bytes())
                    .header("Cache-Control", "no-store"),
            )
        }
        Route::OpenApi => {
            trace.route = "openapi";
            Ok(Reply::bytes(200, JSON, OPENAPI.as_bytes().to_vec()))
        }
        Route::Refresh { market } => {
            trace.route = "refresh";
            trace.market = Some(market);
            let reply = admin_refresh(req, &app, market).await;
            deliver_changes(&app, ctx);
            reply
        }
        Route::Changes {
            market,
            since,
            limit,
        } => {
            trace.route = "changes";
            trace.market = Some(market);
            let store = Counted::new(&app.store);
            let page = app.changes_via(&store, market, &since, limit).await;
            trace.redis_round_trips = store.batches();
            let page = page.map_err(|e| AppError::Redis(e.to_string()))?;
            // New events arrive with a refresh: a short shared cache keeps pollers cheap.
            Ok(Reply::json(200, &page.to_json(market)).header("Cache-Control", "max-age=5"))
        }
    }
}

/// POSTs the change events of refreshes this isolate ran to `CHANGES_WEBHOOK_URL`, after
/// the response (never on the refresh's path).
fn deliver_changes(app: &Rc<App>, ctx: &Context) {
    if app.pending_changes() > 0 {
        let app = app.clone();
        ctx.wait_until(async move {
            app.deliver_changes().await;
        });
    }
}

const OPENAPI: &str = include_str!("../openapi.json");

/// Edge cache, then the service; counting and edge fills happen after the response.
async fn serve(
    app: &Rc<App>,
    ctx: &Context,
    market: Market,
    trace: &mut Trace,
) -> Result<Served, AppError> {
    let edge_ttl = app.config.edge_ttl_secs;
    if edge_ttl > 0 {
        if let Some(list) = edge_cache::get(market).await {
            count_edge_hit(app, ctx, market, trace, "edge");
            return Ok(Served {
                list,
                status: CacheStatus::Hit,
                source: Source::Cache,
                redis_round_trips: 0,
                upstream_status: None,
            });
        }
    }
    // A refresh the request stops waiting for (a last good list was served) goes on here,
    // and its change events go to the webhook when it is done.
    let for_rest = app.clone();
    let spawn = |rest: symbols_core::service::LocalBoxFuture<'static, ()>| {
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
    trace.cache = Some(served.status.as_str());
    trace.tier = (served.status == CacheStatus::Hit).then_some("redis");
    trace.redis_round_trips = served.redis_round_trips;
    trace.upstream_status = served.upstream_status;
    let (app2, list, status) = (app.clone(), served.list.clone(), served.status);
    ctx.wait_until(async move {
        app2.record(market, status).await;
        // A refresh this request ran (a miss) may have recorded change events.
        app2.deliver_changes().await;
        // Only lists from Redis go to the edge: a STALE or BYPASS one must not come back as a
        // HIT (the service keeps its own BYPASS copy for BYPASS_CACHE_SECONDS).
        if matches!(status, CacheStatus::Hit | CacheStatus::Miss) {
            fill_edge(&app2, market, &list).await;
        }
    });
    Ok(served)
}

/// The ccxt markets: this isolate's copy, else the service (a Redis hit or a miss then
/// becomes the copy); counted like the list route.
async fn serve_ccxt(
    app: &Rc<App>,
    ctx: &Context,
    market: Market,
    trace: &mut Trace,
) -> Result<(Rc<CcxtList>, CacheStatus, Source), AppError> {
    let ttl = app.config.isolate_ttl_secs;
    if let Some(list) = ccxt_cache::get(market) {
        count_edge_hit(app, ctx, market, trace, "isolate");
        return Ok((list, CacheStatus::Hit, Source::Cache));
    }
    let spawn = |rest: symbols_core::service::LocalBoxFuture<'static, ()>| ctx.wait_until(rest);
    let served = app
        .ccxt(market, Some(&spawn))
        .await
        .map_err(AppError::Unavailable)?;
    trace.cache = Some(served.status.as_str());
    trace.tier = (served.status == CacheStatus::Hit).then_some("redis");
    trace.redis_round_trips = served.redis_round_trips;
    trace.upstream_status = served.upstream_status;
    let list = Rc::new(served.list);
    if matches!(served.status, CacheStatus::Hit | CacheStatus::Miss) {
        ccxt_cache::put(market, list.clone(), ttl);
    }
    let (app2, status) = (app.clone(), served.status);
    ctx.wait_until(async move { app2.record(market, status).await });
    Ok((list, served.status, served.source))
}

/// A hit answered in front of Redis: traced, and counted after the response.
fn count_edge_hit(
    app: &Rc<App>,
    ctx: &Context,
    market: Market,
    trace: &mut Trace,
    tier: &'static str,
) {
    trace.cache = Some("HIT");
    trace.tier = Some(tier);
    let app = app.clone();
    ctx.wait_until(async move { app.record(market, CacheStatus::Hit).await });
}

/// A list that is current goes to the edge cache and this isolate's copy.
async fn fill_edge(app: &App, market: Market, list: &symbols_core::symbols::StoredList) {
    edge_cache::put(
        market,
        list,
        app.config.edge_ttl_secs,
        app.config.isolate_ttl_secs,
    )
    .await;
}

/// Whether `If-None-Match` names `etag` (or `*`).
fn not_modified(req: &Request, etag: &str) -> bool {
    let inm = req.headers().get("If-None-Match").ok().flatten();
    inm.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// An edge hit of the whole list: the cached body goes out as the stream it is.
fn edge_reply(req: &Request, hit: edge_cache::Hit) -> Reply {
    let mut r = if not_modified(req, &hit.etag) {
        Reply::bytes(304, JSON, Vec::new())
    } else {
        Reply::bytes(200, JSON, Vec::new())
    };
    if r.status == 200 {
        r.stream = Some(hit.body);
    }
    r.header("X-Cache", "HIT")
        .header("ETag", hit.etag)
        .header("Cache-Control", "no-cache")
}

fn list_reply(req: &Request, served: &Served, filter: &Filter) -> Result<Reply, AppError> {
    let etag = served.list.etag();
    let common = |r: Reply| {
        r.header("X-Cache", served.status.as_str())
            .header("ETag", etag.clone())
            .header("Cache-Control", "no-cache")
    };
    if filter.is_empty() && not_modified(req, &etag) {
        return Ok(common(Reply::bytes(304, JSON, Vec::new())));
    }
    let body = served
        .list
        .filtered_body(served.source, filter)
        .map_err(|e| AppError::Corrupt(e.to_string()))?;
    Ok(common(Reply::bytes(200, JSON, body)))
}

async fn admin_refresh(req: &Request, app: &Rc<App>, market: Market) -> Result<Reply, AppError> {
    let Some(expected) = app.config.admin_token.as_deref() else {
        return Err(AppError::Route(request::RouteError::NotFound(format!(
            "/api/symbols/{market}/refresh"
        ))));
    };
    let given = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    let token = given.strip_prefix("Bearer ").unwrap_or("").trim();
    if !symbols_core::auth::constant_time_eq(token.as_bytes(), expected.as_bytes()) {
        return Err(AppError::Unauthorized);
    }
    match app.refresh(market, Trigger::Admin).await {
        Refresh::Stored(list) => {
            fill_edge(app, market, &list).await;
            Ok(Reply::json(
                200,
                &json!({"market": market.as_str(), "ok": true, "count": list.header().count, "version": list.header().version}),
            ))
        }
        other => Err(AppError::Refresh(market, Box::new(other))),
    }
}

fn finish(
    reply: Reply,
    method: &str,
    origin: Option<&str>,
    cors: &[String],
) -> worker::Result<Response> {
    let headers = Headers::new();
    let _ = headers.set("Content-Type", reply.content_type);
    let _ = headers.set("X-Content-Type-Options", "nosniff");
    let allow_origin = if cors.iter().any(|o| o == "*") {
        Some("*".to_string())
    } else {
        origin
            .filter(|o| cors.iter().any(|c| c == o))
            .map(str::to_string)
    };
    if let Some(o) = allow_origin {
        let _ = headers.set("Access-Control-Allow-Origin", &o);
        let _ = headers.set(
            "Access-Control-Expose-Headers",
            "ETag, X-Cache, Retry-After",
        );
        if o != "*" {
            let _ = headers.set("Vary", "Origin");
        }
        if method == "OPTIONS" {
            let _ = headers.set("Access-Control-Allow-Methods", request::READ_METHODS);
            let _ = headers.set(
                "Access-Control-Allow-Headers",
                "If-None-Match, Content-Type",
            );
            let _ = headers.set("Access-Control-Max-Age", "86400");
        }
    }
    for (k, v) in &reply.headers {
        let _ = headers.set(k, v);
    }
    let bodiless = method == "HEAD" || reply.status == 304 || reply.status == 204;
    let resp = match reply.stream {
        Some(stream) if !bodiless => Response::from_body(stream),
        _ if bodiless && reply.status != 200 => Response::empty(),
        _ if bodiless => Response::from_bytes(Vec::new()),
        _ => Response::from_bytes(reply.body),
    };
    Ok(resp?.with_status(reply.status).with_headers(headers))
}

/// The cron: refresh both markets independently; fill the edge cache with new lists;
/// then (after the handler, in `wait_until`) the webhook.
pub async fn scheduled(cron: &str, env: &Env, ctx: &worker::ScheduleContext) {
    let app = match app::get(env) {
        Ok(a) => a,
        Err(e) => {
            worker::console_error!(
                "{}",
                json!({"level": "error", "event": "cron_setup_failed", "error": e.0})
            );
            return;
        }
    };
    let started = js_sys::Date::now();
    let results = app.warmup_all().await;
    let mut summary = serde_json::Map::new();
    for (market, r) in &results {
        let outcome = match r {
            Refresh::Stored(list) => {
                fill_edge(&app, *market, list).await;
                "success"
            }
            Refresh::Busy { .. } => "skipped",
            Refresh::Failed { .. } | Refresh::NotStored { .. } | Refresh::StoreDown(_) => "error",
        };
        summary.insert(market.as_str().into(), outcome.into());
    }
    app.log.emit(
        Level::Info,
        "cron",
        json!({"cron": cron, "outcomes": summary, "duration_ms": js_sys::Date::now() - started}),
    );
    if app.pending_changes() > 0 {
        let app = app.clone();
        ctx.wait_until(async move {
            app.deliver_changes().await;
        });
    }
}
