//! The service's settings, resolved once from a pluggable variable source
//! (Worker vars and secrets, or the process environment). [`Settings`] adds the Redis
//! connection: what both adapters resolve.

use crate::upstream::UpstreamConfig;

/// Default primary-cache TTL (`SYMBOLS_CACHE_TTL_SECONDS`).
pub const DEFAULT_CACHE_TTL_SECS: u64 = 300;
/// Default largest share of last_good's symbols a new list may lose (`SYMBOLS_MAX_SHRINK_RATIO`).
pub const DEFAULT_MAX_SHRINK: f64 = 0.5;
/// Default spot bases (`SPOT_API_BASES`, comma-separated).
pub const DEFAULT_SPOT_BASES: &str = "https://api.binance.com,https://data-api.binance.vision";
/// Default futures bases (`FUTURES_API_BASES`).
pub const DEFAULT_FUTURES_BASES: &str = "https://fapi.binance.com";
/// Default per-attempt upstream deadline (`UPSTREAM_TIMEOUT_MS`).
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 5_000;
/// Default edge (Cache API) TTL (`EDGE_CACHE_TTL_SECONDS`; 0 disables it).
pub const DEFAULT_EDGE_TTL_SECS: u64 = 30;
/// Default in-isolate copy lifetime (`ISOLATE_CACHE_TTL_SECONDS`; 0 disables it; never
/// longer than the edge TTL).
pub const DEFAULT_ISOLATE_TTL_SECS: u64 = 5;
/// Default window in which an isolate's cache hits are summed into one `INCRBY`
/// (`COUNTER_FLUSH_MS`; 0 = one `INCRBY 1` per hit, as the original system did).
pub const DEFAULT_COUNTER_FLUSH_MS: u64 = 250;
/// Largest `HIT_LOG_SAMPLE` (one hit line in a million); the default is
/// [`crate::log::DEFAULT_HIT_LOG_SAMPLE`].
pub const MAX_HIT_LOG_SAMPLE: u64 = 1_000_000;
/// Default refresh-lock lifetime (`REFRESH_LOCK_MS`): longer than a worst-case refresh.
pub const DEFAULT_LOCK_MS: u64 = 20_000;
/// Default time a request waits for another refresh to finish (`REFRESH_WAIT_MS`).
pub const DEFAULT_WAIT_MS: u64 = 4_000;
/// Default Redis REST per-call deadline (`REDIS_TIMEOUT_MS`).
pub const DEFAULT_REDIS_TIMEOUT_MS: u64 = 2_000;

/// The per-market TTL variables (the original system's names), in [`crate::Market::ALL`] order.
pub const CACHE_TTL_VARS: [&str; 2] = [
    "SPOT_SYMBOLS_CACHE_TTL_SECONDS",
    "FUTURES_SYMBOLS_CACHE_TTL_SECONDS",
];
/// The one TTL variable of earlier versions: used for a market without its own variable.
pub const LEGACY_CACHE_TTL_VAR: &str = "SYMBOLS_CACHE_TTL_SECONDS";
const MAX_CACHE_TTL_SECS: u64 = 30 * 86_400;

/// Default `BYPASS_CACHE_SECONDS`: how long a list fetched while Redis is down serves this
/// isolate before Binance is asked again.
pub const DEFAULT_BYPASS_CACHE_SECS: u64 = 30;
/// Default `UPSTREAM_DEADLINE_MS`: one refresh's budget across all its attempts.
pub const DEFAULT_UPSTREAM_DEADLINE_MS: u64 = 12_000;

/// Default `CHANGES_MAX_EVENTS`: change events kept per market (the stream's `MAXLEN`).
pub const DEFAULT_CHANGES_MAX_EVENTS: u64 = 10_000;
/// Most `CHANGES_MAX_EVENTS` may ask for.
const MAX_CHANGES_MAX_EVENTS: u64 = 1_000_000;

/// A variable was set to something unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {var}: {problem}")]
pub struct ConfigError {
    /// The variable's name.
    pub var: &'static str,
    /// What is wrong. Never the value: a misplaced secret must not reach a response or a log.
    pub problem: String,
}

