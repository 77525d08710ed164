//! The RESP wire format: encoding commands and decoding replies (RESP2, with RESP3 frames decoded too).
//!
//! Everything here is byte-oriented and binary-safe: bulk strings are [`Bytes`] sliced out of the
//! read buffer without copying. Decoding is two-phase (mini-redis style): [`frame_len`] checks
//! that a whole frame is buffered without allocating, then [`parse_frame`] builds the [`Value`].

use bytes::{Bytes, BytesMut};

/// One reply from Redis.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Null bulk string, null array, or RESP3 null.
    Nil,
    /// `:` integer.
    Int(i64),
    /// `+` simple string (status reply such as `OK` or `PONG`).
    Simple(String),
    /// `$` bulk string (also RESP3 verbatim strings, without their format prefix).
    Bulk(Bytes),
    /// `-` error reply (also RESP3 blob errors), e.g. `ERR unknown command`.
    Error(String),
    /// `*` array (also RESP3 sets and pushes).
    Array(Vec<Value>),
    /// RESP3 double.
    Double(f64),
    /// RESP3 boolean.
    Bool(bool),
    /// RESP3 map, kept in wire order.
    Map(Vec<(Value, Value)>),
    /// RESP3 big number, as its decimal text.
    BigNumber(String),
}

impl Value {
    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Value::Error(_))
    }
}

/// A reply that is not valid RESP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RESP reply: {0}")]
pub struct ProtocolError(pub &'static str);

/// Appends one command (`*N` array of bulk strings) to `out`.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut Vec<u8>) {
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        encode_bulk_header(arg.as_ref().len(), out);
        out.extend_from_slice(arg.as_ref());
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends the `$<len>\r\n` header of a bulk string.
pub fn encode_bulk_header(len: usize, out: &mut Vec<u8>) {
    out.push(b'$');
    out.extend_from_slice(len.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Index of the `\r` of the first `\r\n` at or after `start`.
fn find_crlf(buf: &[u8], start: usize) -> Option<usize> {
    buf.get(start..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| p + start)
}

fn parse_int(line: &[u8]) -> Result<i64, ProtocolError> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or(ProtocolError("bad integer"))
}

fn parse_len(line: &[u8]) -> Result<Option<usize>, ProtocolError> {
    let n = parse_int(line)?;
    if n < 0 {
        Ok(None)
    } else {
        usize::try_from(n)
            .map(Some)
            .map_err(|_| ProtocolError("length too large"))
    }
}

/// If `buf[pos..]` starts with a complete frame, the index just past it; `None` when more bytes are
/// needed.
///
/// # Errors
/// When the bytes are not RESP.
pub fn frame_len(buf: &[u8], pos: usize) -> Result<Option<usize>, ProtocolError> {
    if pos >= buf.len() {
        return Ok(None);
    }
    let kind = buf[pos];
    let Some(line_end) = find_crlf(buf, pos + 1) else {
        return Ok(None);
    };
    let line = &buf[pos + 1..line_end];
    let next = line_end + 2;
    match kind {
        b'+' | b'-' | b':' | b',' | b'#' | b'(' | b'_' => Ok(Some(next)),
        b'$' | b'=' | b'!' => match parse_len(line)? {
            None => Ok(Some(next)),
            Some(n) => {
                let end = next
                    .checked_add(n)
                    .and_then(|e| e.checked_add(2))
                    .ok_or(ProtocolError("length overflow"))?;
                Ok((buf.len() >= end).then_some(end))
            }
        },
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let Some(n) = parse_len(line)? else {
                return Ok(Some(next));
            };
            let items = if matches!(kind, b'%' | b'|') {
                n.checked_mul(2).ok_or(ProtocolError("length overflow"))?
            } else {
                n
            };
            let mut p = next;
            for _ in 0..items {
                match frame_len(buf, p)? {
                    Some(e) => p = e,
                    None => return Ok(None),
                }
            }
            if kind == b'|' {
                // An attribute is followed by the reply it annotates.
                return frame_len(buf, p);
            }
            Ok(Some(p))
        }
        _ => Err(ProtocolError("unknown type byte")),
    }
}

/// Decodes the frame starting at `*pos` of `frame` (which [`frame_len`] accepted), advancing `pos`.
///
/// # Errors
/// When the bytes are not RESP.
pub fn parse_frame(frame: &Bytes, pos: &mut usize) -> Result<Value, ProtocolError> {
    let buf: &[u8] = frame;
    let start = *pos;
    if start >= buf.len() {
        return Err(ProtocolError("truncated frame"));
    }
    let kind = buf[start];
    let line_end = find_crlf(buf, start + 1).ok_or(ProtocolError("truncated frame"))?;
    let line = &buf[start + 1..line_end];
    *pos = line_end + 2;
    let text = || String::from_utf8_lossy(line).into_owned();
    let value = match kind {
        b'+' => Value::Simple(text()),
        b'-' => Value::Error(text()),
        b':' => Value::Int(parse_int(line)?),
        b'_' => Value::Nil,
        b'#' => Value::Bool(line == b"t"),
        b'(' => Value::BigNumber(text()),
        b',' => {
            let s = text();
            let d = match s.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                other => other
                    .parse::<f64>()
                    .map_err(|_| ProtocolError("bad double"))?,
            };
            Value::Double(d)
        }
        b'$' | b'=' | b'!' => match parse_len(line)? {
            None => Value::Nil,
            Some(n) => {
                let body_start = *pos;
                let body_end = body_start + n;
                if body_end + 2 > buf.len() {
                    return Err(ProtocolError("truncated bulk string"));
                }
                *pos = body_end + 2;
                match kind {
                    b'$' => Value::Bulk(frame.slice(body_start..body_end)),
                    // Verbatim string: "txt:" / "mkd:" prefix, then the text.
                    b'=' => Value::Bulk(frame.slice((body_start + 4).min(body_end)..body_end)),
                    _ => Value::Error(
                        String::from_utf8_lossy(&buf[body_start..body_end]).into_owned(),
                    ),
                }
            }
        },
        b'*' | b'~' | b'>' => match parse_len(line)? {
            None => Value::Nil,
            Some(n) => {
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(parse_frame(frame, pos)?);
                }
                Value::Array(items)
            }
        },
        b'%' | b'|' => match parse_len(line)? {
            None => Value::Nil,
            Some(n) => {
                let mut pairs = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let k = parse_frame(frame, pos)?;
                    let v = parse_frame(frame, pos)?;
                    pairs.push((k, v));
                }
                if kind == b'|' {
                    // Attributes are metadata: drop them and return the annotated reply.
                    return parse_frame(frame, pos);
                }
                Value::Map(pairs)
            }
        },
        _ => return Err(ProtocolError("unknown type byte")),
    };
    Ok(value)
}

