//! Native (tokio) runtime pieces: timers, the deadline race, a monotonic stopwatch, the default
//! log sink (stderr), the reqwest client, [`Connection::from_process_env`] and the process-wide
//! async client [`Client::shared`].
//!
//! Deadlines: each attempt is bounded twice with the same duration, by reqwest's own request
//! timeout and by `tokio::time::timeout` around send + body read; whichever fires first wins.
//! Everything here needs a tokio runtime with the time driver (any `#[tokio::main]`/`#[tokio::test]`).

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::client::{Client, ClientOptions};
use crate::config::{resolve, Connection};
use crate::error::{ConfigError, Result};

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

/// Waits `d`.
pub(crate) async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

/// Runs `fut` until it completes or `d` passes (`None`). The future is dropped on timeout,
/// which closes its connection.
pub(crate) async fn with_deadline<F: Future>(d: Duration, fut: F) -> Option<F::Output> {
    tokio::time::timeout(d, fut).await.ok()
}

/// Elapsed time since a start point (monotonic).
pub(crate) struct Stopwatch(Instant);

impl Stopwatch {
    pub(crate) fn start() -> Stopwatch {
        Stopwatch(Instant::now())
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// True when the request failed while connecting, so nothing reached the server (safe to resend).
pub(crate) fn is_connect_error(err: &reqwest::Error) -> bool {
    err.is_connect()
}

/// Default log sink: one line on stderr.
pub(crate) fn default_log(line: &str) {
    eprintln!("{line}");
}

/// The HTTP client. No client-wide timeout: every request carries its own.
pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
        .map_err(crate::error::describe_reqwest)
}

/// Rejects `https://` endpoints when this build has no TLS backend (they would fail on every
/// request with an obscure error otherwise).
pub(crate) fn check_endpoint(conn: &Connection) -> Result<(), ConfigError> {
    if conn.url.starts_with("https://") && !cfg!(feature = "rustls") {
        return Err(ConfigError::TlsUnavailable {
            var: conn.url_var.unwrap_or("url"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    // The only test here needs a build without TLS (the workspace build turns `rustls` on
    // through the CLI), so its imports live inside it: no unused-import warning either way.
    #[cfg(not(feature = "rustls"))]
    #[test]
    fn https_without_tls_is_a_config_error_naming_the_variable() {
        use crate::{Client, ClientOptions, ConfigError, Connection, Error};
        let conn = Connection::new("https://x.test", None).expect("valid");
        let err = Client::new(conn, ClientOptions::default()).expect_err("no TLS");
        assert!(
            matches!(
                err,
                Error::Config(ConfigError::TlsUnavailable { var: "url" })
            ),
            "{err:?}"
        );
        let conn =
            crate::resolve(|k| (k == "KV_REST_API_URL").then(|| "https://kv.test".to_string()))
                .expect("valid");
        let err = Client::new(conn, ClientOptions::default()).expect_err("no TLS");
        assert!(err.to_string().contains("KV_REST_API_URL"), "{err}");
    }
}
