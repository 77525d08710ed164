//! Benchmark harness code for `scripts/bench.sh` (not shipped, not part of the Worker).
//!
//! - [`reference`]: a straightforward `serde_json::Value` implementation of exchangeInfo
//!   processing, the yardstick the equivalence tests compare `exchange_info::parse` with.
//! - [`process`]: what the Worker does with a fetched payload (parse + project +
//!   `StoredList::build`), shared by the native bench binary and the wasm exports;
//!   [`process_all`]: every value a refresh builds from a changed payload.
//! - [`lookups`]: single-symbol finds and list filters on a stored list, through the
//!   `lookup` scanner or the full parse it replaced.
//! - `wasm` (wasm32 only): `process`, `process_all`, `process_serde`, `parse_count`, `digest`,
//!   `memory_bytes`, exported with wasm-bindgen for `bench/process.js` (built with `--target nodejs`), and
//!   `lookup_load` / `lookup_cases` / `lookup_check` / `lookup_run` for `lookups.mjs`.
//! - `src/bin/process-bench.rs`: the native timing of the processing functions;
//!   `src/bin/lookup-bench.rs`: of the lookups (`lookups.mjs` runs it next to the wasm).

pub mod lookups;
pub mod reference;

use symbols_core::exchange_info;
use symbols_core::symbols::StoredList;
use symbols_core::Market;

/// Fixed inputs for the parts of the document that are not derived from the payload.
pub const UPSTREAM: &str = "https://api.binance.com";
/// A fixed `fetchedAt`.
pub const FETCHED_AT: &str = "2025-12-24T08:00:00Z";

/// Parses `market` (`spot` / `futures`).
///
/// # Errors
/// The market name was neither.
pub fn market(name: &str) -> Result<Market, String> {
    name.parse::<Market>().map_err(|e| e.to_string())
}

/// What the Worker does with a fetched payload: `exchange_info::parse` then
/// `StoredList::build`. Returns the stored document.
///
/// # Errors
/// The payload did not parse.
pub fn process(market: Market, payload: &[u8]) -> Result<StoredList, String> {
    let symbols = exchange_info::parse(market, payload).map_err(|e| e.to_string())?;
    Ok(StoredList::build(
        market,
        UPSTREAM,
        FETCHED_AT.to_string(),
        &symbols,
    ))
}

/// Everything a refresh builds from a changed payload, as `Service::process`
/// (`crates/core/src/service/refresh/mod.rs`) builds it, less the validation: the parse
/// with each symbol's raw object, the original's list, the ccxt markets, the full records
/// and our document. Returns the bytes built, summed.
///
/// # Errors
/// The payload did not parse.
pub fn process_all(market: Market, payload: &[u8]) -> Result<usize, String> {
    let parsed = exchange_info::parse_with_raw(market, payload).map_err(|e| e.to_string())?;
    let original = symbols_core::original::build(market, &parsed);
    let raw: Vec<&[u8]> = parsed.raw.iter().map(|r| r.as_ref()).collect();
    let ccxt = symbols_core::ccxt::CcxtList::build(market, UPSTREAM, FETCHED_AT, &raw);
    let rules = symbols_core::rules::RulesSet::build(market, UPSTREAM, FETCHED_AT, &raw);
    let doc = StoredList::build(market, UPSTREAM, FETCHED_AT.to_string(), &parsed.symbols);
    let records: usize = rules.records.iter().map(|(_, r)| r.len()).sum();
    Ok(original.bytes.len() + ccxt.as_bytes().len() + records + doc.as_bytes().len())
}

/// [`process`], then the document read back as the Worker reads it from Redis
/// (`StoredList::from_bytes`): the list the lookups run on.
///
/// # Errors
/// The payload did not parse, or the document was refused.
pub fn stored(market: Market, payload: &[u8]) -> Result<StoredList, String> {
    let built = process(market, payload)?;
    StoredList::from_bytes(market, built.as_bytes().to_vec())
        .ok_or_else(|| "the built document was refused".to_string())
}

