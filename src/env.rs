//! Reads settings from the Worker's `Env`: secrets first, then vars, as one lookup
//! function handed to the platform-free resolvers. Also decides where Redis is when no
//! REST URL is configured: the local default (`make dev`'s gateway) applies only to a
//! request that came to a loopback host, i.e. under `wrangler dev`.

use std::cell::Cell;
use std::fmt;

use upstash_rest::{DEFAULT_URL, TOKEN_VARS, URL_VARS};
use worker::Env;

/// Looks `name` up as a secret, then as a plain var.
pub fn lookup(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
}

/// Whether any variable of `vars` has a non-blank value.
fn any_set(source: &impl Fn(&str) -> Option<String>, vars: &[&str]) -> bool {
    vars.iter()
        .any(|v| source(v).is_some_and(|s| !s.trim().is_empty()))
}

/// Where the Redis REST endpoint comes from for one request (or the cron).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisSetup {
    /// `REDIS_REST_URL` (or one of its aliases) is set.
    Configured,
    /// Nothing is set and the request came to a loopback host (`wrangler dev`): the
    /// local gateway at [`DEFAULT_URL`] is used, and the notice says what is missing.
    LocalDefault(LocalNotice),
    /// Nothing is set and this is not `wrangler dev`: a configuration error.
    Missing(MissingRestUrl),
}

/// Decides from the variables and the request's host (`None` for the cron, which has no
/// request: it never applies the local default, so a deployed cron cannot quietly talk
/// to a localhost that does not exist).
pub fn redis_setup(source: impl Fn(&str) -> Option<String>, host: Option<&str>) -> RedisSetup {
    if any_set(&source, &URL_VARS) {
        return RedisSetup::Configured;
    }
    if host.is_some_and(is_loopback_host) {
        RedisSetup::LocalDefault(LocalNotice {
            token_missing: !any_set(&source, &TOKEN_VARS),
        })
    } else {
        RedisSetup::Missing(MissingRestUrl)
    }
}

/// [`redis_setup`] over the Worker's vars and secrets, which do not change within an
/// isolate: they are read on the first call only, so the hot path pays a host check.
pub fn redis_setup_cached(env: &Env, host: Option<&str>) -> RedisSetup {
    thread_local! {
        // (a URL variable is set, a token variable is set)
        static SET: Cell<Option<(bool, bool)>> = const { Cell::new(None) };
    }
    let (url, token) = SET.with(|s| {
        s.get().unwrap_or_else(|| {
            let source = |name: &str| lookup(env, name);
            let found = (any_set(&source, &URL_VARS), any_set(&source, &TOKEN_VARS));
            s.set(Some(found));
            found
        })
    });
    let flags = move |name: &str| {
        let set = (URL_VARS.contains(&name) && url) || (TOKEN_VARS.contains(&name) && token);
        set.then(|| "set".to_string())
    };
    redis_setup(flags, host)
}

/// `localhost`, `*.localhost`, `127.0.0.0/8` and `[::1]`: the hosts `wrangler dev` serves
/// on. A deployed Worker is only ever reached under its route or `*.workers.dev` name.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" || host.ends_with(".localhost") || host == "::1" {
        return true;
    }
    // 127.0.0.0/8, by hand: std's address parser is not otherwise in the wasm.
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets[0] == "127"
        && octets.iter().all(|o| {
            !o.is_empty()
                && o.len() <= 3
                && o.bytes().all(|b| b.is_ascii_digit())
                && o.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// No REST URL is configured on a deployed Worker (500 until fixed; the cron logs it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingRestUrl;

impl fmt::Display for MissingRestUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "REDIS_REST_URL is not set (nor UPSTASH_REDIS_REST_URL or KV_REST_API_URL): add it under \
             [vars] in wrangler.toml (and the token with `npx wrangler secret put REDIS_REST_TOKEN`); \
             the local default {DEFAULT_URL} applies only under `wrangler dev`"
        )
    }
}

impl std::error::Error for MissingRestUrl {}

