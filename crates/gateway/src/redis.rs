//! The Redis side: URL parsing, one TCP connection speaking RESP, and a reconnecting pool.
//!
//! Every HTTP request checks one connection out of [`RedisPool`], writes all of its commands in a
//! single pipelined write, reads the replies and checks the connection back in. A transaction is
//! `MULTI … EXEC` written on that same dedicated connection, so it is atomic. There is no
//! background reconnect loop: a broken connection is dropped and the next request dials a new one
//! (bounded by [`DEFAULT_CONNECT_TIMEOUT`]), so the gateway recovers by itself when Redis returns.

use std::fmt;
use std::io;
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::resp::{self, Value};

/// How long dialling Redis (TCP connect plus `AUTH`/`SELECT`) may take before the request fails.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long Redis may take to answer one request's commands before the request fails with 504.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// How many idle connections the pool keeps for reuse.
pub const DEFAULT_MAX_IDLE: usize = 64;

/// Writes of arguments at least this large skip the staging buffer (no extra copy).
const DIRECT_WRITE_THRESHOLD: usize = 16 * 1024;
/// Minimum free space kept in the read buffer before each read.
const READ_CHUNK: usize = 64 * 1024;
/// Largest single read-buffer reservation made from a bulk header (bigger values grow in steps).
const MAX_RESERVE: usize = 64 * 1024 * 1024;

/// One command: its name followed by its arguments, as raw bytes.
pub type Command = Vec<Bytes>;

/// What went wrong talking to Redis (never a Redis error *reply*: those are [`Value::Error`]).
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The `redis://` URL could not be understood.
    #[error("invalid redis url: {0}")]
    Url(String),
    /// Redis could not be reached.
    #[error("redis unavailable at {addr}: {source}")]
    Connect {
        /// `host:port` dialled.
        addr: String,
        /// The socket error.
        source: io::Error,
    },
    /// Dialling Redis took longer than the connect timeout.
    #[error("redis unavailable at {addr}: no connection within {timeout:?}")]
    ConnectTimeout {
        /// `host:port` dialled.
        addr: String,
        /// The limit that passed.
        timeout: Duration,
    },
    /// Redis refused the connection setup (`AUTH` or `SELECT` failed).
    #[error("redis rejected the connection setup: {0}")]
    Setup(String),
    /// The connection broke while a request was in flight.
    #[error("redis connection lost: {0}")]
    Io(#[from] io::Error),
    /// Redis closed the connection while a request was in flight.
    #[error("redis closed the connection")]
    Closed,
    /// Redis took longer than the response timeout.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis sent bytes that are not RESP.
    #[error(transparent)]
    Protocol(#[from] resp::ProtocolError),
}

impl RedisError {
    /// Whether Redis could not be reached at all (as opposed to failing mid-request).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            RedisError::Connect { .. } | RedisError::ConnectTimeout { .. } | RedisError::Setup(_)
        )
    }
}

/// A parsed `redis://[user[:password]@]host[:port][/db]` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisTarget {
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// TCP port (default 6379).
    pub port: u16,
    /// ACL user name, if any.
    pub username: Option<String>,
    /// Password, if any.
    pub password: Option<String>,
    /// Database index selected after connecting (default 0).
    pub db: u32,
}

impl fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password.
        write!(f, "RedisTarget({})", self.redacted())
    }
}

impl RedisTarget {
    /// Parses a `redis://` URL. `rediss://` (TLS) and unix sockets are not supported.
    ///
    /// # Errors
    /// [`RedisError::Url`] naming what is wrong (without echoing the password).
    pub fn parse(url: &str) -> Result<Self, RedisError> {
        let rest = url.strip_prefix("redis://").ok_or_else(|| {
            RedisError::Url("expected redis://[user[:password]@]host[:port][/db]".into())
        })?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((u, p)) => ((!u.is_empty()).then(|| decode(u)), Some(decode(p))),
                None => ((!info.is_empty()).then(|| decode(info)), None),
            },
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| RedisError::Url("unclosed [ in host".into()))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(RedisError::Url("missing host".into()));
        }
        let port = match port {
            None | Some("") => 6379,
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| RedisError::Url(format!("bad port {p:?}")))?,
        };
        let path = path.split('?').next().unwrap_or("");
        let db = match path.trim_start_matches('/') {
            "" => 0,
            d => d
                .parse::<u32>()
                .map_err(|_| RedisError::Url(format!("bad database index {d:?}")))?,
        };
        Ok(Self {
            host,
            port,
            username,
            password,
            db,
        })
    }

    /// `host:port` for dialling and messages.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL with the password replaced by `***` (safe to log).
    pub fn redacted(&self) -> String {
        let auth = match (&self.username, &self.password) {
            (None, None) => String::new(),
            (Some(u), None) => format!("{u}@"),
            (u, Some(_)) => format!("{}:***@", u.as_deref().unwrap_or("")),
        };
        let db = if self.db == 0 {
            String::new()
        } else {
            format!("/{}", self.db)
        };
        format!("redis://{auth}{}{db}", self.addr())
    }
}

