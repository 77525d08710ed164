//! `symbols warmup [spot|futures|all]`: `Service::refresh(market, Trigger::Admin)` per
//! market, concurrently: the Worker's lock, validation, keys and counters. A stored list
//! is then checked in Redis (the service still hands back a list whose write failed, so it
//! can serve it once; a seeding tool must not call that a success).

use std::time::Instant;

use serde_json::{json, Value};
use symbols_core::keys;
use symbols_core::service::{Refresh, Stored, Trigger};
use symbols_core::symbols::StoredList;
use symbols_core::Market;
use upstash_rest::Command;

use crate::app::App;
use crate::cli::Target;
use crate::error::{auth_hint, CliError};
use crate::output::{duration_ms, or_dash, print_json, print_stdout, table};
use crate::progress::drive;

/// One market's result.
#[derive(Debug)]
struct Report {
    market: Market,
    /// `stored`, `busy` or `failed`.
    outcome: &'static str,
    /// Symbols in the stored list (stored), or in last_good (busy/failed).
    count: Option<usize>,
    duration_ms: u64,
    /// One human line.
    detail: String,
    json: Value,
}

/// Runs the command.
///
/// # Errors
/// Any market failed (each named, with its reason).
pub async fn run(app: &App, target: Target) -> Result<(), CliError> {
    let tasks = target.markets().into_iter().map(|m| one(app, m));
    let reports = drive(&app.board, futures::future::join_all(tasks)).await;
    let ok = reports.iter().all(|r| r.outcome != "failed");
    if app.json {
        print_json(
            &json!({"ok": ok, "markets": reports.iter().map(|r| r.json.clone()).collect::<Vec<_>>()}),
        );
    } else {
        let rows: Vec<Vec<String>> = reports
            .iter()
            .map(|r| {
                vec![
                    r.market.to_string(),
                    r.outcome.to_string(),
                    or_dash(r.count),
                    duration_ms(r.duration_ms),
                    r.detail.clone(),
                ]
            })
            .collect();
        print_stdout(&table(
            &["market", "outcome", "symbols", "duration", "detail"],
            &rows,
        ));
    }
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| r.outcome == "failed")
        .map(|r| format!("{}: {}", r.market, r.detail))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "warmup failed for {}",
            failed.join("; ")
        )))
    }
}

fn last_good_note(previous: Option<&Stored>) -> String {
    match previous {
        Some(p) => format!(
            "last_good kept ({} symbols, fetched {})",
            p.count, p.fetched_at
        ),
        None => "no list of ours in Redis yet".into(),
    }
}

async fn one(app: &App, market: Market) -> Report {
    app.board.set(market, "taking the refresh lock…");
    let started = Instant::now();
    let refresh = app.service.refresh(market, Trigger::Admin).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let base = json!({"market": market.as_str(), "durationMs": duration_ms});
    let mut report = match refresh {
        Refresh::Stored(list) => {
            app.board.set(market, "checking the write…");
            let h = list.header();
            match verify(app, market, &list).await {
                Ok(()) => Report {
                    market,
                    outcome: "stored",
                    count: Some(h.count),
                    duration_ms,
                    detail: format!("version {} from {}", h.version, h.upstream),
                    json: json!({"outcome": "stored", "count": h.count, "version": h.version,
                                 "upstream": h.upstream, "fetchedAt": h.fetched_at}),
                },
                Err(why) => Report {
                    market,
                    outcome: "failed",
                    count: Some(h.count),
                    duration_ms,
                    detail: format!("fetched {} symbols but {why}", h.count),
                    json: json!({"outcome": "failed", "reason": "store", "count": h.count, "detail": why}),
                },
            }
        }
        Refresh::NotStored { list, error } => {
            let detail = format!(
                "fetched {} symbols but Redis did not store them: {error}",
                list.header().count
            );
            Report {
                market,
                outcome: "failed",
                count: Some(list.header().count),
                duration_ms,
                json: json!({"outcome": "failed", "reason": "store", "count": list.header().count, "detail": detail}),
                detail,
            }
        }
        Refresh::Busy { previous } => {
            let detail = format!(
                "another refresh holds {} (the cron, a request or another CLI); nothing done",
                keys::refresh_lock(market)
            );
            let count = previous.as_ref().map(|p| p.count);
            Report {
                market,
                outcome: "busy",
                count,
                duration_ms,
                json: json!({"outcome": "busy", "count": count, "detail": detail}),
                detail,
            }
        }
        // The CLI refreshes as an admin does (it needs the list), so this is the cron's
        // answer only; said as what it means all the same.
        Refresh::Current(stored) => Report {
            market,
            outcome: "stored",
            count: Some(stored.count),
            duration_ms,
            detail: format!(
                "version {} unchanged: the payload is the one stored, nothing processed",
                stored.version
            ),
            json: json!({"outcome": "stored", "count": stored.count, "version": stored.version,
                         "fetchedAt": stored.fetched_at, "processed": false}),
        },
        Refresh::Failed {
            reason,
            detail,
            retry_after_secs,
            previous,
            status,
        } => {
            let mut text = format!("upstream {}: {detail}", reason.as_str());
            if let Some(s) = retry_after_secs {
                text.push_str(&format!("; Binance back-off: no calls for {s} s"));
            }
            text.push_str(&format!("; {}", last_good_note(previous.as_ref())));
            let count = previous.as_ref().map(|p| p.count);
            Report {
                market,
                outcome: "failed",
                count,
                duration_ms,
                json: json!({"outcome": "failed", "reason": reason.as_str(), "detail": detail,
                             "upstreamStatus": status, "retryAfterSecs": retry_after_secs,
                             "lastGoodCount": count}),
                detail: text,
            }
        }
        Refresh::StoreDown(e) => {
            let detail = format!("{e}{}", auth_hint(&e, &app.conn));
            Report {
                market,
                outcome: "failed",
                count: None,
                duration_ms,
                json: json!({"outcome": "failed", "reason": "redis", "detail": detail}),
                detail,
            }
        }
    };
    if let (Value::Object(extra), Value::Object(into)) = (base, &mut report.json) {
        into.extend(extra);
    }
    app.board.done(market);
    report
}

/// Checks that our document and its last good copy now hold this list's version (their
/// first bytes name it), in one small round trip.
async fn verify(app: &App, market: Market, list: &StoredList) -> Result<(), String> {
    let head = |key: String| Command::new("GETRANGE").arg(key).arg("0").arg("511");
    let results = app
        .client()
        .pipeline()
        .cmd(head(keys::document(market)))
        .cmd(head(keys::document_last_good(market)))
        .exec()
        .await
        .map_err(|e| {
            format!(
                "the write could not be checked: {e}{}",
                auth_hint(&e.to_string(), &app.conn)
            )
        })?;
    let marker = format!("\"version\":\"{}\"", list.header().version);
    for (key, result) in [keys::document(market), keys::document_last_good(market)]
        .iter()
        .zip(results)
    {
        let prefix = result.ok().and_then(|v| v.into_bytes()).unwrap_or_default();
        if !String::from_utf8_lossy(&prefix).contains(&marker) {
            return Err(format!(
                "{key} does not hold it: the write to Redis did not land (see --verbose)"
            ));
        }
    }
    Ok(())
}
