//! Every trading rule of a symbol, under one name per rule across spot and futures: the
//! full record that single-symbol lookups return and `?fields=` selects from.
//!
//! A full record is the raw exchangeInfo object with its `filters` replaced:
//! - every top-level field Binance sends, in its order and with its value as sent
//!   (`orderTypes`, `permissions`, `pricePrecision`, ... and fields not invented yet);
//! - every filter value under the name [`RULES`] gives it (exact decimal strings, integers
//!   and booleans as sent; spot's and futures' spellings of one rule share a name), the
//!   five rules of our list (`tickSize`, `stepSize`, `minQty`, `maxQty`, `minNotional`)
//!   always present (`null` when Binance sends none), the others when sent;
//! - `canTrade` (status is `TRADING`) and `delistAt` (unix ms: a futures contract's
//!   `deliveryDate` when one is set, i.e. before 2100; else `null`);
//! - `otherFilters`: every filter of a type not in [`RULES`], or with a key not in it,
//!   passed through whole, so a new Binance filter is never dropped.
//!
//! So a full record holds every field of our list's record, with the same values.
//!
//! # Value format (`symbols-edge:<market>:rules` and `:rules:last_good`)
//! A Redis hash: one field per symbol (its full record, compact JSON), plus [`META`]
//! (`{"market","version","upstream","fetchedAt","count"}`) and [`ORDER`] (the symbols as a JSON
//! array, in exchangeInfo order). `version` hashes the records in order.

use crate::changes::FAR_FUTURE_MS;
use crate::exchange_info::digest::value_version;
use crate::filter::Filter;
use crate::json::raw::{self, Obj, V};
use crate::json::write::json_str;
use crate::market::Market;
use crate::symbols::{write_header_fields, Header, Source};

/// The projection's format: changed whenever [`record`]'s output would change for the
/// same payload, so stored records of an older build are rebuilt.
pub const FORMAT: &str = "r1";

/// `(filterType, key, name)`: the one table of filter values and the names they are
/// served under. A key listed here for its filter type is a known rule; anything else
/// goes to `otherFilters` whole.
pub const RULES: &[(&str, &str, &str)] = &[
    ("PRICE_FILTER", "tickSize", "tickSize"),
    ("PRICE_FILTER", "minPrice", "minPrice"),
    ("PRICE_FILTER", "maxPrice", "maxPrice"),
    ("LOT_SIZE", "stepSize", "stepSize"),
    ("LOT_SIZE", "minQty", "minQty"),
    ("LOT_SIZE", "maxQty", "maxQty"),
    ("MARKET_LOT_SIZE", "stepSize", "marketStepSize"),
    ("MARKET_LOT_SIZE", "minQty", "marketMinQty"),
    ("MARKET_LOT_SIZE", "maxQty", "marketMaxQty"),
    // Spot today: NOTIONAL; spot before 2023: MIN_NOTIONAL.minNotional; futures:
    // MIN_NOTIONAL.notional. One rule, one name.
    ("NOTIONAL", "minNotional", "minNotional"),
    ("MIN_NOTIONAL", "minNotional", "minNotional"),
    ("MIN_NOTIONAL", "notional", "minNotional"),
    ("NOTIONAL", "maxNotional", "maxNotional"),
    ("NOTIONAL", "applyMinToMarket", "applyMinToMarket"),
    ("MIN_NOTIONAL", "applyToMarket", "applyMinToMarket"),
    ("NOTIONAL", "applyMaxToMarket", "applyMaxToMarket"),
    ("NOTIONAL", "avgPriceMins", "notionalAvgPriceMins"),
    ("MIN_NOTIONAL", "avgPriceMins", "notionalAvgPriceMins"),
    ("PERCENT_PRICE", "multiplierUp", "multiplierUp"),
    ("PERCENT_PRICE", "multiplierDown", "multiplierDown"),
    ("PERCENT_PRICE", "multiplierDecimal", "multiplierDecimal"),
    ("PERCENT_PRICE", "avgPriceMins", "percentPriceAvgPriceMins"),
    (
        "PERCENT_PRICE_BY_SIDE",
        "bidMultiplierUp",
        "bidMultiplierUp",
    ),
    (
        "PERCENT_PRICE_BY_SIDE",
        "bidMultiplierDown",
        "bidMultiplierDown",
    ),
    (
        "PERCENT_PRICE_BY_SIDE",
        "askMultiplierUp",
        "askMultiplierUp",
    ),
    (
        "PERCENT_PRICE_BY_SIDE",
        "askMultiplierDown",
        "askMultiplierDown",
    ),
    (
        "PERCENT_PRICE_BY_SIDE",
        "avgPriceMins",
        "percentPriceAvgPriceMins",
    ),
    ("MAX_NUM_ORDERS", "maxNumOrders", "maxNumOrders"),
    ("MAX_NUM_ORDERS", "limit", "maxNumOrders"),
    (
        "MAX_NUM_ALGO_ORDERS",
        "maxNumAlgoOrders",
        "maxNumAlgoOrders",
    ),
    ("MAX_NUM_ALGO_ORDERS", "limit", "maxNumAlgoOrders"),
    (
        "MAX_NUM_ICEBERG_ORDERS",
        "maxNumIcebergOrders",
        "maxNumIcebergOrders",
    ),
    (
        "MAX_NUM_ORDER_LISTS",
        "maxNumOrderLists",
        "maxNumOrderLists",
    ),
    (
        "MAX_NUM_ORDER_AMENDS",
        "maxNumOrderAmends",
        "maxNumOrderAmends",
    ),
    ("ICEBERG_PARTS", "limit", "icebergParts"),
    ("MAX_POSITION", "maxPosition", "maxPosition"),
    (
        "TRAILING_DELTA",
        "minTrailingAboveDelta",
        "minTrailingAboveDelta",
    ),
    (
        "TRAILING_DELTA",
        "maxTrailingAboveDelta",
        "maxTrailingAboveDelta",
    ),
    (
        "TRAILING_DELTA",
        "minTrailingBelowDelta",
        "minTrailingBelowDelta",
    ),
    (
        "TRAILING_DELTA",
        "maxTrailingBelowDelta",
        "maxTrailingBelowDelta",
    ),
    (
        "POSITION_RISK_CONTROL",
        "positionControlSide",
        "positionControlSide",
    ),
];

