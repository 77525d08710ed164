//! A blocking client for native tools and sync code (as `reqwest::blocking` mirrors reqwest): the
//! async [`crate::Client`] driven on a private tokio runtime, with the same typed methods, the
//! same never-failing helpers (`read_json`, `write_json`, `incr`, `get_int`, `read_bytes`) and
//! the same options (deadline, retries, read-your-writes). Native only.
//!
//! The runtime has one worker thread that keeps pooled connections alive between calls. A call
//! made from inside an async runtime (where blocking on another runtime would panic) runs on a
//! short-lived helper thread instead, so every method is safe to call anywhere; in async code
//! prefer the async client. [`Client::shared`] is the process-wide instance (the original
//! system's sync singleton), [`crate::Client::shared`] the async one.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::command::{Command, IntoArg, SetOptions};
use crate::config::Connection;
use crate::error::{Error, RedisError, Result};
use crate::value::Value;
use crate::ClientOptions;

/// The private runtime; shut down without waiting when the last client goes (dropping a
/// runtime inside async code would panic).
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// A blocking Upstash REST client. Cheap to clone (clones share the connection pool, runtime and
/// read-your-writes token).
#[derive(Clone)]
pub struct Client {
    inner: crate::Client,
    rt: Arc<Runtime>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Client")
            .field(&self.inner)
            .finish()
    }
}

