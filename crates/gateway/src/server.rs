//! The HTTP side: the axum router, per-request handling (method, auth, size limit, dispatch),
//! status codes, the `/__gateway/stats` endpoints and [`run`].
//!
//! Status codes: 200 success (a pipeline is 200 even when some of its commands fail); 400 bad
//! request, unknown or refused command, Redis error reply, `NOPERM`, discarded transaction; 401
//! missing or wrong token; 404 unknown `/__gateway/…` endpoint; 405 method other than HEAD, GET,
//! POST, PUT; 413 body over `max_request_bytes`; 502 Redis connection lost mid-request; 503 Redis
//! unreachable; 504 Redis did not answer in time. Every body is JSON. Every response carries a
//! new `upstash-sync-token` ([`crate::sync_token`]).
//!
//! Oversize bodies: the 413 is sent only after the rest of the body has been read and
//! discarded, up to [`drain_limit`] bytes in all (4 × the limit) and for at most
//! [`DRAIN_TIMEOUT`]; the connection then stays open for the next request. An HTTP client
//! that writes its whole body before it reads the answer (Node's fetch, which
//! `@upstash/redis` uses) would otherwise hit a closed socket and report `EPIPE` / "fetch
//! failed" instead of the 413. A body declared (`Content-Length`) or found to be larger than
//! that, or one still arriving after the timeout, gets its 413 with `Connection: close`;
//! so does a declared oversize body sent with `Expect: 100-continue` (no `100 Continue` is
//! sent, the client does not send the body).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::serve::ListenerExt as _;
use axum::Router;
use http_body_util::BodyExt as _;
use serde_json::json;
use tokio::net::TcpListener;

use crate::auth::{Access, Tokens, UNAUTHORIZED_MESSAGE};
use crate::commands;
use crate::config::Config;
use crate::encoding::{envelope_body, envelopes_body, error_body, Encoding, Envelope};
use crate::error::Error;
use crate::log::{self, Level};
use crate::protocol::{self, ParseError};
use crate::redis::{Command, RedisError, RedisPool, Transaction};
use crate::stats::{Stats, StatsSnapshot};
use crate::sync_token::{self, Received, SyncTokens};

/// Request header selecting base64 results.
pub const ENCODING_HEADER: &str = "upstash-encoding";
/// Prefix of the gateway's own endpoints.
pub const INTERNAL_PREFIX: &str = "/__gateway/";
/// Longest path written to the request log (values in path-style URLs can be large).
const LOGGED_PATH_MAX: usize = 200;
/// An oversize body is read and discarded up to this many times the limit before the 413.
pub const DRAIN_FACTOR: u64 = 4;
/// Longest time spent reading and discarding an oversize body before the 413.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How many bytes of an oversize body (in all, counting what was read before the limit was
/// passed) are read and discarded before its 413, for a limit of `max_request_bytes`.
pub fn drain_limit(max_request_bytes: usize) -> u64 {
    (max_request_bytes as u64).saturating_mul(DRAIN_FACTOR)
}

/// Shared state of one gateway: configuration, tokens, Redis pool and counters. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    tokens: Tokens,
    pool: RedisPool,
    stats: Stats,
    sync: SyncTokens,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Validates `config` and prepares the (lazily connecting) Redis pool.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed Redis URL or a zero size limit.
    pub fn new(config: Config) -> Result<Self, Error> {
        let pool = RedisPool::new(&config.redis_url).map_err(|e| Error::Config(e.to_string()))?;
        if config.max_request_bytes == 0 {
            return Err(Error::Config("max_request_bytes must be at least 1".into()));
        }
        let tokens = Tokens::new(config.token.as_deref(), config.readonly_token.as_deref());
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                tokens,
                pool,
                stats: Stats::default(),
                sync: SyncTokens::default(),
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The Redis connection pool.
    pub fn redis(&self) -> &RedisPool {
        &self.inner.pool
    }

    /// Current request and command counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// The read-your-writes token counter.
    pub fn sync_tokens(&self) -> &SyncTokens {
        &self.inner.sync
    }
}

/// The router serving the Upstash REST protocol (plus `/__gateway/stats`) for `gateway`.
pub fn app(gateway: Gateway) -> Router {
    Router::new().fallback(handle).with_state(gateway)
}

