//! [`Fault`]: one scripted misbehaviour of the fake exchange, serialised as tagged JSON.
//!
//! ```text
//! {"kind":"status","code":429,"retry_after":30}   {"kind":"delay","ms":500}
//! {"kind":"stall"}  {"kind":"malformed"}  {"kind":"truncated"}  {"kind":"empty_symbols"}
//! {"kind":"shrink","keep":10}  {"kind":"require_api_key"}
//! ```

use serde::{Deserialize, Serialize};

/// A scripted misbehaviour, applied to one exchangeInfo request (queued) or to all of them
/// (sticky). See the variant docs for the exact response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Answer with this status and the body Binance sends for it:
    /// 429 / 418 JSON `-1003`, 451 JSON code `0`, 401 JSON `-2015`, 403 a CloudFront
    /// WAF HTML page, 404 an empty body, 502 / 503 a CloudFront HTML page, other 5xx JSON
    /// `-1001`, other 4xx JSON `-1000`. A code below 400 serves the normal payload with
    /// that status. `Retry-After` is sent only when `retry_after` is set.
    Status {
        /// HTTP status code (100..=999; anything else is answered as 500).
        code: u16,
        /// Seconds for the `Retry-After` header (omitted when `None`).
        #[serde(default)]
        retry_after: Option<u32>,
    },
    /// Wait this long, then serve normally.
    Delay {
        /// Milliseconds to wait before answering.
        ms: u64,
    },
    /// Never answer (held up to an hour); released with a 503 by [`reset`] or shutdown.
    ///
    /// [`reset`]: crate::FakeExchange::reset
    Stall,
    /// 200 with a JSON content type and a body that is not valid JSON.
    Malformed,
    /// 200 with the normal body cut in the middle; `Content-Length` matches the cut body.
    Truncated,
    /// 200 with a valid exchangeInfo whose `"symbols"` is `[]`.
    EmptySymbols,
    /// 200 with only the first `keep` symbols (after any query filter).
    Shrink {
        /// Number of symbols kept.
        keep: usize,
    },
    /// 401 `{"code":-2015,...}` when the request carries `X-MBX-APIKEY`; served normally
    /// when it does not (the client's retry-without-key path).
    RequireApiKey,
}

impl Fault {
    /// The `kind` tag of this fault (`"status"`, `"delay"`, ...), used in logs.
    pub const fn kind(&self) -> &'static str {
        match self {
            Fault::Status { .. } => "status",
            Fault::Delay { .. } => "delay",
            Fault::Stall => "stall",
            Fault::Malformed => "malformed",
            Fault::Truncated => "truncated",
            Fault::EmptySymbols => "empty_symbols",
            Fault::Shrink { .. } => "shrink",
            Fault::RequireApiKey => "require_api_key",
        }
    }

    /// Shorthand for `Fault::Status { code, retry_after: None }`.
    pub const fn status(code: u16) -> Self {
        Fault::Status {
            code,
            retry_after: None,
        }
    }
}
