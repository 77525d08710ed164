//! Integration tests: an in-process fake exchange driven by a reqwest client, plus the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_exchange::{fixtures, synth_spot_payload, FakeExchange, Fault, Market, Running};
use serde_json::Value;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

async fn get(fx: &Running, market: Market, query: &str) -> reqwest::Response {
    let url = format!("{}{}", fx.exchange_info_url(market), query);
    client().get(url).send().await.expect("request")
}

async fn get_json(fx: &Running, market: Market, query: &str) -> (u16, Value) {
    let resp = get(fx, market, query).await;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.expect("body");
    let json = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "status {status}: not JSON ({e}): {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        )
    });
    (status, json)
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_string())
}

fn symbols(v: &Value) -> &Vec<Value> {
    v["symbols"].as_array().expect("symbols array")
}

// ---------------------------------------------------------------------------------------
// fixtures and normal service

#[test]
fn embedded_fixtures_have_the_recorded_shapes() {
    let spot: Value = serde_json::from_slice(fixtures::spot()).expect("spot json");
    assert_eq!(symbols(&spot).len(), fixtures::SPOT_SYMBOLS);
    assert_eq!(
        fixtures::spot().len(),
        3_733_982,
        "spot bytes exactly as recorded"
    );
    assert!(fixtures::spot().starts_with(br#"{"timezone":"UTC","serverTime":1694185561976,"#));

    let futures: Value = serde_json::from_slice(fixtures::futures()).expect("futures json");
    assert_eq!(symbols(&futures).len(), fixtures::FUTURES_SYMBOLS);
    let text = std::str::from_utf8(fixtures::futures()).expect("utf-8");
    assert!(
        !text.contains('\n') && !text.contains(": "),
        "futures fixture is minified"
    );
    assert!(
        text.contains(r#""symbol":"币安人生USDT""#),
        "non-ASCII symbols kept as UTF-8"
    );
    assert!(!text.contains("\\u"), "no \\u escapes");
    assert!(text.contains(r#""contractType":"CURRENT_QUARTER DELIVERING""#));
    assert!(text.contains("POSITION_RISK_CONTROL"));

    let old: Value = serde_json::from_slice(fixtures::spot_2020()).expect("2020 json");
    assert_eq!(symbols(&old).len(), fixtures::SPOT_2020_SYMBOLS);
    let filters = old["symbols"][0]["filters"].as_array().expect("filters");
    assert!(filters
        .iter()
        .any(|f| f["filterType"] == "MIN_NOTIONAL" && f["minNotional"].is_string()));
}

#[tokio::test]
async fn serves_both_recorded_payloads() {
    let fx = fake_exchange::start().await;

    let resp = get(&fx, Market::Spot, "").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "content-type").as_deref(),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(header(&resp, "x-mbx-used-weight-1m").as_deref(), Some("20"));
    let body = resp.bytes().await.expect("body");
    assert_eq!(&body[..], fixtures::spot(), "spot served byte-for-byte");
    let spot: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(symbols(&spot).len(), 2292);

    let resp = get(&fx, Market::Spot, "").await;
    assert_eq!(header(&resp, "x-mbx-used-weight-1m").as_deref(), Some("40"));

    let resp = get(&fx, Market::Futures, "").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-mbx-used-weight-1m").as_deref(), Some("1"));
    let futures: Value = resp.json().await.expect("json");
    assert_eq!(symbols(&futures).len(), 660);
    assert!(symbols(&futures)
        .iter()
        .any(|s| s["symbol"] == "币安人生USDT"));
    assert_eq!(
        futures["symbols"][0]["filters"][0]["filterType"],
        "PRICE_FILTER"
    );

    assert_eq!(fx.requests(Market::Spot), 2);
    assert_eq!(fx.requests(Market::Futures), 1);
}

#[tokio::test]
async fn head_is_answered_and_counted() {
    let fx = fake_exchange::start().await;
    let resp = client()
        .head(fx.exchange_info_url(Market::Spot))
        .send()
        .await
        .expect("head");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "content-type").as_deref(),
        Some("application/json;charset=UTF-8")
    );
    assert!(header(&resp, "x-mbx-used-weight-1m").is_some());
    let len = fixtures::spot().len().to_string();
    assert_eq!(
        header(&resp, "content-length"),
        Some(len),
        "HEAD announces the GET length"
    );
    assert!(resp.bytes().await.expect("body").is_empty());
    assert_eq!(fx.requests(Market::Spot), 1);
}

#[tokio::test]
async fn show_permission_sets_false_removes_them() {
    let fx = fake_exchange::start_with(
        FakeExchange::with_spot_payload(synth_spot_payload(40)).expect("synth payload"),
    )
    .await
    .expect("start");
    let (_, full) = get_json(&fx, Market::Spot, "").await;
    let (status, slim) = get_json(&fx, Market::Spot, "?showPermissionSets=false").await;
    assert_eq!(status, 200);
    assert_eq!(symbols(&full).len(), 40);
    assert_eq!(symbols(&slim).len(), 40);
    for (a, b) in symbols(&full).iter().zip(symbols(&slim)) {
        assert!(a.get("permissionSets").is_some());
        assert!(b.get("permissionSets").is_none(), "permissionSets removed");
        let mut a = a.clone();
        a.as_object_mut().expect("object").remove("permissionSets");
        assert_eq!(&a, b, "everything else kept");
    }
    assert_eq!(full["rateLimits"], slim["rateLimits"]);

    // `true`, other spellings and unknown parameters change nothing.
    let (_, same) = get_json(&fx, Market::Spot, "?showPermissionSets=true&foo=bar").await;
    assert_eq!(same, full);

    // The recorded 2023-09 payload has no permissionSets: the parameter is harmless.
    let fx = fake_exchange::start().await;
    let body = get(&fx, Market::Spot, "?showPermissionSets=false")
        .await
        .bytes()
        .await
        .expect("body");
    assert_eq!(&body[..], fixtures::spot());
}

#[tokio::test]
async fn spot_query_filters() {
    let fx = fake_exchange::start().await;
    let (status, trading) = get_json(&fx, Market::Spot, "?symbolStatus=TRADING").await;
    assert_eq!(status, 200);
    assert_eq!(symbols(&trading).len(), 1340);
    assert!(symbols(&trading).iter().all(|s| s["status"] == "TRADING"));
    let (_, brk) = get_json(&fx, Market::Spot, "?symbolStatus=BREAK").await;
    assert_eq!(symbols(&brk).len(), 952);

    let (_, one) = get_json(&fx, Market::Spot, "?symbol=LTCBTC").await;
    assert_eq!(symbols(&one).len(), 1);
    assert_eq!(one["symbols"][0]["symbol"], "LTCBTC");
    let (_, two) = get_json(
        &fx,
        Market::Spot,
        "?symbols=%5B%22LTCBTC%22,%22ETHBTC%22%5D",
    )
    .await;
    assert_eq!(symbols(&two).len(), 2);
    let (status, bad) = get_json(&fx, Market::Spot, "?symbol=NOPE").await;
    assert_eq!(status, 400);
    assert_eq!(bad["code"], -1121);
    let (status, bad) = get_json(&fx, Market::Spot, "?symbols=LTCBTC").await;
    assert_eq!(status, 400);
    assert_eq!(bad["code"], -1100);

    // Futures ignores query parameters.
    let (_, futures) = get_json(&fx, Market::Futures, "?symbolStatus=TRADING&x=1").await;
    assert_eq!(symbols(&futures).len(), 660);
}

#[tokio::test]
async fn unknown_path_is_404() {
    let fx = fake_exchange::start().await;
    let resp = client()
        .get(fx.url("/api/v3/nope"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404);
    assert!(resp.bytes().await.expect("body").is_empty());
    let resp = client()
        .get(fx.url("/api/v3/ping"))
        .send()
        .await
        .expect("ping");
    assert_eq!(resp.text().await.expect("body"), "{}");
    assert_eq!(fx.requests(Market::Spot), 0, "only exchangeInfo counts");
}

// ---------------------------------------------------------------------------------------
// faults

#[tokio::test]
async fn status_faults_have_binance_bodies_and_retry_after() {
    let fx = fake_exchange::start().await;
    fx.push_faults(
        Market::Spot,
        [
            Fault::Status {
                code: 429,
                retry_after: Some(30),
            },
            Fault::Status {
                code: 418,
                retry_after: Some(120),
            },
            Fault::status(451),
            Fault::status(403),
            Fault::status(500),
            Fault::status(502),
            Fault::status(503),
            Fault::status(401),
        ],
    );
    assert_eq!(fx.queued(Market::Spot), 8);

    let resp = get(&fx, Market::Spot, "").await;
    assert_eq!(resp.status(), 429);
    assert_eq!(header(&resp, "retry-after").as_deref(), Some("30"));
    assert_eq!(header(&resp, "x-mbx-used-weight-1m").as_deref(), Some("20"));
    assert_eq!(
        header(&resp, "content-type").as_deref(),
        Some("application/json;charset=UTF-8")
    );
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], -1003);
    let msg = body["msg"].as_str().expect("msg");
    assert!(msg.starts_with("Too many requests; current limit of IP(127.0.0.1) request weight per 1 minute is 6000."), "{msg}");

    let resp = get(&fx, Market::Spot, "").await;
    assert_eq!(resp.status(), 418);
    assert_eq!(header(&resp, "retry-after").as_deref(), Some("120"));
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], -1003);
    assert!(body["msg"]
        .as_str()
        .expect("msg")
        .starts_with("Way too many requests; IP(127.0.0.1) banned until "));

    let resp = get(&fx, Market::Spot, "").await;
    assert_eq!(resp.status(), 451);
    assert!(
        header(&resp, "retry-after").is_none(),
        "no Retry-After unless scripted"
    );
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], 0);
    assert!(body["msg"]
        .as_str()
        .expect("msg")
        .starts_with("Service unavailable from a restricted location"));

    let resp = get(&fx, Market::Spot, "").await;
    assert_eq!(resp.status(), 403);
    assert!(header(&resp, "content-type")
        .expect("ct")
        .starts_with("text/html"));
    let text = resp.text().await.expect("body");
    assert!(
        text.contains("403 ERROR")
            && text.contains("Request blocked.")
            && text.contains("CloudFront")
    );

    let resp = get(&fx, Market::Spot, "").await;
    assert_eq!(resp.status(), 500);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], -1001);

    for code in [502, 503] {
        let resp = get(&fx, Market::Spot, "").await;
        assert_eq!(resp.status(), code);
        let text = resp.text().await.expect("body");
        assert!(text.contains(&format!("{code} ERROR")), "{text}");
        assert!(serde_json::from_str::<Value>(&text).is_err());
    }

    let (status, body) = get_json(&fx, Market::Spot, "").await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], -2015);

    // Queue consumed in order, then normal service.
    assert_eq!(fx.queued(Market::Spot), 0);
    let (status, body) = get_json(&fx, Market::Spot, "").await;
    assert_eq!(status, 200);
    assert_eq!(symbols(&body).len(), 2292);
    assert_eq!(fx.requests(Market::Spot), 9);
    assert_eq!(fx.used_weight(Market::Spot), 180);
    // The futures market was untouched.
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 200);
}