/// The rules every record carries, `null` when not sent: the ones in our list's record.
pub const ALWAYS: &[&str] = &["tickSize", "stepSize", "minQty", "maxQty", "minNotional"];

/// The fields this module derives (never taken from the raw object's top level).
pub const DERIVED: &[&str] = &["canTrade", "delistAt", "otherFilters"];

/// The hash field holding the header (`{"market","version","upstream","fetchedAt","count"}`).
pub const META: &str = "@meta";
/// The hash field holding the symbols in exchangeInfo order (a JSON array).
pub const ORDER: &str = "@order";

/// The distinct rule names, in [`RULES`] order.
pub fn rule_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for (_, _, name) in RULES {
        if !names.contains(name) {
            names.push(name);
        }
    }
    names
}

/// One symbol's full record: its `symbol` and compact JSON. `None` for an object without a
/// string `symbol` or with a malformed `filters` (the scanner has validated the payload,
/// so this is an object our list left out too).
pub fn record(market: Market, raw: &[u8]) -> Option<(String, Vec<u8>)> {
    record_named(market, raw, &rule_names())
}

/// [`record`] with [`rule_names`] computed by the caller: once per set, not per symbol.
fn record_named(market: Market, raw: &[u8], names: &[&'static str]) -> Option<(String, Vec<u8>)> {
    let obj = Obj::read(raw)?;
    let symbol = obj.get("symbol").and_then(V::as_str)?.to_string();
    let mut values: Vec<Option<V<'_>>> = vec![None; names.len()];
    let mut other: Vec<&[u8]> = Vec::new();
    let filter_items = match obj.get("filters") {
        Some(V::Arr(text)) => raw::Reader { b: text, i: 0 }.items()?,
        _ => Vec::new(),
    };
    for item in &filter_items {
        let V::Obj(text) = item else {
            other.push(match item {
                V::Arr(t) => t,
                _ => continue,
            });
            continue;
        };
        let f = Obj::read(text)?;
        let kind = f.get("filterType").and_then(V::as_str).unwrap_or_default();
        let mut whole = false;
        for (key, value) in &f.0 {
            if key == "filterType" {
                continue;
            }
            match RULES.iter().find(|(t, k, _)| *t == kind && k == key) {
                Some((_, _, name)) => {
                    if let Some(at) = names.iter().position(|n| n == name) {
                        values[at] = Some(value.clone());
                    }
                }
                None => whole = true,
            }
        }
        if whole || !RULES.iter().any(|(t, _, _)| *t == kind) {
            other.push(text);
        }
    }
    let mut out = Vec::with_capacity(raw.len());
    out.push(b'{');
    let mut first = true;
    let mut field = |out: &mut Vec<u8>, name: &str| {
        if !first {
            out.push(b',');
        }
        first = false;
        json_str(out, name);
        out.push(b':');
    };
    for (key, value) in &obj.0 {
        let ours =
            key == "filters" || names.contains(&key.as_ref()) || DERIVED.contains(&key.as_ref());
        if !ours {
            field(&mut out, key);
            raw::write_value(&mut out, value);
        }
    }
    for (name, value) in names.iter().zip(&values) {
        match value {
            Some(v) => {
                field(&mut out, name);
                raw::write_value(&mut out, v);
            }
            None if ALWAYS.contains(name) => {
                field(&mut out, name);
                out.extend_from_slice(b"null");
            }
            None => {}
        }
    }
    let trading = obj.get("status").and_then(V::as_str) == Some("TRADING");
    field(&mut out, "canTrade");
    out.extend_from_slice(if trading { b"true" } else { b"false" });
    field(&mut out, "delistAt");
    match delist_at(market, &obj) {
        Some(ms) => out.extend_from_slice(ms.to_string().as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    field(&mut out, "otherFilters");
    out.push(b'[');
    for (i, f) in other.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        raw::write_value(&mut out, &V::Obj(f));
    }
    out.extend_from_slice(b"]}");
    Some((symbol, out))
}

/// When trading ends, where Binance says so: a futures contract's `deliveryDate` before
/// the far future (a quarterly's delivery, or a perpetual's scheduled delisting). Spot
/// exchangeInfo carries no such date.
fn delist_at(market: Market, obj: &Obj<'_>) -> Option<i64> {
    if market != Market::Futures {
        return None;
    }
    match obj.get("deliveryDate")? {
        V::Num(n) => n.parse::<i64>().ok().filter(|ms| *ms < FAR_FUTURE_MS),
        _ => None,
    }
}

/// Every symbol's full record, in exchangeInfo order, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesSet {
    /// `version` hashes the records in order; `count` is their number.
    pub header: Header,
    /// `(symbol, full record)` in exchangeInfo order. (A `Vec`, not a map: no hasher in
    /// the Worker's bundle; lookups by symbol are the hash's, in Redis.)
    pub records: Vec<(String, Vec<u8>)>,
}

/// A JSON array of strings.
fn json_strings<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a str>) {
    out.push(b'[');
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_str(out, s);
    }
    out.push(b']');
}

