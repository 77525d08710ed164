//! Fetching exchangeInfo from Binance: base fallback, the API-key retry, and a typed
//! reason for every failure (which decides retries, back-off and metrics).

use crate::market::Market;
use crate::ports::{Clock, Http, HttpError, HttpRequest, HttpResponse};

/// Why an upstream attempt failed. Also the `reason` label of the failure metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// 429: rate limited.
    RateLimited,
    /// 418: IP banned.
    Banned,
    /// 451: restricted location.
    Restricted,
    /// 403: WAF block.
    Forbidden,
    /// Any 5xx.
    ServerError,
    /// Another unexpected status (4xx).
    Status,
    /// The deadline passed.
    Timeout,
    /// Could not connect.
    Network,
    /// Not exchangeInfo JSON (malformed or truncated).
    Malformed,
    /// Parsed, but refused by validation (empty, shrunken).
    Rejected,
}

impl FailureReason {
    /// Every reason (for metrics listing).
    pub const ALL: [FailureReason; 10] = [
        FailureReason::RateLimited,
        FailureReason::Banned,
        FailureReason::Restricted,
        FailureReason::Forbidden,
        FailureReason::ServerError,
        FailureReason::Status,
        FailureReason::Timeout,
        FailureReason::Network,
        FailureReason::Malformed,
        FailureReason::Rejected,
    ];

    /// Metric label / key suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::RateLimited => "429",
            FailureReason::Banned => "418",
            FailureReason::Restricted => "451",
            FailureReason::Forbidden => "403",
            FailureReason::ServerError => "5xx",
            FailureReason::Status => "4xx",
            FailureReason::Timeout => "timeout",
            FailureReason::Network => "network",
            FailureReason::Malformed => "malformed",
            FailureReason::Rejected => "rejected",
        }
    }

    fn from_status(status: u16) -> Self {
        match status {
            429 => FailureReason::RateLimited,
            418 => FailureReason::Banned,
            451 => FailureReason::Restricted,
            403 => FailureReason::Forbidden,
            500..=599 => FailureReason::ServerError,
            _ => FailureReason::Status,
        }
    }
}

/// A failed fetch: the last attempt's reason, and a back-off when Binance asked for one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("upstream {reason}: {detail}", reason = reason.as_str())]
pub struct FetchError {
    /// Why the last attempt failed.
    pub reason: FailureReason,
    /// Log-safe detail (status, base URL, short message).
    pub detail: String,
    /// From `Retry-After` on 429/418: do not call again for this long.
    pub retry_after_secs: Option<u64>,
    /// HTTP status of the last attempt, if any.
    pub status: Option<u16>,
}

/// A successful fetch.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The base URL that answered.
    pub base: String,
    /// The body.
    pub body: Vec<u8>,
    /// `X-MBX-USED-WEIGHT-1M`, if sent.
    pub used_weight: Option<String>,
    /// Attempts made (for logs).
    pub attempts: u32,
}

/// Where and how to fetch.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    /// Base URLs tried in order.
    pub bases: Vec<String>,
    /// Sent as `X-MBX-APIKEY` on the first attempt when set.
    pub api_key: Option<String>,
    /// Per-attempt deadline.
    pub timeout_ms: u64,
    /// One deadline across all attempts of a fetch (each attempt gets what is left, at
    /// most `timeout_ms`): bases x (key, public) can never add up past it.
    pub deadline_ms: u64,
}

/// An attempt with less time than this left is not started.
const MIN_ATTEMPT_MS: u64 = 250;

/// Default Retry-After when 429/418 come without a usable header.
pub const DEFAULT_BACKOFF_SECS: u64 = 60;

/// Fetches `market`'s exchangeInfo: each base in order; with an API key, the first
/// attempt sends it and a failure retries the same base without it. 429/418 stop at
/// once (the limit is per IP: another base would only deepen the ban).
///
/// # Errors
/// The last attempt's [`FetchError`].
pub async fn fetch(
    http: &impl Http,
    clock: &impl Clock,
    cfg: &UpstreamConfig,
    market: Market,
) -> Result<Fetched, FetchError> {
    let mut last = FetchError {
        reason: FailureReason::Network,
        detail: "no upstream base configured".into(),
        retry_after_secs: None,
        status: None,
    };
    let mut attempts = 0;
    let deadline = clock.now_ms() + cfg.deadline_ms;
    for base in &cfg.bases {
        let base = base.trim_end_matches('/');
        let url = format!("{base}{}", market.exchange_info_path());
        let keyed = cfg
            .api_key
            .as_ref()
            .map(|k| vec![("X-MBX-APIKEY".to_string(), k.clone())]);
        let plans = keyed.into_iter().chain(std::iter::once(Vec::new()));
        for headers in plans {
            let left = deadline.saturating_sub(clock.now_ms());
            if left < MIN_ATTEMPT_MS {
                if attempts == 0 {
                    last.detail = "no time left for an attempt".into();
                }
                last.detail = format!(
                    "{} (refresh deadline of {} ms reached)",
                    last.detail, cfg.deadline_ms
                );
                return Err(last);
            }
            attempts += 1;
            let timeout_ms = cfg.timeout_ms.min(left);
            let req = HttpRequest {
                url: url.clone(),
                headers,
                timeout_ms,
            };
            let started = clock.now_ms();
            let mut res = http.get(req).await;
            // Some platforms (fetch + AbortController) report the deadline as a plain
            // network error: an error at the deadline is a timeout.
            if matches!(res, Err(HttpError::Network(_)))
                && clock.now_ms().saturating_sub(started) + 50 >= timeout_ms
            {
                res = Err(HttpError::Timeout);
            }
            match classify(res, base) {
                Ok((body, used_weight)) => {
                    return Ok(Fetched {
                        base: base.to_string(),
                        body,
                        used_weight,
                        attempts,
                    })
                }
                Err(e) => {
                    let stop =
                        matches!(e.reason, FailureReason::RateLimited | FailureReason::Banned);
                    last = e;
                    if stop {
                        return Err(last);
                    }
                }
            }
        }
    }
    Err(last)
}

