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

use super::project::{self, FilterType, FilterValues, Kept};
use crate::json::bytes::{
    code, code_at, decode, is_ascii, is_ascii_code, is_utf8, plain_end, short, string_end, Code,
    LONG,
};
use crate::market::Market;
use crate::symbols::Symbol;

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
                    && u64::from(u32::from_le_bytes([got[0], got[1], got[2], got[3]])) == want =>
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
    fn filters(&mut self, market: Market, kept: &mut Kept<Str<'a>>) -> R<()> {
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
    fn filter(&mut self, market: Market, kept: &mut Kept<Str<'a>>) -> R<()> {
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
        let kind = match filter_type.ok_or(Bail)? {
            T_PRICE_FILTER => FilterType::Price,
            T_LOT_SIZE => FilterType::LotSize,
            T_NOTIONAL => FilterType::Notional,
            T_MIN_NOTIONAL => FilterType::MinNotional,
            _ => FilterType::Other,
        };
        kept.apply(
            market,
            kind,
            FilterValues {
                tick_size: tick_size.flatten(),
                step_size: step_size.flatten(),
                min_qty: min_qty.flatten(),
                max_qty: max_qty.flatten(),
                min_notional: min_notional.flatten(),
                notional: notional.flatten(),
            },
        );
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
        Ok(project::symbol(
            market,
            project::Fields {
                symbol: symbol.to_owned_string(),
                status: owned(status.flatten()),
                base_asset: owned(base_asset.flatten()),
                quote_asset: owned(quote_asset.flatten()),
                contract_type: owned(contract_type.flatten()),
                margin_asset: owned(margin_asset.flatten()),
                delivery_date: delivery_date.flatten(),
                onboard_date: onboard_date.flatten(),
            },
            kept.map(Str::to_owned_string),
        ))
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
