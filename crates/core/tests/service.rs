//! The service flow natively, against the in-memory store, a scripted HTTP upstream and
//! a manual clock: the same code that runs in workerd.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use futures::executor::block_on;
use symbols_core::config::Config;
use symbols_core::keys;
use symbols_core::log::Logger;
use symbols_core::memory::MemoryStore;
use symbols_core::ports::{Clock, Cmd, Http, HttpError, HttpRequest, HttpResponse, Store};
use symbols_core::service::{CacheStatus, Refresh, Service, Trigger};
use symbols_core::Market;

struct ManualClock {
    now: Cell<u64>,
    store: *const MemoryStore,
    n: Cell<u32>,
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    async fn sleep(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
        // SAFETY: the store outlives the service in every test (both live in `Fixture`).
        unsafe { (*self.store).set_now(self.now.get()) };
    }
    fn nonce(&self) -> String {
        self.n.set(self.n.get() + 1);
        format!("owner-{}", self.n.get())
    }
}

#[derive(Default)]
struct ScriptedHttp {
    script: RefCell<VecDeque<Result<HttpResponse, HttpError>>>,
    calls: RefCell<Vec<HttpRequest>>,
    /// Webhook POSTs received (request, body) and the answers to give them.
    posts: RefCell<Vec<(HttpRequest, Vec<u8>)>>,
    post_script: RefCell<VecDeque<Result<u16, HttpError>>>,
}

fn payload(n: usize) -> Vec<u8> {
    let syms: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"symbol":"S{i}USDT","status":"TRADING","baseAsset":"S{i}","quoteAsset":"USDT","filters":[{{"filterType":"PRICE_FILTER","tickSize":"0.01"}}]}}"#
            )
        })
        .collect();
    format!(r#"{{"timezone":"UTC","symbols":[{}]}}"#, syms.join(",")).into_bytes()
}

fn ok(n: usize) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse {
        status: 200,
        retry_after: None,
        used_weight: Some("20".into()),
        body: payload(n),
    })
}

fn status(code: u16, retry_after: Option<&str>) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse {
        status: code,
        retry_after: retry_after.map(str::to_string),
        used_weight: None,
        body: b"{\"code\":-1003,\"msg\":\"x\"}".to_vec(),
    })
}

impl Http for ScriptedHttp {
    async fn get(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.calls.borrow_mut().push(req);
        self.script
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| ok(10))
    }

    async fn post_json(&self, req: HttpRequest, body: Vec<u8>) -> Result<u16, HttpError> {
        self.posts.borrow_mut().push((req, body));
        self.post_script.borrow_mut().pop_front().unwrap_or(Ok(200))
    }
}

type Svc<'a> = Service<&'a MemoryStore, &'a ScriptedHttp, ManualClock>;

impl Http for &ScriptedHttp {
    async fn get(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        (**self).get(req).await
    }

    async fn post_json(&self, req: HttpRequest, body: Vec<u8>) -> Result<u16, HttpError> {
        (**self).post_json(req, body).await
    }
}

struct Fixture {
    store: Box<MemoryStore>,
    http: ScriptedHttp,
}

impl Fixture {
    fn new() -> Self {
        let store = Box::new(MemoryStore::new());
        store.set_now(1_700_000_000_000);
        Fixture {
            store,
            http: ScriptedHttp::default(),
        }
    }
    fn service(&self, vars: &[(&str, &str)]) -> std::rc::Rc<Svc<'_>> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut config =
            Config::resolve(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap();
        config.spot.bases = vec!["http://a".into(), "http://b".into()];
        let clock = ManualClock {
            now: Cell::new(1_700_000_000_000),
            store: &*self.store,
            n: Cell::new(0),
        };
        std::rc::Rc::new(Service::new(
            &*self.store,
            &self.http,
            clock,
            config,
            Logger::null(),
        ))
    }
    fn push(&self, r: Result<HttpResponse, HttpError>) {
        self.http.script.borrow_mut().push_back(r);
    }
    fn calls(&self) -> usize {
        self.http.calls.borrow().len()
    }
}

#[test]
fn miss_then_hit_writes_every_key_with_the_right_ttl() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    let first = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(first.status, CacheStatus::Miss);
    assert_eq!(first.list.header().count, 10);
    // Before the hit below: its counter flush waits out a (manual) 250 ms window.
    assert_eq!(
        fx.store.ttl_ms(&keys::document(Market::Spot)),
        Some(300_000)
    );
    assert_eq!(
        fx.store.ttl_ms(&keys::original_list(Market::Spot)),
        Some(300_000),
        "the original's TTL"
    );
    block_on(svc.record(Market::Spot, first.status));
    let second = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(second.status, CacheStatus::Hit);
    assert_eq!(second.redis_round_trips, 1);
    block_on(svc.record(Market::Spot, second.status));
    assert_eq!(fx.calls(), 1);
    assert_eq!(
        fx.store.ttl_ms(&keys::document_last_good(Market::Spot)),
        None
    );
    assert!(fx
        .store
        .raw(&keys::document_last_good(Market::Spot))
        .is_some());
    assert_eq!(
        fx.store.ttl_ms(&keys::original_last_good(Market::Spot)),
        None
    );
    let array: serde_json::Value =
        serde_json::from_slice(&fx.store.raw(&keys::original_list(Market::Spot)).unwrap()).unwrap();
    assert_eq!(
        array.as_array().map(Vec::len),
        Some(10),
        "the original's array of raw objects"
    );
    assert_eq!(array[0]["filters"][0]["filterType"], "PRICE_FILTER");
    assert_eq!(
        fx.store.raw(&keys::original_list(Market::Spot)),
        fx.store.raw(&keys::original_last_good(Market::Spot))
    );
    assert_eq!(
        fx.store.raw(&keys::last_refresh_ts(Market::Spot)).unwrap(),
        b"1700000000",
        "a JSON integer"
    );
    assert_eq!(fx.store.int(&keys::cache_hit(Market::Spot)), 1);
    assert_eq!(fx.store.int(&keys::cache_miss(Market::Spot)), 1);
    assert!(
        fx.store.raw(&keys::refresh_lock(Market::Spot)).is_none(),
        "lock released"
    );
    // The whole payload: the original's objects keep every field.
    assert!(fx.http.calls.borrow()[0]
        .url
        .ends_with("/api/v3/exchangeInfo"));
}

