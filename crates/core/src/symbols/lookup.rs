//! Single-symbol lookups and list filters read straight from the stored document's bytes,
//! without deserialising the symbols array (serde_json on the 2,292-symbol spot list costs
//! milliseconds per request).
//!
//! The scanner accepts only the exact layout [`StoredList`](crate::symbols::StoredList)
//! writes: header keys in order, every symbol object with its keys in the order of
//! `fields.rs`' table, no whitespace, and every string spelled with serde_json's escapes. A document in
//! that layout is one serde_json parses, and each symbol object is byte for byte what
//! serialising its parsed value gives back, so
//! - a lookup that finds an object deserialises just that one and gets the value the full
//!   parse would have given;
//! - a filter can copy the matching objects' bytes verbatim and produce the body the
//!   parse-and-rebuild path produces.
//!
//! Anything else (another writer's spacing, key order or escapes, truncation, corruption
//! anywhere in the array) is [`NotCanonical`], and the caller falls back to the full
//! parse, which gives the answer or the error it always gave.

use std::ops::Range;

use super::fields::{first_key, next_key, with_symbol_fields};
use super::fields::{K_COUNT, K_FETCHED_AT, K_MARKET, K_SYMBOLS, K_UPSTREAM, K_VERSION};
use crate::filter::Filter;
use crate::json::bytes::{decode, stops, word, HIGHS};

/// Where the bytes left the layout the scanner reads (byte offsets into the document).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotCanonical {
    /// The header before the symbols array.
    #[error("stored header not in the canonical layout")]
    Header,
    /// The symbol object starting at this offset.
    #[error("symbol object at byte {0} not in the canonical layout")]
    Symbol(usize),
    /// Between objects, or after the array.
    #[error("unexpected byte {0} around the symbols array")]
    Array(usize),
}

/// The byte range of the first symbol object whose `symbol` equals `symbol`, else of the
/// first one equal to it ignoring ASCII case, else `None`. The whole document is checked,
/// so `Ok` means the full parse would have succeeded too.
///
/// # Errors
/// [`NotCanonical`] when the document is not in the layout the scanner reads.
pub fn find(doc: &[u8], symbol: &str) -> Result<Option<Range<usize>>, NotCanonical> {
    let want = symbol.as_bytes();
    let mut exact = None;
    let mut folded = None;
    scan(doc, |o| {
        if exact.is_some() {
            return;
        }
        if text_eq(doc, &o.symbol, want, false) {
            exact = Some(o.range.clone());
        } else if folded.is_none() && text_eq(doc, &o.symbol, want, true) {
            folded = Some(o.range.clone());
        }
    })?;
    Ok(exact.or(folded))
}

/// The byte ranges of the symbol objects passing `filter`, in document order (the same
/// test as [`Filter::matches`]: exact equality of the decoded values).
///
/// # Errors
/// [`NotCanonical`] when the document is not in the layout the scanner reads.
pub fn filter(doc: &[u8], filter: &Filter) -> Result<Vec<Range<usize>>, NotCanonical> {
    fn want(v: &Option<String>) -> Option<&[u8]> {
        v.as_deref().map(str::as_bytes)
    }
    let (status, quote, base) = (
        want(&filter.status),
        want(&filter.quote),
        want(&filter.base),
    );
    let pass = |s: &Str, w: Option<&[u8]>| w.is_none_or(|w| text_eq(doc, s, w, false));
    let mut kept = Vec::new();
    scan(doc, |o| {
        if pass(&o.status, status) && pass(&o.quote_asset, quote) && pass(&o.base_asset, base) {
            kept.push(o.range.clone());
        }
    })?;
    Ok(kept)
}

/// A string value: its bytes between the quotes, and whether they contain escapes.
#[derive(Clone, Debug)]
struct Str {
    inner: Range<usize>,
    escaped: bool,
}

/// Walks the whole document, calling `each` for every symbol object in order.
fn scan(doc: &[u8], mut each: impl FnMut(&Object)) -> Result<(), NotCanonical> {
    let mut i = header(doc).ok_or(NotCanonical::Header)?;
    if doc.get(i) == Some(&b']') {
        i += 1;
    } else {
        loop {
            let (o, next) = object(doc, i).ok_or(NotCanonical::Symbol(i))?;
            each(&o);
            i = next;
            match doc.get(i) {
                Some(b',') => i += 1,
                Some(b']') => {
                    i += 1;
                    break;
                }
                _ => return Err(NotCanonical::Array(i)),
            }
        }
    }
    if doc.get(i) == Some(&b'}') && i + 1 == doc.len() {
        Ok(())
    } else {
        Err(NotCanonical::Array(i))
    }
}

