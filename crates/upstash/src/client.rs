//! [`Client`]: sends commands to the REST endpoint with a deadline, bounded retries and typed
//! results.
//!
//! Request shapes (the Upstash REST API):
//! - single command: `POST {url}` with a JSON array body `["SET","k","v"]`; when only the last
//!   argument is binary (non-UTF-8), `POST {url}/SET/k` with that argument as the raw body;
//! - pipeline: `POST {url}/pipeline`, transaction: `POST {url}/multi-exec` (see [`crate::Pipeline`]);
//! - headers: `Authorization: Bearer <token>` (marked sensitive), `Upstash-Encoding: base64`
//!   unless disabled, `upstash-sync-token` (read-your-writes, below) once the client has one.
//!
//! Read-your-writes ([`ClientOptions::read_your_writes`], on by default, like `@upstash/redis`):
//! the client keeps the `upstash-sync-token` of the latest 2xx answer and sends it back on every
//! request, so a replica serving a later read has caught up with this client's own writes. Clones
//! share the token. When two tokens are both decimal numbers (the local gateway's) the larger
//! wins, so an older answer that arrives late never moves the token back; otherwise the latest
//! answer wins, as in the SDK. An answer without the header leaves the token unchanged.
//!
//! Deadlines and retries: every attempt is bounded by [`ClientOptions::timeout`] on both targets.
//! Only transport failures are retried, never timeouts (the request may have been executed) nor
//! HTTP answers: connection failures (nothing was sent) always, other transport failures only
//! when every command is read-only. At most [`ClientOptions::retries`] retries, with exponential
//! backoff from [`ClientOptions::backoff`], and a retry only starts while the time spent so far
//! plus the backoff stays within [`ClientOptions::retry_budget`]. Worst case for one call:
//! `retry_budget + timeout`.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};

use crate::command::{Command, IntoArg, SetOptions};
use crate::config::Connection;
use crate::error::{ConfigError, Error, Result};
use crate::pipeline::Pipeline;
use crate::response;
use crate::rt;
use crate::value::Value;

/// A log sink: receives one JSON object per line (no trailing newline), e.g.
/// `{"level":"warn","event":"upstash.read_json_failed","key":"k","error":"..."}`.
/// Plain function pointer so it works the same on wasm (no `Send` closures needed).
pub type LogFn = fn(&str);

/// The read-your-writes header (requests and answers), as Upstash and `@upstash/redis` name it.
pub const SYNC_TOKEN_HEADER: &str = "upstash-sync-token";

/// Longest per-attempt timeout accepted (longer values are clamped).
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Client settings. `Default` gives the production values.
#[derive(Clone)]
pub struct ClientOptions {
    /// Deadline of each attempt (send + full body read). Default 5 s; clamped to 1 ms ..= 1 h.
    pub timeout: Duration,
    /// Retries after a transport failure (so at most `1 + retries` attempts). Default 2.
    pub retries: u32,
    /// Total time after which no further retry is started. Default 1.5 s.
    pub retry_budget: Duration,
    /// Delay before the first retry, doubled for each further one. Default 50 ms.
    pub backoff: Duration,
    /// Ask for base64-encoded replies (`Upstash-Encoding: base64`) and decode them, so any
    /// bytes survive the JSON transport. Default true.
    pub base64: bool,
    /// Where log lines go; `None` silences the client. Default: stderr natively,
    /// `console.log` on wasm (a Worker may pass its own `console_log!` wrapper).
    pub log: Option<LogFn>,
    /// Read-your-writes: keep the latest `upstash-sync-token` and send it back (see the module
    /// docs). Default true; false is the SDK's `readYourWrites: false`.
    pub read_your_writes: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(5),
            retries: 2,
            retry_budget: Duration::from_millis(1500),
            backoff: Duration::from_millis(50),
            base64: true,
            log: Some(rt::default_log),
            read_your_writes: true,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("retry_budget", &self.retry_budget)
            .field("backoff", &self.backoff)
            .field("base64", &self.base64)
            .field("log", &self.log.is_some())
            .field("read_your_writes", &self.read_your_writes)
            .finish()
    }
}

struct Inner {
    http: reqwest::Client,
    url: String,
    auth: Option<HeaderValue>,
    opts: ClientOptions,
    /// The latest `upstash-sync-token` (read-your-writes); never logged.
    sync_token: Mutex<Option<HeaderValue>>,
}

/// An Upstash REST client. Cheap to clone (one shared `Arc`); keep one per process or isolate.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.url)
            .field("token", &self.inner.auth.as_ref().map(|_| "<redacted>"))
            .field("opts", &self.inner.opts)
            .finish()
    }
}

