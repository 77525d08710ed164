//! Parsing and projecting Binance exchangeInfo, and validating the result before any write.
//!
//! [`parse`] is a hand-written single-pass scanner (module `scan` below): it walks the
//! payload once, skips every value it does not keep without building anything (strings,
//! numbers, nested arrays and objects are validated and stepped over), records the kept
//! strings as borrowed spans of the payload (no allocation per filter or per field seen),
//! and allocates only the fields of the final [`Symbol`]s. A 4 MB spot payload never
//! becomes a DOM. Unknown fields and enum values are tolerated.
//!
//! Exactness: the scanner accepts a strict subset of what the serde_json visitor
//! ([`parse_serde`], the previous implementation) accepts and produces the same symbols on
//! it. Whenever it meets anything else (malformed or truncated JSON, a duplicate field, an
//! escaped key, a number that is not a plain integer where one is kept, positional
//! structs, nesting deeper than 60) it gives up and the serde_json visitor decides, so
//! errors (and their messages) and rare accepted shapes are exactly those of serde_json.
//! The tests compare both on the fixtures, on every truncation and on mutated payloads.

use std::borrow::Cow;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::market::Market;
use crate::symbols::Symbol;

/// Why a payload or a processed list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// Not JSON, truncated, or not the exchangeInfo shape.
    #[error("exchangeInfo did not parse: {0}")]
    Parse(String),
    /// `symbols` was empty.
    #[error("exchangeInfo has no symbols")]
    Empty,
    /// The new list lost too many of last_good's symbols.
    #[error("list shrank from {previous} to {new} symbols (more than {max_loss_pct}% lost)")]
    Shrunk {
        /// last_good's count.
        previous: usize,
        /// The new count.
        new: usize,
        /// The configured threshold, in percent.
        max_loss_pct: u32,
    },
}

#[derive(Deserialize)]
struct Filter<'a> {
    #[serde(rename = "filterType", borrow)]
    filter_type: Cow<'a, str>,
    #[serde(rename = "tickSize", borrow, default)]
    tick_size: Option<Cow<'a, str>>,
    #[serde(rename = "stepSize", borrow, default)]
    step_size: Option<Cow<'a, str>>,
    #[serde(rename = "minQty", borrow, default)]
    min_qty: Option<Cow<'a, str>>,
    #[serde(rename = "maxQty", borrow, default)]
    max_qty: Option<Cow<'a, str>>,
    #[serde(rename = "minNotional", borrow, default)]
    min_notional: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    notional: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawSymbol<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(rename = "baseAsset", borrow, default)]
    base_asset: Option<Cow<'a, str>>,
    #[serde(rename = "quoteAsset", borrow, default)]
    quote_asset: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    filters: Vec<Filter<'a>>,
    #[serde(rename = "contractType", borrow, default)]
    contract_type: Option<Cow<'a, str>>,
    #[serde(rename = "marginAsset", borrow, default)]
    margin_asset: Option<Cow<'a, str>>,
    #[serde(rename = "deliveryDate", default)]
    delivery_date: Option<i64>,
    #[serde(rename = "onboardDate", default)]
    onboard_date: Option<i64>,
}

fn own(c: &Option<Cow<'_, str>>) -> Option<String> {
    c.as_ref().map(|s| s.to_string())
}

impl RawSymbol<'_> {
    fn project(self, market: Market) -> Symbol {
        let mut s = Symbol {
            symbol: self.symbol.into_owned(),
            status: self.status.map(Cow::into_owned).unwrap_or_default(),
            base_asset: self.base_asset.map(Cow::into_owned).unwrap_or_default(),
            quote_asset: self.quote_asset.map(Cow::into_owned).unwrap_or_default(),
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
        for f in &self.filters {
            match f.filter_type.as_ref() {
                "PRICE_FILTER" => s.tick_size = own(&f.tick_size),
                "LOT_SIZE" => {
                    s.step_size = own(&f.step_size);
                    s.min_qty = own(&f.min_qty);
                    s.max_qty = own(&f.max_qty);
                }
                // NOTIONAL replaced MIN_NOTIONAL on spot; prefer it when both appear.
                "NOTIONAL" => s.min_notional = own(&f.min_notional),
                "MIN_NOTIONAL" if s.min_notional.is_none() => {
                    s.min_notional = match market {
                        Market::Spot => own(&f.min_notional),
                        Market::Futures => own(&f.notional).or_else(|| own(&f.min_notional)),
                    }
                }
                _ => {}
            }
        }
        if market == Market::Futures {
            s.contract_type = Some(self.contract_type.map(Cow::into_owned).unwrap_or_default());
            s.margin_asset = own(&self.margin_asset);
            s.delivery_date = self.delivery_date;
            s.onboard_date = self.onboard_date;
        }
        s
    }
}

/// Visits the top-level object, projecting each symbol as it streams past, so the raw
/// symbols never sit in memory all at once.
struct InfoVisitor(Market);

impl<'de> Visitor<'de> for InfoVisitor {
    type Value = Vec<Symbol>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an exchangeInfo object with a `symbols` array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Symbol>, A::Error> {
        let mut symbols = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "symbols" {
                symbols = Some(map.next_value_seed(SymbolsSeed(self.0))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        symbols.ok_or_else(|| de::Error::missing_field("symbols"))
    }
}

struct SymbolsSeed(Market);

impl<'de> de::DeserializeSeed<'de> for SymbolsSeed {
    type Value = Vec<Symbol>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Symbol>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SymbolsSeed {
    type Value = Vec<Symbol>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of symbols")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Symbol>, A::Error> {
        // Capped: a hostile size hint must not allocate unboundedly.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(8192));
        while let Some(raw) = seq.next_element::<RawSymbol<'de>>()? {
            out.push(raw.project(self.0));
        }
        Ok(out)
    }
}

/// Parses an exchangeInfo payload and projects every symbol (no validation beyond shape).
///
/// # Errors
/// [`ProcessError::Parse`] for anything that is not exchangeInfo-shaped JSON.
pub fn parse(market: Market, payload: &[u8]) -> Result<Vec<Symbol>, ProcessError> {
    match scan::document(market, payload) {
        Ok((symbols, _)) => Ok(symbols),
        // Malformed, or a shape the scanner leaves alone: serde_json gives the exact answer.
        Err(scan::Bail) => parse_serde(market, payload),
    }
}

/// The scanner alone: `None` where it leaves the payload to serde_json (malformed input
/// or a rare shape). For tests and benchmarks that must know which path ran.
#[doc(hidden)]
pub fn parse_fast_path(market: Market, payload: &[u8]) -> Option<Vec<Symbol>> {
    scan::document(market, payload)
        .ok()
        .map(|(symbols, _)| symbols)
}

/// A parsed payload: the projected symbols and, for each, its object exactly as Binance
/// sent it (every field), for the original system's list ([`crate::original`]).
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The projected symbols, in payload order.
    pub symbols: Vec<Symbol>,
    /// `raw[i]` is the JSON object `symbols[i]` was projected from.
    pub raw: Vec<Cow<'a, [u8]>>,
}

/// [`parse`], also keeping each symbol's raw object. The scanner hands out spans of the
/// payload; on the rare shapes it leaves to serde_json, a second pass steps over the
/// objects to find them.
///
/// # Errors
/// Those of [`parse`].
pub fn parse_with_raw(market: Market, payload: &[u8]) -> Result<Parsed<'_>, ProcessError> {
    if let Ok((symbols, spans)) = scan::document(market, payload) {
        let raw = spans
            .into_iter()
            .map(|r| Cow::Borrowed(payload.get(r).unwrap_or_default()))
            .collect();
        return Ok(Parsed { symbols, raw });
    }
    let symbols = parse_serde(market, payload)?;
    // serde_json accepted a shape the scanner leaves to it; the objects' text is still
    // found by stepping over them (the last `symbols` array wins, as in serde_json).
    let spans = scan::symbol_spans(payload).map_err(|_| {
        ProcessError::Parse(
            "the symbols array could not be cut into objects (escaped `symbols` key?)".into(),
        )
    })?;
    if spans.len() != symbols.len() {
        return Err(ProcessError::Parse(
            "symbols changed between two parses".into(),
        ));
    }
    let raw = spans
        .into_iter()
        .map(|r| Cow::Borrowed(payload.get(r).unwrap_or_default()))
        .collect();
    Ok(Parsed { symbols, raw })
}

/// Parses a bare JSON array of exchangeInfo symbol objects (the original system's stored
/// list) and projects each like [`parse`], with the scanner alone.
///
/// # Errors
/// [`ProcessError::Parse`] when it is not such an array.
pub fn parse_array(market: Market, bytes: &[u8]) -> Result<Vec<Symbol>, ProcessError> {
    // The scanner alone (no serde_json fallback, which would cost the Worker's bundle a
    // second copy of the symbols visitor): what `json.dumps` writes is plain JSON it reads
    // (spacing, `\uXXXX` escapes); anything else is reported, never guessed at.
    scan::array(market, bytes).map_err(|scan::Bail| {
        ProcessError::Parse("not a JSON array of exchangeInfo symbol objects".into())
    })
}

