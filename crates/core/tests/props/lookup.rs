//! `StoredList::find` and `StoredList::filtered_body`, which read the stored bytes with the
//! `lookup` scanner, against `find_serde` / `filtered_body_serde`, the full-parse
//! implementations they replaced (and still fall back to).
//!
//! | property | checks |
//! |---|---|
//! | `lookup_equivalence` | generated lists (escapes, controls, non-ASCII, names differing only in case, duplicates): the scanner reads every built document itself, and `find` / `filtered_body` equal the old path, body bytes included |
//! | `lookup_odd_bytes` | the same documents mutated (flips, inserted tokens and whitespace, deletions, truncation inside the array) or rewritten as another writer would (spacing, key order, `\uXXXX` escapes): the same answer or the same error as the old path |
//!
//! A module of `tests/fuzz.rs`: its suite runs both properties with a fixed seed and its
//! long run (`scripts/fuzz.sh`) fuzzes them with the others; `FUZZ_SEED=<u64>` and
//! `FUZZ_CASES=<n>` replay or widen a run. The recorded exchange payloads are checked in
//! `crates/bench-tools/tests/lookup.rs` (they live in `fake-exchange`).

use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{TestCaseError, TestRunner};

use symbols_core::filter::Filter;
use symbols_core::symbols::lookup;
use symbols_core::symbols::{Source, StoredList, Symbol};
use symbols_core::Market;

// =============================================================================================
// Generators.
// =============================================================================================

#[derive(Clone)]
struct Bytes(Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\" ({} bytes)", self.0.escape_ascii(), self.0.len())
    }
}

/// Text biased towards what a string scanner gets wrong: quotes, backslashes, every
/// control character, non-ASCII, and the words `"symbol"` / `},{`.
fn text(max: usize) -> impl Strategy<Value = String> + Clone {
    let ch = prop_oneof![
        6 => proptest::char::range('A', 'Z'),
        3 => proptest::char::range('a', 'z'),
        1 => proptest::char::range('0', '9'),
        2 => proptest::char::range('\0', '\u{1f}'),
        2 => select(vec!['"', '\\', '/', '{', '}', '[', ']', ',', ':', ' ', '\u{7f}', '\u{a0}', '\u{2028}', 'é', 'É', 'ß', '币', '安', '🚀', '\u{10ffff}']),
        1 => any::<char>(),
    ];
    let words = select(vec![
        "\"symbol\":\"BTCUSDT\"",
        "},{",
        "\\u0041",
        "\\\"",
        "null",
    ])
    .prop_map(str::to_string);
    vec(
        prop_oneof![8 => ch.prop_map(String::from), 1 => words],
        0..max,
    )
    .prop_map(|v| v.concat())
}

/// Values drawn mostly from small pools, so that filters match, names repeat and differ
/// only in case.
fn pooled(pool: Vec<&'static str>, max: usize) -> impl Strategy<Value = String> + Clone {
    prop_oneof![4 => select(pool).prop_map(str::to_string), 1 => text(max)]
}

fn names() -> impl Strategy<Value = String> + Clone {
    pooled(
        vec![
            "BTCUSDT",
            "btcusdt",
            "BtcUsdt",
            "ETHBTC",
            "币安人生USDT",
            "币安人生usdt",
            "A\"B",
            "Q\\\n",
            "É",
            "é",
            "X\u{1}",
            "",
        ],
        12,
    )
}

fn statuses() -> impl Strategy<Value = String> + Clone {
    pooled(vec!["TRADING", "BREAK", "trading", "SETTLING", ""], 8)
}

fn assets() -> impl Strategy<Value = String> + Clone {
    pooled(
        vec!["BTC", "USDT", "usdt", "ETH", "币安人生", "A\"", "\t", ""],
        6,
    )
}

fn symbol() -> impl Strategy<Value = Symbol> {
    crate::common::symbols_from(names(), statuses(), assets(), assets(), text(10))
}

#[derive(Clone, Debug)]
struct Doc {
    market: Market,
    upstream: String,
    fetched_at: String,
    symbols: Vec<Symbol>,
}

impl Doc {
    fn list(&self) -> StoredList {
        StoredList::build(
            self.market,
            &self.upstream,
            self.fetched_at.clone(),
            &self.symbols,
        )
    }
}

