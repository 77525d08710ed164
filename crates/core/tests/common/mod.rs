//! What the property suites (`fuzz.rs`, `lookup.rs`) share: the seeded runner with its
//! `FUZZ_SEED` / `FUZZ_CASES` overrides, and the `Symbol` generator built from per-field
//! strategies (each suite biases its text its own way).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};
use symbols_core::symbols::Symbol;

/// A number from the environment, decimal or `0x` hex.
pub fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// A deterministic runner: ChaCha from `seed`, no persistence files, deep shrinking.
pub fn runner(seed: u64, cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    })
}

/// `FUZZ_SEED` or `default_seed`, and `FUZZ_CASES` or `default_cases`.
pub fn seed_and_cases(default_seed: u64, default_cases: u32) -> (u64, u32) {
    let seed = env_u64("FUZZ_SEED").unwrap_or(default_seed);
    let cases = env_u64("FUZZ_CASES").map_or(default_cases, |n| n.clamp(1, u64::from(u32::MAX)) as u32);
    (seed, cases)
}

/// Symbols whose name, status, base and quote come from the given strategies and whose
/// optional fields are `text` or absent (dates any `i64` or absent).
pub fn symbols_from<N, S, B, Q, T>(name: N, status: S, base: B, quote: Q, text: T) -> impl Strategy<Value = Symbol>
where
    N: Strategy<Value = String>,
    S: Strategy<Value = String>,
    B: Strategy<Value = String>,
    Q: Strategy<Value = String>,
    T: Strategy<Value = String> + Clone,
{
    let o = move || proptest::option::of(text.clone());
    (
        (name, status, base, quote),
        (o(), o(), o(), o(), o()),
        (o(), o(), proptest::option::of(any::<i64>()), proptest::option::of(any::<i64>())),
    )
        .prop_map(|((symbol, status, base_asset, quote_asset), (tick_size, step_size, min_qty, max_qty, min_notional), (contract_type, margin_asset, delivery_date, onboard_date))| Symbol {
            symbol,
            status,
            base_asset,
            quote_asset,
            tick_size,
            step_size,
            min_qty,
            max_qty,
            min_notional,
            contract_type,
            margin_asset,
            delivery_date,
            onboard_date,
        })
}
