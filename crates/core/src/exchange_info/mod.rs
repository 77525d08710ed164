//! Parsing and projecting Binance exchangeInfo, and validating the result before any write.
//!
//! [`parse`] is a hand-written single-pass scanner ([`scan`]): it walks the
//! payload once, skips every value it does not keep without building anything (strings,
//! numbers, nested arrays and objects are validated and stepped over), records the kept
//! strings as borrowed spans of the payload (no allocation per filter or per field seen),
//! and allocates only the fields of the final [`Symbol`]s. A 4 MB spot payload never
//! becomes a DOM. Unknown fields and enum values are tolerated.
//!
//! Exactness: the scanner accepts a strict subset of what the serde_json visitor
//! (`serde`, the previous implementation) accepts and produces the same symbols on
//! it. Whenever it meets anything else (malformed or truncated JSON, a duplicate field, an
//! escaped key, a number that is not a plain integer where one is kept, positional
//! structs, nesting deeper than 60) it gives up and the serde_json visitor decides, so
//! errors (and their messages) and rare accepted shapes are exactly those of serde_json.
//! The tests compare both on the fixtures, on every truncation and on mutated payloads.
//!
//! One concern per file: [`scan`] reads the bytes, `serde` is the fallback reader,
//! `project` holds the rules both apply to make a [`Symbol`], and [`mod@validate`] checks the
//! result before anything is written.

pub mod digest;
mod project;
pub mod scan;
mod serde;
pub mod validate;

use std::borrow::Cow;

pub(crate) use self::serde::parse_serde;
pub use validate::{validate, validate_shrink};

use crate::market::Market;
use crate::symbols::Symbol;

/// Why a payload or a processed list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// Not JSON, truncated, or not the exchangeInfo shape.
    #[error("exchangeInfo did not parse: {0}")]
    Parse(String),
    /// `symbols` was empty.
    #[error("exchangeInfo has no symbols")]
    Empty,
    /// The new list lost too many of last_good's symbols.
    #[error("list shrank from {previous} to {new} symbols (more than {max_loss_pct}% lost)")]
    Shrunk {
        /// last_good's count.
        previous: usize,
        /// The new count.
        new: usize,
        /// The configured threshold, in percent.
        max_loss_pct: u32,
    },
}

/// Parses an exchangeInfo payload and projects every symbol (no validation beyond shape).
///
/// # Errors
/// [`ProcessError::Parse`] for anything that is not exchangeInfo-shaped JSON.
pub fn parse(market: Market, payload: &[u8]) -> Result<Vec<Symbol>, ProcessError> {
    match scan::document(market, payload) {
        Ok((symbols, _)) => Ok(symbols),
        // Malformed, or a shape the scanner leaves alone: serde_json gives the exact answer.
        Err(scan::Bail) => parse_serde(market, payload),
    }
}

/// The scanner alone: `None` where it leaves the payload to serde_json (malformed input
/// or a rare shape). For tests and benchmarks that must know which path ran
/// (`reference::parse_fast_path`).
#[cfg(any(test, feature = "reference"))]
pub(crate) fn parse_fast_path(market: Market, payload: &[u8]) -> Option<Vec<Symbol>> {
    scan::document(market, payload)
        .ok()
        .map(|(symbols, _)| symbols)
}

/// A parsed payload: the projected symbols and, for each, its object exactly as Binance
/// sent it (every field), for the original system's list ([`crate::original`]).
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The projected symbols, in payload order.
    pub symbols: Vec<Symbol>,
    /// `raw[i]` is the JSON object `symbols[i]` was projected from.
    pub raw: Vec<Cow<'a, [u8]>>,
}

/// [`parse`], also keeping each symbol's raw object. The scanner hands out spans of the
/// payload; on the rare shapes it leaves to serde_json, a second pass steps over the
/// objects to find them.
///
/// # Errors
/// Those of [`parse`].
pub fn parse_with_raw(market: Market, payload: &[u8]) -> Result<Parsed<'_>, ProcessError> {
    if let Ok((symbols, spans)) = scan::document(market, payload) {
        let raw = spans
            .into_iter()
            .map(|r| Cow::Borrowed(payload.get(r).unwrap_or_default()))
            .collect();
        return Ok(Parsed { symbols, raw });
    }
    let symbols = parse_serde(market, payload)?;
    // serde_json accepted a shape the scanner leaves to it; the objects' text is still
    // found by stepping over them (the last `symbols` array wins, as in serde_json).
    let spans = scan::symbol_spans(payload).map_err(|_| {
        ProcessError::Parse(
            "the symbols array could not be cut into objects (escaped `symbols` key?)".into(),
        )
    })?;
    if spans.len() != symbols.len() {
        return Err(ProcessError::Parse(
            "symbols changed between two parses".into(),
        ));
    }
    let raw = spans
        .into_iter()
        .map(|r| Cow::Borrowed(payload.get(r).unwrap_or_default()))
        .collect();
    Ok(Parsed { symbols, raw })
}

/// Parses a bare JSON array of exchangeInfo symbol objects (the original system's stored
/// list) and projects each like [`parse`], with the scanner alone.
///
/// # Errors
/// [`ProcessError::Parse`] when it is not such an array.
pub fn parse_array(market: Market, bytes: &[u8]) -> Result<Vec<Symbol>, ProcessError> {
    // The scanner alone (no serde_json fallback, which would cost the Worker's bundle a
    // second copy of the symbols visitor): what `json.dumps` writes is plain JSON it reads
    // (spacing, `\uXXXX` escapes); anything else is reported, never guessed at.
    scan::array(market, bytes).map_err(|scan::Bail| {
        ProcessError::Parse("not a JSON array of exchangeInfo symbol objects".into())
    })
}

#[cfg(test)]
mod tests;