/// Resolved settings.
#[derive(Clone)]
pub struct Config {
    /// Primary cache TTL per market ([`crate::Market::index`]), seconds: the original's
    /// `:v1` and our document get the same one. See [`Config::cache_ttl_secs`].
    pub cache_ttl: [u64; 2],
    /// Validation threshold (0..=1).
    pub max_shrink: f64,
    /// Spot upstream.
    pub spot: UpstreamConfig,
    /// Futures upstream.
    pub futures: UpstreamConfig,
    /// Edge cache TTL (0 = off).
    pub edge_ttl_secs: u64,
    /// In-isolate copy TTL (0 = off; at most `edge_ttl_secs`).
    pub isolate_ttl_secs: u64,
    /// Hit-counter coalescing window (0 = count each hit on its own).
    pub counter_flush_ms: u64,
    /// Which cache-hit request lines are logged (`HIT_LOG_SAMPLE`; misses and errors always are).
    pub hit_log: crate::log::HitSampling,
    /// Refresh lock lifetime.
    pub lock_ms: u64,
    /// How long a request waits for another's refresh.
    pub wait_ms: u64,
    /// Redis down: a list fetched directly serves this isolate for this long (0: every
    /// request asks Binance; concurrent ones still share one fetch).
    pub bypass_cache_secs: u64,
    /// Redis REST per-call deadline.
    pub redis_timeout_ms: u64,
    /// Bearer token for `POST /api/symbols/{market}/refresh`; the route is off without it.
    pub admin_token: Option<String>,
    /// `Access-Control-Allow-Origin` for the public routes: `*` or a list.
    pub cors_origins: Vec<String>,
    /// Change events kept per market (older ones are trimmed).
    pub changes_max_events: u64,
    /// Where each refresh's change events are POSTed (a secret: it may carry a token).
    pub changes_webhook_url: Option<String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are reported as set/unset only.
        f.debug_struct("Config")
            .field("cache_ttl", &self.cache_ttl)
            // ryu (through serde_json) rather than `{:?}` on the f64: keeps core's float
            // formatting out of the wasm.
            .field(
                "max_shrink",
                &format_args!(
                    "{}",
                    serde_json::Number::from_f64(self.max_shrink)
                        .map_or_else(String::new, |n| n.to_string())
                ),
            )
            .field("spot_bases", &self.spot.bases)
            .field("futures_bases", &self.futures.bases)
            .field("api_key", &self.spot.api_key.as_ref().map(|_| "<set>"))
            .field("edge_ttl_secs", &self.edge_ttl_secs)
            .field("isolate_ttl_secs", &self.isolate_ttl_secs)
            .field("counter_flush_ms", &self.counter_flush_ms)
            .field("hit_log_sample", &self.hit_log.every)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .field("changes_max_events", &self.changes_max_events)
            .field(
                "changes_webhook_url",
                &self.changes_webhook_url.as_ref().map(|_| "<set>"),
            )
            .finish_non_exhaustive()
    }
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl Config {
    /// Resolves every setting from `source` (name -> value). Every problem is reported at
    /// once, each naming its variable.
    ///
    /// # Errors
    /// All invalid variables.
    pub fn resolve(source: impl Fn(&str) -> Option<String>) -> Result<Config, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let get = |name: &str| nonempty(source(name));
        let mut num = |var: &'static str, default: u64, max: u64| -> u64 {
            match get(var) {
                None => default,
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if n <= max => n,
                    _ => {
                        errors.push(ConfigError {
                            var,
                            problem: format!("expected an integer 0..={max}"),
                        });
                        default
                    }
                },
            }
        };
        // The original's per-market names first; the single name of our earlier versions
        // still applies to a market that has none of its own.
        let legacy_ttl = num(
            LEGACY_CACHE_TTL_VAR,
            DEFAULT_CACHE_TTL_SECS,
            MAX_CACHE_TTL_SECS,
        );
        let cache_ttl = CACHE_TTL_VARS.map(|var| {
            if get(var).is_some() {
                num(var, legacy_ttl, MAX_CACHE_TTL_SECS)
            } else {
                legacy_ttl
            }
        });
        let timeout_ms = num("UPSTREAM_TIMEOUT_MS", DEFAULT_UPSTREAM_TIMEOUT_MS, 60_000);
        let edge_ttl_secs = num("EDGE_CACHE_TTL_SECONDS", DEFAULT_EDGE_TTL_SECS, 3_600);
        // The isolate copy sits in front of the edge cache: it may never outlive it.
        let isolate_ttl_secs =
            num("ISOLATE_CACHE_TTL_SECONDS", DEFAULT_ISOLATE_TTL_SECS, 3_600).min(edge_ttl_secs);
        let counter_flush_ms = num("COUNTER_FLUSH_MS", DEFAULT_COUNTER_FLUSH_MS, 10_000);
        let hit_log = crate::log::HitSampling {
            every: num(
                "HIT_LOG_SAMPLE",
                crate::log::DEFAULT_HIT_LOG_SAMPLE,
                MAX_HIT_LOG_SAMPLE,
            ),
        };
        let lock_ms = num("REFRESH_LOCK_MS", DEFAULT_LOCK_MS, 600_000);
        let wait_ms = num("REFRESH_WAIT_MS", DEFAULT_WAIT_MS, 60_000);
        let bypass_cache_secs = num("BYPASS_CACHE_SECONDS", DEFAULT_BYPASS_CACHE_SECS, 3_600);
        // One budget for all of a refresh's attempts, inside the lock's lifetime so no
        // second refresh starts while the first is still fetching.
        let deadline_ms = num(
            "UPSTREAM_DEADLINE_MS",
            DEFAULT_UPSTREAM_DEADLINE_MS,
            120_000,
        )
        .min(lock_ms.saturating_sub(1_000).max(1_000));
        let redis_timeout_ms = num("REDIS_TIMEOUT_MS", DEFAULT_REDIS_TIMEOUT_MS, 60_000);
        let changes_max_events = num(
            "CHANGES_MAX_EVENTS",
            DEFAULT_CHANGES_MAX_EVENTS,
            MAX_CHANGES_MAX_EVENTS,
        )
        .max(1);
        let max_shrink = match get("SYMBOLS_MAX_SHRINK_RATIO") {
            None => DEFAULT_MAX_SHRINK,
            Some(v) => match serde_json::from_str::<f64>(&v) {
                Ok(x) if (0.0..=1.0).contains(&x) => x,
                _ => {
                    errors.push(ConfigError {
                        var: "SYMBOLS_MAX_SHRINK_RATIO",
                        problem: "expected a number in 0..=1".into(),
                    });
                    DEFAULT_MAX_SHRINK
                }
            },
        };
        let mut bases = |var: &'static str, default: &str| -> Vec<String> {
            let raw = get(var).unwrap_or_else(|| default.to_string());
            let list: Vec<String> = raw
                .split(',')
                .map(|s| s.trim().trim_end_matches('/').to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if list.is_empty()
                || list
                    .iter()
                    .any(|b| !(b.starts_with("http://") || b.starts_with("https://")))
            {
                errors.push(ConfigError {
                    var,
                    problem: "expected comma-separated http(s) base URLs".into(),
                });
                return default.split(',').map(str::to_string).collect();
            }
            list
        };
        let spot_bases = bases("SPOT_API_BASES", DEFAULT_SPOT_BASES);
        let futures_bases = bases("FUTURES_API_BASES", DEFAULT_FUTURES_BASES);
        let api_key = get("BINANCE_API_KEY");
        let admin_token = get("ADMIN_TOKEN");
        let changes_webhook_url = get("CHANGES_WEBHOOK_URL");
        if changes_webhook_url.as_deref().is_some_and(|u| {
            !(u.starts_with("http://") || u.starts_with("https://"))
                || u.chars().any(char::is_whitespace)
        }) {
            errors.push(ConfigError {
                var: "CHANGES_WEBHOOK_URL",
                problem: "expected one http(s) URL".into(),
            });
        }
        let cors_origins = get("CORS_ALLOW_ORIGINS")
            .unwrap_or_else(|| "*".into())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Config {
            cache_ttl,
            max_shrink,
            spot: UpstreamConfig {
                bases: spot_bases,
                api_key: api_key.clone(),
                timeout_ms,
                deadline_ms,
            },
            futures: UpstreamConfig {
                bases: futures_bases,
                api_key,
                timeout_ms,
                deadline_ms,
            },
            edge_ttl_secs,
            isolate_ttl_secs,
            counter_flush_ms,
            hit_log,
            lock_ms,
            wait_ms,
            bypass_cache_secs,
            redis_timeout_ms,
            admin_token,
            cors_origins,
            changes_max_events,
            changes_webhook_url,
        })
    }

    /// The primary cache TTL of a market, seconds (at least 1: `EX 0` is an error).
    pub fn cache_ttl_secs(&self, m: crate::market::Market) -> u64 {
        self.cache_ttl[m.index()].max(1)
    }

    /// The upstream settings of a market.
    pub fn upstream(&self, m: crate::market::Market) -> &UpstreamConfig {
        match m {
            crate::market::Market::Spot => &self.spot,
            crate::market::Market::Futures => &self.futures,
        }
    }
}

