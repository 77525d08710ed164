//! Single-flight refresh, admin refresh, request limits, CORS, and secrets that never leak.

use std::time::Duration;

use crate::support::{Fault, FxMarket, Options, Resp, Stack, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_cold_misses_cause_one_upstream_call() {
    // Generous wait: on a loaded 2-core CI box the holder competes with 99 waiters for CPU.
    let stack = Stack::start_with(
        Options::default()
            .var("REFRESH_WAIT_MS", "25000")
            .exclusive(),
    )
    .await;
    // Slow upstream: every request arrives while the first refresh is in flight.
    // (Below UPSTREAM_TIMEOUT_MS: a holder that times out fails every waiter with it.)
    stack
        .exchange
        .push_fault(FxMarket::Spot, Fault::Delay { ms: 900 });
    let requests = (0..100).map(|_| stack.get("/api/symbols/spot"));
    let answers: Vec<Resp> = futures::future::join_all(requests).await;
    let stats = stack.gateway_stats().await;
    println!(
        "100 concurrent cold misses: {} Redis REST requests, {} commands",
        stats["requests"], stats["commands"]
    );
    let ok = answers.iter().filter(|r| r.status == 200).count();
    let first_bad = answers.iter().find(|r| r.status != 200).map(|r| r.text());
    assert_eq!(ok, 100, "first failure: {first_bad:?}");
    assert!(answers.iter().all(|r| r.json()["count"] == 2292));
    assert_eq!(stack.exchange.requests(FxMarket::Spot), 1, "single flight");
    // Every request that did not find the list in the cache is a miss, waiters included
    // (as the original counts them); those that came after it landed are hits.
    let misses = answers
        .iter()
        .filter(|r| r.header("x-cache") == Some("MISS"))
        .count();
    let hits = answers
        .iter()
        .filter(|r| r.header("x-cache") == Some("HIT"))
        .count();
    assert_eq!(misses + hits, 100);
    assert!(misses >= 1);
    assert_eq!(
        stack
            .redis_int_eventually("metrics:cache_miss:symbols_spot", misses as i64)
            .await,
        misses as i64
    );
    assert!(
        stack.log().matches("\"event\":\"refresh\"").count() == 1,
        "exactly one request refreshed"
    );
    assert!(
        stack.redis_get("lock:symbols:spot:refresh").is_none(),
        "lock released"
    );

    // Overlapping cron runs never double-fetch.
    stack.redis.cli(&["DEL", "symbols-edge:spot:document"]);
    stack
        .exchange
        .push_fault(FxMarket::Spot, Fault::Delay { ms: 1000 });
    stack
        .exchange
        .push_fault(FxMarket::Futures, Fault::Delay { ms: 1000 });
    futures::future::join(stack.fire_cron(), stack.fire_cron()).await;
    assert_eq!(stack.exchange.requests(FxMarket::Spot), 2);
    assert_eq!(stack.exchange.requests(FxMarket::Futures), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_holders_lock_expires_and_is_taken_over() {
    let stack = Stack::start().await;
    // A holder that died mid-refresh: its lock lingers for 1.5 s, nothing else happens.
    stack.redis.cli(&[
        "SET",
        "lock:symbols:futures:refresh",
        "crashed-owner",
        "PX",
        "1500",
    ]);
    let started = std::time::Instant::now();
    let r = stack.get("/api/symbols/futures").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-cache"), Some("MISS"));
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "waited for the lock"
    );
    assert_eq!(stack.exchange.requests(FxMarket::Futures), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_refresh_needs_the_token_and_takes_the_lock() {
    let off = Stack::start().await;
    let r = off
        .request(
            "POST",
            "/api/symbols/spot/refresh",
            &[("Authorization", "Bearer x")],
        )
        .await;
    assert_eq!(r.status, 404, "disabled without ADMIN_TOKEN");
    drop(off);

    let stack = Stack::start_with(Options::default().var("ADMIN_TOKEN", "adm1n-s3cret-tok")).await;
    let r = stack
        .request("POST", "/api/symbols/spot/refresh", &[])
        .await;
    assert_eq!(r.status, 401);
    let r = stack
        .request(
            "POST",
            "/api/symbols/spot/refresh",
            &[("Authorization", "Bearer adm1n-s3cret-toX")],
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(stack.exchange.requests(FxMarket::Spot), 0);
    let r = stack
        .request(
            "POST",
            "/api/symbols/spot/refresh",
            &[("Authorization", "Bearer adm1n-s3cret-tok")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["count"], 2292);
    assert_eq!(
        stack.redis_int("metrics:warmup_spot_symbols_cache:success"),
        1
    );
    // While another refresh holds the lock: 409, no upstream call.
    stack
        .redis
        .cli(&["SET", "lock:symbols:spot:refresh", "other", "PX", "5000"]);
    let r = stack
        .request(
            "POST",
            "/api/symbols/spot/refresh",
            &[("Authorization", "Bearer adm1n-s3cret-tok")],
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(stack.exchange.requests(FxMarket::Spot), 1);
    let r = stack.request("GET", "/api/symbols/spot/refresh", &[]).await;
    assert_eq!(r.status, 404, "GET of a symbol named refresh: {}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_limits_cors_and_headers() {
    let stack = Stack::start().await;
    let long_path = format!("/api/symbols/spot/{}", "A".repeat(2000));
    assert_eq!(stack.get(&long_path).await.status, 414);
    let long_query = format!("/api/symbols/spot?quote={}", "U".repeat(3000));
    let r = stack.get(&long_query).await;
    assert_eq!(r.status, 414);
    assert!(r.json()["error"].is_string());
    let r = stack.request("POST", "/api/symbols/spot", &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    let r = stack.request("PUT", "/healthz", &[]).await;
    assert_eq!(r.status, 405);
    let r = stack.get("/api/symbols/spot?quote=%E0%A4%A").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("percent"));

    let r = stack
        .request(
            "GET",
            "/api/symbols/spot",
            &[("Origin", "https://bot.example")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let pre = stack
        .request(
            "OPTIONS",
            "/api/symbols/spot",
            &[
                ("Origin", "https://bot.example"),
                ("Access-Control-Request-Method", "GET"),
            ],
        )
        .await;
    assert_eq!(pre.status, 204);
    assert!(pre
        .header("access-control-allow-methods")
        .unwrap_or("")
        .contains("GET"));
    let head = stack.request("HEAD", "/api/symbols/spot", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("x-cache"), Some("HIT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_cors_origins_are_echoed_only_when_allowed() {
    let stack = Stack::start_with(
        Options::default().var("CORS_ALLOW_ORIGINS", "https://a.example, https://b.example"),
    )
    .await;
    let r = stack
        .request("GET", "/healthz", &[("Origin", "https://b.example")])
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://b.example")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    let r = stack
        .request("GET", "/healthz", &[("Origin", "https://evil.example")])
        .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_responses_or_logs() {
    const API_KEY: &str = "k3y-binance-4f1c9a";
    const ADMIN: &str = "adm1n-7d2e55b0";
    let mut stack = Stack::start_with(
        Options::default()
            .var("BINANCE_API_KEY", API_KEY)
            .var("ADMIN_TOKEN", ADMIN),
    )
    .await;
    let mut seen = Vec::new();
    let mut record = |r: Resp| {
        let headers: String = r
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("")))
            .collect();
        seen.push(format!("{headers}\n{}", r.text()));
    };
    stack
        .exchange
        .push_fault(FxMarket::Spot, Fault::RequireApiKey);
    record(stack.get("/api/symbols/spot").await);
    record(
        stack
            .request(
                "POST",
                "/api/symbols/futures/refresh",
                &[("Authorization", "Bearer wrong")],
            )
            .await,
    );
    record(
        stack
            .request(
                "POST",
                "/api/symbols/futures/refresh",
                &[("Authorization", &format!("Bearer {ADMIN}"))],
            )
            .await,
    );
    stack.exchange.push_fault(
        FxMarket::Futures,
        Fault::Status {
            code: 451,
            retry_after: None,
        },
    );
    stack.redis.cli(&["DEL", "symbols-edge:futures:document"]);
    record(stack.get("/api/symbols/futures").await);
    for path in [
        "/healthz",
        "/metrics",
        "/api/symbols/metrics",
        "/",
        "/nope",
        "/api/symbols/spot/%ZZ",
    ] {
        record(stack.get(path).await);
    }
    stack.gateway.restart_with_token("another-token").await;
    record(stack.get("/api/symbols/spot").await);
    record(stack.get("/healthz").await);
    stack.gateway.stop().await;
    record(stack.get("/api/symbols/spot").await);
    stack.fire_cron().await;
    let log = stack.log();
    assert!(
        log.contains("\"event\":\"request\""),
        "the log was captured"
    );
    for secret in [TOKEN, API_KEY, ADMIN] {
        for (i, text) in seen.iter().enumerate() {
            assert!(
                !text.contains(secret),
                "response {i} leaks a secret:\n{text}"
            );
        }
        let leak = log.lines().find(|l| l.contains(secret));
        assert!(leak.is_none(), "the worker log leaks a secret: {leak:?}");
    }
    assert!(
        !seen
            .iter()
            .any(|t| t.contains("panicked") || t.contains("RuntimeError")),
        "no stack traces"
    );
}