/// Whether `name` is not in `seen` (sorted) yet; inserts it.
fn first_time(seen: &mut Vec<String>, name: &str) -> bool {
    match seen.binary_search_by(|s| s.as_str().cmp(name)) {
        Ok(_) => false,
        Err(at) => {
            seen.insert(at, name.to_string());
            true
        }
    }
}

impl RulesSet {
    /// Projects every raw symbol object (payload order; a repeated symbol keeps its first
    /// record, as our list's lookups find the first).
    pub fn build(market: Market, upstream: &str, fetched_at: &str, raw: &[&[u8]]) -> Self {
        let names = rule_names();
        let mut seen = Vec::with_capacity(raw.len());
        let mut records = Vec::with_capacity(raw.len());
        let mut hashed = Vec::new();
        for r in raw {
            let Some((symbol, rec)) = record_named(market, r, &names) else {
                continue;
            };
            if !first_time(&mut seen, &symbol) {
                continue;
            }
            hashed.extend_from_slice(&rec);
            hashed.push(b'\n');
            records.push((symbol, rec));
        }
        let header = Header {
            market: market.as_str().to_string(),
            version: value_version(&hashed),
            upstream: upstream.to_string(),
            fetched_at: fetched_at.to_string(),
            count: records.len(),
        };
        Self { header, records }
    }

