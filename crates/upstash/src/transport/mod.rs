//! The transport under [`crate::Client`] and [`crate::Pipeline`]: one `POST` to the REST
//! endpoint with its headers, a per-attempt deadline, bounded retries and the read-your-writes
//! token. Request bodies and replies are the callers' business (`client.rs`, `pipeline.rs`,
//! `response.rs`); this module returns the status and the whole body of the answer.
//!
//! Headers: `Content-Type`, `Authorization: Bearer <token>` (marked sensitive natively),
//! `Upstash-Encoding: base64` unless disabled, and `upstash-sync-token` once there is one.
//!
//! Read-your-writes ([`ClientOptions::read_your_writes`], on by default, like `@upstash/redis`):
//! the transport keeps the `upstash-sync-token` of the latest 2xx answer and sends it back on
//! every request, so a replica serving a later read has caught up with this client's own
//! writes. Clones of a client share it. When two tokens are both decimal numbers (the local
//! gateway's) the larger wins, so an older answer that arrives late never moves the token back;
//! otherwise the latest answer wins, as in the SDK. An answer without the header (or with one
//! that is not visible ASCII) leaves the token unchanged.
//!
//! Deadlines and retries: every attempt (send + full body read) is bounded by
//! [`ClientOptions::timeout`] on both targets. Only transport failures are retried, never
//! timeouts (the request may have been executed) nor HTTP answers: connection failures (nothing
//! was sent) always, other transport failures only when every command is read-only. At most
//! [`ClientOptions::retries`] retries, with exponential backoff from [`ClientOptions::backoff`],
//! and a retry only starts while the time spent so far plus the backoff stays within
//! [`ClientOptions::retry_budget`]. Worst case for one call: `retry_budget + timeout`.
//!
//! The HTTP exchange, timers and clock are the only target-specific code, selected here:
//! `native.rs` (reqwest on tokio) and `wasm.rs` (the global `fetch`, so a Worker's bundle
//! carries no HTTP client library). Error texts never contain the token or a URL's
//! credentials (the URL is validated to carry none).

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::Connection;
use crate::error::{truncate, ConfigError, Error, Result};
use crate::options::{ClientOptions, MAX_TIMEOUT};

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
use native as platform;

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
use wasm as platform;

/// The read-your-writes header (requests and answers), as Upstash and `@upstash/redis` name it.
pub const SYNC_TOKEN_HEADER: &str = "upstash-sync-token";

/// Longest transport error detail (characters), so a message stays one log-friendly line.
const MAX_DETAIL_CHARS: usize = 300;

/// One request as the platform sends it: `POST url` with these headers and body, sent and read
/// within `timeout` (else [`AttemptError::Timeout`]).
pub(crate) struct Request<'a> {
    url: &'a str,
    /// Name (lower case) and value; `authorization` is the only sensitive one.
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    timeout: Duration,
}

/// One answer, whatever its status.
pub(crate) struct Answer {
    status: u16,
    /// The `upstash-sync-token` header, when present and visible ASCII.
    sync_token: Option<String>,
    body: Vec<u8>,
}

/// How one attempt failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AttemptError {
    /// No complete answer within the per-attempt timeout.
    Timeout,
    /// Not delivered or not read; `connect` when nothing reached the server.
    Transport { connect: bool, message: String },
}

/// The endpoint, its credentials, the options and the read-your-writes token of one client
/// (shared by its clones and pipelines).
pub(crate) struct Transport {
    http: platform::Http,
    url: String,
    /// `Bearer <token>`; never logged.
    auth: Option<String>,
    opts: ClientOptions,
    /// The latest `upstash-sync-token` (read-your-writes); never logged.
    sync_token: Mutex<Option<String>>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("token", &self.auth.as_ref().map(|_| "<redacted>"))
            .field("opts", &self.opts)
            .finish()
    }
}

