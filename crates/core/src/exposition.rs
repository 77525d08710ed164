//! Renders the metrics snapshot for people and machines: Prometheus text exposition
//! (format 0.0.4) for `/metrics`, and the server-rendered status page for `/`.

use std::fmt::Write;

use crate::market::Market;
use crate::service::MarketMetrics;

/// Gauges of the one isolate (or process) that renders the page, not of the service: on
/// Cloudflare each scrape may reach another isolate.
#[derive(Clone, Debug, Default)]
pub struct InstanceGauges {
    /// Size of the wasm linear memory, bytes (`None` outside wasm).
    pub wasm_memory_bytes: Option<u64>,
    /// Hits counted here and not yet written to Redis (see `COUNTER_FLUSH_MS`), per market.
    pub unflushed_hits: Vec<(Market, u64)>,
}

/// Prometheus text for the snapshot and this instance's gauges; `None` (Redis
/// unreachable) exports `symbols_redis_up 0` and the instance gauges only.
pub fn prometheus(
    metrics: Option<&[(Market, MarketMetrics)]>,
    instance: &InstanceGauges,
) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    family(
        "symbols_redis_up",
        "gauge",
        "Whether Redis answered the metrics read (1) or not (0).",
        vec![(String::new(), u8::from(metrics.is_some()).to_string())],
    );
    if let Some(bytes) = instance.wasm_memory_bytes {
        family(
            "symbols_instance_wasm_memory_bytes",
            "gauge",
            "wasm linear memory of the isolate that answered this scrape.",
            vec![(String::new(), bytes.to_string())],
        );
    }
    family(
        "symbols_instance_unflushed_hits",
        "gauge",
        "Hits counted by the isolate that answered this scrape and not yet written to Redis.",
        instance
            .unflushed_hits
            .iter()
            .map(|(m, n)| (format!("{{market=\"{}\"}}", m.as_str()), n.to_string()))
            .collect(),
    );
    let Some(metrics) = metrics else { return out };
    let per = |f: &dyn Fn(&MarketMetrics) -> Option<String>| -> Vec<(String, String)> {
        metrics
            .iter()
            .filter_map(|(m, v)| f(v).map(|x| (format!("{{market=\"{}\"}}", m.as_str()), x)))
            .collect()
    };
    family(
        "symbols_cache_hits_total",
        "counter",
        "Requests served from the primary or edge cache.",
        per(&|v| Some(v.hits.to_string())),
    );
    family(
        "symbols_cache_misses_total",
        "counter",
        "Requests that found the primary cache empty.",
        per(&|v| Some(v.misses.to_string())),
    );
    family(
        "symbols_cache_hit_ratio",
        "gauge",
        "hits / (hits + misses) since the counters began.",
        per(&|v| Some(float_text(v.hit_ratio))),
    );
    family(
        "symbols_warmup_success_total",
        "counter",
        "Successful cron/admin refreshes.",
        per(&|v| Some(v.warmup_success.to_string())),
    );
    family(
        "symbols_warmup_errors_total",
        "counter",
        "Failed cron/admin refreshes.",
        per(&|v| Some(v.warmup_error.to_string())),
    );
    let mut failures = Vec::new();
    for (m, v) in metrics {
        for (reason, n) in &v.upstream_failures {
            failures.push((
                format!("{{market=\"{}\",reason=\"{reason}\"}}", m.as_str()),
                n.to_string(),
            ));
        }
    }
    family(
        "symbols_upstream_failures_total",
        "counter",
        "Failed upstream refresh attempts by reason.",
        failures,
    );
    let mut recorded = Vec::new();
    let mut webhook = Vec::new();
    for (m, v) in metrics {
        for (kind, n) in &v.changes_recorded {
            recorded.push((
                format!("{{market=\"{}\",type=\"{kind}\"}}", m.as_str()),
                n.to_string(),
            ));
        }
        for (outcome, n) in [("ok", v.webhook_ok), ("failed", v.webhook_failed)] {
            webhook.push((
                format!("{{market=\"{}\",outcome=\"{outcome}\"}}", m.as_str()),
                n.to_string(),
            ));
        }
    }
    family(
        "symbols_changes_recorded_total",
        "counter",
        "Change events recorded in the changes feed, by type.",
        recorded,
    );
    family(
        "symbols_changes_webhook_total",
        "counter",
        "POSTs of change events to CHANGES_WEBHOOK_URL, by outcome (ok: 2xx).",
        webhook,
    );
    family(
        "symbols_last_refresh_timestamp_seconds",
        "gauge",
        "Unix time of the last successful refresh.",
        per(&|v| v.last_refresh_ts.map(|t| t.to_string())),
    );
    family(
        "symbols_last_refresh_age_seconds",
        "gauge",
        "Seconds since the last successful refresh.",
        per(&|v| v.age_seconds.map(|t| t.to_string())),
    );
    family(
        "symbols_count",
        "gauge",
        "Symbols in the list currently served.",
        per(&|v| v.symbol_count.map(|c| c.to_string())),
    );
    out
}

