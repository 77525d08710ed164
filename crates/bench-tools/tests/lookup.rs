//! `StoredList::find` / `filtered_body` (the `lookup` scanner) on the lists built from the
//! recorded payloads, against the full-parse path they replaced: every symbol exactly and
//! case-folded, missing ones, and every status/quote/base filter the data can answer plus
//! some it cannot. The scanner must read these documents itself, not fall back.
//!
//! The old path costs a full parse per call (tens of ms unoptimised), so it is called for
//! a sample; everything else is compared with its model, computed from one parse.

use std::collections::BTreeSet;

use symbols_core::filter::Filter;
use symbols_core::symbols::lookup;
use symbols_core::symbols::{Source, StoredList, Symbol};
use symbols_core::Market;

fn stored(market: Market, payload: &[u8]) -> (StoredList, Vec<Symbol>) {
    let built = bench_tools::process(market, payload).expect("the fixture processes");
    // As the Worker sees it: bytes read back from Redis.
    let list = StoredList::from_bytes(market, built.as_bytes().to_vec()).expect("accepted");
    let symbols = list.parse().expect("parses").symbols;
    (list, symbols)
}

/// The old `find`, over an already parsed list.
fn model_find<'a>(symbols: &'a [Symbol], name: &str) -> Option<&'a Symbol> {
    symbols
        .iter()
        .find(|s| s.symbol == name)
        .or_else(|| symbols.iter().find(|s| s.symbol.eq_ignore_ascii_case(name)))
}

/// The old `filtered_body`, over an already parsed list: the same build + splice.
fn model_body(list: &StoredList, symbols: &[Symbol], filter: &Filter, source: Source) -> Vec<u8> {
    let market: Market = list.header().market.parse().expect("market");
    let kept: Vec<Symbol> = symbols
        .iter()
        .filter(|s| filter.matches(s))
        .cloned()
        .collect();
    StoredList::build(
        market,
        &list.header().upstream,
        list.header().fetched_at.clone(),
        &kept,
    )
    .response_body(source)
}

fn check(name: &str, market: Market, payload: &[u8]) {
    let (list, symbols) = stored(market, payload);
    let bytes = list.as_bytes();
    assert!(
        lookup::find(bytes, "BTCUSDT").is_ok(),
        "{name}: the scanner fell back"
    );

    for (i, s) in symbols.iter().enumerate() {
        let lower = s.symbol.to_ascii_lowercase();
        for needle in [s.symbol.as_str(), lower.as_str()] {
            let got = list
                .find(needle)
                .unwrap_or_else(|e| panic!("{name}: find({needle:?}): {e}"));
            assert_eq!(
                got.as_ref(),
                model_find(&symbols, needle),
                "{name}: find({needle:?})"
            );
        }
        if i % 97 == 0 {
            assert_eq!(
                list.find(&lower).ok(),
                symbols_core::reference::find_serde(&list, &lower).ok(),
                "{name}: find({lower:?}) vs the old path"
            );
        }
    }
    for missing in ["", "NOPE", "BTCUSDTX", "BTCUSD", "币安人生"] {
        if model_find(&symbols, missing).is_none() {
            assert_eq!(
                list.find(missing).ok(),
                Some(None),
                "{name}: find({missing:?})"
            );
            assert_eq!(
                symbols_core::reference::find_serde(&list, missing).ok(),
                Some(None)
            );
        }
    }

    let set = |f: fn(&Symbol) -> &str| {
        symbols
            .iter()
            .map(|s| f(s).to_string())
            .collect::<BTreeSet<_>>()
    };
    let statuses = set(|s| &s.status);
    let quotes = set(|s| &s.quote_asset);
    let bases = set(|s| &s.base_asset);
    let some = |v: &BTreeSet<String>, extra: &str| {
        v.iter()
            .cloned()
            .chain([extra.to_string()])
            .map(Some)
            .chain([None])
            .collect::<Vec<_>>()
    };
    let mut filters = Vec::new();
    // Every status x quote, each base alone and with its own quote and status, and values
    // that match nothing.
    for status in some(&statuses, "HALTED") {
        for quote in some(&quotes, "XYZ") {
            filters.push(Filter {
                status: status.clone(),
                quote,
                base: None,
            });
        }
    }
    for base in some(&bases, "NOPE") {
        filters.push(Filter {
            base,
            ..Filter::default()
        });
    }
    for s in symbols.iter().step_by(7) {
        filters.push(Filter {
            status: Some(s.status.clone()),
            quote: Some(s.quote_asset.clone()),
            base: Some(s.base_asset.clone()),
        });
        filters.push(Filter {
            status: None,
            quote: Some(s.quote_asset.clone()),
            base: Some(s.base_asset.clone()),
        });
    }
    filters.push(Filter {
        quote: Some("usdt".into()),
        ..Filter::default()
    });
    for (i, f) in filters.iter().enumerate() {
        let got = list
            .filtered_body(Source::Cache, f)
            .unwrap_or_else(|e| panic!("{name}: filtered_body({f:?}): {e}"));
        let want = model_body(&list, &symbols, f, Source::Cache);
        assert!(
            got == want,
            "{name}: filtered_body({f:?}) differs from the rebuilt body"
        );
        if i % 41 == 0 {
            let old = symbols_core::reference::filtered_body_serde(&list, Source::LastGood, f)
                .expect("old path");
            assert!(
                list.filtered_body(Source::LastGood, f).ok() == Some(old),
                "{name}: {f:?} vs the old path"
            );
        }
    }
    eprintln!(
        "{name}: {} symbols, {} filters",
        symbols.len(),
        filters.len()
    );
}

#[test]
fn spot_2023() {
    check(
        "spot 2023-09",
        Market::Spot,
        fake_exchange::fixtures::spot(),
    );
}

#[test]
fn futures_2025_with_non_ascii_symbols() {
    let payload = fake_exchange::fixtures::futures();
    let (list, symbols) = stored(Market::Futures, payload);
    let non_ascii: Vec<&str> = symbols
        .iter()
        .map(|s| s.symbol.as_str())
        .filter(|s| !s.is_ascii())
        .collect();
    assert!(
        non_ascii.contains(&"币安人生USDT"),
        "the fixture has 币安人生USDT: {non_ascii:?}"
    );
    assert_eq!(
        list.find("币安人生usdt").ok().flatten().map(|s| s.symbol),
        Some("币安人生USDT".to_string())
    );
    check("futures 2025-12", Market::Futures, payload);
}

#[test]
fn spot_2020() {
    check(
        "spot 2020-11",
        Market::Spot,
        fake_exchange::fixtures::spot_2020(),
    );
}
