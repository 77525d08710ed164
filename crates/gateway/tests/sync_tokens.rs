//! Read-your-writes tokens over raw HTTP: a new, larger `upstash-sync-token` on every response
//! (success, Redis error, 401, batches, stats), and every kind of received token accepted
//! (`src/sync_token.rs` documents the rules).

use serde_json::{json, Value};

use crate::support;

const HEADER: &str = "upstash-sync-token";

/// Sends `request`; returns status, body and the sync token answered.
async fn exchange(request: reqwest::RequestBuilder) -> (u16, Value, u64) {
    let response = request.send().await.expect("send");
    let token = response
        .headers()
        .get(HEADER)
        .unwrap_or_else(|| panic!("no {HEADER} on a {} answer", response.status()))
        .to_str()
        .expect("ASCII token")
        .parse::<u64>()
        .expect("decimal token");
    let (status, body) = support::parts(response).await;
    (status, body, token)
}

#[tokio::test]
async fn every_response_carries_a_larger_token() {
    let gw = support::start().await;
    let requests = [
        gw.post("/").json(&json!(["SET", "k", "v"])),
        gw.post("/").json(&json!(["GET", "k"])),
        gw.get("/get/k"),
        gw.post("/pipeline")
            .json(&json!([["INCR", "c"], ["GET", "c"]])),
        gw.post("/multi-exec").json(&json!([["INCR", "c"]])),
        gw.post("/").json(&json!(["INCR", "k"])), // 400: not an integer
        gw.http.post(gw.at("/")).json(&json!(["GET", "k"])), // 401: no token
        gw.get("/__gateway/stats"),
        gw.get("/blpop/k/0"), // refused
    ];
    let mut last = 0;
    let mut statuses = Vec::new();
    for request in requests {
        let (status, _, token) = exchange(request).await;
        assert!(token > last, "token {token} after {last}");
        last = token;
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 400, 401, 200, 400]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_responses_get_distinct_tokens() {
    let gw = support::start().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        tasks.spawn(exchange(gw.post("/").json(&json!([
            "SET",
            format!("k{i}"),
            i
        ]))));
    }
    let mut tokens = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, _, token) = done.expect("request task");
        assert_eq!(status, 200);
        tokens.push(token);
    }
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), 40, "duplicate tokens");
}

#[tokio::test]
async fn received_tokens_are_honoured_or_ignored_never_refused() {
    let gw = support::start().await;
    let (_, _, written) = exchange(gw.post("/").json(&json!(["SET", "k", "written"]))).await;
    let cases: [(&str, String); 5] = [
        ("the write's token", written.to_string()),
        ("empty (the SDK's first request)", String::new()),
        ("malformed", "not-a-token".to_string()),
        ("too long", "1".repeat(21)),
        ("from the future", u64::MAX.to_string()),
    ];
    let (_, before) = support::send(gw.post("/__gateway/stats/reset")).await;
    assert!(before["syncTokens"].is_u64(), "{before}");
    for (what, token) in &cases {
        let (status, body, answered) = exchange(
            gw.post("/")
                .header(HEADER, token.as_str())
                .json(&json!(["GET", "k"])),
        )
        .await;
        assert_eq!(
            (status, &body),
            (200, &json!({"result": "written"})),
            "{what}"
        );
        assert!(
            answered > written && answered < u64::MAX,
            "{what}: answered {answered}"
        );
    }
    let (_, stats) = support::send(gw.get("/__gateway/stats")).await;
    assert_eq!(stats["requests"], json!(5), "{stats}");
    assert_eq!(
        stats["syncTokens"],
        json!(2),
        "the write's and the future one: {stats}"
    );
    assert_eq!(stats["syncTokensFuture"], json!(1), "{stats}");
    // The token is not a credential: it never replaces the bearer token.
    let (status, _, _) = exchange(
        gw.http
            .post(gw.at("/"))
            .header(HEADER, written.to_string())
            .json(&json!(["GET", "k"])),
    )
    .await;
    assert_eq!(status, 401);
}
