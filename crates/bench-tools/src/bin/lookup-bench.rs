//! Native timing of single-symbol lookups and list filters on a stored list: the scanner
//! (`StoredList::find` / `filtered_body`) next to the full parse it replaced, in one run.
//!
//! ```text
//! lookup-bench [--iters N] [--warmup N] [--market spot|futures] [--payload PATH]
//! lookup-bench --write-payload PATH     write the recorded spot payload (the default input)
//! ```
//! Prints one JSON line per case (`bench_tools::lookups::CASES`):
//! `{"case","symbols","old_ms","new_ms","iters"}`, medians over `--iters` runs, old and new
//! alternating so that both see the same machine load. `crates/bench-tools/lookups.mjs`
//! runs this and the wasm build side by side.

use std::process::ExitCode;
use std::time::Instant;

use bench_tools::lookups::{self, CASES};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn ms(f: impl FnOnce() -> usize) -> f64 {
    let t = Instant::now();
    std::hint::black_box(f());
    t.elapsed().as_secs_f64() * 1000.0
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut iters, mut warmup) = (101usize, 10usize);
    let mut market = "spot".to_string();
    let mut payload: Option<Vec<u8>> = None;
    let number = |v: Option<String>, what: &str| {
        v.and_then(|v| v.parse().ok())
            .ok_or(format!("{what} needs a number"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iters" => iters = number(args.next(), "--iters")?,
            "--warmup" => warmup = number(args.next(), "--warmup")?,
            "--market" => market = args.next().ok_or("--market needs spot|futures")?,
            "--payload" => {
                let p = args.next().ok_or("--payload needs a path")?;
                payload = Some(std::fs::read(&p).map_err(|e| format!("{p}: {e}"))?);
            }
            "--write-payload" => {
                let p = args.next().ok_or("--write-payload needs a path")?;
                return std::fs::write(&p, fake_exchange::fixtures::spot())
                    .map_err(|e| format!("{p}: {e}"));
            }
            "-h" | "--help" => {
                println!("usage: lookup-bench [--iters N] [--warmup N] [--market M] [--payload PATH] | --write-payload PATH");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let m = bench_tools::market(&market)?;
    let payload = payload.unwrap_or_else(|| fake_exchange::fixtures::spot().to_vec());
    let list = bench_tools::stored(m, &payload)?;
    for &(name, case) in CASES {
        if lookups::answer(&list, case, false)? != lookups::answer(&list, case, true)? {
            return Err(format!("{name}: the scanner and the full parse disagree"));
        }
        for _ in 0..warmup {
            std::hint::black_box(lookups::run(&list, case, true));
            std::hint::black_box(lookups::run(&list, case, false));
        }
        let (mut old, mut new) = (Vec::with_capacity(iters), Vec::with_capacity(iters));
        for _ in 0..iters {
            old.push(ms(|| lookups::run(&list, case, true)));
            new.push(ms(|| lookups::run(&list, case, false)));
        }
        let line = serde_json::json!({
            "case": name, "symbols": list.header().count, "old_ms": median(old), "new_ms": median(new), "iters": iters,
        });
        println!("{line}");
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lookup-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
