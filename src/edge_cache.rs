//! The Workers Cache API (`caches.default`) in front of Redis: the stored document of
//! each market is kept at the edge for `EDGE_CACHE_TTL_SECONDS`, so most hits cost no
//! Redis round trip at all.

use symbols_core::symbols::StoredList;
use symbols_core::Market;
use worker::{Cache, Headers, Response};

fn key(market: Market) -> String {
    // A private, stable URL: the cache is keyed by URL, and this one is never served.
    format!("https://symbols-edge.internal/v1/{}", market.as_str())
}

/// The edge copy of `market`'s list, if fresh.
pub async fn get(market: Market) -> Option<StoredList> {
    let mut resp = Cache::default().get(key(market), true).await.ok()??;
    let bytes = resp.bytes().await.ok()?;
    StoredList::from_bytes(market, bytes)
}

/// Stores `list` at the edge for `ttl_secs`.
pub async fn put(market: Market, list: &StoredList, ttl_secs: u64) {
    if ttl_secs == 0 {
        return;
    }
    let headers = Headers::new();
    let _ = headers.set("Cache-Control", &format!("public, max-age={ttl_secs}"));
    let _ = headers.set("Content-Type", "application/json");
    if let Ok(resp) = Response::from_bytes(list.as_bytes().to_vec()) {
        let _ = Cache::default().put(key(market), resp.with_headers(headers)).await;
    }
}
