//! HTTP <-> service: parses the request with `symbols_core::request`, gets the list from
//! [`crate::tiers`], and shapes responses (headers, ETag/304, CORS). The cron handler too.

use std::rc::Rc;

use serde_json::json;
use symbols_core::filter::Filter;
use symbols_core::log::Level;
use symbols_core::ports::Counted;
use symbols_core::request::{self, Route};
use symbols_core::service::{Refresh, Served, Trigger};
use symbols_core::Market;
use worker::{Context, Env, Headers, Request};

use crate::app::{self, App};
use crate::error::AppError;
use crate::tiers::ccxt::{self, Ccxt};
use crate::tiers::edge::{Copy, JsBody};
use crate::tiers::{self, fields, Whole};
use crate::trace::Trace;

const JSON: &str = "application/json; charset=utf-8";

/// A response under construction, turned into a `worker::Response` in one place.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
    /// A body that stays on the JS side (a copy's hit), used instead of `body`.
    js_body: Option<JsBody>,
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
            js_body: None,
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

/// Handles one request: every error becomes a JSON response; only a failure to build a
/// response object at all (a JS exception) is returned as `Err`.
pub async fn handle(req: Request, env: &Env, ctx: &Context) -> worker::Result<web_sys::Response> {
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
    let app = app::get(env);
    let reply = match dispatch(&req, &method, &path, &query, &app, ctx, &mut trace).await {
        Ok(r) => r,
        Err(e) => Reply::from(e),
    };
    let status = reply.status;
    if let Ok(app) = &app {
        if trace.logged(status, app.config.hit_log) {
            app.log.write(trace.line(&req, &method, status, started));
        }
    }
    // Settings unusable: the error still reaches a browser.
    let any = ["*".to_string()];
    let cors = match &app {
        Ok(a) => a.config.cors_origins.as_slice(),
        Err(_) => &any,
    };
    finish(reply, &method, origin.as_deref(), cors)
}

async fn dispatch(
    req: &Request,
    method: &str,
    path: &str,
    query: &str,
    app: &Result<Rc<App>, app::SetupError>,
    ctx: &Context,
    trace: &mut Trace,
) -> Result<Reply, AppError> {
    let route = request::route(method, path, query).map_err(AppError::Route)?;
    if method == "OPTIONS" {
        trace.route = "preflight";
        return Ok(Reply::bytes(204, JSON, Vec::new()));
    }
    let app = app.as_ref().map_err(|e| AppError::Setup(e.0.clone()))?;
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
            if filter.is_empty() {
                return match tiers::whole(app, ctx, market, trace).await? {
                    Whole::Copy(copy) => Ok(copy_reply(req, copy)),
                    Whole::Served(served) => list_reply(req, &served, &filter),
                };
            }
            let served = tiers::list(app, ctx, market, trace).await?;
            list_reply(req, &served, &filter)
        }
        Route::One { market, symbol } => {
            trace.route = "symbol";
            trace.market = Some(market);
            let served = tiers::list(app, ctx, market, trace).await?;
            let found = served
                .list
                .find(&symbol)
                .map_err(|e| AppError::Corrupt(e.to_string()))?;
            let Some(s) = found else {
                return Err(AppError::UnknownSymbol { market, symbol });
            };
            let full = fields::record(app, market, &served, &s.symbol, trace).await;
            // Without a full record, the list's own: serialised from the struct, so its
            // fields keep the list's order.
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
            let served = tiers::list(app, ctx, market, trace).await?;
            let selection =
                fields::selection(app, market, &served, fields.as_deref(), &filter, trace).await?;
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
            let Ccxt {
                list,
                status,
                source,
            } = ccxt::serve(app, ctx, market, trace).await?;
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
            let Ccxt { list, status, .. } = ccxt::serve(app, ctx, market, trace).await?;
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
            let reply = admin_refresh(req, app, market).await;
            deliver_changes(app, ctx);
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

/// Whether `If-None-Match` names `etag` (or `*`).
fn not_modified(req: &Request, etag: &str) -> bool {
    let inm = req.headers().get("If-None-Match").ok().flatten();
    inm.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// A copy of the whole list: its body goes out as a stream over the JS bytes it is.
fn copy_reply(req: &Request, copy: Copy) -> Reply {
    let mut r = if not_modified(req, &copy.etag) {
        Reply::bytes(304, JSON, Vec::new())
    } else {
        Reply::bytes(200, JSON, Vec::new())
    };
    let etag = copy.etag.clone();
    if r.status == 200 {
        r.js_body = Some(copy.into_body());
    }
    r.header("X-Cache", "HIT")
        .header("ETag", etag)
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
            tiers::fill(app, market, &list).await;
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
) -> worker::Result<web_sys::Response> {
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
    // Built as the runtime's own Response, in one step: a copy's JS bytes become the body
    // as they are (through worker::Response they would be wrapped in a second Response's
    // stream on every hit).
    let init = web_sys::ResponseInit::new();
    init.set_status(reply.status);
    init.set_headers(&headers.0);
    let built = match reply.js_body {
        Some(JsBody::Bytes(bytes)) if !bodiless => {
            web_sys::Response::new_with_opt_buffer_source_and_init(Some(&bytes), &init)
        }
        Some(JsBody::Stream(stream)) if !bodiless => {
            web_sys::Response::new_with_opt_readable_stream_and_init(Some(&stream), &init)
        }
        _ if bodiless && reply.status != 200 => {
            web_sys::Response::new_with_opt_str_and_init(None, &init)
        }
        _ => {
            let body = if bodiless { &[][..] } else { &reply.body[..] };
            let bytes = js_sys::Uint8Array::from(body);
            web_sys::Response::new_with_opt_buffer_source_and_init(Some(&bytes), &init)
        }
    };
    built.map_err(worker::Error::from)
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
                tiers::fill(&app, *market, list).await;
                "success"
            }
            // The stored values were built from this very payload: kept, nothing processed;
            // the copies in front of Redis refill from the next request's hit.
            Refresh::Current(_) => "success",
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
