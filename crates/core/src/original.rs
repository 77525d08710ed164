//! The original Python system's list value (`cache:symbols:<m>:v1` and `:last_good`): what
//! it stores, built from the same fetch as our document, and read back as a fallback.
//!
//! The value is a JSON array of Binance symbol objects exactly as exchangeInfo sent them
//! (every field), only `quoteAsset == "USDT"`, in the original's order: symbols whose
//! `baseAsset` is in the market's priority list first, in that list's order, then every
//! other USDT symbol by `symbol`. Ties (futures: `BTCUSDT` and `BTCUSDT_251226` share a
//! base) are broken by `symbol` too, so the order is total. Every `status` is kept.
//!
//! We copy each object's bytes from the payload instead of re-serialising it, so the value
//! is JSON-equal to the original's `json.dumps` of the same objects (bytes may differ).

use crate::exchange_info::{self, Parsed, ProcessError};
use crate::market::Market;
use crate::symbols::{content_version, Symbol};

/// The `upstream` of a list projected from the original's value (it does not record the
/// base URL it fetched from).
pub const UPSTREAM: &str = "original_last_good";

/// The only quote asset the original keeps.
pub const QUOTE: &str = "USDT";

/// The original's priority bases per market, in order.
pub fn priority(market: Market) -> &'static [&'static str] {
    match market {
        Market::Spot => &[
            "BTC", "ETH", "BNB", "SOL", "ADA", "AVAX", "DOT", "MATIC", "LINK", "UNI",
        ],
        Market::Futures => &["BTC", "ETH", "BNB", "SOL", "ADA", "AVAX", "DOT", "MATIC"],
    }
}

/// The original's list, built from a parsed payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalList {
    /// The JSON array, ready to store.
    pub bytes: Vec<u8>,
    /// Symbols in it.
    pub count: usize,
    /// Content hash of `bytes` (16 hex digits): an unchanged list has the same one.
    pub version: String,
}

/// Selects, orders and joins the raw USDT objects of `parsed`.
pub fn build(market: Market, parsed: &Parsed<'_>) -> OriginalList {
    let prio = priority(market);
    let rank = |s: &Symbol| {
        prio.iter()
            .position(|b| *b == s.base_asset)
            .unwrap_or(prio.len())
    };
    // A binary insertion sort: a few hundred USDT symbols, and no generic sort to carry in
    // the Worker's bundle (std's stable sort is ~9 KB of wasm).
    let key = |i: usize| (rank(&parsed.symbols[i]), parsed.symbols[i].symbol.as_str());
    let mut kept: Vec<usize> = Vec::new();
    for i in (0..parsed.symbols.len()).filter(|&i| parsed.symbols[i].quote_asset == QUOTE) {
        let at = kept.partition_point(|&j| key(j) <= key(i));
        kept.insert(at, i);
    }
    let size =
        2 + kept.len().saturating_sub(1) + kept.iter().map(|&i| parsed.raw[i].len()).sum::<usize>();
    let mut bytes = Vec::with_capacity(size);
    bytes.push(b'[');
    for (n, &i) in kept.iter().enumerate() {
        if n > 0 {
            bytes.push(b',');
        }
        bytes.extend_from_slice(&parsed.raw[i]);
    }
    bytes.push(b']');
    let version = content_version(&bytes);
    OriginalList {
        bytes,
        count: kept.len(),
        version,
    }
}

