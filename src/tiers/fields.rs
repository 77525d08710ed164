//! The full records' tiers: this isolate's copies of full-record bodies, then the service.
//! The copies live for `ISOLATE_CACHE_TTL_SECONDS` as our list's do: `?fields=` bodies (each built from megabytes of full records, so a bot asking the
//! same fields again gets the copy) and single-symbol records (an order check asks for the
//! same symbol again and again: no Redis read while the copy is fresh). Keyed by the list
//! version and tier served plus the selection or symbol; each kind has its own bound, the
//! oldest copy goes first.

use std::cell::RefCell;
use std::rc::Rc;

use symbols_core::filter::Filter;
use symbols_core::ports::Counted;
use symbols_core::rules_flow::{records_tier, selection_key, Selection};
use symbols_core::service::Served;
use symbols_core::Market;

use crate::app::App;
use crate::error::AppError;
use crate::trace::Trace;

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
enum Kind {
    /// `?fields=` bodies.
    Selection,
    /// Single-symbol records.
    Record,
}

/// A copy's key: the market, the records' tier and the list version served, then `what`
/// (the selection or the symbol), so a fresh list's copy serves the requests after it.
fn key(served: &Served, market: Market, what: &str) -> String {
    format!(
        "{}|{}|{}|{what}",
        market.as_str(),
        records_tier(served.source),
        served.list.header().version
    )
}

/// Every rule of `symbol`: our full record of the tier the list came from (this isolate's
/// copy, else one small read), or `None` (a version before them, Redis unreachable, or a
/// BYPASS list, which has no records beside it).
pub async fn record(
    app: &App,
    market: Market,
    served: &Served,
    symbol: &str,
    trace: &mut Trace,
) -> Option<Vec<u8>> {
    let key = key(served, market, symbol);
    if let Some(copy) = get(Kind::Record, &key) {
        return Some(copy.body.clone());
    }
    if served.status == symbols_core::service::CacheStatus::Bypass {
        return None;
    }
    let store = Counted::new(&app.store);
    let full = app.full_record(&store, market, symbol, served.source).await;
    trace.redis_round_trips += store.batches();
    if let Some(body) = full.as_ref().filter(|_| served.status.is_current()) {
        let copy = Selection {
            body: body.clone(),
            etag: String::new(),
        };
        put(
            Kind::Record,
            key,
            Rc::new(copy),
            app.config.isolate_ttl_secs,
        );
    }
    full
}

/// The `?fields=` body of `served`'s list: this isolate's copy, else made from the full
/// records (kept when the list is current).
///
/// # Errors
/// [`AppError::Select`]: an unknown field, or no records to make it from.
pub async fn selection(
    app: &App,
    market: Market,
    served: &Served,
    fields: Option<&[String]>,
    filter: &Filter,
    trace: &mut Trace,
) -> Result<Rc<Selection>, AppError> {
    let key = key(served, market, &selection_key(fields, filter));
    if let Some(copy) = get(Kind::Selection, &key) {
        return Ok(copy);
    }
    let store = Counted::new(&app.store);
    let made = app.selected(&store, market, served, fields, filter).await;
    trace.redis_round_trips += store.batches();
    let made = Rc::new(made.map_err(AppError::Select)?);
    if served.status.is_current() {
        put(
            Kind::Selection,
            key,
            made.clone(),
            app.config.isolate_ttl_secs,
        );
    }
    Ok(made)
}

fn with<R>(kind: Kind, f: impl FnOnce(&Copies, usize) -> R) -> R {
    match kind {
        Kind::Selection => SELECTIONS.with(|c| f(c, MAX_SELECTIONS)),
        Kind::Record => RECORDS.with(|c| f(c, MAX_RECORDS)),
    }
}

/// The copy under `key`, while fresh.
fn get(kind: Kind, key: &str) -> Option<Rc<Selection>> {
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
fn put(kind: Kind, key: String, body: Rc<Selection>, ttl_secs: u64) {
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