/// How one attempt failed.
enum AttemptError {
    Timeout,
    Transport { connect: bool, message: String },
}

impl Client {
    /// Builds a client for `conn`. Does no I/O.
    ///
    /// # Errors
    /// [`Error::Config`] when the token cannot be sent as a header or (native builds without the
    /// `rustls` feature) the URL is `https://`; [`Error::Transport`] if the HTTP stack cannot
    /// be initialised.
    pub fn new(conn: Connection, mut opts: ClientOptions) -> Result<Client> {
        rt::check_endpoint(&conn)?;
        let auth = match &conn.token {
            Some(token) => {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                        ConfigError::InvalidToken {
                            var: conn.token_var.unwrap_or("token"),
                            reason: "it cannot be sent in an HTTP header".to_string(),
                        }
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        opts.timeout = opts.timeout.clamp(Duration::from_millis(1), MAX_TIMEOUT);
        let http = rt::http_client().map_err(Error::Transport)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                url: conn.url,
                auth,
                opts,
                sync_token: Mutex::new(None),
            }),
        })
    }

    /// The latest read-your-writes token this client received (shared by its clones), if any:
    /// the SDK's `readYourWritesSyncToken`, e.g. to hand a session on to another client.
    pub fn sync_token(&self) -> Option<String> {
        let guard = self
            .inner
            .sync_token
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Replaces the read-your-writes token (`None` forgets it). A value that cannot be sent as a
    /// header is ignored.
    pub fn set_sync_token(&self, token: Option<&str>) {
        let value = token.and_then(|t| HeaderValue::from_str(t).ok());
        *self
            .inner
            .sync_token
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = value;
    }

    /// Keeps `received` if it is newer than the stored token (module docs: numeric tokens by
    /// value, any other by arrival).
    fn remember_sync_token(&self, received: &HeaderValue) {
        let mut guard = self
            .inner
            .sync_token
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let keep_current = guard
            .as_ref()
            .is_some_and(|current| numeric_newer_or_equal(current.as_bytes(), received.as_bytes()));
        if !keep_current {
            *guard = Some(received.clone());
        }
    }

    /// The REST endpoint (log-safe: validated to carry no credentials or query).
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The options in force.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// Runs any command and returns its raw reply.
    ///
    /// # Errors
    /// See [`Error`]; a Redis error reply is [`Error::Redis`].
    pub async fn command(&self, cmd: Command) -> Result<Value> {
        let retry_safe = cmd.is_read_only();
        let name = cmd.name();
        let (path, body, content_type) = match cmd.split_binary_tail() {
            Some((head, tail)) => {
                let mut path = String::new();
                for segment in head {
                    path.push('/');
                    path.push_str(&percent_encode(segment));
                }
                (path, tail.to_vec(), "application/octet-stream")
            }
            None => {
                let args = cmd.utf8_args(None)?;
                let body = serde_json::to_vec(&args).map_err(|e| Error::Encode(e.to_string()))?;
                (String::new(), body, "application/json")
            }
        };
        let (status, reply) = self
            .post(&path, body, content_type, retry_safe, &name)
            .await?;
        response::single(status, &reply, self.inner.opts.base64)
    }

    /// A pipeline (`POST /pipeline`): commands run in order, not atomically.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(self.clone(), false)
    }

    /// A transaction (`POST /multi-exec`): commands run atomically.
    pub fn multi(&self) -> Pipeline {
        Pipeline::new(self.clone(), true)
    }

    /// `GET key` as UTF-8 text; `None` when the key is missing.
    ///
    /// # Errors
    /// [`Error::Decode`] when the value is not UTF-8 (use [`Client::get_bytes`]), or any call error.
    pub async fn get(&self, key: impl IntoArg) -> Result<Option<String>> {
        match self.get_bytes(key).await? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| Error::Decode("GET: value is not UTF-8 (use get_bytes)".into())),
        }
    }

    /// `GET key` as raw bytes (no parsing); `None` when the key is missing.
    ///
    /// # Errors
    /// Any call error, or [`Error::Decode`] for a non-string reply.
    pub async fn get_bytes(&self, key: impl IntoArg) -> Result<Option<Vec<u8>>> {
        match self.command(Command::get(key)).await? {
            Value::Nil => Ok(None),
            Value::Bytes(b) => Ok(Some(b)),
            other => Err(unexpected("GET", "string or nil", &other)),
        }
    }

    /// `MGET keys...`: one entry per key, `None` for missing keys. No request for no keys.
    ///
    /// # Errors
    /// Any call error, or [`Error::Decode`] for a non-UTF-8 value or a malformed reply.
    pub async fn mget<K: IntoArg>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<Option<String>>> {
        let cmd = Command::mget(keys);
        let wanted = cmd.args().len() - 1;
        if wanted == 0 {
            return Ok(Vec::new());
        }
        let items = match self.command(cmd).await? {
            Value::Array(items) => items,
            other => return Err(unexpected("MGET", "array", &other)),
        };
        if items.len() != wanted {
            return Err(Error::Decode(format!(
                "MGET: {} values for {wanted} keys",
                items.len()
            )));
        }
        items
            .into_iter()
            .map(|v| match v {
                Value::Nil => Ok(None),
                Value::Bytes(b) => String::from_utf8(b)
                    .map(Some)
                    .map_err(|_| Error::Decode("MGET: a value is not UTF-8".into())),
                other => Err(unexpected("MGET", "string or nil element", &other)),
            })
            .collect()
    }

    /// `SET key value [EX] [PX] [NX]`: true when set, false when `NX` prevented it.
    ///
    /// # Errors
    /// Any call error; [`Error::Encode`] for a binary value combined with options.
    pub async fn set(
        &self,
        key: impl IntoArg,
        value: impl IntoArg,
        opts: SetOptions,
    ) -> Result<bool> {
        match self.command(Command::set(key, value, opts)).await? {
            v if v.is_ok() => Ok(true),
            Value::Nil => Ok(false),
            other => Err(unexpected("SET", "OK or nil", &other)),
        }
    }

    /// `INCRBY key n`: the new value.
    ///
    /// # Errors
    /// Any call error; [`Error::Redis`] when the stored value is not an integer.
    pub async fn incr_by(&self, key: impl IntoArg, n: i64) -> Result<i64> {
        let v = self.command(Command::incr_by(key, n)).await?;
        int_reply("INCRBY", &v)
    }

    /// `DEL keys...`: how many existed. No request for no keys.
    ///
    /// # Errors
    /// Any call error.
    pub async fn del<K: IntoArg>(&self, keys: impl IntoIterator<Item = K>) -> Result<i64> {
        let cmd = Command::del(keys);
        if cmd.args().len() == 1 {
            return Ok(0);
        }
        let v = self.command(cmd).await?;
        int_reply("DEL", &v)
    }

    /// `EXPIRE key secs`: true when the key exists (and now expires).
    ///
    /// # Errors
    /// Any call error.
    pub async fn expire(&self, key: impl IntoArg, secs: u64) -> Result<bool> {
        let v = self.command(Command::expire(key, secs)).await?;
        Ok(int_reply("EXPIRE", &v)? == 1)
    }

    /// `TTL key`: seconds left, `-1` without expiry, `-2` when missing.
    ///
    /// # Errors
    /// Any call error.
    pub async fn ttl(&self, key: impl IntoArg) -> Result<i64> {
        let v = self.command(Command::ttl(key)).await?;
        int_reply("TTL", &v)
    }

    /// `PING`: Ok when the endpoint and Redis answer.
    ///
    /// # Errors
    /// Any call error.
    pub async fn ping(&self) -> Result<()> {
        match self.command(Command::ping()).await? {
            Value::Bytes(_) => Ok(()),
            other => Err(unexpected("PING", "PONG", &other)),
        }
    }

    /// `EVAL script numkeys keys... args...`: the script's raw reply.
    ///
    /// # Errors
    /// Any call error; script errors are [`Error::Redis`].
    pub async fn eval<K: IntoArg, A: IntoArg>(
        &self,
        script: &str,
        keys: impl IntoIterator<Item = K>,
        args: impl IntoIterator<Item = A>,
    ) -> Result<Value> {
        self.command(Command::eval(script, keys, args)).await
    }

    /// Emits one JSON log line through [`ClientOptions::log`]. `fields` should be an object.
    pub(crate) fn log(&self, level: &str, event: &str, fields: serde_json::Value) {
        let Some(sink) = self.inner.opts.log else {
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

    /// Sends one request with deadline and retries; returns the status and body.
    pub(crate) async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: &'static str,
        retry_safe: bool,
        what: &str,
    ) -> Result<(u16, Vec<u8>)> {
        let opts = &self.inner.opts;
        let url = format!("{}{}", self.inner.url, path);
        let clock = rt::Stopwatch::start();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match self.attempt(&url, body.clone(), content_type).await {
                Ok(answer) => return Ok(answer),
                Err(AttemptError::Timeout) => return Err(Error::Timeout(opts.timeout)),
                Err(AttemptError::Transport { connect, message }) => {
                    let delay = opts.backoff.saturating_mul(1 << (attempt - 1).min(16));
                    let may_retry = (connect || retry_safe)
                        && attempt <= opts.retries
                        && clock.elapsed() + delay <= opts.retry_budget;
                    if !may_retry {
                        let plural = if attempt == 1 { "" } else { "s" };
                        return Err(Error::Transport(format!(
                            "POST {url} ({what}): {message} (after {attempt} attempt{plural})"
                        )));
                    }
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
                    rt::sleep(delay).await;
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
        let opts = &self.inner.opts;
        let mut req = self
            .inner
            .http
            .post(url)
            .header(CONTENT_TYPE, content_type)
            .timeout(opts.timeout)
            .body(body);
        if let Some(auth) = &self.inner.auth {
            req = req.header(AUTHORIZATION, auth.clone());
        }
        if opts.base64 {
            req = req.header("Upstash-Encoding", "base64");
        }
        if opts.read_your_writes {
            let token = self
                .inner
                .sync_token
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(token) = token {
                req = req.header(SYNC_TOKEN_HEADER, token);
            }
        }
        let exchange = async move {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let token = resp.headers().get(SYNC_TOKEN_HEADER).cloned();
            let body = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, token, Vec::from(body)))
        };
        match rt::with_deadline(opts.timeout, exchange).await {
            None => Err(AttemptError::Timeout),
            Some(Ok((status, token, body))) => {
                // Like the SDK: only a 2xx answer moves the token.
                if let Some(token) =
                    token.filter(|_| opts.read_your_writes && (200..300).contains(&status))
                {
                    self.remember_sync_token(&token);
                }
                Ok((status, body))
            }
            Some(Err(e)) if e.is_timeout() => Err(AttemptError::Timeout),
            Some(Err(e)) => Err(AttemptError::Transport {
                connect: rt::is_connect_error(&e),
                message: crate::error::describe_reqwest(e),
            }),
        }
    }
}

