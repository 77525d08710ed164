//! [`Value`]: one Redis reply as it comes out of the REST API's JSON, with base64 decoding.
//!
//! The REST API turns Redis replies into JSON: nil -> `null`, integers -> numbers, bulk and
//! simple strings -> strings, arrays -> arrays. Status replies and bulk strings are
//! indistinguishable there, so both become [`Value::Bytes`] (`SET` answers `Bytes(b"OK")`).
//!
//! With `Upstash-Encoding: base64` every string is base64 except the literal `"OK"`; decoding is
//! element-wise and recursive. A string that is not valid base64 is kept as-is (so `"OK"` and
//! other plain status strings survive), and `"T0s="` decodes to `OK` like any other value.
//!
//! Replies are deserialised straight into [`Value`] (no intermediate `serde_json::Value`), so a
//! large stored blob costs one JSON string scan plus one base64 decode.

use std::fmt;

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// One Redis reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Nil (missing key, `SET .. NX` that did not set, ...).
    Nil,
    /// An integer reply (`INCRBY`, `DEL`, `TTL`, ...). JSON booleans map to 1/0.
    Int(i64),
    /// A bulk or status string (`GET`'s value, `OK`, `PONG`), raw bytes after base64 decoding.
    /// Non-integer JSON numbers are kept here as their decimal text.
    Bytes(Vec<u8>),
    /// An array reply (`MGET`, `EVAL` returning a table, ...). JSON objects are flattened into
    /// `[key, value, key, value, ...]` as in RESP2.
    Array(Vec<Value>),
}

impl Value {
    /// True for [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// True for the status reply `OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Value::Bytes(b) if b == b"OK")
    }

    /// The string when this is UTF-8 [`Value::Bytes`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The bytes when this is [`Value::Bytes`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The bytes when this is [`Value::Bytes`] (integers are given as decimal text).
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Value::Bytes(b) => Some(b),
            Value::Int(n) => Some(n.to_string().into_bytes()),
            _ => None,
        }
    }

    /// The string when this is UTF-8 [`Value::Bytes`] (integers are given as decimal text).
    pub fn into_string(self) -> Option<String> {
        self.into_bytes().and_then(|b| String::from_utf8(b).ok())
    }

    /// The integer for [`Value::Int`], or for [`Value::Bytes`] holding a decimal integer
    /// (a counter read with `GET`).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
            _ => None,
        }
    }

    /// The elements when this is [`Value::Array`].
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The elements when this is [`Value::Array`].
    pub fn into_array(self) -> Option<Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// A short name of the variant, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Int(_) => "integer",
            Value::Bytes(_) => "string",
            Value::Array(_) => "array",
        }
    }
}

/// Decodes one reply string: base64 unless it is the literal `OK` or not valid base64.
pub(crate) fn decode_string(s: &str, base64: bool) -> Vec<u8> {
    if base64 && s != "OK" {
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(s) {
            return bytes;
        }
    }
    s.as_bytes().to_vec()
}

