//! Property-based fuzzing of the platform-free parsers, on stable Rust (proptest; cargo-fuzz
//! needs nightly). Every target must never panic and never allocate more than a fixed
//! multiple of its input (measured with a per-thread counting allocator, below).
//!
//! | property | target | checks |
//! |---|---|---|
//! | `exchange_info_arbitrary_bytes` | `exchange_info::parse` | random bytes and JSON-ish token soup: no panic, bounded allocation, `parse == parse_serde`, names match a `serde_json::Value` reading |
//! | `exchange_info_structured` | `exchange_info::parse` | generated exchangeInfo documents (unknown fields, nested values, escapes, unicode, every number form, positional structs, shuffled keys, whitespace): `Ok` and exactly the model's projection |
//! | `exchange_info_perturbed` | `exchange_info::parse` | the same documents with wrong types, duplicate keys, invalid numbers, raw tokens, deep nesting, prefixes/suffixes: `Ok` only with the input's symbol names, same answer as `parse_serde` |
//! | `exchange_info_truncated` | `exchange_info::parse` | every strict prefix of a generated valid document is `Err` |
//! | `exchange_info_mutated` | `exchange_info::parse` | byte flips, inserted tokens, deleted and duplicated ranges of small valid documents |
//! | `percent_decode_model` | `request::percent_decode` | against a strict reference decoder; output never longer than the input; encode/decode round trip |
//! | `route_arbitrary` | `request::route` | random and route-shaped method/path/query: no panic, typed errors with bounded messages, `UriTooLong` exactly for overlong input (and without allocating) |
//! | `route_round_trip` | `request::route` | percent-encoded symbol, list filter and refresh routes for both markets come back as the values encoded |
//! | `stored_list_round_trip` | `symbols::StoredList` | `build` (byte-identical to serde_json's `build_serde`) -> `from_bytes` -> header, `parse`, `find`, `response_body` |
//! | `stored_list_arbitrary` | `symbols::StoredList::from_bytes` | random bytes, header-shaped bytes and mutations of stored documents: no panic, bounded allocation, accepted -> right market, and `response_body` / `filtered_body` are JSON whenever the input was |
//! | `lookup_equivalence`, `lookup_odd_bytes` | `symbols::StoredList::find` / `filtered_body` (the `lookup` scanner) | in `props/lookup.rs`: equal to the full-parse path on generated lists, and on damaged or other-writer documents (the same answer or the same error) |
//!
//! Two ways to run them:
//! - `cargo test -p symbols-core --test fuzz`: each property once, with a fixed seed and a
//!   modest number of cases (seconds). `FUZZ_SEED=<u64>` and `FUZZ_CASES=<n>` override
//!   both: that is how a failure of the long run is replayed.
//! - `scripts/fuzz.sh [seconds]` runs the ignored `long_run`: every property in turn (about
//!   the same time each), in batches with fresh random seeds, until `FUZZ_SECONDS` have passed (`FUZZ_ONLY=<substring>`
//!   restricts it), then prints the number of cases per property.
//!
//! A bug these properties find gets a test with its minimal input: an ignored `known_bug_*`
//! one while it is open (it fails until fixed; `scripts/fuzz.sh` lists them, and the property
//! tolerates exactly that bug so the suite stays green), a plain regression test once fixed
//! (`percent_decode_refuses_a_sign_after_percent`).

use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{TestCaseError, TestRunner};
use testkit::fuzz::{splitmix, Prop, Suite};

mod common;
#[path = "props/lookup.rs"]
mod lookup_props;
use symbols_core::exchange_info::{parse, ProcessError};
use symbols_core::filter::Filter;
use symbols_core::reference::parse_serde;
use symbols_core::request::{self, percent_decode, route, Route, RouteError};
use symbols_core::symbols::{Source, StoredList, Symbol};
use symbols_core::Market;

// =============================================================================================
// Allocation accounting: a global allocator that keeps, per thread, the live heap bytes and
// their high-water mark. `thread_local!` with `const` init and no destructor never allocates.
// =============================================================================================

mod alloc_track {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn track(delta: isize) {
        let _ = LIVE.try_with(|live| {
            let now = live.get() + delta;
            live.set(now);
            let _ = PEAK.try_with(|peak| {
                if now > peak.get() {
                    peak.set(now);
                }
            });
        });
    }

    // SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                track(layout.size() as isize);
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                track(layout.size() as isize);
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            track(-(layout.size() as isize));
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                track(new_size as isize - layout.size() as isize);
            }
            p
        }
    }

    /// Runs `f`; returns its result and the most heap bytes this thread held at once during
    /// it beyond what it held before (the result included).
    pub fn peak<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let start = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(start));
        let r = f();
        let peak = PEAK.with(Cell::get);
        (r, usize::try_from(peak - start).unwrap_or(0))
    }
}

#[global_allocator]
static ALLOC: alloc_track::Counting = alloc_track::Counting;

/// Slack for fixed-size allocations (error messages, small buffers).
const ALLOC_SLACK: usize = 64 * 1024;

/// The largest allocation `parse` may make for a payload of `len` bytes: each symbol costs a
/// `Symbol` slot (twice, for `Vec` doubling) and needs at least 4 payload bytes (`[""]`, a
/// positional struct), strings are copied at most a few times.
fn parse_alloc_bound(len: usize) -> usize {
    2 * std::mem::size_of::<Symbol>() * (len / 4 + 1) + 8 * len + ALLOC_SLACK
}

// =============================================================================================
// The driver: one table of properties, run seeded (the test suite) or for a time (long_run).
// =============================================================================================

const SUITE: Suite = Suite {
    crate_name: "symbols-core",
    row_prefix: "",
    replay: "cargo test -p symbols-core --test fuzz ",
    seed: 0x5eed_f022_2026_0001,
    honours_only: true,
    props: &[
        Prop {
            name: "exchange_info_arbitrary_bytes",
            cases: 256,
            run: exchange_info_arbitrary_bytes,
        },
        Prop {
            name: "exchange_info_structured",
            cases: 48,
            run: exchange_info_structured,
        },
        Prop {
            name: "exchange_info_perturbed",
            cases: 64,
            run: exchange_info_perturbed,
        },
        Prop {
            name: "exchange_info_truncated",
            cases: 16,
            run: exchange_info_truncated,
        },
        Prop {
            name: "exchange_info_mutated",
            cases: 192,
            run: exchange_info_mutated,
        },
        Prop {
            name: "percent_decode_model",
            cases: 512,
            run: percent_decode_model,
        },
        Prop {
            name: "route_arbitrary",
            cases: 384,
            run: route_arbitrary,
        },
        Prop {
            name: "route_round_trip",
            cases: 512,
            run: route_round_trip,
        },
        Prop {
            name: "stored_list_round_trip",
            cases: 128,
            run: stored_list_round_trip,
        },
        Prop {
            name: "stored_list_arbitrary",
            cases: 256,
            run: stored_list_arbitrary,
        },
        Prop {
            name: "lookup_equivalence",
            cases: 256,
            run: lookup_props::lookup_equivalence,
        },
        Prop {
            name: "lookup_odd_bytes",
            cases: 512,
            run: lookup_props::lookup_odd_bytes,
        },
    ],
};

/// A test-suite run of one property: fixed seed and case count unless overridden.
fn suite(name: &str) {
    SUITE.run_one(name);
}

/// Every property in turn, in batches with fresh seeds, until `FUZZ_SECONDS` (default 60)
/// have passed (`FUZZ_ONLY=<substring>` restricts it); see testkit's `fuzz` module.
#[test]
#[ignore = "long fuzz run: scripts/fuzz.sh [seconds]"]
fn long_run() {
    SUITE.long_run();
}

