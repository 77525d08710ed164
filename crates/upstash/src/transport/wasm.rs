//! The wasm32 exchange (Cloudflare Workers or any JS host with a global `fetch`): `fetch`
//! through web-sys, `setTimeout` timers (gloo-timers), a `Date.now()` stopwatch. No tokio, no
//! HTTP client library, and futures here are not `Send`.
//!
//! Deadline: send + body read are raced against a `setTimeout` future; the losing fetch is
//! dropped, and dropping it aborts the request through its `AbortController`.

use std::future::Future;
use std::time::Duration;

use futures::future::{select, Either};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestInit, Response};

use super::{one_line, visible_ascii, Answer, AttemptError, Request, SYNC_TOKEN_HEADER};
use crate::config::Connection;
use crate::error::ConfigError;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (no `window` in a Worker).
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_request(input: &web_sys::Request) -> Promise;
}

// The first words of each failure, as reqwest's wasm backend worded them (logs keep reading
// the same); the rest is the JS error's first line.
const BUILD: &str = "builder error";
const SEND: &str = "error sending request";
const READ: &str = "error decoding response body";

/// fetch needs no client object; this keeps the native shape.
pub(crate) struct Http;

impl Http {
    pub(crate) fn new() -> Result<Http, String> {
        Ok(Http)
    }

    /// Sends one request and reads the whole answer within its timeout.
    pub(crate) async fn send(&self, request: Request<'_>) -> Result<Answer, AttemptError> {
        with_deadline(request.timeout, exchange(request))
            .await
            .unwrap_or(Err(AttemptError::Timeout))
    }
}

/// The exchange itself; dropping this future (a lost deadline race) aborts the fetch.
async fn exchange(request: Request<'_>) -> Result<Answer, AttemptError> {
    let Request {
        url, headers, body, ..
    } = request;
    let abort = AbortGuard(AbortController::new().map_err(|e| failure(BUILD, &e))?);
    let js_request = build(url, &headers, &body, &abort).map_err(|e| failure(BUILD, &e))?;
    let resp: Response = JsFuture::from(fetch_with_request(&js_request))
        .await
        .and_then(JsCast::dyn_into)
        .map_err(|e| failure(SEND, &e))?;
    let status = resp.status();
    let sync_token = resp
        .headers()
        .get(SYNC_TOKEN_HEADER)
        .ok()
        .flatten()
        .and_then(|v| visible_ascii(&v));
    let buffer = resp.array_buffer().map_err(|e| failure(READ, &e))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| failure(READ, &e))?;
    Ok(Answer {
        status,
        sync_token,
        body: Uint8Array::new(&buffer).to_vec(),
    })
}

fn build(
    url: &str,
    header_list: &[(&'static str, String)],
    body: &[u8],
    abort: &AbortGuard,
) -> Result<web_sys::Request, JsValue> {
    let headers = Headers::new()?;
    for (name, value) in header_list {
        headers.append(name, value)?;
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    if !body.is_empty() {
        init.set_body(&Uint8Array::from(body));
    }
    init.set_signal(Some(&abort.0.signal()));
    web_sys::Request::new_with_str_and_init(url, &init)
}

/// fetch does not say whether a failed request reached the server, so no failure counts as
/// "never sent": only read-only commands are retried here.
fn failure(what: &str, err: &JsValue) -> AttemptError {
    AttemptError::Transport {
        connect: false,
        message: one_line([what.to_string(), format!("{err:?}")]),
    }
}

/// Aborts its fetch when dropped (a lost deadline race, or the caller went away); aborting a
/// finished fetch does nothing.
struct AbortGuard(AbortController);

impl Drop for AbortGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Waits `d` (a `setTimeout`).
pub(crate) async fn sleep(d: Duration) {
    gloo_timers::future::TimeoutFuture::new(millis(d)).await;
}

/// Runs `fut` until it completes or `d` passes (`None`).
async fn with_deadline<F: Future>(d: Duration, fut: F) -> Option<F::Output> {
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

/// fetch handles both http and https.
pub(crate) fn check_endpoint(_conn: &Connection) -> Result<(), ConfigError> {
    Ok(())
}