/// What `wrangler dev` with nothing configured tells the developer (once in the log, and
/// in every `/healthz`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalNotice {
    /// No token variable is set either.
    pub token_missing: bool,
}

impl LocalNotice {
    /// The variables that are not set.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = vec!["REDIS_REST_URL"];
        if self.token_missing {
            m.push("REDIS_REST_TOKEN");
        }
        m
    }
}

impl fmt::Display for LocalNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no Redis configured ({} not set): using the local gateway at {DEFAULT_URL}. Start it with \
             `make dev` (redis-server + gateway + this Worker), or set REDIS_REST_URL and REDIS_REST_TOKEN \
             in .dev.vars (see .dev.vars.example). Until Redis answers, lists are served straight from \
             Binance (X-Cache: BYPASS)",
            self.missing().join(" and ")
        )
    }
}

thread_local! {
    // The isolate's notice (set when the local default is applied), and whether it has
    // been logged yet: the log says it once per isolate, /healthz every time.
    static NOTICE: Cell<Option<LocalNotice>> = const { Cell::new(None) };
    static SAID: Cell<bool> = const { Cell::new(false) };
}

/// Records that this isolate runs on the local default; true the first time (log it then).
pub fn note_local_default(notice: LocalNotice) -> bool {
    NOTICE.with(|n| n.set(Some(notice)));
    !SAID.with(|s| s.replace(true))
}

/// The notice, when this isolate runs on the local default.
pub fn local_notice() -> Option<LocalNotice> {
    NOTICE.with(Cell::get)
}

/// Whether a configuration error has been logged in this isolate yet (true the first time).
pub fn first_config_error() -> bool {
    thread_local! { static LOGGED: Cell<bool> = const { Cell::new(false) }; }
    !LOGGED.with(|l| l.replace(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn loopback_hosts_are_the_ones_wrangler_dev_serves_on() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "[::1]",
            "::1",
            "foo.localhost",
            "localhost.",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "symbols-edge.me.workers.dev",
            "example.com",
            "10.0.0.1",
            "0.0.0.0",
            "localhost.example.com",
            "128.0.0.1",
            "127.0.0.256",
            "127.0.0",
            "127.0.0.1.5",
            "127..0.1",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn the_local_default_applies_only_to_loopback_requests() {
        let none = vars(&[]);
        assert_eq!(
            redis_setup(&none, Some("127.0.0.1")),
            RedisSetup::LocalDefault(LocalNotice {
                token_missing: true
            })
        );
        assert_eq!(
            redis_setup(&none, Some("symbols.example.com")),
            RedisSetup::Missing(MissingRestUrl)
        );
        // The cron has no host: never the local default.
        assert_eq!(
            redis_setup(&none, None),
            RedisSetup::Missing(MissingRestUrl)
        );
        let blank = vars(&[("REDIS_REST_URL", "  "), ("KV_REST_API_TOKEN", "t")]);
        assert_eq!(
            redis_setup(&blank, Some("localhost")),
            RedisSetup::LocalDefault(LocalNotice {
                token_missing: false
            })
        );
        let alias = vars(&[("KV_REST_API_URL", "https://x.upstash.io")]);
        assert_eq!(redis_setup(&alias, None), RedisSetup::Configured);
    }

    #[test]
    fn messages_name_the_variables_and_how_to_start_redis() {
        let missing = MissingRestUrl.to_string();
        assert!(
            missing.contains("REDIS_REST_URL") && missing.contains("wrangler secret put"),
            "{missing}"
        );
        let notice = LocalNotice {
            token_missing: true,
        }
        .to_string();
        for want in [
            "REDIS_REST_URL and REDIS_REST_TOKEN not set",
            "make dev",
            ".dev.vars",
            "BYPASS",
            DEFAULT_URL,
        ] {
            assert!(notice.contains(want), "{want}: {notice}");
        }
        assert_eq!(
            LocalNotice {
                token_missing: false
            }
            .missing(),
            vec!["REDIS_REST_URL"]
        );
    }
}
