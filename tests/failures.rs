//! Failures never lose data: last_good survives every upstream failure, STALE is served,
//! 503 only when nothing exists, Retry-After is honoured, Redis down -> BYPASS.

use crate::support::{Fault, FxMarket, Options, Stack};

async fn warmed() -> Stack {
    let stack = Stack::start().await;
    stack.fire_cron().await;
    assert!(stack
        .redis_get("symbols-edge:spot:document:last_good")
        .is_some());
    stack
}

/// Makes the next request a miss, as if the TTL had expired.
fn expire_cache(stack: &Stack) {
    stack.redis.cli(&["DEL", "symbols-edge:spot:document"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_upstream_failure_serves_stale_and_keeps_last_good() {
    let stack = warmed().await;
    let good = stack
        .redis_get("symbols-edge:spot:document:last_good")
        .unwrap();
    let faults = vec![
        (
            "451",
            Fault::Status {
                code: 451,
                retry_after: None,
            },
        ),
        (
            "403",
            Fault::Status {
                code: 403,
                retry_after: None,
            },
        ),
        (
            "500",
            Fault::Status {
                code: 500,
                retry_after: None,
            },
        ),
        (
            "503",
            Fault::Status {
                code: 503,
                retry_after: None,
            },
        ),
        ("timeout", Fault::Delay { ms: 4000 }),
        ("malformed", Fault::Malformed),
        ("truncated", Fault::Truncated),
        ("empty", Fault::EmptySymbols),
        ("shrunk", Fault::Shrink { keep: 100 }),
    ];
    for (name, fault) in faults {
        expire_cache(&stack);
        stack.exchange.push_fault(FxMarket::Spot, fault);
        let r = stack.get("/api/symbols/spot").await;
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.header("x-cache"), Some("STALE"), "{name}");
        assert_eq!(r.json()["source"], "last_good", "{name}");
        assert_eq!(r.json()["count"], 2292, "{name}");
        assert_eq!(
            stack
                .redis_get("symbols-edge:spot:document:last_good")
                .as_deref(),
            Some(good.as_str()),
            "{name}: last_good changed"
        );
        assert!(
            stack.redis_get("symbols-edge:spot:document").is_none(),
            "{name}: garbage cached"
        );
    }
    // Failures are counted by reason.
    let m = stack.get("/api/symbols/metrics").await.json();
    let f = &m["spot"]["upstreamFailures"];
    assert_eq!(f["451"], 1);
    assert_eq!(f["403"], 1);
    assert_eq!(f["5xx"], 2);
    assert_eq!(f["timeout"], 1);
    assert_eq!(f["malformed"], 2);
    assert_eq!(f["rejected"], 2);
    // And the next good refresh repairs the cache.
    expire_cache(&stack);
    let r = stack.get("/api/symbols/spot").await;
    assert_eq!(r.header("x-cache"), Some("MISS"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_at_all_is_503_with_retry_after() {
    let stack = Stack::start().await;
    stack.exchange.set_sticky(
        FxMarket::Futures,
        Some(Fault::Status {
            code: 500,
            retry_after: None,
        }),
    );
    let r = stack.get("/api/symbols/futures").await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["market"], "futures");
    assert!(r.json()["error"].is_string());
    assert!(r
        .header("retry-after")
        .is_some_and(|v| v.parse::<u64>().is_ok()));
    assert!(stack
        .redis_get("symbols-edge:futures:document:last_good")
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_api_key_falls_back_to_public() {
    let stack =
        Stack::start_with(Options::default().var("BINANCE_API_KEY", "e2e-binance-key")).await;
    // With a key the first attempt sends it; refused, the retry goes without it.
    stack
        .exchange
        .push_fault(FxMarket::Spot, Fault::RequireApiKey);
    let r = stack.get("/api/symbols/spot").await;
    assert_eq!(r.header("x-cache"), Some("MISS"), "{}", r.text());
    assert_eq!(stack.exchange.requests(FxMarket::Spot), 2);
    assert_eq!(stack.exchange.requests_with_api_key(FxMarket::Spot), 1);

    // 429 with Retry-After: served STALE, and no upstream call inside the window.
    expire_cache(&stack);
    stack.exchange.push_fault(
        FxMarket::Spot,
        Fault::Status {
            code: 429,
            retry_after: Some(120),
        },
    );
    let r = stack.get("/api/symbols/spot").await;
    assert_eq!(r.header("x-cache"), Some("STALE"));
    let calls = stack.exchange.requests(FxMarket::Spot);
    let until = stack.redis_int("cache:symbols:spot:upstream_blocked_until");
    assert!(until > 0, "back-off recorded");
    for _ in 0..3 {
        let r = stack.get("/api/symbols/spot").await;
        assert_eq!(r.header("x-cache"), Some("STALE"));
    }
    stack.fire_cron().await;
    assert_eq!(
        stack.exchange.requests(FxMarket::Spot),
        calls,
        "Binance called inside Retry-After"
    );
    assert!(stack.redis_int("metrics:warmup_spot_symbols_cache:error") >= 1);
    // Futures were unaffected by spot's ban.
    assert_eq!(
        stack.redis_int("metrics:warmup_futures_symbols_cache:success"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_bypasses_and_cron_failures_are_isolated() {
    let mut stack = Stack::start().await;
    stack.exchange.set_sticky(
        FxMarket::Futures,
        Some(Fault::Status {
            code: 502,
            retry_after: None,
        }),
    );
    stack.fire_cron().await;
    assert_eq!(
        stack.redis_int("metrics:warmup_spot_symbols_cache:success"),
        1
    );
    assert_eq!(
        stack.redis_int("metrics:warmup_futures_symbols_cache:error"),
        1
    );
    assert_eq!(
        stack.redis_int("metrics:warmup_futures_symbols_cache:success"),
        0
    );
    assert!(stack.redis_get("symbols-edge:spot:document").is_some());
    assert!(stack.redis_get("symbols-edge:futures:document").is_none());

    // Validation: a shrunken list is a warmup error and overwrites nothing.
    stack.exchange.set_sticky(FxMarket::Futures, None);
    stack.fire_cron().await;
    let good = stack
        .redis_get("symbols-edge:futures:document:last_good")
        .unwrap();
    stack
        .exchange
        .set_sticky(FxMarket::Futures, Some(Fault::Shrink { keep: 5 }));
    stack.fire_cron().await;
    assert_eq!(
        stack.redis_int("metrics:warmup_futures_symbols_cache:error"),
        2
    );
    assert_eq!(
        stack
            .redis_get("symbols-edge:futures:document:last_good")
            .unwrap(),
        good
    );

    // Redis unreachable: fetched upstream directly.
    stack.gateway.stop().await;
    let r = stack.get("/api/symbols/spot").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-cache"), Some("BYPASS"));
    assert_eq!(r.json()["count"], 2292);
    stack.gateway.restart().await;
    let r = stack.get("/api/symbols/spot").await;
    assert_eq!(r.header("x-cache"), Some("HIT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_many_clients_share_one_binance_call() {
    // One slow fetch under 64 clients on 2 shared cores: give it time, it is shared.
    let mut stack = Stack::start_with(Options::default().var("UPSTREAM_TIMEOUT_MS", "8000")).await;
    stack.gateway.stop().await;
    let started = std::time::Instant::now();
    let (mut bypass, mut other) = (0, 0);
    // 1,000 requests from 64 concurrent clients.
    for _ in 0..(1_000 / 64 + 1) {
        let batch = (0..64).map(|_| stack.get("/api/symbols/futures"));
        for r in futures::future::join_all(batch).await {
            assert_eq!(r.status, 200, "{}", r.text());
            if r.header("X-Cache") == Some("BYPASS") {
                bypass += 1
            } else {
                other += 1
            }
        }
    }
    let calls = stack.exchange.requests(FxMarket::Futures);
    eprintln!(
        "redis down: {} requests in {:?}, {bypass} BYPASS, {other} other, {calls} Binance call(s)",
        bypass + other,
        started.elapsed()
    );
    assert_eq!(other, 0);
    assert_eq!(
        calls, 1,
        "one Binance call per market and isolate per BYPASS_CACHE_SECONDS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_binance_holds_no_request_past_the_wait_and_the_refresh_still_lands() {
    let stack = Stack::start_with(
        Options::default()
            .var("REFRESH_WAIT_MS", "1000")
            .var("UPSTREAM_TIMEOUT_MS", "10000"),
    )
    .await;
    stack.fire_cron().await;
    let before = stack.redis_get("symbols-edge:spot:stored").unwrap();
    expire_cache(&stack);
    stack
        .exchange
        .push_fault(FxMarket::Spot, Fault::Delay { ms: 6_000 });
    let started = std::time::Instant::now();
    let r = stack.get("/api/symbols/spot").await;
    let waited = started.elapsed();
    assert_eq!(
        (r.status, r.header("X-Cache")),
        (200, Some("STALE")),
        "{}",
        r.text()
    );
    assert!(
        waited < std::time::Duration::from_millis(4_500),
        "answered after {waited:?}"
    );
    // The refresh went on after the response and stored what Binance sent.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while stack.redis_get("symbols-edge:spot:document").is_none()
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        stack.redis_get("symbols-edge:spot:document").is_some(),
        "the continued refresh stored the list"
    );
    assert!(
        stack.redis_get("lock:symbols:spot:refresh").is_none(),
        "and unlocked"
    );
    assert_eq!(
        stack.redis_get("symbols-edge:spot:stored").unwrap(),
        before,
        "same list: only TTLs extended"
    );
    assert_eq!(
        stack.exchange.requests(FxMarket::Spot),
        2,
        "the cron and the one refresh"
    );
    assert!(stack.log().contains("\"refresh_continues\""));
}
