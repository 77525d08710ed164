//! Differential check: one command sequence through upstash-redis-rs 0.1.2 itself and through
//! `upstash_rest`'s compatible API (the same source, only the crate name differs), against the
//! same gateway; every result is compared. Keys are prefixed per side so neither sees the
//! other's data. Prints one line per step and exits 1 on any difference but one, which is
//! upstash-redis-rs's and is reported as `hidden`: for commands whose output is an `Option`
//! (GET, SET, GETDEL, HGET, SPOP), its untagged decode reads an `{"error"}` answer as
//! `Success { result: None }` (serde fills the missing `result` with `None`), so a wrong token or
//! a Redis error looks like a missing key. Ours answers `ReResponse::Error` there, as it does for
//! every other command.
//!
//! Env: `UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN` (read at run time).

use std::fmt::Debug;
use std::process::ExitCode;

use upstash_rest::{Client, ClientOptions, Connection, SetOptions};

/// A step's outcome as text: the `ReResponse` Debug form (identical for both crates' types),
/// or `Err` (the error types differ by design; their messages are printed, not compared).
fn show<R: Debug, E: std::fmt::Display>(r: Result<R, E>) -> (String, Option<String>) {
    match r {
        Ok(v) => (format!("{v:?}"), None),
        Err(e) => ("Err".to_string(), Some(e.to_string())),
    }
}

