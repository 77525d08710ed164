//! The fast path of [`super::parse`]: a single-pass scanner over the payload bytes.
//!
//! Every function returns `Err(Bail)` as soon as the input is not something it is sure
//! serde_json would accept with the same result; [`super::parse`] then asks the serde_json visitor.
//! It mirrors serde_json 1.x's grammar: whitespace is `' ' \n \t \r`; strings may not
//! hold raw control characters; escapes are `\" \\ \/ \b \f \n \r \t \uXXXX`; strings
//! deserialised into `str` (keys of the objects we read, and kept values) must be UTF-8
//! with paired surrogates, while skipped strings are only checked for escapes and control
//! characters (as `IgnoredAny` does); numbers follow RFC 8259; literals are exact.

use std::ops::Range;

use super::project::Kept;
use crate::json::bytes::{
    code_at, decode, is_ascii, is_ascii_code, is_utf8, plain_end, short, string_end, Code, LONG,
};
use crate::market::Market;
use crate::symbols::Symbol;

mod grammar;
mod records;

use records::K_SYMBOLS;

/// The scanner gave up (malformed input, or a shape left to serde_json).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

type R<T> = Result<T, Bail>;

/// Deeper nesting inside a skipped value is left to serde_json.
const MAX_SKIP_DEPTH: u32 = 60;

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

/// Sets a field seen for the first time; a duplicate field is serde's error.
fn once<T>(slot: &mut Option<T>, value: T) -> R<()> {
    if slot.is_some() {
        return Err(Bail);
    }
    *slot = Some(value);
    Ok(())
}

// The rare shapes of strings, out of line: inlined at every string of the symbol and
// filter parsers they made those functions several times larger, and V8 compiled
// them with far more register spills.

/// Any string from just after its opening quote (see [`string_end`]).
#[inline(never)]
fn long_string(b: &[u8], start: usize) -> R<(usize, bool)> {
    string_end(b, start).ok_or(Bail)
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
    let (end, escaped) = string_end(b, start).ok_or(Bail)?;
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
    let (end, escaped) = string_end(b, start).ok_or(Bail)?;
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
                Some((end, _)) => end + 1,
                None => return FAIL,
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
fn filter_at<'a>(b: &'a [u8], i: usize, market: Market, kept: &mut Kept<Str<'a>>) -> usize {
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
pub fn document(market: Market, payload: &[u8]) -> Result<(Vec<Symbol>, Vec<Range<usize>>), Bail> {
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