#[test]
fn failures_fall_back_to_the_next_base_or_last_good() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    // 451 on the first base: the second base answers.
    fx.store.put(&keys::document(Market::Spot), b"");
    fx.push(status(451, None));
    let r = block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert!(matches!(r, Refresh::Stored(_)));
    assert_eq!(fx.calls(), 3);
    assert!(fx.http.calls.borrow()[2].url.starts_with("http://b/"));
    let good = fx
        .store
        .raw(&keys::document_last_good(Market::Spot))
        .unwrap();
    // Both bases fail: STALE from last_good, nothing overwritten.
    fx.store.put(&keys::document(Market::Spot), b"garbage");
    fx.push(status(500, None));
    fx.push(Err(HttpError::Timeout));
    let served = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(served.status, CacheStatus::Stale);
    assert_eq!(
        fx.store
            .raw(&keys::document_last_good(Market::Spot))
            .unwrap(),
        good
    );
    assert_eq!(
        fx.store
            .int(&keys::upstream_failure(Market::Spot, "timeout")),
        1
    );
    assert_eq!(fx.store.int(&keys::warmup_success(Market::Spot)), 2);
}

#[test]
fn rate_limit_records_a_backoff_that_stops_further_calls() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    fx.push(status(429, Some("30")));
    let r = block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert!(
        matches!(
            r,
            Refresh::Failed {
                retry_after_secs: Some(30),
                ..
            }
        ),
        "{r:?}"
    );
    assert_eq!(fx.calls(), 2, "429 stops at once: no second base");
    assert_eq!(
        fx.store.int(&keys::upstream_blocked_until(Market::Spot)),
        1_700_000_030_000
    );
    let r = block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert!(matches!(r, Refresh::Failed { .. }));
    assert_eq!(fx.calls(), 2, "no call inside the window");
    fx.store.put(&keys::document(Market::Spot), b"");
    let served = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(served.status, CacheStatus::Stale);
    assert_eq!(fx.calls(), 2);
}

#[test]
fn validation_rejects_empty_and_shrunken_lists() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    fx.push(ok(100));
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    let good = fx
        .store
        .raw(&keys::document_last_good(Market::Spot))
        .unwrap();
    fx.push(ok(0));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Failed { .. }
    ));
    fx.push(ok(49));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Failed { .. }
    ));
    assert_eq!(
        fx.store
            .raw(&keys::document_last_good(Market::Spot))
            .unwrap(),
        good
    );
    assert_eq!(fx.store.int(&keys::warmup_error(Market::Spot)), 2);
    fx.push(ok(50));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Stored(_)
    ));
}

#[test]
fn held_lock_waits_then_serves_last_good_or_503() {
    let fx = Fixture::new();
    let svc = fx.service(&[("REFRESH_WAIT_MS", "1000")]);
    fx.store
        .put(&keys::refresh_lock(Market::Futures), b"someone-else");
    let err = block_on(svc.list(Market::Futures, None)).unwrap_err();
    assert_eq!(err.market, Market::Futures);
    assert_eq!(
        fx.calls(),
        0,
        "never called upstream while another holds the lock"
    );
    // With last_good present it is served instead.
    let list = symbols_core::symbols::StoredList::build(Market::Futures, "u", "t".into(), &[]);
    fx.store
        .put(&keys::document_last_good(Market::Futures), list.as_bytes());
    let served = block_on(svc.list(Market::Futures, None)).unwrap();
    assert_eq!(served.status, CacheStatus::Stale);
}

#[test]
fn store_down_bypasses_to_upstream_once_per_window() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    fx.store.set_down(true);
    // Nothing fetched yet and Binance failing: 503 naming both.
    fx.push(status(500, None));
    fx.push(status(500, None));
    let err = block_on(svc.list(Market::Spot, None)).unwrap_err();
    assert!(err.reason.contains("redis unreachable"), "{}", err.reason);
    assert_eq!(fx.calls(), 2);
    let served = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(served.status, CacheStatus::Bypass);
    assert_eq!(fx.calls(), 3);
    // Within BYPASS_CACHE_SECONDS the isolate's copy answers: no Binance call.
    for _ in 0..20 {
        assert_eq!(
            block_on(svc.list(Market::Spot, None)).unwrap().status,
            CacheStatus::Bypass
        );
    }
    assert_eq!(fx.calls(), 3, "one Binance call per window");
    // After it, Binance failing: the last bypass list, STALE, beats nothing.
    svc.clock.now.set(svc.clock.now.get() + 31_000);
    fx.push(status(500, None));
    fx.push(status(500, None));
    let stale = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(stale.status, CacheStatus::Stale);
    // A 429 seen with Redis down is honoured in memory: no call inside its window.
    svc.clock.now.set(svc.clock.now.get() + 31_000);
    fx.push(status(429, Some("120")));
    let _ = block_on(svc.list(Market::Spot, None));
    let calls = fx.calls();
    svc.clock.now.set(svc.clock.now.get() + 60_000);
    let _ = block_on(svc.list(Market::Spot, None));
    assert_eq!(fx.calls(), calls, "no call inside the Retry-After window");
    fx.store.set_down(false);
    let r = block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert!(
        matches!(
            r,
            Refresh::Failed {
                retry_after_secs: Some(60),
                ..
            }
        ),
        "the back-off holds for the refresh too: {r:?}"
    );
    assert_eq!(fx.calls(), calls);
}

/// An upstream whose calls wait until the test opens the gate (a slow Binance).
#[derive(Default)]
struct GatedHttp {
    open: Cell<bool>,
    calls: Cell<usize>,
}

