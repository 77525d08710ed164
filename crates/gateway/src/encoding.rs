//! Redis replies to Upstash JSON: `{"result": …}` / `{"error": …}` envelopes, optionally base64.
//!
//! nil → `null`, integers → numbers, simple and bulk strings → strings, arrays → arrays (nested,
//! may hold `null`). RESP3 types map to the closest JSON: doubles → numbers, booleans → booleans,
//! maps → flat `[k, v, …]` arrays (the RESP2 shape Upstash clients expect), big numbers → strings.
//!
//! With `Upstash-Encoding: base64` every string is base64 (standard alphabet, padded) except the
//! simple-string status `OK`; numbers, `null`, booleans and errors stay as they are. Without it,
//! bulk strings that are not UTF-8 are converted lossily.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

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

/// A reply serialised with an [`Encoding`].
pub struct Encoded<'a> {
    value: &'a Value,
    encoding: Encoding,
}

impl<'a> Encoded<'a> {
    /// Wraps `value` for serialisation.
    pub fn new(value: &'a Value, encoding: Encoding) -> Self {
        Self { value, encoding }
    }

    fn child(&self, value: &'a Value) -> Self {
        Self { value, encoding: self.encoding }
    }
}

fn serialize_bytes<S: Serializer>(bytes: &[u8], encoding: Encoding, s: S) -> Result<S::Ok, S::Error> {
    match encoding {
        Encoding::Base64 => s.serialize_str(&BASE64.encode(bytes)),
        Encoding::Json => match std::str::from_utf8(bytes) {
            Ok(text) => s.serialize_str(text),
            Err(_) => s.serialize_str(&String::from_utf8_lossy(bytes)),
        },
    }
}

impl Serialize for Encoded<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Nil => s.serialize_unit(),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Simple(text) if text == "OK" => s.serialize_str(text),
            Value::Simple(text) | Value::BigNumber(text) => serialize_bytes(text.as_bytes(), self.encoding, s),
            Value::Bulk(bytes) => serialize_bytes(bytes, self.encoding, s),
            // An error nested inside an array (top-level errors become envelopes): its message.
            Value::Error(message) => s.serialize_str(message),
            Value::Double(d) if d.is_finite() => s.serialize_f64(*d),
            Value::Double(d) => {
                let text = if d.is_nan() { "nan" } else if *d > 0.0 { "inf" } else { "-inf" };
                serialize_bytes(text.as_bytes(), self.encoding, s)
            }
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&self.child(item))?;
                }
                seq.end()
            }
            Value::Map(pairs) => {
                let mut seq = s.serialize_seq(Some(pairs.len() * 2))?;
                for (k, v) in pairs {
                    seq.serialize_element(&self.child(k))?;
                    seq.serialize_element(&self.child(v))?;
                }
                seq.end()
            }
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

impl Serialize for Envelope<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match self {
            Envelope::Reply(Value::Error(message), _) => map.serialize_entry("error", message)?,
            Envelope::Error(message) => map.serialize_entry("error", message)?,
            Envelope::Reply(value, encoding) => map.serialize_entry("result", &Encoded::new(value, *encoding))?,
        }
        map.end()
    }
}

/// `{"error": message}` as bytes.
pub fn error_body(message: &str) -> Vec<u8> {
    to_vec(&Envelope::Error(message))
}

/// Serialises to JSON bytes. Serialising these types cannot fail (no maps with non-string keys).
pub fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| {
        // Unreachable in practice; still answer with valid JSON.
        format!("{{\"error\":\"ERR cannot encode reply: {e}\"}}").into_bytes()
    })
}

#[cfg(test)]
mod unit {
    use super::*;
    use bytes::Bytes;

    fn json(v: &Value, e: Encoding) -> String {
        String::from_utf8(to_vec(&Envelope::Reply(v, e))).expect("utf8")
    }

    #[test]
    fn plain_json() {
        assert_eq!(json(&Value::Simple("OK".into()), Encoding::Json), r#"{"result":"OK"}"#);
        assert_eq!(json(&Value::Nil, Encoding::Json), r#"{"result":null}"#);
        assert_eq!(json(&Value::Int(3), Encoding::Json), r#"{"result":3}"#);
        assert_eq!(json(&Value::Error("ERR x".into()), Encoding::Base64), r#"{"error":"ERR x"}"#);
        let arr = Value::Array(vec![Value::Bulk(Bytes::from_static(b"a")), Value::Nil, Value::Array(vec![Value::Int(1)])]);
        assert_eq!(json(&arr, Encoding::Json), r#"{"result":["a",null,[1]]}"#);
        assert_eq!(json(&Value::Bulk(Bytes::from_static(b"\xff")), Encoding::Json), "{\"result\":\"\u{fffd}\"}");
    }

    #[test]
    fn base64() {
        assert_eq!(json(&Value::Simple("OK".into()), Encoding::Base64), r#"{"result":"OK"}"#);
        assert_eq!(json(&Value::Simple("PONG".into()), Encoding::Base64), r#"{"result":"UE9ORw=="}"#);
        assert_eq!(json(&Value::Bulk(Bytes::from_static(b"\xff\x00")), Encoding::Base64), r#"{"result":"/wA="}"#);
        let arr = Value::Array(vec![Value::Bulk(Bytes::from_static(b"a")), Value::Nil, Value::Int(2)]);
        assert_eq!(json(&arr, Encoding::Base64), r#"{"result":["YQ==",null,2]}"#);
        assert_eq!(Encoding::from_header(Some(b"Base64")), Encoding::Base64);
        assert_eq!(Encoding::from_header(None), Encoding::Json);
    }
}
