//! The REST protocol over raw HTTP: commands, auth, status codes, path style, pipelines,
//! transactions, size limit, stats.

use serde_json::json;

use crate::support::{self, parts, RO_TOKEN, TOKEN};

const WRONGPASS: &str = "WRONGPASS invalid or missing auth token";

#[tokio::test]
async fn json_array_commands_with_number_and_boolean_arguments() {
    let gw = support::start().await;
    assert_eq!(
        gw.ok(json!(["SET", "k", "v", "EX", 100])).await,
        json!("OK")
    );
    assert_eq!(gw.ok(json!(["GET", "k"])).await, json!("v"));
    let ttl = gw
        .ok(json!(["TTL", "k"]))
        .await
        .as_i64()
        .expect("integer ttl");
    assert!((90..=100).contains(&ttl), "ttl {ttl}");
    assert_eq!(gw.ok(json!(["SET", "n", 42])).await, json!("OK"));
    assert_eq!(gw.ok(json!(["GET", "n"])).await, json!("42"));
    assert_eq!(gw.ok(json!(["INCRBY", "n", 8])).await, json!(50));
    assert_eq!(gw.ok(json!(["SET", "f", 1.5])).await, json!("OK"));
    assert_eq!(gw.ok(json!(["GET", "f"])).await, json!("1.5"));
    assert_eq!(gw.ok(json!(["SET", "b", true])).await, json!("OK"));
    assert_eq!(gw.ok(json!(["GET", "b"])).await, json!("true"));
    assert_eq!(gw.ok(json!(["GET", "missing"])).await, json!(null));
    gw.ok(json!(["RPUSH", "l", "a", "b"])).await;
    assert_eq!(
        gw.ok(json!(["LRANGE", "l", 0, -1])).await,
        json!(["a", "b"])
    );
    assert_eq!(
        gw.ok(json!(["MGET", "k", "missing"])).await,
        json!(["v", null])
    );
    gw.ok(json!(["HSET", "h", "f1", "v1"])).await;
    assert_eq!(gw.ok(json!(["HGETALL", "h"])).await, json!(["f1", "v1"]));
    // Redis-side data matches what the gateway reported.
    assert_eq!(gw.redis.cli_raw(&["GET", "n"]), "50");
    // Content-Type variants all accepted, including none at all.
    for content_type in [
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        None,
    ] {
        let mut req = gw.post("/").body(r#"["PING"]"#);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let (status, body) = parts(req.send().await.expect("send")).await;
        assert_eq!(
            (status, body),
            (200, json!({"result": "PONG"})),
            "{content_type:?}"
        );
    }
}

#[tokio::test]
async fn auth_by_header_or_query_and_401_otherwise() {
    let gw = support::start().await;
    let (status, body) = parts(
        gw.http
            .post(gw.at("/"))
            .json(&json!(["PING"]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, body), (401, json!({"error": WRONGPASS})));
    let (status, body) = parts(
        gw.http
            .post(gw.at("/"))
            .bearer_auth("wrong")
            .json(&json!(["PING"]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, body), (401, json!({"error": WRONGPASS})));
    let (status, body) = parts(
        gw.http
            .get(gw.at("/ping?_token=nope"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, body), (401, json!({"error": WRONGPASS})));
    let (status, body) = parts(
        gw.http
            .get(gw.at(&format!("/ping?_token={TOKEN}")))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"result": "PONG"})));
    let (status, body) = parts(
        gw.http
            .post(gw.at(&format!("/?_token={TOKEN}")))
            .json(&json!(["ECHO", "hi"]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"result": "hi"})));
    let (status, _) = parts(gw.get("/ping").send().await.expect("send")).await;
    assert_eq!(status, 200);
    // The stats endpoint needs auth too.
    let (status, _) = parts(
        gw.http
            .get(gw.at("/__gateway/stats"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn gateway_without_token_accepts_everything() {
    let gw = support::start_with(|c| {
        c.token = None;
        c.readonly_token = None;
    })
    .await;
    let (status, body) = parts(
        gw.http
            .get(gw.at("/set/open/yes"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"result": "OK"})));
}

#[tokio::test]
async fn readonly_token_may_read_but_not_write() {
    let gw = support::start().await;
    gw.ok(json!(["SET", "k", "v"])).await;
    let ro = |path: &str| gw.http.post(gw.at(path)).bearer_auth(RO_TOKEN);
    let (status, body) = parts(
        ro("/")
            .json(&json!(["GET", "k"]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"result": "v"})));
    let (status, body) = parts(
        ro("/")
            .json(&json!(["SET", "k", "x"]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "NOPERM this user has no permissions to run the 'set' command"})
        )
    );
    let (status, body) = parts(ro("/del/k").send().await.expect("send")).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "NOPERM this user has no permissions to run the 'del' command"})
        )
    );
    let (status, body) = parts(
        ro("/pipeline")
            .json(&json!([["GET", "k"], ["INCR", "c"], ["EXISTS", "k"]]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{"result": "v"}, {"error": "NOPERM this user has no permissions to run the 'incr' command"}, {"result": 1}])
    );
    let (status, body) = parts(
        ro("/multi-exec")
            .json(&json!([["GET", "k"], ["SET", "k", "y"]]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("NOPERM")),
        "{body}"
    );
    assert_eq!(
        gw.redis.cli_raw(&["GET", "k"]),
        "v",
        "read-only token changed data"
    );
    assert_eq!(gw.redis.cli_raw(&["EXISTS", "c"]), "0");
    // Read-only may read stats but not reset them.
    let (status, _) = parts(
        gw.http
            .get(gw.at("/__gateway/stats"))
            .bearer_auth(RO_TOKEN)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = parts(ro("/__gateway/stats/reset").send().await.expect("send")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn path_style_with_percent_decoding_body_and_query_args() {
    let gw = support::start().await;
    let (status, body) = parts(gw.get("/set/k/v/EX/100").send().await.expect("send")).await;
    assert_eq!((status, body), (200, json!({"result": "OK"})));
    assert_eq!(gw.ok(json!(["GET", "k"])).await, json!("v"));
    assert!(gw
        .ok(json!(["TTL", "k"]))
        .await
        .as_i64()
        .is_some_and(|t| t > 90));
    // Percent-decoded segments: a slash inside a key, spaces and UTF-8 in values.
    let (status, _) = parts(
        gw.get("/set/a%2Fb/hello%20w%C3%B6rld")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(gw.ok(json!(["GET", "a/b"])).await, json!("hello wörld"));
    let (status, body) = parts(gw.get("/get/a%2Fb").send().await.expect("send")).await;
    assert_eq!((status, body), (200, json!({"result": "hello wörld"})));
    // POST body appended as the value, query pairs appended after it; `_token` ignored.
    let value = r#"{"json": "value with / and ?", "n": 1}"#;
    let (status, body) = parts(
        gw.http
            .post(gw.at(&format!("/set/posted?EX=100&_token={TOKEN}")))
            .body(value)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"result": "OK"})));
    assert_eq!(gw.ok(json!(["GET", "posted"])).await, json!(value));
    let ttl = gw.ok(json!(["TTL", "posted"])).await.as_i64().expect("ttl");
    assert!(
        (90..=100).contains(&ttl),
        "EX from the query string was not applied: ttl {ttl}"
    );
    // Query key without value: `?NX` (set only if absent) leaves the value alone.
    let (status, body) = parts(
        gw.post("/set/posted?NX")
            .body("other")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, body), (200, json!({"result": null})));
    // PUT behaves like POST.
    let (status, _) = parts(
        gw.http
            .put(gw.at("/set/put"))
            .bearer_auth(TOKEN)
            .body("p")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(gw.ok(json!(["GET", "put"])).await, json!("p"));
    // HEAD runs the command and answers without a body.
    let head = gw
        .http
        .head(gw.at("/incr/headcount"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(head.status().as_u16(), 200);
    assert!(head.text().await.expect("body").is_empty());
    assert_eq!(gw.redis.cli_raw(&["GET", "headcount"]), "1");
    // Case-insensitive command names.
    let (status, body) = parts(gw.get("/GeT/k").send().await.expect("send")).await;
    assert_eq!((status, body), (200, json!({"result": "v"})));
}

#[tokio::test]
async fn status_codes_for_bad_requests() {
    let gw = support::start().await;
    for method in ["DELETE", "PATCH", "OPTIONS"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = gw
            .http
            .request(method.clone(), gw.at("/get/k"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("send");
        assert!(
            resp.headers().get("allow").is_some(),
            "{method}: no Allow header"
        );
        let (status, body) = parts(resp).await;
        assert_eq!(status, 405, "{method}");
        assert!(body["error"].is_string(), "{method}: {body}");
    }
    let (status, body) = gw.cmd(json!(["NOSUCHCOMMAND", "x"])).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("ERR unknown command")),
        "{body}"
    );
    gw.ok(json!(["SET", "s", "text"])).await;
    let (status, body) = gw.cmd(json!(["INCR", "s"])).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "ERR value is not an integer or out of range"})
        )
    );
    let (status, body) = gw.cmd(json!(["LPUSH", "s", "x"])).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("WRONGTYPE")),
        "{body}"
    );
    let (status, body) = gw.cmd(json!(["GET"])).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("wrong number of arguments")),
        "{body}"
    );
    for bad in [
        "not json",
        "{\"a\":1}",
        "[]",
        "[[\"GET\"]]",
        "[\"SET\",null]",
        "",
    ] {
        let (status, body) = parts(gw.post("/").body(bad).send().await.expect("send")).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body["error"].is_string(), "{bad:?}: {body}");
    }
    let (status, body) = parts(gw.get("/__gateway/nope").send().await.expect("send")).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = parts(gw.get("/pipeline").send().await.expect("send")).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn oversize_requests_get_413() {
    let gw = support::start_with(|c| c.max_request_bytes = 1024).await;
    let (status, body) = parts(
        gw.post("/set/big")
            .body(vec![b'x'; 2048])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("max request size")),
        "{body}"
    );
    let big_json = json!(["SET", "big", "y".repeat(2000)]);
    let (status, body) = gw.cmd(big_json).await;
    assert_eq!(status, 413, "{body}");
    // A chunked body without Content-Length is limited too.
    assert_eq!(
        raw_chunked_post(&gw.url, "/set/big", &[&[b'z'; 700], &[b'z'; 700]]).await,
        413
    );
    assert_eq!(
        raw_chunked_post(&gw.url, "/set/small", &[&[b'z'; 100], &[b'z'; 100]]).await,
        200
    );
    assert_eq!(gw.redis.cli_raw(&["STRLEN", "small"]), "200");
    assert_eq!(gw.redis.cli_raw(&["EXISTS", "big"]), "0");
    // Exactly at the limit is fine.
    let (status, _) = parts(
        gw.post("/set/big")
            .body(vec![b'x'; 1024])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(gw.redis.cli_raw(&["STRLEN", "big"]), "1024");
}