#[test]
fn exchange_info_arbitrary_bytes_suite() {
    suite("exchange_info_arbitrary_bytes");
}
#[test]
fn exchange_info_structured_suite() {
    suite("exchange_info_structured");
}
#[test]
fn exchange_info_perturbed_suite() {
    suite("exchange_info_perturbed");
}
#[test]
fn exchange_info_truncated_suite() {
    suite("exchange_info_truncated");
}
#[test]
fn exchange_info_mutated_suite() {
    suite("exchange_info_mutated");
}
#[test]
fn percent_decode_model_suite() {
    suite("percent_decode_model");
}
#[test]
fn route_arbitrary_suite() {
    suite("route_arbitrary");
}
#[test]
fn route_round_trip_suite() {
    suite("route_round_trip");
}
#[test]
fn stored_list_round_trip_suite() {
    suite("stored_list_round_trip");
}
#[test]
fn stored_list_arbitrary_suite() {
    suite("stored_list_arbitrary");
}
#[test]
fn lookup_equivalence_suite() {
    suite("lookup_equivalence");
}
#[test]
fn lookup_odd_bytes_suite() {
    suite("lookup_odd_bytes");
}

// =============================================================================================
// Inputs shown readably in proptest's "minimal failing input".
// =============================================================================================

#[derive(Clone)]
struct Bytes(Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\" ({} bytes)", self.0.escape_ascii(), self.0.len())
    }
}

fn market() -> impl Strategy<Value = Market> {
    prop_oneof![Just(Market::Spot), Just(Market::Futures)]
}

/// Text biased towards what breaks parsers: quotes, backslashes, controls, non-ASCII.
fn text(max: usize) -> impl Strategy<Value = String> + Clone {
    let ch = prop_oneof![
        8 => proptest::char::range('a', 'z'),
        4 => proptest::char::range('A', 'Z'),
        2 => proptest::char::range('0', '9'),
        1 => proptest::char::range('\0', '\u{1f}'),
        2 => select(vec!['"', '\\', '/', ' ', '%', '+', '&', '=', '\u{7f}', '\u{a0}', '\u{2028}', '\u{feff}', 'é', 'ß', 'ΐ', '币', '安', '🚀', '\u{10ffff}']),
        1 => any::<char>(),
    ];
    vec(ch, 0..max).prop_map(|v| v.into_iter().collect())
}

// =============================================================================================
// A JSON model that can also express what serde_json::Value cannot: duplicate keys, chosen
// escapes and number spellings, raw (invalid) tokens.
// =============================================================================================

/// How a string is escaped when rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Esc {
    /// Only what JSON requires.
    Min,
    /// Every character as `\uXXXX` (surrogate pairs above the BMP).
    Unicode,
    /// Required escapes plus `\/`.
    Solidus,
}

#[derive(Clone, Debug)]
enum J {
    Null,
    Bool(bool),
    /// A number spelled as given (valid JSON syntax unless it came from `bad_number`).
    Num(String),
    Str(String, Esc),
    Arr(Vec<J>),
    Obj(Vec<(String, Esc, J)>),
    /// Any text, verbatim.
    Raw(String),
}

fn esc() -> impl Strategy<Value = Esc> {
    prop_oneof![6 => Just(Esc::Min), 1 => Just(Esc::Unicode), 1 => Just(Esc::Solidus)]
}

/// Keys of the known fields: mostly plain, so the scanner (which leaves escaped keys to
/// serde_json) takes most documents itself.
fn key_esc() -> impl Strategy<Value = Esc> {
    prop_oneof![40 => Just(Esc::Min), 1 => Just(Esc::Unicode), 1 => Just(Esc::Solidus)]
}

fn render_str(s: &str, esc: Esc, out: &mut Vec<u8>) {
    use std::io::Write as _;
    out.push(b'"');
    for c in s.chars() {
        match c {
            _ if esc == Esc::Unicode => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{u:04X}");
                }
            }
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '/' if esc == Esc::Solidus => out.extend_from_slice(b"\\/"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Whitespace styles (only JSON whitespace): none, one space, newline + indent, a mix.
const WS: [&str; 4] = ["", " ", "\n  ", "\t\r\n "];

fn render(j: &J, ws: &str, out: &mut Vec<u8>) {
    match j {
        J::Null => out.extend_from_slice(b"null"),
        J::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        J::Num(n) | J::Raw(n) => out.extend_from_slice(n.as_bytes()),
        J::Str(s, e) => render_str(s, *e, out),
        J::Arr(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(ws.as_bytes());
                render(item, ws, out);
            }
            out.extend_from_slice(ws.as_bytes());
            out.push(b']');
        }
        J::Obj(entries) => {
            out.push(b'{');
            for (i, (k, e, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(ws.as_bytes());
                render_str(k, *e, out);
                out.extend_from_slice(ws.as_bytes());
                out.push(b':');
                out.extend_from_slice(ws.as_bytes());
                render(v, ws, out);
            }
            out.extend_from_slice(ws.as_bytes());
            out.push(b'}');
        }
    }
}

fn to_bytes(j: &J, ws: &str) -> Vec<u8> {
    let mut out = Vec::new();
    render(j, ws, &mut out);
    out
}

/// Every JSON number form: integers of any size and sign, `-0`, fractions, exponents
/// (including out of `f64` range), Rust's float spellings.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        select(vec![
            "0",
            "-0",
            "-0.0",
            "0e0",
            "1E+2",
            "-1e-2",
            "1e400",
            "-1e400",
            "1e-400",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616"
        ])
        .prop_map(str::to_string),
        "-?[1-9][0-9]{19,40}",
        "-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,8})?([eE][+-]?[0-9]{1,3})?",
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
    ]
}

/// Tokens that are not JSON numbers (or not JSON at all).
fn bad_token() -> impl Strategy<Value = String> {
    select(vec![
        "01",
        "-01",
        "1.",
        ".5",
        "+1",
        "-",
        "1e",
        "1e+",
        "0x10",
        "NaN",
        "Infinity",
        "-Infinity",
        "--1",
        "1.2.3",
        "1_000",
        "tru",
        "nul",
        "True",
        "undefined",
        "'a'",
        "\"unterminated",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\u{1}\"",
        "\u{feff}",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "[,]",
        "{,}",
        "[1,]",
        "{\"a\":1,}",
        "\"a\":",
        "/* */",
        "\u{0}",
    ])
    .prop_map(str::to_string)
}

fn json_leaf() -> BoxedStrategy<J> {
    prop_oneof![
        1 => Just(J::Null),
        1 => any::<bool>().prop_map(J::Bool),
        3 => number().prop_map(J::Num),
        4 => (text(12), esc()).prop_map(|(s, e)| J::Str(s, e)),
    ]
    .boxed()
}

/// Any JSON value, up to 4 levels of arrays and objects (keys may repeat).
fn json_value() -> BoxedStrategy<J> {
    json_leaf()
        .prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(J::Arr),
                vec((text(8), esc(), inner), 0..6).prop_map(J::Obj),
            ]
        })
        .boxed()
}

/// Unknown fields for an object whose known keys are `known`.
fn extra_fields(
    known: &'static [&'static str],
    max: usize,
) -> impl Strategy<Value = Vec<(String, Esc, J)>> {
    let key = prop_oneof![8 => "[a-zA-Z_][a-zA-Z0-9_]{0,11}", 1 => text(10)];
    vec((key, key_esc(), json_value()), 0..max).prop_map(move |mut v| {
        v.retain(|(k, _, _)| !known.contains(&k.as_str()));
        v
    })
}

// =============================================================================================
// exchangeInfo documents with a model of their projection.
// =============================================================================================

