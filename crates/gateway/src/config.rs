//! Gateway configuration and its defaults (the binary fills it from flags and `GATEWAY_*` env vars).

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8079";
/// Default Redis URL.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Default limit on a request body: 10 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// Everything the gateway needs to serve.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Address the binary binds (`host:port`); [`crate::run`] takes an already bound listener.
    pub listen: String,
    /// `redis://[user[:password]@]host[:port][/db]` of the backing redis-server.
    pub redis_url: String,
    /// Token with full access. `None` (or empty): every request is accepted with full access.
    pub token: Option<String>,
    /// Optional token limited to read-only commands.
    pub readonly_token: Option<String>,
    /// Largest accepted request body in bytes; larger ones get 413.
    pub max_request_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_string(),
            redis_url: DEFAULT_REDIS_URL.to_string(),
            token: None,
            readonly_token: None,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens and the Redis password never appear in logs or panics.
        let redis = crate::redis::RedisTarget::parse(&self.redis_url)
            .map(|t| t.redacted())
            .unwrap_or_else(|_| "<invalid>".to_string());
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("redis_url", &redis)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field(
                "readonly_token",
                &self.readonly_token.as_ref().map(|_| "***"),
            )
            .field("max_request_bytes", &self.max_request_bytes)
            .finish()
    }
}
