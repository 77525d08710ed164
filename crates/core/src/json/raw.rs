//! A small reader of raw JSON objects (exchangeInfo symbols as Binance sends them, valid
//! JSON: they came through the scanner): each object's members in order, values as text,
//! no serde tree (it runs once per symbol and refresh in the Worker). [`crate::ccxt`] reads
//! them with Python's conversions, [`crate::rules`] passes them through.

use std::borrow::Cow;
use std::ops::Range;

/// A JSON value of a raw object, as Python's `json.loads` would type it.
#[derive(Clone, Debug)]
pub(crate) enum V<'a> {
    Null,
    Bool(bool),
    /// A number's text.
    Num(&'a str),
    Str(Cow<'a, str>),
    /// An array's or object's text.
    Arr(&'a [u8]),
    Obj(&'a [u8]),
}

impl V<'_> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// An object's members in order (Python keeps the last of a repeated key).
pub(crate) struct Obj<'a>(pub(crate) Vec<(Cow<'a, str>, V<'a>)>);

impl<'a> Obj<'a> {
    #[inline(never)]
    pub(crate) fn read(b: &'a [u8]) -> Option<Self> {
        let mut r = Reader { b, i: 0 };
        r.ws();
        r.members()
    }

    #[inline(never)]
    pub(crate) fn get(&self, key: &str) -> Option<&V<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// `safe_list`: the array's elements.
    #[inline(never)]
    pub(crate) fn list(&self, key: &str) -> Option<Vec<V<'a>>> {
        match self.get(key)? {
            V::Arr(text) => Reader { b: text, i: 0 }.items(),
            _ => None,
        }
    }

    /// `index_by(safe_list(filters, []), 'filterType')`, in order: `(filterType, filter)`.
    /// `None` where ccxt raises (an element that is not an object).
    #[inline(never)]
    pub(crate) fn filters(&self) -> Option<Vec<(Option<Cow<'a, str>>, Obj<'a>)>> {
        let Some(items) = self.list("filters") else {
            return Some(Vec::new());
        };
        items
            .into_iter()
            .map(|v| match v {
                V::Obj(text) => {
                    let f = Obj::read(text)?;
                    let t = f
                        .get("filterType")
                        .and_then(V::as_str)
                        .map(|s| Cow::Owned(s.to_string()));
                    Some((t, f))
                }
                _ => None,
            })
            .collect()
    }
}

pub(crate) struct Reader<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) i: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.i += 1;
        }
    }

    #[inline(never)]
    pub(crate) fn value(&mut self) -> Option<V<'a>> {
        let start = self.i;
        match *self.b.get(self.i)? {
            b'"' => self.string().map(V::Str),
            b'{' | b'[' => {
                let end = value_end(self.b, start)?;
                self.i = end;
                let text = &self.b[start..end];
                Some(if text[0] == b'{' {
                    V::Obj(text)
                } else {
                    V::Arr(text)
                })
            }
            b't' => self.lit("true", V::Bool(true)),
            b'f' => self.lit("false", V::Bool(false)),
            b'n' => self.lit("null", V::Null),
            _ => {
                while matches!(
                    self.b.get(self.i),
                    Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                ) {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
                (!text.is_empty()).then_some(V::Num(text))
            }
        }
    }

    fn lit(&mut self, word: &str, v: V<'a>) -> Option<V<'a>> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word.as_bytes()).then(|| {
            self.i = end;
            v
        })
    }

    #[inline(never)]
    pub(crate) fn string(&mut self) -> Option<Cow<'a, str>> {
        // The step over the string already knows whether it holds escapes.
        let (close, escaped) = super::bytes::string_end(self.b, self.i + 1)?;
        let content = &self.b[self.i + 1..close];
        self.i = close + 1;
        if escaped {
            super::bytes::decode(content).map(Cow::Owned)
        } else {
            std::str::from_utf8(content).ok().map(Cow::Borrowed)
        }
    }

    #[inline(never)]
    pub(crate) fn members(&mut self) -> Option<Obj<'a>> {
        // A symbol has about 30 members, a filter 2-5: fewer regrowths than from empty.
        let mut out = Vec::with_capacity(8);
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(Obj(out));
        }
        loop {
            self.ws();
            let k = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            out.push((k, self.value()?));
            self.ws();
            if self.eat(b',').is_none() {
                self.eat(b'}')?;
                return Some(Obj(out));
            }
        }
    }

    #[inline(never)]
    pub(crate) fn items(&mut self) -> Option<Vec<V<'a>>> {
        let mut out = Vec::new();
        self.ws();
        self.eat(b'[')?;
        self.ws();
        if self.eat(b']').is_some() {
            return Some(out);
        }
        loop {
            self.ws();
            out.push(self.value()?);
            self.ws();
            if self.eat(b',').is_none() {
                self.eat(b']')?;
                return Some(out);
            }
        }
    }

    pub(crate) fn eat(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }
}

/// From the `"` at `i`: the index after the closing quote.
#[inline(never)]
pub(crate) fn string_end(b: &[u8], i: usize) -> Option<usize> {
    super::bytes::string_end(b, i + 1).map(|(end, _)| end + 1)
}

/// From the `{` or `[` at `i`: the index after its matching close (strings stepped over).
#[inline(never)]
pub(crate) fn value_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match *b.get(i)? {
            b'"' => {
                i = string_end(b, i)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// The byte ranges of a JSON array's elements.
#[inline(never)]
pub(crate) fn elements(array: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut r = Reader { b: array, i: 0 };
    r.ws();
    r.eat(b'[')?;
    let mut out = Vec::new();
    r.ws();
    if r.eat(b']').is_some() {
        return Some(out);
    }
    loop {
        r.ws();
        let start = r.i;
        r.value()?;
        out.push(start..r.i);
        r.ws();
        if r.eat(b',').is_none() {
            r.eat(b']')?;
            return Some(out);
        }
    }
}

/// Writes `v` as compact JSON: strings in our escapes, numbers as sent (exact decimals),
/// arrays and objects as sent less the whitespace between tokens.
pub(crate) fn write_value(out: &mut Vec<u8>, v: &V<'_>) {
    match v {
        V::Null => out.extend_from_slice(b"null"),
        V::Bool(true) => out.extend_from_slice(b"true"),
        V::Bool(false) => out.extend_from_slice(b"false"),
        V::Num(n) => out.extend_from_slice(n.as_bytes()),
        V::Str(s) => super::write::json_str(out, s),
        V::Arr(text) | V::Obj(text) => compact(out, text),
    }
}

/// `text` (valid JSON) without whitespace outside strings.
fn compact(out: &mut Vec<u8>, text: &[u8]) {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b' ' | b'\n' | b'\t' | b'\r' => i += 1,
            b'"' => {
                let end = string_end(text, i).unwrap_or(text.len());
                out.extend_from_slice(&text[i..end]);
                i = end;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
}
