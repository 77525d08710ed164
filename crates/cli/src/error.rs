//! [`CliError`]: one line naming the problem, and the exit status it maps to. Never a token.

use std::fmt;

use symbols_core::ports::StoreError;
use upstash_rest::Connection;

/// Exit status of an operation that failed (Redis or Binance said no, nothing to serve).
pub const EXIT_FAILED: u8 = 1;
/// Exit status of bad usage or configuration (clap uses it for usage errors too).
pub const EXIT_CONFIG: u8 = 2;

/// A failure, printed as `symbols: error: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// One line, log-safe.
    pub message: String,
    /// Process exit status.
    pub code: u8,
}

impl CliError {
    /// The operation failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: EXIT_FAILED,
        }
    }

    /// A setting is unusable (exit 2).
    pub fn config(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: EXIT_CONFIG,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A hint for an answer that means "wrong or missing token" (401/403 or WRONGPASS/NOAUTH),
/// naming the variable to fix; empty otherwise.
pub fn auth_hint(message: &str, conn: &Connection) -> String {
    let lower = message.to_ascii_lowercase();
    let auth = [
        "http 401",
        "http 403",
        "wrongpass",
        "noauth",
        "unauthorized",
    ]
    .iter()
    .any(|p| lower.contains(p));
    if !auth {
        return String::new();
    }
    match conn.token_var {
        Some(var) => format!(" (authentication failed: check the token in {var})"),
        None if conn.token.is_some() => " (authentication failed: check the token)".into(),
        None => format!(
            " (authentication failed: no token set; set one of {})",
            upstash_rest::TOKEN_VARS.join(", ")
        ),
    }
}

/// A store error as one line, with the auth hint when it applies.
pub fn store_error(context: &str, e: &StoreError, conn: &Connection) -> CliError {
    let text = e.to_string();
    CliError::failed(format!("{context}: {text}{}", auth_hint(&text, conn)))
}

/// An Upstash client error as one line, with the auth hint when it applies.
pub fn client_error(context: &str, e: &upstash_rest::Error, conn: &Connection) -> CliError {
    let text = e.to_string();
    CliError::failed(format!("{context}: {text}{}", auth_hint(&text, conn)))
}

/// Belt and braces: replaces any occurrence of `secret` in `line` (the libraries never put
/// the token in a message; this keeps it that way whatever a future message contains).
pub fn redact(line: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if s.len() >= 4 => line.replace(s, "<redacted>"),
        _ => line.to_string(),
    }
}

/// Makes a message one line (collapses newlines and runs of whitespace).
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(token_var: Option<&'static str>, token: Option<&str>) -> Connection {
        Connection {
            url: "http://x".into(),
            url_var: None,
            token: token.map(Into::into),
            token_var,
        }
    }

    #[test]
    fn auth_failures_name_the_token_variable_never_the_token() {
        let e = StoreError::Refused(
            "upstash answered HTTP 401: WRONGPASS invalid or missing auth token".into(),
        );
        let c = conn(Some("UPSTASH_REDIS_REST_TOKEN"), Some("s3cr3t-tok"));
        let msg = store_error("reading metrics", &e, &c).message;
        assert!(
            msg.contains("401") && msg.contains("UPSTASH_REDIS_REST_TOKEN"),
            "{msg}"
        );
        assert!(!msg.contains("s3cr3t"));
        let none = store_error("x", &e, &conn(None, None)).message;
        assert!(
            none.contains("no token set") && none.contains("REDIS_REST_TOKEN"),
            "{none}"
        );
        let other = store_error("x", &StoreError::Unreachable("timed out".into()), &c).message;
        assert!(!other.contains("authentication"), "{other}");
    }

    #[test]
    fn redaction_and_one_line() {
        assert_eq!(redact("a tok123 b", Some("tok123")), "a <redacted> b");
        assert_eq!(redact("a b", None), "a b");
        assert_eq!(one_line("a\n  b\tc "), "a b c");
    }
}
