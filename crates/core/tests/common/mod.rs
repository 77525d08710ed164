//! What the property suites (`fuzz.rs` and its `props/lookup.rs`) share: the `Symbol`
//! generator built from per-field strategies (each suite biases its text its own way). The
//! seeded driver itself is `testkit::fuzz`, shared with upstash-rest.

use proptest::prelude::*;
use symbols_core::symbols::Symbol;

/// Symbols whose name, status, base and quote come from the given strategies and whose
/// optional fields are `text` or absent (dates any `i64` or absent).
pub fn symbols_from<N, S, B, Q, T>(
    name: N,
    status: S,
    base: B,
    quote: Q,
    text: T,
) -> impl Strategy<Value = Symbol>
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
        (
            o(),
            o(),
            proptest::option::of(any::<i64>()),
            proptest::option::of(any::<i64>()),
        ),
    )
        .prop_map(
            |(
                (symbol, status, base_asset, quote_asset),
                (tick_size, step_size, min_qty, max_qty, min_notional),
                (contract_type, margin_asset, delivery_date, onboard_date),
            )| Symbol {
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
            },
        )
}
