//! The stored and served records: one [`Symbol`], and the list document that holds them.
//!
//! # Value format (the `cache:symbols:<market>:v1` and `last_good` keys)
//! A JSON object, keys in this order:
//! `{"market":"spot","version":"<16 hex>","upstream":"<base url>","fetchedAt":"<RFC 3339>","count":N,"symbols":[...]}`.
//! Responses are the same object with `"source"` spliced in front, so a cache hit is
//! served without parsing or re-serialising the stored bytes.

use serde::{Deserialize, Serialize};

use crate::market::Market;

/// One tradable symbol, projected from exchangeInfo. Decimal filter values are the exact
/// strings Binance sent (never round-tripped through floats).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Symbol {
    /// e.g. `BTCUSDT`; non-ASCII symbols are preserved.
    pub symbol: String,
    /// e.g. `TRADING`, `BREAK`; unknown values are kept as-is.
    pub status: String,
    /// e.g. `BTC`.
    pub base_asset: String,
    /// e.g. `USDT`.
    pub quote_asset: String,
    /// `PRICE_FILTER.tickSize`.
    pub tick_size: Option<String>,
    /// `LOT_SIZE.stepSize`.
    pub step_size: Option<String>,
    /// `LOT_SIZE.minQty`.
    pub min_qty: Option<String>,
    /// `LOT_SIZE.maxQty`.
    pub max_qty: Option<String>,
    /// Spot `NOTIONAL.minNotional` (or older `MIN_NOTIONAL.minNotional`); futures `MIN_NOTIONAL.notional`.
    pub min_notional: Option<String>,
    /// Futures only: `PERPETUAL`, `CURRENT_QUARTER`, ... (may be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_type: Option<String>,
    /// Futures only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_asset: Option<String>,
    /// Futures only: unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_date: Option<i64>,
    /// Futures only: unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboard_date: Option<i64>,
}

/// Where a served list came from (the `source` field of responses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The primary cache (or the edge cache in front of it).
    Cache,
    /// Fetched from the exchange for this request.
    Upstream,
    /// The last validated list, served because the exchange failed.
    LastGood,
}

impl Source {
    /// The JSON value of `source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cache => "cache",
            Source::Upstream => "upstream",
            Source::LastGood => "last_good",
        }
    }
}

/// The header fields of a stored list document (everything but the symbols).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// `spot` / `futures`.
    pub market: String,
    /// Content hash of the symbols; the strong `ETag`.
    pub version: String,
    /// Base URL the list was fetched from.
    #[serde(default)]
    pub upstream: String,
    /// RFC 3339 UTC time of the fetch.
    pub fetched_at: String,
    /// Number of symbols.
    pub count: usize,
}

/// A whole list document as stored, parsed (used off the hot path: filters, validation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDoc {
    /// Header fields.
    #[serde(flatten)]
    pub header: Header,
    /// The symbols.
    pub symbols: Vec<Symbol>,
}

/// Stored document bytes that passed the cheap shape check in [`StoredList::from_bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredList {
    bytes: Vec<u8>,
    header: Header,
}

const SYMBOLS_MARKER: &[u8] = b",\"symbols\":[";
/// Same width as a real version (16 hex digits), so patching it in keeps every offset.
const VERSION_PLACEHOLDER: &str = "vvvvvvvvvvvvvvvv";

impl StoredList {
    /// Builds the stored document for freshly processed symbols.
    pub fn build(market: Market, upstream: &str, fetched_at: String, symbols: &[Symbol]) -> Self {
        let header = Header {
            market: market.as_str().to_string(),
            version: VERSION_PLACEHOLDER.to_string(),
            upstream: upstream.to_string(),
            fetched_at,
            count: symbols.len(),
        };
        Self::assemble(header, symbols)
    }

    /// One buffer, no intermediate copy (this runs inside the refresh's CPU budget): the
    /// header goes first with a placeholder version of the final width, the symbols are
    /// serialised after it, and the version (their hash) is patched in place.
    fn assemble(mut header: Header, symbols: &[Symbol]) -> Self {
        let mut bytes = serde_json::to_vec(&header).unwrap_or_default();
        bytes.pop(); // the closing brace; the symbols follow
        let version_at = find(&bytes, VERSION_PLACEHOLDER.as_bytes());
        bytes.extend_from_slice(b",\"symbols\":");
        let start = bytes.len();
        bytes.reserve(symbols.len() * 200 + 2);
        if serde_json::to_writer(&mut bytes, symbols).is_err() {
            bytes.truncate(start);
            bytes.extend_from_slice(b"[]");
        }
        let version = content_version(&bytes[start..]);
        if let Some(at) = version_at {
            bytes[at..at + version.len()].copy_from_slice(version.as_bytes());
        }
        bytes.push(b'}');
        header.version = version;
        Self { bytes, header }
    }

    /// Accepts stored bytes after a cheap check of their shape: a header that parses
    /// and names `market`, followed by the symbols array closing the object. It does not
    /// parse the symbols (the hit path must not), so it catches garbage and truncation,
    /// not every corruption inside the array.
    pub fn from_bytes(market: Market, bytes: Vec<u8>) -> Option<Self> {
        let at = find(&bytes, SYMBOLS_MARKER)?;
        if !bytes.ends_with(b"]}") || bytes.first() != Some(&b'{') {
            return None;
        }
        let mut head = bytes[..at].to_vec();
        head.push(b'}');
        let header: Header = serde_json::from_slice(&head).ok()?;
        if header.market != market.as_str() {
            return None;
        }
        Some(Self { bytes, header })
    }