#[tokio::test]
async fn body_faults() {
    let fx = fake_exchange::start().await;
    fx.push_faults(
        Market::Futures,
        [
            Fault::Truncated,
            Fault::Malformed,
            Fault::EmptySymbols,
            Fault::Shrink { keep: 7 },
        ],
    );

    let resp = get(&fx, Market::Futures, "").await;
    assert_eq!(resp.status(), 200);
    let declared: usize = header(&resp, "content-length")
        .expect("content-length")
        .parse()
        .expect("number");
    let body = resp.bytes().await.expect("truncated body arrives whole");
    assert_eq!(declared, body.len());
    assert_eq!(body.len(), fixtures::futures().len() / 2);
    assert_eq!(&body[..], &fixtures::futures()[..body.len()]);
    assert!(
        serde_json::from_slice::<Value>(&body).is_err(),
        "truncated body is not JSON"
    );

    let resp = get(&fx, Market::Futures, "").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "content-type").as_deref(),
        Some("application/json;charset=UTF-8")
    );
    let body = resp.bytes().await.expect("body");
    assert!(
        serde_json::from_slice::<Value>(&body).is_err(),
        "malformed body is not JSON"
    );

    let (status, empty) = get_json(&fx, Market::Futures, "").await;
    assert_eq!(status, 200);
    assert_eq!(symbols(&empty).len(), 0);
    assert_eq!(empty["timezone"], "UTC");
    assert_eq!(empty["futuresType"], "U_MARGINED");
    assert!(empty["assets"].as_array().is_some_and(|a| !a.is_empty()));

    let (status, shrunk) = get_json(&fx, Market::Futures, "").await;
    assert_eq!(status, 200);
    assert_eq!(symbols(&shrunk).len(), 7);
    let full: Value = serde_json::from_slice(fixtures::futures()).expect("json");
    assert_eq!(symbols(&shrunk)[..], symbols(&full)[..7]);

    let (_, again) = get_json(&fx, Market::Futures, "").await;
    assert_eq!(symbols(&again).len(), 660);
}

