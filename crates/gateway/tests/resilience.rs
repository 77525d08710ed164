//! Refused blocking commands, Redis going away and coming back, concurrency, shutdown.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{self, send};

#[tokio::test]
async fn blocking_and_connection_state_commands_are_refused_fast() {
    let gw = support::start().await;
    let refused = [
        json!(["BLPOP", "l", 0]),
        json!(["BRPOP", "l", 0]),
        json!(["BLMOVE", "a", "b", "LEFT", "RIGHT", 0]),
        json!(["BRPOPLPUSH", "a", "b", 0]),
        json!(["BZPOPMIN", "z", 0]),
        json!(["BZPOPMAX", "z", 0]),
        json!(["BLMPOP", 0, 1, "l", "LEFT"]),
        json!(["BZMPOP", 0, 1, "z", "MIN"]),
        json!(["XREAD", "BLOCK", 0, "STREAMS", "s", "$"]),
        json!([
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            0,
            "STREAMS",
            "s",
            ">"
        ]),
        json!(["SUBSCRIBE", "ch"]),
        json!(["PSUBSCRIBE", "ch*"]),
        json!(["SSUBSCRIBE", "ch"]),
        json!(["MONITOR"]),
        json!(["SYNC"]),
        json!(["PSYNC", "?", -1]),
        json!(["WAIT", 1, 0]),
        json!(["QUIT"]),
        json!(["SELECT", 1]),
        json!(["AUTH", "x"]),
        json!(["HELLO", 3]),
        json!(["RESET"]),
        json!(["MULTI"]),
        json!(["EXEC"]),
        json!(["WATCH", "k"]),
    ];
    for command in refused {
        let started = Instant::now();
        let (status, body) = gw.cmd(command.clone()).await;
        assert_eq!(status, 400, "{command} -> {body}");
        let error = support::error(&body);
        let name = command[0].as_str().unwrap_or_default().to_ascii_lowercase();
        assert!(
            error.starts_with("ERR") && error.contains(&name),
            "{command} -> {error}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{command} took {:?}",
            started.elapsed()
        );
    }
    // Non-blocking XREAD still works; the shared connections are still usable and on db 0.
    gw.ok(json!(["XADD", "s", "1-1", "f", "v"])).await;
    assert_eq!(
        gw.ok(json!(["XREAD", "COUNT", 1, "STREAMS", "s", "0"]))
            .await[0][0],
        json!("s")
    );
    gw.ok(json!(["SET", "still", "db0"])).await;
    assert_eq!(gw.redis.cli_raw(&["GET", "still"]), "db0");
}

#[tokio::test]
async fn redis_down_gives_fast_5xx_and_gateway_recovers() {
    let mut gw = support::start().await;
    // Warm the pool so the next request reuses a connection that is about to die.
    for _ in 0..3 {
        gw.ok(json!(["SET", "k", "v"])).await;
    }
    gw.redis.stop();
    for attempt in 0..3 {
        let started = Instant::now();
        let (status, body) = gw.cmd(json!(["GET", "k"])).await;
        let took = started.elapsed();
        assert!(
            status == 502 || status == 503,
            "attempt {attempt}: {status} {body}"
        );
        assert!(support::error(&body).contains("redis"), "{body}");
        assert!(
            took < Duration::from_secs(3),
            "attempt {attempt}: took {took:?}"
        );
    }
    let (status, body) = gw.post_json("/pipeline", json!([["PING"]])).await;
    assert!(status == 502 || status == 503, "{status} {body}");
    let (status, _) = gw.post_json("/multi-exec", json!([["PING"]])).await;
    assert!(status == 502 || status == 503);
    gw.redis.restart();
    // The first request after Redis is back succeeds: no stale pooled connection leaks through.
    assert_eq!(gw.ok(json!(["SET", "back", "yes"])).await, json!("OK"));
    assert_eq!(gw.ok(json!(["GET", "back"])).await, json!("yes"));
    // And again after a restart while connections sit idle in the pool.
    for _ in 0..3 {
        gw.ok(json!(["PING"])).await;
    }
    gw.redis.restart();
    assert_eq!(gw.ok(json!(["PING"])).await, json!("PONG"));
    let (status, body) = gw
        .post_json("/pipeline", json!([["PING"], ["ECHO", "x"]]))
        .await;
    assert_eq!(
        (status, body),
        (200, json!([{"result": "PONG"}, {"result": "x"}]))
    );
}

#[tokio::test]
async fn redis_never_up_gives_503_quickly() {
    let port = testkit::free_port();
    let (url, shutdown, _task) =
        support::start_gateway(format!("redis://127.0.0.1:{port}"), |_| {}).await;
    let http = support::client();
    let started = Instant::now();
    let (status, body) = send(
        http.post(format!("{url}/"))
            .bearer_auth(support::TOKEN)
            .json(&json!(["PING"])),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        support::error(&body).contains("redis unavailable"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let _ = shutdown.send(());
}

#[tokio::test]
async fn concurrent_requests_share_the_pool_correctly() {
    let gw = support::start().await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let req = gw.post("/").json(&json!(["INCR", "counter"]));
        let tx = gw
            .post("/multi-exec")
            .json(&json!([["RPUSH", "list", i], ["RPUSH", "list", i]]));
        tasks.push(tokio::spawn(async move {
            let (s1, _) = send(req).await;
            let (s2, body) = send(tx).await;
            (s1, s2, body)
        }));
    }
    for task in tasks {
        let (s1, s2, body) = task.await.expect("task");
        assert_eq!((s1, s2), (200, 200), "{body}");
    }
    assert_eq!(gw.ok(json!(["GET", "counter"])).await, json!("64"));
    // Transactions were atomic: every value appears twice in a row.
    let list = gw.ok(json!(["LRANGE", "list", 0, -1])).await;
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 128);
    for pair in list.chunks(2) {
        assert_eq!(pair[0], pair[1], "interleaved transaction: {list:?}");
    }
}

#[tokio::test]
async fn run_returns_after_shutdown() {
    let mut gw = support::start().await;
    gw.ok(json!(["PING"])).await;
    gw.shutdown().await.expect("run returned Ok");
    let err = gw.http.get(gw.at("/ping")).send().await;
    assert!(err.is_err(), "gateway still answering after shutdown");
}

#[tokio::test]
async fn invalid_redis_url_is_a_config_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let config = upstash_gateway::Config {
        redis_url: "http://nope".into(),
        ..Default::default()
    };
    let result = upstash_gateway::run(listener, config, async {}).await;
    assert!(
        matches!(result, Err(upstash_gateway::Error::Config(_))),
        "{result:?}"
    );
}