/// Deserialises a JSON reply into a [`Value`], base64-decoding strings when asked.
#[derive(Clone, Copy)]
pub(crate) struct ValueSeed {
    pub(crate) base64: bool,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Redis reply (null, number, string or array)")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Int(i64::from(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v)
            .map(Value::Int)
            .unwrap_or_else(|_| Value::Bytes(v.to_string().into_bytes())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // Shortest round-trip text through serde_json (ryu), already in the wasm; `to_string`
        // would link core's float formatting, ~18 KB of the Worker for this one call.
        // JSON cannot carry a non-finite number, so the fallback never runs.
        let text =
            serde_json::Number::from_f64(v).map_or_else(|| "NaN".to_string(), |n| n.to_string());
        Ok(Value::Bytes(text.into_bytes()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Bytes(decode_string(v, self.base64)))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        if self.base64 && v != "OK" {
            return Ok(Value::Bytes(decode_string(&v, true)));
        }
        Ok(Value::Bytes(v.into_bytes()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(key) = map.next_key_seed(self)? {
            items.push(key);
            items.push(map.next_value_seed(self)?);
        }
        Ok(Value::Array(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str, base64: bool) -> Value {
        let mut de = serde_json::Deserializer::from_str(json);
        ValueSeed { base64 }
            .deserialize(&mut de)
            .expect("valid reply JSON")
    }

    #[test]
    fn plain_replies() {
        assert_eq!(parse("null", false), Value::Nil);
        assert_eq!(parse("42", false), Value::Int(42));
        assert_eq!(parse("-7", false), Value::Int(-7));
        assert_eq!(parse("\"OK\"", false), Value::Bytes(b"OK".to_vec()));
        assert_eq!(parse("\"YmFy\"", false), Value::Bytes(b"YmFy".to_vec()));
        assert_eq!(parse("\"h\\u00e9\\n\"", false).as_str(), Some("hé\n"));
        assert_eq!(
            parse("[\"a\", null, 3, [\"b\"]]", false),
            Value::Array(vec![
                Value::Bytes(b"a".to_vec()),
                Value::Nil,
                Value::Int(3),
                Value::Array(vec![Value::Bytes(b"b".to_vec())]),
            ])
        );
        assert_eq!(parse("true", false), Value::Int(1));
        assert_eq!(parse("1.5", false), Value::Bytes(b"1.5".to_vec()));
        assert_eq!(
            parse("18446744073709551615", false),
            Value::Bytes(b"18446744073709551615".to_vec())
        );
        assert_eq!(
            parse("{\"k\": 1}", false),
            Value::Array(vec![Value::Bytes(b"k".to_vec()), Value::Int(1)])
        );
    }

    #[test]
    fn base64_replies_are_decoded_element_wise() {
        assert_eq!(parse("\"YmFy\"", true), Value::Bytes(b"bar".to_vec()));
        // "OK" stays "OK"; an encoded "OK" decodes to "OK" too.
        assert_eq!(parse("\"OK\"", true), Value::Bytes(b"OK".to_vec()));
        assert_eq!(parse("\"T0s=\"", true), Value::Bytes(b"OK".to_vec()));
        assert!(parse("\"T0s=\"", true).is_ok());
        // Not base64: kept as-is.
        assert_eq!(
            parse("\"not base64!\"", true),
            Value::Bytes(b"not base64!".to_vec())
        );
        // Binary content survives.
        assert_eq!(
            parse("\"AP/+gA==\"", true),
            Value::Bytes(vec![0x00, 0xff, 0xfe, 0x80])
        );
        // Integers and nil untouched; arrays decoded recursively.
        assert_eq!(
            parse("[\"YQ==\", null, 5, [\"Yg==\", [\"Yw==\"]]]", true),
            Value::Array(vec![
                Value::Bytes(b"a".to_vec()),
                Value::Nil,
                Value::Int(5),
                Value::Array(vec![
                    Value::Bytes(b"b".to_vec()),
                    Value::Array(vec![Value::Bytes(b"c".to_vec())]),
                ]),
            ])
        );
        // Unicode round trip (JSON with emojis is why base64 mode exists).
        let encoded = base64::engine::general_purpose::STANDARD.encode("{\"s\":\"BTC🚀\"}");
        assert_eq!(
            parse(&format!("\"{encoded}\""), true).as_str(),
            Some("{\"s\":\"BTC🚀\"}")
        );
    }

    #[test]
    fn helpers() {
        let v = Value::Bytes(b"12".to_vec());
        assert_eq!(v.as_int(), Some(12));
        assert_eq!(v.as_str(), Some("12"));
        assert_eq!(Value::Bytes(b"x".to_vec()).as_int(), None);
        assert_eq!(Value::Int(5).as_int(), Some(5));
        assert_eq!(Value::Int(5).into_bytes(), Some(b"5".to_vec()));
        assert_eq!(Value::Nil.into_bytes(), None);
        assert!(Value::Nil.is_nil());
        assert!(!Value::Int(0).is_nil());
        assert_eq!(Value::Bytes(vec![0xff]).as_str(), None);
        assert_eq!(Value::Bytes(vec![0xff]).into_string(), None);
        assert_eq!(
            Value::Array(vec![Value::Nil])
                .as_array()
                .map(<[Value]>::len),
            Some(1)
        );
        assert_eq!(Value::Nil.into_array(), None);
        assert_eq!(Value::Array(vec![]).kind(), "array");
    }
}
