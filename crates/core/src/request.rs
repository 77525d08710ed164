//! Request routing and query parsing, platform-free so it is unit-tested and fuzzed
//! natively: path + method -> [`Route`], or a typed [`RouteError`].

use crate::filter::Filter;
use crate::market::Market;

/// Longest accepted path, bytes (longer -> 414).
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest accepted query string, bytes (longer -> 414).
pub const MAX_QUERY_BYTES: usize = 2048;

/// Events per page of the changes feed when `limit` is not given.
pub const DEFAULT_CHANGES_LIMIT: usize = 100;
/// Most events one page of the changes feed may ask for.
pub const MAX_CHANGES_LIMIT: usize = 1_000;

/// Methods allowed on the public read routes.
pub const READ_METHODS: &str = "GET, HEAD, OPTIONS";

/// A recognised route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: the status page.
    StatusPage,
    /// `GET /healthz`.
    Health,
    /// `GET /metrics`: Prometheus text.
    Prometheus,
    /// `GET /api/symbols/metrics`: JSON.
    SymbolsMetrics,
    /// `GET /openapi.json`.
    OpenApi,
    /// `GET /api/symbols/{market}`.
    List {
        /// Market.
        market: Market,
        /// Filters.
        filter: Filter,
    },
    /// `GET /api/symbols/{market}?fields=a,b|all`: the list of full records, or of the
    /// chosen fields of them ([`crate::rules`]).
    Selected {
        /// Market.
        market: Market,
        /// Filters.
        filter: Filter,
        /// The fields, in the order asked (`symbol` first, always); `None`: every field.
        fields: Option<Vec<String>>,
    },
    /// `GET /api/symbols/{market}?format=ccxt`: ccxt's unified markets.
    Ccxt {
        /// Market.
        market: Market,
    },
    /// `GET /api/symbols/{market}/{symbol}?format=ccxt`: one ccxt market.
    CcxtOne {
        /// Market.
        market: Market,
        /// Percent-decoded Binance id (`BTCUSDT`).
        symbol: String,
    },
    /// `GET /api/symbols/{market}/{symbol}`.
    One {
        /// Market.
        market: Market,
        /// Percent-decoded symbol.
        symbol: String,
    },
    /// `POST /api/symbols/{market}/refresh` (admin).
    Refresh {
        /// Market.
        market: Market,
    },
    /// `GET /api/symbols/{market}/changes?since=..&cursor=..&limit=N`.
    Changes {
        /// Market.
        market: Market,
        /// Where the page starts.
        since: crate::feed::Since,
        /// Events at most.
        limit: usize,
    },
}

/// Why a request has no route.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// 404.
    #[error("no route for {0}")]
    NotFound(String),
    /// 404 for an unknown market, named.
    #[error("unknown market {0:?} (expected \"spot\" or \"futures\")")]
    UnknownMarket(String),
    /// 405 with `Allow`.
    #[error("method {method} not allowed (allowed: {allow})")]
    MethodNotAllowed {
        /// The method received.
        method: String,
        /// The `Allow` header value.
        allow: &'static str,
    },
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 414.
    #[error(
        "request URI too long (path max {MAX_PATH_BYTES} bytes, query max {MAX_QUERY_BYTES} bytes)"
    )]
    UriTooLong,
}

/// Percent-decodes `s` strictly: `%` must be followed by two hex digits and the result must be UTF-8.
///
/// # Errors
/// [`RouteError::BadRequest`] naming the problem.
pub fn percent_decode(s: &str) -> Result<String, RouteError> {
    // The crate passes a malformed `%` through as it is; we refuse it. Two hex digits exactly
    // (no sign: "%+f" is malformed). A `%` cannot fall inside a valid escape's two digits, so
    // checking every `%` of the raw text is checking every escape.
    let bytes = s.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return Err(RouteError::BadRequest(
            "invalid percent-encoding in URL".into(),
        ));
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| RouteError::BadRequest("URL is not valid UTF-8 after percent-decoding".into()))
}

fn parse_filter(query: &str) -> Result<Filter, RouteError> {
    let mut f = Filter::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(&k.replace('+', " "))?;
        let v = percent_decode(&v.replace('+', " "))?;
        let slot = match k.as_str() {
            "status" => &mut f.status,
            "quote" => &mut f.quote,
            "base" => &mut f.base,
            _ => continue, // unknown parameters are ignored (cache busters, tracking)
        };
        let v = v.trim();
        if !v.is_empty() {
            // Asset codes are ASCII letters and digits or have no case at all (CJK names):
            // ASCII case folding matches them, without Unicode's case tables in the wasm.
            *slot = Some(v.to_ascii_uppercase());
        }
    }
    Ok(f)
}