impl Http for &GatedHttp {
    async fn get(&self, _req: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.calls.set(self.calls.get() + 1);
        std::future::poll_fn(|cx| {
            if self.open.get() {
                std::task::Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
        ok(12)
    }

    async fn post_json(&self, _req: HttpRequest, _body: Vec<u8>) -> Result<u16, HttpError> {
        Ok(200)
    }
}

#[test]
fn a_slow_binance_never_holds_a_request_past_the_wait_when_a_last_good_exists() {
    let store = MemoryStore::new();
    let http = GatedHttp::default();
    let config = Config::resolve(|k| (k == "REFRESH_WAIT_MS").then(|| "1000".to_string())).unwrap();
    let svc = std::rc::Rc::new(Service::new(
        &store,
        &http,
        YieldingClock::default(),
        config,
        Logger::null(),
    ));
    let old = symbols_core::symbols::StoredList::build(
        Market::Spot,
        "u",
        "2026-01-01T00:00:00Z".into(),
        &[],
    );
    store.put(&keys::document_last_good(Market::Spot), old.as_bytes());
    let spawned: RefCell<Vec<futures::future::LocalBoxFuture<'_, ()>>> = RefCell::default();
    let spawn = |f| spawned.borrow_mut().push(f);
    let served = block_on(svc.list(Market::Spot, Some(&spawn))).unwrap();
    assert_eq!(
        (served.status, served.list.header().count),
        (CacheStatus::Stale, 0),
        "last good, at the deadline"
    );
    assert_eq!(spawned.borrow().len(), 1, "the refresh goes on");
    assert!(
        store.raw(&keys::refresh_lock(Market::Spot)).is_some(),
        "still refreshing"
    );
    // Binance answers: the continued refresh stores the list and unlocks.
    http.open.set(true);
    let rest = std::mem::take(&mut *spawned.borrow_mut());
    block_on(futures::future::join_all(rest));
    let doc = symbols_core::symbols::StoredList::from_bytes(
        Market::Spot,
        store.raw(&keys::document(Market::Spot)).unwrap(),
    )
    .unwrap();
    assert_eq!(doc.header().count, 12);
    assert!(store.raw(&keys::refresh_lock(Market::Spot)).is_none());
    assert_eq!(http.calls.get(), 1);
    // With nothing to serve instead, the request waits for Binance.
    let (store, http) = (MemoryStore::new(), GatedHttp::default());
    let config = Config::resolve(|k| (k == "REFRESH_WAIT_MS").then(|| "1000".to_string())).unwrap();
    let svc = std::rc::Rc::new(Service::new(
        &store,
        &http,
        YieldingClock::default(),
        config,
        Logger::null(),
    ));
    let spawn = |_f| panic!("nothing to serve early");
    let waiting = svc.list(Market::Spot, Some(&spawn));
    let open = async {
        for _ in 0..50 {
            YieldingClock::default().sleep(0).await;
        }
        http.open.set(true);
    };
    let (served, ()) = block_on(futures::future::join(waiting, open));
    assert_eq!(served.unwrap().status, CacheStatus::Miss);
}

#[test]
fn garbage_under_last_good_is_treated_as_absent_and_repaired() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    fx.store.put(
        &keys::document_last_good(Market::Spot),
        b"{\"market\":\"spot\",\"symbols\":[1,2",
    );
    fx.push(ok(3));
    let served = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(served.status, CacheStatus::Miss);
    let repaired = fx
        .store
        .raw(&keys::document_last_good(Market::Spot))
        .unwrap();
    assert!(symbols_core::symbols::StoredList::from_bytes(Market::Spot, repaired).is_some());
}

/// A clock whose `sleep` really suspends (once), so concurrent calls interleave as they
/// do in workerd; time itself does not matter here.
#[derive(Default)]
struct YieldingClock {
    now: Cell<u64>,
}

impl Clock for YieldingClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    async fn sleep(&self, _ms: u64) {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
    }
    fn nonce(&self) -> String {
        "owner".into()
    }
}

/// A service for the counter tests: `COUNTER_FLUSH_MS` as given (else the default).
fn counting<'a>(
    store: &'a MemoryStore,
    http: &'a ScriptedHttp,
    flush_ms: Option<&str>,
) -> Service<&'a MemoryStore, &'a ScriptedHttp, YieldingClock> {
    let config = Config::resolve(|k| {
        flush_ms
            .filter(|_| k == "COUNTER_FLUSH_MS")
            .map(str::to_string)
    })
    .unwrap();
    Service::new(
        store,
        http,
        YieldingClock::default(),
        config,
        Logger::null(),
    )
}

#[test]
fn hits_in_one_window_become_one_incrby_and_none_are_lost() {
    let (store, http) = (MemoryStore::new(), ScriptedHttp::default());
    let svc = counting(&store, &http, None);
    let before = store.round_trips();
    block_on(async {
        let hits = (0..5).map(|_| svc.record(Market::Spot, CacheStatus::Hit));
        futures::future::join_all(hits).await;
    });
    assert_eq!(store.int(&keys::cache_hit(Market::Spot)), 5);
    assert_eq!(store.round_trips() - before, 1, "five hits, one INCRBY");
    assert_eq!(svc.unflushed_hits(Market::Spot), 0);

    // Redis down: the hits wait in the isolate and go out with the next window's flush.
    store.set_down(true);
    block_on(futures::future::join_all(
        (0..3).map(|_| svc.record(Market::Spot, CacheStatus::Hit)),
    ));
    assert_eq!(svc.unflushed_hits(Market::Spot), 3);
    store.set_down(false);
    block_on(svc.record(Market::Spot, CacheStatus::Hit));
    assert_eq!(store.int(&keys::cache_hit(Market::Spot)), 9);
    assert_eq!(svc.unflushed_hits(Market::Spot), 0);

    // Misses are not delayed, and markets are counted apart.
    block_on(svc.record(Market::Futures, CacheStatus::Miss));
    assert_eq!(store.int(&keys::cache_miss(Market::Futures)), 1);
    assert_eq!(store.int(&keys::cache_hit(Market::Futures)), 0);
}

#[test]
fn only_the_first_hit_of_a_window_leaves_work_to_schedule() {
    // What the Worker relies on to skip `waitUntil` on most hits: `tally` says when a
    // write is due, and the flush it asked for writes every hit tallied meanwhile.
    let (store, http) = (MemoryStore::new(), ScriptedHttp::default());
    let svc = counting(&store, &http, None);
    assert!(
        svc.tally(Market::Spot, CacheStatus::Hit),
        "the first hit schedules"
    );
    for _ in 0..4 {
        assert!(
            !svc.tally(Market::Spot, CacheStatus::Hit),
            "the others join it"
        );
    }
    assert!(
        svc.tally(Market::Futures, CacheStatus::Hit),
        "markets apart"
    );
    assert!(
        svc.tally(Market::Spot, CacheStatus::Miss),
        "a miss always writes"
    );
    assert!(
        !svc.tally(Market::Spot, CacheStatus::Bypass),
        "a bypass never counts"
    );
    assert_eq!(svc.unflushed_hits(Market::Spot), 5);
    block_on(svc.flush(Market::Spot, CacheStatus::Hit));
    assert_eq!(store.int(&keys::cache_hit(Market::Spot)), 5);
    assert_eq!(svc.unflushed_hits(Market::Spot), 0);
    // The window is over: the next hit schedules again.
    assert!(svc.tally(Market::Spot, CacheStatus::Hit));
}

#[test]
fn a_zero_window_counts_each_hit_on_its_own() {
    let (store, http) = (MemoryStore::new(), ScriptedHttp::default());
    let svc = counting(&store, &http, Some("0"));
    let before = store.round_trips();
    block_on(futures::future::join_all(
        (0..4).map(|_| svc.record(Market::Spot, CacheStatus::Hit)),
    ));
    assert_eq!(store.int(&keys::cache_hit(Market::Spot)), 4);
    assert_eq!(store.round_trips() - before, 4);
}