/// Serves on `listener` until `shutdown` completes, then finishes in-flight requests and returns.
///
/// Logs one startup line at info (listen address, Redis URL without password) and, at debug, one
/// JSON line per request.
///
/// # Errors
/// Invalid configuration ([`Error::Config`]) or a failing listener ([`Error::Io`]).
pub async fn run<F>(listener: TcpListener, config: Config, shutdown: F) -> Result<(), Error>
where
    F: Future<Output = ()> + Send + 'static,
{
    let gateway = Gateway::new(config)?;
    let local = listener.local_addr()?;
    let redis = gateway.redis().target().redacted();
    log::log(
        Level::Info,
        "upstash-gateway listening",
        json!({
            "listen": local.to_string(),
            "redis": redis,
            "auth": if gateway.inner.tokens.required() { "token" } else { "none" },
            "readonly_token": gateway.config().readonly_token.as_deref().is_some_and(|t| !t.is_empty()),
            "max_request_bytes": gateway.config().max_request_bytes,
        }),
    );
    if !gateway.inner.tokens.required() {
        log::log(
            Level::Warn,
            "no token configured: every request is accepted with full access",
            json!({}),
        );
    }
    // Probe Redis once in the background so a wrong URL shows in the log at once (not fatal:
    // the pool dials on demand and the gateway works as soon as Redis is up).
    let probe = gateway.clone();
    tokio::spawn(async move {
        match probe.redis().query(&[Bytes::from_static(b"PING")]).await {
            Ok(_) => log::log(Level::Info, "redis reachable", json!({ "redis": redis })),
            Err(e) => log::log(
                Level::Warn,
                "redis not reachable yet",
                json!({ "redis": redis, "error": e.to_string() }),
            ),
        }
    });
    let listener = listener.tap_io(|tcp| {
        // Small request/response exchanges: do not wait for Nagle.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app(gateway))
        .with_graceful_shutdown(shutdown)
        .await?;
    log::log(Level::Info, "upstash-gateway stopped", json!({}));
    Ok(())
}

/// What one request produced.
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
    allow: Option<&'static str>,
    /// Close the connection after this response (`Connection: close`): the request body was
    /// not read to its end.
    close: bool,
    /// Commands sent to Redis.
    commands: usize,
    /// First command name, for the log.
    command: Option<String>,
}

impl Reply {
    fn json(status: StatusCode, body: Vec<u8>) -> Self {
        Self {
            status,
            body,
            allow: None,
            close: false,
            commands: 0,
            command: None,
        }
    }

    fn error(status: StatusCode, message: &str) -> Self {
        Self::json(status, error_body(message))
    }

    fn method_not_allowed(allow: &'static str) -> Self {
        let mut reply = Self::error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("ERR method not allowed (allowed: {allow})"),
        );
        reply.allow = Some(allow);
        reply
    }

    fn redis_failure(error: &RedisError) -> Self {
        let status = match error {
            RedisError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            e if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_GATEWAY,
        };
        log::log(
            Level::Warn,
            "redis request failed",
            json!({ "error": error.to_string(), "status": status.as_u16() }),
        );
        Self::error(status, &format!("ERR {error}"))
    }

    fn with_commands(mut self, commands: usize, first: Option<&Command>) -> Self {
        self.commands = commands;
        self.command = first.map(|c| commands::command_name(c));
        self
    }

    fn into_response(self, sync_token: HeaderValue) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(sync_token::HEADER, sync_token);
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.close {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

async fn handle(State(gateway): State<Gateway>, request: Request) -> Response {
    let started = Instant::now();
    let internal = request.uri().path().starts_with(INTERNAL_PREFIX);
    if !internal {
        gateway.inner.stats.add_request();
        match gateway
            .inner
            .sync
            .classify(request.headers().get(sync_token::HEADER))
        {
            Received::Absent | Received::Malformed => {}
            Received::Satisfied(_) => gateway.inner.stats.add_sync_token(false),
            Received::Future(_) => gateway.inner.stats.add_sync_token(true),
        }
    }
    let logged = log::enabled(Level::Debug).then(|| {
        let path = request.uri().path();
        let mut end = path.len().min(LOGGED_PATH_MAX);
        while !path.is_char_boundary(end) {
            end -= 1;
        }
        (request.method().to_string(), path[..end].to_string())
    });
    let reply = process(&gateway, request).await;
    if let Some((method, path)) = logged {
        // The query string is never logged: it may carry `_token`.
        log::log(
            Level::Debug,
            "request",
            json!({
                "method": method,
                "path": path,
                "status": reply.status.as_u16(),
                "command": reply.command,
                "commands": reply.commands,
                "response_bytes": reply.body.len(),
                "duration_us": started.elapsed().as_micros() as u64,
            }),
        );
    }
    if !internal {
        gateway.inner.stats.add_bytes(0, reply.body.len());
    }
    // Issued after the request's commands completed (module docs of `sync_token`).
    reply.into_response(gateway.inner.sync.issue_header())
}

enum BodyError {
    /// Over the limit; `drained` when the rest of the body was read (and discarded) to its end.
    TooLarge {
        drained: bool,
    },
    Read(String),
}

/// The whole body when it is at most `limit` bytes. A larger one is read on and discarded
/// until its end, `drain_to` bytes in all or [`DRAIN_TIMEOUT`], whichever comes first.
async fn read_body(
    mut body: Body,
    limit: usize,
    hint: usize,
    drain_to: u64,
) -> Result<Bytes, BodyError> {
    let mut buf = Vec::with_capacity(hint.min(limit));
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen += data.len() as u64;
        if buf.len() + data.len() > limit {
            drop(buf);
            let drained = tokio::time::timeout(DRAIN_TIMEOUT, drain(&mut body, seen, drain_to))
                .await
                .unwrap_or(false);
            return Err(BodyError::TooLarge { drained });
        }
        buf.extend_from_slice(&data);
    }
    Ok(Bytes::from(buf))
}

/// Reads and discards the rest of `body`; true when it ended within `drain_to` bytes in all
/// (`seen` already read) without an error.
async fn drain(body: &mut Body, mut seen: u64, drain_to: u64) -> bool {
    while seen <= drain_to {
        match body.frame().await {
            None => return true,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    seen += data.len() as u64;
                }
            }
            Some(Err(_)) => return false,
        }
    }
    false
}