/// Most fields one `?fields=` may name.
pub const MAX_FIELDS: usize = 64;
/// `?fields=` value asking for every field.
pub const FIELDS_ALL: &str = "all";

/// `?fields=`: `None` when absent or empty (the default list), `Some(None)` for `all`,
/// `Some(Some(names))` for a comma-separated list (`symbol` first, repeats dropped).
fn parse_fields(query: &str) -> Result<Option<Option<Vec<String>>>, RouteError> {
    let mut out = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(&k.replace('+', " "))? != "fields" {
            continue;
        }
        let v = percent_decode(&v.replace('+', " "))?;
        let v = v.trim();
        if v.is_empty() {
            out = None;
            continue;
        }
        if v == FIELDS_ALL {
            out = Some(None);
            continue;
        }
        let mut names = vec!["symbol".to_string()];
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let ok =
                name.len() <= 64 && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
            if !ok {
                return Err(RouteError::BadRequest(format!(
                    "bad field name {:?} in fields (letters, digits and _; at most 64 bytes)",
                    name.chars().take(32).collect::<String>()
                )));
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        if names.len() > MAX_FIELDS {
            return Err(RouteError::BadRequest(format!(
                "fields names {} fields (at most {MAX_FIELDS})",
                names.len()
            )));
        }
        out = Some(Some(names));
    }
    Ok(out)
}

/// The one `format` besides our own list (which is what no `format`, or an empty one, gives).
pub const FORMAT_CCXT: &str = "ccxt";

/// Whether `?format=ccxt` is asked for; any other non-empty value is a 400 naming it.
fn wants_ccxt(query: &str) -> Result<bool, RouteError> {
    let mut ccxt = false;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(&k.replace('+', " "))? != "format" {
            continue;
        }
        match percent_decode(&v.replace('+', " "))?.trim() {
            "" => ccxt = false,
            FORMAT_CCXT => ccxt = true,
            other => {
                return Err(RouteError::BadRequest(format!(
                "unknown format {:?} (expected \"{FORMAT_CCXT}\", or no format for our own list)",
                other.chars().take(32).collect::<String>()
            )))
            }
        }
    }
    Ok(ccxt)
}

/// The changes feed's query: `since` (a 16-hex version or an RFC 3339 time) or `cursor`
/// (a `next` from an earlier page), and `limit` (1..=[`MAX_CHANGES_LIMIT`]).
fn parse_changes(query: &str) -> Result<(crate::feed::Since, usize), RouteError> {
    use crate::feed::{Since, StreamId};
    let bad = |m: String| Err(RouteError::BadRequest(m));
    let (mut since, mut cursor, mut limit) = (None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(&k.replace('+', " "))?;
        // `+` in a time offset arrives as a space when the client did not encode it.
        let v = percent_decode(v)?;
        let shown: String = v.chars().take(40).collect();
        match k.as_str() {
            "since" => {
                let is_version =
                    v.len() == 16 && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                since = Some(if is_version {
                    Since::Version(v)
                } else if let Some(ms) = crate::time::parse_rfc3339(&v.replace(' ', "+")) {
                    Since::Time(ms)
                } else {
                    return bad(format!("since must be a list version (16 lowercase hex digits) or an RFC 3339 time such as 2024-05-01T12:00:00Z, got {shown:?}"));
                });
            }
            "cursor" => match StreamId::parse(&v) {
                Some(id) => cursor = Some(id),
                None => {
                    return bad(format!(
                        "cursor must be the `next` of an earlier page (<ms>-<seq>), got {shown:?}"
                    ))
                }
            },
            "limit" => match v.parse::<usize>() {
                Ok(n)
                    if (1..=MAX_CHANGES_LIMIT).contains(&n)
                        && v.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    limit = Some(n)
                }
                _ => {
                    return bad(format!(
                        "limit must be an integer 1..={MAX_CHANGES_LIMIT}, got {shown:?}"
                    ))
                }
            },
            _ => {}
        }
    }
    let since = match (since, cursor) {
        (Some(_), Some(_)) => return bad("give since or cursor, not both".into()),
        (Some(s), None) => s,
        (None, Some(c)) => Since::Cursor(c),
        (None, None) => Since::Oldest,
    };
    Ok((since, limit.unwrap_or(DEFAULT_CHANGES_LIMIT)))
}

fn market(seg: &str) -> Result<Market, RouteError> {
    seg.parse()
        .map_err(|_| RouteError::UnknownMarket(seg.chars().take(32).collect()))
}

