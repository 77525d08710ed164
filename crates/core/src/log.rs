//! Structured logs: one JSON object per line, written to a sink the platform provides
//! (`console.log` in the Worker, stderr natively). Callers pass only log-safe fields.
//!
//! Two ways to build a line: [`Logger::emit`] takes a `serde_json` object (rare events),
//! [`Line`] writes the object field by field into one buffer (the per-request line, on
//! every hit: no JSON tree, no map, one allocation). [`HitSampling`] decides which hit
//! lines are written at all (`HIT_LOG_SAMPLE`).

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Routine events.
    Info,
    /// Degraded but served.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    /// The `level` field's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Where finished lines go.
pub type Sink = fn(Level, &str);

/// A cheap, copyable structured logger.
#[derive(Clone, Copy)]
pub struct Logger {
    sink: Sink,
}

fn stderr_sink(_: Level, line: &str) {
    eprintln!("{line}");
}

fn null_sink(_: Level, _: &str) {}

impl Logger {
    /// A logger writing to `sink`.
    pub fn new(sink: Sink) -> Self {
        Self { sink }
    }

    /// Writes to stderr (native tools).
    pub fn stderr() -> Self {
        Self::new(stderr_sink)
    }

    /// Discards everything (unit tests).
    pub fn null() -> Self {
        Self::new(null_sink)
    }

    /// Emits `{"level":..,"event":..,<fields>}` as one line. `fields` must be an object.
    pub fn emit(&self, level: Level, event: &str, fields: Value) {
        let mut obj = Map::new();
        obj.insert("level".into(), level.as_str().into());
        obj.insert("event".into(), event.into());
        if let Value::Object(extra) = fields {
            obj.extend(extra);
        }
        (self.sink)(level, &Value::Object(obj).to_string());
    }

    /// Writes a line built with [`Line`] (its level decides the sink's stream).
    pub fn write(&self, line: Line) {
        let level = line.level;
        (self.sink)(level, &line.finish());
    }
}

/// One JSON object written straight into a string: `{"level":..,"event":..` first, then the
/// fields in the order they are added. Keys and string values are escaped as JSON requires
/// (quote, backslash, control characters); numbers are written as `serde_json` writes them
/// (integers as digits, finite floats through `zmij`, non-finite as `null`).
///
/// ```
/// use symbols_core::log::{Level, Line};
/// let line = Line::new(Level::Info, "request").str("route", "list").opt_str("market", None).uint("status", 200);
/// assert_eq!(line.finish(), r#"{"level":"info","event":"request","route":"list","market":null,"status":200}"#);
/// ```
#[derive(Debug)]
pub struct Line {
    level: Level,
    buf: String,
}

impl Line {
    /// Starts a line with its `level` and `event`.
    pub fn new(level: Level, event: &str) -> Self {
        let mut buf = String::with_capacity(256);
        buf.push_str("{\"level\":\"");
        buf.push_str(level.as_str());
        buf.push('"');
        let mut line = Line { level, buf };
        line.key("event");
        escape_into(&mut line.buf, event);
        line
    }

    fn key(&mut self, key: &str) {
        self.buf.push(',');
        escape_into(&mut self.buf, key);
        self.buf.push(':');
    }

    /// A string field.
    pub fn str(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        escape_into(&mut self.buf, value);
        self
    }

    /// A string field, `null` when absent.
    pub fn opt_str(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.null(key),
        }
    }

    /// An unsigned integer field.
    pub fn uint(mut self, key: &str, value: u64) -> Self {
        self.key(key);
        // Writing to a String cannot fail.
        let _ = write!(self.buf, "{value}");
        self
    }

    /// An unsigned integer field, `null` when absent.
    pub fn opt_uint(self, key: &str, value: Option<u64>) -> Self {
        match value {
            Some(v) => self.uint(key, v),
            None => self.null(key),
        }
    }

    /// A float field (`null` when not finite: JSON has no NaN or infinity).
    pub fn float(mut self, key: &str, value: f64) -> Self {
        self.key(key);
        if value.is_finite() {
            // zmij, as serde_json formats floats (same text, and core's float formatting
            // stays out of the wasm).
            self.buf.push_str(zmij::Buffer::new().format_finite(value));
        } else {
            self.buf.push_str("null");
        }
        self
    }

    /// A boolean field.
    pub fn bool(mut self, key: &str, value: bool) -> Self {
        self.key(key);
        self.buf.push_str(if value { "true" } else { "false" });
        self
    }

    /// A `null` field.
    pub fn null(mut self, key: &str) -> Self {
        self.key(key);
        self.buf.push_str("null");
        self
    }

    /// The finished object (one line: every control character is escaped).
    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

