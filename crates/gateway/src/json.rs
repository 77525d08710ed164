//! Minimal fast JSON for the gateway's hot path: parsing command arrays and writing strings.
//!
//! Parsing is zero-copy: a string without escapes becomes a [`Bytes`] slice of the request body,
//! so a 400 KB value is never copied or re-allocated. Strings are scanned eight bytes at a time
//! for `"`, `\` and control characters, both when parsing and when escaping output. Nesting is
//! limited to [`MAX_DEPTH`] so a hostile body cannot exhaust the stack.

use bytes::Bytes;

/// Deepest array/object nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// A parsed JSON value, as far as the gateway cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A string, unescaped (valid UTF-8; lone surrogates become U+FFFD).
    Str(Bytes),
    /// A number, exactly as written.
    Num(Bytes),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array.
    Array(Vec<Node>),
    /// An object (its contents are validated, then dropped: no command uses objects).
    Object,
}

/// Malformed JSON: what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at byte {offset}")]
pub struct JsonError {
    /// What is wrong.
    pub message: &'static str,
    /// Byte offset in the input.
    pub offset: usize,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Index of the first byte that is `"`, `\` or below 0x20 (`s.len()` when there is none).
#[inline]
pub fn find_special(s: &[u8]) -> usize {
    let mut i = 0;
    while i + 8 <= s.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&s[i..i + 8]);
        let w = u64::from_le_bytes(word);
        let quote = w ^ (LO * u64::from(b'"'));
        let backslash = w ^ (LO * u64::from(b'\\'));
        let hits = (quote.wrapping_sub(LO) & !quote)
            | (backslash.wrapping_sub(LO) & !backslash)
            | (w.wrapping_sub(LO * 0x20) & !w);
        if hits & HI != 0 {
            break;
        }
        i += 8;
    }
    while i < s.len() {
        let b = s[i];
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    s.len()
}

/// Parses one JSON document. The input must be valid UTF-8.
///
/// # Errors
/// Invalid UTF-8, syntax errors, nesting deeper than [`MAX_DEPTH`], trailing characters.
pub fn parse(src: &Bytes) -> Result<Node, JsonError> {
    if let Err(e) = std::str::from_utf8(src) {
        return Err(JsonError {
            message: "invalid UTF-8",
            offset: e.valid_up_to(),
        });
    }
    let mut parser = Parser { src, pos: 0 };
    parser.skip_ws();
    let node = parser.value(0)?;
    parser.skip_ws();
    if parser.pos != src.len() {
        return Err(parser.error("trailing characters"));
    }
    Ok(node)
}

struct Parser<'a> {
    src: &'a Bytes,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: &'static str) -> JsonError {
        JsonError {
            message,
            offset: self.pos,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &'static [u8], node: Node) -> Result<Node, JsonError> {
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(node)
        } else {
            Err(self.error("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, JsonError> {
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some(b'"') => self.string().map(Node::Str),
            Some(b'[') => self.array(depth + 1),
            Some(b'{') => self.object(depth + 1),
            Some(b't') => self.literal(b"true", Node::Bool(true)),
            Some(b'f') => self.literal(b"false", Node::Bool(false)),
            Some(b'n') => self.literal(b"null", Node::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Node, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        Ok(Node::Num(self.src.slice(start..self.pos)))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .src
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        let mut value = 0u32;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.error("invalid \\u escape")),
            };
            value = value * 16 + u32::from(v);
        }
        self.pos += 4;
        Ok(value)
    }

    /// Parses a string starting at its opening quote.
    fn string(&mut self) -> Result<Bytes, JsonError> {
        self.pos += 1;
        let start = self.pos;
        let at = start + find_special(&self.src[start..]);
        match self.src.get(at) {
            None => {
                self.pos = at;
                return Err(self.error("unterminated string"));
            }
            Some(b'"') => {
                self.pos = at + 1;
                return Ok(self.src.slice(start..at));
            }
            Some(b'\\') => {}
            Some(_) => {
                self.pos = at;
                return Err(self.error("control character in string"));
            }
        }
        // Slow path: the string has escapes.
        let mut out = Vec::with_capacity(at - start + 16);
        out.extend_from_slice(&self.src[start..at]);
        self.pos = at;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Bytes::from(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = self
                        .peek()
                        .ok_or_else(|| self.error("unterminated string"))?;
                    self.pos += 1;
                    match escaped {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let first = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&first)
                                && self.src[self.pos..].starts_with(b"\\u")
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let second = self.hex4()?;
                                if (0xDC00..0xE000).contains(&second) {
                                    char::from_u32(
                                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00),
                                    )
                                } else {
                                    // Not a pair: keep the second escape for the next round.
                                    self.pos = save;
                                    None
                                }
                            } else {
                                char::from_u32(first)
                            };
                            let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                            let mut utf8 = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.error("invalid escape"));
                        }
                    }
                }
                Some(b) if b < 0x20 => return Err(self.error("control character in string")),
                Some(_) => {
                    let run = find_special(&self.src[self.pos..]);
                    out.extend_from_slice(&self.src[self.pos..self.pos + run]);
                    self.pos += run;
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Node::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node::Array(items));
                }
                _ => return Err(self.error("expected , or ]")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Node::Object);
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected :"));
            }
            self.pos += 1;
            self.skip_ws();
            self.value(depth)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node::Object);
                }
                _ => return Err(self.error("expected , or }")),
            }
        }
    }
}

/// Appends `s` as a JSON string literal (quotes included), escaping as serde_json does.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    loop {
        let at = start + find_special(&bytes[start..]);
        out.extend_from_slice(&bytes[start..at]);
        let Some(&b) = bytes.get(at) else { break };
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        start = at + 1;
    }
    out.push(b'"');
}

#[cfg(test)]
mod unit {
    use super::*;

    fn p(s: &str) -> Result<Node, JsonError> {
        parse(&Bytes::copy_from_slice(s.as_bytes()))
    }

    fn str_node(s: &str) -> Node {
        Node::Str(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn finds_specials_at_every_offset() {
        for len in 0..40 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut s = vec![b'a'; len];
                    if at < len {
                        s[at] = special;
                    }
                    assert_eq!(find_special(&s), at, "len {len} at {at} byte {special}");
                }
            }
        }
        // Bytes just outside the special set are not special.
        let plain = b" !#[]~\x7f\xc3\xa9 0123456789";
        assert_eq!(find_special(plain), plain.len());
    }

    #[test]
    fn parses_commands() {
        assert_eq!(
            p(r#" ["SET", "k", 12, -1.5e3, true, false, null] "#),
            Ok(Node::Array(vec![
                str_node("SET"),
                str_node("k"),
                Node::Num(Bytes::from_static(b"12")),
                Node::Num(Bytes::from_static(b"-1.5e3")),
                Node::Bool(true),
                Node::Bool(false),
                Node::Null,
            ]))
        );
        assert_eq!(
            p(r#"[[], [{"a": [1, {"b": null}]}]]"#),
            Ok(Node::Array(vec![
                Node::Array(vec![]),
                Node::Array(vec![Node::Object])
            ]))
        );
    }

    #[test]
    fn unescapes_strings() {
        assert_eq!(
            p(r#""a\"b\\c\/d\n\t\r\b\f""#),
            Ok(str_node("a\"b\\c/d\n\t\r\u{8}\u{c}"))
        );
        assert_eq!(
            p(r#""\u00e9\u20ac\ud83d\ude80 ok""#),
            Ok(str_node("é€🚀 ok"))
        );
        assert_eq!(p(r#""\ud800x""#), Ok(str_node("\u{fffd}x")));
        assert_eq!(p(r#""\ud800\u0041""#), Ok(str_node("\u{fffd}A")));
        assert_eq!(p("\"héllo ✓\""), Ok(str_node("héllo ✓")));
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "",
            "[",
            "[1,]",
            "[1 2]",
            "\"abc",
            "\"a\u{1}b\"",
            "\"\\x\"",
            "\"\\u12\"",
            "01",
            "1.",
            "-",
            "1e",
            "tru",
            "[1]x",
            "{1:2}",
            "{\"a\" 1}",
            "[\"a\"]]",
        ] {
            assert!(p(bad).is_err(), "accepted {bad:?}");
        }
        assert!(parse(&Bytes::from_static(b"[\"\xff\"]")).is_err());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(p(&deep).map_err(|e| e.message), Err("nesting too deep"));
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(p(&ok).is_ok());
    }

    #[test]
    fn writes_strings_like_serde_json() {
        for s in [
            "",
            "plain",
            "q\"b\\s/",
            "ctl\u{0}\u{1f}\u{7f}\n\r\t\u{8}\u{c}",
            "ünïcödé 🚀",
            &"x".repeat(100),
        ] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(
                String::from_utf8(out).expect("utf8"),
                serde_json::to_string(s).expect("json"),
                "{s:?}"
            );
        }
    }
}
