//! wasm32 (Cloudflare Workers, fetch) runtime pieces: timers, the deadline race, a stopwatch,
//! the default log sink (`console.log`) and the reqwest (fetch) client. No tokio, and futures
//! here are not `Send`.
//!
//! Deadlines: reqwest's wasm `RequestBuilder::timeout` aborts the fetch through an
//! `AbortController` after the per-attempt timeout; on top of that, send + body read are raced
//! against a `setTimeout` future (gloo-timers) with `futures::future::select`. Dropping the
//! losing fetch future aborts the underlying fetch as well.

use std::future::Future;
use std::time::Duration;

use futures::future::{select, Either};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::config::Connection;
use crate::error::ConfigError;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(s: &str);
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Waits `d` (a `setTimeout`).
pub(crate) async fn sleep(d: Duration) {
    gloo_timers::future::TimeoutFuture::new(millis(d)).await;
}

/// Runs `fut` until it completes or `d` passes (`None`).
pub(crate) async fn with_deadline<F: Future>(d: Duration, fut: F) -> Option<F::Output> {
    let timer = gloo_timers::future::TimeoutFuture::new(millis(d));
    let fut = Box::pin(fut);
    match select(fut, timer).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

/// Elapsed wall-clock time since a start point (`Date.now()`; `Instant` panics on
/// wasm32-unknown-unknown). In Workers the clock only advances across I/O, which is exactly
/// where the retry budget is spent.
pub(crate) struct Stopwatch(f64);

impl Stopwatch {
    pub(crate) fn start() -> Stopwatch {
        Stopwatch(js_sys::Date::now())
    }

    pub(crate) fn elapsed(&self) -> Duration {
        let ms = (js_sys::Date::now() - self.0).max(0.0);
        Duration::from_micros((ms * 1000.0) as u64)
    }
}

/// fetch does not say whether a failed request reached the server (reqwest has no
/// `is_connect` on wasm), so no failure counts as "never sent": only read-only commands are
/// retried here.
pub(crate) fn is_connect_error(_err: &reqwest::Error) -> bool {
    false
}

/// Default log sink: `console.log` (shows in `wrangler tail` / Workers logs).
pub(crate) fn default_log(line: &str) {
    console_log(line);
}

/// The HTTP client (fetch).
pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .build()
        .map_err(crate::error::describe_reqwest)
}

/// fetch handles both http and https.
pub(crate) fn check_endpoint(_conn: &Connection) -> Result<(), ConfigError> {
    Ok(())
}
