//! Structured logging: one JSON object per line on stderr, level from `GATEWAY_LOG`.
//!
//! Levels: `error`, `warn`, `info` (default), `debug` (adds one line per request), `off`.
//! Callers never pass tokens or passwords in fields.

use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// Environment variable holding the log level.
pub const LOG_ENV: &str = "GATEWAY_LOG";

/// Log severity, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Nothing is logged.
    Off = 0,
    /// Failures.
    Error,
    /// Suspicious configuration or conditions.
    Warn,
    /// Startup and shutdown.
    Info,
    /// One line per request.
    Debug,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    /// Parses a level name (case-insensitive); unknown names mean `info`.
    pub fn parse(s: &str) -> Level {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" => Level::Off,
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "debug" | "trace" => Level::Debug,
            _ => Level::Info,
        }
    }
}

/// `UNSET` until the level is first needed or set.
static LEVEL: AtomicU8 = AtomicU8::new(UNSET);
const UNSET: u8 = u8::MAX;

impl Level {
    fn from_u8(v: u8) -> Level {
        match v {
            0 => Level::Off,
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            _ => Level::Debug,
        }
    }
}

/// The level in force: set by [`set_max_level`], else read from `GATEWAY_LOG` (default `info`).
pub fn max_level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        UNSET => {
            let level = std::env::var(LOG_ENV)
                .map(|v| Level::parse(&v))
                .unwrap_or(Level::Info);
            // Keep a level set concurrently by `set_max_level`.
            let _ =
                LEVEL.compare_exchange(UNSET, level as u8, Ordering::Relaxed, Ordering::Relaxed);
            Level::from_u8(LEVEL.load(Ordering::Relaxed))
        }
        v => Level::from_u8(v),
    }
}

/// Overrides the level for the whole process (tests silence the log this way).
pub fn set_max_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether lines at `level` are written.
pub fn enabled(level: Level) -> bool {
    level != Level::Off && level <= max_level()
}

/// Writes `{"ts":…,"level":…,"msg":…, …fields}` when `level` is enabled.
pub fn log(level: Level, msg: &str, fields: Value) {
    if !enabled(level) {
        return;
    }
    let mut line = Map::new();
    line.insert("ts".into(), Value::String(timestamp()));
    line.insert("level".into(), Value::String(level.as_str().into()));
    line.insert("msg".into(), Value::String(msg.into()));
    if let Value::Object(extra) = fields {
        line.extend(extra);
    }
    let mut text = Value::Object(line).to_string();
    text.push('\n');
    // Logging must never take the server down; a closed stderr is ignored.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Current UTC time as RFC 3339 with milliseconds.
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant), days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn levels_and_timestamp() {
        assert_eq!(Level::parse("DEBUG"), Level::Debug);
        assert_eq!(Level::parse("bogus"), Level::Info);
        assert!(Level::Error < Level::Debug);
        let ts = timestamp();
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.starts_with("20") && ts.ends_with('Z'), "{ts}");
    }
}