fn doc(max: usize) -> impl Strategy<Value = Doc> {
    let market = prop_oneof![Just(Market::Spot), Just(Market::Futures)];
    (market, text(16), text(12), vec(symbol(), 0..max)).prop_map(
        |(market, upstream, fetched_at, symbols)| Doc {
            market,
            upstream,
            fetched_at,
            symbols,
        },
    )
}

fn filter() -> impl Strategy<Value = Filter> {
    let o = |s: BoxedStrategy<String>| proptest::option::of(s);
    (
        o(statuses().boxed()),
        o(assets().boxed()),
        o(assets().boxed()),
    )
        .prop_map(|(status, quote, base)| Filter {
            status,
            quote,
            base,
        })
}

/// Every filter built from the values a list holds (one field, and all three together),
/// plus the case-folded forms the router produces.
fn filters_of(symbols: &[Symbol]) -> Vec<Filter> {
    let mut out = Vec::new();
    for s in symbols.iter().take(4) {
        out.push(Filter {
            status: Some(s.status.clone()),
            ..Filter::default()
        });
        out.push(Filter {
            quote: Some(s.quote_asset.clone()),
            ..Filter::default()
        });
        out.push(Filter {
            base: Some(s.base_asset.to_ascii_uppercase()),
            ..Filter::default()
        });
        out.push(Filter {
            status: Some(s.status.clone()),
            quote: Some(s.quote_asset.clone()),
            base: Some(s.base_asset.clone()),
        });
    }
    out
}

/// Names to look up in a list: each name, its case-folded forms, and near misses.
fn needles_of(symbols: &[Symbol]) -> Vec<String> {
    let mut out = vec![String::new(), "BTCUSDT".into(), "NOPE".into()];
    for s in symbols {
        out.push(s.symbol.clone());
        out.push(s.symbol.to_ascii_lowercase());
        out.push(s.symbol.to_ascii_uppercase());
        out.push(format!("{}X", s.symbol));
    }
    out
}

// =============================================================================================
// The comparison with the old path.
// =============================================================================================

fn same<T: PartialEq + fmt::Debug>(
    what: &str,
    new: Result<T, serde_json::Error>,
    old: Result<T, serde_json::Error>,
) -> Result<(), TestCaseError> {
    match (new, old) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", what),
        (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string(), "{}: errors", what),
        (a, b) => prop_assert!(
            false,
            "{}: new {:?}, old {:?}",
            what,
            a.map(|_| ()),
            b.map(|_| ())
        ),
    }
    Ok(())
}

fn check_list(
    list: &StoredList,
    needles: &[String],
    filters: &[Filter],
) -> Result<(), TestCaseError> {
    for n in needles {
        same(
            &format!("find({n:?})"),
            list.find(n),
            symbols_core::reference::find_serde(list, n),
        )?;
    }
    for f in filters {
        for source in [Source::Cache, Source::LastGood] {
            let new = list.filtered_body(source, f).map(Bytes);
            let old = symbols_core::reference::filtered_body_serde(list, source, f).map(Bytes);
            match (&new, &old) {
                (Ok(a), Ok(b)) => {
                    prop_assert!(a.0 == b.0, "filtered_body({f:?}):\nnew {a:?}\nold {b:?}")
                }
                _ => same(
                    &format!("filtered_body({f:?})"),
                    new.map(|b| b.0),
                    old.map(|b| b.0),
                )?,
            }
        }
    }
    Ok(())
}

pub fn lookup_equivalence(r: &mut TestRunner) -> Result<(), String> {
    r.run(
        &(doc(8), vec(filter(), 1..6), vec(text(8), 0..3)),
        |(d, mut filters, mut needles)| {
            let list = StoredList::from_bytes(d.market, d.list().as_bytes().to_vec());
            let Some(list) = list else {
                return Err(TestCaseError::fail("a built document was refused"));
            };
            // Our own documents never take the fallback.
            let bytes = list.as_bytes();
            prop_assert!(
                lookup::find(bytes, "BTCUSDT").is_ok(),
                "scanner refused {:?}",
                Bytes(bytes.to_vec())
            );
            prop_assert!(
                lookup::filter(bytes, &Filter::default()).map(|k| k.len()) == Ok(d.symbols.len())
            );
            filters.extend(filters_of(&d.symbols));
            needles.extend(needles_of(&d.symbols));
            check_list(&list, &needles, &filters)?;
            // The model: exact match first, then ASCII case folding, first in order.
            for n in &needles {
                let want = d
                    .symbols
                    .iter()
                    .find(|s| s.symbol == *n)
                    .or_else(|| d.symbols.iter().find(|s| s.symbol.eq_ignore_ascii_case(n)));
                let got = list.find(n).ok().flatten();
                prop_assert_eq!(got.as_ref(), want, "find({:?})", n);
            }
            Ok(())
        },
    )
    .map_err(|e| e.to_string())
}