/// An optional string field: absent, `null`, or a string.
#[derive(Clone, Debug)]
enum Opt {
    Absent,
    Null,
    Str(String, Esc),
}

impl Opt {
    fn value(&self) -> Option<String> {
        match self {
            Opt::Str(s, _) => Some(s.clone()),
            _ => None,
        }
    }
    fn json(&self) -> Option<J> {
        match self {
            Opt::Absent => None,
            Opt::Null => Some(J::Null),
            Opt::Str(s, e) => Some(J::Str(s.clone(), *e)),
        }
    }
}

fn opt(s: impl Strategy<Value = String> + Clone + 'static) -> impl Strategy<Value = Opt> + Clone {
    prop_oneof![
        1 => Just(Opt::Absent),
        1 => Just(Opt::Null),
        6 => (s, esc()).prop_map(|(s, e)| Opt::Str(s, e)),
    ]
}

fn decimal() -> impl Strategy<Value = String> + Clone {
    prop_oneof!["[0-9]{1,3}\\.[0-9]{1,8}", text(10),]
}

const FILTER_KEYS: &[&str] = &[
    "filterType",
    "tickSize",
    "stepSize",
    "minQty",
    "maxQty",
    "minNotional",
    "notional",
];
const SYMBOL_KEYS: &[&str] = &[
    "symbol",
    "status",
    "baseAsset",
    "quoteAsset",
    "filters",
    "contractType",
    "marginAsset",
    "deliveryDate",
    "onboardDate",
];

#[derive(Clone, Debug)]
struct FilterGen {
    filter_type: (String, Esc),
    tick_size: Opt,
    step_size: Opt,
    min_qty: Opt,
    max_qty: Opt,
    min_notional: Opt,
    notional: Opt,
    extra: Vec<(String, Esc, J)>,
    key_esc: Esc,
    order: u64,
    /// Written as an array in declaration order (serde accepts structs as sequences).
    positional: bool,
}

fn filter_gen() -> impl Strategy<Value = FilterGen> {
    let ty = prop_oneof![
        6 => select(vec!["PRICE_FILTER", "LOT_SIZE", "NOTIONAL", "MIN_NOTIONAL", "MARKET_LOT_SIZE", "PERCENT_PRICE_BY_SIDE"]).prop_map(str::to_string),
        1 => text(14),
    ];
    (
        (ty, esc()),
        (
            opt(decimal()),
            opt(decimal()),
            opt(decimal()),
            opt(decimal()),
            opt(decimal()),
            opt(decimal()),
        ),
        extra_fields(FILTER_KEYS, 3),
        key_esc(),
        any::<u64>(),
        proptest::bool::weighted(0.01),
    )
        .prop_map(
            |(
                filter_type,
                (tick_size, step_size, min_qty, max_qty, min_notional, notional),
                extra,
                key_esc,
                order,
                positional,
            )| FilterGen {
                filter_type,
                tick_size,
                step_size,
                min_qty,
                max_qty,
                min_notional,
                notional,
                extra,
                key_esc,
                order,
                positional,
            },
        )
}

/// Fisher-Yates driven by a SplitMix sequence from `seed` (0 keeps the order).
fn shuffle<T>(v: &mut [T], seed: u64) {
    if seed == 0 {
        return;
    }
    let mut s = seed;
    for i in (1..v.len()).rev() {
        s = splitmix(s);
        v.swap(i, (s % (i as u64 + 1)) as usize);
    }
}

/// An object from known fields (absent ones left out) and unknown ones, shuffled.
fn object(
    known: Vec<(&str, Option<J>)>,
    extra: &[(String, Esc, J)],
    key_esc: Esc,
    order: u64,
) -> J {
    let mut entries: Vec<(String, Esc, J)> = known
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), key_esc, v)))
        .collect();
    entries.extend(extra.iter().cloned());
    shuffle(&mut entries, order);
    J::Obj(entries)
}

impl FilterGen {
    fn json(&self) -> J {
        if self.positional {
            let null = |o: &Opt| o.json().unwrap_or(J::Null);
            return J::Arr(vec![
                J::Str(self.filter_type.0.clone(), self.filter_type.1),
                null(&self.tick_size),
                null(&self.step_size),
                null(&self.min_qty),
                null(&self.max_qty),
                null(&self.min_notional),
                null(&self.notional),
            ]);
        }
        object(
            vec![
                (
                    "filterType",
                    Some(J::Str(self.filter_type.0.clone(), self.filter_type.1)),
                ),
                ("tickSize", self.tick_size.json()),
                ("stepSize", self.step_size.json()),
                ("minQty", self.min_qty.json()),
                ("maxQty", self.max_qty.json()),
                ("minNotional", self.min_notional.json()),
                ("notional", self.notional.json()),
            ],
            &self.extra,
            self.key_esc,
            self.order,
        )
    }
}

#[derive(Clone, Debug)]
struct SymGen {
    symbol: (String, Esc),
    status: Opt,
    base_asset: Opt,
    quote_asset: Opt,
    /// `None`: no `filters` key.
    filters: Option<Vec<FilterGen>>,
    contract_type: Opt,
    margin_asset: Opt,
    /// `None`: absent; `Some(None)`: `null`.
    delivery_date: Option<Option<i64>>,
    onboard_date: Option<Option<i64>>,
    extra: Vec<(String, Esc, J)>,
    key_esc: Esc,
    order: u64,
    positional: bool,
}

fn date() -> impl Strategy<Value = Option<Option<i64>>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(None)),
        1 => any::<i64>().prop_map(|n| Some(Some(n))),
        12 => (0i64..5_000_000_000_000).prop_map(|n| Some(Some(n))),
    ]
}

fn sym_gen() -> impl Strategy<Value = SymGen> {
    let name = prop_oneof![4 => "[A-Z0-9]{2,12}", 1 => text(12)];
    let asset = prop_oneof![4 => "[A-Z]{1,6}", 1 => text(8)];
    let contract = prop_oneof![
        select(vec!["PERPETUAL", "CURRENT_QUARTER", "NEXT_QUARTER", ""]).prop_map(str::to_string),
        text(10)
    ];
    (
        (
            (name, esc()),
            opt(select(vec!["TRADING", "BREAK", "SETTLING", "HALT"]).prop_map(str::to_string)),
            opt(asset.clone()),
            opt(asset.clone()),
        ),
        (
            proptest::option::weighted(0.85, vec(filter_gen(), 0..5)),
            opt(contract),
            opt(asset),
        ),
        (date(), date()),
        (
            extra_fields(SYMBOL_KEYS, 3),
            key_esc(),
            any::<u64>(),
            proptest::bool::weighted(0.02),
        ),
    )
        .prop_map(
            |(
                (symbol, status, base_asset, quote_asset),
                (filters, contract_type, margin_asset),
                (delivery_date, onboard_date),
                (extra, key_esc, order, positional),
            )| SymGen {
                symbol,
                status,
                base_asset,
                quote_asset,
                filters,
                contract_type,
                margin_asset,
                delivery_date,
                onboard_date,
                extra,
                key_esc,
                order,
                positional,
            },
        )
}

fn date_json(d: Option<Option<i64>>) -> Option<J> {
    d.map(|d| d.map_or(J::Null, |n| J::Num(n.to_string())))
}

