//! Connection resolution: which REST URL and token to use, from an ordered list of variables.
//!
//! The same [`resolve`] runs on both targets over a pluggable variable source: the Worker passes
//! its `env` bindings, native code uses [`Connection::from_process_env`] (process environment).
//!
//! Order (first non-empty value wins; values are trimmed, whitespace-only counts as unset):
//! - URL: [`URL_VARS`] = `REDIS_REST_URL`, `UPSTASH_REDIS_REST_URL`, `KV_REST_API_URL`, else
//!   [`DEFAULT_URL`].
//! - Token: [`TOKEN_VARS`] = `REDIS_REST_TOKEN`, `UPSTASH_REDIS_REST_TOKEN`, `KV_REST_API_TOKEN`,
//!   else none.
//!
//! A malformed value is an error naming the variable (it does not fall through to the next one:
//! a typo in the preferred variable must not silently select another database).

use std::fmt;

use crate::error::ConfigError;

/// URL used when no URL variable is set: the local gateway of the dev stack.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8079";

/// URL variables, in order of preference.
pub const URL_VARS: [&str; 3] = [
    "REDIS_REST_URL",
    "UPSTASH_REDIS_REST_URL",
    "KV_REST_API_URL",
];

/// Token variables, in order of preference.
pub const TOKEN_VARS: [&str; 3] = [
    "REDIS_REST_TOKEN",
    "UPSTASH_REDIS_REST_TOKEN",
    "KV_REST_API_TOKEN",
];

/// Where to send commands and with which token.
///
/// `url` is normalised (no trailing slash) and validated: absolute `http`/`https`, with a host,
/// without credentials, query string or fragment, so it is safe to log. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Connection {
    /// The REST endpoint, e.g. `https://eu1-xxx.upstash.io` (no trailing slash).
    pub url: String,
    /// The variable the URL came from; `None` when [`DEFAULT_URL`] (or a direct value) was used.
    pub url_var: Option<&'static str>,
    /// The bearer token, if any.
    pub token: Option<String>,
    /// The variable the token came from; `None` when there is no token or it was given directly.
    pub token_var: Option<&'static str>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.url)
            .field("url_var", &self.url_var)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_var", &self.token_var)
            .finish()
    }
}

impl Connection {
    /// A connection from explicit values (validated like resolved ones; errors name `"url"` /
    /// `"token"`). Empty or whitespace-only tokens count as none.
    ///
    /// # Errors
    /// [`ConfigError`] when the URL or token is unusable.
    pub fn new(url: &str, token: Option<&str>) -> Result<Connection, ConfigError> {
        let url = normalize_url("url", url)?;
        let token = match token.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => Some(check_token("token", t)?),
            None => None,
        };
        Ok(Connection {
            url,
            url_var: None,
            token,
            token_var: None,
        })
    }

    /// A log-safe one-liner naming the URL and which variables won, never the token, e.g.
    /// `upstash url=https://x.upstash.io (from UPSTASH_REDIS_REST_URL) token=set (from KV_REST_API_TOKEN)`.
    pub fn describe(&self) -> String {
        let url_from = match self.url_var {
            Some(var) => format!("from {var}"),
            None if self.url == DEFAULT_URL => "default".to_string(),
            None => "given".to_string(),
        };
        let token = match (&self.token, self.token_var) {
            (None, _) => "token=none".to_string(),
            (Some(_), Some(var)) => format!("token=set (from {var})"),
            (Some(_), None) => "token=set (given)".to_string(),
        };
        format!("upstash url={} ({url_from}) {token}", self.url)
    }
}