// =============================================================================================
// Odd stored bytes.
// =============================================================================================

#[derive(Clone, Debug)]
enum Damage {
    /// XOR one byte.
    Flip(u64, u8),
    /// Insert bytes (whitespace, quotes, braces, a key...).
    Insert(u64, &'static str),
    /// Delete up to n+1 bytes.
    Delete(u64, u8),
    /// Cut inside the array and close it again (`]}`), as a truncated write would look once
    /// "repaired" by a careless writer.
    Truncate(u64),
}

fn damage() -> impl Strategy<Value = Damage> {
    let token = select(vec![
        " ",
        "\n",
        "\t",
        "\"",
        "\\",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "null",
        "0",
        "-0",
        "\\u00e9",
        "\\/",
        "\u{ff}",
        ",\"x\":1",
        "\"symbol\":\"Z\",",
    ]);
    prop_oneof![
        3 => (any::<u64>(), 1..=255u8).prop_map(|(p, x)| Damage::Flip(p, x)),
        3 => (any::<u64>(), token).prop_map(|(p, t)| Damage::Insert(p, t)),
        1 => (any::<u64>(), any::<u8>()).prop_map(|(p, n)| Damage::Delete(p, n % 8)),
        1 => any::<u64>().prop_map(Damage::Truncate),
    ]
}

fn apply(mut b: Vec<u8>, ds: &[Damage]) -> Vec<u8> {
    for d in ds {
        let len = b.len() as u64;
        let at = |p: u64| if len == 0 { 0 } else { (p % len) as usize };
        match d {
            Damage::Flip(p, x) => {
                if let Some(c) = b.get_mut(at(*p)) {
                    *c ^= x;
                }
            }
            Damage::Insert(p, t) => {
                let i = at(*p);
                b.splice(i..i, t.bytes());
            }
            Damage::Delete(p, n) => {
                let i = at(*p);
                let end = (i + usize::from(*n) + 1).min(b.len());
                b.drain(i..end);
            }
            Damage::Truncate(p) => {
                b.truncate(at(*p));
                b.extend_from_slice(b"]}");
            }
        }
    }
    b
}

/// Non-ASCII as `\uXXXX` (surrogate pairs above the BMP), as Python's `json.dumps` writes it.
fn ascii_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// The same document as another writer would store it.
#[derive(Clone, Copy, Debug)]
enum Writer {
    /// serde_json::Value: keys sorted.
    Sorted,
    /// Indented.
    Pretty,
    /// Python's defaults: `", "` and `": "` separators, ASCII only.
    Python,
    /// Ours, with non-ASCII escaped.
    AsciiOnly,
}

fn rewrite(bytes: &[u8], w: Writer) -> Vec<u8> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return bytes.to_vec();
    };
    match w {
        Writer::Sorted => serde_json::to_vec(&v).unwrap_or_default(),
        Writer::Pretty => serde_json::to_vec_pretty(&v).unwrap_or_default(),
        Writer::Python => {
            let s = serde_json::to_string_pretty(&v).unwrap_or_default();
            // Collapsing the indentation (outside strings: pretty strings hold no raw newline).
            let flat: Vec<&str> = s.lines().map(str::trim_start).collect();
            let flat = flat
                .join(" ")
                .replace("[ ", "[")
                .replace("{ ", "{")
                .replace(" ]", "]")
                .replace(" }", "}");
            ascii_escaped(&flat).into_bytes()
        }
        Writer::AsciiOnly => ascii_escaped(&String::from_utf8_lossy(bytes)).into_bytes(),
    }
}