impl SymGen {
    fn json(&self) -> J {
        let filters = self
            .filters
            .as_ref()
            .map(|f| J::Arr(f.iter().map(FilterGen::json).collect()));
        if self.positional {
            let null = |o: &Opt| o.json().unwrap_or(J::Null);
            return J::Arr(vec![
                J::Str(self.symbol.0.clone(), self.symbol.1),
                null(&self.status),
                null(&self.base_asset),
                null(&self.quote_asset),
                filters.unwrap_or(J::Arr(Vec::new())),
                null(&self.contract_type),
                null(&self.margin_asset),
                date_json(self.delivery_date).unwrap_or(J::Null),
                date_json(self.onboard_date).unwrap_or(J::Null),
            ]);
        }
        object(
            vec![
                ("symbol", Some(J::Str(self.symbol.0.clone(), self.symbol.1))),
                ("status", self.status.json()),
                ("baseAsset", self.base_asset.json()),
                ("quoteAsset", self.quote_asset.json()),
                ("filters", filters),
                ("contractType", self.contract_type.json()),
                ("marginAsset", self.margin_asset.json()),
                ("deliveryDate", date_json(self.delivery_date)),
                ("onboardDate", date_json(self.onboard_date)),
            ],
            &self.extra,
            self.key_esc,
            self.order,
        )
    }

    /// The projection, as documented in exchange_info.rs and README.
    fn expected(&self, market: Market) -> Symbol {
        let mut s = Symbol {
            symbol: self.symbol.0.clone(),
            status: self.status.value().unwrap_or_default(),
            base_asset: self.base_asset.value().unwrap_or_default(),
            quote_asset: self.quote_asset.value().unwrap_or_default(),
            tick_size: None,
            step_size: None,
            min_qty: None,
            max_qty: None,
            min_notional: None,
            contract_type: None,
            margin_asset: None,
            delivery_date: None,
            onboard_date: None,
        };
        for f in self.filters.iter().flatten() {
            match f.filter_type.0.as_str() {
                "PRICE_FILTER" => s.tick_size = f.tick_size.value(),
                "LOT_SIZE" => {
                    s.step_size = f.step_size.value();
                    s.min_qty = f.min_qty.value();
                    s.max_qty = f.max_qty.value();
                }
                "NOTIONAL" => s.min_notional = f.min_notional.value(),
                "MIN_NOTIONAL" if s.min_notional.is_none() => {
                    s.min_notional = match market {
                        Market::Spot => f.min_notional.value(),
                        Market::Futures => f.notional.value().or_else(|| f.min_notional.value()),
                    }
                }
                _ => {}
            }
        }
        if market == Market::Futures {
            s.contract_type = Some(self.contract_type.value().unwrap_or_default());
            s.margin_asset = self.margin_asset.value();
            s.delivery_date = self.delivery_date.flatten();
            s.onboard_date = self.onboard_date.flatten();
        }
        s
    }
}

/// A whole exchangeInfo document: unknown top-level fields around one `symbols` array.
#[derive(Clone, Debug)]
struct DocGen {
    market: Market,
    symbols: Vec<SymGen>,
    extra: Vec<(String, Esc, J)>,
    key_esc: Esc,
    order: u64,
    ws: usize,
    leading_ws: bool,
}

fn doc_gen(max_symbols: usize) -> impl Strategy<Value = DocGen> {
    (
        market(),
        vec(sym_gen(), 0..max_symbols),
        extra_fields(&["symbols"], 4),
        key_esc(),
        any::<u64>(),
        0..WS.len(),
        any::<bool>(),
    )
        .prop_map(
            |(market, symbols, extra, key_esc, order, ws, leading_ws)| DocGen {
                market,
                symbols,
                extra,
                key_esc,
                order,
                ws,
                leading_ws,
            },
        )
}

impl DocGen {
    fn json(&self) -> J {
        let symbols = J::Arr(self.symbols.iter().map(SymGen::json).collect());
        object(
            vec![("symbols", Some(symbols))],
            &self.extra,
            self.key_esc,
            self.order,
        )
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.leading_ws {
            out.extend_from_slice(b" \n");
        }
        render(&self.json(), WS[self.ws], &mut out);
        out
    }

    fn expected(&self) -> Vec<Symbol> {
        self.symbols
            .iter()
            .map(|s| s.expected(self.market))
            .collect()
    }
}

// ---- the checks every parse goes through ----------------------------------------------------

/// Symbol names as serde_json::Value reads the document (`None`: it does not read it as an
/// exchangeInfo shape, e.g. a number out of `f64` range it would have to keep).
fn oracle_names(payload: &[u8]) -> Option<Vec<Option<String>>> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let symbols = v.as_object()?.get("symbols")?.as_array()?;
    Some(
        symbols
            .iter()
            .map(|s| match s {
                serde_json::Value::Object(m) => {
                    m.get("symbol").and_then(|n| n.as_str()).map(str::to_string)
                }
                serde_json::Value::Array(a) => {
                    a.first().and_then(|n| n.as_str()).map(str::to_string)
                }
                _ => None,
            })
            .collect(),
    )
}

/// No panic (proptest catches one), bounded allocation, the scanner agrees with serde_json,
/// and accepted documents keep the input's symbol names in order.
fn check_parse(
    market: Market,
    payload: &[u8],
) -> Result<Result<Vec<Symbol>, ProcessError>, TestCaseError> {
    let (result, peak) = alloc_track::peak(|| parse(market, payload));
    let bound = parse_alloc_bound(payload.len());
    prop_assert!(
        peak <= bound,
        "parse allocated {peak} bytes for {} input bytes (bound {bound})",
        payload.len()
    );
    let reference = parse_serde(market, payload);
    prop_assert_eq!(&result, &reference, "parse and parse_serde disagree");
    match &result {
        Ok(symbols) => {
            if let Some(names) = oracle_names(payload) {
                let got: Vec<Option<String>> =
                    symbols.iter().map(|s| Some(s.symbol.clone())).collect();
                prop_assert_eq!(got, names, "accepted symbols are not the input's");
            }
            for s in symbols {
                prop_assert_eq!(s.contract_type.is_some(), market == Market::Futures);
                if market == Market::Spot {
                    prop_assert!(
                        s.margin_asset.is_none()
                            && s.delivery_date.is_none()
                            && s.onboard_date.is_none()
                    );
                }
            }
        }
        Err(e) => {
            prop_assert!(matches!(e, ProcessError::Parse(_)), "parse returned {e:?}");
            let _ = e.to_string();
        }
    }
    Ok(result)
}

// ---- exchange_info properties ---------------------------------------------------------------

fn json_soup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "\\",
            "\\u",
            "\\ud83d",
            "\\ude00",
            "\\n",
            " ",
            "\n",
            "\t",
            "null",
            "true",
            "false",
            "0",
            "-",
            "1e9",
            ".",
            "\"symbols\"",
            "\"symbol\"",
            "\"filters\"",
            "\"filterType\"",
            "\"PRICE_FILTER\"",
            "\"tickSize\"",
            "\"deliveryDate\"",
            "\"A\"",
            "币",
            "\u{0}",
            "\u{7f}",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        vec(any::<u8>(), 1..4),
    ];
    (any::<bool>(), vec(piece, 0..64)).prop_map(|(prefix, pieces)| {
        let mut out = if prefix {
            b"{\"symbols\":[".to_vec()
        } else {
            Vec::new()
        };
        for p in pieces {
            out.extend_from_slice(&p);
        }
        out
    })
}

fn exchange_info_arbitrary_bytes(r: &mut TestRunner) -> Result<(), String> {
    let input = prop_oneof![vec(any::<u8>(), 0..4096), json_soup()].prop_map(Bytes);
    r.run(&(market(), input), |(m, b)| {
        let _ = check_parse(m, &b.0)?;
        Ok(())
    })
    .map_err(|e| e.to_string())
}

/// Shown as the rendered document (the generator's tree is long).
#[derive(Clone)]
struct Doc(DocGen);

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.0.market, Bytes(self.0.bytes()))
    }
}