    /// Accepts a response body made by [`StoredList::response_body`] (the edge cache keeps
    /// those, so edge hits stream them untouched), recovering the stored document.
    pub fn from_response_body(market: Market, body: &[u8]) -> Option<Self> {
        let rest = body.strip_prefix(b"{\"source\":\"")?;
        let end = rest.iter().position(|b| *b == b'"')?;
        let rest = rest[end..].strip_prefix(b"\",")?;
        let mut bytes = Vec::with_capacity(rest.len() + 1);
        bytes.push(b'{');
        bytes.extend_from_slice(rest);
        Self::from_bytes(market, bytes)
    }

    /// The strong `ETag` of this list version: `"<market>-<version>"`.
    pub fn etag(&self) -> String {
        format!("\"{}-{}\"", self.header.market, self.header.version)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The response body: the stored document with `"source"` spliced in front.
    pub fn response_body(&self, source: Source) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + 24);
        out.extend_from_slice(b"{\"source\":\"");
        out.extend_from_slice(source.as_str().as_bytes());
        out.extend_from_slice(b"\",");
        out.extend_from_slice(&self.bytes[1..]);
        out
    }

    /// Parses the symbols (for filters and single-symbol lookups).
    ///
    /// # Errors
    /// When the array inside is corrupt although the shape check passed.
    pub fn parse(&self) -> Result<ListDoc, serde_json::Error> {
        serde_json::from_slice(&self.bytes)
    }

    /// The response body with only the symbols passing `filter` (and `count` updated).
    ///
    /// # Errors
    /// When the stored symbols are corrupt.
    pub fn filtered_body(&self, source: Source, filter: &crate::request::Filter) -> Result<Vec<u8>, serde_json::Error> {
        if filter.is_empty() {
            return Ok(self.response_body(source));
        }
        let mut doc = self.parse()?;
        doc.symbols.retain(|s| filter.matches(s));
        doc.header.count = doc.symbols.len();
        let kept = StoredList::build_with_header(doc.header, &doc.symbols);
        Ok(kept.response_body(source))
    }

    /// Finds one symbol (exact match, then ASCII case-insensitive).
    ///
    /// # Errors
    /// When the stored symbols are corrupt.
    pub fn find(&self, symbol: &str) -> Result<Option<Symbol>, serde_json::Error> {
        let doc = self.parse()?;
        let exact = doc.symbols.iter().position(|s| s.symbol == symbol);
        let any = exact.or_else(|| doc.symbols.iter().position(|s| s.symbol.eq_ignore_ascii_case(symbol)));
        Ok(any.and_then(|i| doc.symbols.into_iter().nth(i)))
    }

    fn build_with_header(mut header: Header, symbols: &[Symbol]) -> Self {
        header.version = VERSION_PLACEHOLDER.to_string();
        Self::assemble(header, symbols)
    }
}

/// 64-bit FNV-1a of the symbols JSON, as 16 hex digits: changes whenever the list does.
fn content_version(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Formats unix milliseconds as RFC 3339 UTC (`2024-10-20T08:00:00Z`).
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str) -> Symbol {
        Symbol {
            symbol: name.into(),
            status: "TRADING".into(),
            base_asset: "BTC".into(),
            quote_asset: "USDT".into(),
            tick_size: Some("0.01000000".into()),
            step_size: Some("0.00001000".into()),
            min_qty: Some("0.00001000".into()),
            max_qty: Some("9000.00000000".into()),
            min_notional: Some("5.00000000".into()),
            contract_type: None,
            margin_asset: None,
            delivery_date: None,
            onboard_date: None,
        }
    }

    #[test]
    fn stored_round_trip_and_splice() {
        let list = StoredList::build(Market::Spot, "https://x", rfc3339(0), &[sym("BTCUSDT"), sym("币安人生USDT")]);
        let again = StoredList::from_bytes(Market::Spot, list.as_bytes().to_vec()).expect("valid");
        assert_eq!(again.header().count, 2);
        let body: serde_json::Value = serde_json::from_slice(&again.response_body(Source::Cache)).unwrap();
        let back = StoredList::from_response_body(Market::Spot, &again.response_body(Source::Cache)).expect("reversible");
        assert_eq!(back.as_bytes(), again.as_bytes());
        assert_eq!(back.etag(), format!("\"spot-{}\"", again.header().version));
        assert_eq!(body["source"], "cache");
        assert_eq!(body["market"], "spot");
        assert_eq!(body["count"], 2);
        assert_eq!(body["symbols"][1]["symbol"], "币安人生USDT");
        assert_eq!(body["symbols"][0]["minNotional"], "5.00000000");
        assert!(body["symbols"][0].get("contractType").is_none());
        assert_eq!(again.parse().unwrap().symbols.len(), 2);
    }

    #[test]
    fn garbage_and_truncation_are_rejected() {
        let list = StoredList::build(Market::Spot, "u", rfc3339(0), &[sym("A")]);
        let b = list.as_bytes();
        assert!(StoredList::from_bytes(Market::Spot, b[..b.len() - 3].to_vec()).is_none());
        assert!(StoredList::from_bytes(Market::Futures, b.to_vec()).is_none());
        assert!(StoredList::from_bytes(Market::Spot, b"not json".to_vec()).is_none());
        assert!(StoredList::from_bytes(Market::Spot, b"{\"symbols\":[]}".to_vec()).is_none());
        assert!(StoredList::from_bytes(Market::Spot, Vec::new()).is_none());
    }

    #[test]
    fn version_tracks_content() {
        let a = StoredList::build(Market::Spot, "u", rfc3339(0), &[sym("A")]);
        let b = StoredList::build(Market::Spot, "u", rfc3339(5000), &[sym("A")]);
        let c = StoredList::build(Market::Spot, "u", rfc3339(0), &[sym("B")]);
        assert_eq!(a.header().version, b.header().version);
        assert_ne!(a.header().version, c.header().version);
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_729_411_200_000), "2024-10-20T08:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
