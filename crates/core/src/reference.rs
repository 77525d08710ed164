//! The serde_json implementations the fast paths replaced, for the tests and benchmarks
//! that compare the two (the library's own tests, `crates/bench-tools`): built with the
//! `reference` feature only, so no adapter ships them. Where a fast path falls back to
//! its reference (a shape the scanner leaves alone), that fallback lives in the library
//! and these call it.

use crate::exchange_info::{self, ProcessError};
use crate::filter::Filter;
use crate::market::Market;
use crate::symbols::{
    content_version, find, Header, Source, StoredList, Symbol, K_SYMBOLS, VERSION_PLACEHOLDER,
};

/// The serde_json implementation of [`StoredList::build`]: the hand-written writer is
/// tested against it byte for byte.
pub fn build_serde(
    market: Market,
    upstream: &str,
    fetched_at: String,
    symbols: &[Symbol],
) -> Vec<u8> {
    let header = Header::fresh(market, upstream, fetched_at, symbols.len());
    let mut bytes = serde_json::to_vec(&header).unwrap_or_default();
    bytes.pop();
    let version_at = find(&bytes, VERSION_PLACEHOLDER.as_bytes());
    bytes.extend_from_slice(K_SYMBOLS);
    let start = bytes.len();
    if serde_json::to_writer(&mut bytes, symbols).is_err() {
        bytes.truncate(start);
        bytes.extend_from_slice(b"[]");
    }
    let version = content_version(&bytes[start..]);
    if let Some(at) = version_at {
        bytes[at..at + version.len()].copy_from_slice(version.as_bytes());
    }
    bytes.push(b'}');
    bytes
}

/// [`StoredList::find`] by parsing everything and searching (its fallback).
///
/// # Errors
/// When the stored symbols are corrupt.
pub fn find_serde(list: &StoredList, symbol: &str) -> Result<Option<Symbol>, serde_json::Error> {
    list.find_parsed(symbol)
}

/// [`StoredList::filtered_body`] by parsing everything, keeping and rebuilding (its
/// fallback).
///
/// # Errors
/// When the stored symbols are corrupt.
pub fn filtered_body_serde(
    list: &StoredList,
    source: Source,
    filter: &Filter,
) -> Result<Vec<u8>, serde_json::Error> {
    list.filtered_body_parsed(source, filter)
}

/// [`exchange_info::parse`] with the serde_json visitor alone (its fallback).
///
/// # Errors
/// [`ProcessError::Parse`] for anything that is not exchangeInfo-shaped JSON.
pub fn parse_serde(market: Market, payload: &[u8]) -> Result<Vec<Symbol>, ProcessError> {
    exchange_info::parse_serde(market, payload)
}

/// [`exchange_info::parse`] with the scanner alone: `None` where it leaves the payload to
/// serde_json.
pub fn parse_fast_path(market: Market, payload: &[u8]) -> Option<Vec<Symbol>> {
    exchange_info::parse_fast_path(market, payload)
}