fn exchange_info_structured(r: &mut TestRunner) -> Result<(), String> {
    r.run(&doc_gen(6).prop_map(Doc), |Doc(doc)| {
        let payload = doc.bytes();
        let result = check_parse(doc.market, &payload)?;
        match result {
            Ok(symbols) => {
                prop_assert_eq!(symbols, doc.expected(), "projection differs from the model")
            }
            Err(e) => prop_assert!(false, "a valid document was refused: {e}"),
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

/// Structural damage applied to a document tree.
#[derive(Clone, Debug)]
enum Damage {
    /// Replace the n-th node (pre-order) with a value.
    Replace(u64, J),
    /// Repeat an entry of the n-th object (same key), with a new value.
    DuplicateKey(u64, J),
    /// Wrap the n-th node in `depth` arrays/objects.
    Nest(u64, usize, bool),
    /// Text before and after the document.
    Wrap(String, String),
}

fn damage() -> impl Strategy<Value = Damage> {
    let wrong = prop_oneof![json_value(), bad_token().prop_map(J::Raw)];
    prop_oneof![
        4 => (any::<u64>(), wrong.clone()).prop_map(|(n, j)| Damage::Replace(n, j)),
        2 => (any::<u64>(), wrong).prop_map(|(n, j)| Damage::DuplicateKey(n, j)),
        1 => (any::<u64>(), prop_oneof![1..80usize, 100..160usize], any::<bool>()).prop_map(|(n, d, o)| Damage::Nest(n, d, o)),
        1 => (prop_oneof![Just(String::new()), bad_token(), Just("\u{feff}".to_string())], prop_oneof![Just(String::new()), bad_token(), Just(" \n".to_string())]).prop_map(|(a, b)| Damage::Wrap(a, b)),
    ]
}

fn count_nodes(j: &J) -> u64 {
    1 + match j {
        J::Arr(items) => items.iter().map(count_nodes).sum(),
        J::Obj(entries) => entries.iter().map(|(_, _, v)| count_nodes(v)).sum(),
        _ => 0,
    }
}

/// The n-th node in pre-order.
fn node_mut(j: &mut J, mut n: u64) -> Option<&mut J> {
    fn walk<'a>(j: &'a mut J, n: &mut u64) -> Option<&'a mut J> {
        if *n == 0 {
            return Some(j);
        }
        *n -= 1;
        match j {
            J::Arr(items) => items.iter_mut().find_map(|i| walk(i, n)),
            J::Obj(entries) => entries.iter_mut().find_map(|(_, _, v)| walk(v, n)),
            _ => None,
        }
    }
    walk(j, &mut n)
}

fn apply_damage(tree: &mut J, d: &Damage, prefix: &mut String, suffix: &mut String) {
    let count = count_nodes(tree);
    match d {
        Damage::Replace(n, j) => {
            if let Some(node) = node_mut(tree, n % count) {
                *node = j.clone();
            }
        }
        Damage::DuplicateKey(n, j) => {
            // The n-th object that has an entry (looking further from the n-th node).
            for k in 0..count {
                if let Some(J::Obj(entries)) = node_mut(tree, n.wrapping_add(k) % count) {
                    if !entries.is_empty() {
                        let at = (*n as usize) % entries.len();
                        let (key, e, _) = entries[at].clone();
                        let e = if e == Esc::Min {
                            Esc::Unicode
                        } else {
                            Esc::Min
                        };
                        entries.insert(
                            (at + 1 + (*n as usize >> 8) % entries.len()).min(entries.len()),
                            (key, e, j.clone()),
                        );
                        return;
                    }
                }
            }
        }
        Damage::Nest(n, depth, obj) => {
            if let Some(node) = node_mut(tree, n % count) {
                let mut inner = std::mem::replace(node, J::Null);
                for _ in 0..*depth {
                    inner = if *obj {
                        J::Obj(vec![("k".into(), Esc::Min, inner)])
                    } else {
                        J::Arr(vec![inner])
                    };
                }
                *node = inner;
            }
        }
        Damage::Wrap(a, b) => {
            prefix.push_str(a);
            suffix.push_str(b);
        }
    }
}

#[derive(Clone)]
struct Damaged(DocGen, Vec<Damage>);

impl Damaged {
    fn bytes(&self) -> Vec<u8> {
        let mut tree = self.0.json();
        let (mut prefix, mut suffix) = (String::new(), String::new());
        for d in &self.1 {
            apply_damage(&mut tree, d, &mut prefix, &mut suffix);
        }
        let mut out = prefix.into_bytes();
        render(&tree, WS[self.0.ws], &mut out);
        out.extend_from_slice(suffix.as_bytes());
        out
    }
}

impl fmt::Debug for Damaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} (damage {:?})",
            self.0.market,
            Bytes(self.bytes()),
            self.1
        )
    }
}

fn exchange_info_perturbed(r: &mut TestRunner) -> Result<(), String> {
    let input = (doc_gen(4), vec(damage(), 1..4)).prop_map(|(d, dmg)| Damaged(d, dmg));
    r.run(&input, |doc| {
        let _ = check_parse(doc.0.market, &doc.bytes())?;
        Ok(())
    })
    .map_err(|e| e.to_string())
}

fn exchange_info_truncated(r: &mut TestRunner) -> Result<(), String> {
    r.run(
        &(doc_gen(4), any::<u64>()).prop_map(|(d, cut)| (Doc(d), cut)),
        |(Doc(doc), cut)| {
            let payload = doc.bytes();
            // Every strict prefix when small, else a sample of them.
            let len = payload.len();
            let cuts: Vec<usize> = if len <= 256 {
                (0..len).collect()
            } else {
                let mut s = cut;
                (0..256)
                    .map(|_| {
                        s = splitmix(s);
                        (s % len as u64) as usize
                    })
                    .collect()
            };
            for at in cuts {
                let result = check_parse(doc.market, &payload[..at])?;
                prop_assert!(
                    result.is_err(),
                    "a truncation at {at}/{len} parsed: {:?}",
                    Bytes(payload[..at].to_vec())
                );
            }
            Ok(())
        },
    )
    .map_err(|e| e.to_string())
}

const SMALL_SPOT: &str = r#"{"timezone":"UTC","serverTime":1,"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","limit":6000}],"symbols":[
 {"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","baseAssetPrecision":8,"quoteAsset":"BTC","orderTypes":["LIMIT"],"permissionSets":[["SPOT"]],
  "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.00001000","tickSize":"0.00001000"},{"filterType":"LOT_SIZE","minQty":"0.00010000","maxQty":"100000.00000000","stepSize":"0.00010000"},
  {"filterType":"NOTIONAL","minNotional":"0.00010000","applyMinToMarket":true}]},
 {"symbol":"OLD\u0041BC","status":"BREAK","baseAsset":"OLD","quoteAsset":"ABC","filters":[{"filterType":"MIN_NOTIONAL","minNotional":"10.00000000"}]}]}"#;

const SMALL_FUTURES: &str = r#"{"symbols":[{"symbol":"币安人生USDT","pair":"币安人生USDT","contractType":"PERPETUAL","deliveryDate":4133404800000,"onboardDate":1760000000000,
 "status":"TRADING","baseAsset":"币安人生","quoteAsset":"USDT","marginAsset":"USDT","filters":[{"filterType":"PRICE_FILTER","tickSize":"0.0000100"},
 {"filterType":"LOT_SIZE","stepSize":"1","minQty":"1","maxQty":"100000000"},{"filterType":"MIN_NOTIONAL","notional":"5"}]},
 {"symbol":"X","contractType":"","status":"SETTLING","baseAsset":"X","quoteAsset":"USDT","filters":[]}]}"#;