/// Reads a value the original stored: a JSON array of symbol objects, projected to our
/// [`Symbol`]s (in the stored order).
///
/// # Errors
/// [`ProcessError::Parse`] when it is not such an array.
pub fn parse(market: Market, bytes: &[u8]) -> Result<Vec<Symbol>, ProcessError> {
    exchange_info::parse_array(market, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &str = r#"{"symbols":[
      {"symbol":"ZECUSDT","status":"TRADING","baseAsset":"ZEC","quoteAsset":"USDT","filters":[],"x":1.5e-8},
      {"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","quoteAsset":"BTC","filters":[]},
      {"symbol":"ETHUSDT","status":"BREAK","baseAsset":"ETH","quoteAsset":"USDT","filters":[{"filterType":"PRICE_FILTER","tickSize":"0.01"}]},
      {"symbol":"AAVEUSDT","status":"TRADING","baseAsset":"AAVE","quoteAsset":"USDT","filters":[]},
      {"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[],"permissionSets":[["SPOT"]]}]}"#;

    #[test]
    fn keeps_usdt_only_in_priority_then_name_order_with_every_field() {
        let parsed = exchange_info::parse_with_raw(Market::Spot, PAYLOAD.as_bytes()).unwrap();
        let list = build(Market::Spot, &parsed);
        let v: serde_json::Value = serde_json::from_slice(&list.bytes).unwrap();
        let names: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["symbol"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["BTCUSDT", "ETHUSDT", "AAVEUSDT", "ZECUSDT"]);
        assert_eq!(list.count, 4);
        assert_eq!(v[0]["permissionSets"], serde_json::json!([["SPOT"]]));
        assert_eq!(v[3]["x"], serde_json::json!(1.5e-8));
        assert_eq!(v[1]["status"], "BREAK", "every status is kept");
        let back = parse(Market::Spot, &list.bytes).unwrap();
        assert_eq!(
            back.iter().map(|s| s.symbol.as_str()).collect::<Vec<_>>(),
            names
        );
        assert_eq!(back[1].tick_size.as_deref(), Some("0.01"));
    }

    #[test]
    fn the_version_follows_any_field() {
        let a = build(
            Market::Spot,
            &exchange_info::parse_with_raw(Market::Spot, PAYLOAD.as_bytes()).unwrap(),
        );
        let changed = PAYLOAD.replace("1.5e-8", "2.5e-8");
        let b = build(
            Market::Spot,
            &exchange_info::parse_with_raw(Market::Spot, changed.as_bytes()).unwrap(),
        );
        assert_ne!(
            a.version, b.version,
            "a field we do not project still changes the original's list"
        );
        let again = build(
            Market::Spot,
            &exchange_info::parse_with_raw(Market::Spot, PAYLOAD.as_bytes()).unwrap(),
        );
        assert_eq!(a, again);
    }

    #[test]
    fn serde_fallback_shapes_give_json_equal_objects() {
        // An escaped key makes the scanner step aside (serde_json decides).
        let odd = r#"{"symbols":[{"symbol":"BTCUSDT","st\u0061tus":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[],"n":[1,{"a":null}]}]}"#;
        assert!(exchange_info::parse_fast_path(Market::Spot, odd.as_bytes()).is_none());
        let parsed = exchange_info::parse_with_raw(Market::Spot, odd.as_bytes()).unwrap();
        let list = build(Market::Spot, &parsed);
        let v: serde_json::Value = serde_json::from_slice(&list.bytes).unwrap();
        let want: serde_json::Value = serde_json::from_str(odd).unwrap();
        assert_eq!(v, want["symbols"]);
    }

    #[test]
    fn what_pythons_json_dumps_writes_is_read() {
        // `json.dumps` defaults: `", "` and `": "` separators, non-ASCII as `\uXXXX`.
        let dumped = r#"[{"symbol": "\u5e01\u5b89USDT", "status": "TRADING", "baseAsset": "\u5e01\u5b89", "quoteAsset": "USDT", "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.0001"}], "contractType": "PERPETUAL", "deliveryDate": 4133404800000, "onboardDate": 1760000000000, "marginAsset": "USDT"}]"#;
        let symbols = parse(Market::Futures, dumped.as_bytes()).unwrap();
        assert_eq!(symbols[0].symbol, "币安USDT");
        assert_eq!(symbols[0].tick_size.as_deref(), Some("0.0001"));
        assert_eq!(symbols[0].delivery_date, Some(4_133_404_800_000));
    }

    #[test]
    fn not_an_array_is_an_error() {
        assert!(parse(Market::Spot, br#"{"market":"spot"}"#).is_err());
        assert!(parse(Market::Spot, b"[{\"symbol\":").is_err());
        assert_eq!(parse(Market::Spot, b"[]").unwrap(), vec![]);
    }
}