pub fn lookup_odd_bytes(r: &mut TestRunner) -> Result<(), String> {
    let writer = prop_oneof![
        Just(None),
        Just(Some(Writer::Sorted)),
        Just(Some(Writer::Pretty)),
        Just(Some(Writer::Python)),
        Just(Some(Writer::AsciiOnly))
    ];
    r.run(
        &(doc(5), writer, vec(damage(), 0..3), vec(filter(), 1..4)),
        |(d, w, ds, mut filters)| {
            let built = d.list().as_bytes().to_vec();
            let written = w.map_or(built.clone(), |w| rewrite(&built, w));
            let bytes = apply(written, &ds);
            let Some(list) = StoredList::from_bytes(d.market, bytes.clone()) else {
                return Ok(());
            };
            filters.extend(filters_of(&d.symbols));
            let needles = needles_of(&d.symbols);
            check_list(&list, &needles, &filters)
                .map_err(|e| TestCaseError::fail(format!("{e}\ndocument: {:?}", Bytes(bytes))))
        },
    )
    .map_err(|e| e.to_string())
}

// =============================================================================================
// Deterministic cases.
// =============================================================================================

fn spot_symbol(name: &str, status: &str, base: &str, quote: &str) -> Symbol {
    Symbol {
        symbol: name.into(),
        status: status.into(),
        base_asset: base.into(),
        quote_asset: quote.into(),
        tick_size: Some("0.01000000".into()),
        step_size: Some("0.00001000".into()),
        min_qty: None,
        max_qty: Some("9000.00000000".into()),
        min_notional: Some("5.00000000".into()),
        contract_type: None,
        margin_asset: None,
        delivery_date: None,
        onboard_date: None,
    }
}

fn sample() -> StoredList {
    let mut futures = spot_symbol("币安人生USDT", "TRADING", "币安人生", "USDT");
    futures.contract_type = Some("PERPETUAL".into());
    futures.margin_asset = Some("USDT".into());
    futures.delivery_date = Some(4_133_404_800_000);
    futures.onboard_date = Some(1_760_000_000_000);
    StoredList::build(
        Market::Spot,
        "https://api.binance.com",
        "2025-12-24T08:00:00Z".into(),
        &[
            spot_symbol("BTCUSDT", "TRADING", "BTC", "USDT"),
            spot_symbol("ETHBTC", "BREAK", "ETH", "BTC"),
            spot_symbol("Q\"\\\u{1}\n", "TRADING", "Q\"", "BTC"),
            spot_symbol("ÉTHBTC", "TRADING", "ÉTH", "BTC"),
            futures,
        ],
    )
}

fn all_filters() -> Vec<Filter> {
    let mut out = Vec::new();
    let o = |v: &[&str]| {
        std::iter::once(None)
            .chain(v.iter().map(|s| Some(s.to_string())))
            .collect::<Vec<_>>()
    };
    for status in o(&["TRADING", "BREAK", "HALT"]) {
        for quote in o(&["USDT", "BTC", "EUR"]) {
            for base in o(&["BTC", "ETH", "Q\"", "ÉTH", "币安人生", "éTH", "DOGE"]) {
                out.push(Filter {
                    status: status.clone(),
                    quote: quote.clone(),
                    base,
                });
            }
        }
    }
    out
}

