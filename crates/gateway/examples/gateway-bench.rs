//! Benchmark: GET and SET through the gateway (HTTP, reqwest) next to a direct Redis client.
//!
//! Run by `scripts/bench-gateway.sh`, which starts redis-server and the gateway and passes:
//! `--gateway-url http://127.0.0.1:P --token T --redis-url redis://127.0.0.1:R`.
//! Optional: `--small-requests N` (1 KB cases, default 2000), `--large-requests N` (400 KB cases,
//! default 200), `--concurrency 1,32`.
//!
//! Prints a Markdown table of requests/s and p50/p99 latency per case, then the gateway/direct p50
//! ratio at each concurrency. Exits non-zero if any request failed.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use upstash_gateway::redis::{Connection, RedisTarget};
use upstash_gateway::resp::Value;

#[derive(Debug, Parser)]
struct Args {
    /// Gateway base URL.
    #[arg(long)]
    gateway_url: String,
    /// Gateway token.
    #[arg(long, env = "GATEWAY_TOKEN", hide_env_values = true)]
    token: String,
    /// Redis URL for the direct client.
    #[arg(long)]
    redis_url: String,
    /// Requests per 1 KB case.
    #[arg(long, default_value_t = 2000)]
    small_requests: usize,
    /// Requests per 400 KB case.
    #[arg(long, default_value_t = 200)]
    large_requests: usize,
    /// Concurrency levels.
    #[arg(long, value_delimiter = ',', default_value = "1,32")]
    concurrency: Vec<usize>,
    /// Client runtime threads: 1 = single-threaded (like a Worker isolate), more = multi-threaded.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Gateway,
    Direct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Set,
    Get,
}

struct Case {
    target: Target,
    op: Op,
    size: usize,
    concurrency: usize,
    requests: usize,
}

struct Outcome {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    wall: Duration,
}

fn value_of(size: usize) -> Bytes {
    // Printable, JSON-safe bytes (no escaping), deterministic.
    Bytes::from(
        (0..size)
            .map(|i| b'a' + (i * 7 % 26) as u8)
            .collect::<Vec<u8>>(),
    )
}

fn key(size: usize, worker: usize) -> String {
    format!("bench:{size}:{worker}")
}

fn json_command(args: &[&[u8]]) -> Bytes {
    let strings: Vec<&str> = args
        .iter()
        .map(|a| std::str::from_utf8(a).unwrap_or(""))
        .collect();
    Bytes::from(serde_json::to_vec(&strings).unwrap_or_default())
}

/// One request through the gateway: `POST /` with a JSON command, body read completely.
async fn gateway_request(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Bytes,
    expect_len: usize,
) -> Result<(), String> {
    let response = http
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
    }
    if bytes.len() < expect_len {
        return Err(format!("short reply: {} bytes", bytes.len()));
    }
    Ok(())
}

async fn direct_request(
    conn: &mut Connection,
    command: &[Bytes],
    expect_len: usize,
) -> Result<(), String> {
    let mut replies = conn.execute(&[command]).await.map_err(|e| e.to_string())?;
    match replies.pop() {
        Some(Value::Error(e)) => Err(e),
        Some(Value::Bulk(b)) if b.len() < expect_len => {
            Err(format!("short reply: {} bytes", b.len()))
        }
        Some(_) => Ok(()),
        None => Err("no reply".into()),
    }
}

