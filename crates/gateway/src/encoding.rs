//! Redis replies to Upstash JSON: `{"result": …}` / `{"error": …}` envelopes, optionally base64.
//!
//! nil → `null`, integers → numbers, simple and bulk strings → strings, arrays → arrays (nested,
//! may hold `null`). RESP3 types map to the closest JSON: doubles → numbers, booleans → booleans,
//! maps → flat `[k, v, …]` arrays (the RESP2 shape Upstash clients expect), big numbers → strings.
//!
//! With `Upstash-Encoding: base64` every string is base64 (standard alphabet, padded) except the
//! simple-string status `OK`; numbers, `null`, booleans and errors stay as they are. Without it,
//! bulk strings that are not UTF-8 are converted lossily.
//!
//! Bodies are written straight into one pre-sized buffer (no intermediate JSON tree).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::json::write_str;
use crate::resp::Value;

/// How strings in results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Plain JSON strings (non-UTF-8 bytes replaced by U+FFFD).
    #[default]
    Json,
    /// Base64 strings (binary-safe), as requested by `Upstash-Encoding: base64`.
    Base64,
}

impl Encoding {
    /// The encoding an `Upstash-Encoding` header value asks for.
    pub fn from_header(value: Option<&[u8]>) -> Self {
        match value {
            Some(v) if v.trim_ascii().eq_ignore_ascii_case(b"base64") => Encoding::Base64,
            _ => Encoding::Json,
        }
    }
}

/// One response envelope: a reply (an error reply becomes `{"error": …}`) or a gateway error.
pub enum Envelope<'a> {
    /// A reply from Redis.
    Reply(&'a Value, Encoding),
    /// An error produced by the gateway itself.
    Error(&'a str),
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8], encoding: Encoding) {
    match encoding {
        Encoding::Base64 => {
            let start = out.len();
            let encoded_len = bytes.len().div_ceil(3) * 4;
            out.resize(start + 1 + encoded_len + 1, b'"');
            // The slice has exactly the padded encoded length, so this cannot fail.
            let written = BASE64
                .encode_slice(bytes, &mut out[start + 1..start + 1 + encoded_len])
                .unwrap_or(0);
            out.truncate(start + 1 + written);
            out.push(b'"');
        }
        Encoding::Json => match std::str::from_utf8(bytes) {
            Ok(text) => write_str(out, text),
            Err(_) => write_str(out, &String::from_utf8_lossy(bytes)),
        },
    }
}

/// Rough output size of `value`, to allocate the response once.
fn size_hint(value: &Value, encoding: Encoding) -> usize {
    match value {
        Value::Bulk(b) => match encoding {
            Encoding::Base64 => b.len().div_ceil(3) * 4 + 2,
            Encoding::Json => b.len() + 8,
        },
        Value::Simple(s) | Value::Error(s) | Value::BigNumber(s) => s.len() * 2 + 8,
        Value::Array(items) => {
            items
                .iter()
                .map(|v| size_hint(v, encoding) + 1)
                .sum::<usize>()
                + 2
        }
        Value::Map(pairs) => {
            pairs
                .iter()
                .map(|(k, v)| size_hint(k, encoding) + size_hint(v, encoding) + 2)
                .sum::<usize>()
                + 2
        }
        _ => 24,
    }
}

/// Appends `value` as JSON.
pub fn write_value(out: &mut Vec<u8>, value: &Value, encoding: Encoding) {
    match value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Simple(text) if text == "OK" => out.extend_from_slice(b"\"OK\""),
        Value::Simple(text) | Value::BigNumber(text) => write_bytes(out, text.as_bytes(), encoding),
        Value::Bulk(bytes) => write_bytes(out, bytes, encoding),
        // An error nested inside an array (top-level errors become envelopes): its message.
        Value::Error(message) => write_str(out, message),
        Value::Double(d) if d.is_finite() => {
            // Same formatting as serde_json (shortest round-trip representation).
            let text = serde_json::Number::from_f64(*d)
                .map(|n| n.to_string())
                .unwrap_or_else(|| d.to_string());
            out.extend_from_slice(text.as_bytes());
        }
        Value::Double(d) => {
            let text = if d.is_nan() {
                "nan"
            } else if *d > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            write_bytes(out, text.as_bytes(), encoding);
        }
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, encoding);
            }
            out.push(b']');
        }
        Value::Map(pairs) => {
            out.push(b'[');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, k, encoding);
                out.push(b',');
                write_value(out, v, encoding);
            }
            out.push(b']');
        }
    }
}

fn write_envelope(out: &mut Vec<u8>, envelope: &Envelope<'_>) {
    match envelope {
        Envelope::Reply(Value::Error(message), _) => {
            out.extend_from_slice(b"{\"error\":");
            write_str(out, message);
        }
        Envelope::Error(message) => {
            out.extend_from_slice(b"{\"error\":");
            write_str(out, message);
        }
        Envelope::Reply(value, encoding) => {
            out.extend_from_slice(b"{\"result\":");
            write_value(out, value, *encoding);
        }
    }
    out.push(b'}');
}

