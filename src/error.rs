//! The one place errors become HTTP responses: JSON `{"error": ..}` bodies, never a
//! secret or a stack trace.

use symbols_core::request::RouteError;
use symbols_core::rules_flow::SelectError;
use symbols_core::service::{Refresh, Unavailable};
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
    /// An admin refresh that stored nothing: 503 (not stored, Redis down), 409 (another
    /// holds the lock), 502 (upstream or validation; Retry-After on a back-off).
    Refresh(Market, Box<Refresh>),
}

impl AppError {
    /// Status, extra headers, and the JSON body.
    pub fn parts(&self) -> Parts {
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
                retry_after(u.retry_after_secs),
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
                retry_after(RETRY_AFTER_REDIS_SECS),
                json!({"error": format!("the changes feed needs Redis: {msg}")}),
            ),
            AppError::Select(e) => match e.retry_after_secs() {
                Some(secs) => (
                    503,
                    retry_after(secs),
                    json!({"error": e.to_string(), "market": e.market().as_str()}),
                ),
                None => (
                    400,
                    vec![],
                    json!({"error": e.to_string(), "market": e.market().as_str()}),
                ),
            },
            // Answered as the service's own 503 for the spot market, as it always was.
            AppError::Metrics(msg) => AppError::Unavailable(Unavailable {
                market: Market::Spot,
                retry_after_secs: RETRY_AFTER_REDIS_SECS,
                reason: format!("metrics need Redis: {msg}"),
            })
            .parts(),
            AppError::Refresh(market, outcome) => {
                let (status, retry, reason, error) = match &**outcome {
                    Refresh::NotStored { error, .. } => (
                        503,
                        Some(RETRY_AFTER_REDIS_SECS),
                        None,
                        format!("fetched and validated, but Redis did not store it: {error}"),
                    ),
                    Refresh::Busy { .. } => (
                        409,
                        Some(RETRY_AFTER_BUSY_SECS),
                        None,
                        "a refresh is already in progress".into(),
                    ),
                    Refresh::Failed {
                        reason,
                        detail,
                        retry_after_secs,
                        ..
                    } => (
                        502,
                        *retry_after_secs,
                        Some(reason.as_str()),
                        detail.clone(),
                    ),
                    Refresh::StoreDown(e) => (
                        503,
                        Some(RETRY_AFTER_REDIS_SECS),
                        None,
                        format!("redis unreachable: {e}"),
                    ),
                    // Not an error: the route answers a stored list itself.
                    Refresh::Stored(_) | Refresh::Current(_) => (500, None, None, String::new()),
                };
                refresh_failed(*market, status, retry, reason, error)
            }
        }
    }
}

type Parts = (u16, Vec<(&'static str, String)>, serde_json::Value);

fn retry_after(secs: u64) -> Vec<(&'static str, String)> {
    vec![("Retry-After", secs.to_string())]
}

/// An admin refresh that did not store a list: `{"market", "ok": false, ["reason",] "error"}`
/// (one builder: the four outcomes' bodies differ only in these values).
fn refresh_failed(
    market: Market,
    status: u16,
    retry_after_secs: Option<u64>,
    reason: Option<&'static str>,
    error: String,
) -> Parts {
    let mut body = serde_json::Map::new();
    body.insert("market".into(), market.as_str().into());
    body.insert("ok".into(), false.into());
    if let Some(reason) = reason {
        body.insert("reason".into(), reason.into());
    }
    body.insert("error".into(), error.into());
    let headers = retry_after_secs.map(retry_after).unwrap_or_default();
    (status, headers, body.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use symbols_core::upstream::FailureReason;

    fn wire(e: AppError) -> (u16, Vec<(&'static str, String)>, String) {
        let (status, headers, body) = e.parts();
        (status, headers, body.to_string())
    }

    fn retry(s: &str) -> Vec<(&'static str, String)> {
        vec![("Retry-After", s.to_string())]
    }

    #[test]
    fn refresh_and_metrics_errors_answer_as_the_routes_did() {
        let refresh = |r| AppError::Refresh(Market::Futures, Box::new(r));
        assert_eq!(
            wire(refresh(Refresh::Busy { previous: None })),
            (
                409,
                retry("2"),
                r#"{"error":"a refresh is already in progress","market":"futures","ok":false}"#
                    .into()
            )
        );
        let failed = |retry_after_secs| {
            refresh(Refresh::Failed {
                reason: FailureReason::RateLimited,
                detail: "HTTP 429".into(),
                retry_after_secs,
                previous: None,
                status: Some(429),
            })
        };
        let body = r#"{"error":"HTTP 429","market":"futures","ok":false,"reason":"429"}"#;
        assert_eq!(wire(failed(Some(60))), (502, retry("60"), body.into()));
        assert_eq!(wire(failed(None)), (502, vec![], body.into()));
        assert_eq!(
            wire(refresh(Refresh::StoreDown("timeout".into()))),
            (
                503,
                retry("5"),
                r#"{"error":"redis unreachable: timeout","market":"futures","ok":false}"#.into()
            )
        );
        assert_eq!(
            wire(AppError::Metrics("redis unreachable: x".into())),
            (
                503,
                retry("5"),
                r#"{"error":"no spot symbol list available: metrics need Redis: redis unreachable: x","market":"spot"}"#.into()
            )
        );
    }
}
