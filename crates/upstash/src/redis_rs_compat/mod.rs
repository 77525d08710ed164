//! The API of the `upstash-redis-rs` crate (0.1.2) over our [`Client`]: code written against it
//! builds against `upstash_rest` with only the crate name changed (its `examples/basic.rs` and a
//! differential test prove it, `crates/compat-check`).
//!
//! Same paths, names and signatures: [`Redis`] (`Redis::new(url, token)` and one method per
//! command), [`ReResponse`], the [`commands`] module (the `Command` trait, `ReCmd`, and one
//! submodule per command: `commands::set::{SetCommand, Expire, Constraint}`, ...), and
//! `upstash_rest::Result<T>`. A request is the same JSON array their client posts, and `send()`
//! answers `Ok(ReResponse::Error { error })` for any `{"error"}` answer (wrong token, Redis
//! error) and `Err` only when no envelope came back or the result does not fit the command's
//! output type, as theirs does.
//!
//! Differences, all deliberate:
//! - an `{"error"}` answer is always `ReResponse::Error`; theirs decodes it as
//!   `Success { result: None }` for the commands whose output is an `Option` (GET, SET, GETDEL,
//!   HGET, SPOP: serde fills the missing `result`), hiding wrong tokens and Redis errors;
//! - the error type is our [`crate::Error`] (theirs, `RedisError`, is not nameable outside
//!   their crate; only its `Result` alias is, and ours has the same shape);
//! - the root `Command` is our command struct, so their trait is at `commands::Command` only;
//!   `send`, `set_options`, `set_options_with_arg` and `as_cmd` are also inherent methods, so
//!   calls compile without the trait in scope (their `use upstash_redis_rs::Command;` then only
//!   warns as unused); `Command::client()` gives our [`Client`], and `send()` is not `Send` on
//!   wasm (fetch futures are not);
//! - `Redis::new` validates like [`crate::Connection::new`] (no credentials or query in the URL);
//! - requests go through our transport: deadline, retries of reads, base64 replies (non-UTF-8
//!   bytes become U+FFFD, as their plain-JSON replies do), read-your-writes;
//! - `XxxCommand::new` takes our [`Client`] instead of a reqwest client and URL; their exported
//!   `cmd!` macro is not provided (it can only be used inside their crate).

pub mod commands;

use serde::Deserialize;

use crate::client::Client;
use crate::config::Connection;
use crate::error::Result;
use crate::options::ClientOptions;

/// One answer: `{"result": T}` or `{"error": "..."}` (untagged, as upstash-redis-rs decodes it).
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(untagged)]
pub enum ReResponse<T> {
    /// The command ran; its result.
    Success {
        /// The command's result, decoded into the command's output type.
        result: T,
    },
    /// The endpoint answered with an error envelope (Redis error, wrong token, ...).
    Error {
        /// The error text, as sent.
        error: String,
    },
}

/// The upstash-redis-rs client: one method per command, each giving a command to `send()`.
#[derive(Clone, Debug)]
pub struct Redis {
    client: Client,
    url: url::Url,
}

impl Redis {
    /// A client for `url` with `token`, default [`ClientOptions`]. Does no I/O.
    ///
    /// # Errors
    /// [`crate::Error::Config`] for an unusable URL or token.
    pub fn new<RS>(url: RS, token: RS) -> Result<Self>
    where
        RS: AsRef<str>,
    {
        let conn = Connection::new(url.as_ref(), Some(token.as_ref()))?;
        Redis::from_client(Client::new(conn, ClientOptions::default())?)
    }

    /// The same API over an existing client (its options, connection and sync token).
    ///
    /// # Errors
    /// [`crate::Error::Config`] if the client's URL does not parse (it always does).
    pub fn from_client(client: Client) -> Result<Self> {
        let url =
            url::Url::parse(client.url()).map_err(|e| crate::error::ConfigError::InvalidUrl {
                var: "url",
                reason: e.to_string(),
            })?;
        Ok(Redis { client, url })
    }

    /// The client commands are sent with.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
