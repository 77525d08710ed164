//! The cold stampede at this machine's real limits (issue 14, item 1): caches off, Redis
//! empty, a spot list of today's size from the fake exchange's generator, Binance answering
//! after 1 s, N concurrent `GET /api/symbols/spot`, the fd limit at the hard limit (never
//! raised past it). Every client must get 200 with the full list, Binance is called at most
//! once, `/healthz` answers right after, and the peak open fds of the workerd processes
//! (counted in `/proc/<pid>/fd`) are printed.
//!
//! Measured (this machine, 2 shared cores), since waiters take the list their isolate's
//! refresh stored instead of each pulling the ~1 MB document from Redis:
//! - bare `workerd serve` (the `wrangler deploy --dry-run` bundle), 100 clients: 100 x 200
//!   with the full list, 1 upstream call, 2.3 s; 500 clients: 500 x 200, 1 call, 6.1 s,
//!   /healthz 200 in 6 ms right after. (Before: 500 clients got 185 full lists in 51 s,
//!   259 x 503, after 6,225 REST requests and 1.15 GB of responses.)
//! - `wrangler dev` 4.86, 100 clients: 100 x 200, 1 call, 4.3 s; peak 4,790 fds, nearly all
//!   in wrangler's dev proxy (the workerd process serving `--port`), which opens a
//!   connection to wrangler's node loopback per ~4 KB of each response it relays and keeps
//!   them (README, "Soak test"; before: 0 of 100 answered in 60 s, the proxy at the 20,000
//!   hard limit). Its fd budget is therefore half the hard limit, not "hundreds".

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::{
    fd_limit_of, hard_fd_limit, Fault, FdReport, FxMarket, Options, Resp, Runtime, Stack,
};

/// Today's spot list is ~3,500 symbols; the stampede used 5,000 (an 8.6 MB
/// exchangeInfo, a ~1 MB stored document).
const SPOT_SYMBOLS: usize = 5000;

struct Outcome {
    statuses: BTreeMap<u16, usize>,
    caches: BTreeMap<String, usize>,
    full_lists: usize,
    upstream_calls: usize,
    /// Until the last client had its answer.
    elapsed: Duration,
    slowest: Duration,
    healthz: Result<(u16, Duration), String>,
    fds: FdReport,
    fds_after: usize,
    first_failure: Option<String>,
    limit: Option<u64>,
    /// The gateway's counters after the stampede: REST requests, commands, bytes out.
    redis: serde_json::Value,
    /// The soft fd limit of each workerd process.
    workerd_limits: Vec<Option<u64>>,
}

impl Outcome {
    fn summary(&self, runtime: Runtime, clients: usize) -> String {
        format!(
            "cold stampede, {runtime:?}, {clients} clients, {SPOT_SYMBOLS} symbols, fd hard limit {:?} (workerd soft {:?}): \
             statuses {:?}, X-Cache {:?}, full lists {}, upstream calls {}, all answered in {:.1} s \
             (slowest {:.1} s), /healthz after: {:?}, Redis REST {}, workerd fds: first {} peak {} (per process {:?}) \
             last {} ({} samples), 2 s later {}",
            self.limit,
            self.workerd_limits,
            self.statuses,
            self.caches,
            self.full_lists,
            self.upstream_calls,
            self.elapsed.as_secs_f64(),
            self.slowest.as_secs_f64(),
            self.healthz,
            self.redis,
            self.fds.first_total,
            self.fds.peak_total,
            self.fds.peak_each,
            self.fds.last_total,
            self.fds.samples,
            self.fds_after,
        )
    }
}