    /// The list's own records as a set (the fallback when the full records are not
    /// available): same header, each record as our list serves it.
    pub fn from_list(doc: &crate::symbols::ListDoc) -> Self {
        let mut seen = Vec::with_capacity(doc.symbols.len());
        let records = doc
            .symbols
            .iter()
            .filter(|s| first_time(&mut seen, &s.symbol))
            .map(|s| (s.symbol.clone(), serde_json::to_vec(s).unwrap_or_default()))
            .collect();
        Self {
            header: doc.header.clone(),
            records,
        }
    }

    /// The hash's field/value pairs ([`META`], [`ORDER`], then one per symbol).
    pub fn to_fields(&self) -> Vec<(String, Vec<u8>)> {
        // Written and read with our own JSON helpers: serde's for these shapes would be
        // new code in the Worker's bundle.
        let h = &self.header;
        let mut meta = vec![b'{'];
        write_header_fields(&mut meta, h, &h.version, h.count);
        meta.push(b'}');
        let mut order = Vec::with_capacity(self.records.len() * 16);
        json_strings(&mut order, self.records.iter().map(|(s, _)| s.as_str()));
        let mut out = Vec::with_capacity(self.records.len() + 2);
        out.push((META.to_string(), meta));
        out.push((ORDER.to_string(), order));
        out.extend(self.records.iter().cloned());
        out
    }

    /// Reads back what `HGETALL` returned. `None` when the header, the order or a record
    /// it names is missing or unreadable (a hash half gone, or none).
    pub fn from_fields(market: Market, mut fields: Vec<(String, Vec<u8>)>) -> Option<Self> {
        fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut take = |name: &str| {
            let at = fields
                .binary_search_by(|(f, _)| f.as_str().cmp(name))
                .ok()?;
            Some(std::mem::take(&mut fields[at].1)).filter(|v| !v.is_empty())
        };
        let meta = take(META)?;
        let meta = Obj::read(&meta)?;
        let order_text = take(ORDER)?;
        let order: Vec<String> = raw::Reader {
            b: &order_text,
            i: 0,
        }
        .items()?
        .into_iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<_>>()?;
        let text = |k: &str| meta.get(k)?.as_str().map(str::to_string);
        let header = Header {
            market: market.as_str().to_string(),
            version: text("version")?,
            upstream: text("upstream").unwrap_or_default(),
            fetched_at: text("fetchedAt")?,
            count: order.len(),
        };
        let mut records = Vec::with_capacity(order.len());
        for s in order {
            let rec = take(&s)?;
            records.push((s, rec));
        }
        Some(Self { header, records })
    }

