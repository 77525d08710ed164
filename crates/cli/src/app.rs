//! Builds the service exactly as the Worker does, from the process environment: the same
//! variables ([`Settings::resolve`]), the same store and upstream code, with the native
//! clock and a progress-reporting wrapper around the HTTP port.

use std::rc::Rc;
use std::time::Duration;

use symbols_core::config::Settings;
use symbols_core::log::Logger;
use symbols_core::service::Service;
use symbols_core::store::UpstashStore;
use symbols_core::upstream::ReqwestHttp;
use upstash_rest::{Client, ClientOptions, Connection};

use crate::clock::SystemClock;
use crate::error::CliError;
use crate::progress::{Board, Observed};

/// The service as the CLI runs it.
pub type CliService = Service<UpstashStore, Observed<ReqwestHttp>, SystemClock>;

/// Everything a command needs.
pub struct App {
    /// The service (shared: a list request may hand work to itself).
    pub service: Rc<CliService>,
    /// Which variables the connection came from (the token only as "set").
    pub conn: Connection,
    /// The progress line shared with the HTTP port.
    pub board: Rc<Board>,
    /// `--json`.
    pub json: bool,
}

impl App {
    /// The Upstash client behind the store (for raw commands such as `keys`).
    pub fn client(&self) -> &Client {
        self.service.store.client()
    }
}

fn client_log(line: &str) {
    eprintln!("{line}");
}

/// Resolves the settings from `source` and builds the service.
///
/// # Errors
/// [`CliError::config`] naming every unusable variable (never a value).
pub fn build(
    source: impl Fn(&str) -> Option<String> + Copy,
    verbose: bool,
    json: bool,
) -> Result<App, CliError> {
    let Settings { config, conn } =
        Settings::resolve(source).map_err(|e| CliError::config(e.to_string()))?;
    let log = if verbose {
        Logger::stderr()
    } else {
        Logger::null()
    };
    let opts = ClientOptions {
        timeout: Duration::from_millis(config.redis_timeout_ms.max(1)),
        log: verbose.then_some(client_log as fn(&str)),
        ..ClientOptions::default()
    };
    let client = Client::new(conn.clone(), opts).map_err(|e| CliError::config(e.to_string()))?;
    if verbose {
        log.emit(
            symbols_core::log::Level::Info,
            "startup",
            serde_json::json!({"redis": conn.describe(), "config": format!("{config:?}")}),
        );
    }
    let board = Board::for_stderr();
    let http = Observed::new(ReqwestHttp::new(), board.clone());
    let service = Service::new(
        UpstashStore::new(client),
        http,
        SystemClock::new(),
        config,
        log,
    );
    Ok(App {
        service: Rc::new(service),
        conn,
        board,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> + Copy {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn every_bad_variable_is_named_and_no_value_echoed() {
        let err = build(
            env(&[
                ("SYMBOLS_CACHE_TTL_SECONDS", "ten"),
                ("UPSTREAM_TIMEOUT_MS", "-1"),
            ]),
            false,
            false,
        )
        .err()
        .expect("invalid");
        assert_eq!(err.code, crate::error::EXIT_CONFIG);
        assert!(
            err.message.contains("SYMBOLS_CACHE_TTL_SECONDS")
                && err.message.contains("UPSTREAM_TIMEOUT_MS"),
            "{err}"
        );
        let err = build(env(&[("KV_REST_API_URL", "AXsecretTOKEN")]), false, false)
            .err()
            .expect("invalid");
        assert!(
            err.message.contains("KV_REST_API_URL") && !err.message.contains("AXsecret"),
            "{err}"
        );
    }

    /// The error of an `https://` GET through `reqwest::Client::default()` (what core's
    /// `ReqwestHttp` uses) to a local server that answers in plain HTTP, source chain included.
    async fn https_error_text() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let err = reqwest::Client::default()
            .get(format!("https://127.0.0.1:{port}/api/v3/exchangeInfo"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect_err("a plain-HTTP server cannot complete a TLS handshake");
        let _ = server.join();
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_upstream_client_speaks_tls() {
        // Without a TLS backend reqwest refuses https:// outright ("scheme is not http");
        // with rustls it sends a ClientHello and fails on the plain-text answer.
        let text = https_error_text().await.to_ascii_lowercase();
        assert!(!text.contains("scheme is not http"), "{text}");
        assert!(
            text.contains("corrupt") || text.contains("tls") || text.contains("handshake"),
            "{text}"
        );
    }

    #[test]
    fn https_endpoints_are_accepted_natively() {
        // Without TLS in this build, Client::new would refuse an https:// URL.
        let app = build(
            env(&[
                ("UPSTASH_REDIS_REST_URL", "https://eu1-x.upstash.io"),
                ("UPSTASH_REDIS_REST_TOKEN", "t0k"),
            ]),
            false,
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(app.conn.url_var, Some("UPSTASH_REDIS_REST_URL"));
        assert_eq!(app.client().url(), "https://eu1-x.upstash.io");
    }
}