fn check_deterministic(name: &str, list: &StoredList) {
    let needles: Vec<String> = [
        "BTCUSDT",
        "btcusdt",
        "ETHBTC",
        "EthBtc",
        "Q\"\\\u{1}\n",
        "q\"\\\u{1}\n",
        "ÉTHBTC",
        "Éthbtc",
        "éTHBTC",
        "币安人生USDT",
        "币安人生usdt",
        "DOGEUSDT",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Err(e) = check_list(list, &needles, &all_filters()) {
        panic!("{name}: {e}");
    }
}

#[test]
fn our_documents_are_read_by_the_scanner() {
    let list = sample();
    check_deterministic("built", &list);
    assert!(lookup::find(list.as_bytes(), "BTCUSDT").is_ok());
    let found = list.find("q\"\\\u{1}\n").expect("valid").expect("present");
    assert_eq!(found.symbol, "Q\"\\\u{1}\n");
    let found = list.find("币安人生usdt").expect("valid").expect("present");
    assert_eq!(found.delivery_date, Some(4_133_404_800_000));
    assert_eq!(
        list.find("éthbtc").expect("valid"),
        None,
        "É is not ASCII: no folding"
    );
    let body = list
        .filtered_body(
            Source::Cache,
            &Filter {
                quote: Some("BTC".into()),
                status: Some("TRADING".into()),
                base: None,
            },
        )
        .expect("valid");
    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(v["count"], 2);
    assert_eq!(v["symbols"][0]["symbol"], "Q\"\\\u{1}\n");
}

#[test]
fn other_writers_and_damage_fall_back_to_the_same_answer() {
    let built = sample().as_bytes().to_vec();
    let text = String::from_utf8(built.clone()).expect("UTF-8");
    let obj = text.find("{\"symbol\":\"ETHBTC\"").expect("present");
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("sorted keys".into(), rewrite(&built, Writer::Sorted)),
        ("pretty".into(), rewrite(&built, Writer::Pretty)),
        ("python".into(), rewrite(&built, Writer::Python)),
        ("ascii only".into(), rewrite(&built, Writer::AsciiOnly)),
        (
            "header keys reordered".into(),
            text.replacen(
                "\"upstream\":\"https://api.binance.com\",\"fetchedAt\":\"2025-12-24T08:00:00Z\"",
                "\"fetchedAt\":\"2025-12-24T08:00:00Z\",\"upstream\":\"https://api.binance.com\"",
                1,
            )
            .into_bytes(),
        ),
        (
            "object keys reordered".into(),
            text.replacen(
                "{\"symbol\":\"ETHBTC\",\"status\":\"BREAK\"",
                "{\"status\":\"BREAK\",\"symbol\":\"ETHBTC\"",
                1,
            )
            .into_bytes(),
        ),
        (
            "space after a comma".into(),
            text.replacen(",\"status\"", ", \"status\"", 1).into_bytes(),
        ),
        (
            "\\/ escape".into(),
            text.replacen("https://", "https:\\/\\/", 1).into_bytes(),
        ),
        (
            "\\u00c9".into(),
            text.replacen("ÉTHBTC", "\\u00c9THBTC", 1).into_bytes(),
        ),
        (
            "truncated inside the array".into(),
            format!("{}]}}", &text[..obj + 20]).into_bytes(),
        ),
        (
            "object cut short".into(),
            format!("{}]}}", &text[..text.len() - 40]).into_bytes(),
        ),
        (
            "unbalanced: a missing brace".into(),
            text.replacen("00\"},", "00\",", 1).into_bytes(),
        ),
        (
            "unbalanced: an extra brace".into(),
            text.replacen("00\"},", "00\"}},", 1).into_bytes(),
        ),
        (
            "unknown key in an object".into(),
            text.replacen("null,", "null,\"x\":[1,{\"a\":\"}\"}],", 1)
                .into_bytes(),
        ),
        (
            "duplicate key".into(),
            text.replacen(
                "\"status\":\"BREAK\"",
                "\"status\":\"BREAK\",\"status\":\"TRADING\"",
                1,
            )
            .into_bytes(),
        ),
        (
            "null for a futures field".into(),
            text.replacen("00\"},", "00\",\"contractType\":null},", 1)
                .into_bytes(),
        ),
        (
            "symbols key in the header".into(),
            text.replacen("\"count\"", "\"symbols\":0,\"count\"", 1)
                .into_bytes(),
        ),
        (
            "wrong type".into(),
            text.replacen("\"status\":\"BREAK\"", "\"status\":1", 1)
                .into_bytes(),
        ),
        (
            "-0 date".into(),
            text.replacen("4133404800000", "-0", 1).into_bytes(),
        ),
        (
            "date out of range".into(),
            text.replacen("4133404800000", "9223372036854775808", 1)
                .into_bytes(),
        ),
        (
            "raw control in a string".into(),
            text.replacen("ETHBTC", "ETH\u{1}BTC", 1).into_bytes(),
        ),
    ];
    let mut bad = built.clone();
    bad.splice(obj + 12..obj + 12, [0x80u8]);
    cases.push(("lone continuation byte".into(), bad));
    let mut refused = Vec::new();
    for (name, bytes) in cases {
        assert_ne!(bytes, built, "{name}: the rewrite changed nothing");
        let Some(list) = StoredList::from_bytes(Market::Spot, bytes.clone()) else {
            refused.push(name);
            continue;
        };
        assert!(
            lookup::find(&bytes, "BTCUSDT").is_err(),
            "{name}: the scanner read a document not in our layout: {}",
            bytes.escape_ascii()
        );
        check_deterministic(&name, &list);
    }
    // The shape check stops these before any lookup (`symbols` is not the last key, or the
    // marker has spaces); every other case reached both paths.
    assert_eq!(refused, ["sorted keys", "pretty", "python"]);
}
