//! The symbols service's contract: keys, value format, TTLs, counters, routes.

use crate::support::{FxMarket, Options, Runtime, Stack};

const SPOT_COUNT: u64 = 2292;
const FUTURES_COUNT: u64 = 660;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_miss_then_hit_with_exact_keys_ttls_and_counters() {
    let stack = Stack::start().await;
    let first = stack.get("/api/symbols/spot").await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-cache"), Some("MISS"));
    let body = first.json();
    assert_eq!(body["market"], "spot");
    assert_eq!(body["source"], "upstream");
    assert_eq!(body["count"], SPOT_COUNT);
    assert_eq!(
        body["symbols"].as_array().map(Vec::len),
        Some(SPOT_COUNT as usize)
    );
    assert!(body["fetchedAt"].as_str().is_some_and(|s| s.ends_with('Z')));
    let btc = body["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["symbol"] == "BTCUSDT")
        .expect("BTCUSDT");
    assert_eq!(btc["tickSize"], "0.01000000");
    assert_eq!(btc["minNotional"], "5.00000000");
    assert_eq!(btc["quoteAsset"], "USDT");
    assert_eq!(stack.exchange.requests(FxMarket::Spot), 1);

    let second = stack.get("/api/symbols/spot").await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("x-cache"), Some("HIT"));
    assert_eq!(second.json()["source"], "cache");
    assert_eq!(second.json()["symbols"], body["symbols"]);
    assert_eq!(
        stack.exchange.requests(FxMarket::Spot),
        1,
        "a hit must not call upstream"
    );

    // Counting runs after the response (wait_until).
    assert_eq!(
        stack
            .redis_int_eventually("metrics:cache_miss:symbols_spot", 1)
            .await,
        1
    );
    assert_eq!(
        stack
            .redis_int_eventually("metrics:cache_hit:symbols_spot", 1)
            .await,
        1
    );
    assert_eq!(stack.redis_int("metrics:cache_hit:symbols_futures"), 0);

    // Keys, read straight from redis-server.
    let ttl = stack.redis_ttl("symbols-edge:spot:document");
    assert!((290..=300).contains(&ttl), "cache TTL {ttl}");
    assert!(
        (290..=300).contains(&stack.redis_ttl("cache:symbols:spot:v1")),
        "the original's TTL"
    );
    assert_eq!(stack.redis_ttl("cache:symbols:spot:last_good"), -1);
    assert_eq!(
        stack.redis_ttl("symbols-edge:spot:document:last_good"),
        -1,
        "last_good has no TTL"
    );
    let stored: serde_json::Value =
        serde_json::from_str(&stack.redis_get("symbols-edge:spot:document").unwrap()).unwrap();
    assert_eq!(stored["market"], "spot");
    assert_eq!(stored["count"], SPOT_COUNT);
    assert!(
        stored.get("source").is_none(),
        "source is added when serving, not stored"
    );
    assert_eq!(
        stack.redis_get("symbols-edge:spot:document:last_good"),
        stack.redis_get("symbols-edge:spot:document")
    );
    let ts = stack.redis_int("metrics:spot_symbols_cache:last_refresh_ts");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - ts).abs() < 60, "last_refresh_ts {ts} vs now {now}");
    // Request-time refreshes are not cron warmups.
    assert_eq!(
        stack.redis_int("metrics:warmup_spot_symbols_cache:success"),
        0
    );

    // The metrics route agrees.
    let m = stack.get("/api/symbols/metrics").await.json();
    assert_eq!(m["spot"]["hits"], 1);
    assert_eq!(m["spot"]["misses"], 1);
    assert_eq!(m["spot"]["hitRatio"], 0.5);
    assert_eq!(m["spot"]["symbolCount"], SPOT_COUNT);
    assert!(m["spot"]["ageSeconds"].as_i64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_warms_both_markets_and_filters_and_single_symbols_work() {
    let stack = Stack::start().await;
    stack.fire_cron().await;
    assert_eq!(stack.exchange.requests(FxMarket::Spot), 1);
    assert_eq!(stack.exchange.requests(FxMarket::Futures), 1);
    for m in ["spot", "futures"] {
        assert!(
            stack
                .redis_get(&format!("symbols-edge:{m}:document"))
                .is_some(),
            "{m} cache"
        );
        assert!(
            stack
                .redis_get(&format!("symbols-edge:{m}:document:last_good"))
                .is_some(),
            "{m} last_good"
        );
        assert!(stack.redis_int(&format!("metrics:{m}_symbols_cache:last_refresh_ts")) > 0);
        assert_eq!(
            stack.redis_int(&format!("metrics:warmup_{m}_symbols_cache:success")),
            1
        );
        assert_eq!(
            stack.redis_int(&format!("metrics:warmup_{m}_symbols_cache:error")),
            0
        );
    }
    let futures = stack.get("/api/symbols/futures").await;
    assert_eq!(futures.header("x-cache"), Some("HIT"));
    assert_eq!(futures.json()["count"], FUTURES_COUNT);

    // Filters combine; lowercase values work.
    let f = stack
        .get("/api/symbols/spot?status=trading&quote=USDT&base=BTC&unknown=1")
        .await;
    assert_eq!(f.status, 200);
    let syms = f.json()["symbols"].as_array().cloned().unwrap();
    assert_eq!(syms.len(), 1);
    assert_eq!(syms[0]["symbol"], "BTCUSDT");
    assert_eq!(f.json()["count"], 1);
    let usdt = stack.get("/api/symbols/spot?quote=USDT").await.json();
    let n = usdt["count"].as_u64().unwrap();
    assert!(n > 300 && n < SPOT_COUNT, "USDT pairs: {n}");
    assert!(usdt["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["quoteAsset"] == "USDT"));

    // One symbol, including a non-ASCII futures symbol.
    let one = stack.get("/api/symbols/spot/BTCUSDT").await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["symbol"], "BTCUSDT");
    let cn = stack
        .get("/api/symbols/futures/%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT")
        .await;
    assert_eq!(cn.status, 200, "{}", cn.text());
    assert_eq!(cn.json()["symbol"], "币安人生USDT");
    assert!(cn.json()["contractType"].is_string());
    assert!(cn.json()["marginAsset"].is_string());
    let missing = stack.get("/api/symbols/spot/NOPEUSDT").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["symbol"], "NOPEUSDT");

    // Routing errors are JSON.
    let bad_market = stack.get("/api/symbols/margin").await;
    assert_eq!(bad_market.status, 404);
    assert!(bad_market.json()["error"]
        .as_str()
        .unwrap()
        .contains("margin"));
    let wrong_method = stack.request("DELETE", "/api/symbols/spot", &[]).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("GET, HEAD, OPTIONS"));
    let bad_pct = stack.get("/api/symbols/spot/%ZZ").await;
    assert_eq!(bad_pct.status, 400);
    assert!(bad_pct.json()["error"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_gives_304_and_edge_cache_serves_without_redis() {
    let mut stack = Stack::start_with(Options::default().var("EDGE_CACHE_TTL_SECONDS", "30")).await;
    let first = stack.get("/api/symbols/spot").await;
    assert_eq!(first.status, 200);
    let etag = first.header("etag").expect("etag").to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong etag {etag}"
    );
    let not_modified = stack
        .request("GET", "/api/symbols/spot", &[("If-None-Match", &etag)])
        .await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    let other = stack
        .request(
            "GET",
            "/api/symbols/spot",
            &[("If-None-Match", "\"spot-0000\"")],
        )
        .await;
    assert_eq!(other.status, 200);

    // The edge copy answers even with the gateway gone.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stack.gateway.stop().await;
    let edge = stack.get("/api/symbols/spot").await;
    assert_eq!(edge.status, 200, "{}", edge.text());
    assert_eq!(edge.header("x-cache"), Some("HIT"));
    assert_eq!(edge.header("etag"), Some(etag.as_str()));
    assert_eq!(stack.exchange.requests(FxMarket::Spot), 1);
}

/// The isolate copy answers first, then the edge copy once it expires; and a burst of hits
/// is counted exactly, in far fewer Redis commands than hits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolate_copy_then_edge_copy_and_coalesced_hit_counters() {
    let stack = Stack::start_with(
        Options::default()
            .var("EDGE_CACHE_TTL_SECONDS", "30")
            .var("ISOLATE_CACHE_TTL_SECONDS", "2"),
    )
    .await;
    stack.fire_cron().await;
    let tiers = |log: &str| -> Vec<String> {
        log.lines()
            // wrangler may prefix a line; the JSON object is the rest of it.
            .filter_map(|l| {
                l.find('{')
                    .and_then(|i| serde_json::from_str::<serde_json::Value>(l[i..].trim()).ok())
            })
            .filter(|v| v["event"] == "request" && v["route"] == "list")
            .map(|v| v["cache_tier"].as_str().unwrap_or("none").to_string())
            .collect()
    };
    // The first hit fills this isolate's copy (unless the cron's fill is still fresh);
    // the next one is served from it; once it expires (2 s) the edge copy answers and
    // refills it; then the isolate again.
    let first = stack.get("/api/symbols/spot").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-cache"), Some("HIT"));
    let etag = first.header("etag").expect("etag").to_string();
    let second = stack.get("/api/symbols/spot").await;
    tokio::time::sleep(std::time::Duration::from_millis(2300)).await;
    let third = stack.get("/api/symbols/spot").await;
    let fourth = stack
        .request("GET", "/api/symbols/spot", &[("If-None-Match", &etag)])
        .await;
    assert_eq!(second.body, first.body, "the same bytes from either copy");
    assert_eq!(third.body, first.body, "the same bytes from either copy");
    assert_eq!(fourth.status, 304);
    let mut seen = tiers(&stack.log());
    for _ in 0..60 {
        if seen.len() >= 4 {
            break;
        }
        // wrangler relays the Worker's output asynchronously.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        seen = tiers(&stack.log());
    }
    assert_eq!(seen.len(), 4, "{}", stack.log_tail());
    assert_eq!(
        seen[1..],
        ["isolate", "edge", "isolate"],
        "{}",
        stack.log_tail()
    );
    let body = first.json();
    assert_eq!(body["source"], "cache");
    assert_eq!(body["count"], SPOT_COUNT);

    assert_eq!(
        stack
            .redis_int_eventually("metrics:cache_hit:symbols_spot", 4)
            .await,
        4
    );
    let before = stack.gateway_stats().await;
    let burst = (0..40).map(|_| stack.get("/api/symbols/spot"));
    let answers = futures::future::join_all(burst).await;
    assert!(answers
        .iter()
        .all(|r| r.status == 200 && r.header("x-cache") == Some("HIT")));
    assert_eq!(
        stack
            .redis_int_eventually("metrics:cache_hit:symbols_spot", 44)
            .await,
        44,
        "every hit counted"
    );
    let after = stack.gateway_stats().await;
    let commands =
        after["commands"].as_u64().unwrap_or(0) - before["commands"].as_u64().unwrap_or(0);
    println!("40 concurrent edge hits: {commands} Redis commands");
    assert!(
        commands < 20,
        "40 hits cost {commands} Redis commands: counters were not coalesced"
    );
}

/// The per-request log line (written field by field, no JSON tree) parses with every field
/// dashboards read, and `HIT_LOG_SAMPLE` thins routine hits only: the miss and the errors
/// each keep their line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_log_lines_parse_and_hit_sampling_keeps_misses_and_errors() {
    let stack = Stack::start_with(
        Options::default()
            .var("EDGE_CACHE_TTL_SECONDS", "30")
            .var("ISOLATE_CACHE_TTL_SECONDS", "30")
            .var("HIT_LOG_SAMPLE", "4"),
    )
    .await;
    let requests = |log: &str| -> Vec<serde_json::Value> {
        log.lines()
            // wrangler may prefix a line; the JSON object is the rest of it.
            .filter_map(|l| {
                l.find('{')
                    .and_then(|i| serde_json::from_str::<serde_json::Value>(l[i..].trim()).ok())
            })
            .filter(|v| v["event"] == "request")
            .collect()
    };
    let miss = stack.get("/api/symbols/spot").await;
    assert_eq!(miss.header("x-cache"), Some("MISS"), "{}", miss.text());
    // The copies fill after the response (waitUntil): the hits below are the isolate's.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for _ in 0..8 {
        let hit = stack.get("/api/symbols/spot").await;
        assert_eq!(hit.header("x-cache"), Some("HIT"));
    }
    let missing = stack.get("/api/symbols/spot/NOSUCHPAIR").await;
    assert_eq!(missing.status, 404, "{}", missing.text());
    let not_allowed = stack.request("DELETE", "/api/symbols/spot", &[]).await;
    assert!(not_allowed.status >= 400, "{}", not_allowed.text());
    // 1 miss + 2 of the 8 hits (the 1st and the 5th) + 2 errors.
    let mut lines = requests(&stack.log());
    for _ in 0..60 {
        if lines.len() >= 5 {
            break;
        }
        // wrangler relays the Worker's output asynchronously.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        lines = requests(&stack.log());
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let lines = requests(&stack.log());
    let fields = [
        "level",
        "event",
        "request_id",
        "method",
        "route",
        "market",
        "status",
        "cache",
        "cache_tier",
        "upstream_status",
        "redis_round_trips",
        "duration_ms",
    ];
    for line in &lines {
        let obj = line.as_object().expect("an object");
        for f in fields {
            assert!(obj.contains_key(f), "{f} missing from {line}");
        }
        assert_eq!(obj.len(), fields.len(), "no other fields: {line}");
        assert!(line["duration_ms"].is_number(), "{line}");
        assert!(
            line["status"].is_u64() && line["redis_round_trips"].is_u64(),
            "{line}"
        );
    }
    let list = |cache: &str| {
        lines
            .iter()
            .filter(|l| l["route"] == "list" && l["cache"] == cache)
            .count()
    };
    assert_eq!(list("MISS"), 1, "{lines:#?}");
    assert_eq!(list("HIT"), 2, "one hit line in 4: {lines:#?}");
    let miss_line = lines.iter().find(|l| l["cache"] == "MISS").expect("miss");
    assert_eq!(miss_line["level"], "info");
    assert_eq!(miss_line["method"], "GET");
    assert_eq!(miss_line["route"], "list");
    assert_eq!(miss_line["market"], "spot");
    assert_eq!(miss_line["status"], 200);
    assert_eq!(miss_line["upstream_status"], 200);
    assert!(lines
        .iter()
        .filter(|l| l["route"] == "list" && l["cache"] == "HIT")
        .all(|l| l["cache_tier"] == "isolate" && l["upstream_status"].is_null()));
    let errors: Vec<_> = lines
        .iter()
        .filter(|l| l["status"].as_u64() >= Some(400))
        .collect();
    assert_eq!(errors.len(), 2, "every error keeps its line: {lines:#?}");
    assert!(
        errors
            .iter()
            .any(|l| l["status"] == 404 && l["route"] == "symbol"),
        "{errors:#?}"
    );
}