#[tokio::test]
async fn shrink_and_empty_keep_decimal_strings_and_key_order() {
    let fx = fake_exchange::start().await;
    fx.push_fault(Market::Spot, Fault::Shrink { keep: 2 });
    let body = get(&fx, Market::Spot, "")
        .await
        .bytes()
        .await
        .expect("body");
    let text = std::str::from_utf8(&body).expect("utf-8");
    let original = std::str::from_utf8(fixtures::spot()).expect("utf-8");
    let cut = original
        .find(r#",{"symbol":"BNBBTC""#)
        .expect("third symbol");
    assert_eq!(
        text,
        format!("{}]}}", &original[..cut]),
        "first two symbols verbatim"
    );
}

#[tokio::test]
async fn delay_then_normal() {
    let fx = fake_exchange::start().await;
    fx.push_fault(Market::Futures, Fault::Delay { ms: 400 });
    let started = Instant::now();
    let (status, body) = get_json(&fx, Market::Futures, "").await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, 200);
    assert_eq!(symbols(&body).len(), 660);
}

#[tokio::test]
async fn stall_never_answers_until_released() {
    let fx = fake_exchange::start().await;
    fx.push_fault(Market::Spot, Fault::Stall);
    let quick = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    let err = quick
        .get(fx.exchange_info_url(Market::Spot))
        .send()
        .await
        .expect_err("stalls");
    assert!(err.is_timeout(), "{err}");

    // A stalled request is released (503) by reset, so the server stays usable.
    fx.push_fault(Market::Spot, Fault::Stall);
    let url = fx.exchange_info_url(Market::Spot);
    let pending =
        tokio::spawn(async move { client().get(url).send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    fx.reset();
    assert_eq!(pending.await.expect("join").expect("answered"), 503);

    // Shutdown does not wait an hour for a stalled request.
    fx.push_fault(Market::Spot, Fault::Stall);
    let url = fx.exchange_info_url(Market::Spot);
    let pending =
        tokio::spawn(async move { client().get(url).send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio::time::timeout(Duration::from_secs(10), fx.shutdown())
        .await
        .expect("shutdown within 10 s")
        .expect("clean shutdown");
    assert_eq!(pending.await.expect("join").expect("answered"), 503);
}

#[tokio::test]
async fn require_api_key_rejects_keyed_requests_only() {
    let fx = fake_exchange::start().await;
    fx.push_fault(Market::Spot, Fault::RequireApiKey);
    let url = fx.exchange_info_url(Market::Spot);
    let resp = client()
        .get(&url)
        .header("X-MBX-APIKEY", "k-123")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        serde_json::json!({"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."})
    );
    // The client retries without the key: served.
    assert_eq!(
        client().get(&url).send().await.expect("request").status(),
        200
    );

    // Sticky: every keyed request fails, unkeyed ones pass.
    fx.set_sticky(Market::Spot, Some(Fault::RequireApiKey));
    for _ in 0..2 {
        let resp = client()
            .get(&url)
            .header("X-MBX-APIKEY", "k-123")
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 401);
        assert_eq!(
            client().get(&url).send().await.expect("request").status(),
            200
        );
    }
    let stats = fx.stats();
    assert_eq!(stats.spot.requests, 6);
    assert_eq!(stats.spot.with_api_key, 3);
    assert_eq!(stats.spot.last_api_key.as_deref(), Some("k-123"));
}

#[tokio::test]
async fn sticky_applies_until_cleared_and_queue_goes_first() {
    let fx = fake_exchange::start().await;
    fx.set_sticky(
        Market::Futures,
        Some(Fault::Status {
            code: 503,
            retry_after: Some(5),
        }),
    );
    fx.push_fault(Market::Futures, Fault::status(429));
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 429);
    for _ in 0..3 {
        let resp = get(&fx, Market::Futures, "").await;
        assert_eq!(resp.status(), 503);
        assert_eq!(header(&resp, "retry-after").as_deref(), Some("5"));
    }
    assert_eq!(
        get(&fx, Market::Spot, "").await.status(),
        200,
        "other market unaffected"
    );
    fx.set_sticky(Market::Futures, None);
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 200);
}