/// Appends `s` as a JSON string literal: the escapes `serde_json` writes (`\"`, `\\`, `\n`,
/// `\r`, `\t`, `\b`, `\f`, `\u00XX` for the other control characters); everything else,
/// non-ASCII included, as is.
fn escape_into(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0x00..=0x1f => None,
            _ => continue,
        };
        // Only ASCII bytes are escaped, so `start..i` never splits a character.
        out.push_str(&s[start..i]);
        match short {
            Some(escape) => out.push_str(escape),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Default `HIT_LOG_SAMPLE`: every hit is logged (one line per request, as before the
/// setting existed).
pub const DEFAULT_HIT_LOG_SAMPLE: u64 = 1;

/// Which cache-hit request lines are written: `every` = 1 writes all, N writes one of
/// every N hits (per isolate), 0 writes none. Every other line (misses, stale and bypass
/// answers, errors, the cron) is always written: only routine hits are sampled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HitSampling {
    /// 0 = no hit lines, 1 = all, N = one in N.
    pub every: u64,
}

impl HitSampling {
    /// Whether the hit numbered `seq` (0, 1, 2, ... in this isolate) gets its line; the
    /// first hit always does when sampling is on, so a quiet isolate still shows one.
    pub fn keeps(self, seq: u64) -> bool {
        match self.every {
            0 => false,
            n => seq.is_multiple_of(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Map<String, Value> {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => m,
            other => panic!("not a JSON object: {line}: {other:?}"),
        }
    }

    #[test]
    fn a_line_is_one_object_with_level_and_event_first_then_fields_in_order() {
        let line = Line::new(Level::Warn, "request")
            .opt_str("request_id", Some("8f1c-AMS"))
            .str("method", "GET")
            .opt_str("market", None)
            .uint("status", 503)
            .opt_uint("upstream_status", None)
            .opt_uint("redis_round_trips", Some(2))
            .float("duration_ms", 12.5)
            .finish();
        assert_eq!(
            line,
            r#"{"level":"warn","event":"request","request_id":"8f1c-AMS","method":"GET","market":null,"status":503,"upstream_status":null,"redis_round_trips":2,"duration_ms":12.5}"#
        );
        let m = parse(&line);
        assert_eq!(m["level"], "warn");
        assert_eq!(m["redis_round_trips"], 2);
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        // Every control character, quotes, backslashes, non-ASCII and a lone "\u{2028}".
        let mut nasty: String = (0u8..0x20).map(char::from).collect();
        nasty.push_str("\"quoted\" back\\slash / é ✓ \u{2028} \u{7f} end");
        let line = Line::new(Level::Info, "e\"v\nt")
            .str("k\"ey", &nasty)
            .finish();
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "one line: {line}"
        );
        let m = parse(&line);
        assert_eq!(m["event"], "e\"v\nt");
        assert_eq!(m["k\"ey"], nasty.as_str());
        // Byte for byte what serde_json writes for the same strings.
        let expected = serde_json::to_string(&nasty).unwrap_or_default();
        assert!(line.contains(&expected), "{line}\nvs {expected}");
    }

    #[test]
    fn floats_match_serde_json_and_non_finite_is_null() {
        for x in [0.0, 3.0, 12.5, 1e-7, 1_234_567.125, -2.0, 1e300] {
            let line = Line::new(Level::Info, "n").float("x", x).finish();
            let expected = serde_json::json!({ "x": x })["x"].to_string();
            assert!(
                line.ends_with(&format!(r#""x":{expected}}}"#)),
                "{line} vs {expected}"
            );
        }
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let line = Line::new(Level::Info, "n").float("x", x).finish();
            assert_eq!(parse(&line)["x"], Value::Null, "{line}");
        }
        let line = Line::new(Level::Info, "n").uint("max", u64::MAX).finish();
        assert_eq!(parse(&line)["max"], u64::MAX);
    }

    #[test]
    fn write_sends_the_finished_line_to_the_sink_with_its_level() {
        use std::cell::RefCell;
        thread_local! {
            static SEEN: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
        }
        fn sink(level: Level, line: &str) {
            SEEN.with(|s| s.borrow_mut().push((level, line.to_string())));
        }
        let log = Logger::new(sink);
        log.write(Line::new(Level::Error, "boom").str("error", "x"));
        log.emit(Level::Info, "old", serde_json::json!({"a": 1}));
        let seen = SEEN.with(|s| s.borrow().clone());
        assert_eq!(seen[0].0, Level::Error);
        assert_eq!(seen[0].1, r#"{"level":"error","event":"boom","error":"x"}"#);
        assert_eq!(parse(&seen[1].1)["event"], "old");
    }

    #[test]
    fn hit_sampling_keeps_one_in_n_starting_with_the_first() {
        let kept = |every| (0..10).filter(|&s| HitSampling { every }.keeps(s)).count();
        assert_eq!(kept(1), 10);
        assert_eq!(kept(0), 0);
        assert_eq!(kept(3), 4); // 0, 3, 6, 9
        assert!(HitSampling { every: 100 }.keeps(0));
        assert!(!HitSampling { every: 100 }.keeps(99));
    }
}
