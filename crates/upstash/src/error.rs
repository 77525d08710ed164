//! Error types: [`Error`] for a whole call, [`RedisError`] for one command inside a pipeline or
//! transaction, [`ConfigError`] for connection settings.
//!
//! No message built here ever contains the REST token: the token lives only in a request header
//! (marked sensitive), URLs are printed without credentials or query strings, HTTP errors are
//! stripped of their URL (`transport/`), and configuration errors name the variable, never its
//! value.

use std::fmt;
use std::time::Duration;

/// Longest response body (in characters) kept in [`Error::Status`].
pub const MAX_BODY_CHARS: usize = 200;

/// Why a connection setting was rejected. Names the variable, never echoes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The URL variable holds something that is not an absolute `http://` or `https://` URL
    /// usable as a REST endpoint.
    #[error("{var} is not a usable Upstash REST URL: {reason}")]
    InvalidUrl {
        /// The variable the value came from (`"url"` when it was given directly).
        var: &'static str,
        /// What is wrong with it (never the value itself).
        reason: String,
    },
    /// The token variable holds characters that cannot go into an HTTP header.
    #[error("{var} is not a usable REST token: {reason}")]
    InvalidToken {
        /// The variable the token came from (`"token"` when it was given directly).
        var: &'static str,
        /// What is wrong with it (never the token itself).
        reason: String,
    },
    /// The native build was compiled without TLS support and the URL is `https://`.
    #[error("{var} is an https:// URL but this native build has no TLS support (enable the `rustls` feature of upstash-rest)")]
    TlsUnavailable {
        /// The variable the URL came from.
        var: &'static str,
    },
}

/// A Redis error reply for one command of a pipeline or transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("command #{index} ({command}) failed: {message}")]
pub struct RedisError {
    /// Position of the command in the batch (0-based).
    pub index: usize,
    /// The command name (first argument, upper-cased), e.g. `INCRBY`.
    pub command: String,
    /// The error text Redis (or the gateway) returned, e.g. `ERR value is not an integer ...`.
    pub message: String,
}

/// Everything a call can fail with.
///
/// Use [`Error::is_unreachable`] to tell "Redis (or the REST endpoint) is down or too slow" from
/// "Redis answered with an error".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request could not be delivered or the answer not read (connection refused or reset,
    /// DNS, TLS, body cut short). The message says what, where (URL without credentials or
    /// query) and after how many attempts.
    #[error("upstash transport error: {0}")]
    Transport(String),
    /// No complete answer arrived within the per-attempt timeout.
    #[error("upstash request timed out after {0:?}")]
    Timeout(Duration),
    /// The endpoint answered with a non-2xx status that is not a Redis error reply
    /// (401 wrong token, 403, 404, 413, 5xx ...). `body` is cut to [`MAX_BODY_CHARS`].
    #[error("upstash answered HTTP {code}: {body}")]
    Status {
        /// The HTTP status code.
        code: u16,
        /// The response body (its `error` field when it was a JSON envelope), truncated.
        body: String,
    },
    /// Redis answered the command (or a whole transaction) with an error reply.
    #[error("redis error: {0}")]
    Redis(String),
    /// The answer arrived but does not have the expected shape or type.
    #[error("cannot decode upstash response: {0}")]
    Decode(String),
    /// A command cannot be expressed in the REST API (e.g. a non-UTF-8 argument that is not the
    /// last argument of a single command).
    #[error("cannot encode command: {0}")]
    Encode(String),
    /// The connection settings are unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Error {
    /// True when the endpoint could not be reached or did not answer properly: transport errors,
    /// timeouts and HTTP 5xx. False when Redis (or the gateway) answered deliberately: Redis
    /// error replies, 4xx statuses (wrong token, too large), decode and configuration errors.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Error::Transport(_) | Error::Timeout(_) => true,
            Error::Status { code, .. } => *code >= 500,
            _ => false,
        }
    }

    /// Builds [`Error::Status`], truncating the body.
    pub(crate) fn status(code: u16, body: &str) -> Error {
        Error::Status {
            code,
            body: truncate(body.trim(), MAX_BODY_CHARS),
        }
    }
}

/// Shortcut for `Result<T, upstash_rest::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Cuts `s` to at most `max` characters (on a char boundary), marking the cut with `…`.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

/// A list of command names for messages, e.g. `GET, SET, +3 more`.
pub(crate) struct NameList<'a>(pub &'a [String]);

impl fmt::Display for NameList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 3;
        for (i, name) in self.0.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        if self.0.len() > SHOWN {
            write!(f, ", +{} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_short_and_cuts_long_on_char_boundary() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("ééé", 2), "éé…");
        let long = "x".repeat(1000);
        let e = Error::status(502, &long);
        match &e {
            Error::Status { code, body } => {
                assert_eq!(*code, 502);
                assert_eq!(body.chars().count(), MAX_BODY_CHARS + 1);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unreachable_classification() {
        assert!(Error::Transport("refused".into()).is_unreachable());
        assert!(Error::Timeout(Duration::from_secs(1)).is_unreachable());
        assert!(Error::status(503, "down").is_unreachable());
        assert!(!Error::status(401, "Unauthorized").is_unreachable());
        assert!(!Error::Redis("ERR".into()).is_unreachable());
        assert!(!Error::Decode("x".into()).is_unreachable());
    }

    #[test]
    fn redis_error_names_index_and_command() {
        let e = RedisError {
            index: 2,
            command: "INCR".into(),
            message: "ERR not an integer".into(),
        };
        assert_eq!(
            e.to_string(),
            "command #2 (INCR) failed: ERR not an integer"
        );
    }

    #[test]
    fn name_list_is_short() {
        let names: Vec<String> = ["GET", "SET", "DEL", "TTL", "PING"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(NameList(&names).to_string(), "GET, SET, DEL, +2 more");
        assert_eq!(NameList(&names[..1]).to_string(), "GET");
    }
}