#[tokio::test]
async fn fail_every_other_alternates() {
    let fx = fake_exchange::start().await;
    fx.set_fail_every_other(Market::Futures, true);
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(get(&fx, Market::Futures, "").await.status().as_u16());
    }
    assert_eq!(codes, [200, 500, 200, 500, 200, 500]);
    fx.set_fail_every_other(Market::Futures, false);
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 200);
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 200);
}

#[tokio::test]
async fn stats_count_per_market_and_reset_clears() {
    let fx = fake_exchange::start().await;
    let c = client();
    c.get(fx.exchange_info_url(Market::Spot))
        .header("X-MBX-APIKEY", "abc")
        .send()
        .await
        .expect("r");
    c.get(fx.exchange_info_url(Market::Spot))
        .send()
        .await
        .expect("r");
    c.get(fx.exchange_info_url(Market::Futures))
        .header("X-MBX-APIKEY", "xyz")
        .send()
        .await
        .expect("r");
    assert_eq!(fx.requests(Market::Spot), 2);
    assert_eq!(fx.requests_with_api_key(Market::Spot), 1);
    assert_eq!(fx.requests(Market::Futures), 1);
    assert_eq!(fx.last_api_key(Market::Futures).as_deref(), Some("xyz"));
    assert_eq!(fx.used_weight(Market::Spot), 40);

    fx.push_fault(Market::Spot, Fault::Stall);
    fx.set_sticky(Market::Futures, Some(Fault::Malformed));
    fx.reset();
    assert_eq!(fx.stats(), fake_exchange::Stats::default());
    let resp = get(&fx, Market::Spot, "").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-mbx-used-weight-1m").as_deref(), Some("20"));
}

