//! The byte-level JSON reading both scanners share (exchangeInfo's, [`crate::exchange_info`],
//! and the stored document's, [`crate::symbols::lookup`]): strings stepped over eight
//! bytes at a time, escapes checked and decoded with serde_json's rules, UTF-8 checks, and
//! short names packed into [`Code`]s that compare as two integers.
//!
//! Everything here is on the hot path of a refresh or a hit: the comments say which shape
//! of the code V8 compiles well, and why.

/// A `u64` with every byte `0x01`.
pub(crate) const ONES: u64 = u64::MAX / 255;
/// A `u64` with the high bit of every byte set.
pub(crate) const HIGHS: u64 = ONES << 7;

/// The little-endian word at `b[at..at + 8]`, if all eight bytes are there.
#[inline(always)]
pub(crate) fn word(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at.checked_add(8)?)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map(u64::from_le_bytes)
}

/// Bytes that end the fast run through a string: `"`, `\` and control characters.
pub(crate) static STRING_STOP: [bool; 256] = {
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

pub(crate) fn hex4(b: Option<&[u8]>) -> Option<u16> {
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
pub(crate) type Code = (u64, u64);
pub(crate) const LONG: Code = (u64::MAX, u64::MAX);

pub(crate) const fn code(name: &[u8]) -> Code {
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
pub(crate) fn code_at(b: &[u8], start: usize, len: usize) -> Code {
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
pub(crate) fn is_ascii_code(code: Code) -> bool {
    code != LONG && (code.0 | code.1) & (u64::MAX / 255 * 0x80) == 0
}

/// Whether `raw` is UTF-8, as serde_json checks a `str`. ASCII (nearly every string
/// of a payload) is confirmed inline eight bytes at a time; only other text pays for
/// the call to `from_utf8`, which showed up at 6% of the processing time under V8.
#[inline(always)]
pub(crate) fn is_utf8(raw: &[u8]) -> bool {
    is_ascii(raw) || std::str::from_utf8(raw).is_ok()
}

/// Whether `raw` is ASCII, eight bytes at a time.
#[inline(always)]
pub(crate) fn is_ascii(raw: &[u8]) -> bool {
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

/// From just after an opening quote: the index of the closing quote, and whether
/// the string holds escapes. (Hot loops work on a local index: in wasm a field of
/// `self` lives in linear memory, and a store per byte is not free.)
#[inline(always)]
pub(crate) fn string_end(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        i = string_stop(b, i);
        match b.get(i) {
            Some(b'"') => return Some((i, escaped)),
            Some(b'\\') => {
                escaped = true;
                i = escape_end(b, i)?;
            }
            // A control character, or the end of the payload.
            _ => return None,
        }
    }
}

/// The index of the next `"`, `\\` or control character from `i` (or the end), eight
/// bytes at a time: SWAR masks flag those bytes in a little-endian word; the lowest
/// flag is exact (a borrow only ever spills into higher, later bytes).
#[inline(always)]
pub(crate) fn string_stop(b: &[u8], mut i: usize) -> usize {
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
pub(crate) fn stops(w: u64) -> u64 {
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
pub(crate) fn short(b: &[u8], i: usize) -> Option<(usize, Code, bool)> {
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
pub(crate) fn words(c: &[u8]) -> (u64, u64) {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&c[..8]);
    hi.copy_from_slice(&c[8..16]);
    (u64::from_le_bytes(lo), u64::from_le_bytes(hi))
}

/// From just after an opening quote: the index of the closing quote and whether the
/// text is ASCII, in one pass of word loads, for a string without escapes or
/// control characters (`None` for any other, or a truncated one).
#[inline(always)]
pub(crate) fn plain_end(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
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

/// At a backslash in a string: the index after its escape, if valid.
#[cold]
pub(crate) fn escape_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Some(i + 2),
        Some(b'u') => {
            hex4(b.get(i + 2..i + 6))?;
            Some(i + 6)
        }
        _ => None,
    }
}