/// Under bare workerd with testkit's in-memory cache service (what `make bench` measures
/// edge hits with), the Cache API really keeps our copy: with the isolate copy off, a hit
/// after the cron is an edge hit, and it still answers, byte for byte, with the gateway gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_workerd_edge_copy_from_the_in_memory_cache_service() {
    let mut stack = Stack::start_with(
        Options::default()
            .runtime(Runtime::WorkerdWithCache)
            .var("EDGE_CACHE_TTL_SECONDS", "30")
            .var("ISOLATE_CACHE_TTL_SECONDS", "0"),
    )
    .await;
    stack.fire_cron().await;
    let first = stack.get("/api/symbols/spot").await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-cache"), Some("HIT"));
    // waitUntil work (the counter) lands after the response.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    stack.gateway.stop().await;
    let edge = stack.get("/api/symbols/spot").await;
    assert_eq!(edge.status, 200, "{}", edge.text());
    assert_eq!(edge.header("x-cache"), Some("HIT"));
    assert_eq!(
        edge.body, first.body,
        "the same bytes from the cache service"
    );
    let tiers: Vec<String> = stack
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "request" && v["route"] == "list")
        .map(|v| v["cache_tier"].as_str().unwrap_or("none").to_string())
        .collect();
    assert_eq!(tiers.last().map(String::as_str), Some("edge"), "{tiers:?}");
}

