//! `symbols keys`: every key of both markets (`keys::all`) with its TTL (`-2` missing, `-1`
//! no expiry) and size (`STRLEN`; entries, `XLEN` / `ZCARD`, for the changes stream and its
//! version index), all in one pipeline through the Upstash client.

use serde_json::json;
use symbols_core::{keys, Market};
use upstash_rest::{Command, Value};

use crate::app::App;
use crate::error::{client_error, CliError};
use crate::output::{bytes, print_json, print_stdout, table};

/// One key's row.
#[derive(Debug, PartialEq)]
struct KeyInfo {
    market: Market,
    key: String,
    ttl: Option<i64>,
    bytes: Option<i64>,
    /// Entries, for the keys that are not strings (the changes stream and its index).
    entries: Option<i64>,
    /// A per-command error (e.g. WRONGTYPE when something else wrote a hash there).
    error: Option<String>,
}

fn ttl_text(ttl: Option<i64>) -> String {
    match ttl {
        Some(-2) => "missing".into(),
        Some(-1) => "no expiry".into(),
        Some(s) => format!("{s} s"),
        None => "?".into(),
    }
}

/// Runs the command.
///
/// # Errors
/// The pipeline failed as a whole (Redis unreachable or refusing).
pub async fn run(app: &App) -> Result<(), CliError> {
    let all: Vec<(Market, String)> = Market::ALL
        .iter()
        .flat_map(|&m| keys::all(m).into_iter().map(move |k| (m, k)))
        .collect();
    let mut pipe = app.client().pipeline();
    let size_of = |m: Market, key: &str| {
        if key == keys::changes(m) {
            "XLEN"
        } else if key == keys::changes_versions(m) {
            "ZCARD"
        } else {
            "STRLEN"
        }
    };
    for (m, key) in &all {
        pipe.push(Command::ttl(key.as_str()));
        pipe.push(Command::new(size_of(*m, key)).arg(key.as_str()));
    }
    let results = pipe
        .exec()
        .await
        .map_err(|e| client_error("reading keys", &e, &app.conn))?;
    let mut it = results.into_iter();
    let mut rows = Vec::with_capacity(all.len());
    for (market, key) in all {
        let mut error = None;
        let mut int = |r: Option<Result<Value, upstash_rest::RedisError>>| match r {
            Some(Ok(v)) => v.as_int(),
            Some(Err(e)) => {
                error.get_or_insert(e.message);
                None
            }
            None => None,
        };
        let ttl = int(it.next());
        let size = int(it.next());
        let size = if ttl == Some(-2) { Some(0) } else { size };
        let string = size_of(market, &key) == "STRLEN";
        rows.push(KeyInfo {
            market,
            key,
            ttl,
            bytes: if string { size } else { None },
            entries: if string { None } else { size },
            error,
        });
    }
    if app.json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| json!({"market": r.market.as_str(), "key": r.key, "ttl": r.ttl, "bytes": r.bytes, "entries": r.entries, "error": r.error}))
            .collect();
        print_json(&json!(list));
    } else {
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let size = match (r.ttl, r.bytes, &r.error) {
                    (_, _, Some(e)) => e.clone(),
                    (_, None, None) if r.entries.is_some() => {
                        format!("{} entries", r.entries.unwrap_or(0))
                    }
                    (Some(-2), ..) | (_, None, _) => "-".into(),
                    (_, Some(b), _) => bytes(b.max(0) as u64),
                };
                vec![r.key.clone(), ttl_text(r.ttl), size]
            })
            .collect();
        let present = rows.iter().filter(|r| r.ttl != Some(-2)).count();
        let mut out = table(&["key", "ttl", "size"], &body);
        out.push_str(&format!("\n{present} of {} keys present\n", rows.len()));
        print_stdout(&out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_texts() {
        assert_eq!(ttl_text(Some(-2)), "missing");
        assert_eq!(ttl_text(Some(-1)), "no expiry");
        assert_eq!(ttl_text(Some(873)), "873 s");
    }
}