/// Resolves the connection from `source` (a variable name -> value lookup), in the documented
/// order. Empty or whitespace-only values count as unset; values are trimmed.
///
/// # Errors
/// [`ConfigError`] naming the winning variable when its value is malformed (never the value).
pub fn resolve(source: impl Fn(&str) -> Option<String>) -> Result<Connection, ConfigError> {
    let (url, url_var) = match first_set(&source, &URL_VARS) {
        Some((var, value)) => (normalize_url(var, &value)?, Some(var)),
        None => (DEFAULT_URL.to_string(), None),
    };
    let (token, token_var) = match first_set(&source, &TOKEN_VARS) {
        Some((var, value)) => (Some(check_token(var, &value)?), Some(var)),
        None => (None, None),
    };
    Ok(Connection {
        url,
        url_var,
        token,
        token_var,
    })
}

/// The first variable of `vars` whose trimmed value is non-empty, with that trimmed value.
fn first_set(
    source: &impl Fn(&str) -> Option<String>,
    vars: &[&'static str],
) -> Option<(&'static str, String)> {
    vars.iter().find_map(|&var| {
        let value = source(var)?;
        let trimmed = value.trim();
        (!trimmed.is_empty()).then(|| (var, trimmed.to_string()))
    })
}

/// Validates a REST URL and returns it without trailing slashes.
fn normalize_url(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidUrl {
        var,
        reason: reason.to_string(),
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(invalid("it is empty"));
    }
    // The parser's error text never contains the input, so it is safe to pass on.
    let parsed = url::Url::parse(raw).map_err(|e| invalid(&format!("cannot parse it ({e})")))?;
    match parsed.scheme() {
        "http" | "https" => {}
        _ => return Err(invalid("the scheme must be http or https")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "it must not contain credentials (put the token in the token variable)",
        ));
    }
    if parsed.query().is_some() {
        return Err(invalid(
            "it must not contain a query string (put the token in the token variable)",
        ));
    }
    if parsed.fragment().is_some() {
        return Err(invalid("it must not contain a fragment"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// A token must fit in an `Authorization: Bearer` header: visible ASCII only.
fn check_token(var: &'static str, token: &str) -> Result<String, ConfigError> {
    if token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(token.to_string())
    } else {
        Err(ConfigError::InvalidToken {
            var,
            reason: "it contains whitespace, control or non-ASCII characters".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "AXsecretTOKENvalue123=";

    fn source(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn nothing_set_gives_default_url_and_no_token() {
        let c = resolve(source(&[])).expect("resolves");
        assert_eq!(c.url, DEFAULT_URL);
        assert_eq!(c.url_var, None);
        assert_eq!(c.token, None);
        assert_eq!(c.token_var, None);
        assert_eq!(
            c.describe(),
            "upstash url=http://127.0.0.1:8079 (default) token=none"
        );
    }

    #[test]
    fn each_url_var_alone_wins() {
        for (i, var) in URL_VARS.iter().enumerate() {
            let url = format!("https://db{i}.example.test");
            let c = resolve(source(&[(var, &url)])).expect("resolves");
            assert_eq!(c.url, url);
            assert_eq!(c.url_var, Some(*var));
        }
    }

    #[test]
    fn each_token_var_alone_wins() {
        for (i, var) in TOKEN_VARS.iter().enumerate() {
            let token = format!("tok{i}");
            let c = resolve(source(&[(var, &token)])).expect("resolves");
            assert_eq!(c.token.as_deref(), Some(token.as_str()));
            assert_eq!(c.token_var, Some(*var));
            assert_eq!(c.url, DEFAULT_URL);
        }
    }

    #[test]
    fn url_order_is_redis_then_upstash_then_kv() {
        let all = [
            ("REDIS_REST_URL", "http://a.test"),
            ("UPSTASH_REDIS_REST_URL", "http://b.test"),
            ("KV_REST_API_URL", "http://c.test"),
        ];
        let c = resolve(source(&all)).expect("resolves");
        assert_eq!(
            (c.url.as_str(), c.url_var),
            ("http://a.test", Some("REDIS_REST_URL"))
        );
        let c = resolve(source(&all[1..])).expect("resolves");
        assert_eq!(
            (c.url.as_str(), c.url_var),
            ("http://b.test", Some("UPSTASH_REDIS_REST_URL"))
        );
        let c = resolve(source(&all[2..])).expect("resolves");
        assert_eq!(
            (c.url.as_str(), c.url_var),
            ("http://c.test", Some("KV_REST_API_URL"))
        );
        // First and last only: the first still wins.
        let c = resolve(source(&[all[0], all[2]])).expect("resolves");
        assert_eq!(c.url_var, Some("REDIS_REST_URL"));
        // Second and third only.
        let c = resolve(source(&[all[2], all[1]])).expect("resolves");
        assert_eq!(c.url_var, Some("UPSTASH_REDIS_REST_URL"));
    }

    #[test]
    fn token_order_is_redis_then_upstash_then_kv() {
        let all = [
            ("REDIS_REST_TOKEN", "t1"),
            ("UPSTASH_REDIS_REST_TOKEN", "t2"),
            ("KV_REST_API_TOKEN", "t3"),
        ];
        let c = resolve(source(&all)).expect("resolves");
        assert_eq!(
            (c.token.as_deref(), c.token_var),
            (Some("t1"), Some("REDIS_REST_TOKEN"))
        );
        let c = resolve(source(&all[1..])).expect("resolves");
        assert_eq!(
            (c.token.as_deref(), c.token_var),
            (Some("t2"), Some("UPSTASH_REDIS_REST_TOKEN"))
        );
        let c = resolve(source(&all[2..])).expect("resolves");
        assert_eq!(
            (c.token.as_deref(), c.token_var),
            (Some("t3"), Some("KV_REST_API_TOKEN"))
        );
        let c = resolve(source(&[all[0], all[2]])).expect("resolves");
        assert_eq!(c.token_var, Some("REDIS_REST_TOKEN"));
    }

    #[test]
    fn url_and_token_may_come_from_different_families() {
        let c = resolve(source(&[
            ("KV_REST_API_URL", "https://kv.example.test"),
            ("REDIS_REST_TOKEN", "tok"),
        ]))
        .expect("resolves");
        assert_eq!(c.url_var, Some("KV_REST_API_URL"));
        assert_eq!(c.token_var, Some("REDIS_REST_TOKEN"));
        assert_eq!(
            c.describe(),
            "upstash url=https://kv.example.test (from KV_REST_API_URL) token=set (from REDIS_REST_TOKEN)"
        );
    }

    #[test]
    fn empty_and_whitespace_values_count_as_unset() {
        let c = resolve(source(&[
            ("REDIS_REST_URL", ""),
            ("UPSTASH_REDIS_REST_URL", "  \n\t "),
            ("KV_REST_API_URL", "http://kv.test"),
            ("REDIS_REST_TOKEN", "   "),
            ("UPSTASH_REDIS_REST_TOKEN", ""),
            ("KV_REST_API_TOKEN", "\n"),
        ]))
        .expect("resolves");
        assert_eq!(c.url_var, Some("KV_REST_API_URL"));
        assert_eq!(c.token, None);
        assert_eq!(c.token_var, None);
        // All URL vars blank: default.
        let c = resolve(source(&[
            ("REDIS_REST_URL", " "),
            ("KV_REST_API_URL", "\r\n"),
        ]))
        .expect("resolves");
        assert_eq!(c.url, DEFAULT_URL);
        assert_eq!(c.url_var, None);
    }

    #[test]
    fn surrounding_whitespace_and_newlines_are_trimmed() {
        let c = resolve(source(&[
            ("UPSTASH_REDIS_REST_URL", "  https://eu1-x.upstash.io/ \n"),
            ("UPSTASH_REDIS_REST_TOKEN", "\t tok-123=\r\n"),
        ]))
        .expect("resolves");
        assert_eq!(c.url, "https://eu1-x.upstash.io");
        assert_eq!(c.token.as_deref(), Some("tok-123="));
    }

    #[test]
    fn trailing_slashes_are_dropped_but_paths_kept() {
        let c = resolve(source(&[(
            "REDIS_REST_URL",
            "http://127.0.0.1:9000/prefix//",
        )]))
        .expect("resolves");
        assert_eq!(c.url, "http://127.0.0.1:9000/prefix");
    }

    #[test]
    fn malformed_urls_name_the_variable_and_never_echo_values() {
        let bad = [
            "not a url",
            "ftp://example.test",
            "redis://127.0.0.1:6379",
            "127.0.0.1:8079",
            "https://user:pw@example.test",
            "https://example.test/?_token=AXsecretTOKENvalue123=",
            "https://example.test/#frag",
            "http://",
        ];
        for value in bad {
            let err = resolve(source(&[
                ("UPSTASH_REDIS_REST_URL", value),
                ("UPSTASH_REDIS_REST_TOKEN", SECRET),
            ]))
            .expect_err(value);
            let text = err.to_string();
            assert!(
                matches!(
                    err,
                    ConfigError::InvalidUrl {
                        var: "UPSTASH_REDIS_REST_URL",
                        ..
                    }
                ),
                "{value}: {err:?}"
            );
            assert!(text.contains("UPSTASH_REDIS_REST_URL"), "{text}");
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("AXsecret"), "{text}");
            assert!(!format!("{err:?}").contains(SECRET));
        }
    }

    #[test]
    fn the_token_pasted_into_the_url_variable_is_not_echoed() {
        let err = resolve(source(&[("REDIS_REST_URL", SECRET)])).expect_err("not a URL");
        assert!(err.to_string().contains("REDIS_REST_URL"));
        assert!(!err.to_string().contains(SECRET));
        assert!(!format!("{err:?}").contains(SECRET));
    }

    #[test]
    fn malformed_preferred_url_does_not_fall_through() {
        let err = resolve(source(&[
            ("REDIS_REST_URL", "nope"),
            ("KV_REST_API_URL", "http://ok.test"),
        ]))
        .expect_err("must not silently use KV_REST_API_URL");
        assert!(err.to_string().contains("REDIS_REST_URL"));
    }

    #[test]
    fn tokens_with_inner_whitespace_or_control_chars_are_rejected_without_echo() {
        let err = resolve(source(&[("KV_REST_API_TOKEN", "AXsecret TOKEN")])).expect_err("space");
        assert!(matches!(
            err,
            ConfigError::InvalidToken {
                var: "KV_REST_API_TOKEN",
                ..
            }
        ));
        assert!(!err.to_string().contains("AXsecret"));
        let err = resolve(source(&[("REDIS_REST_TOKEN", "abc\u{7f}def")])).expect_err("DEL");
        assert!(err.to_string().contains("REDIS_REST_TOKEN"));
        let err = resolve(source(&[("REDIS_REST_TOKEN", "tökén")])).expect_err("non-ASCII");
        assert!(!err.to_string().contains("tökén"));
    }

    #[test]
    fn debug_and_describe_redact_the_token() {
        let c = resolve(source(&[("REDIS_REST_TOKEN", SECRET)])).expect("resolves");
        let debug = format!("{c:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(!c.describe().contains(SECRET));
        assert!(c.describe().contains("REDIS_REST_TOKEN"));
    }

    #[test]
    fn direct_connection_validates_too() {
        let c = Connection::new(" http://127.0.0.1:8079/ ", Some("  ")).expect("valid");
        assert_eq!(c.url, "http://127.0.0.1:8079");
        assert_eq!(c.token, None);
        assert_eq!(
            c.describe(),
            "upstash url=http://127.0.0.1:8079 (default) token=none"
        );
        let c = Connection::new("https://x.test", Some(SECRET)).expect("valid");
        assert_eq!(
            c.describe(),
            "upstash url=https://x.test (given) token=set (given)"
        );
        let err = Connection::new("mailto:x@y", None).expect_err("bad scheme");
        assert!(matches!(err, ConfigError::InvalidUrl { var: "url", .. }));
    }
}
