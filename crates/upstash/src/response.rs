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
    // serde's own message can quote the whole body (`invalid type: string "<body>"`): cut it too.
    let preview = truncate(&String::from_utf8_lossy(body), 80);
    let err = truncate(&err.to_string(), 120);
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

/// Decodes a single-command answer the way upstash-redis-rs does: any envelope, whatever the
/// status (a 401 `{"error"}` is an [`Envelope::Error`] too); an answer that is no envelope is
/// the error [`single`] would give.
pub(crate) fn any_envelope(status: u16, body: &[u8], base64: bool) -> Result<Envelope, Error> {
    let base64 = base64 && is_success(status);
    match from_slice(EnvelopeSeed { base64 }, body) {
        Ok(envelope) => Ok(envelope),
        Err(_) if !is_success(status) => Err(status_error(status, body)),
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

/// Property-based fuzzing of the reply decoding (proptest, stable Rust), here because
/// [`single`] and [`batch`] are crate-private. Same driver as `crates/core/tests/fuzz.rs`:
/// `cargo test -p upstash-rest --lib fuzz_tests` runs each property with a fixed seed and a
/// modest number of cases (`FUZZ_SEED` / `FUZZ_CASES` override); `scripts/fuzz.sh [seconds]`
/// runs the ignored `long_run` for `FUZZ_SECONDS` with random seeds.
///
/// - `single_model`: generated `{"result"}` / `{"error"}` envelopes (nested arrays and objects,
///   base64 of random bytes, `"OK"`, non-base64 text, `null`, booleans, integers of any size,
///   floats, escaped and duplicate keys, `"error": null`, unknown fields) under any status:
///   [`single`] equals a model of the documented rules.
/// - `batch_model`: arrays of such envelopes (or one envelope) with the right or a wrong number
///   of command names: [`batch`] equals the model; errors carry their index and command.
/// - `arbitrary_bodies`: random bytes, JSON-ish token soup and byte-mutated envelopes: no panic,
///   non-2xx is never `Ok`, `Redis` only for 2xx/400, `Status` bodies cut to `MAX_BODY_CHARS`,
///   `Decode` messages and decoded values bounded by the body size.
#[cfg(test)]
mod fuzz_tests {
    use std::fmt;

    use base64::Engine as _;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;
    use proptest::test_runner::{TestCaseError, TestRunner};
    use testkit::fuzz::{Prop, Suite};

    use super::{batch, single};
    use crate::error::{truncate, Error, RedisError, MAX_BODY_CHARS};
    use crate::value::Value;

    // ---- driver --------------------------------------------------------------------------

    const SUITE: Suite = Suite {
        crate_name: "upstash-rest",
        row_prefix: "upstash ",
        replay: "cargo test -p upstash-rest --lib fuzz_tests::",
        seed: 0x5eed_f022_2026_0002,
        // FUZZ_ONLY names core properties (scripts/fuzz.sh): this crate runs all of its own.
        honours_only: false,
        props: &[
            Prop {
                name: "single_model",
                cases: 256,
                run: single_model,
            },
            Prop {
                name: "batch_model",
                cases: 192,
                run: batch_model,
            },
            Prop {
                name: "arbitrary_bodies",
                cases: 384,
                run: arbitrary_bodies,
            },
        ],
    };

    #[test]
    fn single_model_suite() {
        SUITE.run_one("single_model");
    }

    #[test]
    fn batch_model_suite() {
        SUITE.run_one("batch_model");
    }

    #[test]
    fn arbitrary_bodies_suite() {
        SUITE.run_one("arbitrary_bodies");
    }

    /// Every property in turn, in batches with fresh seeds, until `FUZZ_SECONDS` have passed.
    #[test]
    #[ignore = "long fuzz run: scripts/fuzz.sh [seconds]"]
    fn long_run() {
        SUITE.long_run();
    }

    // ---- a JSON model (duplicate keys, chosen escapes) and its expected decoding ----------

    #[derive(Clone)]
    struct Bytes(Vec<u8>);

    impl fmt::Debug for Bytes {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "b\"{}\" ({} bytes)", self.0.escape_ascii(), self.0.len())
        }
    }

    #[derive(Clone, Debug)]
    enum J {
        Null,
        Bool(bool),
        Int(i64),
        Big(u64),
        /// A finite float, spelled as given.
        Float(String),
        /// A string: `(text, escape every character as \uXXXX)`.
        Str(String, bool),
        Arr(Vec<J>),
        /// Keys may repeat.
        Obj(Vec<(String, bool, J)>),
    }

    fn render_str(s: &str, unicode: bool, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                _ if unicode => {
                    let mut buf = [0u16; 2];
                    for u in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }

    fn render(j: &J, ws: &str, out: &mut String) {
        match j {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(n) => out.push_str(&n.to_string()),
            J::Big(n) => out.push_str(&n.to_string()),
            J::Float(f) => out.push_str(f),
            J::Str(s, u) => render_str(s, *u, out),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(ws);
                    render(item, ws, out);
                }
                out.push_str(ws);
                out.push(']');
            }
            J::Obj(entries) => {
                out.push('{');
                for (i, (k, u, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(ws);
                    render_str(k, *u, out);
                    out.push(':');
                    out.push_str(ws);
                    render(v, ws, out);
                }
                out.push_str(ws);
                out.push('}');
            }
        }
    }

    /// A reply string as documented: base64 unless it is `OK` or not valid base64.
    fn model_string(s: &str, base64: bool) -> Vec<u8> {
        if base64 && s != "OK" {
            if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(s) {
                return b;
            }
        }
        s.as_bytes().to_vec()
    }

    /// The documented mapping of JSON to [`Value`].
    fn model_value(j: &J, base64: bool) -> Value {
        match j {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Int(i64::from(*b)),
            J::Int(n) => Value::Int(*n),
            J::Big(n) => match i64::try_from(*n) {
                Ok(n) => Value::Int(n),
                Err(_) => Value::Bytes(n.to_string().into_bytes()),
            },
            // As serde_json reads it: without its `float_roundtrip` feature that can be one ULP
            // off the correctly rounded value (`-1.075414056224892e-61`), so the text kept is
            // not always the number sent.
            J::Float(f) => {
                // ... and written back as its shortest round-trip text (`1e308`, not 309 digits).
                let v: f64 = serde_json::from_str(f).expect("a finite JSON number");
                let text = serde_json::Number::from_f64(v).expect("finite").to_string();
                Value::Bytes(text.into_bytes())
            }
            J::Str(s, _) => Value::Bytes(model_string(s, base64)),
            J::Arr(items) => Value::Array(items.iter().map(|i| model_value(i, base64)).collect()),
            J::Obj(entries) => Value::Array(
                entries
                    .iter()
                    .flat_map(|(k, _, v)| {
                        [
                            Value::Bytes(model_string(k, base64)),
                            model_value(v, base64),
                        ]
                    })
                    .collect(),
            ),
        }
    }

    /// What one envelope object decodes to: `Ok(Ok(value))`, `Ok(Err(message))`, or
    /// `Err(())` when it is not an envelope (decode error).
    fn model_envelope(j: &J, base64: bool) -> Result<Result<Value, String>, ()> {
        let J::Obj(entries) = j else { return Err(()) };
        let (mut result, mut error) = (None, None);
        for (k, _, v) in entries {
            match k.as_str() {
                "result" => result = Some(model_value(v, base64)),
                "error" => {
                    error = match v {
                        J::Null => None,
                        J::Str(s, _) => Some(s.clone()),
                        _ => return Err(()),
                    }
                }
                _ => {}
            }
        }
        match (error, result) {
            (Some(e), _) => Ok(Err(e)),
            (None, Some(v)) => Ok(Ok(v)),
            (None, None) => Err(()),
        }
    }

    fn model_status_error(status: u16, env: Option<&J>, body: &str) -> Error {
        match env.map(|j| model_envelope(j, false)) {
            Some(Ok(Err(msg))) if status == 400 => Error::Redis(msg),
            Some(Ok(Err(msg))) => Error::status(status, &msg),
            _ => Error::status(status, body),
        }
    }

    fn ok_status(status: u16) -> bool {
        (200..300).contains(&status)
    }

    // ---- strategies ------------------------------------------------------------------------

    fn text(max: usize) -> impl Strategy<Value = String> + Clone {
        let ch = prop_oneof![
            8 => proptest::char::range('a', 'z'),
            3 => proptest::char::range('A', 'Z'),
            2 => proptest::char::range('0', '9'),
            2 => select(vec!['+', '/', '=', '"', '\\', ' ', '\n', '\0', 'é', '币', '🚀']),
            1 => any::<char>(),
        ];
        vec(ch, 0..max).prop_map(|v| v.into_iter().collect())
    }

    fn status() -> impl Strategy<Value = u16> {
        prop_oneof![
            6 => Just(200u16),
            4 => select(vec![201u16, 204, 299, 400, 401, 403, 404, 413, 429, 500, 502, 503]),
            1 => any::<u16>(),
        ]
    }

    /// Strings as the REST API sends them: base64 of any bytes, `OK`, plain text.
    fn reply_string() -> impl Strategy<Value = J> + Clone {
        prop_oneof![
            3 => vec(any::<u8>(), 0..24)
                .prop_map(|b| J::Str(base64::engine::general_purpose::STANDARD.encode(b), false)),
            1 => Just(J::Str("OK".into(), false)),
            1 => Just(J::Str("T0s=".into(), false)),
            3 => (text(16), any::<bool>()).prop_map(|(s, u)| J::Str(s, u)),
        ]
    }

    fn float() -> impl Strategy<Value = String> + Clone {
        prop_oneof![
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| format!("{f:?}")),
            "-?(0|[1-9][0-9]{0,3})\\.[0-9]{1,6}([eE][+-]?[0-9]{1,2})?",
            select(vec![
                "1e308",
                "-1e-308",
                "5e-324",
                "1.7976931348623157e308",
                "18446744073709551616"
            ])
            .prop_map(str::to_string),
        ]
    }

    fn value() -> BoxedStrategy<J> {
        let leaf = prop_oneof![
            1 => Just(J::Null),
            1 => any::<bool>().prop_map(J::Bool),
            3 => any::<i64>().prop_map(J::Int),
            1 => any::<u64>().prop_map(J::Big),
            1 => float().prop_map(J::Float),
            5 => reply_string(),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                3 => vec(inner.clone(), 0..6).prop_map(J::Arr),
                1 => vec((text(8), any::<bool>(), inner), 0..4).prop_map(J::Obj),
            ]
        })
        .boxed()
    }

    /// An envelope: `result` / `error` entries (possibly several of each, `error` possibly
    /// `null` or of a wrong type), unknown fields, in any order, keys possibly escaped.
    fn envelope() -> impl Strategy<Value = J> + Clone {
        let error = prop_oneof![
            6 => text(24).prop_map(|s| J::Str(s, false)),
            2 => Just(J::Null),
            1 => value(),
        ];
        let entry = prop_oneof![
            6 => (weighted_bool(0.1), value()).prop_map(|(u, v)| ("result".to_string(), u, v)),
            3 => (weighted_bool(0.1), error).prop_map(|(u, v)| ("error".to_string(), u, v)),
            2 => (other_key(), any::<bool>(), value())
                .prop_map(|(k, u, v)| (k, u, v)),
        ];
        prop_oneof![
            8 => vec(entry, 0..4).prop_map(J::Obj),
            1 => value(),
        ]
    }

    fn other_key() -> impl Strategy<Value = String> + Clone {
        prop_oneof![text(8), Just("Result".to_string()), Just("err".to_string())]
    }

    fn weighted_bool(p: f64) -> impl Strategy<Value = bool> + Clone {
        proptest::bool::weighted(p)
    }

    const WS: [&str; 3] = ["", " ", "\n\t "];

    fn to_body(j: &J, ws: usize) -> String {
        let mut out = String::new();
        render(j, WS[ws], &mut out);
        out
    }

    // ---- properties ------------------------------------------------------------------------

    #[derive(Clone)]
    struct Envelope(u16, J, bool, usize);

    impl fmt::Debug for Envelope {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "status {} base64 {} body {:?}",
                self.0,
                self.2,
                to_body(&self.1, self.3)
            )
        }
    }

    fn single_model(r: &mut TestRunner) -> Result<(), String> {
        let input = (status(), envelope(), any::<bool>(), 0..WS.len())
            .prop_map(|(s, j, b, ws)| Envelope(s, j, b, ws));
        r.run(&input, |Envelope(status, j, base64, ws)| {
            let body = to_body(&j, ws);
            let got = single(status, body.as_bytes(), base64);
            if !ok_status(status) {
                prop_assert_eq!(got, Err(model_status_error(status, Some(&j), &body)));
                return Ok(());
            }
            match model_envelope(&j, base64) {
                Ok(Ok(v)) => prop_assert_eq!(got, Ok(v)),
                Ok(Err(msg)) => prop_assert_eq!(got, Err(Error::Redis(msg))),
                Err(()) => prop_assert!(matches!(got, Err(Error::Decode(_))), "{got:?}"),
            }
            Ok(())
        })
        .map_err(|e| e.to_string())
    }

    #[derive(Clone)]
    struct Batch(u16, J, bool, usize, i8);

    impl fmt::Debug for Batch {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "status {} base64 {} names {:+} body {:?}",
                self.0,
                self.2,
                self.4,
                to_body(&self.1, self.3)
            )
        }
    }

    fn batch_model(r: &mut TestRunner) -> Result<(), String> {
        let body = prop_oneof![
            6 => vec(envelope(), 0..6).prop_map(J::Arr),
            1 => envelope(),
        ];
        let names_delta = prop_oneof![8 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)];
        let input = (status(), body, any::<bool>(), 0..WS.len(), names_delta)
            .prop_map(|(s, j, b, ws, d)| Batch(s, j, b, ws, d));
        r.run(&input, |Batch(status, j, base64, ws, delta)| {
            let body = to_body(&j, ws);
            let count = match &j {
                J::Arr(items) => items.len(),
                _ => 1,
            };
            let n = (count as i64 + i64::from(delta)).max(0) as usize;
            let names: Vec<String> = (0..n).map(|i| format!("CMD{i}")).collect();
            let got = batch(status, body.as_bytes(), base64, &names);
            if !ok_status(status) {
                prop_assert_eq!(got, Err(model_status_error(status, Some(&j), &body)));
                return Ok(());
            }
            let J::Arr(items) = &j else {
                match model_envelope(&j, base64) {
                    Ok(Err(msg)) => prop_assert_eq!(got, Err(Error::Redis(msg))),
                    _ => prop_assert!(matches!(got, Err(Error::Decode(_))), "{got:?}"),
                }
                return Ok(());
            };
            let modeled: Result<Vec<_>, ()> =
                items.iter().map(|e| model_envelope(e, base64)).collect();
            let Ok(modeled) = modeled else {
                prop_assert!(matches!(got, Err(Error::Decode(_))), "{got:?}");
                return Ok(());
            };
            if modeled.len() != names.len() {
                prop_assert!(matches!(got, Err(Error::Decode(_))), "{got:?}");
                return Ok(());
            }
            let want: Vec<Result<Value, RedisError>> = modeled
                .into_iter()
                .enumerate()
                .map(|(index, r)| {
                    r.map_err(|message| RedisError {
                        index,
                        command: format!("CMD{index}"),
                        message,
                    })
                })
                .collect();
            prop_assert_eq!(got, Ok(want));
            Ok(())
        })
        .map_err(|e| e.to_string())
    }

    /// Bytes held by a decoded value (one `Value` slot per node).
    fn weight(v: &Value) -> usize {
        std::mem::size_of::<Value>()
            + match v {
                Value::Bytes(b) => b.len(),
                Value::Array(items) => items.iter().map(weight).sum(),
                _ => 0,
            }
    }

    /// The largest decoded size accepted for a body of `len` bytes: a float spelled in 5
    /// bytes (`1e308`) becomes up to ~330 bytes of decimal text (`f64` Display).
    fn value_bound(len: usize) -> usize {
        80 * len + 1024
    }

    fn soup() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            select(vec![
                "{",
                "}",
                "[",
                "]",
                ",",
                ":",
                "\"",
                "\\",
                "\\u",
                "\\ud800",
                "null",
                "true",
                "1",
                "-1.5e3",
                "1e999",
                "\"result\"",
                "\"error\"",
                "\"OK\"",
                "\"YmFy\"",
                "\"T0s=\"",
                " ",
                "\u{0}",
                "é",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            vec(any::<u8>(), 1..3),
        ];
        vec(piece, 0..48).prop_map(|p| p.concat())
    }

    fn mutated() -> impl Strategy<Value = Vec<u8>> {
        let body = prop_oneof![envelope(), vec(envelope(), 0..4).prop_map(J::Arr)];
        (
            body,
            0..WS.len(),
            vec((any::<u64>(), any::<u8>(), 0u8..3), 1..4),
        )
            .prop_map(|(j, ws, muts)| {
                let mut b = to_body(&j, ws).into_bytes();
                for (pos, byte, kind) in muts {
                    let at = if b.is_empty() {
                        0
                    } else {
                        (pos % b.len() as u64) as usize
                    };
                    match kind {
                        0 if !b.is_empty() => b[at] ^= byte | 1,
                        1 => b.insert(at, byte),
                        _ if !b.is_empty() => {
                            b.remove(at);
                        }
                        _ => {}
                    }
                }
                b
            })
    }

    fn check_error(status: u16, body: &[u8], e: &Error) -> Result<(), TestCaseError> {
        match e {
            Error::Status { code, body: text } => {
                prop_assert_eq!(*code, status);
                prop_assert!(!ok_status(status), "Status error for a 2xx");
                prop_assert!(
                    text.chars().count() <= MAX_BODY_CHARS + 1,
                    "status body not cut"
                );
            }
            Error::Redis(msg) => {
                prop_assert!(
                    ok_status(status) || status == 400,
                    "Redis error for HTTP {status}"
                );
                prop_assert!(
                    msg.len() <= body.len(),
                    "Redis message longer than the body"
                );
            }
            Error::Decode(msg) => {
                prop_assert!(ok_status(status), "Decode error for HTTP {status}");
                // Bounded whatever the body.
                prop_assert!(msg.len() <= 512, "Decode message of {} bytes", msg.len());
            }
            other => prop_assert!(false, "unexpected error kind {other:?}"),
        }
        let _ = e.to_string();
        Ok(())
    }

    fn arbitrary_bodies(r: &mut TestRunner) -> Result<(), String> {
        let body = prop_oneof![vec(any::<u8>(), 0..1024), soup(), mutated()].prop_map(Bytes);
        r.run(
            &(status(), body, any::<bool>(), 0usize..4),
            |(status, Bytes(body), base64, n)| {
                match single(status, &body, base64) {
                    Ok(v) => {
                        prop_assert!(ok_status(status), "Ok for HTTP {status}");
                        prop_assert!(
                            weight(&v) <= value_bound(body.len()),
                            "decoded {} bytes",
                            weight(&v)
                        );
                    }
                    Err(e) => check_error(status, &body, &e)?,
                }
                let names: Vec<String> = (0..n).map(|i| format!("C{i}")).collect();
                match batch(status, &body, base64, &names) {
                    Ok(items) => {
                        prop_assert!(ok_status(status), "Ok for HTTP {status}");
                        prop_assert_eq!(items.len(), n);
                        let total: usize = items.iter().map(|r| r.as_ref().map_or(0, weight)).sum();
                        prop_assert!(total <= value_bound(body.len()), "decoded {total} bytes");
                        for (i, item) in items.iter().enumerate() {
                            if let Err(re) = item {
                                prop_assert_eq!(re.index, i);
                                prop_assert_eq!(&re.command, &names[i]);
                            }
                        }
                    }
                    Err(e) => check_error(status, &body, &e)?,
                }
                Ok(())
            },
        )
        .map_err(|e| e.to_string())
    }

    /// Found by `arbitrary_bodies` with the bound `msg.len() <= 512`, and fixed: a 2xx body
    /// that is a JSON string was echoed whole inside `Error::Decode` by serde's message.
    #[test]
    fn decode_error_stays_bounded_when_the_body_is_a_json_string() {
        let body = format!("\"{}\"", "x".repeat(10_000));
        for e in [
            single(200, body.as_bytes(), false).expect_err("not an envelope"),
            batch(200, body.as_bytes(), false, &[]).expect_err("not an envelope"),
        ] {
            let msg = e.to_string();
            assert!(
                msg.len() <= 512,
                "Decode message of {} bytes: {}…",
                msg.len(),
                truncate(&msg, 120)
            );
        }
    }
}