/// The same all through serde_json: the visitor (`exchange_info::parse_serde`) and the
/// serde_json serialisation (`symbols::build_serde`), the baseline the hand-written
/// scanner and `StoredList::build` replaced. Returns the stored document's bytes.
///
/// # Errors
/// The payload did not parse.
pub fn process_serde(market: Market, payload: &[u8]) -> Result<Vec<u8>, String> {
    let symbols =
        symbols_core::reference::parse_serde(market, payload).map_err(|e| e.to_string())?;
    Ok(symbols_core::reference::build_serde(
        market,
        UPSTREAM,
        FETCHED_AT.to_string(),
        &symbols,
    ))
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use wasm_bindgen::prelude::*;

    fn err(e: String) -> JsError {
        JsError::new(&e)
    }

    /// parse + project + serialise; returns the stored document's length.
    #[wasm_bindgen]
    pub fn process(market: &str, bytes: &[u8]) -> Result<usize, JsError> {
        let m = super::market(market).map_err(err)?;
        super::process(m, bytes)
            .map(|l| l.as_bytes().len())
            .map_err(err)
    }

    /// Everything a refresh builds from a changed payload ([`super::process_all`]);
    /// returns the bytes built.
    #[wasm_bindgen]
    pub fn process_all(market: &str, bytes: &[u8]) -> Result<usize, JsError> {
        let m = super::market(market).map_err(err)?;
        super::process_all(m, bytes).map_err(err)
    }

    /// The same all through serde_json (the implementation before the scanner).
    #[wasm_bindgen]
    pub fn process_serde(market: &str, bytes: &[u8]) -> Result<usize, JsError> {
        let m = super::market(market).map_err(err)?;
        super::process_serde(m, bytes).map(|d| d.len()).map_err(err)
    }

    /// parse + project only; returns the symbol count.
    #[wasm_bindgen]
    pub fn parse_count(market: &str, bytes: &[u8]) -> Result<usize, JsError> {
        let m = super::market(market).map_err(err)?;
        symbols_core::exchange_info::parse(m, bytes)
            .map(|s| s.len())
            .map_err(|e| err(e.to_string()))
    }

    /// What an unchanged cron does with a fetched payload instead of processing it: its
    /// digest (`exchange_info::digest`); returns the digest's length.
    #[wasm_bindgen]
    pub fn digest(_market: &str, bytes: &[u8]) -> usize {
        symbols_core::exchange_info::digest::digest(super::UPSTREAM, bytes).len()
    }

    /// The stored document itself (for checking that wasm and native agree).
    #[wasm_bindgen]
    pub fn process_bytes(market: &str, bytes: &[u8]) -> Result<Vec<u8>, JsError> {
        let m = super::market(market).map_err(err)?;
        super::process(m, bytes)
            .map(|l| l.as_bytes().to_vec())
            .map_err(err)
    }

    thread_local! {
        static LIST: std::cell::RefCell<Option<symbols_core::symbols::StoredList>> = const { std::cell::RefCell::new(None) };
    }

    /// Processes `bytes` and keeps the stored list for `lookup_run`; returns its symbol count.
    #[wasm_bindgen]
    pub fn lookup_load(market: &str, bytes: &[u8]) -> Result<usize, JsError> {
        let m = super::market(market).map_err(err)?;
        let list = super::stored(m, bytes).map_err(err)?;
        let n = list.header().count;
        LIST.with(|l| *l.borrow_mut() = Some(list));
        Ok(n)
    }

    /// The case names, in the order `lookup_run` takes their indexes.
    #[wasm_bindgen]
    pub fn lookup_cases() -> Vec<String> {
        super::lookups::CASES
            .iter()
            .map(|(name, _)| name.to_string())
            .collect()
    }

    fn with_case<T>(
        case: usize,
        f: impl FnOnce(&symbols_core::symbols::StoredList, super::lookups::Case) -> T,
    ) -> Result<T, JsError> {
        let (_, c) = super::lookups::CASES
            .get(case)
            .ok_or_else(|| JsError::new("no such case"))?;
        LIST.with(|l| l.borrow().as_ref().map(|list| f(list, *c)))
            .ok_or_else(|| JsError::new("lookup_load first"))
    }

    /// Do the scanner and the full parse give the same answer for this case?
    #[wasm_bindgen]
    pub fn lookup_check(case: usize) -> Result<bool, JsError> {
        with_case(case, |list, c| {
            let new = super::lookups::answer(list, c, false);
            new.is_ok() && new == super::lookups::answer(list, c, true)
        })
    }

    /// One call of a case, through the full parse (`old`) or the scanner.
    #[wasm_bindgen]
    pub fn lookup_run(case: usize, old: bool) -> Result<usize, JsError> {
        with_case(case, |list, c| super::lookups::run(list, c, old))
    }

    /// Current linear memory size in bytes (it only ever grows, so after a call it is the peak).
    #[wasm_bindgen]
    pub fn memory_bytes() -> usize {
        core::arch::wasm32::memory_size(0) * 65536
    }
}
