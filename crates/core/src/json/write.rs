//! JSON written exactly as serde_json writes it (the same escapes, the same digits), into
//! one buffer sized in advance: the stored document, the ccxt markets and the full records
//! are written with these, and their tests compare the bytes with serde_json's.

/// What serde_json writes for a byte inside a string: 0 = the byte itself, else the
/// escape letter (`u` = `\u00XX`).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = b'u';
        c += 1;
    }
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// The serialised length of a JSON string (quotes and serde_json's escapes included).
#[inline]
pub(crate) fn json_str_len(s: &str) -> usize {
    let mut n = s.len() + 2;
    for &c in s.as_bytes() {
        n += match ESCAPE[usize::from(c)] {
            0 => 0,
            b'u' => 5,
            _ => 1,
        };
    }
    n
}

/// A JSON string with serde_json's escapes: `\"`, `\\`, `\b \f \n \r \t`, other control
/// characters as `\u00xx`; everything else (`/`, DEL, non-ASCII) as is.
#[inline]
pub(crate) fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    if bytes.iter().all(|&c| ESCAPE[usize::from(c)] == 0) {
        out.extend_from_slice(bytes);
    } else {
        json_str_escaped(out, bytes);
    }
    out.push(b'"');
}

#[cold]
fn json_str_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let e = ESCAPE[usize::from(c)];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if e == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 0xf)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The decimal length of an unsigned integer (as serde_json / itoa write it).
pub(crate) fn json_uint_len(v: u64) -> usize {
    let mut n = 1;
    let mut m = v / 10;
    while m > 0 {
        n += 1;
        m /= 10;
    }
    n
}

/// The decimal length of a signed integer.
pub(crate) fn json_int_len(v: i64) -> usize {
    usize::from(v < 0) + json_uint_len(v.unsigned_abs())
}

/// An unsigned integer in decimal (the same digits as serde_json's itoa).
pub(crate) fn json_uint(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut m = v;
    loop {
        at -= 1;
        buf[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

/// A signed integer in decimal (`unsigned_abs` keeps `i64::MIN` exact).
pub(crate) fn json_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    json_uint(out, v.unsigned_abs());
}