/// Routes a request. `path` is the raw (still percent-encoded) path, `query` the raw
/// query without `?`.
///
/// # Errors
/// See [`RouteError`].
pub fn route(method: &str, path: &str, query: &str) -> Result<Route, RouteError> {
    if path.len() > MAX_PATH_BYTES || query.len() > MAX_QUERY_BYTES {
        return Err(RouteError::UriTooLong);
    }
    let trimmed = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let segs: Vec<&str> = trimmed.split('/').skip(1).collect();
    let read = matches!(method, "GET" | "HEAD" | "OPTIONS");
    let not_allowed = |allow| RouteError::MethodNotAllowed {
        method: method.chars().take(16).collect(),
        allow,
    };
    let route = match segs.as_slice() {
        [""] => Route::StatusPage,
        ["healthz"] => Route::Health,
        ["metrics"] => Route::Prometheus,
        ["openapi.json"] => Route::OpenApi,
        ["api", "symbols", "metrics"] => Route::SymbolsMetrics,
        ["api", "symbols", m] => {
            let market = market(m)?;
            let filter = parse_filter(query)?;
            let fields = parse_fields(query)?;
            let ccxt = wants_ccxt(query)?;
            if ccxt && fields.is_some() {
                return Err(RouteError::BadRequest(
                    "format=ccxt serves ccxt's whole market structure: fields does not apply to it"
                        .into(),
                ));
            }
            if let Some(fields) = fields {
                Route::Selected {
                    market,
                    filter,
                    fields,
                }
            } else if !ccxt {
                Route::List { market, filter }
            } else if filter.is_empty() {
                Route::Ccxt { market }
            } else {
                return Err(RouteError::BadRequest(
                    "format=ccxt serves every market (set_markets wants them all): status, quote and base do not apply to it".into(),
                ));
            }
        }
        ["api", "symbols", m, "refresh"] if method == "POST" => {
            return Ok(Route::Refresh { market: market(m)? })
        }
        ["api", "symbols", m, "changes"] => {
            let market = market(m)?;
            let (since, limit) = parse_changes(query)?;
            Route::Changes {
                market,
                since,
                limit,
            }
        }
        ["api", "symbols", m, "refresh"] if !read => {
            market(m)?;
            return Err(not_allowed("POST"));
        }
        ["api", "symbols", m, sym] => {
            let market = market(m)?;
            let symbol = percent_decode(sym)?;
            if symbol.is_empty() || symbol.len() > 64 {
                return Err(RouteError::BadRequest("symbol must be 1..=64 bytes".into()));
            }
            if parse_fields(query)?.is_some() {
                return Err(RouteError::BadRequest(
                    "a single-symbol lookup gives every field: fields applies to the list".into(),
                ));
            }
            if wants_ccxt(query)? {
                Route::CcxtOne { market, symbol }
            } else {
                Route::One { market, symbol }
            }
        }
        _ => return Err(RouteError::NotFound(path.chars().take(128).collect())),
    };
    if !read {
        return Err(not_allowed(READ_METHODS));
    }
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("GET", "/", ""), Ok(Route::StatusPage));
        assert_eq!(route("GET", "/healthz", ""), Ok(Route::Health));
        assert_eq!(route("HEAD", "/metrics", ""), Ok(Route::Prometheus));
        assert_eq!(
            route("GET", "/api/symbols/metrics", ""),
            Ok(Route::SymbolsMetrics)
        );
        assert_eq!(
            route(
                "GET",
                "/api/symbols/spot/",
                "status=trading&quote=USDT&utm=x&base="
            ),
            Ok(Route::List {
                market: Market::Spot,
                filter: Filter {
                    status: Some("TRADING".into()),
                    quote: Some("USDT".into()),
                    base: None
                }
            })
        );
        assert_eq!(
            route(
                "GET",
                "/api/symbols/futures/%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT",
                ""
            ),
            Ok(Route::One {
                market: Market::Futures,
                symbol: "币安人生USDT".into()
            })
        );
        assert_eq!(
            route("POST", "/api/symbols/spot/refresh", ""),
            Ok(Route::Refresh {
                market: Market::Spot
            })
        );
    }

    #[test]
    fn the_ccxt_format() {
        assert_eq!(
            route("GET", "/api/symbols/futures", "format=ccxt&utm=x"),
            Ok(Route::Ccxt {
                market: Market::Futures
            })
        );
        assert_eq!(
            route("GET", "/api/symbols/spot/BTCUSDT", "format=%63cxt"),
            Ok(Route::CcxtOne {
                market: Market::Spot,
                symbol: "BTCUSDT".into()
            })
        );
        assert!(matches!(
            route("GET", "/api/symbols/spot", "format="),
            Ok(Route::List { .. })
        ));
        let unknown = route("GET", "/api/symbols/spot", "format=csv");
        assert!(
            matches!(&unknown, Err(RouteError::BadRequest(m)) if m.contains("\"csv\"") && m.contains("ccxt")),
            "{unknown:?}"
        );
        assert!(matches!(
            route("GET", "/api/symbols/spot/BTCUSDT", "format=xml"),
            Err(RouteError::BadRequest(_))
        ));
        assert!(matches!(
            route("GET", "/api/symbols/spot", "format=ccxt&quote=USDT"),
            Err(RouteError::BadRequest(_))
        ));
    }

    #[test]
    fn changes_queries() {
        use crate::feed::{Since, StreamId};
        let q = |query: &str| route("GET", "/api/symbols/spot/changes", query);
        assert_eq!(
            q(""),
            Ok(Route::Changes {
                market: Market::Spot,
                since: Since::Oldest,
                limit: DEFAULT_CHANGES_LIMIT
            })
        );
        assert_eq!(
            q("since=0123456789abcdef&limit=5"),
            Ok(Route::Changes {
                market: Market::Spot,
                since: Since::Version("0123456789abcdef".into()),
                limit: 5
            })
        );
        let time = |query: &str| match q(query) {
            Ok(Route::Changes {
                since: Since::Time(ms),
                ..
            }) => ms,
            other => panic!("{query}: {other:?}"),
        };
        assert_eq!(time("since=2023-11-14T22:13:20Z"), 1_700_000_000_000);
        assert_eq!(time("since=2023-11-15T00:13:20%2B02:00"), 1_700_000_000_000);
        assert_eq!(
            time("since=2023-11-15T00:13:20+02:00"),
            1_700_000_000_000,
            "an unencoded +"
        );
        assert_eq!(
            q("cursor=1700000000001-3&limit=1000"),
            Ok(Route::Changes {
                market: Market::Spot,
                since: Since::Cursor(StreamId {
                    ms: 1_700_000_000_001,
                    seq: 3
                }),
                limit: 1000
            })
        );
        for bad in [
            "since=yesterday",
            "since=0123456789ABCDEF",
            "since=",
            "limit=0",
            "limit=1001",
            "limit=-1",
            "limit=%2B5",
            "limit=ten",
            "cursor=abc",
            "cursor=1-2&since=2023-11-14T22:13:20Z",
        ] {
            match q(bad) {
                Err(RouteError::BadRequest(m)) => assert!(m.len() < 200, "{m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(
            route("GET", "/api/symbols/margin/changes", ""),
            Err(RouteError::UnknownMarket(_))
        ));
        assert!(matches!(
            route("POST", "/api/symbols/spot/changes", ""),
            Err(RouteError::MethodNotAllowed { .. })
        ));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            route("GET", "/api/symbols/margin", ""),
            Err(RouteError::UnknownMarket(_))
        ));
        assert!(matches!(
            route("GET", "/nope", ""),
            Err(RouteError::NotFound(_))
        ));
        assert_eq!(
            route("DELETE", "/api/symbols/spot", ""),
            Err(RouteError::MethodNotAllowed {
                method: "DELETE".into(),
                allow: READ_METHODS
            })
        );
        assert!(matches!(
            route("PUT", "/api/symbols/spot/refresh", ""),
            Err(RouteError::MethodNotAllowed { allow: "POST", .. })
        ));
        assert!(matches!(
            route("GET", "/api/symbols/spot/%zz", ""),
            Err(RouteError::BadRequest(_))
        ));
        assert!(matches!(
            route("GET", "/api/symbols/spot/%ff", ""),
            Err(RouteError::BadRequest(_))
        ));
        assert!(matches!(
            percent_decode("%+f"),
            Err(RouteError::BadRequest(_))
        ));
        assert!(matches!(
            percent_decode("%-1"),
            Err(RouteError::BadRequest(_))
        ));
        assert!(matches!(
            route("GET", "/api/symbols/spot", "quote=%"),
            Err(RouteError::BadRequest(_))
        ));
        assert_eq!(
            route("GET", &"/a".repeat(600), ""),
            Err(RouteError::UriTooLong)
        );
        assert_eq!(
            route("GET", "/", &"a".repeat(3000)),
            Err(RouteError::UriTooLong)
        );
    }
}