#[test]
fn a_flush_that_never_resumes_does_not_stop_counting() {
    let (store, http) = (MemoryStore::new(), ScriptedHttp::default());
    let svc = counting(&store, &http, None);
    // A flush that is scheduled and then abandoned (workerd stopped its wait_until): its
    // future is polled once and never again.
    let stuck = svc.record(Market::Spot, CacheStatus::Hit);
    let mut stuck = Box::pin(stuck);
    let waker = futures::task::noop_waker();
    let _ = std::future::Future::poll(stuck.as_mut(), &mut std::task::Context::from_waker(&waker));
    std::mem::forget(stuck);
    assert_eq!(svc.unflushed_hits(Market::Spot), 1);
    // Within the horizon later hits wait for it; after it, a new flush takes over and
    // writes every hit, the abandoned one's included.
    svc.clock.now.set(svc.clock.now.get() + 31_000);
    block_on(svc.record(Market::Spot, CacheStatus::Hit));
    assert_eq!(store.int(&keys::cache_hit(Market::Spot)), 2);
    assert_eq!(svc.unflushed_hits(Market::Spot), 0);
}

/// A payload with `n` USDT symbols and `m` BTC ones, each with a field we do not project.
fn mixed(n: usize, m: usize, extra: &str) -> Result<HttpResponse, HttpError> {
    let usdt = (0..n).map(|i| format!(r#"{{"symbol":"U{i}USDT","status":"TRADING","baseAsset":"U{i}","quoteAsset":"USDT","orderTypes":["{extra}"],"filters":[]}}"#));
    let btc = (0..m).map(|i| format!(r#"{{"symbol":"B{i}BTC","status":"TRADING","baseAsset":"B{i}","quoteAsset":"BTC","filters":[]}}"#));
    let all: Vec<String> = usdt.chain(btc).collect();
    Ok(HttpResponse {
        status: 200,
        retry_after: None,
        used_weight: None,
        body: format!(r#"{{"symbols":[{}]}}"#, all.join(",")).into_bytes(),
    })
}

#[test]
fn an_unchanged_list_extends_ttls_instead_of_rewriting() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    fx.push(ok(2000));
    let first = block_on(svc.refresh(Market::Spot, Trigger::Cron));
    let Refresh::Stored(first) = first else {
        panic!("{first:?}")
    };
    let full_write = fx.store.arg_bytes();
    assert!(full_write > 400_000, "{full_write}");
    let doc = fx.store.raw(&keys::document(Market::Spot)).unwrap();
    fx.store.set_now(1_700_000_200_000);
    svc.clock.now.set(1_700_000_200_000);
    fx.push(ok(2000));
    let before = fx.store.arg_bytes();
    // An admin refresh processes the payload whatever the record says (a cron of the
    // payload stored processes nothing: `a_cron_with_the_stored_payload_processes_nothing`).
    let again = block_on(svc.refresh(Market::Spot, Trigger::Admin));
    let unchanged = fx.store.arg_bytes() - before;
    assert!(
        unchanged < 2_000,
        "unchanged refresh sent {unchanged} bytes"
    );
    let Refresh::Stored(again) = again else {
        panic!("{again:?}")
    };
    assert_eq!(
        again.as_bytes(),
        first.as_bytes(),
        "same version, same fetchedAt"
    );
    assert_eq!(fx.store.raw(&keys::document(Market::Spot)).unwrap(), doc);
    assert_eq!(
        fx.store.ttl_ms(&keys::document(Market::Spot)),
        Some(300_000),
        "TTL extended"
    );
    assert_eq!(
        fx.store.ttl_ms(&keys::original_list(Market::Spot)),
        Some(300_000)
    );
    assert_eq!(
        fx.store.int(&keys::last_refresh_ts(Market::Spot)),
        1_700_000_200
    );
    assert_eq!(fx.store.int(&keys::warmup_success(Market::Spot)), 2);
    // A key that expired meanwhile is written again; a change anywhere is a full write.
    fx.store.set_now(1_700_000_600_000);
    svc.clock.now.set(1_700_000_600_000);
    assert!(
        fx.store.raw(&keys::original_list(Market::Spot)).is_none(),
        "expired"
    );
    fx.push(ok(2000));
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert!(
        fx.store.raw(&keys::original_list(Market::Spot)).is_some(),
        "rewritten"
    );
    // Garbage or truncation under any of the four keys is repaired by the next unchanged
    // refresh (from its pair, or written again when both are bad).
    let good_doc = fx.store.raw(&keys::document(Market::Spot)).unwrap();
    let good_orig = fx.store.raw(&keys::original_list(Market::Spot)).unwrap();
    fx.store.put(
        &keys::document(Market::Spot),
        b"{\"market\":\"spot\",\"symbols\":[{\"sym",
    );
    fx.store
        .put(&keys::original_list(Market::Spot), b"not json at all");
    fx.store
        .put(&keys::original_last_good(Market::Spot), b"[{\"symbol\":");
    fx.push(ok(2000));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Stored(_)
    ));
    assert_eq!(
        fx.store.raw(&keys::document(Market::Spot)).unwrap(),
        good_doc
    );
    assert_eq!(
        fx.store.raw(&keys::original_list(Market::Spot)).unwrap(),
        good_orig
    );
    assert_eq!(
        fx.store
            .raw(&keys::original_last_good(Market::Spot))
            .unwrap(),
        good_orig
    );
    assert_eq!(
        fx.store.ttl_ms(&keys::original_last_good(Market::Spot)),
        None
    );
    assert_eq!(
        fx.store.ttl_ms(&keys::document(Market::Spot)),
        Some(300_000)
    );
    fx.push(mixed(1500, 0, "LIMIT"));
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    fx.push(mixed(1500, 0, "MARKET"));
    let before = fx.store.arg_bytes();
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert!(
        fx.store.arg_bytes() - before > 100_000,
        "a field only the original keeps changed: full write"
    );
    let array: serde_json::Value =
        serde_json::from_slice(&fx.store.raw(&keys::original_list(Market::Spot)).unwrap()).unwrap();
    assert_eq!(array[0]["orderTypes"][0], "MARKET");
}

#[test]
fn the_originals_list_holds_usdt_only_and_its_shrink_is_validated() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    fx.push(mixed(10, 5, "LIMIT"));
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    let array: serde_json::Value =
        serde_json::from_slice(&fx.store.raw(&keys::original_list(Market::Spot)).unwrap()).unwrap();
    assert_eq!(array.as_array().map(Vec::len), Some(10));
    let doc = symbols_core::symbols::StoredList::from_bytes(
        Market::Spot,
        fx.store.raw(&keys::document(Market::Spot)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        doc.header().count,
        15,
        "our document keeps every quote asset"
    );
    // The whole list keeps its size but loses its USDT symbols: rejected, nothing written.
    fx.push(mixed(2, 13, "LIMIT"));
    let r = block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert!(matches!(r, Refresh::Failed { .. }), "{r:?}");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(
            &fx.store.raw(&keys::original_list(Market::Spot)).unwrap()
        )
        .unwrap(),
        array
    );
}

#[test]
fn a_failed_write_is_one_warmup_error_and_the_list_is_still_served() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    fx.store.refuse_writes_to(&keys::document(Market::Spot));
    let r = block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert!(matches!(r, Refresh::NotStored { .. }), "{r:?}");
    assert_eq!(fx.store.int(&keys::warmup_error(Market::Spot)), 1);
    assert_eq!(fx.store.int(&keys::warmup_success(Market::Spot)), 0);
    assert!(
        fx.store.raw(&keys::last_refresh_ts(Market::Spot)).is_none(),
        "no timestamp without the primary write"
    );
    assert!(
        fx.store.raw(&keys::refresh_lock(Market::Spot)).is_none(),
        "unlocked"
    );
    let served = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(served.status, CacheStatus::Miss);
}