/// The serde_json visitor implementation: [`parse`]'s fallback (the exact errors) and the
/// reference its scanner is tested and benchmarked against. Same contract as [`parse`].
///
/// # Errors
/// [`ProcessError::Parse`] for anything that is not exchangeInfo-shaped JSON.
#[doc(hidden)]
#[inline(never)] // one copy for parse and parse_with_raw (the Worker's bundle)
pub fn parse_serde(market: Market, payload: &[u8]) -> Result<Vec<Symbol>, ProcessError> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    let symbols = de
        .deserialize_map(InfoVisitor(market))
        .map_err(|e| ProcessError::Parse(e.to_string()))?;
    de.end().map_err(|e| ProcessError::Parse(e.to_string()))?;
    Ok(symbols)
}

/// The fast path of [`parse`]: a single-pass scanner over the payload bytes.
///
/// Every function returns `Err(Bail)` as soon as the input is not something it is sure
/// serde_json would accept with the same result; [`parse`] then asks [`parse_serde`].
/// It mirrors serde_json 1.x's grammar: whitespace is `' ' \n \t \r`; strings may not
/// hold raw control characters; escapes are `\" \\ \/ \b \f \n \r \t \uXXXX`; strings
/// deserialised into `str` (keys of the objects we read, and kept values) must be UTF-8
/// with paired surrogates, while skipped strings are only checked for escapes and control
/// characters (as `IgnoredAny` does); numbers follow RFC 8259; literals are exact.
mod scan {
    use std::ops::Range;

    use crate::market::Market;
    use crate::symbols::Symbol;

    /// The scanner gave up (malformed input, or a shape left to serde_json).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Bail;

    type R<T> = Result<T, Bail>;

    /// Deeper nesting inside a skipped value is left to serde_json.
    const MAX_SKIP_DEPTH: u32 = 60;

    /// Bytes that end the fast run through a string: `"`, `\` and control characters.
    static STRING_STOP: [bool; 256] = {
        let mut t = [false; 256];
        let mut c = 0;
        while c < 0x20 {
            t[c] = true;
            c += 1;
        }
        t[b'"' as usize] = true;
        t[b'\\' as usize] = true;
        t
    };

    /// A kept JSON string, validated as serde_json validates a `str`: the text itself
    /// (borrowed from the payload, checked to be UTF-8) or, with escapes, its raw
    /// content, decoded only when it is kept.
    #[derive(Clone, Copy)]
    enum Str<'a> {
        /// ASCII text (nearly every kept string).
        Ascii(&'a [u8]),
        /// Other UTF-8 text.
        Plain(&'a [u8]),
        Escaped(&'a [u8]),
    }

    impl Str<'_> {
        fn to_owned_string(self) -> String {
            match self {
                // Checked when scanned: never fails. (Most kept strings are dropped
                // unowned, e.g. the values of filters nobody keeps, so the `str` is only
                // made, with `from_utf8`'s call, for the few that become a `Symbol`. A
                // byte loop pushing chars instead was slower under V8: the string's length
                // lives in linear memory, one store per byte.)
                Str::Ascii(text) | Str::Plain(text) => {
                    String::from_utf8(text.to_vec()).unwrap_or_default()
                }
                // Checked when scanned: never fails.
                Str::Escaped(raw) => decode(raw).unwrap_or_default(),
            }
        }
    }

    fn owned(s: Option<Str<'_>>) -> Option<String> {
        s.map(Str::to_owned_string)
    }

    fn hex4(b: Option<&[u8]>) -> Option<u16> {
        let b = b?;
        let mut n: u16 = 0;
        for &c in b {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return None,
            };
            n = (n << 4) | u16::from(d);
        }
        Some(n)
    }

