//! The end-to-end harness: one helper starts the whole stack for a test — a real
//! redis-server (own port, own temp dir), the Upstash-compatible gateway and the fake
//! exchange (in-process, real HTTP on free ports), and the built Worker in workerd via
//! `wrangler dev` — and tears all of it down on drop, even when the test panics.
//!
//! [`Options::workerd`] runs the Worker under bare `workerd serve` instead: the bundle of
//! `wrangler deploy --dry-run --outdir` with a generated `config.capnp` (no dev proxy, no
//! loopback service, closer to production); the cron is fired through a second socket whose
//! tiny Worker calls the Worker's `scheduled()` handler over a service binding.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use testkit::{free_port, ChildGuard, RedisServer};
use tokio::sync::oneshot;

pub use fake_exchange::{Fault, Market as FxMarket};

/// Token the gateway requires in every stack.
pub const TOKEN: &str = "e2e-upstash-token-9f8e7d";

/// workerd stacks are heavy (node + workerd each); run at most this many at once.
static SLOTS: Mutex<usize> = Mutex::new(0);
static SLOT_FREED: Condvar = Condvar::new();

fn max_stacks() -> usize {
    std::env::var("E2E_MAX_STACKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

struct Slot(usize);

impl Slot {
    /// `weight` slots at once: a load test takes them all, so it runs alone.
    fn acquire(weight: usize) -> Slot {
        let weight = weight.clamp(1, max_stacks());
        let mut n = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        while *n + weight > max_stacks() {
            n = SLOT_FREED.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n += weight;
        Slot(weight)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut n = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        *n -= self.0;
        SLOT_FREED.notify_all();
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A gateway running on the test's tokio runtime; stoppable and restartable on its port.
pub struct Gateway {
    pub port: u16,
    redis_url: String,
    token: String,
    /// `None`: the gateway's default request-body limit.
    max_request_bytes: Option<usize>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Gateway {
    pub async fn start(redis_url: &str, token: &str) -> Gateway {
        let mut g = Gateway {
            port: 0,
            redis_url: redis_url.into(),
            token: token.into(),
            max_request_bytes: None,
            stop: None,
            task: None,
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind gateway");
        g.port = listener.local_addr().expect("addr").port();
        g.spawn(listener);
        g
    }

    fn spawn(&mut self, listener: tokio::net::TcpListener) {
        let config = upstash_gateway::Config {
            redis_url: self.redis_url.clone(),
            token: Some(self.token.clone()),
            max_request_bytes: self
                .max_request_bytes
                .unwrap_or(upstash_gateway::DEFAULT_MAX_REQUEST_BYTES),
            ..Default::default()
        };
        let (tx, rx) = oneshot::channel::<()>();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(async move {
            let _ = upstash_gateway::run(listener, config, async {
                let _ = rx.await;
            })
            .await;
        }));
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops accepting and closes the port (the Worker then sees connection refused).
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Starts again on the same port with another token (the Worker's is then wrong: 401).
    pub async fn restart_with_token(&mut self, token: &str) {
        self.token = token.to_string();
        self.restart().await;
    }

    /// Starts again on the same port refusing request bodies over `bytes` (413), or with
    /// the default limit again for `None`.
    pub async fn restart_with_limit(&mut self, bytes: Option<usize>) {
        self.max_request_bytes = bytes;
        self.restart().await;
    }

    /// Replaces the gateway with a listener that accepts connections and never answers.
    pub async fn stall(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind gateway port");
        let (tx, mut rx) = oneshot::channel::<()>();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                tokio::select! {
                    _ = &mut rx => break,
                    conn = listener.accept() => match conn {
                        Ok((sock, _)) => held.push(sock),
                        Err(_) => break,
                    },
                }
            }
        }));
    }

    /// Starts again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind gateway port");
        self.spawn(listener);
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// An HTTP response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What runs the Worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Runtime {
    /// `wrangler dev` (workerd behind wrangler's dev proxy and loopback service), the default.
    #[default]
    WranglerDev,
    /// Bare `workerd serve` on the `wrangler deploy --dry-run` bundle.
    Workerd,
    /// Bare `workerd serve` with testkit's in-memory cache service behind the Cache API
    /// (what `scripts/bench.sh` measures edge hits with).
    WorkerdWithCache,
}

/// What a test may change about the Worker's vars.
#[derive(Clone, Debug)]
pub struct Options {
    pub vars: Vec<(String, String)>,
    /// Run with no other stack alive (load tests).
    pub exclusive: bool,
    pub runtime: Runtime,
    /// The fake exchange's spot payload (default: the recorded fixture).
    pub spot_payload: Option<std::sync::Arc<Vec<u8>>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            vars: vec![
                // Most tests look at Redis-level behaviour; the edge-cache test turns it on.
                ("EDGE_CACHE_TTL_SECONDS".into(), "0".into()),
                ("UPSTREAM_TIMEOUT_MS".into(), "1500".into()),
                ("REDIS_TIMEOUT_MS".into(), "1500".into()),
                ("REFRESH_WAIT_MS".into(), "8000".into()),
            ],
            exclusive: false,
            runtime: Runtime::WranglerDev,
            spot_payload: None,
        }
    }
}

impl Options {
    pub fn exclusive(mut self) -> Self {
        self.exclusive = true;
        self
    }

    pub fn var(mut self, k: &str, v: &str) -> Self {
        self.vars.retain(|(name, _)| name != k);
        self.vars.push((k.into(), v.into()));
        self
    }

    /// Run under bare `workerd serve` (see the module docs).
    pub fn workerd(mut self) -> Self {
        self.runtime = Runtime::Workerd;
        self
    }

    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = runtime;
        self
    }

    /// The fake exchange serves `payload` as the spot exchangeInfo.
    pub fn spot_payload(mut self, payload: Vec<u8>) -> Self {
        self.spot_payload = Some(std::sync::Arc::new(payload));
        self
    }
}

/// POSTs a [`Hook`] received: (path, body).
pub type Posts = std::sync::Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A tiny HTTP receiver for the changes webhook: records each POST (path and body) and
/// answers with the status set by [`Hook::answer`] (200 at first). Stops on drop.
pub struct Hook {
    pub port: u16,
    received: Posts,
    status: std::sync::Arc<std::sync::atomic::AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Hook {
    pub async fn start() -> Hook {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind hook");
        let port = listener.local_addr().expect("addr").port();
        let received: Posts = std::sync::Arc::new(Mutex::new(Vec::new()));
        let status = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(200));
        let (rx, st) = (received.clone(), status.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (rx, st) = (rx.clone(), st.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let (head_end, length) = loop {
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            break (at + 4, length);
                        }
                    };
                    while buf.len() < head_end + length {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    rx.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((path, buf[head_end..head_end + length].to_vec()));
                    let code = st.load(std::sync::atomic::Ordering::SeqCst);
                    let reply = format!(
                        "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                });
            }
        });
        Hook {
            port,
            received,
            status,
            task,
        }
    }

    /// The URL to configure, with a path standing in for a secret token.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answer later POSTs with `code`.
    pub fn answer(&self, code: u16) {
        self.status.store(code, std::sync::atomic::Ordering::SeqCst);
    }

    /// Every POST so far: (path, body).
    pub fn received(&self) -> Vec<(String, Vec<u8>)> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits (up to `timeout`) until `n` POSTs have arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<(String, Vec<u8>)> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The whole stack for one test.
pub struct Stack {
    pub redis: RedisServer,
    pub gateway: Gateway,
    pub exchange: fake_exchange::Running,
    pub worker_port: u16,
    pub runtime: Runtime,
    /// Bare workerd only: the socket whose Worker fires the cron.
    cron_port: Option<u16>,
    worker: ChildGuard,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    _slot: Slot,
}

/// Names passed as secrets (`.dev.vars`, which wrangler never prints), not as vars.
const SECRETS: [&str; 4] = [
    "REDIS_REST_TOKEN",
    "BINANCE_API_KEY",
    "ADMIN_TOKEN",
    "CHANGES_WEBHOOK_URL",
];

fn write_config(dir: &Path, vars: &[(String, String)]) -> PathBuf {
    let mut toml = format!(
        "name = \"symbols-edge-e2e\"\nmain = {:?}\ncompatibility_date = \"2026-04-01\"\n\n[triggers]\ncrons = [\"*/5 * * * *\"]\n\n[vars]\n",
        root().join("build/index.js")
    );
    let mut dev_vars = String::new();
    for (k, v) in vars {
        if SECRETS.contains(&k.as_str()) {
            dev_vars.push_str(&format!("{k}={v:?}\n"));
        } else {
            toml.push_str(&format!("{k} = {v:?}\n"));
        }
    }
    std::fs::write(dir.join(".dev.vars"), dev_vars).expect("write .dev.vars");
    let path = dir.join("wrangler.toml");
    std::fs::write(&path, toml).expect("write wrangler.toml");
    path
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> Stack {
        let wasm = root().join("build/index_bg.wasm");
        assert!(
            wasm.exists(),
            "{} is missing: run scripts/build.sh (make test does)",
            wasm.display()
        );
        let weight = if opts.exclusive { usize::MAX } else { 1 };
        let slot = tokio::task::spawn_blocking(move || Slot::acquire(weight))
            .await
            .expect("slot");
        let redis = RedisServer::start();
        let gateway = Gateway::start(&redis.url(), TOKEN).await;
        let exchange = match &opts.spot_payload {
            None => fake_exchange::start().await,
            Some(spot) => {
                let state = fake_exchange::FakeExchange::with_spot_payload(spot.as_ref().clone())
                    .expect("spot payload");
                fake_exchange::start_with(state)
                    .await
                    .expect("start fake exchange")
            }
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let mut vars = vec![
            ("REDIS_REST_URL".to_string(), gateway.url()),
            ("REDIS_REST_TOKEN".to_string(), TOKEN.to_string()),
            ("SPOT_API_BASES".to_string(), exchange.base_url.clone()),
            ("FUTURES_API_BASES".to_string(), exchange.base_url.clone()),
        ];
        for (k, v) in opts.vars {
            vars.retain(|(name, _)| *name != k);
            vars.push((k, v));
        }
        let config = write_config(dir.path(), &vars);
        let (worker, worker_port, cron_port) = match opts.runtime {
            Runtime::WranglerDev => {
                let (worker, port) = start_worker_retrying(dir.path(), &config).await;
                (worker, port, None)
            }
            Runtime::Workerd | Runtime::WorkerdWithCache => {
                let cache = opts.runtime == Runtime::WorkerdWithCache;
                let (worker, port, cron) =
                    start_workerd_retrying(dir.path(), &config, &vars, cache).await;
                (worker, port, Some(cron))
            }
        };
        // No idle connection reuse: wrangler's dev proxy drops idle keep-alive connections
        // under load, and a request sent on one of those gets "connection reset".
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        Stack {
            redis,
            gateway,
            exchange,
            worker_port,
            runtime: opts.runtime,
            cron_port,
            worker,
            dir,
            http,
            _slot: slot,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.worker_port, path)
    }

    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(method, self.url(path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let resp = rb.send().await.unwrap_or_else(|e| {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(c) = source {
                chain.push_str(&format!(": {c}"));
                source = c.source();
            }
            panic!(
                "request {path}: {chain}\n--- worker log ---\n{}",
                self.log_tail()
            )
        });
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.expect("body").to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[]).await
    }

    /// Fires the scheduled handler (wrangler's `--test-scheduled` endpoint, or under bare
    /// workerd the cron socket) and waits for it.
    pub async fn fire_cron(&self) {
        let path = "/__scheduled?cron=*/5+*+*+*+*";
        let r = match self.cron_port {
            None => self.get(path).await,
            Some(port) => {
                let resp = self
                    .http
                    .get(format!("http://127.0.0.1:{port}{path}"))
                    .send()
                    .await
                    .expect("cron trigger");
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                Resp {
                    status,
                    headers,
                    body: resp.bytes().await.expect("body").to_vec(),
                }
            }
        };
        assert_eq!(r.status, 200, "cron trigger: {}", r.text());
    }

    /// The workerd processes running the Worker (under `wrangler dev` the runtime and the dev
    /// proxy, both descendants of wrangler's node process).
    pub fn workerd_pids(&self) -> Vec<u32> {
        let root = self.worker.id();
        match self.runtime {
            Runtime::Workerd | Runtime::WorkerdWithCache => vec![root],
            Runtime::WranglerDev => descendants(root)
                .into_iter()
                .filter(|p| comm(*p).as_deref() == Some("workerd"))
                .collect(),
        }
    }

    /// Open file descriptors of each of [`Stack::workerd_pids`].
    pub fn workerd_fds(&self) -> Vec<(u32, usize)> {
        self.workerd_pids()
            .into_iter()
            .map(|p| (p, open_fds(p)))
            .collect()
    }

    /// Samples the open fds of the workerd processes every `every` until stopped.
    pub fn sample_fds(&self, every: Duration) -> FdSampler {
        FdSampler::start(self.workerd_pids(), every)
    }

    /// A key read straight from redis-server (not through the gateway), raw.
    pub fn redis_get(&self, key: &str) -> Option<String> {
        let exists = self.redis.cli(&["EXISTS", key]);
        if exists.ends_with('0') {
            return None;
        }
        Some(self.redis.cli_raw(&["GET", key]))
    }

    pub fn redis_int(&self, key: &str) -> i64 {
        self.redis_get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The counter at `key` once it reaches `want`, or its value after 5 s: counters are
    /// written after the response (wait_until) and hits are coalesced for
    /// `COUNTER_FLUSH_MS`, so a test polls instead of guessing a sleep.
    pub async fn redis_int_eventually(&self, key: &str, want: i64) -> i64 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let v = self.redis_int(key);
            if v == want || std::time::Instant::now() > deadline {
                return v;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The gateway's request and command counters (`GET /__gateway/stats`).
    pub async fn gateway_stats(&self) -> serde_json::Value {
        self.http
            .get(format!("{}/__gateway/stats", self.gateway.url()))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("gateway stats")
            .json()
            .await
            .expect("stats json")
    }

    pub fn redis_ttl(&self, key: &str) -> i64 {
        self.redis
            .cli_raw(&["TTL", key])
            .trim()
            .parse()
            .unwrap_or(-99)
    }

    pub fn redis_set(&self, key: &str, value: &str) {
        self.redis.cli(&["SET", key, value]);
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("worker.log")
    }

    /// Everything the Worker process printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// Starts the Worker; a port taken between our check and workerd's bind is retried.
async fn start_worker_retrying(dir: &Path, config: &Path) -> (ChildGuard, u16) {
    for attempt in 1..=3 {
        match start_worker(dir, config).await {
            Ok(started) => return started,
            Err(log) if log.contains("Address already in use") && attempt < 3 => continue,
            Err(log) => panic!("wrangler dev did not start:\n{log}"),
        }
    }
    unreachable!("the last attempt returns or panics")
}

async fn start_worker(dir: &Path, config: &Path) -> Result<(ChildGuard, u16), String> {
    let wrangler = root().join("node_modules/wrangler/bin/wrangler.js");
    assert!(
        wrangler.exists(),
        "wrangler is missing: run scripts/setup.sh (make test does)"
    );
    let log = std::fs::File::create(dir.join("worker.log")).expect("worker log");
    let log2 = log.try_clone().expect("log clone");
    let port = free_port();
    let inspector = free_port();
    // workerd holds a socket per in-flight subrequest and log line under wrangler dev:
    // a burst of concurrent requests can pass a default 1024-fd limit.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{RAISE_FD_LIMIT}; exec node \"$@\""))
        .arg("node")
        .arg(&wrangler)
        .args(["dev", "--config"])
        .arg(config)
        .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &inspector.to_string()])
        .args([
            "--test-scheduled",
            "--log-level",
            "log",
            "--show-interactive-dev-session=false",
        ])
        .arg("--persist-to")
        .arg(dir.join("state"))
        .current_dir(dir)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_LOG_PATH", dir.join("wrangler-logs"))
        .env("XDG_CONFIG_HOME", dir.join("xdg"))
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    let mut guard = ChildGuard::spawn("wrangler dev", &mut cmd).expect("start wrangler");
    wait_serving(
        &mut guard,
        port,
        dir,
        Duration::from_secs(90),
        Duration::from_millis(200),
    )
    .await?;
    Ok((guard, port))
}

/// Waits until the Worker behind `port` answers `/openapi.json` with 200 (any answer from
/// it means workerd is serving the Worker), or the process exits, or `within` passes; the
/// error carries the Worker's log.
async fn wait_serving(
    guard: &mut ChildGuard,
    port: u16,
    dir: &Path,
    within: Duration,
    every: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let log = || std::fs::read_to_string(dir.join("worker.log")).unwrap_or_default();
    loop {
        if guard.has_exited() {
            return Err(log());
        }
        if probe
            .get(format!("http://127.0.0.1:{port}/openapi.json"))
            .send()
            .await
            .is_ok_and(|r| r.status().as_u16() == 200)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("not ready in {} s:\n{}", within.as_secs(), log()));
        }
        tokio::time::sleep(every).await;
    }
}

/// Raises the soft open-file limit to the hard limit (at most 65536), never past it: the
/// hard limit is what the machine allows (20,000 on the 2-core CI box).
const RAISE_FD_LIMIT: &str = r#"h=$(ulimit -Hn); case "$h" in unlimited) h=65536;; esac; [ "$h" -gt 65536 ] && h=65536; ulimit -n "$h" 2>/dev/null"#;

/// The hard open-file limit of this process (what a child may raise its soft limit to).
pub fn hard_fd_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(4).and_then(|v| v.parse().ok())
}

/// The soft open-file limit of `pid`.
pub fn fd_limit_of(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3).and_then(|v| v.parse().ok())
}