#[test]
fn the_originals_last_good_is_the_second_fallback_and_is_never_overwritten_by_a_failure() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    let theirs = br#"[{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[{"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"9","stepSize":"0.001"}]},{"symbol":"ETHUSDT","status":"TRADING","baseAsset":"ETH","quoteAsset":"USDT","filters":[]}]"#;
    fx.store
        .put(&keys::original_last_good(Market::Spot), theirs);
    fx.store
        .put(&keys::last_refresh_ts(Market::Spot), b"1699999000");
    for _ in 0..4 {
        fx.push(status(500, None));
    }
    let served = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(served.status, CacheStatus::Stale);
    assert_eq!(
        served.source,
        symbols_core::symbols::Source::OriginalLastGood
    );
    assert_eq!(served.list.header().count, 2);
    assert_eq!(served.list.header().fetched_at, "2023-11-14T21:56:40Z");
    let body: serde_json::Value =
        serde_json::from_slice(&served.list.response_body(served.source)).unwrap();
    assert_eq!(body["onlyQuoteAsset"], "USDT");
    assert_eq!(body["symbols"][0]["stepSize"], "0.001");
    assert_eq!(
        fx.store
            .raw(&keys::original_last_good(Market::Spot))
            .unwrap(),
        theirs.to_vec(),
        "untouched"
    );
    // Ours, once there, comes first.
    let list = symbols_core::symbols::StoredList::build(Market::Spot, "u", "t".into(), &[]);
    fx.store
        .put(&keys::document_last_good(Market::Spot), list.as_bytes());
    let served = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(served.source, symbols_core::symbols::Source::LastGood);
    // A validated refresh then replaces theirs with the same kind of value.
    fx.store.put(&keys::document_last_good(Market::Spot), b"");
    fx.push(mixed(3, 0, "LIMIT"));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Stored(_)
    ));
    let array: serde_json::Value = serde_json::from_slice(
        &fx.store
            .raw(&keys::original_last_good(Market::Spot))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(array.as_array().map(Vec::len), Some(3));
}

#[test]
fn a_document_of_the_previous_version_under_the_originals_key_is_read_then_replaced() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    let old = symbols_core::symbols::StoredList::build(
        Market::Spot,
        "https://api.binance.com",
        "2026-11-01T00:00:00Z".into(),
        &[],
    );
    fx.store
        .put(&keys::original_last_good(Market::Spot), old.as_bytes());
    fx.push(status(500, None));
    fx.push(status(500, None));
    let served = block_on(svc.list(Market::Spot, None)).unwrap();
    assert_eq!(
        (served.status, served.source),
        (CacheStatus::Stale, symbols_core::symbols::Source::LastGood)
    );
    assert_eq!(served.list.as_bytes(), old.as_bytes());
    fx.push(ok(4));
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert!(fx
        .store
        .raw(&keys::original_last_good(Market::Spot))
        .unwrap()
        .starts_with(b"[{"));
}

#[test]
fn a_request_that_waited_for_another_refresh_is_a_miss() {
    let (store, http) = (MemoryStore::new(), ScriptedHttp::default());
    let svc = std::rc::Rc::new(counting(&store, &http, None));
    store.put(&keys::refresh_lock(Market::Spot), b"someone-else");
    let waiting = svc.list(Market::Spot, None);
    let other = async {
        // The holder finishes: its list lands and the lock goes.
        svc.clock.sleep(0).await;
        let list = symbols_core::symbols::StoredList::build(Market::Spot, "u", "t".into(), &[]);
        store.put(&keys::document(Market::Spot), list.as_bytes());
        let _ = store
            .exec(vec![Cmd::Del(keys::refresh_lock(Market::Spot))])
            .await;
    };
    let (served, ()) = block_on(futures::future::join(waiting, other));
    let served = served.unwrap();
    assert_eq!(served.status, CacheStatus::Miss);
    assert_eq!(http.calls.borrow().len(), 0);
    block_on(svc.record(Market::Spot, served.status));
    assert_eq!(store.int(&keys::cache_miss(Market::Spot)), 1);
    assert_eq!(store.int(&keys::cache_hit(Market::Spot)), 0);
}

#[test]
fn waiters_in_the_isolate_take_the_holders_list_instead_of_reading_redis() {
    let store = MemoryStore::new();
    let http = GatedHttp::default();
    let config = Config::resolve(|_| None).unwrap();
    let svc = std::rc::Rc::new(Service::new(
        &store,
        &http,
        YieldingClock::default(),
        config,
        Logger::null(),
    ));
    let holder = svc.list(Market::Spot, None);
    let waiters = futures::future::join_all((0..5).map(|_| svc.list(Market::Spot, None)));
    let open = async {
        for _ in 0..20 {
            YieldingClock::default().sleep(0).await;
        }
        http.open.set(true);
    };
    let (first, rest, ()) = block_on(futures::future::join3(holder, waiters, open));
    let first = first.unwrap();
    assert_eq!(http.calls.get(), 1, "single flight");
    for w in rest {
        let w = w.unwrap();
        assert_eq!(
            (w.status, w.list.as_bytes()),
            (CacheStatus::Miss, first.list.as_bytes())
        );
    }
    // Nobody read the document back from Redis: the five waiters took the holder's copy.
    assert!(
        store.reply_bytes() < first.list.as_bytes().len() as u64,
        "{} bytes read",
        store.reply_bytes()
    );
}