/// The header in `assemble`'s order; returns the offset just past the array's `[`. The
/// key order matters beyond our own reading: a header with an extra `symbols` key (which
/// `from_bytes` ignores) makes the full parse fail on the duplicate.
fn header(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    for k in [K_MARKET, K_VERSION, K_UPSTREAM, K_FETCHED_AT] {
        i = key(b, i, k)?;
        i = string(b, i)?.1;
    }
    i = key(b, i, K_COUNT)?;
    i = uint(b, i)?;
    i = key(b, i, K_SYMBOLS)?;
    (b.get(i) == Some(&b'[')).then_some(i + 1)
}

/// One field's value at `b[i]` (its key included), by kind: its span for text (the
/// lookups and filters read text fields only), `()` for the others, which are only checked;
/// and the offset past it.
macro_rules! read_field {
    (text, $b:ident, $i:ident, $key:expr) => {
        string($b, key($b, $i, $key)?)
    };
    (text_or_null, $b:ident, $i:ident, $key:expr) => {{
        let at = key($b, $i, $key)?;
        match $b.get(at..at + 4) {
            Some(b"null") => Some(((), at + 4)),
            _ => string($b, at).map(|(_, end)| ((), end)),
        }
    }};
    // `null` is never written for these: the field is either there or left out.
    (text_if_set, $b:ident, $i:ident, $key:expr) => {
        match key($b, $i, $key) {
            Some(at) => string($b, at).map(|(_, end)| ((), end)),
            None => Some(((), $i)),
        }
    };
    (int_if_set, $b:ident, $i:ident, $key:expr) => {
        match key($b, $i, $key) {
            Some(at) => int($b, at).map(|end| ((), end)),
            None => Some(((), $i)),
        }
    };
}

/// A field's span type, by kind.
macro_rules! span {
    (text) => {
        Str
    };
    ($other:ident) => {
        ()
    };
}

/// [`Object`] and its reader, from the table.
macro_rules! define_reader {
    (
        $(#[$fdoc:meta])* $first:ident : text = $fkey:literal,
        $( $(#[$doc:meta])* $f:ident : $kind:ident = $key:literal, )*
    ) => {
        /// What the lookups see of one symbol object: its range and each text field's span.
        // Every field has a slot, so the table makes the struct; the `()` ones (checked,
        // never read) cost nothing.
        #[allow(dead_code)]
        struct Object {
            range: Range<usize>,
            $first: Str,
            $( $f: span!($kind), )*
        }

        /// One symbol object as [`super::Symbol::write_json`] writes it; returns it and the
        /// offset past its `}`.
        fn object(b: &[u8], start: usize) -> Option<(Object, usize)> {
            let ($first, i) = read_field!(text, b, start, first_key!($fkey))?;
            $( let ($f, i) = read_field!($kind, b, i, next_key!($key))?; )*
            (b.get(i) == Some(&b'}')).then(|| {
                (
                    Object { range: start..i + 1, $first, $( $f, )* },
                    i + 1,
                )
            })
        }
    };
}

with_symbol_fields!(define_reader);

/// `k` at `b[i]`; returns the offset past it. Every key is 9 to 16 bytes long, so two
/// overlapping words compare it (a slice comparison calls `memcmp`, which costs more than
/// the comparison on keys this short, thirteen times per symbol).
#[inline]
fn key(b: &[u8], i: usize, k: &[u8]) -> Option<usize> {
    let have = b.get(i..i + k.len())?;
    let eq = match (
        word(have, 0),
        word(k, 0),
        word(have, k.len().wrapping_sub(8)),
        word(k, k.len().wrapping_sub(8)),
    ) {
        (Some(a), Some(b), Some(c), Some(d)) if k.len() <= 16 => a == b && c == d,
        _ => have == k,
    };
    eq.then_some(i + k.len())
}

/// A mask whose lowest set bit is in the first byte of `x` (little-endian) that ends or
/// escapes a string, is a control character, or is not ASCII (only the lowest is exact).
#[inline]
fn special(x: u64) -> u64 {
    stops(x) | (x & HIGHS)
}

/// A string at `b[i]` spelled as serde_json writes it; returns it and the offset past the
/// closing quote. Eight bytes at a time: symbol names, assets and decimals rarely need
/// more than two words.
fn string(b: &[u8], i: usize) -> Option<(Str, usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let mut i = start;
    let mut escaped = false;
    let mut ascii = true;
    loop {
        if let Some(word) = b.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
            let m = special(u64::from_le_bytes(word));
            if m == 0 {
                i += 8;
                continue;
            }
            i += (m.trailing_zeros() / 8) as usize;
        }
        match *b.get(i)? {
            b'"' => break,
            b'\\' => {
                i = escape(b, i)?;
                escaped = true;
            }
            0..=0x1f => return None,
            0x80..=0xff => {
                ascii = false;
                i += 1;
            }
            _ => i += 1,
        }
    }
    // serde_json refuses invalid UTF-8 inside strings; the escapes checked above are ASCII.
    if !ascii {
        std::str::from_utf8(b.get(start..i)?).ok()?;
    }
    Some((
        Str {
            inner: start..i,
            escaped,
        },
        i + 1,
    ))
}

/// The escape at `b[i] == '\\'`, only if it is the one serde_json writes for its character
/// (`\u00e9` or `\/` decode fine but would not be copied back verbatim); returns the
/// offset past it.
fn escape(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i + 1)? {
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 2),
        b'u' => {
            let &[b'0', b'0', hi @ (b'0' | b'1'), lo] = b.get(i + 2..i + 6)? else {
                return None;
            };
            let lo = match lo {
                b'0'..=b'9' => lo - b'0',
                b'a'..=b'f' => lo - b'a' + 10,
                _ => return None,
            };
            let c = (hi - b'0') * 16 + lo;
            (!matches!(c, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d)).then_some(i + 6)
        }
        _ => None,
    }
}