    /// Decodes a string's raw content with serde_json's rules for `str`: surrogates must
    /// pair, and the result must be UTF-8. `None` where serde_json would fail.
    pub(crate) fn decode(raw: &[u8]) -> Option<String> {
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            let c = raw[i];
            if c != b'\\' {
                out.push(c);
                i += 1;
                continue;
            }
            let e = *raw.get(i + 1)?;
            i += 2;
            let simple = match e {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    let n = hex4(raw.get(i..i + 4))?;
                    i += 4;
                    let code = match n {
                        0xDC00..=0xDFFF => return None,
                        0xD800..=0xDBFF => {
                            if raw.get(i..i + 2) != Some(b"\\u") {
                                return None;
                            }
                            let n2 = hex4(raw.get(i + 2..i + 6))?;
                            i += 6;
                            if !(0xDC00..=0xDFFF).contains(&n2) {
                                return None;
                            }
                            0x1_0000 + ((u32::from(n - 0xD800) << 10) | u32::from(n2 - 0xDC00))
                        }
                        _ => u32::from(n),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(char::from_u32(code)?.encode_utf8(&mut buf).as_bytes());
                    continue;
                }
                _ => return None,
            };
            out.push(simple);
        }
        String::from_utf8(out).ok()
    }

    /// A short ASCII name packed into two little-endian words, zero padded: keys and
    /// filter types are compared as two integer compares instead of `memcmp` calls.
    /// Names longer than 16 bytes get [`LONG`], which no name below packs to.
    type Code = (u64, u64);
    const LONG: Code = (u64::MAX, u64::MAX);

    const fn code(name: &[u8]) -> Code {
        let mut words = [0u64; 2];
        let mut j = 0;
        while j < name.len() {
            words[j / 8] |= (name[j] as u64) << (8 * (j % 8));
            j += 1;
        }
        (words[0], words[1])
    }

    /// The code of `b[start..start + len]`: two word loads and masks when 16 bytes are
    /// readable there, else a byte loop.
    #[inline(always)]
    fn code_at(b: &[u8], start: usize, len: usize) -> Code {
        if len > 16 {
            return LONG;
        }
        let mask = |n: usize| {
            if n >= 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            }
        };
        if let Some(c) = b.get(start..start + 16) {
            let mut lo = [0u8; 8];
            let mut hi = [0u8; 8];
            lo.copy_from_slice(&c[..8]);
            hi.copy_from_slice(&c[8..]);
            (
                u64::from_le_bytes(lo) & mask(len),
                u64::from_le_bytes(hi) & mask(len.saturating_sub(8)),
            )
        } else {
            let mut words = [0u64; 2];
            for (j, &c) in b[start..start + len].iter().enumerate() {
                words[j / 8] |= u64::from(c) << (8 * (j % 8));
            }
            (words[0], words[1])
        }
    }

    /// Whether `code` is that of a short ASCII text (it holds every byte; none has the
    /// high bit set).
    #[inline(always)]
    fn is_ascii_code(code: Code) -> bool {
        code != LONG && (code.0 | code.1) & (u64::MAX / 255 * 0x80) == 0
    }

    /// Whether `raw` is UTF-8, as serde_json checks a `str`. ASCII (nearly every string
    /// of a payload) is confirmed inline eight bytes at a time; only other text pays for
    /// the call to `from_utf8`, which showed up at 6% of the processing time under V8.
    #[inline(always)]
    fn is_utf8(raw: &[u8]) -> bool {
        is_ascii(raw) || std::str::from_utf8(raw).is_ok()
    }

    /// Whether `raw` is ASCII, eight bytes at a time.
    #[inline(always)]
    fn is_ascii(raw: &[u8]) -> bool {
        const HIGHS: u64 = u64::MAX / 255 * 0x80;
        let mut chunks = raw.chunks_exact(8);
        let mut high = 0u64;
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            high |= u64::from_le_bytes(w);
        }
        let mut tail = 0u8;
        for &c in chunks.remainder() {
            tail |= c;
        }
        high & HIGHS == 0 && tail < 0x80
    }

    // Keys of the top-level object, of a symbol and of a filter; filter types.
    const K_SYMBOLS: Code = code(b"symbols");
    const K_SYMBOL: Code = code(b"symbol");
    const K_STATUS: Code = code(b"status");
    const K_BASE_ASSET: Code = code(b"baseAsset");
    const K_QUOTE_ASSET: Code = code(b"quoteAsset");
    const K_FILTERS: Code = code(b"filters");
    const K_CONTRACT_TYPE: Code = code(b"contractType");
    const K_MARGIN_ASSET: Code = code(b"marginAsset");
    const K_DELIVERY_DATE: Code = code(b"deliveryDate");
    const K_ONBOARD_DATE: Code = code(b"onboardDate");
    const K_FILTER_TYPE: Code = code(b"filterType");
    const K_TICK_SIZE: Code = code(b"tickSize");
    const K_STEP_SIZE: Code = code(b"stepSize");
    const K_MIN_QTY: Code = code(b"minQty");
    const K_MAX_QTY: Code = code(b"maxQty");
    const K_MIN_NOTIONAL: Code = code(b"minNotional");
    const K_NOTIONAL: Code = code(b"notional");
    const T_PRICE_FILTER: Code = code(b"PRICE_FILTER");
    const T_LOT_SIZE: Code = code(b"LOT_SIZE");
    const T_NOTIONAL: Code = code(b"NOTIONAL");
    const T_MIN_NOTIONAL: Code = code(b"MIN_NOTIONAL");

    /// What the projection keeps of the filters seen so far (spans, not copies).
    #[derive(Default)]
    struct Kept<'a> {
        tick_size: Option<Str<'a>>,
        step_size: Option<Str<'a>>,
        min_qty: Option<Str<'a>>,
        max_qty: Option<Str<'a>>,
        min_notional: Option<Str<'a>>,
    }

    /// Sets a field seen for the first time; a duplicate field is serde's error.
    fn once<T>(slot: &mut Option<T>, value: T) -> R<()> {
        if slot.is_some() {
            return Err(Bail);
        }
        *slot = Some(value);
        Ok(())
    }

    /// From just after an opening quote: the index of the closing quote, and whether
    /// the string holds escapes. (Hot loops work on a local index: in wasm a field of
    /// `self` lives in linear memory, and a store per byte is not free.)
    #[inline(always)]
    fn string_end(b: &[u8], mut i: usize) -> R<(usize, bool)> {
        let mut escaped = false;
        loop {
            i = string_stop(b, i);
            match b.get(i) {
                Some(b'"') => return Ok((i, escaped)),
                Some(b'\\') => {
                    escaped = true;
                    i = escape_end(b, i)?;
                }
                // A control character, or the end of the payload.
                _ => return Err(Bail),
            }
        }
    }

    /// The index of the next `"`, `\\` or control character from `i` (or the end), eight
    /// bytes at a time: SWAR masks flag those bytes in a little-endian word; the lowest
    /// flag is exact (a borrow only ever spills into higher, later bytes).
    #[inline(always)]
    fn string_stop(b: &[u8], mut i: usize) -> usize {
        while let Some(chunk) = b.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let found = stops(u64::from_le_bytes(w));
            if found != 0 {
                return i + (found.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        while let Some(&c) = b.get(i) {
            if STRING_STOP[c as usize] {
                return i;
            }
            i += 1;
        }
        i
    }

    /// The high bit of each byte of the little-endian word `w` that is a `"`, a `\\` or a
    /// control character; the lowest one set is exact (a borrow only ever spills into
    /// higher, later bytes).
    #[inline(always)]
    fn stops(w: u64) -> u64 {
        const ONES: u64 = u64::MAX / 255;
        const HIGHS: u64 = ONES << 7;
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let found = (w.wrapping_sub(ONES * 0x20) & !w)
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash);
        found & HIGHS
    }

    /// The common case of a string, from just after its opening quote: it closes within
    /// the next 32 bytes (all readable) with no escape or control character. Returns its
    /// length, its [`code`] ([`LONG`] from 16 bytes on: no name we match is that long) and
    /// whether it is ASCII, from word loads and no loop: 16 bytes first (every short key,
    /// filter type and kept value), the next 16 only for longer text (the long keys,
    /// about a quarter of a spot payload's strings).
    #[inline(always)]
    fn short(b: &[u8], i: usize) -> Option<(usize, Code, bool)> {
        const HIGHS: u64 = u64::MAX / 255 * 0x80;
        let mask = |n: usize| {
            if n >= 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            }
        };
        let c = b.get(i..i + 16)?;
        let (lo, hi) = words(c);
        let (stop_lo, stop_hi) = (stops(lo), stops(hi));
        if stop_lo | stop_hi != 0 {
            let len = if stop_lo != 0 {
                (stop_lo.trailing_zeros() / 8) as usize
            } else {
                8 + (stop_hi.trailing_zeros() / 8) as usize
            };
            if c[len] != b'"' {
                return None;
            }
            let code = (lo & mask(len), hi & mask(len.saturating_sub(8)));
            return Some((len, code, (code.0 | code.1) & HIGHS == 0));
        }
        let c2 = b.get(i + 16..i + 32)?;
        let (lo2, hi2) = words(c2);
        let (stop_lo2, stop_hi2) = (stops(lo2), stops(hi2));
        let n = if stop_lo2 != 0 {
            (stop_lo2.trailing_zeros() / 8) as usize
        } else if stop_hi2 != 0 {
            8 + (stop_hi2.trailing_zeros() / 8) as usize
        } else {
            return None;
        };
        if c2[n] != b'"' {
            return None;
        }
        let high = lo | hi | (lo2 & mask(n)) | (hi2 & mask(n.saturating_sub(8)));
        Some((16 + n, LONG, high & HIGHS == 0))
    }

    /// Two little-endian words of 16 bytes.
    #[inline(always)]
    fn words(c: &[u8]) -> (u64, u64) {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&c[..8]);
        hi.copy_from_slice(&c[8..16]);
        (u64::from_le_bytes(lo), u64::from_le_bytes(hi))
    }

    // The rare shapes of strings, out of line: inlined at every string of the symbol and
    // filter parsers they made those functions several times larger, and V8 compiled
    // them with far more register spills.

    /// From just after an opening quote: the index of the closing quote and whether the
    /// text is ASCII, in one pass of word loads, for a string without escapes or
    /// control characters (`None` for any other, or a truncated one).
    #[inline(always)]
    fn plain_end(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
        const HIGHS: u64 = u64::MAX / 255 * 0x80;
        let mut high = 0u64;
        while let Some(chunk) = b.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let w = u64::from_le_bytes(w);
            let found = stops(w);
            if found != 0 {
                let n = (found.trailing_zeros() / 8) as usize;
                if b.get(i + n) != Some(&b'"') {
                    return None;
                }
                // Only the bytes before the quote count.
                high |= w & ((1u64 << (8 * n)) - 1);
                return Some((i + n, high & HIGHS == 0));
            }
            high |= w;
            i += 8;
        }
        None
    }

    /// Any string from just after its opening quote (see [`string_end`]).
    #[inline(never)]
    fn long_string(b: &[u8], start: usize) -> R<(usize, bool)> {
        string_end(b, start)
    }

    /// A kept string that [`short`] did not take: the index of its closing quote, and
    /// the string validated as serde_json validates a `str`.
    #[inline(never)]
    fn long_kept_string(b: &[u8], start: usize) -> R<(usize, Str<'_>)> {
        if let Some((end, ascii)) = plain_end(b, start) {
            let raw = &b[start..end];
            return if ascii {
                Ok((end, Str::Ascii(raw)))
            } else if std::str::from_utf8(raw).is_ok() {
                Ok((end, Str::Plain(raw)))
            } else {
                Err(Bail)
            };
        }
        let (end, escaped) = string_end(b, start)?;
        let raw = &b[start..end];
        let kept = if escaped {
            decode(raw).ok_or(Bail)?;
            Str::Escaped(raw)
        } else if is_ascii(raw) {
            Str::Ascii(raw)
        } else if std::str::from_utf8(raw).is_ok() {
            Str::Plain(raw)
        } else {
            return Err(Bail);
        };
        Ok((end, kept))
    }

    /// A key (`key`: escapes are left to serde_json) or a filter type that [`short`]
    /// did not take: the index of its closing quote, and its [`code`].
    #[inline(never)]
    fn long_code(b: &[u8], start: usize, key: bool) -> R<(usize, Code)> {
        if let Some((end, ascii)) = plain_end(b, start) {
            if !ascii && std::str::from_utf8(&b[start..end]).is_err() {
                return Err(Bail);
            }
            return Ok((end, code_at(b, start, end - start)));
        }
        let (end, escaped) = string_end(b, start)?;
        let raw = &b[start..end];
        if escaped {
            if key {
                return Err(Bail);
            }
            // Decoded text may hold a NUL (`\u0000`), which the zero padding of a
            // code would hide: no name we match has one.
            let text = decode(raw).ok_or(Bail)?;
            let code = if text.contains('\0') {
                LONG
            } else {
                code_at(text.as_bytes(), 0, text.len())
            };
            return Ok((end, code));
        }
        let code = code_at(b, start, raw.len());
        if !is_ascii_code(code) && !is_utf8(raw) {
            return Err(Bail);
        }
        Ok((end, code))
    }

    /// At a backslash in a string: the index after its escape, if valid.
    #[cold]
    fn escape_end(b: &[u8], i: usize) -> R<usize> {
        match b.get(i + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
            Some(b'u') => {
                hex4(b.get(i + 2..i + 6)).ok_or(Bail)?;
                Ok(i + 6)
            }
            _ => Err(Bail),
        }
    }

    /// At the `[` of an array of strings written without whitespace (permissions, order
    /// types: a sixth of a spot payload): the index after its `]`, or [`FAIL`] for any
    /// other shape (the caller then skips it the general way from the `[`, which also
    /// decides whether it is valid). One tight loop instead of a trip through the
    /// nesting machinery per element.
    #[inline(never)]
    fn string_array_end(b: &[u8], mut i: usize) -> usize {
        i += 1;
        loop {
            if b.get(i) != Some(&b'"') {
                return FAIL;
            }
            i += 1;
            i = match short(b, i) {
                Some((len, _, _)) => i + len + 1,
                None => match string_end(b, i) {
                    Ok((end, _)) => end + 1,
                    Err(Bail) => return FAIL,
                },
            };
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b']') => return i + 1,
                _ => return FAIL,
            }
        }
    }

    /// The index after the whitespace from `i` (out of line: see [`Scanner::ws`]).
    #[inline(never)]
    fn ws_from(b: &[u8], mut i: usize) -> usize {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = b.get(i) {
            i += 1;
        }
        i
    }

    /// What an out-of-line step returns instead of an index when it bails. (They take
    /// and return a plain index, so each keeps its scanner in registers: in wasm a
    /// scanner passed by reference lives in linear memory, one store per step.)
    const FAIL: usize = usize::MAX;

    #[inline(never)]
    fn skip_value_at(b: &[u8], i: usize) -> usize {
        let mut s = Scanner { b, i };
        match s.skip_value_here() {
            Ok(()) => s.i,
            Err(Bail) => FAIL,
        }
    }

    #[inline(never)]
    fn filter_at<'a>(b: &'a [u8], i: usize, market: Market, kept: &mut Kept<'a>) -> usize {
        let mut s = Scanner { b, i };
        match s.filter(market, kept) {
            Ok(()) => s.i,
            Err(Bail) => FAIL,
        }
    }

    #[inline(never)]
    fn symbol_at(b: &[u8], i: usize, market: Market, out: &mut Vec<Symbol>) -> usize {
        let mut s = Scanner { b, i };
        match s.symbol(market) {
            Ok(symbol) => {
                out.push(symbol);
                s.i
            }
            Err(Bail) => FAIL,
        }
    }

    struct Scanner<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl<'a> Scanner<'a> {
        /// The current byte; 0 at the end (0 is never valid where a token is expected).
        #[inline(always)]
        fn peek(&self) -> u8 {
            match self.b.get(self.i) {
                Some(&c) => c,
                None => 0,
            }
        }

        /// Whitespace. Payloads are minified, so the common case is one compare (every
        /// whitespace byte is <= b' ', every token byte above it) and no loop: V8 puts an
        /// interrupt check in every wasm loop, and this runs about four times per member.
        #[inline(always)]
        fn ws(&mut self) {
            if let Some(&c) = self.b.get(self.i) {
                if c <= b' ' {
                    self.i = ws_from(self.b, self.i);
                }
            }
        }

        #[inline(always)]
        fn eat(&mut self, c: u8) -> R<()> {
            if self.peek() == c {
                self.i += 1;
                Ok(())
            } else {
                Err(Bail)
            }
        }

        /// `true`, `false` or `null` (by its 4-byte tail compared as one word).
        #[inline(always)]
        fn literal(&mut self, word: &[u8]) -> R<()> {
            let tail = word.len() - 4;
            let want = code(word).0 >> (8 * tail) & 0xFFFF_FFFF;
            match self.b.get(self.i + tail..self.i + word.len()) {
                Some(got)
                    if self.peek() == word[0]
                        && u64::from(u32::from_le_bytes([got[0], got[1], got[2], got[3]]))
                            == want =>
                {
                    self.i += word.len();
                    Ok(())
                }
                _ => Err(Bail),
            }
        }

        /// After an opening quote: steps past the closing quote, checking escapes and
        /// control characters (serde_json's `ignore_str`). Returns the raw content and
        /// whether it holds escapes.
        #[inline(always)]
        fn string(&mut self) -> R<(&'a [u8], bool)> {
            let start = self.i;
            if let Some((len, _, _)) = short(self.b, start) {
                self.i = start + len + 1;
                return Ok((&self.b[start..start + len], false));
            }
            let (end, escaped) = long_string(self.b, start)?;
            self.i = end + 1;
            Ok((&self.b[start..end], escaped))
        }

        /// A string deserialised into `str`: UTF-8, surrogates paired.
        #[inline(always)]
        fn kept_string(&mut self) -> R<Str<'a>> {
            self.eat(b'"')?;
            let start = self.i;
            if let Some((len, _, ascii)) = short(self.b, start) {
                let raw = &self.b[start..start + len];
                self.i = start + len + 1;
                return if ascii {
                    Ok(Str::Ascii(raw))
                } else if is_utf8(raw) {
                    Ok(Str::Plain(raw))
                } else {
                    Err(Bail)
                };
            }
            let (end, kept) = long_kept_string(self.b, start)?;
            self.i = end + 1;
            Ok(kept)
        }

        /// A string deserialised into `str` of which only its [`code`] is needed (a
        /// filter type): no `&str` is made for short ASCII text.
        #[inline(always)]
        fn kept_code(&mut self) -> R<Code> {
            self.eat(b'"')?;
            let start = self.i;
            if let Some((len, code, ascii)) = short(self.b, start) {
                if !ascii && !is_utf8(&self.b[start..start + len]) {
                    return Err(Bail);
                }
                self.i = start + len + 1;
                return Ok(code);
            }
            let (end, code) = long_code(self.b, start, false)?;
            self.i = end + 1;
            Ok(code)
        }

        /// `null` or a string (an `Option<Cow<str>>` field).
        #[inline(always)]
        fn opt_string(&mut self) -> R<Option<Str<'a>>> {
            if self.peek() == b'n' {
                self.literal(b"null")?;
                Ok(None)
            } else {
                self.kept_string().map(Some)
            }
        }

        /// `null` or a plain integer that serde_json reads into an `i64` (no sign,
        /// fraction or exponent here; at most 18 digits, so it fits).
        fn opt_i64(&mut self) -> R<Option<i64>> {
            match self.peek() {
                b'n' => {
                    self.literal(b"null")?;
                    Ok(None)
                }
                b'0' => {
                    self.i += 1;
                    self.integer_end()?;
                    Ok(Some(0))
                }
                b'1'..=b'9' => {
                    let start = self.i;
                    let mut n: i64 = 0;
                    while let Some(&c @ b'0'..=b'9') = self.b.get(self.i) {
                        if self.i - start == 18 {
                            return Err(Bail);
                        }
                        n = n * 10 + i64::from(c - b'0');
                        self.i += 1;
                    }
                    self.integer_end()?;
                    Ok(Some(n))
                }
                _ => Err(Bail),
            }
        }

        /// An integer must not run on into digits, a fraction or an exponent.
        fn integer_end(&self) -> R<()> {
            match self.peek() {
                b'0'..=b'9' | b'.' | b'e' | b'E' => Err(Bail),
                _ => Ok(()),
            }
        }

        /// A number, as serde_json's `ignore_integer` / `ignore_decimal` / `ignore_exponent`.
        #[inline(always)]
        fn skip_number(&mut self) -> R<()> {
            if self.peek() == b'-' {
                self.i += 1;
            }
            match self.peek() {
                b'0' => {
                    self.i += 1;
                    if self.peek().is_ascii_digit() {
                        return Err(Bail);
                    }
                }
                b'1'..=b'9' => self.digits(),
                _ => return Err(Bail),
            }
            if self.peek() == b'.' {
                self.i += 1;
                if !self.peek().is_ascii_digit() {
                    return Err(Bail);
                }
                self.digits();
            }
            if let b'e' | b'E' = self.peek() {
                self.i += 1;
                if let b'+' | b'-' = self.peek() {
                    self.i += 1;
                }
                if !self.peek().is_ascii_digit() {
                    return Err(Bail);
                }
                self.digits();
            }
            Ok(())
        }

        #[inline(always)]
        fn digits(&mut self) {
            let mut i = self.i;
            while let Some(b'0'..=b'9') = self.b.get(i) {
                i += 1;
            }
            self.i = i;
        }

        /// An object key of an object we read (deserialised into `str` by serde), then
        /// the colon. Keys with escapes are left to serde_json.
        #[inline(always)]
        fn key(&mut self) -> R<Code> {
            self.eat(b'"')?;
            let start = self.i;
            let key = if let Some((len, code, ascii)) = short(self.b, start) {
                if !ascii && !is_utf8(&self.b[start..start + len]) {
                    return Err(Bail);
                }
                self.i = start + len + 1;
                code
            } else {
                let (end, code) = long_code(self.b, start, true)?;
                self.i = end + 1;
                code
            };
            self.ws();
            self.eat(b':')?;
            self.ws();
            Ok(key)
        }

        /// After a member or element: whitespace, then `,` (true, and the whitespace
        /// after it) or `close` (false).
        #[inline(always)]
        fn next_or_close(&mut self, close: u8) -> R<bool> {
            self.ws();
            let c = self.peek();
            self.i += 1;
            if c == b',' {
                self.ws();
                Ok(true)
            } else if c == close {
                Ok(false)
            } else {
                Err(Bail)
            }
        }

        /// Whitespace, then `true` (and steps over it) when the container closes at once.
        #[inline(always)]
        fn empty(&mut self, close: u8) -> bool {
            self.ws();
            if self.peek() == close {
                self.i += 1;
                true
            } else {
                false
            }
        }

        /// Steps over any JSON value, validating it (serde_json's `ignore_value`):
        /// scalars inline, containers out of line ([`Self::skip_value_here`]).
        #[inline(always)]
        fn skip_value(&mut self) -> R<()> {
            // Scalars (most skipped values: strings, precisions, flags) inline; only
            // containers pay for the call and the nesting machinery.
            match self.peek() {
                b'"' => {
                    self.i += 1;
                    self.string()?;
                    Ok(())
                }
                b't' => self.literal(b"true"),
                b'f' => self.literal(b"false"),
                b'n' => self.literal(b"null"),
                b'-' | b'0'..=b'9' => self.skip_number(),
                b'[' if self.b.get(self.i + 1) == Some(&b'"') => {
                    match string_array_end(self.b, self.i) {
                        FAIL => self.resume(skip_value_at(self.b, self.i)),
                        end => self.resume(end),
                    }
                }
                _ => self.resume(skip_value_at(self.b, self.i)),
            }
        }

        /// Continues at the index an out-of-line step returned ([`FAIL`]: it bailed).
        #[inline(always)]
        fn resume(&mut self, next: usize) -> R<()> {
            if next == FAIL {
                return Err(Bail);
            }
            self.i = next;
            Ok(())
        }

        /// Any value, containers included. Nested containers are tracked with a bit
        /// stack (1 = object), no allocation.
        #[inline(always)]
        fn skip_value_here(&mut self) -> R<()> {
            let mut stack: u64 = 0;
            let mut depth: u32 = 0;
            'value: loop {
                match self.peek() {
                    b'"' => {
                        self.i += 1;
                        self.string()?;
                    }
                    c @ (b'{' | b'[') => {
                        if depth == MAX_SKIP_DEPTH {
                            return Err(Bail);
                        }
                        let flat = if c == b'[' && self.b.get(self.i + 1) == Some(&b'"') {
                            string_array_end(self.b, self.i)
                        } else {
                            FAIL
                        };
                        if flat != FAIL {
                            self.i = flat;
                        } else {
                            self.i += 1;
                            let object = c == b'{';
                            stack = (stack << 1) | u64::from(object);
                            depth += 1;
                            if !self.empty(if object { b'}' } else { b']' }) {
                                if object {
                                    self.skip_key()?;
                                }
                                continue 'value;
                            }
                            stack >>= 1;
                            depth -= 1;
                        }
                    }
                    b't' => self.literal(b"true")?,
                    b'f' => self.literal(b"false")?,
                    b'n' => self.literal(b"null")?,
                    b'-' | b'0'..=b'9' => self.skip_number()?,
                    _ => return Err(Bail),
                }
                // A value is complete: close containers until one continues.
                while depth > 0 {
                    let object = stack & 1 == 1;
                    if self.next_or_close(if object { b'}' } else { b']' })? {
                        if object {
                            self.skip_key()?;
                        }
                        continue 'value;
                    }
                    stack >>= 1;
                    depth -= 1;
                }
                return Ok(());
            }
        }

        /// A key inside a skipped object (serde_json ignores it: no UTF-8 check), the colon.
        #[inline(always)]
        fn skip_key(&mut self) -> R<()> {
            self.eat(b'"')?;
            self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            Ok(())
        }

        /// The `filters` array of one symbol, applied to `kept` in order.
        ///
        /// Each filter is parsed by the out-of-line [`filter_at`], called from two sites
        /// (the first filter, then each after a comma): wasm-opt inlines any function
        /// with a single caller, and inlined here the filter code made `symbol_at` one
        /// huge function. V8 compiles a huge function late (hundreds of ms in the
        /// background, the first calls run in Liftoff) and, in V8 11, poorly: a small
        /// function called ten times per symbol tiers up at once and compiles well.
        #[inline(always)]
        fn filters(&mut self, market: Market, kept: &mut Kept<'a>) -> R<()> {
            self.eat(b'[')?;
            if self.empty(b']') {
                return Ok(());
            }
            self.resume(filter_at(self.b, self.i, market, kept))?;
            while self.next_or_close(b']')? {
                self.resume(filter_at(self.b, self.i, market, kept))?;
            }
            Ok(())
        }

        /// One filter object, then the projection's rule for its type.
        #[inline(always)]
        fn filter(&mut self, market: Market, kept: &mut Kept<'a>) -> R<()> {
            self.eat(b'{')?;
            let mut filter_type = None;
            let (mut tick_size, mut step_size, mut min_qty, mut max_qty) = (None, None, None, None);
            let (mut min_notional, mut notional) = (None, None);
            if !self.empty(b'}') {
                loop {
                    match self.key()? {
                        K_FILTER_TYPE => once(&mut filter_type, self.kept_code()?)?,
                        K_TICK_SIZE => once(&mut tick_size, self.opt_string()?)?,
                        K_STEP_SIZE => once(&mut step_size, self.opt_string()?)?,
                        K_MIN_QTY => once(&mut min_qty, self.opt_string()?)?,
                        K_MAX_QTY => once(&mut max_qty, self.opt_string()?)?,
                        K_MIN_NOTIONAL => once(&mut min_notional, self.opt_string()?)?,
                        K_NOTIONAL => once(&mut notional, self.opt_string()?)?,
                        _ => self.skip_value()?,
                    }
                    if !self.next_or_close(b'}')? {
                        break;
                    }
                }
            }
            let filter_type = filter_type.ok_or(Bail)?;
            let min_notional = min_notional.flatten();
            match filter_type {
                T_PRICE_FILTER => kept.tick_size = tick_size.flatten(),
                T_LOT_SIZE => {
                    kept.step_size = step_size.flatten();
                    kept.min_qty = min_qty.flatten();
                    kept.max_qty = max_qty.flatten();
                }
                // NOTIONAL replaced MIN_NOTIONAL on spot; prefer it when both appear.
                T_NOTIONAL => kept.min_notional = min_notional,
                T_MIN_NOTIONAL if kept.min_notional.is_none() => {
                    kept.min_notional = match market {
                        Market::Spot => min_notional,
                        Market::Futures => notional.flatten().or(min_notional),
                    };
                }
                _ => {}
            }
            Ok(())
        }

        /// One symbol object, projected.
        #[inline(always)]
        fn symbol(&mut self, market: Market) -> R<Symbol> {
            // serde_json also accepts a struct written as an array: left to it.
            self.eat(b'{')?;
            let mut symbol = None;
            let (mut status, mut base_asset, mut quote_asset) = (None, None, None);
            let (mut contract_type, mut margin_asset) = (None, None);
            let (mut delivery_date, mut onboard_date) = (None, None);
            let mut filters_seen = false;
            let mut kept = Kept::default();
            if !self.empty(b'}') {
                loop {
                    match self.key()? {
                        K_SYMBOL => once(&mut symbol, self.kept_string()?)?,
                        K_STATUS => once(&mut status, self.opt_string()?)?,
                        K_BASE_ASSET => once(&mut base_asset, self.opt_string()?)?,
                        K_QUOTE_ASSET => once(&mut quote_asset, self.opt_string()?)?,
                        K_FILTERS => {
                            if filters_seen {
                                return Err(Bail);
                            }
                            filters_seen = true;
                            self.filters(market, &mut kept)?;
                        }
                        K_CONTRACT_TYPE => once(&mut contract_type, self.opt_string()?)?,
                        K_MARGIN_ASSET => once(&mut margin_asset, self.opt_string()?)?,
                        K_DELIVERY_DATE => once(&mut delivery_date, self.opt_i64()?)?,
                        K_ONBOARD_DATE => once(&mut onboard_date, self.opt_i64()?)?,
                        _ => self.skip_value()?,
                    }
                    if !self.next_or_close(b'}')? {
                        break;
                    }
                }
            }
            let symbol = symbol.ok_or(Bail)?;
            let text = |s: Option<Option<Str<'_>>>| owned(s.flatten()).unwrap_or_default();
            let futures = market == Market::Futures;
            Ok(Symbol {
                symbol: symbol.to_owned_string(),
                status: text(status),
                base_asset: text(base_asset),
                quote_asset: text(quote_asset),
                tick_size: owned(kept.tick_size),
                step_size: owned(kept.step_size),
                min_qty: owned(kept.min_qty),
                max_qty: owned(kept.max_qty),
                min_notional: owned(kept.min_notional),
                contract_type: if futures {
                    Some(text(contract_type))
                } else {
                    None
                },
                margin_asset: if futures {
                    owned(margin_asset.flatten())
                } else {
                    None
                },
                delivery_date: if futures {
                    delivery_date.flatten()
                } else {
                    None
                },
                onboard_date: if futures {
                    onboard_date.flatten()
                } else {
                    None
                },
            })
        }

        /// The `symbols` array.
        /// The symbols array, each symbol projected, with the byte span of its object.
        fn symbols(&mut self, market: Market) -> R<(Vec<Symbol>, Vec<Range<usize>>)> {
            self.eat(b'[')?;
            // One reservation, as a rule never a second: growing holds the old and the
            // doubled buffer at once (for futures that alone was a tenth of the payload in
            // peak memory). A symbol takes 1.6-1.8 KB of a spot payload and 1.2 KB of a
            // futures one; the slots to spare (a symbol is ~170 bytes) cost far less.
            let per_symbol = match market {
                Market::Spot => 1536,
                Market::Futures => 1024,
            };
            let reserve = (self.b.len() / per_symbol).min(8192);
            let mut out = Vec::with_capacity(reserve);
            let mut spans = Vec::with_capacity(reserve);
            if self.empty(b']') {
                return Ok((out, spans));
            }
            loop {
                let start = self.i;
                self.resume(symbol_at(self.b, self.i, market, &mut out))?;
                spans.push(start..self.i);
                if !self.next_or_close(b']')? {
                    return Ok((out, spans));
                }
            }
        }
    }

    /// The byte span of every element of the top-level `symbols` array, each value
    /// validated and stepped over (for payloads [`document`] leaves to serde_json: their
    /// symbols' raw text).
    pub fn symbol_spans(payload: &[u8]) -> Result<Vec<Range<usize>>, Bail> {
        let mut s = Scanner { b: payload, i: 0 };
        s.ws();
        s.eat(b'{')?;
        let mut spans = None;
        if !s.empty(b'}') {
            loop {
                if s.key()? == K_SYMBOLS {
                    s.eat(b'[')?;
                    let mut found = Vec::new();
                    if !s.empty(b']') {
                        loop {
                            let start = s.i;
                            s.skip_value()?;
                            found.push(start..s.i);
                            if !s.next_or_close(b']')? {
                                break;
                            }
                        }
                    }
                    spans = Some(found);
                } else {
                    s.skip_value()?;
                }
                if !s.next_or_close(b'}')? {
                    break;
                }
            }
        }
        spans.ok_or(Bail)
    }

    /// A bare array of symbol objects (the original system's stored list), nothing after it.
    pub fn array(market: Market, bytes: &[u8]) -> Result<Vec<Symbol>, Bail> {
        let mut s = Scanner { b: bytes, i: 0 };
        s.ws();
        let (symbols, _) = s.symbols(market)?;
        s.ws();
        if s.i != bytes.len() {
            return Err(Bail);
        }
        Ok(symbols)
    }

    /// The whole payload: an object with one `symbols` array, nothing after it.
    pub fn document(
        market: Market,
        payload: &[u8],
    ) -> Result<(Vec<Symbol>, Vec<Range<usize>>), Bail> {
        let mut s = Scanner { b: payload, i: 0 };
        s.ws();
        s.eat(b'{')?;
        let mut symbols = None;
        if !s.empty(b'}') {
            loop {
                if s.key()? == K_SYMBOLS {
                    // A repeated `symbols` (the last one wins in serde_json) is left to it.
                    once(&mut symbols, s.symbols(market)?)?;
                } else {
                    s.skip_value()?;
                }
                if !s.next_or_close(b'}')? {
                    break;
                }
            }
        }
        s.ws();
        if s.i != payload.len() {
            return Err(Bail);
        }
        symbols.ok_or(Bail)
    }
}