impl Transport {
    /// See [`crate::Client::new`].
    pub(crate) fn new(conn: Connection, mut opts: ClientOptions) -> Result<Transport> {
        platform::check_endpoint(&conn)?;
        let auth = match &conn.token {
            Some(token) => {
                let value = format!("Bearer {token}");
                if !header_value_ok(&value) {
                    return Err(ConfigError::InvalidToken {
                        var: conn.token_var.unwrap_or("token"),
                        reason: "it cannot be sent in an HTTP header".to_string(),
                    }
                    .into());
                }
                Some(value)
            }
            None => None,
        };
        opts.timeout = opts.timeout.clamp(Duration::from_millis(1), MAX_TIMEOUT);
        let http = platform::Http::new().map_err(Error::Transport)?;
        Ok(Transport {
            http,
            url: conn.url,
            auth,
            opts,
            sync_token: Mutex::new(None),
        })
    }

    /// The REST endpoint (log-safe: validated to carry no credentials or query).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The options in force.
    pub(crate) fn options(&self) -> &ClientOptions {
        &self.opts
    }

    fn token_slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.sync_token.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The latest read-your-writes token, if any.
    pub(crate) fn sync_token(&self) -> Option<String> {
        self.token_slot().clone()
    }

    /// Replaces the read-your-writes token; a value that cannot be sent as a header is ignored.
    pub(crate) fn set_sync_token(&self, token: Option<&str>) {
        *self.token_slot() = token.filter(|t| header_value_ok(t)).map(str::to_string);
    }

    /// Keeps `received` if it is newer than the stored token (module docs: numeric tokens by
    /// value, any other by arrival).
    fn remember_sync_token(&self, received: String) {
        let mut slot = self.token_slot();
        let keep_current = slot
            .as_deref()
            .is_some_and(|current| numeric_newer_or_equal(current.as_bytes(), received.as_bytes()));
        if !keep_current {
            *slot = Some(received);
        }
    }

    /// Emits one JSON log line through [`ClientOptions::log`]. `fields` should be an object.
    pub(crate) fn log(&self, level: &str, event: &str, fields: serde_json::Value) {
        let Some(sink) = self.opts.log else {
            return;
        };
        let mut line = serde_json::Map::new();
        line.insert("level".into(), level.into());
        line.insert("event".into(), event.into());
        if let serde_json::Value::Object(extra) = fields {
            line.extend(extra);
        }
        sink(&serde_json::Value::Object(line).to_string());
    }