/// Does the string's decoded text equal `want` (ASCII case folded when `fold`)? Decodes
/// only when the value has escapes.
fn text_eq(doc: &[u8], s: &Str, want: &[u8], fold: bool) -> bool {
    let Some(raw) = doc.get(s.inner.clone()) else {
        return false;
    };
    let eq = |have: &[u8]| {
        if fold {
            have.eq_ignore_ascii_case(want)
        } else {
            have == want
        }
    };
    if s.escaped {
        decode(raw).is_some_and(|text| eq(text.as_bytes()))
    } else {
        eq(raw)
    }
}

/// An unsigned integer as serde_json writes a `usize` (no sign, no leading zero) that fits
/// in one; returns the offset past it.
fn uint(b: &[u8], i: usize) -> Option<usize> {
    let (magnitude, end) = digits(b, i)?;
    usize::try_from(magnitude).ok()?;
    Some(end)
}

/// A signed integer as serde_json writes an `i64` (no `-0`) that fits in one; returns the
/// offset past it.
fn int(b: &[u8], i: usize) -> Option<usize> {
    let negative = b.get(i) == Some(&b'-');
    let (magnitude, end) = digits(b, i + usize::from(negative))?;
    let fits = if negative {
        magnitude != 0 && magnitude <= i64::MIN.unsigned_abs()
    } else {
        magnitude <= i64::MAX as u64
    };
    fits.then_some(end)
}