/// Each tier is read once per request: a miss asks the Cache API once on its way to Redis
/// (whole list or filtered), and a filtered hit is answered from this isolate's copy
/// without asking the Cache API at all. Counted from the in-memory cache service's lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_lookup_per_tier_on_a_miss_and_the_isolate_copy_serves_filters() {
    let stack = Stack::start_with(
        Options::default()
            .runtime(Runtime::WorkerdWithCache)
            .var("EDGE_CACHE_TTL_SECONDS", "30")
            .var("ISOLATE_CACHE_TTL_SECONDS", "30"),
    )
    .await;
    let lookups = |market: &str| {
        let url = format!("https://symbols-edge.internal/v2/{market}");
        stack
            .log()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "cache_api_miss" && v["url"] == url.as_str())
            .count()
    };
    let spot = stack.get("/api/symbols/spot").await;
    assert_eq!(spot.status, 200, "{}", spot.text());
    assert_eq!(spot.header("x-cache"), Some("MISS"));
    let futures = stack.get("/api/symbols/futures?quote=USDT").await;
    assert_eq!(futures.status, 200, "{}", futures.text());
    assert_eq!(futures.header("x-cache"), Some("MISS"));
    // The refill lands after the response (waitUntil).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(lookups("spot"), 1, "{}", stack.log_tail());
    assert_eq!(lookups("futures"), 1, "{}", stack.log_tail());

    // A filtered request and a single symbol: from the isolate's copy the miss filled, with
    // no Cache API read.
    let filtered = stack.get("/api/symbols/spot?quote=BTC").await;
    assert_eq!(filtered.status, 200, "{}", filtered.text());
    assert_eq!(filtered.header("x-cache"), Some("HIT"));
    let body = filtered.json();
    assert_eq!(body["source"], "cache");
    let symbols = body["symbols"].as_array().expect("symbols");
    assert!(!symbols.is_empty());
    assert!(symbols.iter().all(|s| s["quoteAsset"] == "BTC"));
    let all = spot.json()["symbols"].as_array().map_or(0, Vec::len);
    assert!(symbols.len() < all, "{} of {all}", symbols.len());
    let one = stack.get("/api/symbols/spot/BTCUSDT").await;
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.header("x-cache"), Some("HIT"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        lookups("spot"),
        1,
        "no Cache API read: {}",
        stack.log_tail()
    );
    let tiers: Vec<String> = stack
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "request" && v["market"] == "spot")
        .map(|v| v["cache_tier"].as_str().unwrap_or("none").to_string())
        .collect();
    assert_eq!(
        tiers,
        ["none", "isolate", "isolate"],
        "{}",
        stack.log_tail()
    );
}
