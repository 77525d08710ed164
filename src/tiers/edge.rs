//! The list's two copies in front of Redis, nearest first:
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

use crate::trace::Tier;

/// The header carrying the list's ETag on the cached copy.
const ETAG: &str = "X-Symbols-Etag";
/// The header carrying when the cached copy stops being fresh (unix ms), so the isolate
/// copy taken from it can expire with it.
const EXPIRES: &str = "X-Symbols-Expires-Ms";

fn key(market: Market) -> String {
    // A private, stable URL: the cache is keyed by URL, and this one is never served.
    format!("https://symbols-edge.internal/v2/{}", market.as_str())
}

/// A fresh copy of a market's finished response body (`source: "cache"`): its ETag, the
/// body still on the JS side, and which tier held it.
pub struct Copy {
    /// `"<market>-<version>"`.
    pub etag: String,
    body: Body,
    /// [`Tier::Isolate`] or [`Tier::Edge`].
    pub tier: Tier,
}

/// A body that goes out without entering wasm.
pub enum JsBody {
    /// JS bytes: the response's body as they are.
    Bytes(Uint8Array),
    /// A stream (the Cache API's response, passed through).
    Stream(web_sys::ReadableStream),
}

/// A copy's body: it enters wasm only when the list must be read.
enum Body {
    /// JS bytes (the isolate's copy, or an edge copy the isolate keeps).
    Bytes(Uint8Array),
    /// The Cache API's response, unread (the isolate copy is off): a whole-list hit passes
    /// its stream straight through.
    Unread(Response),
}

impl Copy {
    /// The body for serving the whole list as it is: the same JS bytes, or the cached
    /// response's own stream.
    pub fn into_body(self) -> JsBody {
        match self.body {
            Body::Bytes(bytes) => JsBody::Bytes(bytes),
            Body::Unread(resp) => match resp.body() {
                ResponseBody::Stream(stream) => JsBody::Stream(stream.clone()),
                ResponseBody::Body(bytes) => JsBody::Bytes(Uint8Array::from(&bytes[..])),
                ResponseBody::Empty => JsBody::Bytes(Uint8Array::new_with_length(0)),
            },
        }
    }

    /// The list read back from the body (filters and single symbols need the data);
    /// `None` if the copy does not read as one.
    pub async fn list(self, market: Market) -> Option<StoredList> {
        let bytes = match self.body {
            Body::Bytes(bytes) => bytes,
            Body::Unread(resp) => js_bytes(resp).await?,
        };
        StoredList::from_response_body(market, &bytes.to_vec())
    }
}

/// A response's body as JS bytes (read on the JS side, not into wasm).
async fn js_bytes(resp: Response) -> Option<Uint8Array> {
    let web = web_sys::Response::from(resp);
    let buffer = wasm_bindgen_futures::JsFuture::from(web.array_buffer().ok()?)
        .await
        .ok()?;
    Some(Uint8Array::new(&buffer))
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

/// The isolate's copy, if fresh.
fn local_get(market: Market, now_ms: f64) -> Option<Copy> {
    LOCAL.with(|l| {
        let l = l.borrow();
        let local = l[market.index()]
            .as_ref()
            .filter(|c| c.expires_ms > now_ms)?;
        Some(Copy {
            etag: local.etag.clone(),
            body: Body::Bytes(local.body.clone()),
            tier: Tier::Isolate,
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

/// The freshest copy: the isolate's, else the edge's (one Cache API read), which then
/// becomes the isolate's for up to `isolate_ttl_secs` (never past the edge copy's expiry).
pub async fn get(market: Market, isolate_ttl_secs: u64) -> Option<Copy> {
    let now = js_sys::Date::now();
    if isolate_ttl_secs > 0 {
        if let Some(copy) = local_get(market, now) {
            return Some(copy);
        }
    }
    let resp = Cache::default().get(key(market), true).await.ok()??;
    let etag = resp.headers().get(ETAG).ok()??;
    if isolate_ttl_secs == 0 {
        return Some(Copy {
            etag,
            body: Body::Unread(resp),
            tier: Tier::Edge,
        });
    }
    let edge_expires = resp
        .headers()
        .get(EXPIRES)
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok())
        .map(|ms| ms as f64);
    // Read the body as JS bytes (not into wasm): the isolate keeps them, and a plain list
    // hit streams them out without a copy through wasm memory.
    let bytes = js_bytes(resp).await?;
    let expires =
        (now + isolate_ttl_secs as f64 * 1000.0).min(edge_expires.unwrap_or(f64::INFINITY));
    local_put(market, etag.clone(), bytes.clone(), expires);
    Some(Copy {
        etag,
        body: Body::Bytes(bytes),
        tier: Tier::Edge,
    })
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
