//! Gateway configuration and its defaults (the binary fills it from flags and `GATEWAY_*` env vars).

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8079";
/// Default Redis URL: the original system's.
pub const DEFAULT_REDIS_URL: &str = "redis://localhost:6379/0";
/// Where the Redis URL is looked up after `--redis-url`, in order: ours, then the original
/// system's own (`REDIS_URL`, else its Celery broker, which is the same Redis), so pointing
/// the gateway at the bot's Redis needs no new setting.
pub const REDIS_URL_VARS: [&str; 3] = ["GATEWAY_REDIS_URL", "REDIS_URL", "CELERY_BROKER_URL"];

/// The Redis URL: `flag`, else the first of [`REDIS_URL_VARS`] set (non-empty) in `env`,
/// else [`DEFAULT_REDIS_URL`]; with the name of where it came from (never the value).
pub fn resolve_redis_url(
    flag: Option<String>,
    env: impl Fn(&str) -> Option<String>,
) -> (String, &'static str) {
    let set = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(url) = set(flag) {
        return (url, "--redis-url");
    }
    for var in REDIS_URL_VARS {
        if let Some(url) = set(env(var)) {
            return (url, var);
        }
    }
    (DEFAULT_REDIS_URL.to_string(), "default")
}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_url_resolves_like_the_original() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            resolve_redis_url(None, env(&[])),
            (DEFAULT_REDIS_URL.to_string(), "default")
        );
        assert_eq!(
            resolve_redis_url(None, env(&[("CELERY_BROKER_URL", "redis://c:1/0")])).1,
            "CELERY_BROKER_URL"
        );
        let both = env(&[
            ("CELERY_BROKER_URL", "redis://c:1/0"),
            ("REDIS_URL", "redis://r:1/0"),
        ]);
        assert_eq!(
            resolve_redis_url(None, both),
            ("redis://r:1/0".to_string(), "REDIS_URL")
        );
        let all = env(&[
            ("REDIS_URL", "redis://r:1/0"),
            ("GATEWAY_REDIS_URL", "redis://g:1/0"),
        ]);
        assert_eq!(resolve_redis_url(None, all).1, "GATEWAY_REDIS_URL");
        assert_eq!(
            resolve_redis_url(
                Some("redis://f:1".into()),
                env(&[("REDIS_URL", "redis://r:1/0")])
            )
            .1,
            "--redis-url"
        );
        assert_eq!(
            resolve_redis_url(
                None,
                env(&[("REDIS_URL", "  "), ("CELERY_BROKER_URL", "redis://c:1/0")])
            )
            .1,
            "CELERY_BROKER_URL"
        );
        assert_eq!(DEFAULT_REDIS_URL, "redis://localhost:6379/0");
    }
}
