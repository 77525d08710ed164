//! The native exchange: reqwest on tokio, tokio timers, a monotonic stopwatch.
//!
//! Each attempt is bounded twice with the same duration, by reqwest's own request timeout and
//! by `tokio::time::timeout` around send + body read; whichever fires first wins. Everything
//! here needs a tokio runtime with the time driver (any `#[tokio::main]`/`#[tokio::test]`).

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};

use super::{one_line, visible_ascii, Answer, AttemptError, Request, SYNC_TOKEN_HEADER};
use crate::config::Connection;
use crate::error::ConfigError;

/// The HTTP client (its connection pool). No client-wide timeout: every request carries its own.
pub(crate) struct Http(reqwest::Client);

impl Http {
    pub(crate) fn new() -> Result<Http, String> {
        reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .map(Http)
            .map_err(describe)
    }

    /// Sends one request and reads the whole answer within its timeout.
    pub(crate) async fn send(&self, request: Request<'_>) -> Result<Answer, AttemptError> {
        let timeout = request.timeout;
        with_deadline(timeout, self.exchange(request))
            .await
            .unwrap_or(Err(AttemptError::Timeout))
    }

    async fn exchange(&self, request: Request<'_>) -> Result<Answer, AttemptError> {
        let mut req = self
            .0
            .post(request.url)
            .timeout(request.timeout)
            .body(request.body);
        for (name, value) in request.headers {
            // Values were checked when they were stored (`header_value_ok`).
            let mut value = HeaderValue::from_str(&value).map_err(|_| AttemptError::Transport {
                connect: false,
                message: format!("the {name} header cannot be sent"),
            })?;
            value.set_sensitive(name == "authorization");
            req = req.header(HeaderName::from_static(name), value);
        }
        let resp = req.send().await.map_err(failure)?;
        let status = resp.status().as_u16();
        let sync_token = resp
            .headers()
            .get(SYNC_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(visible_ascii);
        let body = resp.bytes().await.map_err(failure)?;
        Ok(Answer {
            status,
            sync_token,
            body: Vec::from(body),
        })
    }
}

fn failure(e: reqwest::Error) -> AttemptError {
    if e.is_timeout() {
        return AttemptError::Timeout;
    }
    AttemptError::Transport {
        // Failed while connecting: nothing reached the server, safe to resend.
        connect: e.is_connect(),
        message: describe(e),
    }
}

/// A reqwest error without its URL, with its source chain (`a: b: c`), so a transport message
/// says *why* (e.g. "Connection refused") without repeating any URL.
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut parts = vec![err.to_string()];
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    one_line(parts)
}

/// Waits `d`.
pub(crate) async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

/// Runs `fut` until it completes or `d` passes (`None`). The future is dropped on timeout,
/// which closes its connection.
async fn with_deadline<F: Future>(d: Duration, fut: F) -> Option<F::Output> {
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