/// Open file descriptors of `pid` (0 once it is gone).
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Every live descendant of `root` (from `/proc/*/stat` parent ids).
fn descendants(root: u32) -> Vec<u32> {
    let mut parent = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parent.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// Peak and last open-fd counts of a set of processes, sampled on a thread of its own (so a
/// busy test runtime does not skew it).
pub struct FdSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<FdReport>>,
}

/// What an [`FdSampler`] saw.
#[derive(Clone, Debug, Default)]
pub struct FdReport {
    /// Highest sum over the processes at one sample.
    pub peak_total: usize,
    /// Highest count per process (pid, fds).
    pub peak_each: Vec<(u32, usize)>,
    /// Sum at the first and at the last sample.
    pub first_total: usize,
    pub last_total: usize,
    pub samples: usize,
}

impl FdSampler {
    fn start(pids: Vec<u32>, every: Duration) -> FdSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut report = FdReport {
                peak_each: pids.iter().map(|p| (*p, 0)).collect(),
                ..FdReport::default()
            };
            loop {
                let counts: Vec<usize> = pids.iter().map(|p| open_fds(*p)).collect();
                let total: usize = counts.iter().sum();
                if report.samples == 0 {
                    report.first_total = total;
                }
                report.samples += 1;
                report.last_total = total;
                report.peak_total = report.peak_total.max(total);
                for (slot, n) in report.peak_each.iter_mut().zip(&counts) {
                    slot.1 = slot.1.max(*n);
                }
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    return report;
                }
                std::thread::sleep(every);
            }
        });
        FdSampler {
            stop,
            thread: Some(thread),
        }
    }

    /// Takes a last sample and returns the report.
    pub fn stop(mut self) -> FdReport {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for FdSampler {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Starts the Worker under bare workerd; a port taken between our check and workerd's bind
/// is retried.
async fn start_workerd_retrying(
    dir: &Path,
    config: &Path,
    vars: &[(String, String)],
    edge_cache: bool,
) -> (ChildGuard, u16, u16) {
    let bundle = dir.join("bundle");
    dry_run_bundle(dir, config, &bundle).await;
    for attempt in 1..=3 {
        match start_workerd(dir, &bundle, vars, edge_cache).await {
            Ok(started) => return started,
            Err(log) if log.contains("Address already in use") && attempt < 3 => continue,
            Err(log) => panic!("workerd serve did not start:\n{log}"),
        }
    }
    unreachable!("the last attempt returns or panics")
}

/// `wrangler deploy --dry-run --outdir bundle` for the test's `wrangler.toml` (no `[build]`:
/// it bundles the `build/` that exists now).
async fn dry_run_bundle(dir: &Path, config: &Path, bundle: &Path) {
    let wrangler = root().join("node_modules/wrangler/bin/wrangler.js");
    assert!(
        wrangler.exists(),
        "wrangler is missing: run scripts/setup.sh (make test does)"
    );
    let out = tokio::process::Command::new("node")
        .arg(&wrangler)
        .args(["deploy", "--dry-run", "--config"])
        .arg(config)
        .arg("--outdir")
        .arg(bundle)
        .current_dir(dir)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_LOG_PATH", dir.join("wrangler-logs"))
        .env("XDG_CONFIG_HOME", dir.join("xdg"))
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), out)
        .await
        .expect("wrangler deploy --dry-run within 90 s")
        .expect("run wrangler");
    assert!(
        out.status.success(),
        "wrangler deploy --dry-run failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The workerd binary wrangler itself runs (`node_modules/@cloudflare/workerd-linux-64`).
pub fn workerd_bin() -> PathBuf {
    testkit::workerd::workerd_bin(&root()).unwrap_or_else(|| {
        panic!(
            "no workerd binary under {}: run npm install",
            root().join("node_modules/@cloudflare").display()
        )
    })
}

/// Writes `config.capnp` for `bundle` (`testkit::workerd`: every var and secret a text
/// binding, outbound network allowed to loopback, the cron socket) and starts `workerd
/// serve` with the fd limit at the hard limit.
async fn start_workerd(
    dir: &Path,
    bundle: &Path,
    vars: &[(String, String)],
    edge_cache: bool,
) -> Result<(ChildGuard, u16, u16), String> {
    let port = free_port();
    let cron_port = free_port();
    let serve = testkit::workerd::Serve {
        bundle: bundle.to_path_buf(),
        vars: vars.to_vec(),
        port,
        cron_port,
        compatibility_date: "2026-04-01".into(),
        edge_cache,
    };
    let capnp = serve.write_config(dir).expect("write config.capnp");
    let log = std::fs::File::create(dir.join("worker.log")).expect("worker log");
    let log2 = log.try_clone().expect("log clone");
    let mut cmd = Command::new("sh");
    // `--experimental`: the cron Worker's `scheduled()` call over a service binding.
    cmd.arg("-c")
        .arg(format!(
            "{RAISE_FD_LIMIT}; exec \"$0\" serve --experimental \"$1\""
        ))
        .arg(workerd_bin())
        .arg(&capnp)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    let mut guard = ChildGuard::spawn("workerd serve", &mut cmd).expect("start workerd");
    wait_serving(
        &mut guard,
        port,
        dir,
        Duration::from_secs(30),
        Duration::from_millis(100),
    )
    .await?;
    Ok((guard, port, cron_port))
}

impl Drop for Stack {
    fn drop(&mut self) {
        // A failing test shows what the Worker said (the temp dir goes away with it).
        if std::thread::panicking() {
            eprintln!(
                "--- worker log (last 40 lines) ---\n{}\n--- end ---",
                self.log_tail()
            );
        }
    }
}

/// A Worker started the way README tells a user to: `npx wrangler dev` in a project
/// directory with the committed `wrangler.toml`, whose `[build]` command runs first. Only
/// the ports are given (free ones), and `--test-scheduled` when asked. Torn down on drop.
pub struct ProjectDev {
    pub port: u16,
    /// How long `npx wrangler dev` took to serve (the `[build]` command included).
    pub startup: Duration,
    log_path: PathBuf,
    worker: ChildGuard,
    _slot: Slot,
}

impl ProjectDev {
    /// Runs `npx wrangler dev [extra args]` in `project` and waits until it serves.
    pub async fn start(project: &Path, extra: &[&str]) -> ProjectDev {
        let slot = tokio::task::spawn_blocking(|| Slot::acquire(1))
            .await
            .expect("slot");
        let log_path = project.join("wrangler-dev.log");
        let log = std::fs::File::create(&log_path).expect("log");
        let log2 = log.try_clone().expect("log clone");
        let port = free_port();
        let inspector = free_port();
        let mut cmd = Command::new("npx");
        cmd.args([
            "wrangler",
            "dev",
            "--ip",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args([
            "--inspector-port",
            &inspector.to_string(),
            "--show-interactive-dev-session=false",
        ])
        .args(extra)
        .current_dir(project)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_LOG_PATH", project.join("wrangler-logs"))
        .env("XDG_CONFIG_HOME", project.join("xdg"))
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
        let started = Instant::now();
        let mut worker =
            ChildGuard::spawn("npx wrangler dev", &mut cmd).expect("start npx wrangler dev");
        let probe = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        let deadline = started + Duration::from_secs(120);
        loop {
            let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
            assert!(
                !worker.has_exited(),
                "npx wrangler dev exited:\n{}",
                read_log()
            );
            if probe
                .get(format!("http://127.0.0.1:{port}/openapi.json"))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 200)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "npx wrangler dev did not serve within 120 s:\n{}",
                read_log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        ProjectDev {
            port,
            startup: started.elapsed(),
            log_path,
            worker,
            _slot: slot,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.get_with(path, &[]).await
    }

    /// A GET with extra headers (a `Host` header sets the host the Worker sees).
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let mut rb = http.get(self.url(path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log()));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.expect("body").to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Everything wrangler (and the build command, and the Worker) printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Stops wrangler (and workerd with it).
    pub fn stop(&mut self) {
        self.worker.kill();
    }
}

/// Copies the files a project checkout needs for `npx wrangler dev` into `dest`: the
/// committed configuration, the scripts, the built `build/`, the toolchain settings, and
/// every input of the last build (`build/.inputs`, so `scripts/build.sh` finds them
/// unchanged), with their modification times. `node_modules` is linked, not copied.
pub fn copy_project(dest: &Path) {
    let root = root();
    let inputs = std::fs::read_to_string(root.join("build/.inputs"))
        .unwrap_or_else(|e| panic!("build/.inputs: {e}: run scripts/build.sh (make test does)"));
    let mut paths: Vec<String> = inputs
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    for fixed in [
        "wrangler.toml",
        "package.json",
        "package-lock.json",
        "Cargo.toml",
        "Cargo.lock",
        ".cargo",
        "scripts",
        "build",
        ".local/toolchain",
    ] {
        paths.push(fixed.to_string());
    }
    for entry in std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .flatten()
    {
        if entry.path().join("Cargo.toml").exists() {
            paths.push(format!(
                "crates/{}/Cargo.toml",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    paths.retain(|p| root.join(p).exists());
    // tar keeps modification times (package-lock.json must not look newer than node_modules).
    let mut pack = Command::new("tar")
        .arg("-cf")
        .arg("-")
        .args(&paths)
        .current_dir(&root)
        .stdout(Stdio::piped())
        .spawn()
        .expect("tar -c");
    let status = Command::new("tar")
        .args(["-xf", "-", "-C"])
        .arg(dest)
        .stdin(pack.stdout.take().expect("tar stdout"))
        .status()
        .expect("tar -x");
    let packed = pack.wait().expect("tar -c");
    assert!(
        status.success() && packed.success(),
        "copying the project failed"
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("node_modules"), dest.join("node_modules"))
        .expect("link node_modules");
}