fn unexpected(command: &str, expected: &str, got: &Value) -> Error {
    Error::Decode(format!(
        "{command}: expected {expected}, got {}",
        got.kind()
    ))
}

fn int_reply(command: &str, v: &Value) -> Result<i64> {
    match v {
        Value::Int(n) => Ok(*n),
        other => other
            .as_int()
            .ok_or_else(|| unexpected(command, "integer", other)),
    }
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

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_of_path_segments() {
        assert_eq!(percent_encode("SET"), "SET");
        assert_eq!(percent_encode("a/b c%?#é"), "a%2Fb%20c%25%3F%23%C3%A9");
    }

    #[test]
    fn int_replies() {
        assert_eq!(int_reply("X", &Value::Int(3)), Ok(3));
        assert_eq!(int_reply("X", &Value::Bytes(b"4".to_vec())), Ok(4));
        assert!(matches!(int_reply("X", &Value::Nil), Err(Error::Decode(_))));
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
    fn sync_token_is_kept_shared_and_replaceable() {
        let conn = Connection::new("http://127.0.0.1:1", None).expect("valid");
        let client = Client::new(conn, ClientOptions::default()).expect("client");
        let clone = client.clone();
        assert_eq!(client.sync_token(), None);
        client.remember_sync_token(&HeaderValue::from_static("7"));
        client.remember_sync_token(&HeaderValue::from_static("5"));
        assert_eq!(clone.sync_token().as_deref(), Some("7"));
        clone.remember_sync_token(&HeaderValue::from_static("opaque"));
        assert_eq!(client.sync_token().as_deref(), Some("opaque"));
        client.set_sync_token(None);
        assert_eq!(clone.sync_token(), None);
        client.set_sync_token(Some("bad\nvalue"));
        assert_eq!(client.sync_token(), None);
    }

    #[test]
    fn defaults() {
        let o = ClientOptions::default();
        assert_eq!(o.timeout, Duration::from_secs(5));
        assert_eq!(o.retries, 2);
        assert_eq!(o.retry_budget, Duration::from_millis(1500));
        assert!(o.base64);
        assert!(o.log.is_some());
        assert!(o.read_your_writes);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let conn = Connection::new("http://127.0.0.1:1", Some("SUPERSECRETTOKEN")).expect("valid");
        let client = Client::new(conn, ClientOptions::default()).expect("client");
        let debug = format!("{client:?}");
        assert!(!debug.contains("SUPERSECRETTOKEN"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }
}
