//! Test harness: one redis-server and one in-process gateway per test.

use std::time::Duration;

use serde_json::Value;
use testkit::RedisServer;
use tokio::sync::oneshot;
use upstash_gateway::Config;

/// The full-access token every test gateway uses.
pub const TOKEN: &str = "test-token-full";
/// The read-only token every test gateway uses.
pub const RO_TOKEN: &str = "test-token-readonly";

/// A running redis-server plus a gateway in front of it.
pub struct TestGateway {
    pub redis: RedisServer,
    /// `http://127.0.0.1:<port>`
    pub url: String,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), upstash_gateway::Error>>>,
}

/// Starts redis and a gateway with the test tokens.
pub async fn start() -> TestGateway {
    start_with(|_| {}).await
}

/// Starts a gateway in front of `redis_url` (which may be down) with `tweak` applied to its config.
pub async fn start_gateway(
    redis_url: String,
    tweak: impl FnOnce(&mut Config),
) -> (
    String,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), upstash_gateway::Error>>,
) {
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        redis_url,
        token: Some(TOKEN.into()),
        readonly_token: Some(RO_TOKEN.into()),
        ..Config::default()
    };
    tweak(&mut config);
    // Quiet test output unless asked for (GATEWAY_LOG=debug cargo test ...).
    if std::env::var_os(upstash_gateway::log::LOG_ENV).is_none() {
        upstash_gateway::log::set_max_level(upstash_gateway::log::Level::Off);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind gateway listener");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(upstash_gateway::run(listener, config, async {
        let _ = rx.await;
    }));
    (url, tx, task)
}

/// Starts redis and a gateway with `tweak` applied to its config.
pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestGateway {
    let redis = RedisServer::start();
    let (url, shutdown, task) = start_gateway(redis.url(), tweak).await;
    TestGateway {
        redis,
        url,
        http: client(),
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

/// A plain HTTP client with a timeout so a hanging gateway fails the test instead of blocking it.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("reqwest client")
}

/// Status and parsed JSON body.
pub async fn parts(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("response body");
    let json =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text:?}"));
    (status, json)
}

/// Sends `request` and returns its status and parsed JSON body.
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    parts(request.send().await.expect("send")).await
}

/// The `error` string of a response body, empty when there is none (so a `contains` or
/// `starts_with` check on it fails with the whole body in the message).
pub fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

impl TestGateway {
    /// `path` under the gateway URL.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// POST with the full token.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.at(path)).bearer_auth(TOKEN)
    }

    /// GET with the full token.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.at(path)).bearer_auth(TOKEN)
    }

    /// `POST /` with a JSON command and the full token.
    pub async fn cmd(&self, command: Value) -> (u16, Value) {
        self.post_json("/", command).await
    }

    /// POST `body` as JSON to `path` (`/pipeline`, `/multi-exec`, ...) with the full token.
    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.post(path).json(&body)).await
    }

    /// Like [`TestGateway::cmd`] but asserts 200 and returns `result`.
    pub async fn ok(&self, command: Value) -> Value {
        let (status, body) = self.cmd(command.clone()).await;
        assert_eq!(status, 200, "{command} -> {body}");
        body.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{command} -> no result in {body}"))
    }

    /// Stops the gateway and waits for `run` to return.
    pub async fn shutdown(&mut self) -> Result<(), upstash_gateway::Error> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("gateway shut down within 10 s")
                .expect("gateway task did not panic"),
            None => Ok(()),
        }
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