async fn run_case(
    args: &Arc<Args>,
    target: &Arc<RedisTarget>,
    http: &reqwest::Client,
    case: &Case,
) -> Outcome {
    let value = value_of(case.size);
    let url = format!("{}/", args.gateway_url.trim_end_matches('/'));
    let per_worker = case.requests.div_ceil(case.concurrency);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..case.concurrency {
        let key = key(case.size, worker);
        let value = value.clone();
        let http = http.clone();
        let url = url.clone();
        let args = Arc::clone(args);
        let target = Arc::clone(target);
        let (target_kind, op) = (case.target, case.op);
        tasks.push(tokio::spawn(async move {
            let command: Vec<Bytes> = match op {
                Op::Set => vec![
                    Bytes::from_static(b"SET"),
                    Bytes::from(key.clone()),
                    value.clone(),
                ],
                Op::Get => vec![Bytes::from_static(b"GET"), Bytes::from(key.clone())],
            };
            let expect_len = if op == Op::Get { value.len() } else { 0 };
            let body = json_command(&command.iter().map(|a| a.as_ref()).collect::<Vec<_>>());
            let mut conn = match target_kind {
                Target::Direct => {
                    match Connection::connect(&target, Duration::from_secs(2)).await {
                        Ok(c) => Some(c),
                        Err(e) => return (Vec::new(), per_worker, Some(e.to_string())),
                    }
                }
                Target::Gateway => None,
            };
            let mut latencies = Vec::with_capacity(per_worker);
            let mut errors = 0;
            let mut first_error = None;
            // Warm-up (connections, caches), not measured.
            for i in 0..(per_worker + 3) {
                let t = Instant::now();
                let result = match conn.as_mut() {
                    Some(conn) => direct_request(conn, &command, expect_len).await,
                    None => {
                        gateway_request(&http, &url, &args.token, body.clone(), expect_len).await
                    }
                };
                let elapsed = t.elapsed();
                if i < 3 {
                    continue;
                }
                match result {
                    Ok(()) => latencies.push(elapsed),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut outcome = Outcome {
        latencies: Vec::new(),
        errors: 0,
        first_error: None,
        wall: Duration::ZERO,
    };
    for task in tasks {
        match task.await {
            Ok((lat, errors, first)) => {
                outcome.latencies.extend(lat);
                outcome.errors += errors;
                if outcome.first_error.is_none() {
                    outcome.first_error = first;
                }
            }
            Err(e) => {
                outcome.errors += 1;
                outcome.first_error.get_or_insert(e.to_string());
            }
        }
    }
    outcome.wall = start.elapsed();
    outcome.latencies.sort();
    outcome
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e6)
}

async fn gateway_stats(
    http: &reqwest::Client,
    args: &Args,
    reset: bool,
) -> Option<serde_json::Value> {
    let base = args.gateway_url.trim_end_matches('/');
    let request = if reset {
        http.post(format!("{base}/__gateway/stats/reset"))
    } else {
        http.get(format!("{base}/__gateway/stats"))
    };
    let response = request.bearer_auth(&args.token).send().await.ok()?;
    response.json().await.ok()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = if args.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.client_threads)
            .enable_all()
            .build()
    };
    match runtime {
        Ok(runtime) => runtime.block_on(bench(Arc::new(args))),
        Err(e) => {
            eprintln!("gateway-bench: cannot start tokio: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(args: Arc<Args>) -> ExitCode {
    let target = match RedisTarget::parse(&args.redis_url) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            eprintln!("gateway-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let http = match reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gateway-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut cases = Vec::new();
    for &size in &[1024usize, 400 * 1024] {
        let requests = if size <= 1024 {
            args.small_requests
        } else {
            args.large_requests
        };
        for &concurrency in &args.concurrency {
            // SET first so GET finds the keys.
            for op in [Op::Set, Op::Get] {
                for target in [Target::Direct, Target::Gateway] {
                    cases.push(Case {
                        target,
                        op,
                        size,
                        concurrency: concurrency.max(1),
                        requests,
                    });
                }
            }
        }
    }
    let _ = gateway_stats(&http, &args, true).await;
    println!("| target  | op  | value  | conc | requests | errors |   req/s | p50 µs | p99 µs |");
    println!("|---------|-----|--------|-----:|---------:|-------:|--------:|-------:|-------:|");
    let mut total_errors = 0;
    let mut gateway_requests = 0;
    let mut p50s: Vec<(Target, Op, usize, usize, Duration)> = Vec::new();
    for case in &cases {
        let outcome = run_case(&args, &target, &http, case).await;
        let n = outcome.latencies.len();
        let rps = (n as f64) / outcome.wall.as_secs_f64().max(1e-9);
        let p50 = percentile(&outcome.latencies, 50.0);
        p50s.push((case.target, case.op, case.size, case.concurrency, p50));
        total_errors += outcome.errors;
        if case.target == Target::Gateway {
            gateway_requests += n + outcome.errors;
        }
        println!(
            "| {:<7} | {:<3} | {:>6} | {:>4} | {:>8} | {:>6} | {:>7.0} | {:>6} | {:>6} |",
            match case.target {
                Target::Gateway => "gateway",
                Target::Direct => "direct",
            },
            match case.op {
                Op::Set => "SET",
                Op::Get => "GET",
            },
            if case.size >= 1024 * 1024 {
                format!("{}MB", case.size >> 20)
            } else {
                format!("{}KB", case.size >> 10)
            },
            case.concurrency,
            n,
            outcome.errors,
            rps,
            micros(p50),
            micros(percentile(&outcome.latencies, 99.0)),
        );
        if let Some(e) = outcome.first_error {
            eprintln!("  first error: {e}");
        }
    }
    println!();
    for &(_, op, size, concurrency, gateway_p50) in p50s.iter().filter(|c| c.0 == Target::Gateway) {
        if let Some(&(.., direct_p50)) = p50s
            .iter()
            .find(|c| c.0 == Target::Direct && c.1 == op && c.2 == size && c.3 == concurrency)
        {
            println!(
                "p50 gateway/direct {:?} {}KB conc {}: {:.2}x",
                op,
                size >> 10,
                concurrency,
                gateway_p50.as_secs_f64() / direct_p50.as_secs_f64().max(1e-9)
            );
        }
    }
    if let Some(stats) = gateway_stats(&http, &args, false).await {
        // Warm-up requests are counted by the gateway too.
        println!(
            "gateway stats: {stats} (measured gateway requests: {gateway_requests}, plus warm-up)"
        );
    }
    if total_errors > 0 {
        eprintln!("gateway-bench: {total_errors} requests failed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