/// The sequence, written once against `$krate` (upstash_redis_rs or upstash_rest).
macro_rules! sequence {
    ($krate:ident, $url:expr, $token:expr, $prefix:expr) => {{
        #[allow(unused_imports)]
        use $krate::commands::Command as _;
        use $krate::commands::set::{Constraint, Expire};
        use $krate::{ReResponse, Redis};

        let redis = Redis::new($url, $token)?;
        let p: &str = $prefix;
        let k = |name: &str| format!("{p}{name}");
        let mut out: Vec<(&'static str, (String, Option<String>))> = Vec::new();

        out.push(("get missing", show(redis.get(k("s"))?.send().await)));
        out.push(("set", show(redis.set(k("s"), "v1")?.send().await)));
        out.push(("get", show(redis.get(k("s"))?.send().await)));
        out.push(("set NX on existing", show(redis.set(k("s"), "v2")?.constraint(Constraint::NX)?.send().await)));
        out.push(("set XX GET", show(redis.set(k("s"), "v3")?.constraint(Constraint::XX)?.get()?.send().await)));
        out.push(("set EX 300", show(redis.set(k("e"), "ttl")?.expire(Expire::EX(300))?.send().await)));
        out.push(("set PX KEEPTTL", show(redis.set(k("e"), "ttl2")?.expire(Expire::KEEPTTL)?.send().await)));
        out.push(("set NX PX new", show(redis.set(k("lock"), "owner")?.constraint(Constraint::NX)?.expire(Expire::PX(20000))?.send().await)));
        out.push(("set number", show(redis.set(k("n"), 42)?.send().await)));
        out.push(("get number", show(redis.get(k("n"))?.send().await)));
        out.push(("set bool", show(redis.set(k("b"), true)?.send().await)));
        out.push(("get bool", show(redis.get(k("b"))?.send().await)));
        out.push(("set unicode", show(redis.set(k("u"), "héllo ✓ 🚀 \"q\" \\")?.send().await)));
        out.push(("get unicode", show(redis.get(k("u"))?.send().await)));
        out.push(("set null (refused)", show(redis.set(k("null"), serde_json::Value::Null)?.send().await)));
        out.push(("set object (refused)", show(redis.set(k("obj"), serde_json::json!({"a": 1}))?.send().await)));
        out.push(("get binary value", show(redis.get(k("bin"))?.send().await)));
        out.push(("getdel", show(redis.getdel(k("s"))?.send().await)));
        out.push(("getdel again", show(redis.getdel(k("s"))?.send().await)));
        out.push(("del one", show(redis.del(k("n"))?.send().await)));
        out.push(("del add_key add_keys", show(redis.del(k("b"))?.add_key(k("u"))?.add_keys([k("missing"), k("missing2")])?.send().await)));
        out.push(("hset", show(redis.hset(k("h"), "name", "btc")?.send().await)));
        out.push(("hset add_field_to_value", show(redis.hset(k("h"), "count", 3)?.add_field_to_value("price", 1.5)?.send().await)));
        out.push(("hget", show(redis.hget(k("h"), "name")?.send().await)));
        out.push(("hget number", show(redis.hget(k("h"), "price")?.send().await)));
        out.push(("hget missing field", show(redis.hget(k("h"), "nope")?.send().await)));
        out.push(("hgetall", show(redis.hgetall(k("h"))?.send().await)));
        out.push(("hgetall missing", show(redis.hgetall(k("nohash"))?.send().await)));
        out.push(("hdel add_field", show(redis.hdel(k("h"), "count")?.add_field("nope")?.send().await)));
        out.push(("hgetall after hdel", show(redis.hgetall(k("h"))?.send().await)));
        out.push(("hget on a string (WRONGTYPE)", show(redis.hget(k("lock"), "f")?.send().await)));
        out.push(("hset odd arguments (error)", show(redis.hset(k("h"), "a", "b")?.set_options("dangling")?.send().await)));
        out.push(("sadd", show(redis.sadd(k("set"), "x")?.send().await)));
        out.push(("sadd set_options", show(redis.sadd(k("set"), "y")?.set_options_with_arg("z", "w")?.send().await)));
        out.push(("sadd existing", show(redis.sadd(k("set"), "x")?.send().await)));
        let members = redis.smembers(k("set"))?.send().await.map(|r| match r {
            // Set order is Redis's business: compare sorted.
            ReResponse::Success { mut result } => {
                result.sort();
                ReResponse::Success { result }
            }
            other => other,
        });
        out.push(("smembers (sorted)", show(members)));
        out.push(("sadd one", show(redis.sadd(k("single"), "only")?.send().await)));
        out.push(("spop", show(redis.spop(k("single"))?.send().await)));
        out.push(("spop empty", show(redis.spop(k("single"))?.send().await)));
        out.push(("spop count (array into Option<String>)", show(redis.spop(k("set"))?.add_count(2)?.send().await)));
        out.push(("smembers on a string (WRONGTYPE)", show(redis.smembers(k("lock"))?.send().await)));
        out.push(("unknown command via set_options", show(redis.get(k("x"))?.set_options("extra")?.send().await)));
        let wrong = Redis::new($url, "wrong-token")?;
        out.push(("wrong token", show(wrong.get(k("s"))?.send().await)));
        out
    }};
}

async fn run(url: &str, token: &str) -> anyhow::Result<usize> {
    // A non-UTF-8 value for both sides (their API can only write UTF-8): set through our client.
    let seed = Client::new(Connection::new(url, Some(token))?, ClientOptions::default())?;
    for side in ["theirs:", "ours:"] {
        seed.set(
            format!("{side}bin"),
            vec![b'a', 0xff, b'b'],
            SetOptions::default(),
        )
        .await?;
    }
    let theirs = sequence!(upstash_redis_rs, url, token, "theirs:");
    let ours = sequence!(upstash_rest, url, token, "ours:");
    anyhow::ensure!(theirs.len() == ours.len(), "the sequences differ in length");
    // TTLs their API cannot read: both keys must have kept EX 300 through KEEPTTL.
    for side in ["theirs:", "ours:"] {
        let ttl = seed.ttl(format!("{side}e")).await?;
        anyhow::ensure!((290..=300).contains(&ttl), "{side}e TTL {ttl}");
        let ttl = seed.ttl(format!("{side}lock")).await?;
        anyhow::ensure!((1..=20).contains(&ttl), "{side}lock TTL {ttl}");
    }
    let (mut mismatches, mut hidden) = (0, 0);
    for ((step, (a, a_err)), (_, (b, b_err))) in theirs.iter().zip(&ours) {
        let mark = if a == b {
            "same"
        } else if a == "Success { result: None }" && b.starts_with("Error { error: ") {
            hidden += 1;
            "hidden"
        } else {
            mismatches += 1;
            "DIFFERENT"
        };
        println!("{mark:9} {step}: upstash-redis-rs {a} | upstash-rest {b}");
        for (who, err) in [("upstash-redis-rs", a_err), ("upstash-rest", b_err)] {
            if let Some(err) = err {
                println!("          {who} error: {err}");
            }
        }
    }
    println!(
        "{} steps, {mismatches} mismatches, {hidden} errors upstash-redis-rs hid as Success {{ result: None }}",
        theirs.len()
    );
    Ok(mismatches)
}

#[tokio::main]
async fn main() -> ExitCode {
    let (Ok(url), Ok(token)) = (
        std::env::var("UPSTASH_REDIS_REST_URL"),
        std::env::var("UPSTASH_REDIS_REST_TOKEN"),
    ) else {
        eprintln!("compat-check: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN");
        return ExitCode::from(2);
    };
    match run(&url, &token).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("compat-check: {e:#}");
            ExitCode::FAILURE
        }
    }
}
