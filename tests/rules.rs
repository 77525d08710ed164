//! Full records through the built Worker: a single-symbol lookup gives every rule Binance
//! sent, `?fields=` selects from them (kept per isolate, `ETag`/304), bad field names are
//! a 400 naming them, and with the records gone the list's own records still answer.

use serde_json::Value;

use crate::support::Stack;

/// The objects of a list body by symbol.
fn by_symbol(body: &Value) -> std::collections::HashMap<String, Value> {
    body["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| {
            (
                s["symbol"].as_str().unwrap_or_default().to_string(),
                s.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn single_lookups_and_fields_lists_carry_every_rule() {
    let stack = Stack::start().await;
    let list = stack.get("/api/symbols/spot").await;
    assert_eq!(list.status, 200, "{}", list.text());
    let lean = by_symbol(&list.json());

    // Stored: a hash of one record per symbol plus its header and order, TTL'd like the
    // list, a last good copy without TTL, and no scratch key left behind.
    let count = list.json()["count"].as_i64().expect("count");
    let hlen: i64 = stack
        .redis
        .cli(&["HLEN", "symbols-edge:spot:rules"])
        .trim_start_matches("(integer) ")
        .parse()
        .expect("HLEN");
    assert_eq!(hlen, count + 2);
    assert!(stack.redis_ttl("symbols-edge:spot:rules") > 0);
    assert_eq!(stack.redis_ttl("symbols-edge:spot:rules:last_good"), -1);
    assert_eq!(
        stack
            .redis
            .cli(&["EXISTS", "symbols-edge:spot:rules:writing"]),
        "(integer) 0"
    );

    // One symbol: every field of the list's record, the same values, and every rule.
    let one = stack.get("/api/symbols/spot/btcusdt").await;
    assert_eq!(one.status, 200, "{}", one.text());
    let rec = one.json();
    for (k, v) in lean["BTCUSDT"].as_object().expect("object") {
        assert_eq!(&rec[k], v, "BTCUSDT {k}");
    }
    assert_eq!(rec["maxNumOrders"], 200);
    assert_eq!(rec["applyMinToMarket"], true);
    assert!(rec["maxNotional"].is_string(), "{rec}");
    assert!(rec["orderTypes"].as_array().is_some_and(|t| !t.is_empty()));
    assert_eq!(rec["canTrade"], true);
    assert_eq!(rec["delistAt"], Value::Null);
    assert!(rec.get("filters").is_none());

    // Futures spell the rules differently; the names are the same.
    let fut = stack.get("/api/symbols/futures/BTCUSDT").await;
    assert_eq!(fut.status, 200, "{}", fut.text());
    let fut = fut.json();
    assert_eq!(fut["minNotional"], "100", "{fut}");
    assert_eq!(fut["maxNumOrders"], 10000);
    assert_eq!(fut["delistAt"], Value::Null);
    assert!(fut["pricePrecision"].is_i64());

    // A selection: `symbol` plus the fields asked, filters applied, kept and revalidated.
    let path = "/api/symbols/spot?fields=tickSize,maxNumOrders,canTrade&quote=USDT";
    let sel = stack.get(path).await;
    assert_eq!(sel.status, 200, "{}", sel.text());
    let body = sel.json();
    assert_eq!(
        body["fields"],
        serde_json::json!(["symbol", "tickSize", "maxNumOrders", "canTrade"])
    );
    let usdt = lean.values().filter(|s| s["quoteAsset"] == "USDT").count();
    assert_eq!(body["count"], usdt);
    for s in body["symbols"].as_array().expect("symbols") {
        assert_eq!(s.as_object().map(|o| o.len()), Some(4), "{s}");
        let name = s["symbol"].as_str().unwrap_or_default();
        assert_eq!(s["tickSize"], lean[name]["tickSize"], "{name}");
        assert_eq!(s["canTrade"], lean[name]["status"] == "TRADING", "{name}");
    }
    let etag = sel.header("etag").expect("ETag").to_string();
    assert!(etag.starts_with("\"spot-rules-"), "{etag}");
    let again = stack
        .request("GET", path, &[("If-None-Match", &etag)])
        .await;
    assert_eq!(again.status, 304);

    // Everything: each record is the single lookup's.
    let all = stack.get("/api/symbols/spot?fields=all").await;
    assert_eq!(all.status, 200);
    assert_eq!(all.json()["count"], count);
    assert_eq!(by_symbol(&all.json())["BTCUSDT"], rec);

    // Bad names: 400 naming the problem.
    let typo = stack.get("/api/symbols/spot?fields=tickSzie").await;
    assert_eq!(typo.status, 400);
    let msg = typo.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.contains("tickSzie") && msg.contains("tickSize"),
        "{msg}"
    );
    assert_eq!(stack.get("/api/symbols/spot?fields=a-b").await.status, 400);
    assert_eq!(
        stack
            .get("/api/symbols/spot/BTCUSDT?fields=tickSize")
            .await
            .status,
        400
    );
    assert_eq!(
        stack
            .get("/api/symbols/spot?fields=tickSize&format=ccxt")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn without_full_records_the_lists_own_records_answer_until_a_refresh_restores_them() {
    let stack = Stack::start().await;
    assert_eq!(stack.get("/api/symbols/spot").await.status, 200);
    stack.redis.cli(&[
        "DEL",
        "symbols-edge:spot:rules",
        "symbols-edge:spot:rules:last_good",
    ]);

    // The single lookup falls back to the list's record; a selection of its fields works;
    // a rule only the full records have is a 503 that says so.
    let one = stack.get("/api/symbols/spot/BTCUSDT").await;
    assert_eq!(one.status, 200);
    assert!(one.json().get("maxNumOrders").is_none(), "{}", one.text());
    assert_eq!(one.json()["tickSize"], "0.01000000");
    let lean = stack.get("/api/symbols/spot?fields=tickSize").await;
    assert_eq!(lean.status, 200, "{}", lean.text());
    let missing = stack.get("/api/symbols/spot?fields=maxNumOrders").await;
    assert_eq!(missing.status, 503, "{}", missing.text());
    assert!(missing.header("retry-after").is_some());
    assert!(
        missing.text().contains("maxNumOrders"),
        "{}",
        missing.text()
    );

    // Refreshes that find the list unchanged: the first sees the records gone and stops
    // naming them, the next builds them again.
    for _ in 0..2 {
        stack.redis.cli(&["DEL", "symbols-edge:spot:document"]);
        assert_eq!(stack.get("/api/symbols/spot").await.status, 200);
    }
    let back = stack.get("/api/symbols/spot/BTCUSDT").await;
    assert_eq!(back.json()["maxNumOrders"], 200, "{}", back.text());
}

#[tokio::test]
async fn a_repeated_lookup_is_answered_from_the_isolates_copy() {
    let stack = Stack::start_with(
        crate::support::Options::default()
            .var("EDGE_CACHE_TTL_SECONDS", "30")
            .var("ISOLATE_CACHE_TTL_SECONDS", "30"),
    )
    .await;
    let first = stack.get("/api/symbols/spot/BTCUSDT").await;
    assert_eq!(first.json()["maxNumOrders"], 200, "{}", first.text());
    // The hash gone: only this isolate's copy can still give the full record, without Redis.
    stack.redis.cli(&[
        "DEL",
        "symbols-edge:spot:rules",
        "symbols-edge:spot:rules:last_good",
    ]);
    let again = stack.get("/api/symbols/spot/BTCUSDT").await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.text(),
        first.text(),
        "X-Cache {:?}",
        again.header("x-cache")
    );
    // Another symbol is not in the copy: the list's record answers.
    let eth = stack.get("/api/symbols/spot/ETHUSDT").await;
    assert!(eth.json().get("maxNumOrders").is_none(), "{}", eth.text());
}
