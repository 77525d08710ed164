//! One Redis, two systems: the Worker in workerd next to the original Python system
//! (`tests/tools/original.py`, written from the contract, with redis-py) on the same
//! redis-server. Each reads what the other writes, they count into the same counters,
//! and neither ever loses the other's data.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{root, Fault, FxMarket, Stack};

const MARKETS: [(&str, FxMarket); 2] = [("spot", FxMarket::Spot), ("futures", FxMarket::Futures)];

/// Runs the original system's command line against the stack's Redis and exchange.
async fn original(stack: &Stack, args: &[&str]) -> Value {
    let python = root().join(".local/venv/bin/python");
    let script = root().join("tests/tools/original.py");
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .args(args)
        .env(
            "REDIS_URL",
            format!("redis://127.0.0.1:{}/0", stack.redis.port()),
        )
        .env("ORIGINAL_SPOT_BASE", &stack.exchange.base_url)
        .env("ORIGINAL_FUTURES_BASE", &stack.exchange.base_url)
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run python (make test installs it)");
    assert!(
        out.status.success(),
        "original.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("original.py {args:?} printed no JSON: {e}"))
}

/// What the original would store for this payload: its own `prepare`, run on the
/// exchangeInfo the fake exchange serves.
async fn prepared_by_original(stack: &Stack, market: &str) -> Value {
    let path = if market == "spot" {
        "/api/v3/exchangeInfo"
    } else {
        "/fapi/v1/exchangeInfo"
    };
    let payload = reqwest::get(stack.exchange.url(path))
        .await
        .expect("exchangeInfo")
        .bytes()
        .await
        .expect("body");
    let python = root().join(".local/venv/bin/python");
    let script = root().join("tests/tools/original.py");
    let market = market.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(python)
            .arg(script)
            .args(["prepare", &market])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python");
        std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), &payload)
            .expect("write payload");
        drop(child.stdin.take());
        child.wait_with_output().expect("prepare")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("prepared list")
}