async fn process(gateway: &Gateway, request: Request) -> Reply {
    let (parts, body) = request.into_parts();
    let method = parts.method;
    if !matches!(
        method,
        Method::GET | Method::HEAD | Method::POST | Method::PUT
    ) {
        return Reply::method_not_allowed("GET, HEAD, POST, PUT");
    }
    let query = parts.uri.query();
    let Ok(access) = gateway.inner.tokens.authorize(&parts.headers, query) else {
        return Reply::error(StatusCode::UNAUTHORIZED, UNAUTHORIZED_MESSAGE);
    };
    let path = parts.uri.path();
    if let Some(endpoint) = path.strip_prefix(INTERNAL_PREFIX) {
        return internal(gateway, &method, endpoint, access);
    }
    let limit = gateway.inner.config.max_request_bytes;
    let too_large = |drained: bool| {
        let mut reply = Reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("ERR max request size exceeded: limit is {limit} bytes"),
        );
        reply.close = !drained;
        reply
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let drain_to = drain_limit(limit);
    if let Some(n) = declared.filter(|&n| n > limit as u64) {
        // Waiting for `100 Continue`: the client sends nothing unless asked, so answer now.
        let expects_continue = parts
            .headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if expects_continue || n > drain_to {
            return too_large(false);
        }
    }
    let hint = declared.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let body = match read_body(body, limit, hint, drain_to).await {
        Ok(body) => {
            // Internal endpoints returned above; the URL counts too (path commands).
            let url = path.len() + query.map_or(0, |q| q.len() + 1);
            gateway.inner.stats.add_bytes(body.len() + url, 0);
            body
        }
        Err(BodyError::TooLarge { drained }) => return too_large(drained),
        Err(BodyError::Read(e)) => {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                &format!("ERR cannot read request body: {e}"),
            )
        }
    };
    let encoding = Encoding::from_header(parts.headers.get(ENCODING_HEADER).map(|v| v.as_bytes()));
    let batch = matches!(
        path,
        "/pipeline" | "/pipeline/" | "/multi-exec" | "/multi-exec/"
    );
    if batch && !matches!(method, Method::POST | Method::PUT) {
        return Reply::method_not_allowed("POST, PUT");
    }
    match path {
        "" | "/" => match protocol::parse_json_command(&body) {
            Ok(command) => single(gateway, command, access, encoding).await,
            Err(ParseError(e)) => Reply::error(StatusCode::BAD_REQUEST, &e),
        },
        "/pipeline" | "/pipeline/" => pipeline(gateway, &body, access, encoding).await,
        "/multi-exec" | "/multi-exec/" => multi_exec(gateway, &body, access, encoding).await,
        _ => match protocol::parse_path_command(path, query, body) {
            Ok(command) => single(gateway, command, access, encoding).await,
            Err(ParseError(e)) => Reply::error(StatusCode::BAD_REQUEST, &e),
        },
    }
}

/// Why `command` may not run for `access`, if it may not.
fn check(command: &Command, access: Access) -> Option<String> {
    if let Some(refusal) = commands::refusal(command) {
        return Some(refusal);
    }
    if access == Access::ReadOnly && !commands::is_read_only(command) {
        return Some(commands::noperm(command));
    }
    None
}

async fn single(gateway: &Gateway, command: Command, access: Access, encoding: Encoding) -> Reply {
    if let Some(error) = check(&command, access) {
        return Reply::error(StatusCode::BAD_REQUEST, &error).with_commands(0, Some(&command));
    }
    gateway.inner.stats.add_commands(1);
    let reply = match gateway.inner.pool.query(&command).await {
        Ok(value) => {
            let status = if value.is_error() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            Reply::json(status, envelope_body(&Envelope::Reply(&value, encoding)))
        }
        Err(e) => Reply::redis_failure(&e),
    };
    reply.with_commands(1, Some(&command))
}

