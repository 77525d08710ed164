//! `symbols status`: the connection in use and Redis reachability, then per market the
//! metrics snapshot the Worker serves at `/api/symbols/metrics` (same code, same keys).

use std::time::Instant;

use serde_json::{json, Value};
use symbols_core::ports::StoreError;
use symbols_core::service::{LastOutcome, MarketMetrics};
use symbols_core::Market;

use crate::app::App;
use crate::error::{auth_hint, store_error, CliError};
use crate::output::{age, duration_ms, print_json, print_stdout, table};

/// Runs the command.
///
/// # Errors
/// Redis unreachable or refusing (after printing what is known).
pub async fn run(app: &App) -> Result<(), CliError> {
    let started = Instant::now();
    let ping = app.service.ping().await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let metrics = match &ping {
        Ok(()) => Some(app.service.metrics().await),
        Err(_) => None,
    };
    let (state, error) = match (&ping, &metrics) {
        (Err(e @ StoreError::Unreachable(_)), _) => ("unreachable", Some(e.clone())),
        (Err(e @ StoreError::Refused(_)), _) => ("refused", Some(e.clone())),
        (Ok(()), Some(Err(e))) => ("reachable", Some(e.clone())),
        _ => ("reachable", None),
    };
    let snapshot = metrics.and_then(Result::ok);
    let now_ms = app.service.clock_now_ms();
    if app.json {
        print_json(&json!({
            "redis": {
                "describe": app.conn.describe(),
                "url": app.conn.url,
                "urlVar": app.conn.url_var,
                "token": if app.conn.token.is_some() { "set" } else { "none" },
                "tokenVar": app.conn.token_var,
                "status": state,
                "latencyMs": ping.is_ok().then_some(latency_ms),
                "error": error.as_ref().map(|e| format!("{e}{}", auth_hint(&e.to_string(), &app.conn))),
            },
            "markets": snapshot.as_ref().map(|s| {
                s.iter().map(|(m, v)| (m.as_str().to_string(), json!(v))).collect::<serde_json::Map<String, Value>>()
            }),
        }));
    } else {
        let mut out = format!("redis   {}\n", app.conn.describe());
        match &ping {
            Ok(()) => out.push_str(&format!(
                "        reachable, {} round trip\n",
                duration_ms(latency_ms)
            )),
            // The reason follows as the error line on stderr.
            Err(_) => out.push_str(&format!("        {state}\n")),
        }
        if let Some(s) = &snapshot {
            out.push('\n');
            out.push_str(&human(s, now_ms));
        }
        print_stdout(&out);
    }
    match error {
        Some(e) => Err(store_error(
            if ping.is_ok() {
                "cannot read the metrics"
            } else {
                "cannot read the status"
            },
            &e,
            &app.conn,
        )),
        None => Ok(()),
    }
}

fn outcome(o: &LastOutcome, now_ms: u64) -> String {
    let ago = age((now_ms.saturating_sub(o.at_ms) / 1000) as i64);
    let what = if o.ok {
        "stored".to_string()
    } else {
        format!("failed ({})", o.reason.as_deref().unwrap_or("?"))
    };
    format!(
        "{what} by {}, {}, {ago} ago",
        o.trigger,
        duration_ms(o.duration_ms)
    )
}

/// The side-by-side table of both markets.
fn human(snapshot: &[(Market, MarketMetrics)], now_ms: u64) -> String {
    type Cell = fn(&MarketMetrics, u64) -> String;
    let rows: [(&str, Cell); 7] = [
        ("hits / misses", |m, _| format!("{} / {}", m.hits, m.misses)),
        ("hit ratio", |m, _| {
            if m.hits + m.misses == 0 {
                "-".into()
            } else {
                format!("{:.1}%", m.hit_ratio * 100.0)
            }
        }),
        ("warmups ok / failed", |m, _| {
            format!("{} / {}", m.warmup_success, m.warmup_error)
        }),
        ("last refresh", |m, _| {
            match (&m.last_refresh_at, m.age_seconds) {
                (Some(at), Some(a)) => format!("{at} ({} ago)", age(a)),
                _ => "never".into(),
            }
        }),
        ("symbols", |m, _| {
            m.symbol_count.map_or_else(|| "-".into(), |c| c.to_string())
        }),
        ("last outcome", |m, now| {
            m.last_outcome
                .as_ref()
                .map_or_else(|| "-".into(), |o| outcome(o, now))
        }),
        ("upstream failures", |m, _| {
            let parts: Vec<String> = m
                .upstream_failures
                .iter()
                .filter(|(_, n)| **n != 0)
                .map(|(k, n)| format!("{k}={n}"))
                .collect();
            if parts.is_empty() {
                "none".into()
            } else {
                parts.join(", ")
            }
        }),
    ];
    let mut header = vec![""];
    header.extend(snapshot.iter().map(|(m, _)| m.as_str()));
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|(label, cell)| {
            let mut row = vec![(*label).to_string()];
            row.extend(snapshot.iter().map(|(_, m)| cell(m, now_ms)));
            row
        })
        .collect();
    table(&header, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_table() {
        let spot = MarketMetrics {
            hits: 3,
            misses: 1,
            hit_ratio: 0.75,
            warmup_success: 2,
            last_refresh_ts: Some(1_000),
            last_refresh_at: Some("1970-01-01T00:16:40Z".into()),
            age_seconds: Some(60),
            symbol_count: Some(2292),
            last_outcome: Some(LastOutcome {
                ok: true,
                at_ms: 1_000_000,
                trigger: "admin".into(),
                count: Some(2292),
                reason: None,
                duration_ms: 850,
            }),
            ..Default::default()
        };
        let mut futures = MarketMetrics::default();
        futures.upstream_failures.insert("5xx".into(), 2);
        let text = human(
            &[(Market::Spot, spot), (Market::Futures, futures)],
            1_060_000,
        );
        assert!(text.contains("75.0%"), "{text}");
        assert!(text.contains("stored by admin, 850 ms, 60 s ago"), "{text}");
        assert!(text.contains("never"), "{text}");
        assert!(text.contains("5xx=2"), "{text}");
    }
}
