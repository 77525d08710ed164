//! The `symbols` binary end to end: each test starts a real redis-server, the Upstash
//! gateway and the fake exchange (in-process, on a tokio runtime the test owns), then runs
//! the built binary as a child process with the Worker's variables pointing at them, and
//! checks its exit status, its output and the keys it left in Redis.

use std::process::Command;
use std::time::Duration;

use fake_exchange::{Fault, Market as FxMarket};
use serde_json::Value;
use testkit::RedisServer;
use tokio::sync::oneshot;

const TOKEN: &str = "cli-test-token-5c4b3a";
const WRONG_TOKEN: &str = "wrong-token-d00dfeed";

/// Every variable the binary reads: cleared so the caller's environment cannot leak in.
const ENV_VARS: [&str; 19] = [
    "REDIS_REST_URL",
    "UPSTASH_REDIS_REST_URL",
    "KV_REST_API_URL",
    "REDIS_REST_TOKEN",
    "UPSTASH_REDIS_REST_TOKEN",
    "KV_REST_API_TOKEN",
    "SPOT_API_BASES",
    "FUTURES_API_BASES",
    "BINANCE_API_KEY",
    "SYMBOLS_CACHE_TTL_SECONDS",
    "SPOT_SYMBOLS_CACHE_TTL_SECONDS",
    "FUTURES_SYMBOLS_CACHE_TTL_SECONDS",
    "SYMBOLS_MAX_SHRINK_RATIO",
    "UPSTREAM_TIMEOUT_MS",
    "REDIS_TIMEOUT_MS",
    "REFRESH_LOCK_MS",
    "REFRESH_WAIT_MS",
    "EDGE_CACHE_TTL_SECONDS",
    "ADMIN_TOKEN",
];

/// redis-server + gateway + fake exchange. Field order is drop order: the exchange and
/// the gateway stop before the runtime they run on.
struct Stack {
    exchange: fake_exchange::Running,
    gateway_stop: Option<oneshot::Sender<()>>,
    gateway_url: String,
    redis: RedisServer,
    _rt: tokio::runtime::Runtime,
}

/// A finished run of the binary.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self:?}"))
    }

    fn ok(self) -> Out {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }
}

