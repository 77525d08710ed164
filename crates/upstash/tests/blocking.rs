//! The blocking client against a real redis-server behind the gateway: typed methods, batches,
//! the never-failing helpers (also with the endpoint down), read-your-writes, and calls made from
//! inside an async runtime.

#[path = "support/stack.rs"]
mod stack;

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use upstash_rest::blocking::Client;
use upstash_rest::{ClientOptions, Command, Connection, SetOptions, Value};

static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn capture(line: &str) {
    LOGS.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(line.to_string());
}

fn logs_containing(needle: &str) -> Vec<String> {
    LOGS.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|l| l.contains(needle))
        .cloned()
        .collect()
}

fn client(stack: &stack::Stack) -> Client {
    let opts = ClientOptions {
        log: Some(capture),
        ..ClientOptions::default()
    };
    Client::new(stack.connection(), opts).expect("client")
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Doc {
    symbols: Vec<String>,
    count: u32,
}

#[test]
fn typed_methods_and_batches() {
    let stack = stack::Stack::start();
    let c = client(&stack);
    c.ping().expect("ping");
    assert!(c.set("b:k", "v", SetOptions::ex(60)).expect("set"));
    assert!(!c
        .set(
            "b:k",
            "w",
            SetOptions {
                nx: true,
                ..SetOptions::default()
            }
        )
        .expect("set nx"));
    assert_eq!(c.get("b:k").expect("get").as_deref(), Some("v"));
    assert_eq!(c.get_bytes("b:missing").expect("get_bytes"), None);
    assert_eq!(
        c.mget(["b:k", "b:missing"]).expect("mget"),
        [Some("v".to_string()), None]
    );
    assert!((55..=60).contains(&c.ttl("b:k").expect("ttl")));
    assert!(c.expire("b:k", 5).expect("expire"));
    assert_eq!(c.incr_by("b:n", 41).expect("incr_by"), 41);
    assert_eq!(
        c.eval(
            "return redis.call('INCR', KEYS[1])",
            ["b:n"],
            [] as [&str; 0]
        )
        .expect("eval"),
        Value::Int(42)
    );
    assert_eq!(c.del(["b:k", "b:n", "b:missing"]).expect("del"), 2);
    let results = c
        .pipeline()
        .cmd(Command::set("b:p", "1", SetOptions::default()))
        .cmd(Command::incr_by("b:p", 1))
        .cmd(Command::get("b:p"))
        .exec()
        .expect("pipeline");
    assert_eq!(
        results,
        [
            Ok(Value::Bytes(b"OK".to_vec())),
            Ok(Value::Int(2)),
            Ok(Value::Bytes(b"2".to_vec()))
        ]
    );
    let mut tx = c.multi();
    tx.push(Command::incr_by("b:p", 1))
        .push(Command::get("b:p"));
    assert_eq!(tx.len(), 2);
    assert_eq!(
        tx.exec().expect("multi"),
        [Ok(Value::Int(3)), Ok(Value::Bytes(b"3".to_vec()))]
    );
    // A Redis error is typed, not a panic.
    c.set("b:text", "abc", SetOptions::default()).expect("set");
    assert!(matches!(
        c.incr_by("b:text", 1),
        Err(upstash_rest::Error::Redis(_))
    ));
}

#[test]
fn helpers_follow_the_original_contract() {
    let stack = stack::Stack::start();
    let c = client(&stack);
    let doc = Doc {
        symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
        count: 2,
    };
    assert!(c.write_json("h:doc", &doc, Some(300)));
    assert_eq!(c.read_json::<Doc>("h:doc"), Some(doc));
    let ttl = c.ttl("h:doc").expect("ttl");
    assert!((295..=300).contains(&ttl), "EX when ttl > 0: {ttl}");
    assert!(c.write_json("h:forever", &[1, 2, 3], Some(0)));
    assert_eq!(c.ttl("h:forever").expect("ttl"), -1, "no EX when ttl is 0");
    assert!(c.write_json("h:none", "x", None));
    assert_eq!(c.ttl("h:none").expect("ttl"), -1);
    assert_eq!(c.read_json::<Doc>("h:missing"), None);
    c.set("h:garbage", "not json", SetOptions::default())
        .expect("set");
    assert_eq!(c.read_json::<Doc>("h:garbage"), None);
    assert_eq!(
        logs_containing("\"key\":\"h:garbage\"").len(),
        1,
        "invalid JSON is logged once"
    );
    assert_eq!(c.read_bytes("h:garbage").as_deref(), Some(&b"not json"[..]));
    assert_eq!(c.incr("h:c", None), Some(1));
    assert_eq!(c.incr("h:c", Some(9)), Some(10));
    assert_eq!(c.get_int("h:c"), 10);
    assert_eq!(c.get_int("h:missing"), 0);
    assert_eq!(c.get_int("h:garbage"), 0);
    assert_eq!(c.incr("h:garbage", None), None, "INCR on text is swallowed");
    assert_eq!(
        logs_containing("upstash.incr_failed")
            .iter()
            .filter(|l| l.contains("h:garbage"))
            .count(),
        1
    );
}

#[test]
fn helpers_never_fail_with_the_endpoint_down() {
    let port = testkit::free_port();
    let conn =
        Connection::new(&format!("http://127.0.0.1:{port}"), Some(stack::TOKEN)).expect("valid");
    let opts = ClientOptions {
        log: Some(capture),
        timeout: Duration::from_millis(500),
        retry_budget: Duration::from_millis(100),
        ..ClientOptions::default()
    };
    let c = Client::new(conn, opts).expect("client");
    assert_eq!(c.read_json::<Doc>("down:k"), None);
    assert!(!c.write_json("down:k", &1, Some(5)));
    assert_eq!(c.incr("down:k", None), None);
    assert_eq!(c.get_int("down:k"), 0);
    let err = c.get("down:k").expect_err("down");
    assert!(err.is_unreachable(), "{err}");
    let logged = logs_containing("down:k");
    assert_eq!(logged.len(), 4, "{logged:?}");
    assert!(
        logged.iter().all(|l| !l.contains(stack::TOKEN)),
        "{logged:?}"
    );
}

#[test]
fn read_your_writes_tokens_are_kept_and_sent_back() {
    let stack = stack::Stack::start();
    let c = client(&stack);
    assert_eq!(c.sync_token(), None);
    c.set("r:k", "v", SetOptions::default()).expect("set");
    let first: u64 = c
        .sync_token()
        .expect("token after a write")
        .parse()
        .expect("numeric");
    assert_eq!(c.get("r:k").expect("get").as_deref(), Some("v"));
    let second: u64 = c.sync_token().expect("token").parse().expect("numeric");
    assert!(second > first);
    let clone = c.clone();
    assert_eq!(clone.sync_token(), c.sync_token(), "clones share the token");
    let off = Client::new(
        stack.connection(),
        ClientOptions {
            read_your_writes: false,
            ..ClientOptions::default()
        },
    )
    .expect("client");
    off.ping().expect("ping");
    assert_eq!(off.sync_token(), None);
}

#[tokio::test]
async fn works_and_drops_inside_an_async_runtime() {
    let stack = stack::Stack::start();
    let c = client(&stack);
    assert!(c.write_json("a:k", &[1, 2], Some(30)));
    assert_eq!(c.read_json::<Vec<u32>>("a:k"), Some(vec![1, 2]));
    drop(c); // the runtime shuts down without blocking this one
    drop(stack);
}