impl Client {
    /// Builds a client for `conn` (see [`crate::Client::new`]) and its runtime. Does no I/O.
    ///
    /// # Errors
    /// As [`crate::Client::new`]; [`Error::Transport`] if the runtime cannot start.
    pub fn new(conn: Connection, opts: ClientOptions) -> Result<Client> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("upstash-blocking")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::Transport(format!("cannot start the blocking client's runtime: {e}"))
            })?;
        // reqwest binds its connection pool to the runtime it first runs on: build inside ours.
        let inner = {
            let _entered = rt.enter();
            crate::Client::new(conn, opts)?
        };
        Ok(Client {
            inner,
            rt: Arc::new(Runtime(Some(rt))),
        })
    }

    /// The process-wide blocking client, resolved once from the environment
    /// ([`Connection::from_process_env`], default [`ClientOptions`]) on first use. A resolution
    /// error is kept too: every call returns it (the environment is read once).
    ///
    /// # Errors
    /// The [`Error::Config`] (or runtime error) of that first resolution.
    pub fn shared() -> Result<Client> {
        static SHARED: OnceLock<Result<Client>> = OnceLock::new();
        SHARED
            .get_or_init(|| Client::new(Connection::from_process_env()?, ClientOptions::default()))
            .clone()
    }

    /// The async client underneath (same connection, options and sync token).
    pub fn async_client(&self) -> &crate::Client {
        &self.inner
    }

    /// The REST endpoint (log-safe).
    pub fn url(&self) -> &str {
        self.inner.url()
    }

    /// The options in force.
    pub fn options(&self) -> &ClientOptions {
        self.inner.options()
    }

    /// The latest read-your-writes token (see [`crate::Client::sync_token`]).
    pub fn sync_token(&self) -> Option<String> {
        self.inner.sync_token()
    }

    /// Replaces the read-your-writes token (see [`crate::Client::set_sync_token`]).
    pub fn set_sync_token(&self, token: Option<&str>) {
        self.inner.set_sync_token(token);
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let Some(rt) = self.rt.0.as_ref() else {
            unreachable!("the runtime lives as long as the client");
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return rt.block_on(fut);
        }
        std::thread::scope(|scope| match scope.spawn(|| rt.block_on(fut)).join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    }

    /// Runs any command (see [`crate::Client::command`]).
    ///
    /// # Errors
    /// See [`Error`].
    pub fn command(&self, cmd: Command) -> Result<Value> {
        self.block_on(self.inner.command(cmd))
    }

    /// A pipeline (`POST /pipeline`).
    pub fn pipeline(&self) -> Pipeline {
        Pipeline {
            inner: self.inner.pipeline(),
            client: self.clone(),
        }
    }

    /// A transaction (`POST /multi-exec`).
    pub fn multi(&self) -> Pipeline {
        Pipeline {
            inner: self.inner.multi(),
            client: self.clone(),
        }
    }

    /// `GET key` as UTF-8 text (see [`crate::Client::get`]).
    ///
    /// # Errors
    /// See [`crate::Client::get`].
    pub fn get(&self, key: impl IntoArg) -> Result<Option<String>> {
        self.block_on(self.inner.get(key.into_arg()))
    }

    /// `GET key` as raw bytes.
    ///
    /// # Errors
    /// See [`crate::Client::get_bytes`].
    pub fn get_bytes(&self, key: impl IntoArg) -> Result<Option<Vec<u8>>> {
        self.block_on(self.inner.get_bytes(key.into_arg()))
    }

    /// `MGET keys...`.
    ///
    /// # Errors
    /// See [`crate::Client::mget`].
    pub fn mget<K: IntoArg>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<Option<String>>> {
        let keys: Vec<Vec<u8>> = keys.into_iter().map(IntoArg::into_arg).collect();
        self.block_on(self.inner.mget(keys))
    }

    /// `SET key value [EX] [PX] [NX]`: true when set.
    ///
    /// # Errors
    /// See [`crate::Client::set`].
    pub fn set(&self, key: impl IntoArg, value: impl IntoArg, opts: SetOptions) -> Result<bool> {
        self.block_on(self.inner.set(key.into_arg(), value.into_arg(), opts))
    }

    /// `INCRBY key n`: the new value.
    ///
    /// # Errors
    /// See [`crate::Client::incr_by`].
    pub fn incr_by(&self, key: impl IntoArg, n: i64) -> Result<i64> {
        self.block_on(self.inner.incr_by(key.into_arg(), n))
    }

    /// `DEL keys...`: how many existed.
    ///
    /// # Errors
    /// See [`crate::Client::del`].
    pub fn del<K: IntoArg>(&self, keys: impl IntoIterator<Item = K>) -> Result<i64> {
        let keys: Vec<Vec<u8>> = keys.into_iter().map(IntoArg::into_arg).collect();
        self.block_on(self.inner.del(keys))
    }

    /// `EXPIRE key secs`.
    ///
    /// # Errors
    /// See [`crate::Client::expire`].
    pub fn expire(&self, key: impl IntoArg, secs: u64) -> Result<bool> {
        self.block_on(self.inner.expire(key.into_arg(), secs))
    }

    /// `TTL key`.
    ///
    /// # Errors
    /// See [`crate::Client::ttl`].
    pub fn ttl(&self, key: impl IntoArg) -> Result<i64> {
        self.block_on(self.inner.ttl(key.into_arg()))
    }

    /// `PING`.
    ///
    /// # Errors
    /// See [`crate::Client::ping`].
    pub fn ping(&self) -> Result<()> {
        self.block_on(self.inner.ping())
    }

    /// `EVAL script numkeys keys... args...`.
    ///
    /// # Errors
    /// See [`crate::Client::eval`].
    pub fn eval<K: IntoArg, A: IntoArg>(
        &self,
        script: &str,
        keys: impl IntoIterator<Item = K>,
        args: impl IntoIterator<Item = A>,
    ) -> Result<Value> {
        self.command(Command::eval(script, keys, args))
    }

    /// See [`crate::Client::read_json`]: `None` when missing or on any failure (logged).
    pub fn read_json<T: DeserializeOwned + Send>(&self, key: &str) -> Option<T> {
        self.block_on(self.inner.read_json(key))
    }

    /// See [`crate::Client::read_bytes`]: `None` when missing or on failure (logged).
    pub fn read_bytes(&self, key: &str) -> Option<Vec<u8>> {
        self.block_on(self.inner.read_bytes(key))
    }

    /// See [`crate::Client::write_json`]: `false` on any failure (logged); `EX` only when
    /// `ttl > 0`.
    pub fn write_json<T: Serialize + Sync + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<u64>,
    ) -> bool {
        self.block_on(self.inner.write_json(key, value, ttl))
    }

    /// See [`crate::Client::incr`]: `None` on failure (logged).
    pub fn incr(&self, key: &str, amount: Option<i64>) -> Option<i64> {
        self.block_on(self.inner.incr(key, amount))
    }

    /// See [`crate::Client::get_int`]: `0` when missing, not an integer, or on failure.
    pub fn get_int(&self, key: &str) -> i64 {
        self.block_on(self.inner.get_int(key))
    }
}

/// A blocking [`crate::Pipeline`]; send it with [`Pipeline::exec`].
#[derive(Debug, Clone)]
#[must_use = "a pipeline does nothing until exec() is called"]
pub struct Pipeline {
    inner: crate::Pipeline,
    client: Client,
}

impl Pipeline {
    /// Adds a command (builder style).
    pub fn cmd(mut self, cmd: Command) -> Pipeline {
        self.inner = self.inner.cmd(cmd);
        self
    }

    /// Adds a command (in place).
    pub fn push(&mut self, cmd: Command) -> &mut Pipeline {
        self.inner.push(cmd);
        self
    }

    /// Number of queued commands.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when no command is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Sends the batch (see [`crate::Pipeline::exec`]).
    ///
    /// # Errors
    /// See [`crate::Pipeline::exec`].
    pub fn exec(self) -> Result<Vec<Result<Value, RedisError>>> {
        let Pipeline { inner, client } = self;
        client.block_on(inner.exec())
    }
}
