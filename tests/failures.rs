//! Failures never lose data: last_good survives every upstream failure, STALE is served,
//! 503 only when nothing exists, Retry-After is honoured, Redis down -> BYPASS.

use crate::support::{Fault, FxMarket, Options, Stack};

async fn warmed() -> Stack {
    let stack = Stack::start().await;
    stack.fire_cron().await;
    assert!(stack.redis_get("symbols-edge:spot:document:last_good").is_some());
    stack
}

/// Makes the next request a miss, as if the TTL had expired.
fn expire_cache(stack: &Stack) {
    stack.redis.cli(&["DEL", "symbols-edge:spot:document"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_upstream_failure_serves_stale_and_keeps_last_good() {
    let stack = warmed().await;
    let good = stack.redis_get("symbols-edge:spot:document:last_good").unwrap();
    let faults = vec![
        ("451", Fault::Status { code: 451, retry_after: None }),
        ("403", Fault::Status { code: 403, retry_after: None }),
        ("500", Fault::Status { code: 500, retry_after: None }),
        ("503", Fault::Status { code: 503, retry_after: None }),
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
        assert_eq!(stack.redis_get("symbols-edge:spot:document:last_good").as_deref(), Some(good.as_str()), "{name}: last_good changed");
        assert!(stack.redis_get("symbols-edge:spot:document").is_none(), "{name}: garbage cached");
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
    stack.exchange.set_sticky(FxMarket::Futures, Some(Fault::Status { code: 500, retry_after: None }));
    let r = stack.get("/api/symbols/futures").await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["market"], "futures");
    assert!(r.json()["error"].is_string());
    assert!(r.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok()));
    assert!(stack.redis_get("symbols-edge:futures:document:last_good").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_api_key_falls_back_to_public() {
    let stack = Stack::start_with(Options::default().var("BINANCE_API_KEY", "e2e-binance-key")).await;
    // With a key the first attempt sends it; refused, the retry goes without it.
    stack.exchange.push_fault(FxMarket::Spot, Fault::RequireApiKey);
    let r = stack.get("/api/symbols/spot").await;
    assert_eq!(r.header("x-cache"), Some("MISS"), "{}", r.text());
    assert_eq!(stack.exchange.requests(FxMarket::Spot), 2);
    assert_eq!(stack.exchange.requests_with_api_key(FxMarket::Spot), 1);

    // 429 with Retry-After: served STALE, and no upstream call inside the window.
    expire_cache(&stack);
    stack.exchange.push_fault(FxMarket::Spot, Fault::Status { code: 429, retry_after: Some(120) });
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
    assert_eq!(stack.exchange.requests(FxMarket::Spot), calls, "Binance called inside Retry-After");
    assert!(stack.redis_int("metrics:warmup_spot_symbols_cache:error") >= 1);
    // Futures were unaffected by spot's ban.
    assert_eq!(stack.redis_int("metrics:warmup_futures_symbols_cache:success"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_bypasses_and_cron_failures_are_isolated() {
    let mut stack = Stack::start().await;
    stack.exchange.set_sticky(FxMarket::Futures, Some(Fault::Status { code: 502, retry_after: None }));
    stack.fire_cron().await;
    assert_eq!(stack.redis_int("metrics:warmup_spot_symbols_cache:success"), 1);
    assert_eq!(stack.redis_int("metrics:warmup_futures_symbols_cache:error"), 1);
    assert_eq!(stack.redis_int("metrics:warmup_futures_symbols_cache:success"), 0);
    assert!(stack.redis_get("symbols-edge:spot:document").is_some());
    assert!(stack.redis_get("symbols-edge:futures:document").is_none());

    // Validation: a shrunken list is a warmup error and overwrites nothing.
    stack.exchange.set_sticky(FxMarket::Futures, None);
    stack.fire_cron().await;
    let good = stack.redis_get("symbols-edge:futures:document:last_good").unwrap();
    stack.exchange.set_sticky(FxMarket::Futures, Some(Fault::Shrink { keep: 5 }));
    stack.fire_cron().await;
    assert_eq!(stack.redis_int("metrics:warmup_futures_symbols_cache:error"), 2);
    assert_eq!(stack.redis_get("symbols-edge:futures:document:last_good").unwrap(), good);

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