#[test]
fn the_ccxt_markets_are_stored_after_the_lists_extended_and_repaired_with_them() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    let Refresh::Stored(_) = block_on(svc.refresh(Market::Spot, Trigger::Cron)) else {
        panic!("refresh")
    };
    let ccxt = fx
        .store
        .raw(&keys::ccxt(Market::Spot))
        .expect("ccxt markets");
    let v: serde_json::Value = serde_json::from_slice(&ccxt).unwrap();
    assert_eq!(v["count"], 10);
    assert_eq!(v["markets"][0]["symbol"], "S0/USDT");
    assert_eq!(v["markets"][0]["precision"]["price"], 0.01);
    assert_eq!(fx.store.ttl_ms(&keys::ccxt(Market::Spot)), Some(300_000));
    assert_eq!(fx.store.ttl_ms(&keys::ccxt_last_good(Market::Spot)), None);
    let stored: serde_json::Value =
        serde_json::from_slice(&fx.store.raw(&keys::stored_meta(Market::Spot)).unwrap()).unwrap();
    assert_eq!(stored["ccxtVersion"], v["version"], "recorded once stored");

    let hit = block_on(svc.ccxt(Market::Spot, None)).unwrap();
    assert_eq!(hit.status, CacheStatus::Hit);
    assert_eq!(hit.redis_round_trips, 1);
    assert_eq!(hit.list.as_bytes(), &ccxt[..]);

    // Unchanged: only TTLs and end checks, the ccxt pair among them.
    let before = fx.store.arg_bytes();
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert!(fx.store.arg_bytes() - before < 2_500);
    assert_eq!(fx.store.raw(&keys::ccxt(Market::Spot)).unwrap(), ccxt);

    // The primary garbage while our document is current: the last good markets answer
    // (STALE, no refresh per request), and the next refresh repairs the primary.
    fx.store.put(
        &keys::ccxt(Market::Spot),
        b"{\"market\":\"spot\",\"markets\":[",
    );
    let calls = fx.calls();
    let stale = block_on(svc.ccxt(Market::Spot, None)).unwrap();
    assert_eq!(stale.status, CacheStatus::Stale);
    assert_eq!(stale.list.as_bytes(), &ccxt[..]);
    assert_eq!(fx.calls(), calls, "no Binance call");
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert_eq!(fx.store.raw(&keys::ccxt(Market::Spot)).unwrap(), ccxt);

    // A record from before the ccxt markets: the next refresh writes them.
    fx.store.put(&keys::ccxt(Market::Spot), b"");
    fx.store.put(&keys::ccxt_last_good(Market::Spot), b"");
    let old = stored
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "ccxtVersion");
    let old: serde_json::Map<String, serde_json::Value> =
        old.map(|(k, v)| (k.clone(), v.clone())).collect();
    fx.store.put(
        &keys::stored_meta(Market::Spot),
        serde_json::to_string(&old).unwrap().as_bytes(),
    );
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    assert_eq!(
        fx.store.raw(&keys::ccxt_last_good(Market::Spot)).unwrap(),
        ccxt
    );
}

#[test]
fn a_failing_binance_serves_the_last_good_ccxt_markets_then_the_originals() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    block_on(svc.refresh(Market::Spot, Trigger::Cron));
    let last_good = fx.store.raw(&keys::ccxt_last_good(Market::Spot)).unwrap();
    for k in [keys::ccxt(Market::Spot), keys::document(Market::Spot)] {
        fx.store.put(&k, b"");
    }
    fx.push(status(500, None));
    fx.push(status(500, None));
    let stale = block_on(svc.ccxt(Market::Spot, None)).unwrap();
    assert_eq!(stale.status, CacheStatus::Stale);
    assert_eq!(stale.source.as_str(), "last_good");
    assert_eq!(stale.list.as_bytes(), &last_good[..]);
    // Without ours, the original's USDT array is projected (ccxt markets of its objects).
    fx.store.put(&keys::ccxt_last_good(Market::Spot), b"");
    fx.store.put(&keys::document_last_good(Market::Spot), b"");
    fx.push(status(500, None));
    fx.push(status(500, None));
    let original = block_on(svc.ccxt(Market::Spot, None)).unwrap();
    assert_eq!(original.source.as_str(), "original_last_good");
    assert_eq!(original.list.header().count, 10);
    let body: serde_json::Value =
        serde_json::from_slice(&original.list.response_body(original.source)).unwrap();
    assert_eq!(body["onlyQuoteAsset"], "USDT");
    assert_eq!(body["markets"][3]["id"], "S3USDT");
}

// ---- The changes feed (issue 16): recorded by the refresh, read by `Service::changes` ----

/// An exchangeInfo payload of explicit symbols: (name, status, tickSize).
fn payload_of(symbols: &[(&str, &str, &str)]) -> Result<HttpResponse, HttpError> {
    let syms: Vec<String> = symbols
        .iter()
        .map(|(name, status, tick)| {
            format!(
                r#"{{"symbol":"{name}","status":"{status}","baseAsset":"{name}","quoteAsset":"USDT","filters":[{{"filterType":"PRICE_FILTER","tickSize":"{tick}"}}]}}"#
            )
        })
        .collect();
    Ok(HttpResponse {
        status: 200,
        retry_after: None,
        used_weight: None,
        body: format!(r#"{{"timezone":"UTC","symbols":[{}]}}"#, syms.join(",")).into_bytes(),
    })
}

fn page(svc: &Svc<'_>, since: symbols_core::feed::Since, limit: usize) -> symbols_core::feed::Page {
    block_on(svc.changes(Market::Spot, &since, limit)).unwrap()
}

fn event_kinds(p: &symbols_core::feed::Page) -> Vec<(String, String)> {
    p.events
        .iter()
        .map(|e| (e.change.kind.as_str().to_string(), e.change.symbol.clone()))
        .collect()
}

#[test]
fn the_first_refresh_records_no_events_and_a_changed_one_records_each_change() {
    use symbols_core::feed::Since;
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    let base = [
        ("AUSDT", "TRADING", "0.01"),
        ("BUSDT", "TRADING", "0.01"),
        ("CUSDT", "TRADING", "0.01"),
    ];
    fx.push(payload_of(&base));
    let first = match block_on(svc.refresh(Market::Spot, Trigger::Cron)) {
        Refresh::Stored(l) => l,
        other => panic!("{other:?}"),
    };
    assert!(
        fx.store.stream(&keys::changes(Market::Spot)).is_empty(),
        "no previous list: no events"
    );
    let none = page(&svc, Since::Version(first.header().version.clone()), 10);
    assert!(none.events.is_empty() && !none.truncated, "{none:?}");

    // B halts, C's tick changes, A is gone, D is new.
    fx.push(payload_of(&[
        ("BUSDT", "HALT", "0.01"),
        ("CUSDT", "TRADING", "0.001"),
        ("DUSDT", "TRADING", "0.1"),
    ]));
    let trips = fx.store.round_trips();
    let second = match block_on(svc.refresh(Market::Spot, Trigger::Cron)) {
        Refresh::Stored(l) => l,
        other => panic!("{other:?}"),
    };
    // Lock + stored state; the writes (with the replaced document read in the same
    // batch); the ccxt markets on their own; timestamp, counters, events and unlock.
    assert_eq!(
        fx.store.round_trips() - trips,
        4,
        "the diff costs no extra round trip"
    );
    let all = page(&svc, Since::Oldest, 10);
    assert_eq!(
        event_kinds(&all),
        [
            ("status", "BUSDT"),
            ("rules", "CUSDT"),
            ("listed", "DUSDT"),
            ("delisted", "AUSDT")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let e = &all.events[1];
    assert_eq!(e.version, second.header().version);
    assert_eq!(e.change.field.as_deref(), Some("tickSize"));
    assert_eq!(e.change.from, Some(serde_json::json!("0.01")));
    assert_eq!(e.change.to, Some(serde_json::json!("0.001")));
    assert_eq!(e.market, "spot");
    assert_eq!(e.detected_at, "2023-11-14T22:13:20.001Z");
    assert_eq!(e.id.as_deref(), Some("1700000000001-1"));
    assert!(!all.has_more && !all.truncated);
    assert_eq!(all.retained, 4);
    assert_eq!(
        fx.store.int(&keys::changes_recorded(
            Market::Spot,
            symbols_core::changes::Kind::Listed
        )),
        1
    );
    assert_eq!(
        fx.store.int(&keys::changes_recorded(
            Market::Spot,
            symbols_core::changes::Kind::Status
        )),
        1
    );

    // since the first version: everything after it; since the second: nothing.
    assert_eq!(
        page(&svc, Since::Version(first.header().version.clone()), 10)
            .events
            .len(),
        4
    );
    let after = page(&svc, Since::Version(second.header().version.clone()), 10);
    assert!(after.events.is_empty() && !after.truncated);
    // Paging with the cursor.
    let one = page(&svc, Since::Oldest, 3);
    assert!(one.has_more);
    let rest = page(&svc, Since::Cursor(one.next.unwrap()), 3);
    assert_eq!(
        event_kinds(&rest),
        [("delisted".to_string(), "AUSDT".to_string())]
    );
    assert!(!rest.has_more);
    assert_eq!(
        rest.next,
        Some(symbols_core::feed::StreamId {
            ms: 1_700_000_000_001,
            seq: 3
        })
    );
    // A time before the change: all of it; at the detection ms: nothing after.
    assert_eq!(
        page(&svc, Since::Time(1_700_000_000_000), 10).events.len(),
        4
    );
    assert!(page(&svc, Since::Time(1_700_000_000_001), 10)
        .events
        .is_empty());
    // A version never seen: answered from the oldest, flagged.
    let unknown = page(&svc, Since::Version("ffffffffffffffff".into()), 10);
    assert!(unknown.truncated && unknown.events.len() == 4);

    // The same list again: an unchanged refresh records nothing more.
    fx.push(payload_of(&[
        ("BUSDT", "HALT", "0.01"),
        ("CUSDT", "TRADING", "0.001"),
        ("DUSDT", "TRADING", "0.1"),
    ]));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Admin)),
        Refresh::Stored(_)
    ));
    assert_eq!(fx.store.stream(&keys::changes(Market::Spot)).len(), 4);
}

