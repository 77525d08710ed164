//! Structured logs: one JSON object per line, written to a sink the platform provides
//! (`console.log` in the Worker, stderr natively). Callers pass only log-safe fields.

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
    fn as_str(self) -> &'static str {
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
}