// ---------------------------------------------------------------------------------------
// HTTP control API

#[tokio::test]
async fn http_control_api() {
    let fx = fake_exchange::start().await;
    let c = client();
    let script = serde_json::json!({
        "market": "spot",
        "faults": [
            {"kind": "status", "code": 429, "retry_after": 30},
            {"kind": "shrink", "keep": 3}
        ],
        "sticky": null,
        "fail_every_other": false
    });
    let resp = c
        .post(fx.url("/__control/faults"))
        .json(&script)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    let stats: Value = resp.json().await.expect("json");
    assert_eq!(stats["spot"]["queued"], 2);

    let resp = get(&fx, Market::Spot, "").await;
    assert_eq!(resp.status(), 429);
    assert_eq!(header(&resp, "retry-after").as_deref(), Some("30"));
    let (_, shrunk) = get_json(&fx, Market::Spot, "").await;
    assert_eq!(symbols(&shrunk).len(), 3);

    // Sticky set over HTTP, then cleared with null; absent keys leave it alone.
    let sticky =
        serde_json::json!({"market": "futures", "sticky": {"kind": "status", "code": 503}});
    c.post(fx.url("/__control/faults"))
        .json(&sticky)
        .send()
        .await
        .expect("post");
    let noop = serde_json::json!({"market": "futures", "faults": []});
    c.post(fx.url("/__control/faults"))
        .json(&noop)
        .send()
        .await
        .expect("post");
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 503);
    let clear = serde_json::json!({"market": "futures", "sticky": null});
    c.post(fx.url("/__control/faults"))
        .json(&clear)
        .send()
        .await
        .expect("post");
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 200);

    let every_other = serde_json::json!({"market": "futures", "fail_every_other": true});
    c.post(fx.url("/__control/faults"))
        .json(&every_other)
        .send()
        .await
        .expect("post");
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 200);
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 500);

    c.get(fx.exchange_info_url(Market::Futures))
        .header("X-MBX-APIKEY", "k")
        .send()
        .await
        .expect("r");
    let stats: Value = c
        .get(fx.url("/__control/stats"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["spot"]["requests"], 2);
    assert_eq!(stats["spot"]["with_api_key"], 0);
    assert_eq!(stats["futures"]["requests"], 5);
    assert_eq!(stats["futures"]["with_api_key"], 1);
    assert_eq!(stats["futures"]["fail_every_other"], true);

    // Bad scripts are rejected with 400 and change nothing.
    for bad in [
        serde_json::json!({"market": "options", "faults": []}),
        serde_json::json!({"market": "spot", "faults": [{"kind": "explode"}]}),
        serde_json::json!({"market": "spot", "faults": [{"kind": "status", "code": 429, "retryAfter": 3}]}),
        serde_json::json!({"market": "spot", "faults": [{"kind": "status", "code": 42}]}),
    ] {
        let resp = c
            .post(fx.url("/__control/faults"))
            .json(&bad)
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 400, "{bad}");
        let err: Value = resp.json().await.expect("json");
        assert!(err["error"].is_string());
    }
    assert_eq!(fx.queued(Market::Spot), 0);

    let resp = c
        .post(fx.url("/__control/reset"))
        .send()
        .await
        .expect("reset");
    assert_eq!(resp.status(), 200);
    let stats: Value = resp.json().await.expect("json");
    assert_eq!(stats["spot"]["requests"], 0);
    assert_eq!(stats["futures"]["requests"], 0);
    assert_eq!(stats["futures"]["fail_every_other"], false);
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 200);
    assert_eq!(get(&fx, Market::Futures, "").await.status(), 200);
}