async fn stampede(runtime: Runtime, clients: usize) -> Outcome {
    let payload = fake_exchange::synth_spot_payload(SPOT_SYMBOLS);
    let stack = Stack::start_with(
        Options::default()
            .runtime(runtime)
            .spot_payload(payload)
            .var("EDGE_CACHE_TTL_SECONDS", "0")
            .var("ISOLATE_CACHE_TTL_SECONDS", "0")
            .var("UPSTREAM_TIMEOUT_MS", "8000")
            .var("REDIS_TIMEOUT_MS", "5000")
            .var("REFRESH_WAIT_MS", "25000")
            .exclusive(),
    )
    .await;
    let expected = stack.exchange.handle.payload(FxMarket::Spot).symbol_count();
    stack
        .exchange
        .push_fault(FxMarket::Spot, Fault::Delay { ms: 1000 });
    // A client of its own: one connection per request, as 100 separate bots would.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let sampler = stack.sample_fds(Duration::from_millis(25));
    let started = Instant::now();
    let requests = (0..clients).map(|_| {
        let http = http.clone();
        let url = stack.url("/api/symbols/spot");
        async move {
            let sent = Instant::now();
            let answer = match http.get(url).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(body) => Ok(Resp {
                            status,
                            headers,
                            body: body.to_vec(),
                        }),
                        Err(e) => Err(format!("body: {e}")),
                    }
                }
                Err(e) => Err(format!(
                    "{e}: {:?}",
                    std::error::Error::source(&e).map(|s| s.to_string())
                )),
            };
            (answer, sent.elapsed())
        }
    });
    let answers = futures::future::join_all(requests).await;
    let elapsed = started.elapsed();
    let health_started = Instant::now();
    let healthz = tokio::time::timeout(
        Duration::from_secs(5),
        http.get(stack.url("/healthz")).send(),
    )
    .await
    .map_err(|_| "no answer within 5 s".to_string())
    .and_then(|r| r.map_err(|e| e.to_string()))
    .map(|r| (r.status().as_u16(), health_started.elapsed()));
    let fds = sampler.stop();
    let redis = stack.gateway_stats().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let fds_after = stack.workerd_fds().iter().map(|(_, n)| n).sum();

    let mut outcome = Outcome {
        statuses: BTreeMap::new(),
        caches: BTreeMap::new(),
        full_lists: 0,
        upstream_calls: stack.exchange.requests(FxMarket::Spot),
        elapsed,
        slowest: answers.iter().map(|(_, t)| *t).max().unwrap_or_default(),
        healthz,
        fds,
        fds_after,
        first_failure: None,
        limit: hard_fd_limit(),
        redis,
        workerd_limits: stack.workerd_pids().into_iter().map(fd_limit_of).collect(),
    };
    let mut first_body: Option<&[u8]> = None;
    for (answer, _) in &answers {
        match answer {
            Ok(r) => {
                *outcome.statuses.entry(r.status).or_default() += 1;
                *outcome
                    .caches
                    .entry(r.header("x-cache").unwrap_or("-").to_string())
                    .or_default() += 1;
                let count = serde_json::from_slice::<serde_json::Value>(&r.body)
                    .ok()
                    .and_then(|v| v["count"].as_u64());
                // The same list for everyone: the same bytes as the first full answer.
                let full = r.status == 200 && count == Some(expected as u64);
                let same =
                    full && *first_body.get_or_insert(r.body.as_slice()) == r.body.as_slice();
                if same {
                    outcome.full_lists += 1;
                } else if outcome.first_failure.is_none() {
                    outcome.first_failure =
                        Some(format!("{} {:?}: {:.300}", r.status, count, r.text()));
                }
            }
            Err(e) => {
                *outcome.statuses.entry(0).or_default() += 1;
                outcome.first_failure.get_or_insert_with(|| e.clone());
            }
        }
    }
    if outcome.full_lists < clients {
        eprintln!("--- worker log (last 40 lines) ---\n{}", stack.log_tail());
    }
    outcome
}

fn assert_target(outcome: &Outcome, clients: usize, fd_budget: usize) {
    assert_eq!(
        outcome.full_lists, clients,
        "every client gets 200 with the full list; first failure: {:?}",
        outcome.first_failure
    );
    assert!(
        outcome.upstream_calls <= 1,
        "single flight: {} upstream calls",
        outcome.upstream_calls
    );
    assert!(
        matches!(outcome.healthz, Ok((200, _))),
        "/healthz right after: {:?}",
        outcome.healthz
    );
    assert!(
        outcome.fds.peak_total < fd_budget,
        "peak open fds of workerd: {} for {clients} clients",
        outcome.fds.peak_total
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_stampede_of_100_under_bare_workerd() {
    let outcome = stampede(Runtime::Workerd, 100).await;
    println!("{}", outcome.summary(Runtime::Workerd, 100));
    // "Open files stay in the hundreds": clients + a few hundred, far below the hard limit.
    assert_target(&outcome, 100, 100 + 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_stampede_of_500_under_bare_workerd() {
    let outcome = stampede(Runtime::Workerd, 500).await;
    println!("{}", outcome.summary(Runtime::Workerd, 500));
    assert_target(&outcome, 500, 500 + 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_stampede_of_100_under_wrangler_dev() {
    let outcome = stampede(Runtime::WranglerDev, 100).await;
    println!("{}", outcome.summary(Runtime::WranglerDev, 100));
    // Under wrangler dev the open files are wrangler's, not the Worker's: its entry workerd
    // holds thousands of connections to wrangler's node loopback service (peaks of 3.7k-16k in
    // single runs of this test on one machine, depending on how slowly the proxy relays),
    // while the Worker's own stays in the hundreds (the bare-workerd tests above). So here
    // the budget is the machine's hard limit: no client may fail for want of a descriptor.
    let budget = hard_fd_limit().map_or(20_000, |h| h as usize);
    assert_target(&outcome, 100, budget);
}
