//! The changes feed through workerd (issue 16): the fake exchange changes its payloads
//! between two cron refreshes; the feed, its paging, `since` and the webhook show it.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{FxMarket, Hook, Options, Stack};

/// The webhook's path: stands in for a secret token in the URL.
const HOOK_PATH: &str = "/hooks/s3cret-hook-token-5d2c";

fn symbols_mut(doc: &mut Value) -> &mut Vec<Value> {
    doc["symbols"].as_array_mut().expect("symbols array")
}

fn find<'a>(list: &'a mut [Value], name: &str) -> &'a mut Value {
    list.iter_mut()
        .find(|s| s["symbol"] == name)
        .unwrap_or_else(|| panic!("no {name} in the fixture"))
}

/// The recorded spot payload with ETHBTC halted (BREAK), BTCUSDT's tick size changed,
/// LTCBTC gone and NEWCOINUSDT listed: four change events (also used by the operations
/// tests to give schemathesis and the status page a feed with events).
pub fn changed_spot() -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(fake_exchange::fixtures::spot()).expect("spot");
    let list = symbols_mut(&mut doc);
    find(list, "ETHBTC")["status"] = json!("BREAK");
    let btc = find(list, "BTCUSDT");
    let mut new = btc.clone();
    for f in btc["filters"].as_array_mut().expect("filters") {
        if f["filterType"] == "PRICE_FILTER" {
            f["tickSize"] = json!("0.00100000");
        }
    }
    new["symbol"] = json!("NEWCOINUSDT");
    new["baseAsset"] = json!("NEWCOIN");
    list.retain(|s| s["symbol"] != "LTCBTC");
    list.push(new);
    serde_json::to_vec(&doc).expect("json")
}

/// The recorded futures payload with BTCUSDT (a perpetual) given a delivery date.
pub fn changed_futures() -> Vec<u8> {
    let mut doc: Value =
        serde_json::from_slice(fake_exchange::fixtures::futures()).expect("futures");
    let btc = find(symbols_mut(&mut doc), "BTCUSDT");
    // 2 s past the usual 2100-12-25 sentinel: Binance's far-future dates vary.
    assert_eq!(btc["deliveryDate"], 4_133_404_802_000_i64, "far future");
    btc["deliveryDate"] = json!(1_767_225_600_000_i64);
    serde_json::to_vec(&doc).expect("json")
}

