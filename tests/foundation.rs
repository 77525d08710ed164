//! The Worker builds, runs in workerd, and its scheduled handler fires.

use crate::support::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_through_workerd_and_cron_fires() {
    let stack = Stack::start().await;
    let r = stack.get("/healthz").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(r.json()["redis"], "reachable");
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/json"));

    assert_eq!(
        stack.redis_int("metrics:warmup_spot_symbols_cache:success"),
        0
    );
    stack.fire_cron().await;
    // The handler ran: both markets were warmed and counted.
    assert_eq!(
        stack.redis_int("metrics:warmup_spot_symbols_cache:success"),
        1
    );
    assert_eq!(
        stack.redis_int("metrics:warmup_futures_symbols_cache:success"),
        1
    );
    let log = stack.log();
    assert!(
        log.contains("\"event\":\"cron\""),
        "cron log line missing:\n{}",
        stack.log_tail()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_when_redis_is_unreachable() {
    let mut stack = Stack::start().await;
    stack.gateway.stop().await;
    let r = stack.get("/healthz").await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["redis"], "unreachable");
    assert!(!r.text().contains(crate::support::TOKEN));
}

/// In workerd: a second cron that fetches the same payloads processes nothing (its refresh
/// lines say `processed: false`), still counts as a successful warmup, and the lists are
/// served as before. Prints both crons' refresh durations (the figure README quotes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_cron_processes_nothing() {
    let stack = Stack::start().await;
    stack.fire_cron().await;
    stack.fire_cron().await;
    let refreshes: Vec<serde_json::Value> = stack
        .log()
        .lines()
        .filter_map(|l| {
            l.find('{')
                .and_then(|i| serde_json::from_str::<serde_json::Value>(l[i..].trim()).ok())
        })
        .filter(|v| v["event"] == "refresh" && v["trigger"] == "cron")
        .collect();
    assert_eq!(refreshes.len(), 4, "{}", stack.log_tail());
    for market in ["spot", "futures"] {
        let lines: Vec<_> = refreshes.iter().filter(|v| v["market"] == market).collect();
        assert_eq!(lines[0]["processed"], true, "{lines:?}");
        assert_eq!(lines[1]["processed"], false, "{lines:?}");
        assert_eq!(lines[1]["ok"], true, "{lines:?}");
        assert_eq!(lines[1]["count"], lines[0]["count"], "{lines:?}");
        println!(
            "{market}: cron refresh {} ms processed, {} ms unchanged (processed nothing)",
            lines[0]["duration_ms"], lines[1]["duration_ms"]
        );
        assert_eq!(
            stack.redis_int(&format!("metrics:warmup_{market}_symbols_cache:success")),
            2
        );
    }
    let crons: Vec<serde_json::Value> = stack
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .filter(|v| v["event"] == "cron")
        .collect();
    assert_eq!(crons.len(), 2, "{}", stack.log_tail());
    for cron in &crons {
        assert_eq!(cron["outcomes"]["spot"], "success", "{cron}");
        assert_eq!(cron["outcomes"]["futures"], "success", "{cron}");
    }
    let r = stack.get("/api/symbols/spot").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-cache"), Some("HIT"));
}
