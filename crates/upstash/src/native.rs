//! Native pieces outside the transport (`transport/native.rs` has the HTTP exchange and
//! timers): [`Connection::from_process_env`] and the process-wide async client
//! [`Client::shared`].

use std::sync::OnceLock;

use crate::client::Client;
use crate::config::{resolve, Connection};
use crate::error::{ConfigError, Result};
use crate::options::ClientOptions;

impl Client {
    /// The process-wide async client (the original system's async singleton), resolved once from
    /// the environment ([`Connection::from_process_env`], default [`ClientOptions`]) on first use;
    /// a resolution error is kept and returned by every call. Clones share its connection pool
    /// and sync token. Use it from one tokio runtime (reqwest's pool belongs to the runtime that
    /// opened the connections); [`crate::blocking::Client::shared`] is the sync one.
    ///
    /// # Errors
    /// The [`crate::Error::Config`] of that first resolution.
    pub fn shared() -> Result<Client> {
        static SHARED: OnceLock<Result<Client>> = OnceLock::new();
        SHARED
            .get_or_init(|| Client::new(Connection::from_process_env()?, ClientOptions::default()))
            .clone()
    }
}

impl Connection {
    /// Resolves the connection from the process environment (see [`resolve`] for the order).
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable whose value is malformed.
    pub fn from_process_env() -> Result<Connection, ConfigError> {
        resolve(|name| std::env::var(name).ok())
    }
}