/// Decimal digits without a leading zero, as a `u64`.
fn digits(b: &[u8], i: usize) -> Option<(u64, usize)> {
    let mut end = i;
    let mut v: u64 = 0;
    while let Some(d @ b'0'..=b'9') = b.get(end) {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        end += 1;
    }
    let ok = end > i && (b.get(i) != Some(&b'0') || end == i + 1);
    ok.then_some((v, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbols::{StoredList, Symbol};
    use crate::Market;

    fn sym(name: &str, status: &str, base: &str, quote: &str) -> Symbol {
        Symbol {
            symbol: name.into(),
            status: status.into(),
            base_asset: base.into(),
            quote_asset: quote.into(),
            tick_size: Some("0.01".into()),
            step_size: None,
            min_qty: Some("1".into()),
            max_qty: Some("9".into()),
            min_notional: None,
            contract_type: None,
            margin_asset: None,
            delivery_date: None,
            onboard_date: None,
        }
    }

    #[test]
    fn strings_every_escape_serde_json_writes_and_no_other() {
        let all: String = (0u8..0x80)
            .map(char::from)
            .chain("é币🚀\u{7f}".chars())
            .collect();
        let written = serde_json::to_vec(&all).expect("a string serialises");
        let (s, end) = string(&written, 0).expect("serde_json's spelling is canonical");
        assert_eq!(end, written.len());
        assert!(s.escaped);
        assert_eq!(decode(&written[s.inner]).as_deref(), Some(all.as_str()));
        for other in [
            &br#""\u00e9""#[..],
            br#""\/""#,
            br#""\u000a""#,
            br#""\u001F""#,
            br#""\u0020""#,
            br#""\x""#,
            b"\"\n\"",
            b"\"\xff\"",
            b"\"abc",
            b"\"\\",
            b"\"\\u00",
        ] {
            assert!(string(other, 0).is_none(), "{}", other.escape_ascii());
        }
    }

    #[test]
    fn integers_as_serde_json_writes_them() {
        for ok in [
            "0",
            "7",
            "-1",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert_eq!(int(ok.as_bytes(), 0), Some(ok.len()), "{ok}");
        }
        for bad in [
            "",
            "-",
            "-0",
            "01",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
        ] {
            assert_eq!(int(bad.as_bytes(), 0), None, "{bad}");
        }
        assert_eq!(
            uint(b"18446744073709551615", 0),
            (usize::BITS == 64).then_some(20)
        );
    }

    #[test]
    fn built_documents_are_scanned() {
        let mut futures = sym("币安人生USDT", "TRADING", "币安人生", "USDT");
        futures.contract_type = Some("PERPETUAL".into());
        futures.delivery_date = Some(4_133_404_800_000);
        let list = StoredList::build(
            Market::Futures,
            "u\"\\",
            "t".into(),
            &[
                sym("BTCUSDT", "TRADING", "BTC", "USDT"),
                sym("Q\"\n", "BREAK", "Q\"", "\u{1}"),
                futures,
            ],
        );
        let doc = list.as_bytes();
        let at = |r: Option<Range<usize>>| {
            r.and_then(|r| serde_json::from_slice::<Symbol>(&doc[r]).ok())
                .map(|s| s.symbol)
        };
        assert_eq!(
            at(find(doc, "btcusdt").unwrap()).as_deref(),
            Some("BTCUSDT")
        );
        assert_eq!(at(find(doc, "q\"\n").unwrap()).as_deref(), Some("Q\"\n"));
        assert_eq!(
            at(find(doc, "币安人生usdt").unwrap()).as_deref(),
            Some("币安人生USDT")
        );
        assert_eq!(find(doc, "ETHUSDT"), Ok(None));
        let quote = |q: &str| Filter {
            quote: Some(q.into()),
            ..Filter::default()
        };
        assert_eq!(filter(doc, &quote("USDT")).unwrap().len(), 2);
        assert_eq!(filter(doc, &quote("\u{1}")).unwrap().len(), 1);
        assert_eq!(
            filter(
                doc,
                &Filter {
                    base: Some("Q\"".into()),
                    status: Some("BREAK".into()),
                    quote: None
                }
            )
            .unwrap()
            .len(),
            1
        );
        assert_eq!(filter(doc, &quote("usdt")).unwrap().len(), 0);
        let empty = StoredList::build(Market::Spot, "u", "t".into(), &[]);
        assert_eq!(find(empty.as_bytes(), "A"), Ok(None));
    }

    #[test]
    fn other_layouts_are_not_canonical() {
        let list = StoredList::build(
            Market::Spot,
            "u",
            "t".into(),
            &[sym("A", "TRADING", "A", "B")],
        );
        let doc = String::from_utf8(list.as_bytes().to_vec()).unwrap();
        let variants = [
            doc.replace(",\"status\"", ", \"status\""),
            doc.replace(
                "{\"symbol\":\"A\",\"status\":\"TRADING\"",
                "{\"status\":\"TRADING\",\"symbol\":\"A\"",
            ),
            doc.replace("\"stepSize\":null", "\"stepSize\":\"1\",\"extra\":1"),
            doc.replace("\"count\":1", "\"count\":01"),
            doc.replace("{\"market\"", "{\"symbols\":[],\"market\""),
            doc.replace("\"A\"", "\"\\u0041\""),
            doc.replace("]}", "]} "),
            doc.replace("]}", "],\"x\":1}"),
            doc.replace('}', ""),
            doc[..doc.len() - 5].to_string(),
        ];
        for v in variants {
            assert!(find(v.as_bytes(), "A").is_err(), "{v}");
            assert!(filter(v.as_bytes(), &Filter::default()).is_err(), "{v}");
        }
    }
}
