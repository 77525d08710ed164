//! This isolate's copies of full-record bodies, for `ISOLATE_CACHE_TTL_SECONDS` as for our
//! list: `?fields=` bodies (each built from megabytes of full records, so a bot asking the
//! same fields again gets the copy) and single-symbol records (an order check asks for the
//! same symbol again and again: no Redis read while the copy is fresh). Keyed by the list
//! version and tier served plus the selection or symbol; each kind has its own bound, the
//! oldest copy goes first.

use std::cell::RefCell;
use std::rc::Rc;

use symbols_core::rules_flow::Selection;

/// `?fields=` bodies kept at most (megabytes each: a bound on the isolate's memory).
const MAX_SELECTIONS: usize = 8;
/// Single-symbol records kept at most (about 1.5 KB each).
const MAX_RECORDS: usize = 512;

/// One kind of copy: `(key, body, expires at unix ms)`, oldest first.
type Copies = RefCell<Vec<(String, Rc<Selection>, f64)>>;

thread_local! {
    // wasm isolates are single-threaded: this is the isolate's memory.
    static SELECTIONS: Copies = const { RefCell::new(Vec::new()) };
    static RECORDS: Copies = const { RefCell::new(Vec::new()) };
}

/// Which copies.
#[derive(Clone, Copy)]
pub enum Kind {
    /// `?fields=` bodies.
    Selection,
    /// Single-symbol records.
    Record,
}

fn with<R>(kind: Kind, f: impl FnOnce(&Copies, usize) -> R) -> R {
    match kind {
        Kind::Selection => SELECTIONS.with(|c| f(c, MAX_SELECTIONS)),
        Kind::Record => RECORDS.with(|c| f(c, MAX_RECORDS)),
    }
}

/// The copy under `key`, while fresh.
pub fn get(kind: Kind, key: &str) -> Option<Rc<Selection>> {
    let now = js_sys::Date::now();
    with(kind, |c, _| {
        let mut c = c.borrow_mut();
        c.retain(|(_, _, expires)| *expires > now);
        c.iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, s, _)| s.clone())
    })
}

/// Keeps `body` under `key` for `ttl_secs` (0: keeps nothing).
pub fn put(kind: Kind, key: String, body: Rc<Selection>, ttl_secs: u64) {
    if ttl_secs == 0 {
        return;
    }
    let expires = js_sys::Date::now() + ttl_secs as f64 * 1000.0;
    with(kind, |c, max| {
        let mut c = c.borrow_mut();
        c.retain(|(k, _, _)| *k != key);
        if c.len() >= max {
            c.remove(0);
        }
        c.push((key, body, expires));
    });
}