fn symbols(env: &[(&str, String)], args: &[&str]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_symbols"));
    for var in ENV_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(args);
    let out = cmd.output().expect("run the symbols binary");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Stack {
    fn start() -> Stack {
        upstash_gateway::log::set_max_level(upstash_gateway::log::Level::Warn);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let redis = RedisServer::start();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
            .expect("bind gateway");
        let gateway_url = format!("http://{}", listener.local_addr().expect("addr"));
        let config = upstash_gateway::Config {
            redis_url: redis.url(),
            token: Some(TOKEN.into()),
            ..Default::default()
        };
        let (tx, rx) = oneshot::channel::<()>();
        rt.spawn(async move {
            let _ = upstash_gateway::run(listener, config, async {
                let _ = rx.await;
            })
            .await;
        });
        let exchange = rt.block_on(fake_exchange::start());
        Stack {
            exchange,
            gateway_stop: Some(tx),
            gateway_url,
            redis,
            _rt: rt,
        }
    }

    /// The variables a deployment would set, pointing at this stack.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("REDIS_REST_URL", self.gateway_url.clone()),
            ("REDIS_REST_TOKEN", TOKEN.into()),
            ("SPOT_API_BASES", self.exchange.base_url.clone()),
            ("FUTURES_API_BASES", self.exchange.base_url.clone()),
            ("UPSTREAM_TIMEOUT_MS", "5000".into()),
            ("REDIS_TIMEOUT_MS", "5000".into()),
        ]
    }

    fn run(&self, args: &[&str]) -> Out {
        symbols(&self.env(), args)
    }

    fn run_with(&self, overrides: &[(&'static str, String)], args: &[&str]) -> Out {
        let mut env = self.env();
        for (k, v) in overrides {
            env.retain(|(name, _)| name != k);
            env.push((k, v.clone()));
        }
        symbols(&env, args)
    }

    fn raw(&self, args: &[&str]) -> String {
        self.redis.cli_raw(args)
    }

    fn int(&self, args: &[&str]) -> i64 {
        let v = self.raw(args);
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{args:?}: not an integer: {v:?}"))
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(tx) = self.gateway_stop.take() {
            let _ = tx.send(());
        }
        // Give the servers a moment to close their sockets before the runtime goes.
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count_of(stack: &Stack, key: &str) -> u64 {
    let doc: Value =
        serde_json::from_str(&stack.raw(&["GET", key])).expect("stored document is JSON");
    doc["count"].as_u64().expect("count")
}

#[test]
fn help_and_usage_errors() {
    let out = symbols(&[], &["--help"]).ok();
    for word in [
        "status",
        "warmup",
        "get",
        "keys",
        "--json",
        "REDIS_REST_URL",
        "UPSTASH_REDIS_REST_TOKEN",
    ] {
        assert!(
            out.stdout.contains(word),
            "help lacks {word}:\n{}",
            out.stdout
        );
    }
    let out = symbols(&[], &["get", "--help"]).ok();
    assert!(
        out.stdout.contains("--quote") && out.stdout.contains("--symbol"),
        "{}",
        out.stdout
    );
    let out = symbols(&[], &["get", "margin"]);
    assert_eq!(out.code, 2, "{out:?}");
    let out = symbols(
        &[
            ("SYMBOLS_MAX_SHRINK_RATIO", "7".into()),
            ("REDIS_REST_TOKEN", WRONG_TOKEN.into()),
        ],
        &["status"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("SYMBOLS_MAX_SHRINK_RATIO"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn warmup_all_seeds_both_markets_and_status_reports_it() {
    let stack = Stack::start();
    let out = stack.run(&["warmup", "all"]).ok();
    assert_eq!(out.stdout.matches("stored").count(), 2, "{}", out.stdout);
    assert!(
        out.stdout.contains("2292") && out.stdout.contains("660"),
        "{}",
        out.stdout
    );
    for m in ["spot", "futures"] {
        let cache = format!("symbols-edge:{m}:document");
        assert_eq!(stack.int(&["EXISTS", &cache]), 1, "{cache}");
        let ttl = stack.int(&["TTL", &cache]);
        assert!((280..=300).contains(&ttl), "{cache} TTL {ttl}");
        assert_eq!(
            stack.int(&["TTL", &format!("symbols-edge:{m}:document:last_good")]),
            -1
        );
        assert_eq!(
            stack.int(&["GET", &format!("metrics:warmup_{m}_symbols_cache:success")]),
            1
        );
        assert_eq!(
            stack.int(&["EXISTS", &format!("lock:symbols:{m}:refresh")]),
            0,
            "lock released"
        );
        let outcome: Value =
            serde_json::from_str(&stack.raw(&["GET", &format!("cache:symbols:{m}:last_outcome")]))
                .unwrap();
        assert_eq!(outcome["trigger"], "admin");
        assert_eq!(outcome["ok"], true);
    }
    assert_eq!(count_of(&stack, "symbols-edge:spot:document"), 2292);
    assert_eq!(
        count_of(&stack, "symbols-edge:futures:document:last_good"),
        660
    );

    // Again, as JSON.
    let v = stack.run(&["warmup", "--json"]).ok().json();
    assert_eq!(v["ok"], true);
    let markets = v["markets"].as_array().expect("markets");
    assert_eq!(markets.len(), 2);
    for r in markets {
        assert_eq!(r["outcome"], "stored", "{r}");
        assert!(
            r["durationMs"].as_u64().is_some()
                && r["version"].as_str().is_some_and(|s| s.len() == 16),
            "{r}"
        );
    }
    assert_eq!(markets[0]["count"], 2292);

    let status = stack.run(&["status", "--json"]).ok().json();
    assert_eq!(status["redis"]["status"], "reachable");
    assert_eq!(status["redis"]["urlVar"], "REDIS_REST_URL");
    assert_eq!(status["redis"]["tokenVar"], "REDIS_REST_TOKEN");
    assert!(!status.to_string().contains(TOKEN));
    for (m, count) in [("spot", 2292), ("futures", 660)] {
        let s = &status["markets"][m];
        assert_eq!(
            s["warmupSuccess"],
            stack.int(&["GET", &format!("metrics:warmup_{m}_symbols_cache:success")]),
            "{s}"
        );
        assert_eq!(s["warmupSuccess"], 2);
        assert_eq!(s["warmupError"], 0);
        assert_eq!(s["symbolCount"], count);
        assert_eq!(s["lastOutcome"]["trigger"], "admin");
        assert!(s["ageSeconds"].as_i64().is_some_and(|a| a < 60), "{s}");
    }
    let human = stack.run(&["status"]).ok();
    for want in [
        "reachable",
        "hits / misses",
        "warmups ok / failed",
        "2 / 0",
        "2292",
        "stored by admin",
        "from REDIS_REST_URL",
    ] {
        assert!(
            human.stdout.contains(want),
            "status lacks {want:?}:\n{}",
            human.stdout
        );
    }
}

#[test]
fn a_failing_exchange_fails_the_warmup_and_keeps_last_good() {
    let stack = Stack::start();
    stack.run(&["warmup", "spot"]).ok();
    let before = stack.raw(&["GET", "symbols-edge:spot:document:last_good"]);
    stack.exchange.set_sticky(
        FxMarket::Spot,
        Some(Fault::Status {
            code: 500,
            retry_after: None,
        }),
    );

    let out = stack.run(&["warmup", "spot"]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stdout.contains("failed") && out.stdout.contains("last_good kept (2292 symbols"),
        "{}",
        out.stdout
    );
    let err = out.stderr.trim();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("warmup failed for spot") && err.contains("5xx") && err.contains("HTTP 500"),
        "{err}"
    );
    assert_eq!(
        stack.raw(&["GET", "symbols-edge:spot:document:last_good"]),
        before,
        "last_good untouched"
    );
    assert_eq!(
        stack.int(&["GET", "metrics:warmup_spot_symbols_cache:error"]),
        1
    );
    assert_eq!(
        stack.int(&["GET", "metrics:warmup_spot_symbols_cache:success"]),
        1
    );
    assert_eq!(
        stack.int(&["GET", "metrics:upstream_failure:symbols_spot:5xx"]),
        1
    );

    // `all`: futures still succeeds, spot fails; exit 1 for the failure; JSON says which.
    let out = stack.run(&["warmup", "all", "--json"]);
    assert_eq!(out.code, 1, "{out:#?}");
    let v = out.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["markets"][0]["outcome"], "failed");
    assert_eq!(v["markets"][0]["reason"], "5xx");
    assert_eq!(v["markets"][0]["lastGoodCount"], 2292);
    assert_eq!(v["markets"][1]["outcome"], "stored");
    assert_eq!(
        stack.raw(&["GET", "symbols-edge:spot:document:last_good"]),
        before
    );

    let status = stack.run(&["status", "--json"]).ok().json();
    assert_eq!(status["markets"]["spot"]["warmupError"], 2);
    assert_eq!(status["markets"]["spot"]["lastOutcome"]["ok"], false);
    assert_eq!(status["markets"]["spot"]["lastOutcome"]["reason"], "5xx");
    assert_eq!(status["markets"]["spot"]["upstreamFailures"]["5xx"], 2);

    // A held lock: busy, not failed, and nothing fetched.
    stack.exchange.set_sticky(FxMarket::Spot, None);
    stack.raw(&[
        "SET",
        "lock:symbols:spot:refresh",
        "someone-else",
        "PX",
        "60000",
    ]);
    let requests = stack.exchange.requests(FxMarket::Spot);
    let out = stack.run(&["warmup", "spot"]).ok();
    assert!(
        out.stdout.contains("busy") && out.stdout.contains("lock:symbols:spot:refresh"),
        "{}",
        out.stdout
    );
    assert_eq!(stack.exchange.requests(FxMarket::Spot), requests);
}

#[test]
fn get_serves_like_the_worker_and_filters() {
    let stack = Stack::start();
    // Cold cache: a miss refreshes through the service and stores the list.
    let out = stack.run(&["get", "futures", "--symbol", "BTCUSDT"]).ok();
    assert!(out.stderr.contains("X-Cache: MISS"), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(
        lines[0].starts_with("symbol") && lines[0].contains("minNotional"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("BTCUSDT") && lines[1].contains("USDT"),
        "{}",
        lines[1]
    );
    assert_eq!(stack.int(&["EXISTS", "symbols-edge:futures:document"]), 1);

    let one = stack
        .run(&["get", "futures", "--symbol", "btcusdt", "--json"])
        .ok();
    assert!(one.stderr.contains("X-Cache: HIT"), "{}", one.stderr);
    let sym = one.json();
    assert_eq!(sym["symbol"], "BTCUSDT");
    assert_eq!(sym["baseAsset"], "BTC");
    assert!(sym.get("contractType").is_some(), "{sym}");

    let v = stack
        .run(&["get", "spot", "--quote", "usdt", "--json"])
        .ok()
        .json();
    let list = v["symbols"].as_array().expect("symbols");
    assert_eq!(list.len(), 456);
    assert_eq!(v["count"], 456);
    assert_eq!(v["source"], "upstream", "first spot read was a miss");
    assert!(list.iter().all(|s| s["quoteAsset"] == "USDT"));

    let out = stack
        .run(&[
            "get", "spot", "--quote", "USDT", "--base", "BTC", "--status", "TRADING",
        ])
        .ok();
    assert!(
        out.stderr.contains("X-Cache: HIT") && out.stderr.contains("of 2292 symbols"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.lines().skip(1).all(|l| l.starts_with("BTC")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("BTCUSDT"));

    let out = stack.run(&["get", "spot", "--symbol", "NOPEUSDT"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("no symbol \"NOPEUSDT\""),
        "{}",
        out.stderr
    );
    // The CLI's reads do not count as bot traffic.
    assert_eq!(
        stack.raw(&["EXISTS", "metrics:cache_hit:symbols_spot"]),
        "0"
    );
}

#[test]
fn keys_lists_every_key_with_ttl_and_size() {
    let stack = Stack::start();
    stack.run(&["warmup"]).ok();
    let v = stack.run(&["keys", "--json"]).ok().json();
    let rows = v.as_array().expect("array");
    // Every key the core names (`keys::all`: ours, the original's, the failure counters).
    let expected = [symbols_core::Market::Spot, symbols_core::Market::Futures]
        .map(|m| symbols_core::keys::all(m).len())
        .iter()
        .sum::<usize>();
    assert_eq!(rows.len(), expected, "every key of keys::all, both markets");
    let row = |key: &str| {
        rows.iter()
            .find(|r| r["key"] == key)
            .unwrap_or_else(|| panic!("no {key}"))
    };
    let cache = row("symbols-edge:spot:document");
    assert!(
        cache["ttl"]
            .as_i64()
            .is_some_and(|t| (280..=300).contains(&t)),
        "{cache}"
    );
    let size = stack.int(&["STRLEN", "symbols-edge:spot:document"]);
    assert_eq!(cache["bytes"], size);
    assert!(size > 100_000);
    assert_eq!(cache["market"], "spot");
    assert_eq!(row("symbols-edge:futures:document:last_good")["ttl"], -1);
    assert_eq!(
        row("metrics:warmup_futures_symbols_cache:success")["bytes"],
        1
    );
    // The changes index is a sorted set: counted in entries (the first refresh's version).
    let index = row("symbols-edge:spot:changes:versions");
    assert_eq!(
        (index["entries"].as_i64(), &index["error"]),
        (Some(1), &serde_json::Value::Null),
        "{index}"
    );
    let lock = row("lock:symbols:spot:refresh");
    assert_eq!(lock["ttl"], -2);
    assert_eq!(lock["bytes"], 0);

    let human = stack.run(&["keys"]).ok();
    assert!(
        human.stdout.contains("no expiry") && human.stdout.contains("missing"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("present"), "{}", human.stdout);
}

#[test]
fn a_wrong_token_fails_every_command_without_printing_it() {
    let stack = Stack::start();
    let wrong = [("REDIS_REST_TOKEN", WRONG_TOKEN.to_string())];
    for args in [
        &["status"][..],
        &["warmup", "spot"],
        &["keys"],
        &["get", "spot"],
        &["status", "--json"],
        &["keys", "--verbose"],
    ] {
        let out = stack.run_with(&wrong, args);
        assert_eq!(out.code, 1, "{args:?}: {out:#?}");
        let last = out.stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("symbols: error: "),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            last.contains("401") && last.contains("REDIS_REST_TOKEN"),
            "{args:?}: {last}"
        );
        assert!(
            !out.stderr.contains(WRONG_TOKEN) && !out.stdout.contains(WRONG_TOKEN),
            "{args:?} leaked the token: {out:#?}"
        );
    }
    // No token at all: the hint lists the variables to set.
    let out = symbols(
        &[
            ("KV_REST_API_URL", stack.gateway_url.clone()),
            ("SPOT_API_BASES", stack.exchange.base_url.clone()),
        ],
        &["keys"],
    );
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stderr.contains("401") && out.stderr.contains("no token set"),
        "{}",
        out.stderr
    );
    // Nothing was written with the wrong token.
    assert_eq!(stack.raw(&["DBSIZE"]), "0");
}

#[test]
fn tls_is_built_in_for_upstash_and_binance() {
    let stack = Stack::start();
    // https:// to plain-HTTP servers: the handshake is attempted (and fails), instead of
    // the "no TLS support" refusal of a build without rustls.
    let gateway_https = stack.gateway_url.replace("http://", "https://");
    let out = stack.run_with(
        &[
            ("REDIS_REST_URL", gateway_https),
            ("REDIS_TIMEOUT_MS", "1000".into()),
        ],
        &["status"],
    );
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(!out.stderr.contains("no TLS support"), "{}", out.stderr);
    assert!(out.stderr.contains("unreachable"), "{}", out.stderr);

    let exchange_https = stack.exchange.base_url.replace("http://", "https://");
    let out = stack.run_with(
        &[("SPOT_API_BASES", exchange_https)],
        &["warmup", "spot", "--json"],
    );
    assert_eq!(out.code, 1, "{out:#?}");
    let v = out.json();
    assert_eq!(v["markets"][0]["reason"], "network", "{v}");
    let detail = v["markets"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        !detail.contains("scheme") && !detail.contains("builder"),
        "{detail}"
    );
    assert_eq!(
        stack.exchange.requests(FxMarket::Spot),
        0,
        "the fake saw no plain-HTTP request"
    );
}