fn classify(
    res: Result<HttpResponse, HttpError>,
    base: &str,
) -> Result<(Vec<u8>, Option<String>), FetchError> {
    let resp = res.map_err(|e| FetchError {
        reason: match e {
            HttpError::Timeout => FailureReason::Timeout,
            HttpError::Network(_) => FailureReason::Network,
        },
        detail: format!("{base}: {e}"),
        retry_after_secs: None,
        status: None,
    })?;
    if resp.status == 200 {
        return Ok((resp.body, resp.used_weight));
    }
    let reason = FailureReason::from_status(resp.status);
    let retry_after_secs = match reason {
        FailureReason::RateLimited | FailureReason::Banned => Some(
            resp.retry_after
                .as_deref()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(DEFAULT_BACKOFF_SECS),
        ),
        _ => None,
    };
    Err(FetchError {
        reason,
        detail: format!("{base}: HTTP {}{}", resp.status, binance_msg(&resp.body)),
        retry_after_secs,
        status: Some(resp.status),
    })
}

/// Binance's `{"code":..,"msg":..}` error text, shortened, for logs.
fn binance_msg(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct E {
        code: Option<i64>,
        msg: Option<String>,
    }
    match serde_json::from_slice::<E>(body) {
        Ok(E {
            code,
            msg: Some(msg),
        }) => {
            let msg: String = msg.chars().take(160).collect();
            format!(" (code {}: {msg})", code.unwrap_or(0))
        }
        _ => String::new(),
    }
}

/// [`Http`] over reqwest, for native adapters (the CLI; feature `reqwest`). The Worker brings
/// its own over workerd's `fetch`, so its bundle links no HTTP client library.
#[cfg(feature = "reqwest")]
#[derive(Clone, Default)]
pub struct ReqwestHttp {
    client: reqwest::Client,
}

#[cfg(feature = "reqwest")]
impl ReqwestHttp {
    /// A new client.
    pub fn new() -> Self {
        Self::default()
    }
}

#[cfg(feature = "reqwest")]
impl Http for ReqwestHttp {
    async fn get(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut rb = self
            .client
            .get(&req.url)
            .timeout(std::time::Duration::from_millis(req.timeout_ms));
        for (k, v) in &req.headers {
            rb = rb.header(k, v);
        }
        let resp = rb.send().await.map_err(http_error)?;
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let status = resp.status().as_u16();
        let retry_after = header("retry-after");
        let used_weight = header("x-mbx-used-weight-1m");
        let body = resp.bytes().await.map_err(http_error)?.to_vec();
        Ok(HttpResponse {
            status,
            retry_after,
            used_weight,
            body,
        })
    }

    async fn post_json(&self, req: HttpRequest, body: Vec<u8>) -> Result<u16, HttpError> {
        let mut rb = self
            .client
            .post(&req.url)
            .timeout(std::time::Duration::from_millis(req.timeout_ms))
            .header("content-type", "application/json");
        for (k, v) in &req.headers {
            rb = rb.header(k, v);
        }
        let resp = rb.body(body).send().await.map_err(http_error)?;
        let status = resp.status().as_u16();
        // Read (and drop) the body so the connection is released, within the same deadline.
        let _ = resp.bytes().await;
        Ok(status)
    }
}

/// A reqwest failure as an [`HttpError`], without the URL (it may hold a secret).
#[cfg(feature = "reqwest")]
fn http_error(e: reqwest::Error) -> HttpError {
    let timed_out = e.is_timeout();
    // The cause chain says what actually failed (refused, DNS, TLS); the top-level
    // text alone is only "error sending request".
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        msg.push_str(": ");
        msg.push_str(&cause.to_string());
        source = cause.source();
    }
    // On wasm32 the deadline is an AbortController: the error is a JS AbortError
    // that reqwest does not flag as a timeout. Nothing else aborts our fetches.
    let lower = msg.to_ascii_lowercase();
    if timed_out || lower.contains("abort") || lower.contains("timed out") {
        HttpError::Timeout
    } else {
        HttpError::Network(msg.chars().take(200).collect())
    }
}
