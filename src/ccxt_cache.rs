//! This isolate's copy of each market's ccxt markets, for `ISOLATE_CACHE_TTL_SECONDS` as
//! for our list: a hit costs no I/O (the value is megabytes; Redis is asked at most once
//! per isolate and TTL). Filled only from Redis hits and misses, never from a STALE value.

use std::cell::RefCell;
use std::rc::Rc;

use symbols_core::ccxt::CcxtList;
use symbols_core::Market;

/// A copy and when it stops being fresh (unix ms).
type Copy = Option<(Rc<CcxtList>, f64)>;

thread_local! {
    // wasm isolates are single-threaded: this is the isolate's memory. Index: market.
    static COPY: RefCell<[Copy; 2]> = const { RefCell::new([None, None]) };
}

/// The isolate's copy, while fresh.
pub fn get(market: Market) -> Option<Rc<CcxtList>> {
    let now = js_sys::Date::now();
    COPY.with(|c| {
        c.borrow()[market.index()]
            .as_ref()
            .filter(|(_, expires)| *expires > now)
            .map(|(l, _)| l.clone())
    })
}

/// Keeps `list` for `ttl_secs` (0: keeps nothing).
pub fn put(market: Market, list: Rc<CcxtList>, ttl_secs: u64) {
    let expires = js_sys::Date::now() + ttl_secs as f64 * 1000.0;
    COPY.with(|c| {
        c.borrow_mut()[market.index()] = (ttl_secs > 0).then_some((list, expires));
    });
}