/// The full size of a bulk-string frame at the start of `buf` once its header has arrived (used to
/// size the read buffer once for large values instead of growing it step by step).
pub fn bulk_frame_hint(buf: &[u8]) -> Option<usize> {
    if buf.first() != Some(&b'$') {
        return None;
    }
    let line_end = find_crlf(buf, 1)?;
    let n = parse_len(&buf[1..line_end]).ok()??;
    (line_end + 2).checked_add(n)?.checked_add(2)
}

/// Takes one complete reply off the front of `buf`, or `None` when more bytes are needed.
///
/// # Errors
/// When the bytes are not RESP.
pub fn take_value(buf: &mut BytesMut) -> Result<Option<Value>, ProtocolError> {
    match frame_len(buf, 0)? {
        None => Ok(None),
        Some(end) => {
            let frame = buf.split_to(end).freeze();
            let mut pos = 0;
            parse_frame(&frame, &mut pos).map(Some)
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn decode(bytes: &[u8]) -> Value {
        let mut buf = BytesMut::from(bytes);
        let v = take_value(&mut buf).expect("valid").expect("complete");
        assert!(buf.is_empty(), "left over bytes");
        v
    }

    #[test]
    fn decodes_resp2() {
        assert_eq!(decode(b"+OK\r\n"), Value::Simple("OK".into()));
        assert_eq!(decode(b"-ERR x\r\n"), Value::Error("ERR x".into()));
        assert_eq!(decode(b":-5\r\n"), Value::Int(-5));
        assert_eq!(decode(b"$-1\r\n"), Value::Nil);
        assert_eq!(decode(b"*-1\r\n"), Value::Nil);
        assert_eq!(
            decode(b"$3\r\na\r\n\r\n"),
            Value::Bulk(Bytes::from_static(b"a\r\n"))
        );
        assert_eq!(
            decode(b"*3\r\n$1\r\na\r\n$-1\r\n*1\r\n:1\r\n"),
            Value::Array(vec![
                Value::Bulk(Bytes::from_static(b"a")),
                Value::Nil,
                Value::Array(vec![Value::Int(1)])
            ])
        );
    }

    #[test]
    fn decodes_resp3() {
        assert_eq!(decode(b"_\r\n"), Value::Nil);
        assert_eq!(decode(b"#t\r\n"), Value::Bool(true));
        assert_eq!(decode(b",1.5\r\n"), Value::Double(1.5));
        assert_eq!(
            decode(b"=7\r\ntxt:abc\r\n"),
            Value::Bulk(Bytes::from_static(b"abc"))
        );
        assert_eq!(
            decode(b"%1\r\n+a\r\n:1\r\n"),
            Value::Map(vec![(Value::Simple("a".into()), Value::Int(1))])
        );
        assert_eq!(decode(b"|1\r\n+k\r\n+v\r\n:7\r\n"), Value::Int(7));
    }

    #[test]
    fn incomplete_frames_wait_for_more() {
        for partial in [
            &b"$5\r\nab"[..],
            b"*2\r\n:1\r\n",
            b"+OK\r",
            b"",
            b"|1\r\n+k\r\n+v\r\n",
        ] {
            let mut buf = BytesMut::from(partial);
            assert_eq!(take_value(&mut buf), Ok(None), "{partial:?}");
        }
        let mut buf = BytesMut::from(&b"?x\r\n"[..]);
        assert!(take_value(&mut buf).is_err());
    }

    #[test]
    fn encodes_commands() {
        let mut out = Vec::new();
        encode_command(&[&b"SET"[..], b"k", b"\x00\xff"], &mut out);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\x00\xff\r\n");
    }
}