/// Decodes a JSON string's raw content (between the quotes) with serde_json's rules for
/// `str`; `None` where serde_json would fail. Shared with [`crate::ccxt`]'s reader.
pub(crate) use scan::decode as decode_string;

/// Validates a processed list before anything is written: not empty, and it keeps at
/// least `1 - max_loss` of last_good's count (`max_loss` in 0..=1).
///
/// # Errors
/// [`ProcessError::Empty`] or [`ProcessError::Shrunk`].
pub fn validate(new: usize, previous: Option<usize>, max_loss: f64) -> Result<(), ProcessError> {
    if new == 0 {
        return Err(ProcessError::Empty);
    }
    validate_shrink(new, previous, max_loss)
}

/// The shrink check of [`validate`] alone (a part of a list, such as its USDT symbols,
/// may be empty when it was empty before).
///
/// # Errors
/// [`ProcessError::Shrunk`].
pub fn validate_shrink(
    new: usize,
    previous: Option<usize>,
    max_loss: f64,
) -> Result<(), ProcessError> {
    if let Some(previous) = previous {
        let min_keep = (previous as f64) * (1.0 - max_loss);
        if (new as f64) < min_keep {
            return Err(ProcessError::Shrunk {
                previous,
                new,
                max_loss_pct: (max_loss * 100.0).round() as u32,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPOT: &str = r#"{"timezone":"UTC","serverTime":1,"rateLimits":[],"exchangeFilters":[],"symbols":[
      {"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","baseAssetPrecision":8,"quoteAsset":"BTC","orderTypes":["LIMIT"],
       "permissions":[],"permissionSets":[["SPOT","MARGIN"]],"newField":{"x":[1,2]},
       "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.00001000","maxPrice":"922327.00000000","tickSize":"0.00001000"},
                  {"filterType":"LOT_SIZE","minQty":"0.00010000","maxQty":"100000.00000000","stepSize":"0.00010000"},
                  {"filterType":"NOTIONAL","minNotional":"0.00010000","applyMinToMarket":true},
                  {"filterType":"SOMETHING_NEW","x":"1"}]},
      {"symbol":"OLD\u0041BC","status":"WEIRD_NEW_STATUS","baseAsset":"OLD","quoteAsset":"ABC",
       "filters":[{"filterType":"MIN_NOTIONAL","minNotional":"10.00000000"}]}]}"#;

    const FUTURES: &str = r#"{"symbols":[{"symbol":"币安人生USDT","pair":"币安人生USDT","contractType":"PERPETUAL","deliveryDate":4133404800000,
      "onboardDate":1760000000000,"status":"TRADING","baseAsset":"币安人生","quoteAsset":"USDT","marginAsset":"USDT",
      "filters":[{"filterType":"PRICE_FILTER","tickSize":"0.0000100"},{"filterType":"LOT_SIZE","stepSize":"1","minQty":"1","maxQty":"100000000"},
      {"filterType":"MIN_NOTIONAL","notional":"5"}]},
      {"symbol":"X","contractType":"","status":"SETTLING","baseAsset":"X","quoteAsset":"USDT","filters":[]}]}"#;

    #[test]
    fn spot_projection_keeps_exact_strings() {
        let s = parse(Market::Spot, SPOT.as_bytes()).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].symbol, "ETHBTC");
        assert_eq!(s[0].tick_size.as_deref(), Some("0.00001000"));
        assert_eq!(s[0].step_size.as_deref(), Some("0.00010000"));
        assert_eq!(s[0].max_qty.as_deref(), Some("100000.00000000"));
        assert_eq!(s[0].min_notional.as_deref(), Some("0.00010000"));
        assert_eq!(s[0].contract_type, None);
        assert_eq!(s[1].symbol, "OLDABC", "escapes are decoded");
        assert_eq!(s[1].status, "WEIRD_NEW_STATUS");
        assert_eq!(s[1].min_notional.as_deref(), Some("10.00000000"));
    }

    #[test]
    fn futures_projection() {
        let s = parse(Market::Futures, FUTURES.as_bytes()).unwrap();
        assert_eq!(s[0].symbol, "币安人生USDT");
        assert_eq!(s[0].min_notional.as_deref(), Some("5"));
        assert_eq!(s[0].contract_type.as_deref(), Some("PERPETUAL"));
        assert_eq!(s[0].margin_asset.as_deref(), Some("USDT"));
        assert_eq!(s[0].delivery_date, Some(4_133_404_800_000));
        assert_eq!(s[1].contract_type.as_deref(), Some(""));
    }

    #[test]
    fn bad_payloads_are_parse_errors() {
        for bad in [
            "",
            "{",
            "[]",
            "{\"symbols\":{}}",
            "{\"x\":1}",
            "nul",
            "{\"symbols\":[]} trailing",
        ] {
            assert!(
                matches!(
                    parse(Market::Spot, bad.as_bytes()),
                    Err(ProcessError::Parse(_))
                ),
                "{bad}"
            );
        }
        let truncated = &SPOT[..SPOT.len() / 2];
        assert!(parse(Market::Spot, truncated.as_bytes()).is_err());
        assert_eq!(parse(Market::Spot, b"{\"symbols\":[]}").unwrap().len(), 0);
    }

    #[test]
    fn validation_thresholds() {
        assert_eq!(validate(0, None, 0.5), Err(ProcessError::Empty));
        assert!(validate(1, None, 0.5).is_ok());
        assert!(validate(50, Some(100), 0.5).is_ok());
        assert!(matches!(
            validate(49, Some(100), 0.5),
            Err(ProcessError::Shrunk { .. })
        ));
        assert!(validate(101, Some(100), 0.5).is_ok());
        assert!(validate(10, Some(100), 1.0).is_ok());
    }

    // ---- The scanner against the serde_json visitor it replaced ----------------------
    //
    // `parse` must behave exactly like `parse_serde`: the same symbols on everything
    // serde_json accepts, the same `ProcessError::Parse` message on everything it
    // refuses. The scanner must also really run (not fall back) on ordinary payloads.

    fn same(market: Market, payload: &[u8]) -> bool {
        let fast = parse(market, payload);
        let reference = parse_serde(market, payload);
        assert_eq!(
            fast,
            reference,
            "{market} payload: {}",
            String::from_utf8_lossy(payload)
        );
        parse_fast_path(market, payload).is_some()
    }

    fn same_both(payload: &[u8]) -> bool {
        let spot = same(Market::Spot, payload);
        let futures = same(Market::Futures, payload);
        assert_eq!(
            spot, futures,
            "the path taken does not depend on the market"
        );
        spot
    }

    #[test]
    fn scanner_runs_on_ordinary_payloads() {
        for doc in [
            SPOT,
            FUTURES,
            "{\"symbols\":[]}",
            " {\"symbols\" : [ ] } \n",
        ] {
            assert!(same_both(doc.as_bytes()), "fell back on {doc}");
        }
        // Indented, like the real futures payload.
        let value: serde_json::Value = serde_json::from_str(FUTURES).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert!(same_both(pretty.as_bytes()));
        let tabs = pretty.replace("  ", "\t").replace('\n', "\r\n");
        assert!(same_both(tabs.as_bytes()));
    }

    #[test]
    fn escapes_non_ascii_and_numbers() {
        let cases: &[(&str, bool)] = &[
            // (payload, the scanner handles it itself)
            (
                r#"{"symbols":[{"symbol":"A\u00e9\u20ac\ud83d\ude00\n\t\"\\\/\b\f\r","status":"\u0054RADING"}]}"#,
                true,
            ),
            (
                r#"{"symbols":[{"symbol":"币安人生USDT","baseAsset":"币安人生","x":"é\ud800","y":["\udc00"]}]}"#,
                true,
            ),
            (
                r#"{"symbols":[{"symbol":"A","filters":[{"filterType":"PRICE\u005fFILTER","tickSize":"0.1\u0030"}]}]}"#,
                true,
            ),
            (
                r#"{"symbols":[{"symbol":"A","filters":[{"filterType":"LOT_SIZE\u0000","stepSize":"1"}]}]}"#,
                true,
            ),
            (
                r#"{"symbols":[{"symbol":"A","filters":[{"filterType":"LOT_SIZE","stepSize":"1\u0000"}]}]}"#,
                true,
            ),
            (
                r#"{"symbols":[{"symbol":"A","n":[0,-0,1,-1,12.5,1e5,1E-7,-0.0e+10,1.5e300,123456789012345678901234567890]}]}"#,
                true,
            ),
            (
                r#"{"symbols":[{"symbol":"A","deliveryDate":0,"onboardDate":999999999999999999}]}"#,
                true,
            ),
            (
                r#"{"symbols":[{"symbol":"A","deliveryDate":null,"onboardDate":null,"status":null,"marginAsset":null}]}"#,
                true,
            ),
            (
                r#"{"symbols":[{"symbol":"A","deliveryDate":9223372036854775807}]}"#,
                false,
            ),
            (r#"{"symbols":[{"symbol":"A","deliveryDate":-5}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","deliveryDate":-0}]}"#, false),
            (
                r#"{"symbols":[{"symbol":"A","deliveryDate":9223372036854775808}]}"#,
                false,
            ),
            (r#"{"symbols":[{"symbol":"A","deliveryDate":1.0}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","deliveryDate":1e3}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","deliveryDate":"1"}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","deliveryDate":01}]}"#, false),
            // Lone surrogates: fine where skipped, refused where kept.
            (r#"{"symbols":[{"symbol":"A","x":"\ud800"}]}"#, true),
            (r#"{"symbols":[{"symbol":"\ud800"}]}"#, false),
            (r#"{"symbols":[{"symbol":"\udc00x"}]}"#, false),
            (r#"{"symbols":[{"symbol":"\ud800\u0041"}]}"#, false),
            (r#"{"symbols":[{"symbol":"\ud800\n"}]}"#, false),
            (r#"{"symbols":[{"symbol":"\u12"}]}"#, false),
            (r#"{"symbols":[{"symbol":"\x"}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":"\u12G4"}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":"\q"}]}"#, false),
            // Escaped keys are left to serde_json, which decodes them.
            (
                r#"{"symbols":[{"symb\u006fl":"A","st\u0061tus":"X"}]}"#,
                false,
            ),
            (r#"{"symb\u006fls":[{"symbol":"A"}]}"#, false),
            // Duplicates: serde_json refuses a repeated field, keeps the last `symbols`.
            (
                r#"{"symbols":[{"symbol":"A","status":"X","status":"Y"}]}"#,
                false,
            ),
            (
                r#"{"symbols":[{"symbol":"A","filters":[],"filters":[]}]}"#,
                false,
            ),
            (
                r#"{"symbols":[{"symbol":"A","filters":[{"filterType":"LOT_SIZE","minQty":"1","minQty":"2"}]}]}"#,
                false,
            ),
            (
                r#"{"symbols":[{"symbol":"A"}],"symbols":[{"symbol":"B"}]}"#,
                false,
            ),
            (r#"{"symbols":[{"symbol":"A","x":1,"x":2}]}"#, true),
            // Types.
            (r#"{"symbols":[{"symbol":"A","status":1}]}"#, false),
            (r#"{"symbols":[{"symbol":null}]}"#, false),
            (r#"{"symbols":[{"status":"TRADING"}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","filters":null}]}"#, false),
            (
                r#"{"symbols":[{"symbol":"A","filters":[{"tickSize":"1"}]}]}"#,
                false,
            ),
            (
                r#"{"symbols":[{"symbol":"A","filters":[{"filterType":null}]}]}"#,
                false,
            ),
            (
                r#"{"symbols":[{"symbol":"A","filters":[{"filterType":"LOT_SIZE","stepSize":1}]}]}"#,
                false,
            ),
            (
                r#"{"symbols":[{"symbol":"A","filters":[["PRICE_FILTER","1"]]}]}"#,
                false,
            ),
            (r#"{"symbols":[["A","TRADING"]]}"#, false),
            (r#"{"symbols":[1]}"#, false),
            (r#"{"symbols":null}"#, false),
            (r#"{"symbols":"x"}"#, false),
            // Structure and literals.
            (
                r#"{"symbols":[{"symbol":"A","x":[{"a":{"b":[[],{},[{}]]}}],"y":true,"z":false,"w":null}]}"#,
                true,
            ),
            (r#"{"symbols":[{"symbol":"A","x":tru}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":nul}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":[1,]}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":{"a":1,}}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":{"a"}}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":{1:2}}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":[1 2]}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":[}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":.5}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":1.}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":1e}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":+1}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":01}]}"#, false),
            (r#"{"symbols":[{"symbol":"A","x":-}]}"#, false),
            (r#"{"symbols":[{"symbol":"A"},]}"#, false),
            (r#"{"symbols":[{"symbol":"A",}]}"#, false),
            (r#"{"symbols":[],}"#, false),
            ("{\"symbols\":[{\"symbol\":\"A\tB\"}]}", false),
            ("{\"symbols\":[{\"symbol\":\"A\",\"x\":\"\u{1f}\"}]}", false),
            ("\u{feff}{\"symbols\":[]}", false),
            ("{\"symbols\":[]}\u{a0}", false),
            ("{\"symbols\":[]}\n\n", true),
            ("{\"symbols\":[]}\u{0}", false),
            ("{\u{b}\"symbols\":[]}", false),
        ];
        for (doc, handled) in cases {
            assert_eq!(same_both(doc.as_bytes()), *handled, "{doc}");
        }
        let s = parse(Market::Spot, cases[0].0.as_bytes()).unwrap();
        assert_eq!(s[0].symbol, "Aé€😀\n\t\"\\/\u{8}\u{c}\r");
        assert_eq!(s[0].status, "TRADING");
        let s = parse(Market::Spot, cases[2].0.as_bytes()).unwrap();
        assert_eq!(
            s[0].tick_size.as_deref(),
            Some("0.10"),
            "an escaped filter type still matches"
        );
    }

    #[test]
    fn invalid_utf8_where_serde_json_checks_it() {
        let kept = b"{\"symbols\":[{\"symbol\":\"A\xff\"}]}";
        let key = b"{\"symbols\":[{\"symbol\":\"A\",\"\xc3\":1}]}";
        let skipped = b"{\"symbols\":[{\"symbol\":\"A\",\"x\":\"\xff\xfe\"}]}";
        let nested_key = b"{\"symbols\":[{\"symbol\":\"A\",\"x\":{\"\xff\":1}}]}";
        let good = "{\"symbols\":[{\"symbol\":\"A\",\"é\":\"é\"}]}".as_bytes();
        for doc in [&kept[..], &key[..], &skipped[..], &nested_key[..], good] {
            same_both(doc);
        }
        assert!(parse(Market::Spot, kept).is_err());
        assert!(
            parse(Market::Spot, skipped).is_ok(),
            "serde_json does not check skipped strings"
        );
    }

    #[test]
    fn deep_unknown_nesting_is_left_to_serde_json() {
        for depth in [1, 59, 60, 61, 200, 5000] {
            let doc = format!(
                "{{\"symbols\":[{{\"symbol\":\"A\",\"x\":{}1{}}}]}}",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            same_both(doc.as_bytes());
            let unclosed = format!(
                "{{\"symbols\":[{{\"symbol\":\"A\",\"x\":{}1}}]}}",
                "[".repeat(depth)
            );
            same_both(unclosed.as_bytes());
        }
    }

    #[test]
    fn projection_rules_match_in_every_order() {
        // NOTIONAL / MIN_NOTIONAL precedence, repeated filters, absent and null values.
        let filters = [
            r#"{"filterType":"NOTIONAL","minNotional":"1"}"#,
            r#"{"filterType":"NOTIONAL"}"#,
            r#"{"filterType":"MIN_NOTIONAL","minNotional":"2","notional":"3"}"#,
            r#"{"filterType":"MIN_NOTIONAL","minNotional":null,"notional":"4"}"#,
            r#"{"filterType":"MIN_NOTIONAL","notional":null}"#,
            r#"{"filterType":"PRICE_FILTER","tickSize":"0.1"}"#,
            r#"{"filterType":"PRICE_FILTER"}"#,
            r#"{"filterType":"LOT_SIZE","stepSize":"1","minQty":"2","maxQty":"3"}"#,
            r#"{"filterType":"LOT_SIZE","minQty":null}"#,
            r#"{"filterType":"MARKET_LOT_SIZE","stepSize":"9","minQty":"9","maxQty":"9"}"#,
        ];
        let mut rng = Rng(7);
        for _ in 0..400 {
            let n = rng.below(5) as usize;
            let chosen: Vec<&str> = (0..n)
                .map(|_| filters[rng.below(filters.len() as u64) as usize])
                .collect();
            let doc = format!(
                "{{\"symbols\":[{{\"symbol\":\"A\",\"filters\":[{}]}}]}}",
                chosen.join(",")
            );
            assert!(same_both(doc.as_bytes()), "{doc}");
        }
    }

    #[test]
    fn every_truncation_fails_the_same_way() {
        for doc in [SPOT, FUTURES] {
            let bytes = doc.as_bytes();
            for end in 0..bytes.len() {
                let cut = &bytes[..end];
                assert!(
                    matches!(parse(Market::Spot, cut), Err(ProcessError::Parse(_))),
                    "prefix of {end} bytes"
                );
                same_both(cut);
            }
        }
    }

    /// xorshift64*: deterministic, so a failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }
    }

    /// Random exchangeInfo-like documents: optional, null and unknown fields, escapes,
    /// non-ASCII, every number form, nested unknown values, random whitespace.
    struct Gen(Rng);

    impl Gen {
        fn ws(&mut self) -> &'static str {
            match self.0.below(10) {
                0 => " ",
                1 => "\n    ",
                2 => "\t",
                3 => "\r\n",
                _ => "",
            }
        }

        fn string(&mut self) -> String {
            let pieces = [
                "BTC",
                "USDT",
                "0.00001000",
                "TRADING",
                "A",
                "",
                "é",
                "币安人生",
                "\\u00e9",
                "\\u20ac",
                "\\ud83d\\ude00",
                "\\n",
                "\\\"",
                "\\\\",
                "\\/",
                "\\t",
                "\\u0041",
                "x y",
            ];
            let n = self.0.below(3);
            let body: String = (0..n).map(|_| self.0.pick(&pieces)).collect();
            format!("\"{body}\"")
        }

        fn number(&mut self) -> &'static str {
            self.0.pick(&[
                "0",
                "-0",
                "1",
                "-1",
                "8",
                "12.5",
                "1e5",
                "1E-7",
                "-0.0e+10",
                "1.5e300",
                "1694185561976",
                "123456789012345678901",
            ])
        }

        fn value(&mut self, depth: u32) -> String {
            match self.0.below(if depth > 3 { 6 } else { 8 }) {
                0 | 1 => self.string(),
                2 => self.number().to_string(),
                3 => "true".into(),
                4 => "false".into(),
                5 => "null".into(),
                6 => {
                    let n = self.0.below(4);
                    let items: Vec<String> = (0..n)
                        .map(|_| format!("{}{}{}", self.ws(), self.value(depth + 1), self.ws()))
                        .collect();
                    format!("[{}]", items.join(","))
                }
                _ => {
                    let n = self.0.below(4);
                    let members: Vec<String> = (0..n)
                        .map(|i| {
                            format!(
                                "{}\"k{i}\"{}:{}{}",
                                self.ws(),
                                self.ws(),
                                self.ws(),
                                self.value(depth + 1)
                            )
                        })
                        .collect();
                    format!("{{{}}}", members.join(","))
                }
            }
        }

        fn opt_string(&mut self) -> String {
            if self.0.below(8) == 0 {
                "null".into()
            } else {
                self.string()
            }
        }

        fn object(&mut self, members: Vec<(String, String)>) -> String {
            let parts: Vec<String> = members
                .into_iter()
                .map(|(k, v)| {
                    format!(
                        "{}\"{k}\"{}:{}{v}{}",
                        self.ws(),
                        self.ws(),
                        self.ws(),
                        self.ws()
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }

        fn filter(&mut self) -> String {
            let kind = self.0.pick(&[
                "\"PRICE_FILTER\"",
                "\"LOT_SIZE\"",
                "\"NOTIONAL\"",
                "\"MIN_NOTIONAL\"",
                "\"MARKET_LOT_SIZE\"",
                "\"ICEBERG_PARTS\"",
                "\"PRICE\\u005fFILTER\"",
                "\"NEW_ONE\"",
            ]);
            let mut members = vec![("filterType".to_string(), kind.to_string())];
            for key in [
                "tickSize",
                "stepSize",
                "minQty",
                "maxQty",
                "minNotional",
                "notional",
                "minPrice",
                "limit",
                "applyMinToMarket",
            ] {
                if self.0.below(2) == 0 {
                    let v = match key {
                        "limit" => self.number().to_string(),
                        "applyMinToMarket" => self.value(3),
                        _ => self.opt_string(),
                    };
                    members.push((key.to_string(), v));
                }
            }
            self.shuffle(&mut members);
            self.object(members)
        }

        fn symbol(&mut self) -> String {
            let mut members = vec![("symbol".to_string(), self.string())];
            for key in [
                "status",
                "baseAsset",
                "quoteAsset",
                "contractType",
                "marginAsset",
            ] {
                if self.0.below(4) != 0 {
                    let v = self.opt_string();
                    members.push((key.to_string(), v));
                }
            }
            for key in ["deliveryDate", "onboardDate"] {
                if self.0.below(3) != 0 {
                    let v = self
                        .0
                        .pick(&["4133404800000", "0", "null", "1569398400000"])
                        .to_string();
                    members.push((key.to_string(), v));
                }
            }
            if self.0.below(5) != 0 {
                let n = self.0.below(6);
                let filters: Vec<String> = (0..n).map(|_| self.filter()).collect();
                members.push((
                    "filters".into(),
                    format!("[{}{}]", filters.join(","), self.ws()),
                ));
            }
            for i in 0..self.0.below(4) {
                let v = self.value(0);
                members.push((format!("unknown{i}"), v));
            }
            self.shuffle(&mut members);
            self.object(members)
        }

        fn document(&mut self) -> String {
            let n = self.0.below(5);
            let symbols: Vec<String> = (0..n)
                .map(|_| format!("{}{}", self.ws(), self.symbol()))
                .collect();
            let mut members = vec![
                ("timezone".to_string(), "\"UTC\"".to_string()),
                ("serverTime".to_string(), self.number().to_string()),
                ("rateLimits".to_string(), self.value(1)),
                (
                    "symbols".to_string(),
                    format!("[{}{}]", symbols.join(","), self.ws()),
                ),
            ];
            self.shuffle(&mut members);
            format!("{}{}{}", self.ws(), self.object(members), self.ws())
        }

        fn shuffle<T>(&mut self, v: &mut [T]) {
            for i in (1..v.len()).rev() {
                let j = self.0.below(i as u64 + 1) as usize;
                v.swap(i, j);
            }
        }
    }

    #[test]
    fn generated_documents_match() {
        let mut g = Gen(Rng(0x5eed_1234_abcd_0001));
        let mut fast = 0;
        for _ in 0..3000 {
            let doc = g.document();
            if same_both(doc.as_bytes()) {
                fast += 1;
            }
        }
        // Most generated documents are ordinary: the scanner must handle them itself.
        assert!(fast > 2000, "the scanner handled only {fast} of 3000");
    }

    #[test]
    fn mutated_documents_match() {
        let mut g = Gen(Rng(0xfeed_5678_0000_0002));
        let interesting = b"\"\\{}[],: \t\n0-9e.+nutfE\x00\x1f\x7f\x80\xc3\xff";
        let mut docs: Vec<Vec<u8>> = vec![SPOT.as_bytes().to_vec(), FUTURES.as_bytes().to_vec()];
        docs.extend((0..20).map(|_| g.document().into_bytes()));
        let mut rng = Rng(99);
        for round in 0..12_000 {
            let mut doc = docs[round % docs.len()].clone();
            for _ in 0..=rng.below(2) {
                if doc.is_empty() {
                    break;
                }
                let at = rng.below(doc.len() as u64) as usize;
                let byte = interesting[rng.below(interesting.len() as u64) as usize];
                match rng.below(3) {
                    0 => {
                        doc.remove(at);
                    }
                    1 => doc.insert(at, byte),
                    _ => doc[at] = byte,
                }
            }
            same_both(&doc);
        }
    }
}