    /// Every field name some record carries, in first-seen order.
    pub fn field_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (_, rec) in &self.records {
            let Some(obj) = Obj::read(rec) else {
                continue;
            };
            for (k, _) in &obj.0 {
                if !names.iter().any(|n| n == k) {
                    names.push(k.to_string());
                }
            }
        }
        names
    }

    /// The list body of `fields` (every field when `None`) for the records passing `filter`:
    /// `{"source",..header..,"count","fields":[..],"symbols":[{"symbol":..,<fields>}]}`,
    /// `null` where a record lacks a field.
    pub fn body(&self, source: Source, fields: Option<&[String]>, filter: &Filter) -> Vec<u8> {
        let pass = |obj: &Obj<'_>, key: &str, want: &Option<String>| {
            want.as_deref()
                .is_none_or(|w| obj.get(key).and_then(V::as_str) == Some(w))
        };
        let keep = |obj: &Obj<'_>| {
            pass(obj, "status", &filter.status)
                && pass(obj, "quoteAsset", &filter.quote)
                && pass(obj, "baseAsset", &filter.base)
        };
        let size = self.records.iter().map(|(_, r)| r.len() + 1).sum::<usize>();
        let mut array = Vec::with_capacity(size);
        let mut count = 0;
        for (s, rec) in &self.records {
            let Some(obj) = Obj::read(rec) else {
                continue;
            };
            if !keep(&obj) {
                continue;
            }
            if count > 0 {
                array.push(b',');
            }
            count += 1;
            match fields {
                None => array.extend_from_slice(rec),
                Some(fields) => {
                    array.extend_from_slice(b"{\"symbol\":");
                    json_str(&mut array, s);
                    for f in fields.iter().filter(|f| *f != "symbol") {
                        array.push(b',');
                        json_str(&mut array, f);
                        array.push(b':');
                        match obj.get(f) {
                            Some(v) => raw::write_value(&mut array, v),
                            None => array.extend_from_slice(b"null"),
                        }
                    }
                    array.push(b'}');
                }
            }
        }
        let h = &self.header;
        let mut out = Vec::with_capacity(array.len() + 256);
        out.extend_from_slice(source.prefix());
        write_header_fields(&mut out, h, &h.version, count);
        out.extend_from_slice(b",\"fields\":");
        match fields {
            None => out.extend_from_slice(b"\"all\""),
            Some(fields) => json_strings(&mut out, fields.iter().map(String::as_str)),
        }
        out.extend_from_slice(b",\"symbols\":[");
        out.extend_from_slice(&array);
        out.extend_from_slice(b"]}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn full(market: Market, raw: &str) -> Value {
        let (_, rec) = record(market, raw.as_bytes()).expect("a record");
        serde_json::from_slice(&rec).expect("valid JSON")
    }

    const SPOT: &str = r#"{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT",
      "orderTypes":["LIMIT", "MARKET"],"filters":[
      {"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
      {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
      {"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"107.48","stepSize":"0.00000000"},
      {"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"maxNotional":"9000000.00000000","applyMaxToMarket":false,"avgPriceMins":5},
      {"filterType":"PERCENT_PRICE_BY_SIDE","bidMultiplierUp":"5","bidMultiplierDown":"0.2","askMultiplierUp":"5","askMultiplierDown":"0.2","avgPriceMins":5},
      {"filterType":"MAX_NUM_ORDERS","maxNumOrders":200},
      {"filterType":"TRAILING_DELTA","minTrailingAboveDelta":10,"maxTrailingAboveDelta":2000,"minTrailingBelowDelta":10,"maxTrailingBelowDelta":2000},
      {"filterType":"T_PLUS_SELL","endTime":1700000000000},
      {"filterType":"ICEBERG_PARTS","limit":10,"newKey":"x"}]}"#;

    #[test]
    fn spot_rules_get_one_name_each_and_exact_values() {
        let r = full(Market::Spot, SPOT);
        assert_eq!(r["tickSize"], "0.01000000");
        assert_eq!(r["minPrice"], "0.01000000");
        assert_eq!(r["stepSize"], "0.00001000");
        assert_eq!(r["marketMaxQty"], "107.48");
        assert_eq!(r["minNotional"], "5.00000000");
        assert_eq!(r["maxNotional"], "9000000.00000000");
        assert_eq!(r["applyMinToMarket"], true);
        assert_eq!(r["applyMaxToMarket"], false);
        assert_eq!(r["notionalAvgPriceMins"], 5);
        assert_eq!(r["bidMultiplierDown"], "0.2");
        assert_eq!(r["percentPriceAvgPriceMins"], 5);
        assert_eq!(r["maxNumOrders"], 200);
        assert_eq!(r["maxTrailingBelowDelta"], 2000);
        assert_eq!(r["icebergParts"], 10);
        assert_eq!(r["canTrade"], true);
        assert_eq!(r["delistAt"], Value::Null);
        // Top-level fields pass through (whitespace gone), `filters` does not.
        assert_eq!(r["orderTypes"], json!(["LIMIT", "MARKET"]));
        assert!(r.get("filters").is_none());
        // An unknown type, and a known type with an unknown key, both kept whole.
        assert_eq!(
            r["otherFilters"],
            json!([
                {"filterType":"T_PLUS_SELL","endTime":1700000000000_i64},
                {"filterType":"ICEBERG_PARTS","limit":10,"newKey":"x"}
            ])
        );
    }

    #[test]
    fn older_spot_and_futures_spellings_share_the_names() {
        let old = full(
            Market::Spot,
            r#"{"symbol":"ETHBTC","status":"BREAK","baseAsset":"ETH","quoteAsset":"BTC","filters":[
              {"filterType":"MIN_NOTIONAL","minNotional":"0.00010000","applyToMarket":true,"avgPriceMins":5},
              {"filterType":"PERCENT_PRICE","multiplierUp":"5","multiplierDown":"0.2","avgPriceMins":5},
              {"filterType":"MAX_NUM_ALGO_ORDERS","maxNumAlgoOrders":5}]}"#,
        );
        assert_eq!(old["minNotional"], "0.00010000");
        assert_eq!(old["applyMinToMarket"], true);
        assert_eq!(old["multiplierUp"], "5");
        assert_eq!(old["maxNumAlgoOrders"], 5);
        assert_eq!(old["canTrade"], false);
        // The list's five rules are always there; absent ones are null.
        assert_eq!(old["tickSize"], Value::Null);
        assert_eq!(old["otherFilters"], json!([]));

        let perp = full(
            Market::Futures,
            r#"{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","contractType":"PERPETUAL",
              "deliveryDate":4133404800000,"onboardDate":1569398400000,"filters":[
              {"filterType":"MIN_NOTIONAL","notional":"100"},{"filterType":"MAX_NUM_ORDERS","limit":200},
              {"filterType":"MAX_NUM_ALGO_ORDERS","limit":10},
              {"filterType":"PERCENT_PRICE","multiplierUp":"1.0500","multiplierDown":"0.9500","multiplierDecimal":"4"},
              {"filterType":"POSITION_RISK_CONTROL","positionControlSide":"NONE"}]}"#,
        );
        assert_eq!(perp["minNotional"], "100");
        assert_eq!(perp["maxNumOrders"], 200);
        assert_eq!(perp["maxNumAlgoOrders"], 10);
        assert_eq!(perp["multiplierDecimal"], "4");
        assert_eq!(perp["positionControlSide"], "NONE");
        assert_eq!(
            perp["delistAt"],
            Value::Null,
            "the far-future sentinel is no date"
        );
        assert_eq!(perp["deliveryDate"], 4_133_404_800_000_i64);

        let quarterly = full(
            Market::Futures,
            r#"{"symbol":"BTCUSDT_260327","status":"SETTLING","baseAsset":"BTC","quoteAsset":"USDT",
              "contractType":"CURRENT_QUARTER","deliveryDate":1774598400000,"filters":[]}"#,
        );
        assert_eq!(quarterly["delistAt"], 1_774_598_400_000_i64);
        assert_eq!(quarterly["canTrade"], false);
    }

    #[test]
    fn stored_as_a_hash_and_read_back_then_selected() {
        let eth = SPOT
            .replace("BTCUSDT", "ETHUSDT")
            .replace("\"BTC\"", "\"ETH\"");
        let raw = [SPOT.as_bytes(), eth.as_bytes(), SPOT.as_bytes()];
        let set = RulesSet::build(
            Market::Spot,
            "https://api.binance.com",
            "2026-01-01T00:00:00Z",
            &raw,
        );
        assert_eq!(
            set.records
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>(),
            ["BTCUSDT", "ETHUSDT"],
            "a repeated symbol keeps its first record"
        );
        let back = RulesSet::from_fields(Market::Spot, set.to_fields()).expect("reads back");
        assert_eq!(back, set);
        // Half a hash (no order) is not a set.
        let mut half = set.to_fields();
        half.retain(|(f, _)| f != ORDER);
        assert!(RulesSet::from_fields(Market::Spot, half).is_none());

        let fields = ["symbol".to_string(), "maxNumOrders".into(), "nope".into()];
        let filter = Filter {
            base: Some("ETH".into()),
            ..Filter::default()
        };
        let body: Value =
            serde_json::from_slice(&set.body(Source::Cache, Some(&fields), &filter)).unwrap();
        assert_eq!(body["source"], "cache");
        assert_eq!(body["count"], 1);
        assert_eq!(body["version"], set.header.version);
        assert_eq!(body["fields"], json!(["symbol", "maxNumOrders", "nope"]));
        assert_eq!(
            body["symbols"],
            json!([{"symbol":"ETHUSDT","maxNumOrders":200,"nope":null}])
        );
        let all: Value =
            serde_json::from_slice(&set.body(Source::LastGood, None, &Filter::default())).unwrap();
        assert_eq!(all["fields"], "all");
        assert_eq!(all["symbols"][1], full(Market::Spot, &eth));
        assert!(set.field_names().iter().any(|f| f == "otherFilters"));
    }
}