/// One RESP connection to Redis.
pub struct Connection {
    stream: TcpStream,
    read_buf: BytesMut,
    write_buf: Vec<u8>,
    /// Total reply bytes received so far (to tell "failed before any reply" from "failed midway").
    received: u64,
}

impl Connection {
    /// Dials `target`, then authenticates and selects the database when the URL says so.
    ///
    /// # Errors
    /// [`RedisError::Connect`], [`RedisError::ConnectTimeout`] or [`RedisError::Setup`].
    pub async fn connect(target: &RedisTarget, timeout: Duration) -> Result<Self, RedisError> {
        let addr = target.addr();
        let dial = async {
            let stream = TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(|source| RedisError::Connect {
                    addr: addr.clone(),
                    source,
                })?;
            stream
                .set_nodelay(true)
                .map_err(|source| RedisError::Connect {
                    addr: addr.clone(),
                    source,
                })?;
            let mut conn = Self {
                stream,
                read_buf: BytesMut::with_capacity(READ_CHUNK),
                write_buf: Vec::with_capacity(4096),
                received: 0,
            };
            let mut setup: Vec<Command> = Vec::new();
            if let Some(password) = &target.password {
                let mut auth = vec![Bytes::from_static(b"AUTH")];
                if let Some(user) = &target.username {
                    auth.push(Bytes::from(user.clone()));
                }
                auth.push(Bytes::from(password.clone()));
                setup.push(auth);
            }
            if target.db != 0 {
                setup.push(vec![
                    Bytes::from_static(b"SELECT"),
                    Bytes::from(target.db.to_string()),
                ]);
            }
            if !setup.is_empty() {
                let replies = conn
                    .execute(&setup)
                    .await
                    .map_err(|e| RedisError::Setup(e.to_string()))?;
                if let Some(Value::Error(e)) = replies.iter().find(|v| v.is_error()) {
                    return Err(RedisError::Setup(e.clone()));
                }
            }
            Ok(conn)
        };
        match tokio::time::timeout(timeout, dial).await {
            Ok(result) => result,
            Err(_) => Err(RedisError::ConnectTimeout { addr, timeout }),
        }
    }

    /// Writes all `commands` in one go, then reads exactly one reply per command.
    ///
    /// # Errors
    /// I/O and protocol failures; the connection must then be dropped.
    pub async fn execute<C: AsRef<[Bytes]>>(
        &mut self,
        commands: &[C],
    ) -> Result<Vec<Value>, RedisError> {
        self.write_buf.clear();
        for cmd in commands {
            let args = cmd.as_ref();
            self.write_buf.push(b'*');
            self.write_buf
                .extend_from_slice(args.len().to_string().as_bytes());
            self.write_buf.extend_from_slice(b"\r\n");
            for arg in args {
                resp::encode_bulk_header(arg.len(), &mut self.write_buf);
                if arg.len() >= DIRECT_WRITE_THRESHOLD {
                    self.stream.write_all(&self.write_buf).await?;
                    self.write_buf.clear();
                    self.stream.write_all(arg).await?;
                } else {
                    self.write_buf.extend_from_slice(arg);
                }
                self.write_buf.extend_from_slice(b"\r\n");
            }
        }
        if !self.write_buf.is_empty() {
            self.stream.write_all(&self.write_buf).await?;
        }
        // Do not keep a huge staging buffer alive in the pool.
        if self.write_buf.capacity() > 1024 * 1024 {
            self.write_buf = Vec::with_capacity(4096);
        }
        let mut replies = Vec::with_capacity(commands.len());
        for _ in 0..commands.len() {
            replies.push(self.read_value().await?);
        }
        if self.read_buf.capacity() > 4 * 1024 * 1024 && self.read_buf.is_empty() {
            self.read_buf = BytesMut::with_capacity(READ_CHUNK);
        }
        Ok(replies)
    }

    async fn read_value(&mut self) -> Result<Value, RedisError> {
        loop {
            if let Some(value) = resp::take_value(&mut self.read_buf)? {
                return Ok(value);
            }
            let wanted = resp::bulk_frame_hint(&self.read_buf)
                .map(|total| total.saturating_sub(self.read_buf.len()))
                .unwrap_or(0)
                .clamp(READ_CHUNK, MAX_RESERVE);
            if self.read_buf.capacity() - self.read_buf.len() < wanted {
                self.read_buf.reserve(wanted);
            }
            let n = self.stream.read_buf(&mut self.read_buf).await?;
            if n == 0 {
                return Err(RedisError::Closed);
            }
            self.received += n as u64;
        }
    }
}

/// The outcome of a `MULTI … EXEC` transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Transaction {
    /// `EXEC` ran: one reply per queued command (some may be [`Value::Error`]).
    Executed(Vec<Value>),
    /// Redis discarded the whole transaction (e.g. `EXECABORT` after a command failed to queue).
    Discarded(String),
}