#[test]
fn a_rejected_refresh_records_nothing() {
    use symbols_core::feed::Since;
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    let names: Vec<String> = (0..10).map(|i| format!("S{i}USDT")).collect();
    let full: Vec<(&str, &str, &str)> = names
        .iter()
        .map(|n| (n.as_str(), "TRADING", "0.01"))
        .collect();
    fx.push(payload_of(&full));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Stored(_)
    ));
    // 8 of 10 gone: more than SYMBOLS_MAX_SHRINK_RATIO, rejected by validation.
    fx.push(payload_of(&full[..2]));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Failed { .. }
    ));
    // Malformed: rejected too.
    fx.push(Ok(HttpResponse {
        status: 200,
        retry_after: None,
        used_weight: None,
        body: b"{\"symbols\":[".to_vec(),
    }));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Failed { .. }
    ));
    assert!(fx.store.stream(&keys::changes(Market::Spot)).is_empty());
    assert!(page(&svc, Since::Oldest, 10).events.is_empty());
}

#[test]
fn history_trimmed_past_since_is_flagged() {
    use symbols_core::feed::Since;
    let fx = Fixture::new();
    let svc = fx.service(&[("CHANGES_MAX_EVENTS", "3")]);
    let mut status = ["TRADING"; 4];
    let list = |s: &[&'static str; 4]| {
        payload_of(&[
            ("AUSDT", s[0], "1"),
            ("BUSDT", s[1], "1"),
            ("CUSDT", s[2], "1"),
            ("DUSDT", s[3], "1"),
        ])
    };
    fx.push(list(&status));
    let v0 = match block_on(svc.refresh(Market::Spot, Trigger::Cron)) {
        Refresh::Stored(l) => l.header().version.clone(),
        other => panic!("{other:?}"),
    };
    // Two refreshes, two status events each: 4 events into a stream that keeps 3.
    for round in 0..2 {
        status[2 * round] = "BREAK";
        status[2 * round + 1] = "BREAK";
        fx.push(list(&status));
        assert!(matches!(
            block_on(svc.refresh(Market::Spot, Trigger::Cron)),
            Refresh::Stored(_)
        ));
    }
    let stream = fx.store.stream(&keys::changes(Market::Spot));
    assert_eq!(stream.len(), 3);
    // The same clock ms both times: the second refresh's ids still come after the first's.
    assert_eq!(stream[0].0, "1700000000001-1");
    assert_eq!(stream[2].0, "1700000000002-1");
    let old = page(&svc, Since::Version(v0), 10);
    assert!(old.truncated, "one event after v0 was trimmed");
    assert_eq!(old.events.len(), 3);
    let oldest = page(&svc, Since::Oldest, 10);
    assert!(oldest.truncated);
    // From the oldest retained event's cursor on, nothing is missing.
    let from_cursor = page(
        &svc,
        Since::Cursor(symbols_core::feed::StreamId {
            ms: 1_700_000_000_001,
            seq: 1,
        }),
        10,
    );
    assert!(!from_cursor.truncated && from_cursor.events.len() == 2);
}