/// One byte-level mutation.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(u64, u8),
    Insert(u64, Vec<u8>),
    Delete(u64, u8),
    Duplicate(u64, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop_oneof![
        bad_token().prop_map(String::into_bytes),
        select(vec![
            "\"",
            "\\",
            "\\u",
            "\\ud800",
            "\"symbol\":\"Z\",",
            "\"symbols\":[",
            "\"filters\":[{",
            "{\"symbol\":\"Q\"},",
            "1e999",
            "\u{0}",
            "\u{ff}"
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        vec(any::<u8>(), 1..4),
    ];
    prop_oneof![
        4 => (any::<u64>(), 1..=255u8).prop_map(|(p, x)| Mutation::Flip(p, x)),
        2 => (any::<u64>(), token).prop_map(|(p, t)| Mutation::Insert(p, t)),
        1 => (any::<u64>(), any::<u8>()).prop_map(|(p, n)| Mutation::Delete(p, n)),
        1 => (any::<u64>(), any::<u8>()).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
    ]
}

fn mutate(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let len = b.len() as u64;
        let at = |p: u64| if len == 0 { 0 } else { (p % len) as usize };
        match m {
            Mutation::Flip(p, x) if len > 0 => b[at(*p)] ^= x,
            Mutation::Flip(..) => {}
            Mutation::Insert(p, t) => {
                let i = at(*p);
                b.splice(i..i, t.iter().copied());
            }
            Mutation::Delete(p, n) => {
                let i = at(*p);
                let end = (i + usize::from(*n) + 1).min(b.len());
                b.drain(i..end);
            }
            Mutation::Duplicate(p, n) => {
                let i = at(*p);
                let end = (i + usize::from(*n) + 1).min(b.len());
                let copy = b[i..end].to_vec();
                b.splice(end..end, copy);
            }
        }
    }
    b
}

fn exchange_info_mutated(r: &mut TestRunner) -> Result<(), String> {
    let base = prop_oneof![
        Just(SMALL_SPOT.as_bytes().to_vec()),
        Just(SMALL_FUTURES.as_bytes().to_vec()),
        doc_gen(3).prop_map(|d| d.bytes()),
    ];
    let input =
        (market(), base, vec(mutation(), 1..5)).prop_map(|(m, b, ms)| (m, Bytes(mutate(b, &ms))));
    r.run(&input, |(m, b)| {
        let _ = check_parse(m, &b.0)?;
        Ok(())
    })
    .map_err(|e| e.to_string())
}

/// Every strict prefix of the two hand-written documents is refused (deterministic).
#[test]
fn exchange_info_every_truncation_is_an_error() {
    for (m, doc) in [(Market::Spot, SMALL_SPOT), (Market::Futures, SMALL_FUTURES)] {
        let b = doc.as_bytes();
        assert_eq!(parse(m, b).expect("the document parses").len(), 2);
        for at in 0..b.len() {
            assert!(
                parse(m, &b[..at]).is_err(),
                "{m}: prefix of {at} bytes parsed"
            );
        }
    }
}

// =============================================================================================
// Routing and percent-decoding.
// =============================================================================================

/// Found by this fuzzer and fixed: `percent_decode` read the two characters after `%` with
/// `u8::from_str_radix`, which accepts a leading `+`, so `%+A` decoded to 0x0A. The flag
/// stays so the reference can model the old behaviour; the suite checks the strict one.
const TOLERATE_PLUS_SIGN_AFTER_PERCENT: bool = false;

/// The documented contract: `%` followed by two hex digits, result UTF-8.
fn reference_decode(s: &str, tolerate_sign: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let (h, l) = (b.get(i + 1).copied()?, b.get(i + 2).copied()?);
            let v = match (hex(h), hex(l)) {
                (Some(h), Some(l)) => h * 16 + l,
                (None, Some(l)) if tolerate_sign && h == b'+' => l,
                _ => return None,
            };
            out.push(v as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes every byte outside `A-Za-z0-9-._~`, or (`minimal`) only `%`, `/`, `?`,
/// `#`, `&`, `=`, `+`, space and controls, leaving non-ASCII characters raw; in a query
/// (`plus_space`) a space becomes `+`.
fn encode(s: &str, minimal: bool, plus_space: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c == ' ' && plus_space {
            out.push('+');
            continue;
        }
        if minimal && !c.is_ascii() {
            out.push(c);
            continue;
        }
        let mut buf = [0u8; 4];
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            let keep = if minimal {
                (0x21..0x7f).contains(&b) && !b"%/?#&=+".contains(&b)
            } else {
                b.is_ascii_alphanumeric() || b"-._~".contains(&b)
            };
            if keep {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn percent_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => text(6),
        2 => "%[0-9a-fA-F]{2}",
        1 => select(vec!["%", "%%", "%+", "%+A", "%+f", "%-1", "%0", "%zz", "%g0", "%0g", "% 1", "%e5%b8", "%E5%B8%81", "%FF", "%C3%A9", "%ED%A0%80", "%00", "+"]).prop_map(str::to_string),
    ];
    vec(piece, 0..12).prop_map(|v| v.concat())
}

fn percent_decode_model(r: &mut TestRunner) -> Result<(), String> {
    r.run(
        &(percent_text(), text(24), any::<bool>()),
        |(s, plain, minimal)| {
            let (got, peak) = alloc_track::peak(|| percent_decode(&s));
            prop_assert!(
                peak <= 2 * s.len() + 256,
                "percent_decode allocated {peak} for {} bytes",
                s.len()
            );
            match &got {
                Ok(d) => prop_assert!(d.len() <= s.len(), "decoded output longer than the input"),
                Err(e) => prop_assert!(matches!(e, RouteError::BadRequest(_)), "{e:?}"),
            }
            prop_assert_eq!(
                got.ok(),
                reference_decode(&s, TOLERATE_PLUS_SIGN_AFTER_PERCENT),
                "input {:?}",
                s
            );
            // Round trip.
            let encoded = encode(&plain, minimal, false);
            prop_assert_eq!(
                percent_decode(&encoded),
                Ok(plain.clone()),
                "encoded as {:?}",
                encoded
            );
            Ok(())
        },
    )
    .map_err(|e| e.to_string())
}

#[test]
fn percent_decode_refuses_a_sign_after_percent() {
    // Minimal inputs found by percent_decode_model with the strict reference.
    assert!(
        percent_decode("%+A").is_err(),
        "%+A decoded to {:?}",
        percent_decode("%+A")
    );
    assert!(matches!(
        route("GET", "/api/symbols/spot/%+A", ""),
        Err(RouteError::BadRequest(_))
    ));
    assert!(matches!(
        route("GET", "/api/symbols/spot", "quote=%+1"),
        Err(RouteError::BadRequest(_))
    ));
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "get", "", "CONNECT",
];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["api", "symbols", "spot", "futures", "metrics", "refresh", "healthz", "openapi.json", "", "SPOT", "margin", "BTCUSDT", "%E5%B8%81%E5%AE%89", "%zz", "%ff", "%", "%2F", "%+1", "."]).prop_map(str::to_string),
        1 => percent_text(),
    ]
}

fn route_path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (vec(segment(), 0..6), any::<bool>()).prop_map(|(segs, slash)| {
            let mut p = format!("/{}", segs.join("/"));
            if slash {
                p.push('/');
            }
            p
        }),
        2 => (select(vec!["spot", "futures", "margin", ""]), percent_text(), select(vec!["", "/", "/refresh", "/x/y"])).prop_map(|(m, s, tail)| format!("/api/symbols/{m}/{s}{tail}")),
        1 => text(64),
        1 => (1..1200usize, select(vec!["/a", "/", "%41", "/api/symbols/spot/"])).prop_map(|(n, p)| p.repeat(n).chars().take(n.max(1)).collect()),
    ]
}