/// Sends a `Transfer-Encoding: chunked` POST over a raw socket and returns the status code.
async fn raw_chunked_post(base: &str, path: &str, chunks: &[&[u8]]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in chunks {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&request).await.expect("write request");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let head = String::from_utf8_lossy(&response);
    head.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"))
}

#[tokio::test]
async fn pipeline_reports_errors_per_command() {
    let gw = support::start().await;
    gw.ok(json!(["SET", "s", "text"])).await;
    let (status, body) = parts(
        gw.post("/pipeline")
            .json(&json!([
                ["SET", "a", 1],
                ["INCR", "s"],
                ["INCR", "a"],
                ["NOSUCH"],
                [],
                ["BLPOP", "l", 0],
                ["GET", "a"]
            ]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let items = body.as_array().expect("array");
    assert_eq!(items.len(), 7);
    assert_eq!(items[0], json!({"result": "OK"}));
    assert_eq!(
        items[1],
        json!({"error": "ERR value is not an integer or out of range"})
    );
    assert_eq!(items[2], json!({"result": 2}));
    assert!(
        items[3]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("ERR unknown command")),
        "{}",
        items[3]
    );
    assert!(items[4]["error"].is_string());
    assert!(
        items[5]["error"]
            .as_str()
            .is_some_and(|e| e.contains("blpop")),
        "{}",
        items[5]
    );
    assert_eq!(items[6], json!({"result": "2"}));
    let (status, _) = parts(
        gw.post("/pipeline")
            .json(&json!([]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = parts(
        gw.post("/pipeline")
            .json(&json!(["GET", "a"]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        status, 200,
        "a flat array is a pipeline of invalid commands, reported per index"
    );
}

#[tokio::test]
async fn multi_exec_is_atomic_and_discarded_transactions_are_one_error() {
    let gw = support::start().await;
    let (status, body) = parts(
        gw.post("/multi-exec")
            .json(&json!([
                ["SET", "t", "1"],
                ["INCR", "t"],
                ["GET", "t"],
                ["GET", "missing"]
            ]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!([{"result": "OK"}, {"result": 2}, {"result": "2"}, {"result": null}])
        )
    );
    // A runtime error inside EXEC is reported at its index; the rest still ran.
    gw.ok(json!(["SET", "s", "text"])).await;
    let (status, body) = parts(
        gw.post("/multi-exec")
            .json(&json!([["INCR", "s"], ["SET", "after", "yes"]]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([{"error": "ERR value is not an integer or out of range"}, {"result": "OK"}])
    );
    // A command that fails to queue discards the whole transaction: one error, nothing applied.
    let (status, body) = parts(
        gw.post("/multi-exec")
            .json(&json!([["SET", "discarded", "x"], ["NOSUCHCOMMAND"]]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().expect("single error object");
    assert!(error.starts_with("EXECABORT"), "{error}");
    assert_eq!(
        gw.redis.cli_raw(&["EXISTS", "discarded"]),
        "0",
        "discarded transaction was applied"
    );
    let (status, body) = parts(
        gw.post("/multi-exec")
            .json(&json!([["SET", "discarded", "x"], ["GET"]]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("EXECABORT")),
        "{body}"
    );
    // Refused commands discard the transaction before anything reaches Redis.
    let (status, body) = parts(
        gw.post("/multi-exec")
            .json(&json!([["SET", "discarded", "x"], ["BLPOP", "l", 0]]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(gw.redis.cli_raw(&["EXISTS", "discarded"]), "0");
    // The pooled connection is clean afterwards (no half-open MULTI).
    assert_eq!(gw.ok(json!(["SET", "clean", "1"])).await, json!("OK"));
    assert_eq!(gw.redis.cli_raw(&["GET", "clean"]), "1");
}

#[tokio::test]
async fn stats_count_requests_and_commands() {
    let gw = support::start().await;
    let (_, before) = parts(
        gw.post("/__gateway/stats/reset")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert!(
        before["requests"].is_u64() && before["commands"].is_u64(),
        "{before}"
    );
    gw.ok(json!(["SET", "a", "1"])).await;
    parts(
        gw.post("/pipeline")
            .json(&json!([["GET", "a"], ["INCR", "a"], ["GET", "a"]]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    parts(
        gw.post("/multi-exec")
            .json(&json!([["INCR", "a"], ["GET", "a"]]))
            .send()
            .await
            .expect("send"),
    )
    .await;
    // Rejected requests count as requests but run no command.
    parts(gw.http.get(gw.at("/get/a")).send().await.expect("send")).await;
    parts(gw.get("/blpop/a/0").send().await.expect("send")).await;
    let (status, stats) = parts(gw.get("/__gateway/stats").send().await.expect("send")).await;
    assert_eq!(
        (status, stats),
        (200, json!({"requests": 5, "commands": 6}))
    );
    let (status, stats) = parts(
        gw.post("/__gateway/stats/reset")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (status, stats),
        (200, json!({"requests": 5, "commands": 6}))
    );
    let (_, stats) = parts(gw.get("/__gateway/stats").send().await.expect("send")).await;
    assert_eq!(stats, json!({"requests": 0, "commands": 0}));
}
