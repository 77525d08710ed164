//! The service's [`Http`] port over workerd's `fetch` (the Binance calls, and the changes
//! webhook's POST), so the bundle links
//! no HTTP client library. Failures read as they did through reqwest's wasm backend.
//!
//! Deadline: the whole exchange (headers and body) is raced against a timer; the losing fetch
//! is aborted through its `AbortController`.

use std::time::Duration;

use futures::future::{select, Either};
use js_sys::{Promise, Uint8Array};
use symbols_core::ports::{Http, HttpError, HttpRequest, HttpResponse};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestInit, Response};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (a Worker has no `window`).
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_request(input: &web_sys::Request) -> Promise;
}

const BUILD: &str = "builder error";
const SEND: &str = "error sending request";
const READ: &str = "error decoding response body";
/// Longest network error detail kept (characters).
const MAX_DETAIL_CHARS: usize = 200;

/// `GET`s (and the webhook's `POST`s) through the global `fetch`.
#[derive(Clone, Copy, Default)]
pub struct FetchHttp;

impl Http for FetchHttp {
    async fn get(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let exchange = Box::pin(exchange(&req));
        let timer = Box::pin(worker::Delay::from(Duration::from_millis(req.timeout_ms)));
        match select(exchange, timer).await {
            Either::Left((out, _)) => out,
            Either::Right(_) => Err(HttpError::Timeout),
        }
    }

    async fn post_json(&self, req: HttpRequest, body: Vec<u8>) -> Result<u16, HttpError> {
        let exchange = Box::pin(post(&req, body));
        let timer = Box::pin(worker::Delay::from(Duration::from_millis(req.timeout_ms)));
        match select(exchange, timer).await {
            Either::Left((out, _)) => out,
            Either::Right(_) => Err(HttpError::Timeout),
        }
    }
}

/// One POST of a JSON body; the answer's status (its body is read and dropped, within the
/// same deadline, so the connection is released).
async fn post(req: &HttpRequest, body: Vec<u8>) -> Result<u16, HttpError> {
    let abort = AbortGuard(AbortController::new().map_err(|e| failure(BUILD, &e))?);
    let js_request = build(req, &abort, Some(&body)).map_err(|e| failure(BUILD, &e))?;
    let resp: Response = JsFuture::from(fetch_with_request(&js_request))
        .await
        .and_then(JsCast::dyn_into)
        .map_err(|e| failure(SEND, &e))?;
    if let Ok(rest) = resp.array_buffer() {
        let _ = JsFuture::from(rest).await;
    }
    Ok(resp.status())
}

/// The exchange itself; dropping this future (a lost deadline race) aborts the fetch.
async fn exchange(req: &HttpRequest) -> Result<HttpResponse, HttpError> {
    let abort = AbortGuard(AbortController::new().map_err(|e| failure(BUILD, &e))?);
    let js_request = build(req, &abort, None).map_err(|e| failure(BUILD, &e))?;
    let resp: Response = JsFuture::from(fetch_with_request(&js_request))
        .await
        .and_then(JsCast::dyn_into)
        .map_err(|e| failure(SEND, &e))?;
    let header = |name: &str| resp.headers().get(name).ok().flatten();
    let status = resp.status();
    let retry_after = header("retry-after");
    let used_weight = header("x-mbx-used-weight-1m");
    let buffer = resp.array_buffer().map_err(|e| failure(READ, &e))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| failure(READ, &e))?;
    Ok(HttpResponse {
        status,
        retry_after,
        used_weight,
        body: Uint8Array::new(&buffer).to_vec(),
    })
}

/// A `GET`, or with `json` a `POST` of that JSON body.
fn build(
    req: &HttpRequest,
    abort: &AbortGuard,
    json: Option<&[u8]>,
) -> Result<web_sys::Request, JsValue> {
    let headers = Headers::new()?;
    for (name, value) in &req.headers {
        headers.append(name, value)?;
    }
    let init = RequestInit::new();
    match json {
        None => init.set_method("GET"),
        Some(body) => {
            init.set_method("POST");
            headers.set("content-type", "application/json")?;
            init.set_body(&Uint8Array::from(body).into());
        }
    }
    init.set_headers(&headers);
    init.set_signal(Some(&abort.0.signal()));
    web_sys::Request::new_with_str_and_init(&req.url, &init)
}

/// A failed exchange. Only our own deadline aborts a fetch, so an abort is a timeout.
fn failure(what: &str, err: &JsValue) -> HttpError {
    let msg = format!("{what}: {err:?}");
    if msg.to_ascii_lowercase().contains("abort") {
        HttpError::Timeout
    } else {
        HttpError::Network(msg.chars().take(MAX_DETAIL_CHARS).collect())
    }
}

/// Aborts its fetch when dropped (the deadline won, or the request went away); aborting a
/// finished fetch does nothing.
struct AbortGuard(AbortController);

impl Drop for AbortGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}
