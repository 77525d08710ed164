//! This isolate's copies of `?fields=` bodies, for `ISOLATE_CACHE_TTL_SECONDS` as for our
//! list: each is built from megabytes of full records, so a bot asking the same fields
//! again gets the copy. Keyed by the list version and tier served plus the whole
//! selection; at most [`MAX_COPIES`] are kept (the oldest goes first).

use std::cell::RefCell;
use std::rc::Rc;

use symbols_core::rules_flow::Selection;

/// Copies kept at most (bodies of megabytes: a bound on the isolate's memory).
const MAX_COPIES: usize = 8;

thread_local! {
    // wasm isolates are single-threaded: this is the isolate's memory.
    static COPIES: RefCell<Vec<(String, Rc<Selection>, f64)>> = const { RefCell::new(Vec::new()) };
}

/// The copy under `key`, while fresh.
pub fn get(key: &str) -> Option<Rc<Selection>> {
    let now = js_sys::Date::now();
    COPIES.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(_, _, expires)| *expires > now);
        c.iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, s, _)| s.clone())
    })
}

/// Keeps `selection` under `key` for `ttl_secs` (0: keeps nothing).
pub fn put(key: String, selection: Rc<Selection>, ttl_secs: u64) {
    if ttl_secs == 0 {
        return;
    }
    let expires = js_sys::Date::now() + ttl_secs as f64 * 1000.0;
    COPIES.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(k, _, _)| *k != key);
        if c.len() >= MAX_COPIES {
            c.remove(0);
        }
        c.push((key, selection, expires));
    });
}
