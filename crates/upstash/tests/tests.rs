//! Native integration tests: the client against a real redis-server behind the local
//! Upstash-compatible gateway (started in-process on 127.0.0.1:0), plus hand-made TCP servers
//! for the failure modes (nothing listening, stalling, resetting, raw request capture).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use testkit::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use upstash_rest::{Client, ClientOptions, Command, Connection, Error, SetOptions, Value};

const TOKEN: &str = "itest-SECRET-token-0123456789";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Log sink capturing every line (tests filter by their own unique key names).
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

fn options() -> ClientOptions {
    ClientOptions {
        log: Some(capture),
        ..ClientOptions::default()
    }
}

/// redis-server + gateway on an ephemeral port; both go away on drop.
struct Stack {
    redis: RedisServer,
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Stack {
    async fn start() -> Stack {
        let redis = RedisServer::start();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let addr = listener.local_addr().expect("gateway addr");
        let config = upstash_gateway::Config {
            listen: addr.to_string(),
            redis_url: redis.url(),
            token: Some(TOKEN.to_string()),
            ..Default::default()
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = upstash_gateway::run(listener, config, shutdown).await {
                eprintln!("gateway stopped: {e}");
            }
        });
        Stack {
            redis,
            url: format!("http://{addr}"),
            shutdown: Some(tx),
            task,
        }
    }

    fn client(&self) -> Client {
        self.client_with(options())
    }

    fn client_with(&self, opts: ClientOptions) -> Client {
        let conn = Connection::new(&self.url, Some(TOKEN)).expect("valid connection");
        Client::new(conn, opts).expect("client")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

fn client_for(url: &str, opts: ClientOptions) -> Client {
    Client::new(Connection::new(url, Some(TOKEN)).expect("valid"), opts).expect("client")
}

/// A loopback listener that accepts connections and does something with each; counts accepts.
async fn fake_server(mode: FakeMode) -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            match mode {
                // Accept and never answer (keep the socket open).
                FakeMode::Stall => held.push(sock),
                // Read the request, then close the connection without an answer.
                FakeMode::Reset => {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    drop(sock);
                }
            }
        }
    });
    (url, accepted, task)
}

#[derive(Clone, Copy)]
enum FakeMode {
    Stall,
    Reset,
}