/// The newest change events of a market as a list (newest first), each item carrying
/// its stream id and type for tests.
fn recent_changes(v: &MarketMetrics) -> String {
    if v.recent_changes.is_empty() {
        return "<p class=\"muted\" data-field=\"changes-none\">No changes recorded yet.</p>\n"
            .into();
    }
    let mut out = String::from("<ol class=\"changes\" data-field=\"changes\">\n");
    for e in &v.recent_changes {
        let c = &e.change;
        let value = |x: &Option<serde_json::Value>| match x {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => "none".into(),
            Some(other) => other.to_string(),
        };
        let what = match c.kind {
            crate::changes::Kind::Listed | crate::changes::Kind::Delisted => String::new(),
            _ => format!(
                ": {} {} → {}",
                c.field.as_deref().unwrap_or(""),
                value(&c.from),
                value(&c.to)
            ),
        };
        let _ = writeln!(
            out,
            "<li data-id=\"{id}\" data-type=\"{kind}\"><time>{at}</time> <b>{kind}</b> {symbol}{what}</li>",
            id = esc(e.id.as_deref().unwrap_or("")),
            kind = c.kind.as_str(),
            at = esc(&e.detected_at),
            symbol = esc(&c.symbol),
            what = esc(&what),
        );
    }
    out.push_str("</ol>\n");
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The status page: per market freshness, count, hit ratio and the last refresh outcome.
/// Each figure carries a `data-*` attribute so tests can read it back exactly.
pub fn status_page(metrics: Option<&[(Market, MarketMetrics)]>, now_ms: u64) -> String {
    let mut cards = String::new();
    match metrics {
        None => cards.push_str(
            "<p class=\"bad\" id=\"redis-down\">Redis is unreachable: figures unavailable.</p>",
        ),
        Some(list) => {
            for (m, v) in list {
                let name = m.as_str();
                let age = v
                    .age_seconds
                    .map_or("never".to_string(), |a| format!("{a} s"));
                let at = v.last_refresh_at.clone().unwrap_or_else(|| "never".into());
                let (outcome, class) = match &v.last_outcome {
                    Some(o) if o.ok => (format!("ok ({}, {} ms)", o.trigger, o.duration_ms), "ok"),
                    Some(o) => (
                        format!(
                            "failed: {} ({})",
                            o.reason.clone().unwrap_or_default(),
                            o.trigger
                        ),
                        "bad",
                    ),
                    None => ("none yet".into(), "muted"),
                };
                let count = v.symbol_count.map_or("-".into(), |c| c.to_string());
                let ratio_text = if v.hits + v.misses == 0 {
                    "-".to_string()
                } else {
                    format!("{}%", float_text((v.hit_ratio * 1000.0).round() / 10.0))
                };
                let total = (v.warmup_success + v.warmup_error).max(1) as f64;
                let ok_w = float_text((v.warmup_success as f64 / total * 100.0).round());
                let _ = write!(
                    cards,
                    r#"<section class="card" id="{name}">
<h2>{name}</h2>
<dl>
<dt>Symbols</dt><dd data-field="count">{count}</dd>
<dt>Age</dt><dd data-field="age" data-value="{age_raw}">{age}</dd>
<dt>Last refresh</dt><dd data-field="last-refresh">{at}</dd>
<dt>Hits / misses</dt><dd><span data-field="hits">{hits}</span> / <span data-field="misses">{misses}</span></dd>
<dt>Hit ratio</dt><dd data-field="hit-ratio" data-value="{ratio}">{ratio_text}</dd>
<dt>Warmups</dt><dd><span data-field="warmup-success">{ws}</span> ok, <span data-field="warmup-error">{we}</span> failed
<div class="bar" title="warmup success share"><div style="width:{ok_w}%"></div></div></dd>
<dt>Last outcome</dt><dd class="{class}" data-field="last-outcome">{outcome}</dd>
</dl>
<h3>Recent changes</h3>
{recent}</section>
"#,
                    recent = recent_changes(v),
                    age_raw = v.age_seconds.map_or(String::new(), |a| a.to_string()),
                    hits = v.hits,
                    misses = v.misses,
                    ratio = float_text(v.hit_ratio),
                    ws = v.warmup_success,
                    we = v.warmup_error,
                    outcome = esc(&outcome),
                    at = esc(&at),
                );
            }
        }
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>symbols-edge status</title>
<style>
body{{font:15px/1.4 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#f6f7f9}}
h1{{font-size:1.3rem}} .cards{{display:flex;gap:1rem;flex-wrap:wrap}}
.card{{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:1rem 1.4rem;min-width:300px}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;margin:0}} dt{{color:#5b6475}} dd{{margin:0;font-variant-numeric:tabular-nums}}
.ok{{color:#11793b}} .bad{{color:#b42318}} .muted{{color:#8a93a3}}
.bar{{height:6px;background:#f2c4c0;border-radius:3px;margin-top:4px;width:160px}} .bar div{{height:6px;background:#3aa76d;border-radius:3px}}
footer{{margin-top:1.5rem;color:#8a93a3;font-size:.85rem}}
h3{{font-size:1rem;margin:1rem 0 .3rem}} .changes{{margin:0;padding-left:1.2rem;font-size:.9rem;max-width:420px}} .changes time{{color:#8a93a3}}
</style></head>
<body><h1>symbols-edge: Binance symbol lists</h1>
<div class="cards">{cards}</div>
<footer>Rendered <span id="rendered-at">{now}</span>. JSON: <a href="/api/symbols/metrics">/api/symbols/metrics</a> ·
Prometheus: <a href="/metrics">/metrics</a> · API: <a href="/openapi.json">/openapi.json</a></footer>
</body></html>
"#,
        now = crate::time::rfc3339(now_ms),
    )
}

/// A float as text through serde_json's shortest round-trip formatter (ryu), which the
/// wasm carries anyway; `{}` on an f64 would link core's larger float formatting too.
fn float_text(x: f64) -> String {
    serde_json::Number::from_f64(x).map_or_else(|| "NaN".to_string(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_gauges_are_exported_even_with_redis_down() {
        let instance = InstanceGauges {
            wasm_memory_bytes: Some(1_179_648),
            unflushed_hits: vec![(Market::Spot, 3), (Market::Futures, 0)],
        };
        let text = prometheus(None, &instance);
        assert!(text.contains("symbols_redis_up 0\n"), "{text}");
        assert!(text.contains("# TYPE symbols_instance_wasm_memory_bytes gauge\nsymbols_instance_wasm_memory_bytes 1179648\n"), "{text}");
        assert!(
            text.contains("symbols_instance_unflushed_hits{market=\"spot\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("symbols_instance_unflushed_hits{market=\"futures\"} 0\n"),
            "{text}"
        );
        // Natively there is no wasm memory to report: no family at all, not a fake 0.
        let native = prometheus(None, &InstanceGauges::default());
        assert!(!native.contains("wasm_memory"), "{native}");
    }
}
