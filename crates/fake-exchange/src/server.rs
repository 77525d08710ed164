//! The HTTP server: Binance's exchangeInfo paths, the `/__control` API, request logging,
//! and the in-process test convenience [`start`] / [`Running`].
//!
//! Routes:
//! - `GET|HEAD /api/v3/exchangeInfo` (spot; `showPermissionSets=false`, `symbolStatus=`,
//!   `symbol=`, `symbols=[...]` honoured, other parameters ignored)
//! - `GET|HEAD /fapi/v1/exchangeInfo` (futures; parameters ignored)
//! - `GET /api/v3/ping`, `GET /fapi/v1/ping` -> `{}`
//! - `POST /__control/faults` ([`FaultScript`]), `POST /__control/reset`, `GET /__control/stats`
//! - anything else: 404 with an empty body, as `api.binance.com` answers unknown paths.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::fault::Fault;
use crate::market::Market;
use crate::payload::SymbolEntry;
use crate::state::{FakeExchange, FaultScript};

/// `Content-Type` of every JSON response, as Binance spells it.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";
const HTML_CONTENT_TYPE: &str = "text/html";
/// The request header carrying an API key.
pub const API_KEY_HEADER: &str = "x-mbx-apikey";
/// The used-weight response header.
pub const USED_WEIGHT_HEADER: &str = "x-mbx-used-weight-1m";
/// How long [`Fault::Stall`] holds a request at most.
pub const STALL_MAX: Duration = Duration::from_secs(3600);

/// The body of a 200 [`Fault::Malformed`] answer (not valid JSON).
pub const MALFORMED_BODY: &str = r#"{"timezone":"UTC","serverTime":1694185561976,"symbols":[{"symbol":"ETHBTC","status":TRADING,}]"#;
/// The 401 body for a rejected API key.
pub const INVALID_API_KEY_BODY: &str =
    r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#;
/// The 451 body (restricted location).
pub const RESTRICTED_BODY: &str = r#"{"code":0,"msg":"Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer service if you believe you received this message in error."}"#;
/// The body of a JSON 5xx.
pub const INTERNAL_ERROR_BODY: &str =
    r#"{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}"#;
const UNKNOWN_ERROR_BODY: &str =
    r#"{"code":-1000,"msg":"An unknown error occurred while processing the request."}"#;
const INVALID_SYMBOL_BODY: &str = r#"{"code":-1121,"msg":"Invalid symbol."}"#;
const BAD_SYMBOLS_PARAM_BODY: &str = r#"{"code":-1100,"msg":"Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'."}"#;

/// Marker put in response extensions naming the fault applied (for the request log).
#[derive(Debug, Clone, Copy)]
struct FaultTag(&'static str);

/// The router: exchangeInfo routes, control routes, request logging. `state` is shared.
pub fn app(state: FakeExchange) -> Router {
    Router::new()
        .route(Market::Spot.path(), get(spot_exchange_info))
        .route(Market::Futures.path(), get(futures_exchange_info))
        .route("/api/v3/ping", get(ping))
        .route("/fapi/v1/ping", get(ping))
        .route("/__control/faults", post(control_faults))
        .route("/__control/reset", post(control_reset))
        .route("/__control/stats", get(control_stats))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then shuts down gracefully
/// (requests held by [`Fault::Stall`] / [`Fault::Delay`] are released with a 503 first).
///
/// # Errors
/// The I/O error of the accept loop.
pub async fn run<F>(listener: TcpListener, state: FakeExchange, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    state.arm();
    let on_shutdown = state.clone();
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        on_shutdown.begin_shutdown();
    })
    .await
}

/// A fake exchange running on the current tokio runtime. Dropping it shuts the server down.
/// Derefs to its [`FakeExchange`] handle.
#[derive(Debug)]
pub struct Running {
    /// The bound address (127.0.0.1, an ephemeral port).
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base_url: String,
    /// The shared state: fault scripts and counters.
    pub handle: FakeExchange,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// `base_url` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// The exchangeInfo URL of `market`.
    pub fn exchange_info_url(&self, market: Market) -> String {
        self.url(market.path())
    }

