//! What one request did, and its log line: which tier answered, the cache status, the
//! Redis round trips and upstream status the service reported.

use std::cell::Cell;

use symbols_core::log::{HitSampling, Level, Line};
use symbols_core::service::CacheStatus;
use symbols_core::Market;
use worker::Request;

/// Which copy answered a hit, nearest first (the log line's `cache_tier`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// This isolate's memory: no I/O.
    Isolate,
    /// The Workers Cache API, shared by a location's isolates.
    Edge,
    /// Redis itself (the service's HIT).
    Redis,
}

impl Tier {
    /// `isolate`, `edge`, `redis`: values dashboards and tests read.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Isolate => "isolate",
            Tier::Edge => "edge",
            Tier::Redis => "redis",
        }
    }
}

/// What one request did, for its log line.
#[derive(Default)]
pub struct Trace {
    /// The route's name (`list`, `symbol`, ...).
    pub route: &'static str,
    /// The market asked for, if any.
    pub market: Option<Market>,
    /// The `X-Cache` value, for routes that serve a list.
    pub cache: Option<&'static str>,
    /// HTTP status of the last upstream attempt, if the service called Binance.
    pub upstream_status: Option<u16>,
    /// Redis REST round trips on the request's path.
    pub redis_round_trips: u32,
    /// Which tier answered a hit.
    pub tier: Option<Tier>,
}

impl Trace {
    /// A hit answered by `tier`.
    pub fn hit(&mut self, tier: Tier) {
        self.cache = Some("HIT");
        self.tier = Some(tier);
    }

    /// What the service reported: its cache status (a HIT is Redis's), its round trips,
    /// and the upstream's status if it called Binance.
    pub fn served(&mut self, status: CacheStatus, round_trips: u32, upstream: Option<u16>) {
        self.cache = Some(status.as_str());
        self.tier = (status == CacheStatus::Hit).then_some(Tier::Redis);
        self.redis_round_trips = round_trips;
        self.upstream_status = upstream;
    }

    /// Whether this request gets its log line: everything but a routine hit always does;
    /// hits as `HIT_LOG_SAMPLE` says (counted per isolate).
    pub fn logged(&self, status: u16, sampling: HitSampling) -> bool {
        thread_local! {
            static HITS: Cell<u64> = const { Cell::new(0) };
        }
        let hit = self.cache == Some("HIT") && status < 400;
        if !hit || sampling.every == 1 {
            return true;
        }
        let seq = HITS.with(|h| {
            let n = h.get();
            h.set(n.wrapping_add(1));
            n
        });
        sampling.keeps(seq)
    }

    /// The request's log line, written field by field (the hit path's largest cost was
    /// building a `serde_json` tree for it). The field names are a contract: dashboards
    /// and tests read them.
    pub fn line(&self, req: &Request, method: &str, status: u16, started_ms: f64) -> Line {
        let level = if status >= 500 {
            Level::Warn
        } else {
            Level::Info
        };
        let request_id = req.headers().get("cf-ray").ok().flatten();
        Line::new(level, "request")
            .opt_str("request_id", request_id.as_deref())
            .str("method", method)
            .str("route", self.route)
            .opt_str("market", self.market.map(Market::as_str))
            .uint("status", u64::from(status))
            .opt_str("cache", self.cache)
            .opt_str("cache_tier", self.tier.map(Tier::as_str))
            .opt_uint("upstream_status", self.upstream_status.map(u64::from))
            .uint("redis_round_trips", u64::from(self.redis_round_trips))
            // Date.now() counts whole milliseconds: an integer, and no float formatting linked in.
            .uint(
                "duration_ms",
                (js_sys::Date::now() - started_ms).max(0.0) as u64,
            )
    }
}