fn kinds(events: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("").to_string(),
                e["symbol"].as_str().unwrap_or("").to_string(),
                e["field"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn triple(t: &str, s: &str, f: &str) -> (String, String, String) {
    (t.into(), s.into(), f.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_payload_shows_in_the_feed_pages_and_the_webhook() {
    let hook = Hook::start().await;
    let stack = Stack::start_with(
        Options::default()
            .var("CHANGES_WEBHOOK_URL", &hook.url(HOOK_PATH))
            .var("CHANGES_MAX_EVENTS", "5"),
    )
    .await;

    // The first refresh: no previous list, no events.
    stack.fire_cron().await;
    let v1 = stack.get("/api/symbols/spot").await.json()["version"]
        .as_str()
        .expect("version")
        .to_string();
    let empty = stack.get("/api/symbols/spot/changes").await;
    assert_eq!(empty.status, 200, "{}", empty.text());
    let body = empty.json();
    assert_eq!(body["market"], "spot");
    assert_eq!(body["events"], json!([]));
    assert_eq!(
        (body["truncated"].clone(), body["hasMore"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(
        stack
            .get(&format!("/api/symbols/spot/changes?since={v1}"))
            .await
            .json()["events"],
        json!([])
    );

    // Binance changes both lists; the next cron sees it.
    stack
        .exchange
        .set_payload(FxMarket::Spot, changed_spot())
        .expect("spot payload");
    stack
        .exchange
        .set_payload(FxMarket::Futures, changed_futures())
        .expect("futures payload");
    stack.fire_cron().await;
    let v2 = stack.get("/api/symbols/spot").await.json()["version"]
        .as_str()
        .expect("version")
        .to_string();
    assert_ne!(v1, v2);

    let all = stack
        .get(&format!("/api/symbols/spot/changes?since={v1}"))
        .await
        .json();
    assert_eq!(
        kinds(&all["events"]),
        vec![
            triple("delisted", "LTCBTC", ""),
            triple("listed", "NEWCOINUSDT", ""),
            triple("rules", "BTCUSDT", "tickSize"),
            triple("status", "ETHBTC", "status"),
        ],
        "{all}"
    );
    let events = all["events"].as_array().expect("events").clone();
    let rule = events
        .iter()
        .find(|e| e["type"] == "rules")
        .expect("rules event");
    assert_eq!(
        (rule["from"].clone(), rule["to"].clone()),
        (json!("0.01000000"), json!("0.00100000"))
    );
    assert_eq!(rule["version"], v2.as_str());
    assert_eq!(rule["market"], "spot");
    let status = events
        .iter()
        .find(|e| e["type"] == "status")
        .expect("status event");
    assert_eq!(
        (status["from"].clone(), status["to"].clone()),
        (json!("TRADING"), json!("BREAK"))
    );
    let listed = events
        .iter()
        .find(|e| e["type"] == "listed")
        .expect("listed");
    assert_eq!(listed["to"]["baseAsset"], "NEWCOIN");
    assert!(
        all["truncated"] == json!(false) && all["hasMore"] == json!(false),
        "{all}"
    );
    // The whole feed (no since) is the same four; oldest first (ids ascending).
    let ids: Vec<String> = events
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_by_key(|id| {
        let (ms, seq) = id.split_once('-').expect("id");
        (
            ms.parse::<u64>().expect("ms"),
            seq.parse::<u64>().expect("seq"),
        )
    });
    assert_eq!(ids, sorted);
    assert_eq!(
        stack.get("/api/symbols/spot/changes").await.json()["events"],
        all["events"]
    );

    // Paging: two, then the rest from the cursor.
    let p1 = stack.get("/api/symbols/spot/changes?limit=2").await.json();
    assert_eq!(p1["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(p1["hasMore"], true);
    let cursor = p1["next"].as_str().expect("next").to_string();
    assert_eq!(cursor, ids[1]);
    let p2 = stack
        .get(&format!(
            "/api/symbols/spot/changes?cursor={cursor}&limit=2"
        ))
        .await
        .json();
    assert_eq!(p2["events"], json!(events[2..]));
    assert_eq!(p2["hasMore"], false);
    let p3 = stack
        .get(&format!("/api/symbols/spot/changes?cursor={}", ids[3]))
        .await
        .json();
    assert_eq!(p3["events"], json!([]));
    assert_eq!(p3["next"], ids[3].as_str(), "a poller keeps its cursor");
    // since a time: before the change all of it, at its detection time nothing.
    let detected = events[3]["detectedAt"]
        .as_str()
        .expect("detectedAt")
        .to_string();
    assert!(
        detected.ends_with('Z') && detected.contains('.'),
        "{detected}"
    );
    let after = stack
        .get(&format!("/api/symbols/spot/changes?since={detected}"))
        .await
        .json();
    assert_eq!(after["events"], json!([]), "{after}");
    let before = stack
        .get("/api/symbols/spot/changes?since=2020-01-01T00:00:00Z")
        .await
        .json();
    assert_eq!(before["events"].as_array().map(Vec::len), Some(4));
    assert_eq!(before["truncated"], false);

    // Futures: the perpetual's delivery date is a scheduled delisting.
    let fut = stack.get("/api/symbols/futures/changes").await.json();
    assert_eq!(
        kinds(&fut["events"]),
        vec![triple("delisting_scheduled", "BTCUSDT", "deliveryDate")]
    );
    assert_eq!(fut["events"][0]["to"], 1_767_225_600_000_i64);

    // The webhook: one POST per market's refresh, after the response, to the secret URL.
    let posts = hook.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    let bodies: Vec<Value> = posts
        .iter()
        .map(|(path, body)| {
            assert_eq!(path, HOOK_PATH);
            serde_json::from_slice(body).expect("webhook JSON")
        })
        .collect();
    let spot_post = bodies
        .iter()
        .find(|b| b["market"] == "spot")
        .expect("spot POST");
    assert_eq!(spot_post["count"], 4);
    assert_eq!(kinds(&spot_post["events"]), kinds(&all["events"]));
    assert_eq!(spot_post["version"], v2.as_str());

    // Trimmed history: two more spot events pass CHANGES_MAX_EVENTS=5, so `since=v1`
    // can no longer be answered completely, and says so. The webhook now fails: the
    // refresh does not, and the failure is counted.
    hook.answer(500);
    let mut doc: Value = serde_json::from_slice(&changed_spot()).expect("json");
    find(symbols_mut(&mut doc), "BNBBTC")["status"] = json!("HALT");
    find(symbols_mut(&mut doc), "BNBUSDT")["status"] = json!("HALT");
    stack
        .exchange
        .set_payload(FxMarket::Spot, serde_json::to_vec(&doc).expect("json"))
        .expect("payload");
    stack.fire_cron().await;
    let old = stack
        .get(&format!("/api/symbols/spot/changes?since={v1}"))
        .await
        .json();
    assert_eq!(old["truncated"], true, "{old}");
    assert_eq!(old["retained"], 5);
    assert_eq!(old["events"].as_array().map(Vec::len), Some(5));
    let fresh = stack
        .get(&format!("/api/symbols/spot/changes?since={v2}"))
        .await
        .json();
    assert_eq!(
        fresh["truncated"], false,
        "nothing after v2 was trimmed: {fresh}"
    );
    assert_eq!(
        kinds(&fresh["events"]),
        vec![
            triple("status", "BNBBTC", "status"),
            triple("status", "BNBUSDT", "status")
        ]
    );
    assert_eq!(hook.wait_for(3, Duration::from_secs(20)).await.len(), 3);
    assert_eq!(
        stack.redis_int("metrics:warmup_spot_symbols_cache:error"),
        0
    );
    assert_eq!(
        stack.redis_int("metrics:warmup_spot_symbols_cache:success"),
        3
    );
    assert_eq!(
        stack
            .redis_int_eventually("symbols-edge:spot:changes:webhook:failed", 1)
            .await,
        1
    );
    assert_eq!(stack.redis_int("symbols-edge:spot:changes:webhook:ok"), 1);

    // /metrics: events by market and type, webhook outcomes.
    let text = stack.get("/metrics").await.text();
    for line in [
        "symbols_changes_recorded_total{market=\"spot\",type=\"status\"} 3",
        "symbols_changes_recorded_total{market=\"spot\",type=\"listed\"} 1",
        "symbols_changes_recorded_total{market=\"futures\",type=\"delisting_scheduled\"} 1",
        "symbols_changes_webhook_total{market=\"spot\",outcome=\"ok\"} 1",
        "symbols_changes_webhook_total{market=\"spot\",outcome=\"failed\"} 1",
        "symbols_changes_webhook_total{market=\"futures\",outcome=\"ok\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }

    // Bad queries are 400s with a JSON error.
    for q in [
        "since=yesterday",
        "limit=0",
        "limit=5000",
        "cursor=x",
        "since=2024-01-01T00:00:00Z&cursor=1-0",
    ] {
        let r = stack.get(&format!("/api/symbols/spot/changes?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert!(
            r.json()["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{q}"
        );
    }
    // The webhook URL is a secret: never in a response or a log line.
    assert!(
        !stack.log().contains("s3cret-hook-token"),
        "the webhook URL leaked into the log"
    );
    assert!(!text.contains("s3cret-hook-token"));
}