    /// Stops the server and waits for it to finish (held requests are released).
    ///
    /// # Errors
    /// The server's I/O error, if it failed.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }
}

impl std::ops::Deref for Running {
    type Target = FakeExchange;
    fn deref(&self) -> &FakeExchange {
        &self.handle
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The server task then releases held requests and finishes on its own.
            let _ = tx.send(());
        }
    }
}

/// Binds 127.0.0.1:0 and serves the recorded fixtures on the current tokio runtime.
///
/// # Panics
/// When no loopback port can be bound (a broken test environment).
pub async fn start() -> Running {
    match start_with(FakeExchange::new()).await {
        Ok(running) => running,
        Err(e) => panic!("fake-exchange: cannot bind 127.0.0.1:0: {e}"),
    }
}

/// Binds 127.0.0.1:0 and serves `state` on the current tokio runtime.
///
/// # Errors
/// The bind error.
pub async fn start_with(state: FakeExchange) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    Ok(Running {
        addr,
        base_url: format!("http://{addr}"),
        handle: state,
        shutdown: Some(tx),
        task: Some(task),
    })
}

// ---------------------------------------------------------------------------------------
// exchangeInfo

async fn spot_exchange_info(State(ex): State<FakeExchange>, req: Request) -> Response {
    exchange_info(ex, Market::Spot, req).await
}

async fn futures_exchange_info(State(ex): State<FakeExchange>, req: Request) -> Response {
    exchange_info(ex, Market::Futures, req).await
}

/// Spot query options this server understands.
#[derive(Debug, Default)]
struct InfoQuery {
    show_permission_sets: bool,
    symbol_status: Option<String>,
    symbols: Option<Vec<String>>,
    bad_symbols_param: bool,
}

impl InfoQuery {
    fn parse(market: Market, query: Option<&str>) -> Self {
        let mut q = InfoQuery {
            show_permission_sets: true,
            ..InfoQuery::default()
        };
        if market != Market::Spot {
            return q;
        }
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "showPermissionSets" => {
                    q.show_permission_sets = !value.eq_ignore_ascii_case("false")
                }
                "symbolStatus" => q.symbol_status = Some(value.into_owned()),
                "symbol" => q.symbols = Some(vec![value.into_owned()]),
                "symbols" => match serde_json::from_str::<Vec<String>>(&value) {
                    Ok(list) => q.symbols = Some(list),
                    Err(_) => q.bad_symbols_param = true,
                },
                _ => {}
            }
        }
        q
    }

    fn keeps(&self, s: &SymbolEntry) -> bool {
        self.symbol_status.as_ref().is_none_or(|st| &s.status == st)
            && self
                .symbols
                .as_ref()
                .is_none_or(|list| list.iter().any(|x| x == &s.symbol))
    }
}

async fn exchange_info(ex: FakeExchange, market: Market, req: Request) -> Response {
    let api_key = req
        .headers()
        .get(API_KEY_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".to_string());
    let query = InfoQuery::parse(market, req.uri().query());
    drop(req);

    let admission = ex.admit(market, api_key.as_deref());
    let tag = admission.fault.as_ref().map(Fault::kind);
    let mut resp = match admission.fault {
        None => serve(&ex, market, &query, None),
        Some(fault) => apply_fault(&ex, market, &query, fault, api_key.is_some(), &ip).await,
    };
    let headers = resp.headers_mut();
    let weight = HeaderValue::from(admission.used_weight);
    headers.insert(HeaderName::from_static(USED_WEIGHT_HEADER), weight.clone());
    headers.insert(HeaderName::from_static("x-mbx-used-weight"), weight);
    if let Some(tag) = tag {
        resp.extensions_mut().insert(FaultTag(tag));
    }
    resp
}

/// The normal answer (optionally limited to the first `limit` symbols).
fn serve(ex: &FakeExchange, market: Market, query: &InfoQuery, limit: Option<usize>) -> Response {
    match render(ex, market, query, limit) {
        Ok(body) => json(StatusCode::OK, body),
        Err(rejection) => json(StatusCode::BAD_REQUEST, rejection),
    }
}

/// The body for the query, or the JSON body of Binance's 400 for a bad `symbol(s)` parameter.
fn render(
    ex: &FakeExchange,
    market: Market,
    query: &InfoQuery,
    limit: Option<usize>,
) -> Result<Bytes, &'static str> {
    if query.bad_symbols_param {
        return Err(BAD_SYMBOLS_PARAM_BODY);
    }
    let doc = ex.documents(market, !query.show_permission_sets);
    if let Some(list) = &query.symbols {
        let known = |name: &String| doc.symbols().iter().any(|s| &s.symbol == name);
        if list.is_empty() || !list.iter().all(known) {
            return Err(INVALID_SYMBOL_BODY);
        }
    }
    Ok(doc.render(|s| query.keeps(s), limit))
}