#[test]
fn the_webhook_gets_each_refreshs_events_once_and_failures_are_counted() {
    let fx = Fixture::new();
    let svc = fx.service(&[("CHANGES_WEBHOOK_URL", "http://hooks.invalid/s3cret")]);
    fx.push(payload_of(&[
        ("AUSDT", "TRADING", "1"),
        ("BUSDT", "TRADING", "1"),
    ]));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Stored(_)
    ));
    assert_eq!(
        svc.pending_changes(),
        0,
        "the first refresh has no events to send"
    );
    fx.push(payload_of(&[
        ("AUSDT", "HALT", "1"),
        ("BUSDT", "TRADING", "1"),
    ]));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Stored(_)
    ));
    assert_eq!(svc.pending_changes(), 1);
    assert!(
        fx.http.posts.borrow().is_empty(),
        "nothing is sent during the refresh"
    );
    assert_eq!(block_on(svc.deliver_changes()), 1);
    {
        let posts = fx.http.posts.borrow();
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].0.url, "http://hooks.invalid/s3cret");
        assert!(posts[0].0.timeout_ms <= 5_000);
        let body: serde_json::Value = serde_json::from_slice(&posts[0].1).unwrap();
        assert_eq!(body["market"], "spot");
        assert_eq!(body["count"], 1);
        assert_eq!(body["events"][0]["type"], "status");
        assert_eq!(body["events"][0]["to"], "HALT");
    }
    assert_eq!(fx.store.int(&keys::changes_webhook(Market::Spot, true)), 1);
    // A failing receiver: one attempt, counted, never retried.
    fx.http.post_script.borrow_mut().push_back(Ok(500));
    fx.push(payload_of(&[
        ("AUSDT", "TRADING", "1"),
        ("BUSDT", "TRADING", "1"),
    ]));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Stored(_)
    ));
    fx.http
        .post_script
        .borrow_mut()
        .push_back(Err(HttpError::Timeout));
    fx.push(payload_of(&[
        ("AUSDT", "HALT", "1"),
        ("BUSDT", "TRADING", "1"),
    ]));
    assert!(matches!(
        block_on(svc.refresh(Market::Spot, Trigger::Cron)),
        Refresh::Stored(_)
    ));
    assert_eq!(block_on(svc.deliver_changes()), 0);
    assert_eq!(block_on(svc.deliver_changes()), 0, "nothing left to retry");
    assert_eq!(fx.http.posts.borrow().len(), 3);
    assert_eq!(fx.store.int(&keys::changes_webhook(Market::Spot, false)), 2);
    assert_eq!(fx.store.int(&keys::changes_webhook(Market::Spot, true)), 1);
}

/// `payload(n)` as Binance sends it, `serverTime` (which changes on every call) included.
fn timed(n: usize, server_time: u64) -> Result<HttpResponse, HttpError> {
    let body = String::from_utf8(payload(n)).unwrap_or_default().replacen(
        r#"{"timezone":"UTC","#,
        &format!(r#"{{"timezone":"UTC","serverTime":{server_time},"#),
        1,
    );
    Ok(HttpResponse {
        status: 200,
        retry_after: None,
        used_weight: None,
        body: body.into_bytes(),
    })
}

fn del(fx: &Fixture, key: String) {
    block_on(fx.store.exec(vec![Cmd::Del(key)])).unwrap();
}

#[test]
fn a_cron_with_the_stored_payload_processes_nothing() {
    let fx = Fixture::new();
    let svc = fx.service(&[]);
    let spot = Market::Spot;
    fx.push(timed(2000, 1_700_000_000_001));
    let Refresh::Stored(first) = block_on(svc.refresh(spot, Trigger::Cron)) else {
        panic!("the first refresh stores")
    };
    let record = |fx: &Fixture| -> serde_json::Value {
        serde_json::from_slice(&fx.store.raw(&keys::stored_meta(spot)).unwrap()).unwrap()
    };
    let digest = record(&fx)["payloadDigest"].as_str().unwrap().to_string();
    let prefix = format!("{}-", symbols_core::exchange_info::digest::PROCESSING);
    assert!(digest.starts_with(&prefix), "{digest}");
    let doc = fx.store.raw(&keys::document(spot)).unwrap();

    // The same payload, a later serverTime: nothing processed, every TTL extended.
    fx.store.set_now(1_700_000_200_000);
    svc.clock.now.set(1_700_000_200_000);
    fx.push(timed(2000, 1_700_000_200_002));
    let before = fx.store.arg_bytes();
    let current = block_on(svc.refresh(spot, Trigger::Cron));
    let sent = fx.store.arg_bytes() - before;
    let Refresh::Current(stored) = current else {
        panic!("{current:?}")
    };
    assert_eq!(stored.version, first.header().version);
    assert!(sent < 2_000, "a current cron sent {sent} bytes");
    assert_eq!(fx.store.raw(&keys::document(spot)).unwrap(), doc);
    for key in [
        keys::document(spot),
        keys::original_list(spot),
        keys::ccxt(spot),
        keys::rules(spot),
    ] {
        assert_eq!(fx.store.ttl_ms(&key), Some(300_000), "{key} extended");
    }
    assert_eq!(fx.store.int(&keys::last_refresh_ts(spot)), 1_700_000_200);
    assert_eq!(fx.store.int(&keys::warmup_success(spot)), 2);
    let outcome: serde_json::Value =
        serde_json::from_slice(&fx.store.raw(&keys::last_outcome(spot)).unwrap()).unwrap();
    assert_eq!(
        (outcome["ok"].clone(), outcome["trigger"].clone()),
        (true.into(), "cron".into())
    );
    assert!(
        fx.store.raw(&keys::refresh_lock(spot)).is_none(),
        "unlocked"
    );

    // A value lost with its pair intact is restored from the pair, still processing nothing.
    del(&fx, keys::original_list(spot));
    del(&fx, keys::rules_last_good(spot));
    fx.push(timed(2000, 3));
    assert!(matches!(
        block_on(svc.refresh(spot, Trigger::Cron)),
        Refresh::Current(_)
    ));
    assert_eq!(
        fx.store.raw(&keys::original_list(spot)),
        fx.store.raw(&keys::original_last_good(spot))
    );
    assert!(fx.store.raw(&keys::original_list(spot)).is_some());

    // A value and its pair both gone: only processing can restore it, so the cron does.
    del(&fx, keys::document(spot));
    del(&fx, keys::document_last_good(spot));
    fx.push(timed(2000, 4));
    assert!(matches!(
        block_on(svc.refresh(spot, Trigger::Cron)),
        Refresh::Stored(_)
    ));
    assert_eq!(fx.store.raw(&keys::document(spot)).unwrap(), doc);

    // An admin refresh and a request process the payload whatever the digest says.
    fx.push(timed(2000, 5));
    assert!(matches!(
        block_on(svc.refresh(spot, Trigger::Admin)),
        Refresh::Stored(_)
    ));

    // A record from before digests: processed once, then named by the payload's digest.
    let mut old = record(&fx);
    old.as_object_mut().unwrap().remove("payloadDigest");
    fx.store
        .put(&keys::stored_meta(spot), old.to_string().as_bytes());
    fx.push(timed(2000, 6));
    assert!(matches!(
        block_on(svc.refresh(spot, Trigger::Cron)),
        Refresh::Stored(_)
    ));
    assert_eq!(record(&fx)["payloadDigest"], digest.as_str());
    fx.push(timed(2000, 7));
    assert!(matches!(
        block_on(svc.refresh(spot, Trigger::Cron)),
        Refresh::Current(_)
    ));

    // Any other change is processed and stored as ever.
    fx.push(timed(2001, 8));
    let Refresh::Stored(changed) = block_on(svc.refresh(spot, Trigger::Cron)) else {
        panic!("a changed payload is stored")
    };
    assert_eq!(changed.header().count, 2001);
    assert_ne!(record(&fx)["payloadDigest"], digest.as_str());
}
