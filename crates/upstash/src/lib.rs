//! Redis over the Upstash REST API, for the Cloudflare Worker (wasm32, fetch) and for native
//! tools and tests (tokio, plus a [`blocking`] client). Carried over from the Python system's
//! `redis_client` module; also offers the `upstash-redis-rs` crate's API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), upstash_rest::Error> {
//! use upstash_rest::{Client, ClientOptions, Command, Connection, SetOptions};
//!
//! let conn = Connection::from_process_env()?; // the Worker: upstash_rest::resolve(|k| env lookup)
//! eprintln!("{}", conn.describe());           // log-safe: names the variables, never the token
//! let client = Client::new(conn, ClientOptions::default())?;
//! client.set("symbols:spot", r#"["BTCUSDT"]"#, SetOptions::ex(300)).await?;
//! let raw: Option<Vec<u8>> = client.get_bytes("symbols:spot").await?;
//! let parsed: Option<Vec<String>> = client.read_json("symbols:spot").await; // never errors
//! let results = client.pipeline().cmd(Command::incr_by("hits", 1)).cmd(Command::ttl("hits")).exec().await?;
//! # let _ = (raw, parsed, results); Ok(()) }
//! ```
//!
//! # Layout
//! - `config.rs`: [`Connection`] and [`resolve`]: URL/token from ordered variables, validation,
//!   token redaction, [`Connection::describe`].
//! - `command.rs`: [`Command`] (argv of byte strings), [`SetOptions`], [`IntoArg`].
//! - `value.rs`: [`Value`] (nil / integer / bytes / array) and base64 reply decoding.
//! - `response.rs`: `{"result"}` / `{"error"}` envelopes, batch replies, HTTP status mapping.
//! - `options.rs`: [`ClientOptions`] (deadline, retries, encoding, read-your-writes, log sink).
//! - `transport/`: the one `POST` that [`Client`] and [`Pipeline`] both send: headers,
//!   per-attempt deadline, retries with backoff, read-your-writes tokens. Its `native.rs`
//!   (reqwest) and `wasm.rs` (the global `fetch`) are the HTTP exchange, timers and clock.
//! - `client.rs`: [`Client`] and the typed command methods.
//! - `pipeline.rs`: [`Pipeline`] for `/pipeline` and `/multi-exec`.
//! - `json.rs`: the never-failing helpers (`read_json`, `write_json`, `incr`, `get_int`, `read_bytes`).
//! - `error.rs`: [`Error`], [`RedisError`], [`ConfigError`].
//! - `redis_rs_compat/`: the API of the `upstash-redis-rs` crate ([`Redis`], [`ReResponse`],
//!   [`commands`]) over [`Client`]; `compat-check/` (its own workspace) proves it with that crate.
//! - `blocking.rs` (native): [`blocking::Client`], the async client on a private runtime, and
//!   [`blocking::Client::shared`]; [`Client::shared`] (in `native.rs`) is the async singleton.
//! - `native.rs` (native only): [`Client::shared`] and [`Connection::from_process_env`];
//!   `sink.rs`: the default log sink (stderr, or `console.log` on wasm32). With
//!   `transport/`, the only target-specific code.
//!
//! # Read-your-writes
//! Each client keeps the latest `upstash-sync-token` answer and sends it back (on by default,
//! [`ClientOptions::read_your_writes`]), like `@upstash/redis`: see `transport/mod.rs`.
//!
//! # Errors and logging
//! No error message or log line contains the token. [`Error::is_unreachable`] separates "the
//! endpoint is down or slow" from "Redis answered an error". Log lines are single JSON objects
//! passed to [`ClientOptions::log`] (a plain `fn(&str)`).
#![deny(missing_docs)]

mod client;
mod command;
mod config;
mod error;
mod json;
mod options;
mod pipeline;
mod redis_rs_compat;
mod response;
mod sink;
mod transport;
mod value;

#[cfg(not(target_arch = "wasm32"))]
pub mod blocking;
#[cfg(not(target_arch = "wasm32"))]
mod native;

pub use client::Client;
pub use command::{Command, IntoArg, SetOptions};
pub use config::{resolve, Connection, DEFAULT_URL, TOKEN_VARS, URL_VARS};
pub use error::{ConfigError, Error, RedisError, Result, MAX_BODY_CHARS};
pub use options::{ClientOptions, LogFn};
pub use pipeline::Pipeline;
pub use redis_rs_compat::{commands, ReResponse, Redis};
pub use transport::SYNC_TOKEN_HEADER;
pub use value::Value;