    /// Sends `body` to `{url}{path}` with deadline and retries; returns the status and body.
    /// `what` names the command(s) in errors and logs.
    pub(crate) async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: &'static str,
        retry_safe: bool,
        what: &str,
    ) -> Result<(u16, Vec<u8>)> {
        let url = format!("{}{}", self.url, path);
        let clock = platform::Stopwatch::start();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match self.attempt(&url, body.clone(), content_type).await {
                Ok(answer) => return Ok(answer),
                Err(AttemptError::Timeout) => return Err(Error::Timeout(self.opts.timeout)),
                Err(AttemptError::Transport { connect, message }) => {
                    let retry = connect || retry_safe;
                    let Some(delay) = retry_delay(&self.opts, attempt, retry, clock.elapsed())
                    else {
                        let plural = if attempt == 1 { "" } else { "s" };
                        return Err(Error::Transport(format!(
                            "POST {url} ({what}): {message} (after {attempt} attempt{plural})"
                        )));
                    };
                    self.log(
                        "warn",
                        "upstash.retry",
                        serde_json::json!({
                            "command": what,
                            "attempt": attempt,
                            "delay_ms": u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                            "error": message,
                        }),
                    );
                    platform::sleep(delay).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        url: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> std::result::Result<(u16, Vec<u8>), AttemptError> {
        let request = Request {
            url,
            headers: self.headers(content_type),
            body,
            timeout: self.opts.timeout,
        };
        match self.http.send(request).await {
            Err(e) => Err(e),
            Ok(answer) => {
                // Like the SDK: only a 2xx answer moves the token.
                if let Some(token) = answer
                    .sync_token
                    .filter(|_| self.opts.read_your_writes && (200..300).contains(&answer.status))
                {
                    self.remember_sync_token(token);
                }
                Ok((answer.status, answer.body))
            }
        }
    }

    /// The request headers of one attempt (module docs).
    fn headers(&self, content_type: &'static str) -> Vec<(&'static str, String)> {
        let mut headers = vec![("content-type", content_type.to_string())];
        if let Some(auth) = &self.auth {
            headers.push(("authorization", auth.clone()));
        }
        if self.opts.base64 {
            headers.push(("upstash-encoding", "base64".to_string()));
        }
        if self.opts.read_your_writes {
            if let Some(token) = self.sync_token() {
                headers.push((SYNC_TOKEN_HEADER, token));
            }
        }
        headers
    }
}

/// The backoff before retry number `attempt` (1 = the first retry) after a transport failure,
/// or `None` when the call gives up: not `retryable`, out of retries, or the backoff would end
/// past the retry budget.
fn retry_delay(
    opts: &ClientOptions,
    attempt: u32,
    retryable: bool,
    elapsed: Duration,
) -> Option<Duration> {
    let delay = opts.backoff.saturating_mul(1 << (attempt - 1).min(16));
    (retryable && attempt <= opts.retries && elapsed + delay <= opts.retry_budget).then_some(delay)
}

/// True when `value` can be sent as an HTTP header value (the `http` crate's rule: tab, or any
/// byte from space up except DEL), so both targets accept the same values.
fn header_value_ok(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// A header value received from the network, kept only when it is visible ASCII.
fn visible_ascii(value: &str) -> Option<String> {
    value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
        .then(|| value.to_string())
}

/// One line from an error's parts (`a: b: c`): the first line of each (fetch errors on wasm
/// carry a JS stack trace), parts already contained skipped, capped in length.
fn one_line<I: IntoIterator<Item = String>>(parts: I) -> String {
    let mut out = String::new();
    for text in parts {
        let text = text.lines().next().unwrap_or("").trim();
        if out.is_empty() {
            out.push_str(text);
        } else if !text.is_empty() && !out.contains(text) {
            out.push_str(": ");
            out.push_str(text);
        }
    }
    truncate(&out, MAX_DETAIL_CHARS)
}

/// True when both tokens are decimal numbers and `current` is at least `received`.
fn numeric_newer_or_equal(current: &[u8], received: &[u8]) -> bool {
    fn number(b: &[u8]) -> Option<&[u8]> {
        let digits = b
            .iter()
            .position(|&c| c != b'0')
            .map_or(&b[b.len()..], |i| &b[i..]);
        (!b.is_empty() && b.iter().all(u8::is_ascii_digit)).then_some(digits)
    }
    match (number(current), number(received)) {
        (Some(c), Some(r)) => (c.len(), c) >= (r.len(), r),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(opts: ClientOptions) -> Transport {
        let conn = Connection::new("http://127.0.0.1:1", Some("SECRETTOKEN")).expect("valid");
        Transport::new(conn, opts).expect("transport")
    }

    #[test]
    fn numeric_tokens_compare_by_value_others_by_arrival() {
        assert!(numeric_newer_or_equal(b"10", b"9"));
        assert!(numeric_newer_or_equal(b"10", b"010"));
        assert!(!numeric_newer_or_equal(b"9", b"10"));
        assert!(numeric_newer_or_equal(b"99999999999999999999999", b"1"));
        assert!(!numeric_newer_or_equal(b"abc", b"1"));
        assert!(!numeric_newer_or_equal(b"5", b"x5"));
        assert!(!numeric_newer_or_equal(b"", b""));
    }

    #[test]
    fn retries_follow_backoff_count_and_budget() {
        let opts = ClientOptions {
            retries: 3,
            backoff: Duration::from_millis(50),
            retry_budget: Duration::from_millis(400),
            ..ClientOptions::default()
        };
        let ms = Duration::from_millis;
        // Exponential backoff: 50, 100, 200 ms.
        assert_eq!(retry_delay(&opts, 1, true, ms(0)), Some(ms(50)));
        assert_eq!(retry_delay(&opts, 2, true, ms(60)), Some(ms(100)));
        assert_eq!(retry_delay(&opts, 3, true, ms(170)), Some(ms(200)));
        // Out of retries.
        assert_eq!(retry_delay(&opts, 4, true, ms(0)), None);
        // The backoff would end past the budget (equal is still allowed).
        assert_eq!(retry_delay(&opts, 3, true, ms(200)), Some(ms(200)));
        assert_eq!(retry_delay(&opts, 3, true, ms(201)), None);
        // Not retryable (a write that may have been sent).
        assert_eq!(retry_delay(&opts, 1, false, ms(0)), None);
        // A huge attempt number does not overflow.
        let many = ClientOptions {
            retries: u32::MAX,
            retry_budget: Duration::MAX,
            ..opts
        };
        assert_eq!(retry_delay(&many, 40, true, ms(0)), Some(ms(50 << 16)));
    }

    #[test]
    fn headers_carry_encoding_auth_and_the_sync_token() {
        let t = transport(ClientOptions::default());
        let names = |t: &Transport| -> Vec<&'static str> {
            t.headers("application/json")
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(
            t.headers("application/json"),
            vec![
                ("content-type", "application/json".to_string()),
                ("authorization", "Bearer SECRETTOKEN".to_string()),
                ("upstash-encoding", "base64".to_string()),
            ]
        );
        t.set_sync_token(Some("12"));
        assert_eq!(
            t.headers("application/octet-stream").last(),
            Some(&(SYNC_TOKEN_HEADER, "12".to_string()))
        );
        let plain = transport(ClientOptions {
            base64: false,
            read_your_writes: false,
            ..ClientOptions::default()
        });
        plain.set_sync_token(Some("12"));
        assert_eq!(names(&plain), vec!["content-type", "authorization"]);
        let anonymous = Transport::new(
            Connection::new("http://127.0.0.1:1", None).expect("valid"),
            ClientOptions::default(),
        )
        .expect("transport");
        assert_eq!(names(&anonymous), vec!["content-type", "upstash-encoding"]);
    }

    #[test]
    fn sync_token_is_kept_and_replaceable() {
        let t = transport(ClientOptions::default());
        assert_eq!(t.sync_token(), None);
        t.remember_sync_token("7".into());
        t.remember_sync_token("5".into());
        assert_eq!(t.sync_token().as_deref(), Some("7"));
        t.remember_sync_token("opaque".into());
        assert_eq!(t.sync_token().as_deref(), Some("opaque"));
        t.set_sync_token(None);
        assert_eq!(t.sync_token(), None);
        t.set_sync_token(Some("bad\nvalue"));
        assert_eq!(t.sync_token(), None);
    }

    #[test]
    fn header_values_and_received_tokens_are_checked() {
        assert!(header_value_ok("Bearer AX\tyz ~"));
        assert!(!header_value_ok("a\nb"));
        assert!(!header_value_ok("a\u{7f}"));
        assert_eq!(visible_ascii("123"), Some("123".to_string()));
        assert_eq!(visible_ascii("é"), None);
        let conn = Connection {
            token: Some("bad\rtoken".into()),
            ..Connection::new("http://127.0.0.1:1", None).expect("valid")
        };
        let err = Transport::new(conn, ClientOptions::default()).expect_err("unsendable token");
        assert!(
            matches!(
                err,
                Error::Config(ConfigError::InvalidToken { var: "token", .. })
            ),
            "{err:?}"
        );
        assert!(!err.to_string().contains("bad"), "{err}");
    }

    #[test]
    fn error_details_are_one_capped_line() {
        let parts = [
            "error sending request".to_string(),
            "JsValue(TypeError: Network connection lost.\n    at fetch (worker.js:1:2))"
                .to_string(),
        ];
        assert_eq!(
            one_line(parts),
            "error sending request: JsValue(TypeError: Network connection lost."
        );
        let repeated = ["refused".to_string(), "refused".to_string(), String::new()];
        assert_eq!(one_line(repeated), "refused");
        let long = one_line(["x".repeat(1000)]);
        assert_eq!(long.chars().count(), MAX_DETAIL_CHARS + 1);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let debug = format!("{:?}", transport(ClientOptions::default()));
        assert!(!debug.contains("SECRETTOKEN"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }
}
