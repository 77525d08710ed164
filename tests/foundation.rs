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
