//! `?format=ccxt` proven against the real ccxt (PyPI, pinned in scripts/setup.sh):
//! `tests/tools/ccxt_check.py` runs `ccxt.binance().parse_market(raw)` on every symbol of
//! the recorded payloads and compares each field, then `amount_to_precision` /
//! `price_to_precision` with our markets loaded through `set_markets`. Once on the
//! projection itself (all three recordings), once on what the Worker serves in workerd.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use symbols_core::ccxt::CcxtList;
use symbols_core::{exchange_info, Market};

use crate::support::{root, Fault, FxMarket, Stack};

/// Runs the check on `raw` (an exchangeInfo payload) and `ours` (our body); panics with
/// its report (the first mismatches by field) unless every field and answer agrees.
async fn ccxt_check(dir: &Path, name: &str, raw: &[u8], ours: &[u8]) -> Value {
    let python = root().join(".local/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh (make test does)",
        python.display()
    );
    let raw_path = dir.join(format!("{name}.exchange_info.json"));
    let ours_path = dir.join(format!("{name}.ccxt.json"));
    std::fs::write(&raw_path, raw).expect("write payload");
    std::fs::write(&ours_path, ours).expect("write ours");
    let mut cmd = Command::new(python);
    cmd.arg(root().join("tests/tools/ccxt_check.py"))
        .arg(&raw_path)
        .arg(&ours_path)
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run python");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ccxt_check.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        out.status.success() && report["ok"] == true,
        "{name}: our markets differ from ccxt's: {report:#}"
    );
    report
}

fn payload(market: FxMarket) -> &'static [u8] {
    match market {
        FxMarket::Spot => fake_exchange::fixtures::spot(),
        FxMarket::Futures => fake_exchange::fixtures::futures(),
    }
}

/// The projection on its own (no Worker): every symbol of the three recordings.
#[tokio::test]
async fn every_recorded_symbol_equals_ccxts_parse_market() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, market, raw, symbols) in [
        (
            "spot-2023",
            Market::Spot,
            fake_exchange::fixtures::spot(),
            fake_exchange::fixtures::SPOT_SYMBOLS,
        ),
        (
            "spot-2020",
            Market::Spot,
            fake_exchange::fixtures::spot_2020(),
            fake_exchange::fixtures::SPOT_2020_SYMBOLS,
        ),
        (
            "futures-2025",
            Market::Futures,
            fake_exchange::fixtures::futures(),
            fake_exchange::fixtures::FUTURES_SYMBOLS,
        ),
    ] {
        let parsed = exchange_info::parse_with_raw(market, raw).expect("recorded payload parses");
        let list = CcxtList::build(
            market,
            "https://api.binance.com",
            "2025-01-01T00:00:00Z",
            &parsed
                .raw
                .iter()
                .map(|r| r.as_ref())
                .collect::<Vec<&[u8]>>(),
        );
        assert_eq!(
            list.header().count,
            symbols,
            "{name}: one market per symbol"
        );
        let report = ccxt_check(dir.path(), name, raw, list.as_bytes()).await;
        assert_eq!(report["markets"], symbols, "{name}: {report}");
        assert!(
            report["precision_calls"].as_u64().unwrap_or(0) > 500,
            "{report}"
        );
    }
}

/// Through the built Worker: both markets' `?format=ccxt` bodies, as a bot receives them.
#[tokio::test]
async fn the_workers_ccxt_markets_equal_ccxts_and_load_with_set_markets() {
    let stack = Stack::start().await;
    for (name, market) in [("spot", FxMarket::Spot), ("futures", FxMarket::Futures)] {
        let r = stack.get(&format!("/api/symbols/{name}?format=ccxt")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-cache"), Some("MISS"));
        let body = r.json();
        assert_eq!(body["source"], "upstream");
        assert_eq!(body["market"], name);
        let etag = r.header("etag").expect("ETag").to_string();
        assert!(etag.starts_with(&format!("\"{name}-ccxt-")), "{etag}");
        ccxt_check(stack.dir.path(), name, payload(market), &r.body).await;

        // The stored value serves the next request: a HIT with the same bytes after `source`.
        let again = stack.get(&format!("/api/symbols/{name}?format=ccxt")).await;
        assert_eq!(again.header("x-cache"), Some("HIT"));
        assert_eq!(again.json()["source"], "cache");
        assert_eq!(again.json()["markets"], body["markets"]);
        let cached = stack
            .request(
                "GET",
                &format!("/api/symbols/{name}?format=ccxt"),
                &[("If-None-Match", &etag)],
            )
            .await;
        assert_eq!(cached.status, 304);
        let stored = stack
            .redis_get(&format!("symbols-edge:{name}:ccxt"))
            .expect("ccxt key");
        assert!(stored.starts_with(&format!("{{\"market\":\"{name}\",\"version\":")));
        assert!(stack.redis_ttl(&format!("symbols-edge:{name}:ccxt")) > 0);
        assert_eq!(
            stack.redis_ttl(&format!("symbols-edge:{name}:ccxt:last_good")),
            -1
        );
    }

    // One market by Binance id, and the errors.
    let one = stack.get("/api/symbols/futures/btcusdt?format=ccxt").await;
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["symbol"], "BTC/USDT:USDT");
    assert_eq!(one.json()["info"]["symbol"], "BTCUSDT");
    assert_eq!(
        stack.get("/api/symbols/spot/NOPE?format=ccxt").await.status,
        404
    );
    let bad = stack.get("/api/symbols/spot?format=csv").await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["error"]
            .as_str()
            .unwrap_or("")
            .contains("format"),
        "{}",
        bad.text()
    );
    assert_eq!(
        stack
            .get("/api/symbols/spot?format=ccxt&quote=USDT")
            .await
            .status,
        400
    );
}

/// Binance down and the primary keys gone: the last good ccxt value answers STALE.
#[tokio::test]
async fn a_failing_binance_serves_the_last_good_ccxt_markets() {
    let stack = Stack::start().await;
    let first = stack.get("/api/symbols/spot?format=ccxt").await;
    assert_eq!(first.status, 200);
    stack.exchange.set_sticky(
        FxMarket::Spot,
        Some(Fault::Status {
            code: 500,
            retry_after: None,
        }),
    );
    stack.redis.cli(&[
        "DEL",
        "symbols-edge:spot:ccxt",
        "symbols-edge:spot:document",
    ]);
    let stale = stack.get("/api/symbols/spot?format=ccxt").await;
    assert_eq!(stale.status, 200, "{}", stale.text());
    assert_eq!(stale.header("x-cache"), Some("STALE"));
    assert_eq!(stale.json()["source"], "last_good");
    assert_eq!(stale.json()["markets"], first.json()["markets"]);
}