async fn pipeline(gateway: &Gateway, body: &Bytes, access: Access, encoding: Encoding) -> Reply {
    let parsed = match protocol::parse_json_commands(body) {
        Ok(parsed) => parsed,
        Err(ParseError(e)) => return Reply::error(StatusCode::BAD_REQUEST, &e),
    };
    if parsed.is_empty() {
        return Reply::error(StatusCode::BAD_REQUEST, "ERR empty pipeline");
    }
    // Each slot is the index of its command in `runnable`, or the error it gets without running.
    let mut slots: Vec<Result<usize, String>> = Vec::with_capacity(parsed.len());
    let mut runnable: Vec<Command> = Vec::with_capacity(parsed.len());
    for entry in parsed {
        match entry {
            Err(ParseError(e)) => slots.push(Err(e)),
            Ok(command) => match check(&command, access) {
                Some(error) => slots.push(Err(error)),
                None => {
                    slots.push(Ok(runnable.len()));
                    runnable.push(command);
                }
            },
        }
    }
    gateway.inner.stats.add_commands(runnable.len());
    let replies = match gateway.inner.pool.run(&runnable).await {
        Ok(replies) => replies,
        Err(e) => return Reply::redis_failure(&e).with_commands(runnable.len(), runnable.first()),
    };
    let envelopes: Vec<Envelope<'_>> = slots
        .iter()
        .map(|slot| match slot {
            Ok(i) => match replies.get(*i) {
                Some(value) => Envelope::Reply(value, encoding),
                None => Envelope::Error("ERR missing reply from redis"),
            },
            Err(error) => Envelope::Error(error),
        })
        .collect();
    Reply::json(StatusCode::OK, envelopes_body(&envelopes))
        .with_commands(runnable.len(), runnable.first())
}

async fn multi_exec(gateway: &Gateway, body: &Bytes, access: Access, encoding: Encoding) -> Reply {
    let parsed = match protocol::parse_json_commands(body) {
        Ok(parsed) => parsed,
        Err(ParseError(e)) => return Reply::error(StatusCode::BAD_REQUEST, &e),
    };
    if parsed.is_empty() {
        return Reply::error(StatusCode::BAD_REQUEST, "ERR empty transaction");
    }
    let mut transaction: Vec<Command> = Vec::with_capacity(parsed.len());
    for entry in parsed {
        let command = match entry {
            Ok(command) => command,
            Err(ParseError(e)) => {
                return Reply::error(
                    StatusCode::BAD_REQUEST,
                    &format!("EXECABORT Transaction discarded: {e}"),
                )
            }
        };
        if let Some(error) = check(&command, access) {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                &format!("EXECABORT Transaction discarded: {error}"),
            )
            .with_commands(0, Some(&command));
        }
        transaction.push(command);
    }
    gateway.inner.stats.add_commands(transaction.len());
    let reply = match gateway.inner.pool.transaction(&transaction).await {
        Ok(Transaction::Executed(replies)) => {
            let envelopes: Vec<Envelope<'_>> = replies
                .iter()
                .map(|v| Envelope::Reply(v, encoding))
                .collect();
            Reply::json(StatusCode::OK, envelopes_body(&envelopes))
        }
        Ok(Transaction::Discarded(error)) => Reply::error(StatusCode::BAD_REQUEST, &error),
        Err(e) => Reply::redis_failure(&e),
    };
    reply.with_commands(transaction.len(), transaction.first())
}

fn stats_body(snapshot: StatsSnapshot) -> Vec<u8> {
    serde_json::to_vec(&snapshot).unwrap_or_default()
}

fn internal(gateway: &Gateway, method: &Method, endpoint: &str, access: Access) -> Reply {
    let stats = &gateway.inner.stats;
    match endpoint.trim_end_matches('/') {
        "stats" => match *method {
            Method::GET | Method::HEAD => Reply::json(StatusCode::OK, stats_body(stats.snapshot())),
            _ => Reply::method_not_allowed("GET, HEAD"),
        },
        "stats/reset" => match *method {
            Method::POST | Method::PUT if access == Access::Full => {
                Reply::json(StatusCode::OK, stats_body(stats.reset()))
            }
            Method::POST | Method::PUT => Reply::error(
                StatusCode::BAD_REQUEST,
                "NOPERM this user has no permissions to reset the gateway stats",
            ),
            _ => Reply::method_not_allowed("POST, PUT"),
        },
        other => Reply::error(
            StatusCode::NOT_FOUND,
            &format!("ERR unknown gateway endpoint {INTERNAL_PREFIX}{other}"),
        ),
    }
}