/// Everything an adapter needs from its variables: the service's settings and the Redis
/// connection, resolved together so that one error message names every bad variable.
#[derive(Clone)]
pub struct Settings {
    /// The service's settings.
    pub config: Config,
    /// Where Redis is (the token only ever shown as set).
    pub conn: upstash_rest::Connection,
}

/// Every unusable variable: the settings' first, then the connection's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError {
    /// The service's settings that are invalid.
    pub config: Vec<ConfigError>,
    /// The connection's problem, if any.
    pub conn: Option<upstash_rest::ConfigError>,
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let conn = self.conn.as_ref().map(ToString::to_string);
        let all: Vec<String> = self
            .config
            .iter()
            .map(ToString::to_string)
            .chain(conn)
            .collect();
        f.write_str(&all.join("; "))
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    /// [`Config::resolve`] and [`upstash_rest::resolve`] over the same `source`.
    ///
    /// # Errors
    /// [`SettingsError`] with every problem of both.
    pub fn resolve(source: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        match (Config::resolve(&source), upstash_rest::resolve(&source)) {
            (Ok(config), Ok(conn)) => Ok(Settings { config, conn }),
            (config, conn) => Err(SettingsError {
                config: config.err().unwrap_or_default(),
                conn: conn.err(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, Vec<ConfigError>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::resolve(move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = from(&[]).unwrap();
        assert_eq!(c.cache_ttl, [300, 300], "the original's default");
        assert_eq!(
            c.spot.bases,
            vec!["https://api.binance.com", "https://data-api.binance.vision"]
        );
        assert_eq!(c.futures.bases, vec!["https://fapi.binance.com"]);
        assert_eq!(c.cors_origins, vec!["*"]);
        assert!(c.admin_token.is_none());
        assert_eq!(
            (c.edge_ttl_secs, c.isolate_ttl_secs, c.counter_flush_ms),
            (30, 5, 250)
        );
        assert_eq!(
            c.hit_log.every, 1,
            "every hit logged unless HIT_LOG_SAMPLE says otherwise"
        );
    }

    #[test]
    fn hit_log_sample_is_a_bounded_integer() {
        assert_eq!(from(&[("HIT_LOG_SAMPLE", "10")]).unwrap().hit_log.every, 10);
        assert_eq!(from(&[("HIT_LOG_SAMPLE", "0")]).unwrap().hit_log.every, 0);
        for bad in ["-1", "0.5", "every", "1000001"] {
            let errs = from(&[("HIT_LOG_SAMPLE", bad)]).unwrap_err();
            assert_eq!(errs[0].var, "HIT_LOG_SAMPLE", "{bad}");
        }
    }

    #[test]
    fn the_isolate_copy_never_outlives_the_edge_copy() {
        let c = from(&[
            ("EDGE_CACHE_TTL_SECONDS", "0"),
            ("ISOLATE_CACHE_TTL_SECONDS", "20"),
        ])
        .unwrap();
        assert_eq!(c.isolate_ttl_secs, 0);
        let c = from(&[
            ("EDGE_CACHE_TTL_SECONDS", "10"),
            ("ISOLATE_CACHE_TTL_SECONDS", "20"),
        ])
        .unwrap();
        assert_eq!(c.isolate_ttl_secs, 10);
        let errs = from(&[("COUNTER_FLUSH_MS", "-1")]).unwrap_err();
        assert_eq!(errs[0].var, "COUNTER_FLUSH_MS");
    }

    #[test]
    fn every_error_is_named_at_once_and_secrets_never_printed() {
        let errs = from(&[
            ("SYMBOLS_CACHE_TTL_SECONDS", "ten"),
            ("SYMBOLS_MAX_SHRINK_RATIO", "2"),
            ("SPOT_API_BASES", "ftp://x"),
            ("ADMIN_TOKEN", "s3cret-admin"),
        ])
        .unwrap_err();
        let vars: Vec<_> = errs.iter().map(|e| e.var).collect();
        assert_eq!(
            vars,
            vec![
                "SYMBOLS_CACHE_TTL_SECONDS",
                "SYMBOLS_MAX_SHRINK_RATIO",
                "SPOT_API_BASES"
            ]
        );
        let ok = from(&[
            ("ADMIN_TOKEN", " s3cret-admin\n"),
            ("BINANCE_API_KEY", "k3y"),
            ("CHANGES_WEBHOOK_URL", "https://hooks.example/s3cret-hook"),
        ])
        .unwrap();
        assert_eq!(
            ok.changes_webhook_url.as_deref(),
            Some("https://hooks.example/s3cret-hook")
        );
        assert_eq!(ok.admin_token.as_deref(), Some("s3cret-admin"));
        let dbg = format!("{ok:?}");
        assert!(!dbg.contains("s3cret") && !dbg.contains("k3y"), "{dbg}");
    }

    #[test]
    fn errors_name_the_variable_and_never_echo_its_value() {
        let errs = from(&[
            ("REFRESH_WAIT_MS", "tok-123456"),
            ("SYMBOLS_MAX_SHRINK_RATIO", "tok-654321"),
        ])
        .unwrap_err();
        for e in &errs {
            let text = e.to_string();
            assert!(text.contains(e.var), "{text}");
            assert!(!text.contains("tok-"), "the value leaked: {text}");
        }
        assert_eq!(errs.len(), 2);
    }

    #[test]
    fn ttl_per_market_with_the_earlier_single_name_as_fallback() {
        let c = from(&[
            ("SPOT_SYMBOLS_CACHE_TTL_SECONDS", "120"),
            ("SYMBOLS_CACHE_TTL_SECONDS", "900"),
        ])
        .unwrap();
        assert_eq!(c.cache_ttl, [120, 900]);
        let c = from(&[("FUTURES_SYMBOLS_CACHE_TTL_SECONDS", "60")]).unwrap();
        assert_eq!(c.cache_ttl, [300, 60]);
        let errs = from(&[("FUTURES_SYMBOLS_CACHE_TTL_SECONDS", "soon")]).unwrap_err();
        assert_eq!(errs[0].var, "FUTURES_SYMBOLS_CACHE_TTL_SECONDS");
        assert_eq!(
            from(&[("SPOT_SYMBOLS_CACHE_TTL_SECONDS", "0")])
                .unwrap()
                .cache_ttl_secs(crate::Market::Spot),
            1
        );
    }

    #[test]
    fn the_refresh_deadline_stays_inside_the_lock() {
        let c = from(&[]).unwrap();
        assert_eq!((c.spot.deadline_ms, c.bypass_cache_secs), (12_000, 30));
        let c = from(&[
            ("REFRESH_LOCK_MS", "8000"),
            ("UPSTREAM_DEADLINE_MS", "30000"),
        ])
        .unwrap();
        assert_eq!(c.futures.deadline_ms, 7_000);
    }

    #[test]
    fn settings_name_the_config_and_the_connection_errors_at_once() {
        let vars: HashMap<&str, &str> = [
            ("SYMBOLS_CACHE_TTL_SECONDS", "ten"),
            ("REDIS_REST_URL", "AXsecretTOKEN"),
        ]
        .into_iter()
        .collect();
        let err = Settings::resolve(|k| vars.get(k).map(|v| v.to_string()))
            .err()
            .expect("invalid");
        let text = err.to_string();
        assert_eq!(err.config.len(), 1);
        assert!(err.conn.is_some());
        assert!(
            text.starts_with("invalid SYMBOLS_CACHE_TTL_SECONDS")
                && text.contains("; REDIS_REST_URL")
                && !text.contains("AXsecret"),
            "{text}"
        );
        let ok = Settings::resolve(|_| None).expect("defaults");
        assert_eq!(ok.conn.url, upstash_rest::DEFAULT_URL);
    }

    #[test]
    fn changes_settings() {
        let c = from(&[]).unwrap();
        assert_eq!(
            (c.changes_max_events, c.changes_webhook_url),
            (10_000, None)
        );
        let errs = from(&[
            ("CHANGES_WEBHOOK_URL", "ftp://tok-secret"),
            ("CHANGES_MAX_EVENTS", "many"),
        ])
        .unwrap_err();
        let vars: Vec<_> = errs.iter().map(|e| e.var).collect();
        assert_eq!(vars, ["CHANGES_MAX_EVENTS", "CHANGES_WEBHOOK_URL"]);
        assert!(errs.iter().all(|e| !e.to_string().contains("tok-secret")));
    }

    #[test]
    fn bases_are_trimmed() {
        let c = from(&[("SPOT_API_BASES", " http://127.0.0.1:1/ , http://b ")]).unwrap();
        assert_eq!(c.spot.bases, vec!["http://127.0.0.1:1", "http://b"]);
    }
}