fn route_query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        select(vec![
            "status",
            "quote",
            "base",
            "utm",
            "",
            "status%3D",
            "st%61tus",
            "QUOTE"
        ])
        .prop_map(str::to_string),
        percent_text()
    ];
    let pair = (key, prop_oneof![percent_text(), text(8)], any::<bool>()).prop_map(|(k, v, eq)| {
        if eq {
            format!("{k}={v}")
        } else {
            k
        }
    });
    prop_oneof![
        4 => vec(pair, 0..5).prop_map(|p| p.join("&")),
        1 => text(40),
        1 => (1..2600usize).prop_map(|n| "q=1&".repeat(n / 4 + 1).chars().take(n).collect()),
    ]
}

fn check_route(
    method: &str,
    path: &str,
    query: &str,
) -> Result<Result<Route, RouteError>, TestCaseError> {
    let (result, peak) = alloc_track::peak(|| route(method, path, query));
    let overlong = path.len() > request::MAX_PATH_BYTES || query.len() > request::MAX_QUERY_BYTES;
    if overlong {
        prop_assert_eq!(&result, &Err(RouteError::UriTooLong));
        prop_assert_eq!(
            peak,
            0,
            "an overlong URI was processed before being refused"
        );
    } else {
        let bound = 64 * (path.len() + query.len() + method.len()) + 4096;
        prop_assert!(
            peak <= bound,
            "route allocated {peak} bytes (bound {bound})"
        );
    }
    match &result {
        Ok(Route::One { symbol, .. }) => {
            prop_assert!((1..=64).contains(&symbol.len()), "symbol {symbol:?}")
        }
        Ok(Route::List { filter, .. }) => {
            for v in [&filter.status, &filter.quote, &filter.base]
                .into_iter()
                .flatten()
            {
                prop_assert!(
                    !v.is_empty() && v.trim() == v && v.len() <= 3 * query.len(),
                    "filter value {v:?}"
                );
            }
        }
        Ok(_) => {}
        Err(e) => {
            prop_assert!(
                overlong || *e != RouteError::UriTooLong,
                "UriTooLong for a short URI"
            );
            match e {
                RouteError::NotFound(p) => prop_assert!(p.chars().count() <= 128),
                RouteError::UnknownMarket(m) => prop_assert!(m.chars().count() <= 32),
                RouteError::MethodNotAllowed { method: m, allow } => {
                    prop_assert!(m.chars().count() <= 16);
                    prop_assert!(*allow == request::READ_METHODS || *allow == "POST");
                    prop_assert!(!matches!(method, "GET" | "HEAD" | "OPTIONS") || *allow == "POST");
                }
                RouteError::BadRequest(msg) => prop_assert!(msg.len() <= 128),
                RouteError::UriTooLong => {}
            }
            prop_assert!(e.to_string().len() <= 512, "error message too long");
        }
    }
    Ok(result)
}

fn route_arbitrary(r: &mut TestRunner) -> Result<(), String> {
    let method = prop_oneof![4 => select(METHODS.to_vec()).prop_map(str::to_string), 1 => text(40)];
    r.run(
        &(method, route_path(), route_query()),
        |(method, path, query)| {
            let result = check_route(&method, &path, &query)?;
            // A symbol route decodes its segment exactly as the reference does.
            if let Ok(Route::One { symbol, .. }) = &result {
                let trimmed = path
                    .strip_suffix('/')
                    .filter(|p| !p.is_empty())
                    .unwrap_or(&path);
                let seg = trimmed.rsplit('/').next().unwrap_or_default();
                prop_assert_eq!(
                    Some(symbol.clone()),
                    reference_decode(seg, TOLERATE_PLUS_SIGN_AFTER_PERCENT)
                );
            }
            Ok(())
        },
    )
    .map_err(|e| e.to_string())
}

/// The list route's filter from raw query pairs, as documented: last non-empty value wins,
/// trimmed and ASCII-uppercased (asset codes are ASCII or caseless), unknown keys ignored.
fn expected_filter(pairs: &[(String, String)]) -> Filter {
    let mut f = Filter::default();
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "status" => &mut f.status,
            "quote" => &mut f.quote,
            "base" => &mut f.base,
            _ => continue,
        };
        let v = v.trim();
        if !v.is_empty() {
            *slot = Some(v.to_ascii_uppercase());
        }
    }
    f
}

#[derive(Clone, Debug)]
enum RoundTrip {
    One {
        market: Market,
        symbol: String,
        minimal: bool,
        method: &'static str,
        slash: bool,
    },
    List {
        market: Market,
        pairs: Vec<(String, String)>,
        minimal: bool,
        plus: bool,
        slash: bool,
    },
    Refresh {
        market: Market,
        slash: bool,
    },
    BadMarket {
        name: String,
    },
}