#[test]
fn faults_serialise_as_tagged_json() {
    let cases = [
        (
            Fault::Status {
                code: 429,
                retry_after: Some(30),
            },
            r#"{"kind":"status","code":429,"retry_after":30}"#,
        ),
        (Fault::Delay { ms: 250 }, r#"{"kind":"delay","ms":250}"#),
        (Fault::Stall, r#"{"kind":"stall"}"#),
        (Fault::Malformed, r#"{"kind":"malformed"}"#),
        (Fault::Truncated, r#"{"kind":"truncated"}"#),
        (Fault::EmptySymbols, r#"{"kind":"empty_symbols"}"#),
        (Fault::Shrink { keep: 10 }, r#"{"kind":"shrink","keep":10}"#),
        (Fault::RequireApiKey, r#"{"kind":"require_api_key"}"#),
    ];
    for (fault, text) in cases {
        assert_eq!(serde_json::to_string(&fault).expect("ser"), text);
        assert_eq!(serde_json::from_str::<Fault>(text).expect("de"), fault);
    }
    let no_retry: Fault = serde_json::from_str(r#"{"kind":"status","code":503}"#).expect("de");
    assert_eq!(no_retry, Fault::status(503));
    assert_eq!(
        "futures".parse::<Market>().expect("market"),
        Market::Futures
    );
    assert_eq!(
        serde_json::to_string(&Market::Spot).expect("ser"),
        r#""spot""#
    );
}

// ---------------------------------------------------------------------------------------
// synthetic payload

#[test]
fn synth_spot_payload_is_six_megabytes_in_todays_shape() {
    let bytes = synth_spot_payload(3500);
    assert!(
        (5_500_000..=6_500_000).contains(&bytes.len()),
        "{} bytes",
        bytes.len()
    );
    assert_eq!(bytes, synth_spot_payload(3500), "deterministic");
    let v: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    let list = symbols(&v);
    assert_eq!(list.len(), 3500);
    let names: std::collections::HashSet<&str> = list
        .iter()
        .map(|s| s["symbol"].as_str().expect("symbol"))
        .collect();
    assert_eq!(names.len(), 3500, "unique symbols");
    let expected_filters = [
        "PRICE_FILTER",
        "LOT_SIZE",
        "ICEBERG_PARTS",
        "MARKET_LOT_SIZE",
        "TRAILING_DELTA",
        "PERCENT_PRICE_BY_SIDE",
        "NOTIONAL",
        "MAX_NUM_ORDERS",
        "MAX_NUM_ALGO_ORDERS",
    ];
    for s in list {
        assert_eq!(s["permissions"], serde_json::json!([]));
        let sets = s["permissionSets"].as_array().expect("permissionSets");
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0][0], "SPOT");
        let filters: Vec<&str> = s["filters"]
            .as_array()
            .expect("filters")
            .iter()
            .map(|f| f["filterType"].as_str().expect("filterType"))
            .collect();
        assert_eq!(filters, expected_filters);
        assert!(s["filters"][6]["minNotional"].is_string());
        assert!(s["defaultSelfTradePreventionMode"].is_string());
        assert!(s["allowedSelfTradePreventionModes"].is_array());
        assert_eq!(
            format!(
                "{}{}",
                s["baseAsset"].as_str().expect("base"),
                s["quoteAsset"].as_str().expect("quote")
            ),
            s["symbol"].as_str().expect("symbol")
        );
    }
    let trading = list.iter().filter(|s| s["status"] == "TRADING").count();
    assert!(trading > 1000 && trading < 3000, "{trading}");
}

// ---------------------------------------------------------------------------------------
// the binary

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn binary_help_and_bad_flag() {
    let exe = env!("CARGO_BIN_EXE_fake-exchange");
    let out = Command::new(exe)
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--spot-file",
        "--futures-file",
        "--synth-spot",
        "FAKE_EXCHANGE_LISTEN",
    ] {
        assert!(text.contains(flag), "help mentions {flag}");
    }
    let out = Command::new(exe)
        .arg("--bogus")
        .output()
        .expect("run --bogus");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn binary_serves_logs_and_stops_on_sigterm() {
    let exe = env!("CARGO_BIN_EXE_fake-exchange");
    let dir = std::env::temp_dir().join(format!("fake-exchange-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spot_file = dir.join("spot.json");
    std::fs::write(&spot_file, fixtures::spot_2020()).expect("write spot file");

    let mut child = Child(
        Command::new(exe)
            .args(["--listen", "127.0.0.1:0", "--spot-file"])
            .arg(&spot_file)
            .env_remove("FAKE_EXCHANGE_LISTEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    let mut lines = BufReader::new(child.0.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let base = first
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let c = client();
        let resp = c
            .get(format!("{base}/api/v3/exchangeInfo?symbolStatus=TRADING"))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(symbols(&v).len(), 860, "2020 payload's TRADING symbols");
        let script =
            serde_json::json!({"market": "futures", "faults": [{"kind": "status", "code": 418}]});
        c.post(format!("{base}/__control/faults"))
            .json(&script)
            .send()
            .await
            .expect("post");
        let resp = c
            .get(format!("{base}/fapi/v1/exchangeInfo"))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 418);
    });

    let mut logs = Vec::new();
    for _ in 0..3 {
        let line = lines.next().expect("log line").expect("utf-8");
        logs.push(serde_json::from_str::<Value>(&line).expect("JSON log line"));
    }
    assert_eq!(logs[0]["path"], "/api/v3/exchangeInfo");
    assert_eq!(logs[0]["status"], 200);
    assert_eq!(logs[1]["path"], "/__control/faults");
    assert_eq!(logs[2]["status"], 418);
    assert_eq!(logs[2]["fault"], "status");

    let pid = child.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            assert!(status.success(), "graceful exit on SIGTERM: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_new_payload_is_served_from_the_next_request_on() {
    let fx = fake_exchange::start().await;
    let small = br#"{"timezone":"UTC","symbols":[{"symbol":"NEWUSDT","status":"TRADING","baseAsset":"NEW","quoteAsset":"USDT","filters":[]}]}"#;
    fx.set_payload(Market::Spot, &small[..])
        .expect("valid payload");
    let (status, spot) = get_json(&fx, Market::Spot, "").await;
    assert_eq!(status, 200);
    assert_eq!(symbols(&spot).len(), 1);
    assert_eq!(symbols(&spot)[0]["symbol"], "NEWUSDT");
    // The other market keeps its own; a bad payload changes nothing.
    let (_, futures) = get_json(&fx, Market::Futures, "").await;
    assert_eq!(symbols(&futures).len(), 660);
    assert!(fx.set_payload(Market::Spot, &b"[1,2]"[..]).is_err());
    let (_, again) = get_json(&fx, Market::Spot, "").await;
    assert_eq!(symbols(&again)[0]["symbol"], "NEWUSDT");
}