async fn apply_fault(
    ex: &FakeExchange,
    market: Market,
    query: &InfoQuery,
    fault: Fault,
    has_api_key: bool,
    ip: &str,
) -> Response {
    match fault {
        Fault::Status { code, retry_after } => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status.as_u16() < 400 {
                let mut resp = serve(ex, market, query, None);
                *resp.status_mut() = status;
                resp
            } else {
                error_response(status, retry_after, ip)
            }
        }
        Fault::Delay { ms } => {
            if ex.hold(Duration::from_millis(ms)).await {
                serve(ex, market, query, None)
            } else {
                html(StatusCode::SERVICE_UNAVAILABLE, &cloudfront_page(503))
            }
        }
        Fault::Stall => {
            ex.hold(STALL_MAX).await;
            html(StatusCode::SERVICE_UNAVAILABLE, &cloudfront_page(503))
        }
        Fault::Malformed => json(StatusCode::OK, MALFORMED_BODY),
        Fault::Truncated => match render(ex, market, query, None) {
            Ok(full) => {
                let cut = full.len() / 2;
                json(StatusCode::OK, full.slice(..cut))
            }
            Err(rejection) => json(StatusCode::BAD_REQUEST, rejection),
        },
        Fault::EmptySymbols => serve(ex, market, query, Some(0)),
        Fault::Shrink { keep } => serve(ex, market, query, Some(keep)),
        Fault::RequireApiKey => {
            if has_api_key {
                json(StatusCode::UNAUTHORIZED, INVALID_API_KEY_BODY)
            } else {
                serve(ex, market, query, None)
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The response Binance (or its CDN) sends for `status`.
fn error_response(status: StatusCode, retry_after: Option<u32>, ip: &str) -> Response {
    let mut resp = match status.as_u16() {
        429 => json(
            status,
            format!(
                r#"{{"code":-1003,"msg":"Too many requests; current limit of IP({ip}) request weight per 1 minute is 6000. Please use WebSocket Streams for live updates to avoid polling the API."}}"#
            ),
        ),
        418 => {
            let until = now_ms() + u64::from(retry_after.unwrap_or(120)) * 1000;
            json(
                status,
                format!(
                    r#"{{"code":-1003,"msg":"Way too many requests; IP({ip}) banned until {until}. Please use WebSocket Streams for live updates to avoid bans."}}"#
                ),
            )
        }
        451 => json(status, RESTRICTED_BODY),
        401 => json(status, INVALID_API_KEY_BODY),
        403 => {
            let mut r = html(status, &cloudfront_page(403));
            r.headers_mut()
                .insert(header::SERVER, HeaderValue::from_static("CloudFront"));
            r.headers_mut()
                .insert("x-cache", HeaderValue::from_static("Error from cloudfront"));
            r
        }
        404 => empty(status),
        502 | 503 => {
            let mut r = html(status, &cloudfront_page(status.as_u16()));
            r.headers_mut()
                .insert(header::SERVER, HeaderValue::from_static("CloudFront"));
            r.headers_mut()
                .insert("x-cache", HeaderValue::from_static("Error from cloudfront"));
            r
        }
        500..=599 => json(status, INTERNAL_ERROR_BODY),
        _ => json(status, UNKNOWN_ERROR_BODY),
    };
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// A CloudFront error page (`403` = WAF block, `502` / `503` = origin trouble).
pub fn cloudfront_page(code: u16) -> String {
    let explanation = match code {
        403 => "Request blocked.\nWe can't connect to the server for this app or website at this time. There might be too much traffic or a configuration error. Try again later, or contact the app or website owner.",
        502 => "CloudFront wasn't able to connect to the origin.\nWe can't connect to the server for this app or website at this time. There might be too much traffic or a configuration error. Try again later, or contact the app or website owner.",
        _ => "The server is currently unavailable.\nWe can't connect to the server for this app or website at this time. There might be too much traffic or a configuration error. Try again later, or contact the app or website owner.",
    };
    format!(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\" \"http://www.w3.org/TR/html4/loose.dtd\">\n\
<HTML><HEAD><META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=iso-8859-1\">\n\
<TITLE>ERROR: The request could not be satisfied</TITLE>\n\
</HEAD><BODY>\n\
<H1>{code} ERROR</H1>\n\
<H2>The request could not be satisfied.</H2>\n\
<HR noshade size=\"1px\">\n\
{explanation}\n\
<BR clear=\"all\">\n\
If you provide content to customers through CloudFront, you can find steps to troubleshoot and help prevent this error by reviewing the CloudFront documentation.\n\
<BR clear=\"all\">\n\
<HR noshade size=\"1px\">\n\
<PRE>\n\
Generated by cloudfront (CloudFront)\n\
Request ID: fAkE-ExChAnGe-0000000000000000000000000000000000000000==\n\
</PRE>\n\
<ADDRESS>\n\
</ADDRESS>\n\
</BODY></HTML>"
    )
}

fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, JSON_CONTENT_TYPE)],
        body.into(),
    )
        .into_response()
}

