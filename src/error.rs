//! The one place errors become HTTP responses: JSON `{"error": ..}` bodies, never a
//! secret or a stack trace.

use symbols_core::request::RouteError;
use symbols_core::rules_flow::SelectError;
use symbols_core::service::Unavailable;
use symbols_core::upstream::FailureReason;
use symbols_core::Market;

/// `Retry-After` when Redis could not answer: outages of a REST endpoint are short, and a
/// client asking again sooner only adds load while it is down.
const RETRY_AFTER_REDIS_SECS: u64 = 5;

/// `Retry-After` when another refresh holds the lock: one fetch and store takes a second or two.
const RETRY_AFTER_BUSY_SECS: u64 = 2;

/// Everything a request can fail with.
#[derive(Debug)]
pub enum AppError {
    /// Routing failed (404, 405, 400, 414).
    Route(RouteError),
    /// Nothing to serve (503).
    Unavailable(Unavailable),
    /// The symbol is not in the list (404).
    UnknownSymbol { market: Market, symbol: String },
    /// Missing or wrong admin token (401).
    Unauthorized,
    /// Settings unusable (500, names the variables).
    Setup(String),
    /// Stored data corrupt beyond the shape check (502: repaired by the next refresh).
    Corrupt(String),
    /// Redis could not answer a read that has no fallback (503; the changes feed).
    Redis(String),
    /// A `?fields=` list cannot be made (400 unknown field, 503 records not stored).
    Select(SelectError),
    /// The metrics need Redis, which did not answer (503).
    Metrics(String),
    /// An admin refresh fetched and validated a list that Redis did not store (503).
    RefreshNotStored { market: Market, error: String },
    /// An admin refresh found another one holding the lock (409).
    RefreshBusy(Market),
    /// An admin refresh failed upstream or in validation (502; Retry-After on a back-off).
    RefreshFailed {
        market: Market,
        reason: FailureReason,
        detail: String,
        retry_after_secs: Option<u64>,
    },
    /// An admin refresh could not reach Redis (503).
    RefreshStoreDown { market: Market, error: String },
}

impl AppError {
    /// Status, extra headers, and the JSON body.
    pub fn parts(&self) -> (u16, Vec<(&'static str, String)>, serde_json::Value) {
        use serde_json::json;
        match self {
            AppError::Route(e) => {
                let (status, headers) = match e {
                    RouteError::NotFound(_) | RouteError::UnknownMarket(_) => (404, vec![]),
                    RouteError::MethodNotAllowed { allow, .. } => {
                        (405, vec![("Allow", allow.to_string())])
                    }
                    RouteError::BadRequest(_) => (400, vec![]),
                    RouteError::UriTooLong => (414, vec![]),
                };
                (status, headers, json!({"error": e.to_string()}))
            }
            AppError::Unavailable(u) => (
                503,
                vec![("Retry-After", u.retry_after_secs.to_string())],
                json!({"error": u.to_string(), "market": u.market.as_str()}),
            ),
            AppError::UnknownSymbol { market, symbol } => (
                404,
                vec![],
                json!({"error": format!("unknown symbol {symbol:?} in {market}"), "market": market.as_str(), "symbol": symbol}),
            ),
            AppError::Unauthorized => (
                401,
                vec![("WWW-Authenticate", "Bearer".to_string())],
                json!({"error": "missing or invalid admin token"}),
            ),
            AppError::Setup(msg) => (
                500,
                vec![],
                json!({"error": format!("configuration error: {msg}")}),
            ),
            AppError::Corrupt(msg) => (
                502,
                vec![],
                json!({"error": format!("stored list unreadable: {msg}")}),
            ),
            AppError::Redis(msg) => (
                503,
                vec![("Retry-After", RETRY_AFTER_REDIS_SECS.to_string())],
                json!({"error": format!("the changes feed needs Redis: {msg}")}),
            ),
            AppError::Select(e) => match e.retry_after_secs() {
                Some(secs) => (
                    503,
                    vec![("Retry-After", secs.to_string())],
                    json!({"error": e.to_string(), "market": e.market().as_str()}),
                ),
                None => (
                    400,
                    vec![],
                    json!({"error": e.to_string(), "market": e.market().as_str()}),
                ),
            },
            // Worded as the service's own 503 (`Unavailable`) for the spot market, as before.
            AppError::Metrics(msg) => (
                503,
                vec![("Retry-After", RETRY_AFTER_REDIS_SECS.to_string())],
                json!({"error": format!("no spot symbol list available: metrics need Redis: {msg}"), "market": "spot"}),
            ),
            AppError::RefreshNotStored { market, error } => (
                503,
                vec![("Retry-After", RETRY_AFTER_REDIS_SECS.to_string())],
                json!({"market": market.as_str(), "ok": false, "error": format!("fetched and validated, but Redis did not store it: {error}")}),
            ),
            AppError::RefreshBusy(market) => (
                409,
                vec![("Retry-After", RETRY_AFTER_BUSY_SECS.to_string())],
                json!({"market": market.as_str(), "ok": false, "error": "a refresh is already in progress"}),
            ),
            AppError::RefreshFailed {
                market,
                reason,
                detail,
                retry_after_secs,
            } => (
                502,
                retry_after_secs
                    .map(|s| ("Retry-After", s.to_string()))
                    .into_iter()
                    .collect(),
                json!({"market": market.as_str(), "ok": false, "reason": reason.as_str(), "error": detail}),
            ),
            AppError::RefreshStoreDown { market, error } => (
                503,
                vec![("Retry-After", RETRY_AFTER_REDIS_SECS.to_string())],
                json!({"market": market.as_str(), "ok": false, "error": format!("redis unreachable: {error}")}),
            ),
        }
    }
}