// ---------------------------------------------------------------------------------------------
// Commands against the real stack
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_typed_command_round_trips() {
    let stack = Stack::start().await;
    let c = stack.client();

    c.ping().await.expect("ping");

    // Missing keys.
    assert_eq!(c.get("cmd:missing").await.expect("get"), None);
    assert_eq!(c.get_bytes("cmd:missing").await.expect("get_bytes"), None);
    assert_eq!(c.ttl("cmd:missing").await.expect("ttl"), -2);
    assert!(!c.expire("cmd:missing", 10).await.expect("expire"));
    assert_eq!(c.del(["cmd:missing"]).await.expect("del"), 0);

    // SET / GET, unicode and JSON-looking text survive base64 transport.
    let text = "{\"s\":\"BTCUSDT\",\"note\":\"é🚀 \\\"quoted\\\"\"}";
    assert!(c
        .set("cmd:a", text, SetOptions::default())
        .await
        .expect("set"));
    assert_eq!(c.get("cmd:a").await.expect("get").as_deref(), Some(text));
    assert_eq!(stack.redis.cli_raw(&["GET", "cmd:a"]), text);
    // A value that is itself "OK" and one that looks like base64.
    assert!(c
        .set("cmd:ok", "OK", SetOptions::default())
        .await
        .expect("set OK"));
    assert_eq!(
        c.get("cmd:ok").await.expect("get OK").as_deref(),
        Some("OK")
    );
    assert!(c
        .set("cmd:b64", "YmFy", SetOptions::default())
        .await
        .expect("set"));
    assert_eq!(
        c.get("cmd:b64").await.expect("get").as_deref(),
        Some("YmFy")
    );

    // NX: false when the key exists, true when not.
    assert!(!c
        .set(
            "cmd:a",
            "other",
            SetOptions {
                nx: true,
                ..Default::default()
            }
        )
        .await
        .expect("set nx"));
    assert_eq!(c.get("cmd:a").await.expect("get").as_deref(), Some(text));
    assert!(c
        .set(
            "cmd:nx",
            "1",
            SetOptions {
                nx: true,
                ..Default::default()
            }
        )
        .await
        .expect("set nx"));

    // MGET with a hole.
    assert_eq!(
        c.mget(["cmd:a", "cmd:missing", "cmd:nx"])
            .await
            .expect("mget"),
        vec![Some(text.to_string()), None, Some("1".to_string())]
    );
    let none: [&str; 0] = [];
    assert_eq!(
        c.mget(none).await.expect("empty mget"),
        Vec::<Option<String>>::new()
    );

    // INCRBY.
    assert_eq!(c.incr_by("cmd:n", 5).await.expect("incr"), 5);
    assert_eq!(c.incr_by("cmd:n", -7).await.expect("incr"), -2);
    match c.incr_by("cmd:a", 1).await {
        Err(Error::Redis(msg)) => assert!(msg.contains("not an integer"), "{msg}"),
        other => panic!("INCRBY on text: {other:?}"),
    }

    // TTLs really set: SET EX, PX and EXPIRE, checked through the client and redis-cli.
    assert!(c
        .set("cmd:ex", "v", SetOptions::ex(100))
        .await
        .expect("set ex"));
    let ttl = c.ttl("cmd:ex").await.expect("ttl");
    assert!((95..=100).contains(&ttl), "ttl {ttl}");
    let cli_ttl: i64 = stack
        .redis
        .cli_raw(&["TTL", "cmd:ex"])
        .parse()
        .expect("cli ttl");
    assert!((95..=100).contains(&cli_ttl), "cli ttl {cli_ttl}");
    assert!(c
        .set(
            "cmd:px",
            "v",
            SetOptions {
                px: Some(50_000),
                ..Default::default()
            }
        )
        .await
        .expect("set px"));
    let ttl = c.ttl("cmd:px").await.expect("ttl");
    assert!((45..=50).contains(&ttl), "px ttl {ttl}");
    assert_eq!(c.ttl("cmd:a").await.expect("ttl"), -1);
    assert!(c.expire("cmd:a", 30).await.expect("expire"));
    let ttl = c.ttl("cmd:a").await.expect("ttl");
    assert!((25..=30).contains(&ttl), "expire ttl {ttl}");

    // EVAL with keys and args, returning a table.
    let v = c
        .eval(
            "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), 42}",
            ["cmd:lua"],
            ["hi"],
        )
        .await
        .expect("eval");
    assert_eq!(
        v,
        Value::Array(vec![Value::Bytes(b"hi".to_vec()), Value::Int(42)])
    );
    match c
        .eval("return redis.call('NOSUCHCMD')", ["cmd:lua"], ["x"])
        .await
    {
        Err(Error::Redis(msg)) => assert!(!msg.is_empty()),
        other => panic!("bad script: {other:?}"),
    }

    // Generic command.
    let v = c
        .command(Command::new("HSET").arg("cmd:h").arg("f").arg(7))
        .await
        .expect("hset");
    assert_eq!(v, Value::Int(1));
    let v = c
        .command(Command::new("HGET").arg("cmd:h").arg("f"))
        .await
        .expect("hget");
    assert_eq!(v.as_int(), Some(7));
    match c.command(Command::new("NOSUCHCOMMAND")).await {
        Err(e @ Error::Redis(_)) => assert!(!e.is_unreachable()),
        other => panic!("unknown command: {other:?}"),
    }

    // DEL counts.
    assert_eq!(
        c.del(["cmd:a", "cmd:nx", "cmd:missing"])
            .await
            .expect("del"),
        2
    );
    assert_eq!(c.del(none).await.expect("empty del"), 0);
    assert_eq!(c.get("cmd:a").await.expect("get"), None);
}