fn round_trip() -> impl Strategy<Value = RoundTrip> {
    let symbol = prop_oneof![3 => "[A-Z0-9]{1,20}", 2 => text(20)]
        .prop_filter("1..=64 bytes", |s| !s.is_empty() && s.len() <= 64);
    let key = prop_oneof![4 => select(vec!["status", "quote", "base"]).prop_map(str::to_string), 1 => text(6)];
    prop_oneof![
        (
            market(),
            symbol,
            any::<bool>(),
            select(vec!["GET", "HEAD", "OPTIONS"]),
            any::<bool>()
        )
            .prop_map(|(market, symbol, minimal, method, slash)| RoundTrip::One {
                market,
                symbol,
                minimal,
                method,
                slash
            }),
        (
            market(),
            vec((key, text(10)), 0..5),
            any::<bool>(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(market, pairs, minimal, plus, slash)| RoundTrip::List {
                market,
                pairs,
                minimal,
                plus,
                slash
            }),
        (market(), any::<bool>()).prop_map(|(market, slash)| RoundTrip::Refresh { market, slash }),
        text(40)
            .prop_filter("not a market or a route word", |s| ![
                "spot", "futures", "metrics", ""
            ]
            .contains(&s.as_str())
                && !s.contains('/'))
            .prop_map(|name| RoundTrip::BadMarket { name }),
    ]
}

fn route_round_trip(r: &mut TestRunner) -> Result<(), String> {
    r.run(&round_trip(), |rt| {
        let slash = |s: bool| if s { "/" } else { "" };
        match rt {
            RoundTrip::One {
                market,
                symbol,
                minimal,
                method,
                slash: sl,
            } => {
                let path = format!(
                    "/api/symbols/{market}/{}{}",
                    encode(&symbol, minimal, false),
                    slash(sl)
                );
                let got = check_route(method, &path, "")?;
                prop_assert_eq!(got, Ok(Route::One { market, symbol }), "path {:?}", path);
            }
            RoundTrip::List {
                market,
                pairs,
                minimal,
                plus,
                slash: sl,
            } => {
                let query: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| {
                        format!("{}={}", encode(k, minimal, plus), encode(v, minimal, plus))
                    })
                    .collect();
                let query = query.join("&");
                let path = format!("/api/symbols/{market}{}", slash(sl));
                let got = check_route("GET", &path, &query)?;
                prop_assert_eq!(
                    got,
                    Ok(Route::List {
                        market,
                        filter: expected_filter(&pairs)
                    }),
                    "query {:?}",
                    query
                );
            }
            RoundTrip::Refresh { market, slash: sl } => {
                let path = format!("/api/symbols/{market}/refresh{}", slash(sl));
                prop_assert_eq!(
                    check_route("POST", &path, "")?,
                    Ok(Route::Refresh { market })
                );
                let put = check_route("PUT", &path, "")?;
                prop_assert_eq!(
                    put,
                    Err(RouteError::MethodNotAllowed {
                        method: "PUT".into(),
                        allow: "POST"
                    })
                );
            }
            RoundTrip::BadMarket { name } => {
                let path = format!("/api/symbols/{name}");
                if path.len() <= request::MAX_PATH_BYTES {
                    let got = check_route("GET", &path, "")?;
                    prop_assert_eq!(
                        got,
                        Err(RouteError::UnknownMarket(name.chars().take(32).collect()))
                    );
                }
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

// =============================================================================================
// Stored list documents.
// =============================================================================================

fn symbol_value() -> impl Strategy<Value = Symbol> {
    common::symbols_from(text(12), text(8), text(6), text(6), text(10))
}

#[derive(Clone, Debug)]
struct Stored {
    market: Market,
    upstream: String,
    fetched_at: String,
    symbols: Vec<Symbol>,
}

fn stored() -> impl Strategy<Value = Stored> {
    (market(), text(24), text(24), vec(symbol_value(), 0..6)).prop_map(
        |(market, upstream, fetched_at, symbols)| Stored {
            market,
            upstream,
            fetched_at,
            symbols,
        },
    )
}

fn other(m: Market) -> Market {
    match m {
        Market::Spot => Market::Futures,
        Market::Futures => Market::Spot,
    }
}

fn is_json(b: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(b).is_ok()
}

fn stored_list_round_trip(r: &mut TestRunner) -> Result<(), String> {
    r.run(&stored(), |s| {
        let list = StoredList::build(s.market, &s.upstream, s.fetched_at.clone(), &s.symbols);
        let bytes = list.as_bytes().to_vec();
        prop_assert!(is_json(&bytes));
        // The hand-written serialisation is serde_json's, byte for byte.
        let reference = symbols_core::reference::build_serde(
            s.market,
            &s.upstream,
            s.fetched_at.clone(),
            &s.symbols,
        );
        prop_assert!(
            bytes == reference,
            "differs from serde_json: {:?} vs {:?}",
            Bytes(bytes.clone()),
            Bytes(reference)
        );
        prop_assert!(
            StoredList::from_bytes(other(s.market), bytes.clone()).is_none(),
            "accepted for the other market"
        );
        let again = StoredList::from_bytes(s.market, bytes.clone());
        prop_assert!(
            again.is_some(),
            "a built document was refused: {:?}",
            Bytes(bytes)
        );
        let again = again.expect("checked");
        prop_assert_eq!(again.header(), list.header());
        prop_assert_eq!(again.header().count, s.symbols.len());
        prop_assert_eq!(&again.header().upstream, &s.upstream);
        prop_assert_eq!(&again.header().fetched_at, &s.fetched_at);
        let doc = again
            .parse()
            .map_err(|e| TestCaseError::fail(format!("parse: {e}")))?;
        prop_assert_eq!(&doc.symbols, &s.symbols);
        for source in [Source::Cache, Source::Upstream, Source::LastGood] {
            let body = again.response_body(source);
            let v: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| TestCaseError::fail(format!("body: {e}")))?;
            prop_assert_eq!(v["source"].as_str(), Some(source.as_str()));
            prop_assert_eq!(v["market"].as_str(), Some(s.market.as_str()));
            prop_assert_eq!(v["count"].as_u64(), Some(s.symbols.len() as u64));
            let head = format!("{{\"source\":\"{}\",\"market\":", source.as_str());
            prop_assert!(
                body.starts_with(head.as_bytes()),
                "body does not start with {head}"
            );
        }
        if let Some(first) = s.symbols.first() {
            let found = again
                .find(&first.symbol)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(found.as_ref(), Some(first), "find returned another symbol");
            let filter = Filter {
                status: Some(first.status.to_uppercase()),
                quote: None,
                base: None,
            };
            let body = again
                .filtered_body(Source::Cache, &filter)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let v: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| TestCaseError::fail(format!("filtered: {e}")))?;
            let want = s.symbols.iter().filter(|x| filter.matches(x)).count();
            prop_assert_eq!(v["count"].as_u64(), Some(want as u64));
            prop_assert_eq!(v["symbols"].as_array().map(Vec::len), Some(want));
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

/// Stored-document-shaped bytes: a header object of random fields, the marker, anything,
/// and the closing `]}`.
fn header_shaped() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        (
            select(vec![
                "market",
                "version",
                "upstream",
                "fetchedAt",
                "count",
                "source"
            ]),
            json_value()
        )
            .prop_map(|(k, v)| (k.to_string(), v)),
        market().prop_map(|m| ("market".to_string(), J::Str(m.as_str().into(), Esc::Min))),
        Just((
            "version".to_string(),
            J::Str("0123456789abcdef".into(), Esc::Min)
        )),
        Just((
            "fetchedAt".to_string(),
            J::Str("1970-01-01T00:00:00Z".into(), Esc::Min)
        )),
        (0u64..10).prop_map(|n| ("count".to_string(), J::Num(n.to_string()))),
        (text(6), json_value()).prop_map(|(k, v)| (k, v)),
    ];
    (
        vec(field, 0..8),
        prop_oneof![
            json_soup(),
            vec(json_value(), 0..3).prop_map(|v| {
                let s = to_bytes(&J::Arr(v), "");
                s[1..s.len() - 1].to_vec()
            })
        ],
    )
        .prop_map(|(fields, rest)| {
            let header = to_bytes(
                &J::Obj(fields.into_iter().map(|(k, v)| (k, Esc::Min, v)).collect()),
                "",
            );
            let mut out = header[..header.len() - 1].to_vec();
            out.extend_from_slice(b",\"symbols\":[");
            out.extend_from_slice(&rest);
            out.extend_from_slice(b"]}");
            out
        })
}

fn check_stored(market: Market, input: &[u8]) -> Result<(), TestCaseError> {
    let (accepted, peak) = alloc_track::peak(|| StoredList::from_bytes(market, input.to_vec()));
    let bound = 4 * input.len() + ALLOC_SLACK;
    prop_assert!(
        peak <= bound,
        "from_bytes allocated {peak} for {} bytes",
        input.len()
    );
    let Some(list) = accepted else { return Ok(()) };
    prop_assert_eq!(list.header().market.as_str(), market.as_str());
    prop_assert_eq!(list.as_bytes(), input);
    let valid = is_json(input);
    for source in [Source::Cache, Source::LastGood] {
        let body = list.response_body(source);
        prop_assert_eq!(body.len(), input.len() + 12 + source.as_str().len());
        if valid {
            prop_assert!(
                is_json(&body),
                "response_body is not JSON for JSON input: {:?}",
                Bytes(body)
            );
        }
    }
    let filter = Filter {
        status: Some("TRADING".into()),
        quote: Some("USDT".into()),
        base: None,
    };
    if let Ok(body) = list.filtered_body(Source::Cache, &filter) {
        prop_assert!(
            is_json(&body),
            "filtered_body is not JSON: {:?}",
            Bytes(body)
        );
    }
    let _ = list.find("BTCUSDT");
    let _ = list.parse();
    Ok(())
}

fn stored_list_arbitrary(r: &mut TestRunner) -> Result<(), String> {
    let built = (stored(), vec(mutation(), 0..4)).prop_map(|(s, ms)| {
        let list = StoredList::build(s.market, &s.upstream, s.fetched_at, &s.symbols);
        mutate(list.as_bytes().to_vec(), &ms)
    });
    let input = prop_oneof![
        1 => vec(any::<u8>(), 0..2048),
        1 => json_soup(),
        2 => header_shaped(),
        2 => built,
    ];
    r.run(&(market(), input.prop_map(Bytes)), |(m, b)| {
        check_stored(m, &b.0)
    })
    .map_err(|e| e.to_string())
}
