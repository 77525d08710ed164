//! `Upstash-Encoding: base64` results and binary-safe values.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::{self, send};

fn b64(s: impl AsRef<[u8]>) -> Value {
    json!(BASE64.encode(s))
}

#[tokio::test]
async fn base64_results_keep_ok_numbers_and_nulls() {
    let gw = support::start().await;
    let send_b64 = |command: Value| {
        let req = gw
            .post("/")
            .header("Upstash-Encoding", "base64")
            .json(&command);
        async move { send(req).await }
    };
    assert_eq!(
        send_b64(json!(["SET", "k", "hello"])).await,
        (200, json!({"result": "OK"}))
    );
    assert_eq!(
        send_b64(json!(["GET", "k"])).await,
        (200, json!({"result": b64("hello")}))
    );
    assert_eq!(
        send_b64(json!(["PING"])).await,
        (200, json!({"result": b64("PONG")}))
    );
    assert_eq!(
        send_b64(json!(["GET", "missing"])).await,
        (200, json!({"result": null}))
    );
    assert_eq!(
        send_b64(json!(["INCR", "n"])).await,
        (200, json!({"result": 1}))
    );
    assert_eq!(
        send_b64(json!(["RPUSH", "l", "a", "OK", "ü"])).await,
        (200, json!({"result": 3}))
    );
    assert_eq!(
        send_b64(json!(["LRANGE", "l", 0, -1])).await,
        (200, json!({"result": [b64("a"), b64("OK"), b64("ü")]}))
    );
    assert_eq!(
        send_b64(json!(["MGET", "k", "missing"])).await,
        (200, json!({"result": [b64("hello"), null]}))
    );
    // Errors are never encoded.
    assert_eq!(
        send_b64(json!(["INCR", "k"])).await,
        (
            400,
            json!({"error": "ERR value is not an integer or out of range"})
        )
    );
    // Nested arrays are encoded element-wise.
    gw.ok(json!(["XADD", "st", "1-1", "field", "value"])).await;
    assert_eq!(
        send_b64(json!(["XRANGE", "st", "-", "+"])).await,
        (
            200,
            json!({"result": [[b64("1-1"), [b64("field"), b64("value")]]]})
        )
    );
    // Pipelines and transactions encode each envelope's result.
    let (status, body) = send(
        gw.post("/pipeline")
            .header("upstash-encoding", "base64")
            .json(&json!([
                ["SET", "p", "v"],
                ["GET", "p"],
                ["INCR", "p"],
                ["INCR", "c"]
            ])),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{"result": "OK"}, {"result": b64("v")}, {"error": "ERR value is not an integer or out of range"}, {"result": 1}])
    );
    let (status, body) = send(
        gw.post("/multi-exec")
            .header("Upstash-Encoding", "base64")
            .json(&json!([["SET", "t", "x"], ["GET", "t"]])),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!([{"result": "OK"}, {"result": b64("x")}]))
    );
}

#[tokio::test]
async fn binary_values_round_trip_exactly_under_base64() {
    let gw = support::start().await;
    let binary: Vec<u8> = (0u8..=255)
        .rev()
        .chain([0, 0xff, 0xfe, b'\r', b'\n', 0xc3])
        .collect();
    assert!(std::str::from_utf8(&binary).is_err());
    // Raw POST body is the value.
    let (status, body) = send(gw.post("/set/bin").body(binary.clone())).await;
    assert_eq!((status, body), (200, json!({"result": "OK"})));
    let (status, body) = send(gw.get("/get/bin").header("Upstash-Encoding", "base64")).await;
    assert_eq!(status, 200);
    let decoded = BASE64
        .decode(body["result"].as_str().expect("base64 string"))
        .expect("valid base64");
    assert_eq!(decoded, binary, "binary value changed on the way through");
    // Percent-encoded bytes in the path are binary-safe too.
    let (status, _) = send(gw.get("/set/pbin/%00%FF%FEok")).await;
    assert_eq!(status, 200);
    let (_, body) = send(gw.get("/get/pbin").header("Upstash-Encoding", "base64")).await;
    assert_eq!(body, json!({"result": b64(b"\x00\xff\xfeok")}));
    // redis-cli sees the exact bytes.
    assert_eq!(
        gw.redis.cli(&["STRLEN", "bin"]),
        format!("(integer) {}", binary.len())
    );
    // Without base64, non-UTF-8 bytes come back lossily (but still as valid JSON).
    let (status, body) = send(gw.get("/get/pbin")).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"result": "\u{0}\u{fffd}\u{fffd}ok"}));
}

#[tokio::test]
async fn large_values_round_trip() {
    let gw = support::start().await;
    let value: String = (0..400 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    assert_eq!(gw.ok(json!(["SET", "large", value])).await, json!("OK"));
    assert_eq!(gw.ok(json!(["GET", "large"])).await, json!(value));
    let (status, body) = send(gw.get("/get/large").header("Upstash-Encoding", "base64")).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"result": b64(&value)}));
}
