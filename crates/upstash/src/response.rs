//! Response decoding: the `{"result": ..}` / `{"error": ..}` envelopes of single commands, the
//! arrays of envelopes of `/pipeline` and `/multi-exec`, and the mapping of HTTP statuses to
//! [`Error`]s.
//!
//! Status mapping:
//! - 2xx with `{"result": x}` -> `Ok(x)`; 2xx with `{"error": e}` -> [`Error::Redis`].
//! - 400 with `{"error": e}` -> [`Error::Redis`] (the REST API answers failed commands with 400).
//! - any other non-2xx -> [`Error::Status`] with the envelope's error text, or the raw body,
//!   truncated (401 wrong token, 413 too large, 5xx gateway/Redis down, ...).

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::error::{truncate, Error, RedisError};
use crate::value::{Value, ValueSeed};

/// One decoded envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Envelope {
    /// `{"result": ..}`.
    Result(Value),
    /// `{"error": ".."}` (never base64-encoded).
    Error(String),
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Result,
    Error,
    #[serde(other)]
    Other,
}

fn envelope_from_map<'de, A: MapAccess<'de>>(
    mut map: A,
    base64: bool,
) -> Result<Envelope, A::Error> {
    let mut result = None;
    let mut error: Option<String> = None;
    while let Some(field) = map.next_key::<Field>()? {
        match field {
            Field::Result => result = Some(map.next_value_seed(ValueSeed { base64 })?),
            Field::Error => {
                // Some servers send `"error": null` next to a result; treat as absent.
                error = map.next_value::<Option<String>>()?;
            }
            Field::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    match (error, result) {
        (Some(e), _) => Ok(Envelope::Error(e)),
        (None, Some(v)) => Ok(Envelope::Result(v)),
        (None, None) => Err(de::Error::custom(
            "object has neither \"result\" nor \"error\"",
        )),
    }
}

#[derive(Clone, Copy)]
struct EnvelopeSeed {
    base64: bool,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed {
    type Value = Envelope;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed {
    type Value = Envelope;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with \"result\" or \"error\"")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Envelope, A::Error> {
        envelope_from_map(map, self.base64)
    }
}

/// A batch body: an array of envelopes, or one envelope (a batch rejected as a whole).
enum Batch {
    Many(Vec<Envelope>),
    One(Envelope),
}

#[derive(Clone, Copy)]
struct BatchSeed {
    base64: bool,
}

impl<'de> DeserializeSeed<'de> for BatchSeed {
    type Value = Batch;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Batch, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BatchSeed {
    type Value = Batch;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of {\"result\"|\"error\"} objects, or one such object")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Batch, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(e) = seq.next_element_seed(EnvelopeSeed {
            base64: self.base64,
        })? {
            items.push(e);
        }
        Ok(Batch::Many(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Batch, A::Error> {
        envelope_from_map(map, self.base64).map(Batch::One)
    }
}

fn from_slice<'de, S: DeserializeSeed<'de>>(
    seed: S,
    body: &'de [u8],
) -> Result<S::Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

fn decode_error(what: &str, err: &serde_json::Error, body: &[u8]) -> Error {
    let preview = truncate(&String::from_utf8_lossy(body), 80);
    Error::Decode(format!("{what}: {err} (body starts: {preview:?})"))
}

/// Maps a non-2xx answer to an error.
fn status_error(status: u16, body: &[u8]) -> Error {
    match from_slice(EnvelopeSeed { base64: false }, body) {
        Ok(Envelope::Error(msg)) if status == 400 => Error::Redis(msg),
        Ok(Envelope::Error(msg)) => Error::status(status, &msg),
        _ => Error::status(status, &String::from_utf8_lossy(body)),
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Decodes the answer to a single command (`POST /`).
pub(crate) fn single(status: u16, body: &[u8], base64: bool) -> Result<Value, Error> {
    if !is_success(status) {
        return Err(status_error(status, body));
    }
    match from_slice(EnvelopeSeed { base64 }, body) {
        Ok(Envelope::Result(v)) => Ok(v),
        Ok(Envelope::Error(msg)) => Err(Error::Redis(msg)),
        Err(e) => Err(decode_error("command reply", &e, body)),
    }
}

/// Decodes the answer to a batch (`POST /pipeline` or `/multi-exec`) of the commands `names`.
pub(crate) fn batch(
    status: u16,
    body: &[u8],
    base64: bool,
    names: &[String],
) -> Result<Vec<Result<Value, RedisError>>, Error> {
    if !is_success(status) {
        return Err(status_error(status, body));
    }
    let envelopes = match from_slice(BatchSeed { base64 }, body) {
        Ok(Batch::Many(items)) => items,
        Ok(Batch::One(Envelope::Error(msg))) => return Err(Error::Redis(msg)),
        Ok(Batch::One(Envelope::Result(_))) => {
            return Err(Error::Decode(
                "batch reply is a single result, expected an array".into(),
            ))
        }
        Err(e) => return Err(decode_error("batch reply", &e, body)),
    };
    if envelopes.len() != names.len() {
        return Err(Error::Decode(format!(
            "batch reply has {} entries for {} commands",
            envelopes.len(),
            names.len()
        )));
    }
    Ok(envelopes
        .into_iter()
        .zip(names)
        .enumerate()
        .map(|(index, (env, name))| match env {
            Envelope::Result(v) => Ok(v),
            Envelope::Error(message) => Err(RedisError {
                index,
                command: name.clone(),
                message,
            }),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn single_envelopes() {
        assert_eq!(
            single(200, br#"{"result":"OK"}"#, true),
            Ok(Value::Bytes(b"OK".to_vec()))
        );
        assert_eq!(
            single(200, br#"{"result":"YmFy"}"#, true),
            Ok(Value::Bytes(b"bar".to_vec()))
        );
        assert_eq!(
            single(200, br#"{"result":"YmFy"}"#, false),
            Ok(Value::Bytes(b"YmFy".to_vec()))
        );
        assert_eq!(single(200, br#"{"result":null}"#, true), Ok(Value::Nil));
        assert_eq!(single(200, br#" {"result": 7} "#, true), Ok(Value::Int(7)));
        assert_eq!(
            single(200, br#"{"extra":1,"result":[1,"YQ=="]}"#, true),
            Ok(Value::Array(vec![
                Value::Int(1),
                Value::Bytes(b"a".to_vec())
            ]))
        );
        assert_eq!(
            single(200, br#"{"error":"ERR syntax error"}"#, true),
            Err(Error::Redis("ERR syntax error".into()))
        );
        // Errors are never base64-decoded.
        assert_eq!(
            single(400, br#"{"error":"WRONGTYPE Operation"}"#, true),
            Err(Error::Redis("WRONGTYPE Operation".into()))
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(
            single(401, br#"{"error":"Unauthorized"}"#, true),
            Err(Error::Status {
                code: 401,
                body: "Unauthorized".into()
            })
        );
        assert_eq!(
            single(502, b"Bad Gateway\n", true),
            Err(Error::Status {
                code: 502,
                body: "Bad Gateway".into()
            })
        );
        // Non-JSON 400 stays a status error.
        assert_eq!(
            single(400, b"nope", true),
            Err(Error::Status {
                code: 400,
                body: "nope".into()
            })
        );
        let long = "e".repeat(5000);
        match single(500, long.as_bytes(), true) {
            Err(Error::Status { code: 500, body }) => assert!(body.chars().count() <= 201),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn malformed_bodies_are_decode_errors() {
        for body in [
            &b"not json"[..],
            b"{}",
            b"[1,2]",
            b"{\"result\":1} trailing",
            b"",
        ] {
            match single(200, body, true) {
                Err(Error::Decode(_)) => {}
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(body)),
            }
        }
    }

    #[test]
    fn batch_envelopes() {
        let n = names(&["SET", "INCR", "GET"]);
        let out = batch(
            200,
            br#"[{"result":"OK"},{"error":"ERR value is not an integer"},{"result":"dg=="}]"#,
            true,
            &n,
        )
        .expect("batch decodes");
        assert_eq!(out[0], Ok(Value::Bytes(b"OK".to_vec())));
        assert_eq!(
            out[1],
            Err(RedisError {
                index: 1,
                command: "INCR".into(),
                message: "ERR value is not an integer".into()
            })
        );
        assert_eq!(out[2], Ok(Value::Bytes(b"v".to_vec())));
        // A transaction discarded as a whole.
        assert_eq!(
            batch(
                400,
                br#"{"error":"EXECABORT Transaction discarded"}"#,
                true,
                &n
            ),
            Err(Error::Redis("EXECABORT Transaction discarded".into()))
        );
        assert_eq!(
            batch(200, br#"{"error":"ERR discarded"}"#, true, &n),
            Err(Error::Redis("ERR discarded".into()))
        );
        // Wrong length.
        assert!(matches!(
            batch(200, br#"[{"result":1}]"#, true, &n),
            Err(Error::Decode(_))
        ));
        assert!(matches!(
            batch(200, br#"{"result":1}"#, true, &n),
            Err(Error::Decode(_))
        ));
        assert!(matches!(
            batch(401, br#"{"error":"Unauthorized"}"#, true, &n),
            Err(Error::Status { code: 401, .. })
        ));
    }
}