fn envelope_hint(envelope: &Envelope<'_>) -> usize {
    match envelope {
        Envelope::Reply(value, encoding) => size_hint(value, *encoding) + 12,
        Envelope::Error(message) => message.len() + 16,
    }
}

/// One envelope as JSON bytes.
pub fn envelope_body(envelope: &Envelope<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(envelope_hint(envelope));
    write_envelope(&mut out, envelope);
    out
}

/// A JSON array of envelopes (pipeline and transaction responses).
pub fn envelopes_body(envelopes: &[Envelope<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        envelopes
            .iter()
            .map(|e| envelope_hint(e) + 1)
            .sum::<usize>()
            + 2,
    );
    out.push(b'[');
    for (i, envelope) in envelopes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_envelope(&mut out, envelope);
    }
    out.push(b']');
    out
}

/// `{"error": message}` as bytes.
pub fn error_body(message: &str) -> Vec<u8> {
    envelope_body(&Envelope::Error(message))
}

#[cfg(test)]
mod unit {
    use super::*;
    use bytes::Bytes;

    fn json(v: &Value, e: Encoding) -> String {
        let body = envelope_body(&Envelope::Reply(v, e));
        serde_json::from_slice::<serde_json::Value>(&body).expect("valid JSON");
        String::from_utf8(body).expect("utf8")
    }

    #[test]
    fn plain_json() {
        assert_eq!(
            json(&Value::Simple("OK".into()), Encoding::Json),
            r#"{"result":"OK"}"#
        );
        assert_eq!(json(&Value::Nil, Encoding::Json), r#"{"result":null}"#);
        assert_eq!(json(&Value::Int(-3), Encoding::Json), r#"{"result":-3}"#);
        assert_eq!(
            json(&Value::Error("ERR x".into()), Encoding::Base64),
            r#"{"error":"ERR x"}"#
        );
        let arr = Value::Array(vec![
            Value::Bulk(Bytes::from_static(b"a")),
            Value::Nil,
            Value::Array(vec![Value::Int(1)]),
        ]);
        assert_eq!(json(&arr, Encoding::Json), r#"{"result":["a",null,[1]]}"#);
        assert_eq!(
            json(&Value::Bulk(Bytes::from_static(b"\xff")), Encoding::Json),
            "{\"result\":\"\u{fffd}\"}"
        );
        assert_eq!(
            json(&Value::Bulk(Bytes::from_static(b"q\"\n")), Encoding::Json),
            r#"{"result":"q\"\n"}"#
        );
    }

    #[test]
    fn base64() {
        assert_eq!(
            json(&Value::Simple("OK".into()), Encoding::Base64),
            r#"{"result":"OK"}"#
        );
        assert_eq!(
            json(&Value::Simple("PONG".into()), Encoding::Base64),
            r#"{"result":"UE9ORw=="}"#
        );
        assert_eq!(
            json(
                &Value::Bulk(Bytes::from_static(b"\xff\x00")),
                Encoding::Base64
            ),
            r#"{"result":"/wA="}"#
        );
        let arr = Value::Array(vec![
            Value::Bulk(Bytes::from_static(b"a")),
            Value::Nil,
            Value::Int(2),
        ]);
        assert_eq!(
            json(&arr, Encoding::Base64),
            r#"{"result":["YQ==",null,2]}"#
        );
        assert_eq!(Encoding::from_header(Some(b"Base64")), Encoding::Base64);
        assert_eq!(Encoding::from_header(None), Encoding::Json);
        for len in 0..10u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            let expected = format!("{{\"result\":\"{}\"}}", BASE64.encode(&bytes));
            assert_eq!(
                json(&Value::Bulk(Bytes::from(bytes)), Encoding::Base64),
                expected
            );
        }
    }

    #[test]
    fn resp3_and_envelope_lists() {
        assert_eq!(
            json(&Value::Double(1.5), Encoding::Json),
            r#"{"result":1.5}"#
        );
        assert_eq!(
            json(&Value::Double(f64::INFINITY), Encoding::Json),
            r#"{"result":"inf"}"#
        );
        assert_eq!(
            json(&Value::Bool(true), Encoding::Base64),
            r#"{"result":true}"#
        );
        let map = Value::Map(vec![(Value::Simple("a".into()), Value::Int(1))]);
        assert_eq!(json(&map, Encoding::Json), r#"{"result":["a",1]}"#);
        let ok = Value::Simple("OK".into());
        let body = envelopes_body(&[
            Envelope::Reply(&ok, Encoding::Base64),
            Envelope::Error("ERR \"x\""),
        ]);
        assert_eq!(
            String::from_utf8(body).expect("utf8"),
            r#"[{"result":"OK"},{"error":"ERR \"x\""}]"#
        );
        assert_eq!(
            String::from_utf8(error_body("bad\n")).expect("utf8"),
            r#"{"error":"bad\n"}"#
        );
    }
}