#[tokio::test]
async fn plain_json_mode_works_too() {
    let stack = Stack::start().await;
    let c = stack.client_with(ClientOptions {
        base64: false,
        ..options()
    });
    assert!(c
        .set("plain:k", "héllo", SetOptions::default())
        .await
        .expect("set"));
    assert_eq!(
        c.get("plain:k").await.expect("get").as_deref(),
        Some("héllo")
    );
    assert!(c
        .set("plain:b64", "YmFy", SetOptions::default())
        .await
        .expect("set"));
    assert_eq!(
        c.get("plain:b64").await.expect("get").as_deref(),
        Some("YmFy")
    );
    c.ping().await.expect("ping");
    assert_eq!(c.incr_by("plain:n", 2).await.expect("incr"), 2);
}

#[tokio::test]
async fn binary_values_round_trip_through_get_bytes() {
    let stack = Stack::start().await;
    let c = stack.client();
    let all_bytes: Vec<u8> = (0..=255u8).rev().collect();

    // Written by Lua (no client-side encoding involved), read back exactly.
    c.eval(
        "local t = {} for i = 0, 255 do t[#t + 1] = string.char(255 - i) end redis.call('SET', KEYS[1], table.concat(t))",
        ["bin:lua"],
        Vec::<&str>::new(),
    )
    .await
    .expect("eval");
    assert_eq!(
        c.get_bytes("bin:lua").await.expect("get_bytes"),
        Some(all_bytes.clone())
    );
    assert!(
        matches!(c.get("bin:lua").await, Err(Error::Decode(_))),
        "get on binary must not lossily decode"
    );
    assert_eq!(stack.redis.cli_raw(&["STRLEN", "bin:lua"]), "256");

    // Written by the client (binary last argument -> raw request body), read back exactly.
    assert!(c
        .set("bin:client", all_bytes.clone(), SetOptions::default())
        .await
        .expect("binary set"));
    assert_eq!(
        c.get_bytes("bin:client").await.expect("get_bytes"),
        Some(all_bytes.clone())
    );
    assert_eq!(stack.redis.cli_raw(&["STRLEN", "bin:client"]), "256");
    // Same through the generic command with a key needing escapes in the path.
    let key = "bin:a/b c%?#é";
    c.command(Command::new("SET").arg(key).arg(vec![0xff, 0x00, 0xfe]))
        .await
        .expect("binary set");
    assert_eq!(
        c.get_bytes(key).await.expect("get_bytes"),
        Some(vec![0xff, 0x00, 0xfe])
    );

    // A binary value that is not the last argument cannot be sent.
    match c.set("bin:x", vec![0xffu8], SetOptions::ex(5)).await {
        Err(Error::Encode(msg)) => assert!(msg.contains("SET"), "{msg}"),
        other => panic!("binary + EX: {other:?}"),
    }

    // Large value (hot path): 2 MiB of JSON moved as bytes.
    let big = format!(
        "[{}]",
        (0..200_000)
            .map(|i| format!("\"S{i:05}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert!(big.len() > 1_500_000);
    assert!(c
        .set("bin:big", big.as_str(), SetOptions::default())
        .await
        .expect("big set"));
    assert_eq!(
        c.get_bytes("bin:big").await.expect("big get"),
        Some(big.clone().into_bytes())
    );
    let parsed: Vec<String> = c.read_json("bin:big").await.expect("big read_json");
    assert_eq!(parsed.len(), 200_000);
}

// ---------------------------------------------------------------------------------------------
// JSON helpers
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Symbols {
    market: String,
    symbols: Vec<String>,
    count: u32,
}

#[tokio::test]
async fn json_helpers_follow_the_original_contract() {
    let stack = Stack::start().await;
    let c = stack.client();
    let doc = Symbols {
        market: "spot".into(),
        symbols: vec!["BTCUSDT".into(), "ÉTHUSDT🚀".into()],
        count: 2,
    };

    // write_json with and without TTL.
    assert!(c.write_json("json:doc", &doc, Some(120)).await);
    let ttl: i64 = stack
        .redis
        .cli_raw(&["TTL", "json:doc"])
        .parse()
        .expect("ttl");
    assert!((115..=120).contains(&ttl), "ttl {ttl}");
    assert!(c.write_json("json:forever", &doc, None).await);
    assert_eq!(stack.redis.cli_raw(&["TTL", "json:forever"]), "-1");
    assert!(c.write_json("json:zero", &doc, Some(0)).await);
    assert_eq!(stack.redis.cli_raw(&["TTL", "json:zero"]), "-1");
    // Stored as plain JSON text.
    let stored: serde_json::Value =
        serde_json::from_str(&stack.redis.cli_raw(&["GET", "json:doc"])).expect("json");
    assert_eq!(stored["market"], "spot");

    // read_json: typed, missing, malformed, wrong shape.
    assert_eq!(c.read_json::<Symbols>("json:doc").await, Some(doc.clone()));
    assert_eq!(c.read_json::<Symbols>("json:missing").await, None);
    assert!(
        logs_containing("json:missing").is_empty(),
        "a missing key is not a failure"
    );
    stack
        .redis
        .cli(&["SET", "json:broken", "{\"market\": \"spot\", "]);
    assert_eq!(c.read_json::<Symbols>("json:broken").await, None);
    let warn = logs_containing("json:broken");
    assert_eq!(warn.len(), 1, "{warn:?}");
    let line: serde_json::Value = serde_json::from_str(&warn[0]).expect("log line is JSON");
    assert_eq!(line["level"], "warn");
    assert_eq!(line["event"], "upstash.read_json_invalid");
    assert_eq!(
        c.read_json::<Vec<u32>>("json:doc").await,
        None,
        "wrong shape"
    );
    assert_eq!(
        c.read_bytes("json:forever")
            .await
            .map(|b| serde_json::from_slice::<Symbols>(&b).ok()),
        Some(Some(doc))
    );

    // incr: default 1, explicit amount, failure on text.
    assert_eq!(c.incr("json:counter", None).await, Some(1));
    assert_eq!(c.incr("json:counter", Some(10)).await, Some(11));
    assert_eq!(c.incr("json:counter", Some(-1)).await, Some(10));
    assert_eq!(c.incr("json:doc", None).await, None);
    assert_eq!(
        logs_containing("json:doc")
            .iter()
            .filter(|l| l.contains("upstash.incr_failed"))
            .count(),
        1
    );

    // get_int: value, missing, not an integer.
    assert_eq!(c.get_int("json:counter").await, 10);
    assert_eq!(c.get_int("json:nothing").await, 0);
    assert_eq!(c.get_int("json:doc").await, 0);
    stack.redis.cli(&["SET", "json:spaced", " 42 "]);
    assert_eq!(c.get_int("json:spaced").await, 42);

    // No log line ever carries the token.
    assert!(logs_containing(TOKEN).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Pipelines and transactions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn pipeline_returns_per_command_results() {
    let stack = Stack::start().await;
    let c = stack.client();
    let results = c
        .pipeline()
        .cmd(Command::set("pipe:a", "text", SetOptions::default()))
        .cmd(Command::incr_by("pipe:a", 1))
        .cmd(Command::get("pipe:a"))
        .cmd(Command::incr_by("pipe:n", 3))
        .cmd(Command::get("pipe:missing"))
        .cmd(Command::mget(["pipe:a", "pipe:n"]))
        .exec()
        .await
        .expect("pipeline");
    assert_eq!(results.len(), 6);
    assert!(results[0].as_ref().is_ok_and(Value::is_ok));
    let err = results[1].as_ref().expect_err("INCRBY on text fails");
    assert_eq!(err.index, 1);
    assert_eq!(err.command, "INCRBY");
    assert!(err.message.contains("not an integer"), "{err}");
    assert!(
        err.to_string().starts_with("command #1 (INCRBY) failed"),
        "{err}"
    );
    assert_eq!(results[2], Ok(Value::Bytes(b"text".to_vec())));
    assert_eq!(results[3], Ok(Value::Int(3)));
    assert_eq!(results[4], Ok(Value::Nil));
    assert_eq!(
        results[5],
        Ok(Value::Array(vec![
            Value::Bytes(b"text".to_vec()),
            Value::Bytes(b"3".to_vec())
        ]))
    );

    // In-place building and the empty pipeline.
    let mut p = c.pipeline();
    p.push(Command::ping()).push(Command::ttl("pipe:a"));
    assert_eq!(p.len(), 2);
    let out = p.exec().await.expect("pipeline");
    assert_eq!(out[1], Ok(Value::Int(-1)));
    assert!(c.pipeline().exec().await.expect("empty").is_empty());

    // Binary arguments are refused before sending, naming the command.
    match c
        .pipeline()
        .cmd(Command::ping())
        .cmd(Command::set(
            "pipe:bin",
            vec![0xffu8],
            SetOptions::default(),
        ))
        .exec()
        .await
    {
        Err(Error::Encode(msg)) => assert!(msg.contains("command #1 (SET)"), "{msg}"),
        other => panic!("binary in pipeline: {other:?}"),
    }
}

#[tokio::test]
async fn multi_exec_is_atomic_and_discards_as_a_whole() {
    let stack = Stack::start().await;
    let c = stack.client();
    let results = c
        .multi()
        .cmd(Command::set("tx:a", "1", SetOptions::default()))
        .cmd(Command::incr_by("tx:a", 41))
        .cmd(Command::get("tx:a"))
        .exec()
        .await
        .expect("transaction");
    assert_eq!(
        results,
        vec![
            Ok(Value::Bytes(b"OK".to_vec())),
            Ok(Value::Int(42)),
            Ok(Value::Bytes(b"42".to_vec()))
        ]
    );

    // A runtime error inside EXEC fails only that command.
    let results = c
        .multi()
        .cmd(Command::set("tx:s", "text", SetOptions::default()))
        .cmd(Command::incr_by("tx:s", 1))
        .cmd(Command::incr_by("tx:n", 1))
        .exec()
        .await
        .expect("transaction");
    assert!(results[0].is_ok());
    assert_eq!(
        results[1]
            .as_ref()
            .map_err(|e| (e.index, e.command.as_str())),
        Err((1, "INCRBY"))
    );
    assert_eq!(results[2], Ok(Value::Int(1)));

    // A command Redis rejects at queue time discards the whole transaction: nothing runs.
    let err = c
        .multi()
        .cmd(Command::set("tx:never", "1", SetOptions::default()))
        .cmd(Command::new("GET")) // wrong arity
        .exec()
        .await
        .expect_err("discarded");
    assert!(matches!(err, Error::Redis(_)), "{err:?}");
    assert!(!err.is_unreachable());
    assert_eq!(c.get("tx:never").await.expect("get"), None);
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_are_exact_under_concurrency() {
    const TASKS: i64 = 8;
    const EACH: i64 = 40;
    let stack = Stack::start().await;
    let c = stack.client();
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let c = c.clone(); // one client shared by all tasks
        handles.push(tokio::spawn(async move {
            for i in 0..EACH {
                if (t + i) % 2 == 0 {
                    c.incr_by("conc:n", 1).await.expect("incr_by");
                } else {
                    assert!(c.incr("conc:n", None).await.is_some());
                }
            }
        }));
    }
    for h in handles {
        h.await.expect("task");
    }
    assert_eq!(c.get_int("conc:n").await, TASKS * EACH);
    assert_eq!(
        stack.redis.cli_raw(&["GET", "conc:n"]),
        (TASKS * EACH).to_string()
    );
}

// ---------------------------------------------------------------------------------------------
// Failure modes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_token_is_a_401_without_the_token_anywhere() {
    let stack = Stack::start().await;
    let wrong = "WRONG-secret-token-value-987";
    let c = Client::new(
        Connection::new(&stack.url, Some(wrong)).expect("valid"),
        options(),
    )
    .expect("client");
    let err = c.get("auth:k").await.expect_err("401");
    assert!(matches!(err, Error::Status { code: 401, .. }), "{err:?}");
    assert!(!err.is_unreachable());
    for text in [err.to_string(), format!("{err:?}"), format!("{c:?}")] {
        assert!(!text.contains(wrong), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
    }
    // No token at all.
    let anon =
        Client::new(Connection::new(&stack.url, None).expect("valid"), options()).expect("client");
    assert!(matches!(
        anon.ping().await,
        Err(Error::Status { code: 401, .. })
    ));
    // Helpers swallow it (and log without the token).
    assert_eq!(c.read_json::<serde_json::Value>("auth:k").await, None);
    assert!(!c.write_json("auth:k", &1, None).await);
    let lines = logs_containing("auth:k");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| !l.contains(wrong) && l.contains("401")),
        "{lines:?}"
    );
    // Pipelines too.
    assert!(matches!(
        c.pipeline().cmd(Command::ping()).exec().await,
        Err(Error::Status { code: 401, .. })
    ));
}

#[tokio::test]
async fn redis_down_behind_the_gateway_is_unreachable() {
    let mut stack = Stack::start().await;
    let c = stack.client_with(ClientOptions {
        timeout: Duration::from_secs(3),
        ..options()
    });
    c.ping().await.expect("up");
    stack.redis.stop();
    let err = c.get("down:k").await.expect_err("redis down");
    assert!(err.is_unreachable(), "{err:?}");
    assert!(
        matches!(
            err,
            Error::Status {
                code: 500..=599,
                ..
            } | Error::Timeout(_)
        ),
        "{err:?}"
    );
    stack.redis.restart();
    // The gateway reconnects; the same client works again.
    let mut ok = false;
    for _ in 0..50 {
        if c.ping().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "client works again after redis restart");
}

#[tokio::test]
async fn gateway_down_fails_fast_with_bounded_retries() {
    let port = testkit::free_port(); // nothing listens there
    let url = format!("http://127.0.0.1:{port}");
    let c = client_for(&url, options());
    let started = Instant::now();
    let err = c.incr_by("down:counter", 1).await.expect_err("refused");
    let took = started.elapsed();
    match &err {
        Error::Transport(msg) => {
            assert!(msg.contains("after 3 attempts"), "{msg}");
            assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
        }
        other => panic!("expected Transport, got {other:?}"),
    }
    assert!(err.is_unreachable());
    assert!(!err.to_string().contains(TOKEN));
    // Backoff 50 + 100 ms between the three attempts, well within the 1.5 s budget.
    assert!(took >= Duration::from_millis(140), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    // retries = 0: a single attempt.
    let c = client_for(
        &url,
        ClientOptions {
            retries: 0,
            ..options()
        },
    );
    match c.ping().await {
        Err(Error::Transport(msg)) => assert!(msg.contains("after 1 attempt)"), "{msg}"),
        other => panic!("{other:?}"),
    }

    // The budget caps retries: big backoff, small budget -> no retry at all.
    let c = client_for(
        &url,
        ClientOptions {
            retries: 5,
            backoff: Duration::from_secs(1),
            retry_budget: Duration::from_millis(300),
            ..options()
        },
    );
    let started = Instant::now();
    match c.ping().await {
        Err(Error::Transport(msg)) => assert!(msg.contains("after 1 attempt)"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(500));

    // Helpers: None / false / 0, never a panic or an error type.
    let c = client_for(&url, options());
    assert_eq!(c.read_json::<serde_json::Value>("down:json").await, None);
    assert!(!c.write_json("down:json", &[1, 2], Some(5)).await);
    assert_eq!(c.incr("down:json", None).await, None);
    assert_eq!(c.get_int("down:json").await, 0);
    let lines = logs_containing("down:json");
    assert_eq!(lines.len(), 4, "{lines:?}");
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
        assert_eq!(v["unreachable"], true, "{line}");
    }
}

#[tokio::test]
async fn a_stalled_gateway_hits_the_timeout() {
    let (url, accepted, task) = fake_server(FakeMode::Stall).await;
    let timeout = Duration::from_millis(300);
    let retries = 2;
    let c = client_for(
        &url,
        ClientOptions {
            timeout,
            retries,
            ..options()
        },
    );

    for (what, call) in [("read", true), ("write", false)] {
        let started = Instant::now();
        let result = if call {
            c.get("stall:k").await.map(|_| ())
        } else {
            c.incr_by("stall:k", 1).await.map(|_| ())
        };
        let took = started.elapsed();
        assert_eq!(result, Err(Error::Timeout(timeout)), "{what}");
        assert!(took >= timeout, "{what}: {took:?}");
        // Timeouts are not retried, so well under timeout * (1 + retries).
        assert!(
            took < timeout * (1 + retries) + Duration::from_millis(200),
            "{what}: {took:?}"
        );
    }
    assert!(Error::Timeout(timeout).is_unreachable());
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "one attempt per call");

    // Pipelines have the same deadline.
    let started = Instant::now();
    let err = c
        .pipeline()
        .cmd(Command::get("stall:k"))
        .exec()
        .await
        .expect_err("timeout");
    assert_eq!(err, Error::Timeout(timeout));
    assert!(started.elapsed() < Duration::from_secs(1));
    task.abort();
}

#[tokio::test]
async fn connection_resets_retry_reads_but_not_writes() {
    let (url, accepted, task) = fake_server(FakeMode::Reset).await;
    let c = client_for(&url, options());

    // A read-only command is resent (it cannot change anything): 1 + 2 attempts.
    let err = c.get("reset:k").await.expect_err("reset");
    assert!(
        matches!(&err, Error::Transport(m) if m.contains("after 3 attempts")),
        "{err:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 3);

    // A write that may have reached the server is not resent.
    let err = c.incr_by("reset:k", 1).await.expect_err("reset");
    assert!(
        matches!(&err, Error::Transport(m) if m.contains("after 1 attempt)")),
        "{err:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 4);

    // A read-only pipeline is resent; a mixed one is not.
    let _ = c
        .pipeline()
        .cmd(Command::get("a"))
        .cmd(Command::ttl("a"))
        .exec()
        .await
        .expect_err("reset");
    assert_eq!(accepted.load(Ordering::SeqCst), 7);
    let _ = c
        .pipeline()
        .cmd(Command::get("a"))
        .cmd(Command::incr_by("a", 1))
        .exec()
        .await
        .expect_err("reset");
    assert_eq!(accepted.load(Ordering::SeqCst), 8);
    task.abort();
}

#[tokio::test]
async fn requests_carry_the_upstash_headers_and_shapes() {
    // A one-shot HTTP server that records the raw request and answers a canned reply.
    async fn capture_one(
        client_call: impl std::future::Future<Output = ()>,
        listener: TcpListener,
    ) -> String {
        let server = async move {
            let (mut sock, _) = listener.accept().await.expect("accept");
            let mut raw = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                let n = sock.read(&mut buf).await.expect("read");
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if raw.len() >= end + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let body = br#"{"result":"T0s="}"#;
            let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            sock.write_all(head.as_bytes()).await.expect("write");
            sock.write_all(body).await.expect("write");
            raw
        };
        let (raw, ()) = tokio::join!(server, client_call);
        String::from_utf8_lossy(&raw).to_string()
    }

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/base/", listener.local_addr().expect("addr"));
    let c = client_for(&url, options());
    let raw = capture_one(
        async {
            assert!(
                c.set("hdr:k", "v", SetOptions::ex(9)).await.expect("set"),
                "T0s= decodes to OK"
            );
        },
        listener,
    )
    .await;
    let lower = raw.to_ascii_lowercase();
    assert!(raw.starts_with("POST /base HTTP/1.1\r\n"), "{raw}");
    assert!(raw.contains(&format!("Bearer {TOKEN}")), "{raw}");
    assert!(lower.contains("upstash-encoding: base64"), "{raw}");
    assert!(lower.contains("content-type: application/json"), "{raw}");
    assert!(raw.ends_with(r#"["SET","hdr:k","v","EX","9"]"#), "{raw}");

    // Binary tail: path form with the raw body.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let c = client_for(
        &url,
        ClientOptions {
            base64: false,
            ..options()
        },
    );
    let raw = capture_one(
        async {
            let v = c
                .command(Command::new("SET").arg("a b").arg(vec![0xffu8, b'x']))
                .await
                .expect("set");
            assert_eq!(
                v,
                Value::Bytes(b"T0s=".to_vec()),
                "plain mode does not decode"
            );
        },
        listener,
    )
    .await;
    assert!(raw.starts_with("POST /SET/a%20b HTTP/1.1\r\n"), "{raw}");
    assert!(
        raw.to_ascii_lowercase()
            .contains("content-type: application/octet-stream"),
        "{raw}"
    );
    assert!(
        !raw.to_ascii_lowercase().contains("upstash-encoding"),
        "{raw}"
    );
}

#[test]
fn config_errors_name_the_variable_and_hide_the_token() {
    let env = |k: &str| match k {
        "UPSTASH_REDIS_REST_URL" => Some(format!(" {TOKEN} ")),
        "UPSTASH_REDIS_REST_TOKEN" => Some(TOKEN.to_string()),
        _ => None,
    };
    let err = upstash_rest::resolve(env).expect_err("token pasted as URL");
    let err = Error::from(err);
    assert!(err.to_string().contains("UPSTASH_REDIS_REST_URL"), "{err}");
    assert!(!err.to_string().contains(TOKEN), "{err}");
    assert!(!err.is_unreachable());
}

// ---------------------------------------------------------------------------------------------
// Read-your-writes
// ---------------------------------------------------------------------------------------------

/// The gateway's counters (`syncTokens`: requests that carried a well-formed token).
async fn gateway_stats(url: &str) -> serde_json::Value {
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{url}/__gateway/stats"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("stats");
    serde_json::from_slice(&resp.bytes().await.expect("stats body")).expect("stats JSON")
}

#[tokio::test]
async fn read_your_writes_sends_the_latest_token_back() {
    let stack = Stack::start().await;
    let client = stack.client();
    assert_eq!(client.sync_token(), None);
    let base = gateway_stats(&stack.url).await["syncTokens"]
        .as_u64()
        .expect("count");
    // The first request has no token to send; every later one sends the latest.
    client
        .set("ryw:k", "v", SetOptions::default())
        .await
        .expect("set");
    let after_write: u64 = client
        .sync_token()
        .expect("token")
        .parse()
        .expect("numeric");
    assert_eq!(
        client.get("ryw:k").await.expect("get").as_deref(),
        Some("v")
    );
    let results = client
        .pipeline()
        .cmd(Command::incr_by("ryw:c", 1))
        .cmd(Command::get("ryw:k"))
        .exec()
        .await
        .expect("pipeline");
    assert_eq!(results.len(), 2);
    let after_pipeline: u64 = client
        .sync_token()
        .expect("token")
        .parse()
        .expect("numeric");
    assert!(after_pipeline > after_write);
    client.clone().ping().await.expect("ping through a clone");
    let stats = gateway_stats(&stack.url).await;
    assert_eq!(stats["syncTokens"].as_u64(), Some(base + 3), "{stats}");
    assert_eq!(stats["syncTokensFuture"].as_u64(), Some(0), "{stats}");

    // A Redis error (400) does not move the token, as in the SDK.
    client.set_sync_token(Some("42"));
    client
        .set("ryw:text", "abc", SetOptions::default())
        .await
        .expect("set");
    let before = client.sync_token();
    assert!(client.incr_by("ryw:text", 1).await.is_err());
    assert_eq!(client.sync_token(), before);

    // A token from the future is served and replaced by the gateway's current one... but a
    // numeric token only ever grows on our side, so the client keeps the larger one.
    client.set_sync_token(Some(&u64::MAX.to_string()));
    client.ping().await.expect("ping with a future token");
    assert_eq!(client.sync_token(), Some(u64::MAX.to_string()));
    assert_eq!(
        gateway_stats(&stack.url).await["syncTokensFuture"].as_u64(),
        Some(1)
    );
    // A malformed one is ignored by the gateway and replaced by the next answer.
    client.set_sync_token(Some("not-a-token"));
    client.ping().await.expect("ping with a malformed token");
    assert!(client.sync_token().expect("token").parse::<u64>().is_ok());

    // Turned off (the SDK's `readYourWrites: false`): nothing kept, nothing sent.
    let off = stack.client_with(ClientOptions {
        read_your_writes: false,
        ..options()
    });
    let before = gateway_stats(&stack.url).await["syncTokens"].as_u64();
    off.set("ryw:off", "1", SetOptions::default())
        .await
        .expect("set");
    off.get("ryw:off").await.expect("get");
    assert_eq!(off.sync_token(), None);
    assert_eq!(
        gateway_stats(&stack.url).await["syncTokens"].as_u64(),
        before
    );
}
