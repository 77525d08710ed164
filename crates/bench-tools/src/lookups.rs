//! The lookup benchmark's cases (single-symbol finds and list filters on a stored list),
//! each runnable through the scanner (`StoredList::find` / `filtered_body`) or the full
//! parse it replaced (`reference::find_serde` / `filtered_body_serde`); shared by the native
//! `lookup-bench` and the wasm exports `lookup_*`, so both time the same calls.

use symbols_core::filter::Filter;
use symbols_core::symbols::{Source, StoredList};

/// One timed call.
#[derive(Clone, Copy, Debug)]
pub enum Case {
    /// `GET /api/symbols/{market}/{symbol}`.
    Find(&'static str),
    /// `GET /api/symbols/{market}?status=..&quote=..` (values already uppercased).
    Filter {
        /// `status`.
        status: Option<&'static str>,
        /// `quote`.
        quote: Option<&'static str>,
    },
}

/// The cases, named as the report prints them.
pub const CASES: &[(&str, Case)] = &[
    ("find BTCUSDT", Case::Find("BTCUSDT")),
    ("find missing", Case::Find("NOSUCHSYMBOL")),
    ("find btcusdt (case-insensitive)", Case::Find("btcusdt")),
    (
        "filter quote=USDT",
        Case::Filter {
            status: None,
            quote: Some("USDT"),
        },
    ),
    (
        "filter status=TRADING&quote=BTC",
        Case::Filter {
            status: Some("TRADING"),
            quote: Some("BTC"),
        },
    ),
];

fn filter(status: Option<&str>, quote: Option<&str>) -> Filter {
    Filter {
        status: status.map(str::to_string),
        quote: quote.map(str::to_string),
        base: None,
    }
}

/// What a case answers, as bytes (the symbol's JSON, or the body), for checking that both
/// paths agree before timing them.
///
/// # Errors
/// The stored list did not parse.
pub fn answer(list: &StoredList, case: Case, old: bool) -> Result<Vec<u8>, String> {
    let e = |e: serde_json::Error| e.to_string();
    match case {
        Case::Find(name) => {
            let found = if old {
                symbols_core::reference::find_serde(list, name)
            } else {
                list.find(name)
            }
            .map_err(e)?;
            serde_json::to_vec(&found).map_err(e)
        }
        Case::Filter { status, quote } => {
            let f = filter(status, quote);
            if old {
                symbols_core::reference::filtered_body_serde(list, Source::Cache, &f)
            } else {
                list.filtered_body(Source::Cache, &f)
            }
            .map_err(e)
        }
    }
}

/// One timed call: returns a size so that the work is not optimised away.
pub fn run(list: &StoredList, case: Case, old: bool) -> usize {
    match case {
        Case::Find(name) => {
            let found = if old {
                symbols_core::reference::find_serde(list, name)
            } else {
                list.find(name)
            };
            found.ok().flatten().map_or(0, |s| s.symbol.len() + 1)
        }
        Case::Filter { status, quote } => {
            let f = filter(status, quote);
            let body = if old {
                symbols_core::reference::filtered_body_serde(list, Source::Cache, &f)
            } else {
                list.filtered_body(Source::Cache, &f)
            };
            body.map_or(0, |b| b.len())
        }
    }
}
