//! The Workers Cache API (`caches.default`) in front of Redis: each market's finished
//! response body is kept at the edge for `EDGE_CACHE_TTL_SECONDS`, so most hits cost no
//! Redis round trip, and plain list hits stream the cached body without it ever entering
//! wasm (the copy in and out was most of an edge hit's cost).

use symbols_core::symbols::{Source, StoredList};
use symbols_core::Market;
use worker::{Cache, Headers, Response, ResponseBody};

/// The header carrying the list's ETag on the cached copy.
const ETAG: &str = "X-Symbols-Etag";

fn key(market: Market) -> String {
    // A private, stable URL: the cache is keyed by URL, and this one is never served.
    format!("https://symbols-edge.internal/v2/{}", market.as_str())
}

/// A fresh edge copy: its ETag and its body, still a JS stream.
pub struct Hit {
    /// `"<market>-<version>"`.
    pub etag: String,
    /// The response body (`source: "cache"`), unread.
    pub body: ResponseBody,
}

async fn lookup(market: Market) -> Option<Response> {
    Cache::default().get(key(market), true).await.ok()?
}

/// The edge copy as a stream, for serving the whole list as it is.
pub async fn get_stream(market: Market) -> Option<Hit> {
    let resp = lookup(market).await?;
    let etag = resp.headers().get(ETAG).ok()??;
    Some(Hit { etag, body: resp.body().clone() })
}

/// The edge copy parsed back into a list (filters and single symbols need the data).
pub async fn get(market: Market) -> Option<StoredList> {
    let mut resp = lookup(market).await?;
    let bytes = resp.bytes().await.ok()?;
    StoredList::from_response_body(market, &bytes)
}

/// Stores `list`'s response body at the edge for `ttl_secs`.
pub async fn put(market: Market, list: &StoredList, ttl_secs: u64) {
    if ttl_secs == 0 {
        return;
    }
    let headers = Headers::new();
    let _ = headers.set("Cache-Control", &format!("public, max-age={ttl_secs}"));
    let _ = headers.set("Content-Type", "application/json; charset=utf-8");
    let _ = headers.set(ETAG, &list.etag());
    if let Ok(resp) = Response::from_bytes(list.response_body(Source::Cache)) {
        let _ = Cache::default().put(key(market), resp.with_headers(headers)).await;
    }
}
