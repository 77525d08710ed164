//! [`Client`]: typed command methods over the transport (`transport/mod.rs`: deadline, retries,
//! backoff, headers, read-your-writes).
//!
//! Request shapes (the Upstash REST API):
//! - single command: `POST {url}` with a JSON array body `["SET","k","v"]`; when only the last
//!   argument is binary (non-UTF-8), `POST {url}/SET/k` with that argument as the raw body;
//! - pipeline: `POST {url}/pipeline`, transaction: `POST {url}/multi-exec` (see [`crate::Pipeline`]).

use std::fmt;
use std::sync::Arc;

use crate::command::{Command, IntoArg, SetOptions};
use crate::config::Connection;
use crate::error::{Error, Result};
use crate::options::ClientOptions;
use crate::pipeline::Pipeline;
use crate::response;
use crate::transport::Transport;
use crate::value::Value;

/// An Upstash REST client. Cheap to clone (one shared `Arc`); keep one per process or isolate.
#[derive(Clone)]
pub struct Client {
    transport: Arc<Transport>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The transport's Debug: URL, options, token redacted.
        self.transport.fmt(f)
    }
}

impl Client {
    /// Builds a client for `conn`. Does no I/O.
    ///
    /// # Errors
    /// [`Error::Config`] when the token cannot be sent as a header or (native builds without the
    /// `rustls` feature) the URL is `https://`; [`Error::Transport`] if the HTTP stack cannot
    /// be initialised.
    pub fn new(conn: Connection, opts: ClientOptions) -> Result<Client> {
        Ok(Client {
            transport: Arc::new(Transport::new(conn, opts)?),
        })
    }

    /// The latest read-your-writes token this client received (shared by its clones), if any:
    /// the SDK's `readYourWritesSyncToken`, e.g. to hand a session on to another client.
    pub fn sync_token(&self) -> Option<String> {
        self.transport.sync_token()
    }

    /// Replaces the read-your-writes token (`None` forgets it). A value that cannot be sent as a
    /// header is ignored.
    pub fn set_sync_token(&self, token: Option<&str>) {
        self.transport.set_sync_token(token);
    }

    /// The transport under this client (for request shapes other than [`Client::command`]'s).
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The REST endpoint (log-safe: validated to carry no credentials or query).
    pub fn url(&self) -> &str {
        self.transport.url()
    }

    /// The options in force.
    pub fn options(&self) -> &ClientOptions {
        self.transport.options()
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
            .transport
            .post(&path, body, content_type, retry_safe, &name)
            .await?;
        response::single(status, &reply, self.options().base64)
    }

    /// A pipeline (`POST /pipeline`): commands run in order, not atomically.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(self.transport.clone(), false)
    }

    /// A transaction (`POST /multi-exec`): commands run atomically.
    pub fn multi(&self) -> Pipeline {
        Pipeline::new(self.transport.clone(), true)
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
        self.transport.log(level, event, fields);
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

/// Everything but RFC 3986's unreserved characters (`A-Za-z0-9-._~`).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
fn percent_encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, PATH_SEGMENT).to_string()
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
    fn clones_share_the_sync_token() {
        let conn = Connection::new("http://127.0.0.1:1", None).expect("valid");
        let client = Client::new(conn, ClientOptions::default()).expect("client");
        let clone = client.clone();
        client.set_sync_token(Some("7"));
        assert_eq!(clone.sync_token().as_deref(), Some("7"));
        clone.set_sync_token(None);
        assert_eq!(client.sync_token(), None);
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
