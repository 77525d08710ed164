//! Full records ([`symbols_core::rules`]) on every recorded payload: each holds every field
//! of the list's record with the same value, every filter value Binance sent (under its
//! name, or whole in `otherFilters`), and every other top-level field as sent.

use serde_json::Value;
use symbols_core::exchange_info::parse_with_raw;
use symbols_core::rules::{self, RULES};
use symbols_core::Market;

fn check(name: &str, market: Market, payload: &[u8]) {
    let parsed = parse_with_raw(market, payload).expect("the payload parses");
    assert_eq!(parsed.symbols.len(), parsed.raw.len(), "{name}");
    let mut other = 0;
    for (lean, raw) in parsed.symbols.iter().zip(&parsed.raw) {
        let (symbol, rec) = rules::record(market, raw).expect("every symbol has a record");
        assert_eq!(symbol, lean.symbol, "{name}");
        let rec: Value = serde_json::from_slice(&rec).expect("valid JSON");
        let raw: Value = serde_json::from_slice(raw).expect("raw JSON");
        // Every field of the list's record, same value.
        let lean = serde_json::to_value(lean).expect("serialises");
        for (k, v) in lean.as_object().expect("object") {
            assert_eq!(&rec[k], v, "{name} {symbol}: {k}");
        }
        // Every other top-level field as sent.
        for (k, v) in raw.as_object().expect("object") {
            if k != "filters" {
                assert_eq!(&rec[k], v, "{name} {symbol}: {k}");
            }
        }
        // Every filter value: under its name (the last of a repeated type wins), or the
        // whole filter in otherFilters.
        let kept = rec["otherFilters"].as_array().expect("otherFilters");
        other += kept.len();
        for f in raw["filters"].as_array().expect("filters") {
            if kept.contains(f) {
                continue;
            }
            let kind = f["filterType"].as_str().expect("filterType");
            for (k, v) in f.as_object().expect("object") {
                if k == "filterType" {
                    continue;
                }
                let (_, _, named) = RULES
                    .iter()
                    .find(|(t, key, _)| *t == kind && key == k)
                    .unwrap_or_else(|| panic!("{name} {symbol}: {kind}.{k} dropped"));
                assert_eq!(&rec[*named], v, "{name} {symbol}: {kind}.{k}");
            }
        }
        let trading = raw["status"] == "TRADING";
        assert_eq!(rec["canTrade"], trading, "{name} {symbol}");
    }
    eprintln!(
        "{name}: {} records, {other} filters kept whole",
        parsed.raw.len()
    );
}

#[test]
fn full_records_of_the_recorded_payloads() {
    check("spot 2023", Market::Spot, fake_exchange::fixtures::spot());
    check(
        "spot 2020",
        Market::Spot,
        fake_exchange::fixtures::spot_2020(),
    );
    check(
        "futures 2025",
        Market::Futures,
        fake_exchange::fixtures::futures(),
    );
}