fn html(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HTML_CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}

async fn ping() -> Response {
    json(StatusCode::OK, "{}")
}

async fn not_found() -> Response {
    empty(StatusCode::NOT_FOUND)
}

// ---------------------------------------------------------------------------------------
// control API

fn stats_response(ex: &FakeExchange) -> Response {
    match serde_json::to_vec(&ex.stats()) {
        Ok(body) => json(StatusCode::OK, body),
        Err(e) => control_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn control_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    json(status, body)
}

async fn control_faults(State(ex): State<FakeExchange>, body: Bytes) -> Response {
    let script: FaultScript = match serde_json::from_slice(&body) {
        Ok(script) => script,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, &format!("bad fault script: {e}")),
    };
    let invalid = script
        .faults
        .iter()
        .chain(script.sticky.iter().flatten())
        .find(|f| matches!(f, Fault::Status { code, .. } if StatusCode::from_u16(*code).is_err()));
    if let Some(f) = invalid {
        return control_error(
            StatusCode::BAD_REQUEST,
            &format!("invalid status code in {f:?}"),
        );
    }
    ex.apply_script(script);
    stats_response(&ex)
}

async fn control_reset(State(ex): State<FakeExchange>) -> Response {
    ex.reset();
    stats_response(&ex)
}

async fn control_stats(State(ex): State<FakeExchange>) -> Response {
    stats_response(&ex)
}

// ---------------------------------------------------------------------------------------
// logging

async fn log_request(State(ex): State<FakeExchange>, req: Request, next: Next) -> Response {
    if !ex.logging() {
        return next.run(req).await;
    }
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let api_key = has_api_key(req.headers());
    let resp = next.run(req).await;
    let line = serde_json::json!({
        "ts": now_ms(),
        "method": method,
        "path": path,
        "query": query,
        "status": resp.status().as_u16(),
        "bytes": resp.body().size_hint().exact(),
        "ms": (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        "api_key": api_key,
        "fault": resp.extensions().get::<FaultTag>().map(|t| t.0),
    });
    println!("{line}");
    resp
}

fn has_api_key(headers: &HeaderMap) -> bool {
    headers.contains_key(API_KEY_HEADER)
}