fn json_at(stack: &Stack, key: &str) -> Value {
    let raw = stack
        .redis_get(key)
        .unwrap_or_else(|| panic!("{key} is missing"));
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{key} is not JSON: {e}"))
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|s| s["symbol"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn binance_down(stack: &Stack) {
    for (_, fx) in MARKETS {
        stack.exchange.handle.set_sticky(
            fx,
            Some(Fault::Status {
                code: 503,
                retry_after: None,
            }),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_warms_and_the_originals_route_hits_with_the_list_it_would_have_written() {
    let stack = Stack::start().await;
    stack.fire_cron().await;
    for (m, _) in MARKETS {
        let want = prepared_by_original(&stack, m).await;
        assert!(
            want.as_array().is_some_and(|a| a.len() > 100),
            "{m}: a list of today's size"
        );
        assert_eq!(
            json_at(&stack, &format!("cache:symbols:{m}:v1")),
            want,
            "{m}: :v1 JSON-equal to the original's own"
        );
        assert_eq!(
            json_at(&stack, &format!("cache:symbols:{m}:last_good")),
            want,
            "{m}: last_good"
        );
        let ts = json_at(
            &stack,
            &format!("metrics:{m}_symbols_cache:last_refresh_ts"),
        );
        assert!(
            ts.as_i64().is_some_and(|t| t > 1_700_000_000),
            "{m}: a JSON integer, got {ts}"
        );
        assert_eq!(
            stack.redis_int(&format!("metrics:warmup_{m}_symbols_cache:success")),
            1
        );
        let ttl = stack.redis_ttl(&format!("cache:symbols:{m}:v1"));
        assert!(
            (200..=300).contains(&ttl),
            "{m}: the original's TTL, got {ttl}"
        );

        let served = original(&stack, &["route", m]).await;
        assert_eq!(
            served, want,
            "{m}: the original's route serves our write as its own"
        );
        assert_eq!(
            stack.redis_int(&format!("metrics:cache_hit:symbols_{m}")),
            1,
            "{m}: a hit for the original"
        );
        assert_eq!(
            stack.redis_int(&format!("metrics:cache_miss:symbols_{m}")),
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_warms_and_the_worker_with_binance_down_serves_its_list_as_usdt_only() {
    let stack = Stack::start().await;
    for (m, _) in MARKETS {
        assert_eq!(original(&stack, &["warmup", m]).await["ok"], true);
    }
    let before: Vec<_> = MARKETS
        .iter()
        .map(|(m, _)| stack.redis_get(&format!("cache:symbols:{m}:last_good")))
        .collect();
    binance_down(&stack);
    for (m, _) in MARKETS {
        let theirs = json_at(&stack, &format!("cache:symbols:{m}:last_good"));
        let r = stack.get(&format!("/api/symbols/{m}")).await;
        assert_eq!(r.status, 200, "{m}: {}", r.text());
        assert_eq!(r.header("X-Cache"), Some("STALE"));
        let body = r.json();
        assert_eq!(body["source"], "original_last_good");
        assert_eq!(
            body["onlyQuoteAsset"], "USDT",
            "{m}: the body says it covers USDT only"
        );
        assert_eq!(body["count"], theirs.as_array().map_or(0, Vec::len));
        assert_eq!(
            names(&body["symbols"]),
            names(&theirs),
            "{m}: their list, their order"
        );
        let first = &body["symbols"][0];
        assert_eq!(first["symbol"], theirs[0]["symbol"]);
        assert!(
            first["tickSize"].is_string(),
            "{m}: projected to our shape: {first}"
        );
        // Filters and lookups work on it too.
        let one = stack
            .get(&format!(
                "/api/symbols/{m}/{}",
                theirs[0]["symbol"].as_str().unwrap_or_default()
            ))
            .await;
        assert_eq!(one.status, 200, "{}", one.text());
    }
    let after: Vec<_> = MARKETS
        .iter()
        .map(|(m, _)| stack.redis_get(&format!("cache:symbols:{m}:last_good")))
        .collect();
    assert_eq!(
        before, after,
        "a failing refresh never touches the original's keys"
    );
    // The misses (the list and the lookup) are counted where the original counts them.
    assert_eq!(
        stack
            .redis_int_eventually("metrics:cache_miss:symbols_spot", 2)
            .await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_binance_down_each_serves_the_others_last_good() {
    // The Worker wrote; the original reads.
    let stack = Stack::start().await;
    stack.fire_cron().await;
    let want = prepared_by_original(&stack, "futures").await;
    stack.redis.cli(&[
        "DEL",
        "cache:symbols:futures:v1",
        "symbols-edge:futures:document",
    ]);
    binance_down(&stack);
    let served = original(&stack, &["route", "futures"]).await;
    assert_eq!(
        served, want,
        "the original's fallback is our last_good write"
    );
    // And the Worker, with its own document gone too, still has ours.
    let r = stack.get("/api/symbols/futures").await;
    assert_eq!((r.status, r.header("X-Cache")), (200, Some("STALE")));
    assert_eq!(
        r.json()["source"],
        "last_good",
        "our own last good comes first"
    );
    assert!(r.json()["onlyQuoteAsset"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_count_into_the_same_counters_and_the_totals_add_up_under_concurrent_load() {
    // Bare workerd (with the in-memory cache service behind the Cache API): what is counted
    // is the Worker's, and under 12 concurrent clients `wrangler dev`'s proxy now and then
    // leaves a request unanswered (no Worker log line for it) on a busy two-core machine.
    let stack = Stack::start_with(
        crate::support::Options::default().runtime(crate::support::Runtime::WorkerdWithCache),
    )
    .await;
    stack.fire_cron().await;
    const CALLS: usize = 120;
    // Round 1, warm: every request of either system is a hit. Round 2, both primaries
    // gone: the first requests miss (and refresh), the rest hit; the totals stay exact.
    for round in 0..2 {
        if round == 1 {
            stack.redis.cli(&[
                "DEL",
                "cache:symbols:futures:v1",
                "symbols-edge:futures:document",
            ]);
        }
        let hits0 = stack.redis_int("metrics:cache_hit:symbols_futures");
        let misses0 = stack.redis_int("metrics:cache_miss:symbols_futures");
        let worker = async {
            let mut ok = 0;
            for chunk in 0..(CALLS / 6) {
                // A filter: small bodies (wrangler dev's proxy holds a connection per ~4 KB
                // of relayed body), counted exactly like the whole list.
                let batch = (0..6).map(|_| stack.get("/api/symbols/futures?base=BTC"));
                for r in futures::future::join_all(batch).await {
                    assert_eq!(r.status, 200, "round {round} chunk {chunk}: {}", r.text());
                    ok += 1;
                }
            }
            ok
        };
        let calls = CALLS.to_string();
        let args = ["load", "futures", calls.as_str(), "6"];
        let (served, theirs) = tokio::join!(worker, original(&stack, &args));
        assert_eq!(served, CALLS);
        assert_eq!(
            theirs["lists"], CALLS as u64,
            "round {round}: every original call got a list: {theirs}"
        );
        let total = |hits0: i64, misses0: i64| {
            stack.redis_int("metrics:cache_hit:symbols_futures") - hits0
                + stack.redis_int("metrics:cache_miss:symbols_futures")
                - misses0
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while total(hits0, misses0) < 2 * CALLS as i64 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            total(hits0, misses0),
            2 * CALLS as i64,
            "round {round}: one count per request, from both systems"
        );
        let misses = stack.redis_int("metrics:cache_miss:symbols_futures") - misses0;
        if round == 0 {
            assert_eq!(misses, 0, "warm: no misses");
        } else {
            assert!(misses >= 1, "cold: the first requests miss");
        }
    }
    assert!(stack.exchange.handle.requests(FxMarket::Futures) >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_either_system_writes_is_lost_to_the_other() {
    let stack = Stack::start().await;
    stack.fire_cron().await;
    assert_eq!(original(&stack, &["warmup", "spot"]).await["ok"], true);
    let keys = [
        "cache:symbols:spot:last_good",
        "symbols-edge:spot:document:last_good",
        "symbols-edge:spot:document",
        "symbols-edge:spot:stored",
    ];
    let want = prepared_by_original(&stack, "spot").await;
    assert_eq!(
        json_at(&stack, "cache:symbols:spot:v1"),
        want,
        "the original's own write"
    );
    let snapshot: Vec<_> = keys.iter().map(|k| stack.redis_get(k)).collect();
    // Binance fails for both: the original's warmup and route, the Worker's cron and a
    // forced miss each fail or fall back, and every stored value stays as it was.
    binance_down(&stack);
    assert_eq!(original(&stack, &["warmup", "spot"]).await["ok"], false);
    assert_eq!(
        stack.redis_int("metrics:warmup_spot_symbols_cache:error"),
        1,
        "one error per failed warmup"
    );
    stack.fire_cron().await;
    assert_eq!(
        stack.redis_int("metrics:warmup_spot_symbols_cache:error"),
        2
    );
    stack
        .redis
        .cli(&["DEL", "cache:symbols:spot:v1", "symbols-edge:spot:document"]);
    assert_eq!(original(&stack, &["route", "spot"]).await, want);
    let r = stack.get("/api/symbols/spot").await;
    assert_eq!(r.header("X-Cache"), Some("STALE"));
    let after: Vec<_> = keys.iter().map(|k| stack.redis_get(k)).collect();
    assert_eq!(&after[..2], &snapshot[..2], "both last_good values intact");
    assert_eq!(after[3], snapshot[3]);
    // Binance back: the next refresh rewrites the original's keys with its kind of value.
    for (_, fx) in MARKETS {
        stack.exchange.handle.set_sticky(fx, None);
    }
    stack.fire_cron().await;
    assert_eq!(json_at(&stack, "cache:symbols:spot:v1"), want);
    assert_eq!(original(&stack, &["route", "spot"]).await, want);
}

/// Redis request bytes (bodies and URLs, as the gateway counts them), reply bytes and
/// commands of one admin refresh.
async fn refresh_bytes(stack: &Stack, market: &str) -> (u64, u64, u64) {
    let before = stack.gateway_stats().await;
    let r = stack
        .request(
            "POST",
            &format!("/api/symbols/{market}/refresh"),
            &[("Authorization", "Bearer side-by-side-admin")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let after = stack.gateway_stats().await;
    let delta = |k: &str| after[k].as_u64().unwrap_or(0) - before[k].as_u64().unwrap_or(0);
    (
        delta("requestBytes"),
        delta("responseBytes"),
        delta("commands"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_refresh_sends_under_2_kb_to_redis() {
    let stack = Stack::start_with(
        crate::support::Options::default().var("ADMIN_TOKEN", "side-by-side-admin"),
    )
    .await;
    for (m, fx) in MARKETS {
        let (changed, changed_down, _) = refresh_bytes(&stack, m).await;
        let (unchanged, unchanged_down, commands) = refresh_bytes(&stack, m).await;
        // Lock + stored + back-off; EXPIRE and GETRANGE probes for each pair of values
        // (our document, the original's list, our ccxt markets); EXPIRE of our full records
        // and EXISTS of their last good copy (a hash: no ends to probe); timestamp,
        // counter, outcome, unlock. The changes feed adds nothing here.
        assert_eq!(commands, 24, "{m}: commands of an unchanged refresh");
        eprintln!("{m}: refresh bytes to Redis: changed {changed} (replies {changed_down}), unchanged {unchanged} (replies {unchanged_down})");
        assert!(
            changed > 100_000,
            "{m}: a new list is written in full ({changed} bytes)"
        );
        assert!(
            unchanged <= 2_048,
            "{m}: an unchanged refresh sent {unchanged} bytes"
        );
        assert!(
            unchanged_down <= 2_048,
            "{m}: and read {unchanged_down} bytes"
        );
        let ttl = stack.redis_ttl(&format!("cache:symbols:{m}:v1"));
        assert!((295..=300).contains(&ttl), "{m}: TTL extended, got {ttl}");
        // A changed list after a stored one: the same write batch also reads the document
        // it replaces (the changes diff), so the replies carry that document once; what is
        // sent grows only by the change events' XADDs.
        let previous = stack
            .redis_get(&format!("symbols-edge:{m}:document:last_good"))
            .map_or(0, |d| d.len() as u64);
        let payload = match fx {
            crate::support::FxMarket::Spot => crate::changes::changed_spot(),
            crate::support::FxMarket::Futures => crate::changes::changed_futures(),
        };
        stack.exchange.set_payload(fx, payload).expect("payload");
        let (diffed, diffed_down, _) = refresh_bytes(&stack, m).await;
        eprintln!("{m}: changed with a previous list: {diffed} (replies {diffed_down}; previous document {previous})");
        assert!(
            diffed_down >= previous && diffed_down < previous * 3 / 2 + 4_096,
            "{m}: the replaced document is read once (base64: 4/3): {diffed_down} for {previous}"
        );
        assert!(
            diffed < changed + 8_192,
            "{m}: the events add little: {diffed} vs {changed}"
        );
    }
}
