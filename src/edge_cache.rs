//! The two caches in front of Redis, nearest first:
//! - the isolate's own copy of each market's finished response body (a JS byte array,
//!   `ISOLATE_CACHE_TTL_SECONDS`, default 5 s): a hit costs no I/O at all;
//! - the Workers Cache API (`caches.default`, `EDGE_CACHE_TTL_SECONDS`, default 30 s),
//!   shared by the isolates of a location; the cron and every Redis hit refill it.
//!
//! Plain list hits hand the body to the response as JS bytes or a JS stream: it never
//! enters wasm (the copy in and out was most of an edge hit's cost). A copy never
//! outlives the edge copy it came from, so a new list reaches every isolate within
//! `EDGE_CACHE_TTL_SECONDS`, as with the Cache API alone.

use std::cell::RefCell;

use js_sys::Uint8Array;
use symbols_core::symbols::{Source, StoredList};
use symbols_core::Market;
use worker::{Cache, Headers, Response, ResponseBody};

/// The header carrying the list's ETag on the cached copy.
const ETAG: &str = "X-Symbols-Etag";
/// The header carrying when the cached copy stops being fresh (unix ms), so the isolate
/// copy taken from it can expire with it.
const EXPIRES: &str = "X-Symbols-Expires-Ms";

fn key(market: Market) -> String {
    // A private, stable URL: the cache is keyed by URL, and this one is never served.
    format!("https://symbols-edge.internal/v2/{}", market.as_str())
}

/// A fresh edge copy: its ETag and its body, still on the JS side.
pub struct Hit {
    /// `"<market>-<version>"`.
    pub etag: String,
    /// The response body (`source: "cache"`), unread.
    pub body: ResponseBody,
    /// Which tier answered: `"isolate"` or `"edge"` (for the request's log line).
    pub tier: &'static str,
}

/// One market's copy in this isolate.
struct Local {
    etag: String,
    body: Uint8Array,
    expires_ms: f64,
}

thread_local! {
    // wasm isolates are single-threaded: this is the isolate's memory. Index: market.
    static LOCAL: RefCell<[Option<Local>; 2]> = const { RefCell::new([None, None]) };
}

/// The isolate's copy, if fresh, as a new stream over the same bytes.
fn local_get(market: Market, now_ms: f64) -> Option<Hit> {
    LOCAL.with(|l| {
        let l = l.borrow();
        let local = l[market.index()]
            .as_ref()
            .filter(|c| c.expires_ms > now_ms)?;
        // `new Response(bytes).body`: a stream over the JS bytes without copying them into wasm.
        let resp = web_sys::Response::new_with_opt_buffer_source(Some(&local.body)).ok()?;
        let stream = resp.body()?;
        Some(Hit {
            etag: local.etag.clone(),
            body: ResponseBody::Stream(stream),
            tier: "isolate",
        })
    })
}

fn local_put(market: Market, etag: String, body: Uint8Array, expires_ms: f64) {
    LOCAL.with(|l| {
        l.borrow_mut()[market.index()] = Some(Local {
            etag,
            body,
            expires_ms,
        })
    });
}

/// Forgets this isolate's copies (a refresh in this isolate replaces them right after).
fn local_clear(market: Market) {
    LOCAL.with(|l| l.borrow_mut()[market.index()] = None);
}

async fn lookup(market: Market) -> Option<Response> {
    Cache::default().get(key(market), true).await.ok()?
}

/// The freshest copy as a stream, for serving the whole list as it is: the isolate's,
/// else the edge's (which then becomes the isolate's for up to `isolate_ttl_secs`).
pub async fn get_stream(market: Market, isolate_ttl_secs: u64) -> Option<Hit> {
    let now = js_sys::Date::now();
    if isolate_ttl_secs > 0 {
        if let Some(hit) = local_get(market, now) {
            return Some(hit);
        }
    }
    let resp = lookup(market).await?;
    let etag = resp.headers().get(ETAG).ok()??;
    if isolate_ttl_secs == 0 {
        return Some(Hit {
            etag,
            body: resp.body().clone(),
            tier: "edge",
        });
    }
    let edge_expires = resp
        .headers()
        .get(EXPIRES)
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok())
        .map(|ms| ms as f64);
    // Read the body as JS bytes (not into wasm) so the isolate can keep them.
    let web = web_sys::Response::from(resp);
    let buffer = wasm_bindgen_futures::JsFuture::from(web.array_buffer().ok()?)
        .await
        .ok()?;
    let bytes = Uint8Array::new(&buffer);
    let expires =
        (now + isolate_ttl_secs as f64 * 1000.0).min(edge_expires.unwrap_or(f64::INFINITY));
    local_put(market, etag, bytes, expires);
    local_get(market, now).map(|h| Hit { tier: "edge", ..h })
}

/// The edge copy parsed back into a list (filters and single symbols need the data).
pub async fn get(market: Market) -> Option<StoredList> {
    let mut resp = lookup(market).await?;
    let bytes = resp.bytes().await.ok()?;
    StoredList::from_response_body(market, &bytes)
}

/// Stores `list`'s response body at the edge for `ttl_secs`, and in this isolate for
/// `isolate_ttl_secs` (at most `ttl_secs`).
pub async fn put(market: Market, list: &StoredList, ttl_secs: u64, isolate_ttl_secs: u64) {
    local_clear(market);
    if ttl_secs == 0 {
        return;
    }
    let now = js_sys::Date::now();
    let body = list.response_body(Source::Cache);
    let bytes = Uint8Array::from(body.as_slice());
    drop(body);
    let expires = now + ttl_secs as f64 * 1000.0;
    let headers = Headers::new();
    let _ = headers.set("Cache-Control", &format!("public, max-age={ttl_secs}"));
    let _ = headers.set("Content-Type", "application/json; charset=utf-8");
    let etag = list.etag();
    let _ = headers.set(ETAG, &etag);
    let _ = headers.set(EXPIRES, &(expires as u64).to_string());
    if isolate_ttl_secs > 0 {
        local_put(
            market,
            etag,
            bytes.clone(),
            now + isolate_ttl_secs.min(ttl_secs) as f64 * 1000.0,
        );
    }
    if let Ok(resp) = web_sys::Response::new_with_opt_buffer_source(Some(&bytes)) {
        let resp = Response::from(resp).with_headers(headers);
        let _ = Cache::default().put(key(market), resp).await;
    }
}
