//! The REST protocol over raw HTTP: commands, auth, status codes, path style, pipelines,
//! transactions, size limit, stats.

use serde_json::json;

use crate::support::{self, parts, send, RO_TOKEN, TOKEN};

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
        let (status, body) = send(req).await;
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
    let (status, body) = send(gw.http.post(gw.at("/")).json(&json!(["PING"]))).await;
    assert_eq!((status, body), (401, json!({"error": WRONGPASS})));
    let (status, body) = send(
        gw.http
            .post(gw.at("/"))
            .bearer_auth("wrong")
            .json(&json!(["PING"])),
    )
    .await;
    assert_eq!((status, body), (401, json!({"error": WRONGPASS})));
    let (status, body) = send(gw.http.get(gw.at("/ping?_token=nope"))).await;
    assert_eq!((status, body), (401, json!({"error": WRONGPASS})));
    let (status, body) = send(gw.http.get(gw.at(&format!("/ping?_token={TOKEN}")))).await;
    assert_eq!((status, body), (200, json!({"result": "PONG"})));
    let (status, body) = send(
        gw.http
            .post(gw.at(&format!("/?_token={TOKEN}")))
            .json(&json!(["ECHO", "hi"])),
    )
    .await;
    assert_eq!((status, body), (200, json!({"result": "hi"})));
    let (status, _) = send(gw.get("/ping")).await;
    assert_eq!(status, 200);
    // The stats endpoint needs auth too.
    let (status, _) = send(gw.http.get(gw.at("/__gateway/stats"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn gateway_without_token_accepts_everything() {
    let gw = support::start_with(|c| {
        c.token = None;
        c.readonly_token = None;
    })
    .await;
    let (status, body) = send(gw.http.get(gw.at("/set/open/yes"))).await;
    assert_eq!((status, body), (200, json!({"result": "OK"})));
}

#[tokio::test]
async fn readonly_token_may_read_but_not_write() {
    let gw = support::start().await;
    gw.ok(json!(["SET", "k", "v"])).await;
    let ro = |path: &str| gw.http.post(gw.at(path)).bearer_auth(RO_TOKEN);
    let (status, body) = send(ro("/").json(&json!(["GET", "k"]))).await;
    assert_eq!((status, body), (200, json!({"result": "v"})));
    let (status, body) = send(ro("/").json(&json!(["SET", "k", "x"]))).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "NOPERM this user has no permissions to run the 'set' command"})
        )
    );
    let (status, body) = send(ro("/del/k")).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "NOPERM this user has no permissions to run the 'del' command"})
        )
    );
    let (status, body) =
        send(ro("/pipeline").json(&json!([["GET", "k"], ["INCR", "c"], ["EXISTS", "k"]]))).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{"result": "v"}, {"error": "NOPERM this user has no permissions to run the 'incr' command"}, {"result": 1}])
    );
    let (status, body) =
        send(ro("/multi-exec").json(&json!([["GET", "k"], ["SET", "k", "y"]]))).await;
    assert_eq!(status, 400, "{body}");
    assert!(support::error(&body).contains("NOPERM"), "{body}");
    assert_eq!(
        gw.redis.cli_raw(&["GET", "k"]),
        "v",
        "read-only token changed data"
    );
    assert_eq!(gw.redis.cli_raw(&["EXISTS", "c"]), "0");
    // Read-only may read stats but not reset them.
    let (status, _) = send(gw.http.get(gw.at("/__gateway/stats")).bearer_auth(RO_TOKEN)).await;
    assert_eq!(status, 200);
    let (status, _) = send(ro("/__gateway/stats/reset")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn path_style_with_percent_decoding_body_and_query_args() {
    let gw = support::start().await;
    let (status, body) = send(gw.get("/set/k/v/EX/100")).await;
    assert_eq!((status, body), (200, json!({"result": "OK"})));
    assert_eq!(gw.ok(json!(["GET", "k"])).await, json!("v"));
    assert!(gw
        .ok(json!(["TTL", "k"]))
        .await
        .as_i64()
        .is_some_and(|t| t > 90));
    // Percent-decoded segments: a slash inside a key, spaces and UTF-8 in values.
    let (status, _) = send(gw.get("/set/a%2Fb/hello%20w%C3%B6rld")).await;
    assert_eq!(status, 200);
    assert_eq!(gw.ok(json!(["GET", "a/b"])).await, json!("hello wörld"));
    let (status, body) = send(gw.get("/get/a%2Fb")).await;
    assert_eq!((status, body), (200, json!({"result": "hello wörld"})));
    // POST body appended as the value, query pairs appended after it; `_token` ignored.
    let value = r#"{"json": "value with / and ?", "n": 1}"#;
    let (status, body) = send(
        gw.http
            .post(gw.at(&format!("/set/posted?EX=100&_token={TOKEN}")))
            .body(value),
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
    let (status, body) = send(gw.post("/set/posted?NX").body("other")).await;
    assert_eq!((status, body), (200, json!({"result": null})));
    // PUT behaves like POST.
    let (status, _) = send(gw.http.put(gw.at("/set/put")).bearer_auth(TOKEN).body("p")).await;
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
    let (status, body) = send(gw.get("/GeT/k")).await;
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
        support::error(&body).starts_with("ERR unknown command"),
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
    assert!(support::error(&body).starts_with("WRONGTYPE"), "{body}");
    let (status, body) = gw.cmd(json!(["GET"])).await;
    assert_eq!(status, 400);
    assert!(
        support::error(&body).contains("wrong number of arguments"),
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
        let (status, body) = send(gw.post("/").body(bad)).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body["error"].is_string(), "{bad:?}: {body}");
    }
    let (status, body) = send(gw.get("/__gateway/nope")).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = send(gw.get("/pipeline")).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn oversize_requests_get_413() {
    let gw = support::start_with(|c| c.max_request_bytes = 1024).await;
    let (status, body) = send(gw.post("/set/big").body(vec![b'x'; 2048])).await;
    assert_eq!(status, 413, "{body}");
    assert!(support::error(&body).contains("max request size"), "{body}");
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
    let (status, _) = send(gw.post("/set/big").body(vec![b'x'; 1024])).await;
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
    let (status, body) = gw
        .post_json(
            "/pipeline",
            json!([
                ["SET", "a", 1],
                ["INCR", "s"],
                ["INCR", "a"],
                ["NOSUCH"],
                [],
                ["BLPOP", "l", 0],
                ["GET", "a"]
            ]),
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
        support::error(&items[3]).starts_with("ERR unknown command"),
        "{}",
        items[3]
    );
    assert!(items[4]["error"].is_string());
    assert!(support::error(&items[5]).contains("blpop"), "{}", items[5]);
    assert_eq!(items[6], json!({"result": "2"}));
    let (status, _) = gw.post_json("/pipeline", json!([])).await;
    assert_eq!(status, 400);
    let (status, _) = gw.post_json("/pipeline", json!(["GET", "a"])).await;
    assert_eq!(
        status, 200,
        "a flat array is a pipeline of invalid commands, reported per index"
    );
}

#[tokio::test]
async fn multi_exec_is_atomic_and_discarded_transactions_are_one_error() {
    let gw = support::start().await;
    let (status, body) = gw
        .post_json(
            "/multi-exec",
            json!([
                ["SET", "t", "1"],
                ["INCR", "t"],
                ["GET", "t"],
                ["GET", "missing"]
            ]),
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
    let (status, body) = gw
        .post_json(
            "/multi-exec",
            json!([["INCR", "s"], ["SET", "after", "yes"]]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([{"error": "ERR value is not an integer or out of range"}, {"result": "OK"}])
    );
    // A command that fails to queue discards the whole transaction: one error, nothing applied.
    let (status, body) = gw
        .post_json(
            "/multi-exec",
            json!([["SET", "discarded", "x"], ["NOSUCHCOMMAND"]]),
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
    let (status, body) = gw
        .post_json("/multi-exec", json!([["SET", "discarded", "x"], ["GET"]]))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(support::error(&body).starts_with("EXECABORT"), "{body}");
    // Refused commands discard the transaction before anything reaches Redis.
    let (status, body) = gw
        .post_json(
            "/multi-exec",
            json!([["SET", "discarded", "x"], ["BLPOP", "l", 0]]),
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
    let (_, before) = send(gw.post("/__gateway/stats/reset")).await;
    assert!(
        before["requests"].is_u64() && before["commands"].is_u64(),
        "{before}"
    );
    gw.ok(json!(["SET", "a", "1"])).await;
    gw.post_json(
        "/pipeline",
        json!([["GET", "a"], ["INCR", "a"], ["GET", "a"]]),
    )
    .await;
    gw.post_json("/multi-exec", json!([["INCR", "a"], ["GET", "a"]]))
        .await;
    // Rejected requests count as requests but run no command.
    send(gw.http.get(gw.at("/get/a"))).await;
    send(gw.get("/blpop/a/0")).await;
    let (status, stats) = send(gw.get("/__gateway/stats")).await;
    assert_eq!(
        (status, stats),
        (
            200,
            json!({"requests": 5, "commands": 6, "requestBytes": 110, "responseBytes": 288, "syncTokens": 0, "syncTokensFuture": 0})
        )
    );
    let (status, stats) = send(gw.post("/__gateway/stats/reset")).await;
    assert_eq!(
        (status, stats),
        (
            200,
            json!({"requests": 5, "commands": 6, "requestBytes": 110, "responseBytes": 288, "syncTokens": 0, "syncTokensFuture": 0})
        )
    );
    let (_, stats) = send(gw.get("/__gateway/stats")).await;
    assert_eq!(
        stats,
        json!({"requests": 0, "commands": 0, "requestBytes": 0, "responseBytes": 0, "syncTokens": 0, "syncTokensFuture": 0})
    );
}
