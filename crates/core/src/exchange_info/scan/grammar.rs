//! The JSON grammar as the scanner reads it: whitespace, literals, strings, numbers, keys,
//! and stepping over any value it does not keep (serde_json's `ignore_*`).

use super::{
    long_code, long_kept_string, long_string, skip_value_at, string_array_end, ws_from, Bail,
    Scanner, Str, FAIL, MAX_SKIP_DEPTH, R,
};
use crate::json::bytes::{code, is_utf8, short, Code};

impl<'a> Scanner<'a> {
    /// The current byte; 0 at the end (0 is never valid where a token is expected).
    #[inline(always)]
    pub(super) fn peek(&self) -> u8 {
        match self.b.get(self.i) {
            Some(&c) => c,
            None => 0,
        }
    }

    /// Whitespace. Payloads are minified, so the common case is one compare (every
    /// whitespace byte is <= b' ', every token byte above it) and no loop: V8 puts an
    /// interrupt check in every wasm loop, and this runs about four times per member.
    #[inline(always)]
    pub(super) fn ws(&mut self) {
        if let Some(&c) = self.b.get(self.i) {
            if c <= b' ' {
                self.i = ws_from(self.b, self.i);
            }
        }
    }

    #[inline(always)]
    pub(super) fn eat(&mut self, c: u8) -> R<()> {
        if self.peek() == c {
            self.i += 1;
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// `true`, `false` or `null` (by its 4-byte tail compared as one word).
    #[inline(always)]
    pub(super) fn literal(&mut self, word: &[u8]) -> R<()> {
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
    pub(super) fn string(&mut self) -> R<(&'a [u8], bool)> {
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
    pub(super) fn kept_string(&mut self) -> R<Str<'a>> {
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
    pub(super) fn kept_code(&mut self) -> R<Code> {
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
    pub(super) fn opt_string(&mut self) -> R<Option<Str<'a>>> {
        if self.peek() == b'n' {
            self.literal(b"null")?;
            Ok(None)
        } else {
            self.kept_string().map(Some)
        }
    }

    /// `null` or a plain integer that serde_json reads into an `i64` (no sign,
    /// fraction or exponent here; at most 18 digits, so it fits).
    pub(super) fn opt_i64(&mut self) -> R<Option<i64>> {
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
    pub(super) fn integer_end(&self) -> R<()> {
        match self.peek() {
            b'0'..=b'9' | b'.' | b'e' | b'E' => Err(Bail),
            _ => Ok(()),
        }
    }

    /// A number, as serde_json's `ignore_integer` / `ignore_decimal` / `ignore_exponent`.
    #[inline(always)]
    pub(super) fn skip_number(&mut self) -> R<()> {
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
    pub(super) fn digits(&mut self) {
        let mut i = self.i;
        while let Some(b'0'..=b'9') = self.b.get(i) {
            i += 1;
        }
        self.i = i;
    }

    /// An object key of an object we read (deserialised into `str` by serde), then
    /// the colon. Keys with escapes are left to serde_json.
    #[inline(always)]
    pub(super) fn key(&mut self) -> R<Code> {
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
    pub(super) fn next_or_close(&mut self, close: u8) -> R<bool> {
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
    pub(super) fn empty(&mut self, close: u8) -> bool {
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
    pub(super) fn skip_value(&mut self) -> R<()> {
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
    pub(super) fn resume(&mut self, next: usize) -> R<()> {
        if next == FAIL {
            return Err(Bail);
        }
        self.i = next;
        Ok(())
    }

    /// Any value, containers included. Nested containers are tracked with a bit
    /// stack (1 = object), no allocation.
    #[inline(always)]
    pub(super) fn skip_value_here(&mut self) -> R<()> {
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
    pub(super) fn skip_key(&mut self) -> R<()> {
        self.eat(b'"')?;
        self.string()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Ok(())
    }
}