/// A pool of Redis connections that redials on demand.
pub struct RedisPool {
    target: RedisTarget,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPool")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl RedisPool {
    /// A pool for `url` with the default timeouts. Connects lazily.
    ///
    /// # Errors
    /// [`RedisError::Url`] for a malformed URL.
    pub fn new(url: &str) -> Result<Self, RedisError> {
        Ok(Self::with_target(RedisTarget::parse(url)?))
    }

    /// A pool for an already parsed target, with the default timeouts.
    pub fn with_target(target: RedisTarget) -> Self {
        Self {
            target,
            idle: Mutex::new(Vec::new()),
            max_idle: DEFAULT_MAX_IDLE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
        }
    }

    /// Overrides the connect and response timeouts.
    pub fn with_timeouts(mut self, connect: Duration, response: Duration) -> Self {
        self.connect_timeout = connect;
        self.response_timeout = response;
        self
    }

    /// The target this pool dials.
    pub fn target(&self) -> &RedisTarget {
        &self.target
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn put_idle(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    fn clear_idle(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Runs `commands` pipelined on one connection and returns one reply per command.
    ///
    /// A reused connection that fails before any reply byte arrived (typically: Redis restarted
    /// while it sat idle) is retried once on a fresh connection; all idle connections are dropped
    /// on any connection failure.
    ///
    /// # Errors
    /// Connection, timeout and protocol failures. Redis error replies are values, not errors.
    pub async fn run<C: AsRef<[Bytes]>>(&self, commands: &[C]) -> Result<Vec<Value>, RedisError> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let mut retried = false;
        loop {
            let (mut conn, reused) = match self.take_idle() {
                Some(conn) => (conn, true),
                None => (
                    Connection::connect(&self.target, self.connect_timeout).await?,
                    false,
                ),
            };
            let before = conn.received;
            match tokio::time::timeout(self.response_timeout, conn.execute(commands)).await {
                Ok(Ok(replies)) => {
                    self.put_idle(conn);
                    return Ok(replies);
                }
                Ok(Err(e)) => {
                    self.clear_idle();
                    let nothing_received = conn.received == before;
                    let retryable = matches!(e, RedisError::Io(_) | RedisError::Closed);
                    if reused && nothing_received && retryable && !retried {
                        retried = true;
                        continue;
                    }
                    return Err(e);
                }
                Err(_) => return Err(RedisError::Timeout(self.response_timeout)),
            }
        }
    }

    /// Runs one command.
    ///
    /// # Errors
    /// As [`RedisPool::run`].
    pub async fn query(&self, command: &[Bytes]) -> Result<Value, RedisError> {
        let mut replies = self.run(&[command]).await?;
        replies.pop().ok_or(RedisError::Closed)
    }

    /// Runs `commands` atomically as `MULTI`, the commands, `EXEC` on one connection.
    ///
    /// # Errors
    /// As [`RedisPool::run`]; a transaction Redis refused is `Ok(Transaction::Discarded)`.
    pub async fn transaction(&self, commands: &[Command]) -> Result<Transaction, RedisError> {
        let mut all: Vec<&[Bytes]> = Vec::with_capacity(commands.len() + 2);
        let multi = [Bytes::from_static(b"MULTI")];
        let exec = [Bytes::from_static(b"EXEC")];
        all.push(&multi);
        all.extend(commands.iter().map(|c| c.as_slice()));
        all.push(&exec);
        let mut replies = self.run(&all).await?;
        let exec_reply = replies.pop().ok_or(RedisError::Closed)?;
        if let Some(Value::Error(e)) = replies.first() {
            return Ok(Transaction::Discarded(e.clone()));
        }
        let queue_error = replies.iter().skip(1).find_map(|v| match v {
            Value::Error(e) => Some(e.clone()),
            _ => None,
        });
        Ok(match exec_reply {
            Value::Array(results) => Transaction::Executed(results),
            Value::Error(e) => Transaction::Discarded(match queue_error {
                Some(q) => format!("{e} ({q})"),
                None => e,
            }),
            Value::Nil => Transaction::Discarded("EXECABORT Transaction discarded".into()),
            other => Transaction::Discarded(format!("ERR unexpected EXEC reply {other:?}")),
        })
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = RedisTarget::parse("redis://127.0.0.1:6380").expect("valid");
        assert_eq!((t.host.as_str(), t.port, t.db), ("127.0.0.1", 6380, 0));
        assert_eq!(t.password, None);
        let t = RedisTarget::parse("redis://user:p%40ss@localhost/2").expect("valid");
        assert_eq!((t.host.as_str(), t.port, t.db), ("localhost", 6379, 2));
        assert_eq!(t.username.as_deref(), Some("user"));
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        assert_eq!(t.redacted(), "redis://user:***@localhost:6379/2");
        assert!(!format!("{t:?}").contains("p@ss"));
        let t = RedisTarget::parse("redis://:secret@[::1]:7000").expect("valid");
        assert_eq!((t.host.as_str(), t.port), ("::1", 7000));
        assert_eq!(t.redacted(), "redis://:***@[::1]:7000");
        assert!(RedisTarget::parse("http://x").is_err());
        assert!(RedisTarget::parse("redis://x:notaport").is_err());
        assert!(RedisTarget::parse("redis://").is_err());
    }
}
