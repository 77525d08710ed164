//! Native timing of exchangeInfo processing (what the Worker does with a fetched payload:
//! `exchange_info::parse` + `StoredList::build`), for `scripts/bench.sh`.
//!
//! ```text
//! process-bench --write-payloads DIR      write spot.json, futures.json, synth_spot.json (the bench inputs)
//! process-bench [--iters N] [--warmup N] [--only parse|scanner|serde|parts] CASE...   CASE = NAME=MARKET:PATH; prints one JSON line per case
//! ```
//! Each line: `{"case","market","bytes","symbols","out_bytes","scanner_ms","serde_ms","parse_ms"}`,
//! medians over `--iters` runs after `--warmup` runs. `scanner_ms` is parse + build with the
//! hand-written scanner (`exchange_info::parse`), `serde_ms` the same all through serde_json
//! (the visitor and the serialisation they replaced), `parse_ms` the scanner's parse + project alone,
//! and `parts_ms` each value a refresh builds from a changed payload (`bench_tools::process_all`),
//! step by step: `parse_raw` (the parse keeping each symbol's raw object), `original`, `ccxt`,
//! `records` (the full records) and `document`, each timed on the previous steps' output.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use symbols_core::exchange_info;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn time<T>(warmup: usize, iters: usize, mut f: impl FnMut() -> T) -> f64 {
    for _ in 0..warmup {
        std::hint::black_box(f());
    }
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        std::hint::black_box(f());
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    median(samples)
}

fn write_payloads(dir: &PathBuf) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let files: [(&str, Vec<u8>); 3] = [
        ("spot.json", fake_exchange::fixtures::spot().to_vec()),
        ("futures.json", fake_exchange::fixtures::futures().to_vec()),
        (
            "synth_spot.json",
            fake_exchange::synth_spot_payload(fake_exchange::synth::SYNTH_SPOT_SYMBOLS),
        ),
    ];
    for (name, bytes) in files {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// Each step of [`bench_tools::process_all`] on its own (medians, ms).
fn parts_ms(
    market: symbols_core::Market,
    payload: &[u8],
    warmup: usize,
    iters: usize,
) -> Result<serde_json::Value, String> {
    use bench_tools::{FETCHED_AT, UPSTREAM};
    use symbols_core::{ccxt::CcxtList, original, rules::RulesSet, symbols::StoredList};
    let parsed = exchange_info::parse_with_raw(market, payload).map_err(|e| e.to_string())?;
    let raw: Vec<&[u8]> = parsed.raw.iter().map(|r| r.as_ref()).collect();
    Ok(serde_json::json!({
        "parse_raw": time(warmup, iters, || exchange_info::parse_with_raw(market, payload).map(|p| p.symbols.len())),
        "original": time(warmup, iters, || original::build(market, &parsed)),
        "ccxt": time(warmup, iters, || CcxtList::build(market, UPSTREAM, FETCHED_AT, &raw)),
        "records": time(warmup, iters, || RulesSet::build(market, UPSTREAM, FETCHED_AT, &raw)),
        "document": time(warmup, iters, || StoredList::build(market, UPSTREAM, FETCHED_AT.to_string(), &parsed.symbols)),
    }))
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut iters, mut warmup) = (31usize, 5usize);
    let mut only: Option<String> = None;
    let mut cases = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--write-payloads" => {
                let dir = args.next().ok_or("--write-payloads needs a directory")?;
                return write_payloads(&PathBuf::from(dir));
            }
            "--only" => {
                only = Some(
                    args.next()
                        .ok_or("--only needs parse|scanner|serde|parts")?,
                )
            }
            "--iters" => {
                iters = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--iters needs a number")?
            }
            "--warmup" => {
                warmup = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--warmup needs a number")?
            }
            "-h" | "--help" => {
                println!("usage: process-bench --write-payloads DIR | [--iters N] [--warmup N] NAME=MARKET:PATH...");
                return Ok(());
            }
            case => cases.push(case.to_string()),
        }
    }
    if cases.is_empty() {
        return Err("no cases (NAME=MARKET:PATH)".into());
    }
    for case in cases {
        let (name, rest) = case
            .split_once('=')
            .ok_or_else(|| format!("bad case {case:?}"))?;
        let (market_name, path) = rest
            .split_once(':')
            .ok_or_else(|| format!("bad case {case:?}"))?;
        let market = bench_tools::market(market_name)?;
        let payload = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        let doc = bench_tools::process(market, &payload)?;
        let baseline = bench_tools::process_serde(market, &payload)?;
        if doc.as_bytes() != &baseline[..] {
            return Err(format!(
                "{name}: the scanner and the serde_json visitor disagree"
            ));
        }
        let run = |what: &str| only.as_deref().is_none_or(|o| o == what);
        let mut scanner_ms = f64::NAN;
        let mut serde_ms = f64::NAN;
        let mut parse_ms = f64::NAN;
        if run("scanner") {
            scanner_ms = time(warmup, iters, || bench_tools::process(market, &payload));
        }
        if run("serde") {
            serde_ms = time(warmup, iters, || {
                bench_tools::process_serde(market, &payload)
            });
        }
        if run("parse") {
            parse_ms = time(warmup, iters, || exchange_info::parse(market, &payload));
        }
        let parts = run("parts").then(|| parts_ms(market, &payload, warmup, iters));
        let line = serde_json::json!({
            "case": name, "market": market_name, "bytes": payload.len(), "symbols": doc.header().count,
            "out_bytes": doc.as_bytes().len(), "scanner_ms": scanner_ms, "serde_ms": serde_ms, "parse_ms": parse_ms,
            "parts_ms": parts.transpose()?, "iters": iters,
        });
        println!("{line}");
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("process-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
