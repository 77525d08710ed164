//! `exchange_info::parse` (the scanner) against the serde_json visitor it replaced and a
//! plain `serde_json::Value` implementation, on every real payload we have: the recorded
//! fixtures, the synthetic 6 MB spot payload and, when present, the reference-data files
//! (the indented futures payloads among them). The scanner must also handle each of them
//! itself, not by falling back.

use std::path::PathBuf;

use bench_tools::reference;
use symbols_core::exchange_info::parse;
use symbols_core::reference::{parse_fast_path, parse_serde};
use symbols_core::symbols::StoredList;
use symbols_core::Market;

fn check(name: &str, market: Market, payload: &[u8], expected_count: Option<usize>) {
    let fast = parse_fast_path(market, payload)
        .unwrap_or_else(|| panic!("{name}: the scanner fell back to serde_json"));
    let serde = parse_serde(market, payload)
        .unwrap_or_else(|e| panic!("{name}: serde_json refused it: {e}"));
    let value = reference::parse(market, payload)
        .unwrap_or_else(|e| panic!("{name}: the Value reference refused it: {e}"));
    assert_eq!(fast, serde, "{name}: scanner vs serde_json visitor");
    assert_eq!(
        fast, value,
        "{name}: scanner vs serde_json::Value reference"
    );
    assert_eq!(
        parse(market, payload).as_ref().ok(),
        Some(&fast),
        "{name}: parse"
    );
    if let Some(n) = expected_count {
        assert_eq!(fast.len(), n, "{name}: symbol count");
    }
    // The stored document is byte-identical whichever parser produced the symbols.
    let a = StoredList::build(market, "u", "t".into(), &fast);
    let b = StoredList::build(market, "u", "t".into(), &serde);
    assert_eq!(a.as_bytes(), b.as_bytes(), "{name}: stored document");
    // The hand-written serialisation writes exactly what serde_json wrote.
    assert_eq!(
        a.as_bytes(),
        &symbols_core::reference::build_serde(market, "u", "t".into(), &fast)[..],
        "{name}: StoredList::build vs serde_json"
    );
    // Sanity of the projection on real data.
    assert!(
        fast.iter().all(|s| !s.symbol.is_empty()),
        "{name}: empty symbol"
    );
    let with_tick = fast.iter().filter(|s| s.tick_size.is_some()).count();
    assert!(
        with_tick * 10 >= fast.len() * 9,
        "{name}: tickSize missing on most symbols"
    );
}

#[test]
fn fixtures() {
    use fake_exchange::fixtures;
    check(
        "spot 2023-09",
        Market::Spot,
        fixtures::spot(),
        Some(fixtures::SPOT_SYMBOLS),
    );
    check(
        "futures 2025-12",
        Market::Futures,
        fixtures::futures(),
        Some(fixtures::FUTURES_SYMBOLS),
    );
    check(
        "spot 2020-11",
        Market::Spot,
        fixtures::spot_2020(),
        Some(fixtures::SPOT_2020_SYMBOLS),
    );
    // Parsing a payload as the other market only changes the projection.
    check(
        "futures 2025-12 as spot",
        Market::Spot,
        fixtures::futures(),
        Some(fixtures::FUTURES_SYMBOLS),
    );
    check(
        "spot 2023-09 as futures",
        Market::Futures,
        fixtures::spot(),
        Some(fixtures::SPOT_SYMBOLS),
    );
}

#[test]
fn synthetic_spot() {
    let n = fake_exchange::synth::SYNTH_SPOT_SYMBOLS;
    let payload = fake_exchange::synth_spot_payload(n);
    check("synthetic spot", Market::Spot, &payload, Some(n));
}

#[test]
fn reference_data_when_present() {
    let dir = std::env::var_os("REFERENCE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference-data")
        });
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("{}: not present, skipped", dir.display());
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let market = if name.starts_with("spot") {
            Market::Spot
        } else if name.starts_with("futures") {
            Market::Futures
        } else {
            continue;
        };
        let payload = std::fs::read(&path).expect("read");
        check(&name, market, &payload, None);
    }
}

#[test]
fn suggested_serialisation_is_byte_identical() {
    use fake_exchange::fixtures;
    let tricky = symbols_core::symbols::Symbol {
        symbol: "A\"\\\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}é币".into(),
        status: String::new(),
        base_asset: "x".into(),
        quote_asset: "y".into(),
        tick_size: None,
        step_size: Some("1".into()),
        min_qty: None,
        max_qty: None,
        min_notional: Some("5".into()),
        contract_type: Some(String::new()),
        margin_asset: None,
        delivery_date: Some(-1),
        onboard_date: Some(i64::MAX),
    };
    let cases: Vec<(Market, Vec<symbols_core::symbols::Symbol>)> = vec![
        (Market::Spot, parse(Market::Spot, fixtures::spot()).unwrap()),
        (
            Market::Futures,
            parse(Market::Futures, fixtures::futures()).unwrap(),
        ),
        (
            Market::Spot,
            parse(Market::Spot, fixtures::spot_2020()).unwrap(),
        ),
        (Market::Futures, vec![tricky]),
        (Market::Spot, Vec::new()),
    ];
    for (market, symbols) in cases {
        for (upstream, at) in [
            ("https://api.binance.com", "2025-12-24T08:00:00Z"),
            ("u\"\\\n", "t"),
        ] {
            let expected = StoredList::build(market, upstream, at.into(), &symbols);
            let serde = symbols_core::reference::build_serde(market, upstream, at.into(), &symbols);
            assert_eq!(
                String::from_utf8_lossy(&serde),
                String::from_utf8_lossy(expected.as_bytes())
            );
        }
    }
}
