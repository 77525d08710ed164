//! [`FakeExchange`]: the shared state behind the server (payloads, fault scripts, counters)
//! and the Rust control API over it.
//!
//! Per market, each exchangeInfo request takes, in order of precedence: the next queued
//! fault; else the sticky fault; else, in fail-every-other mode, a 500 on every second
//! request (deterministic alternation: 1st ok, 2nd fails, 3rd ok, ...); else normal service.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use tokio::sync::watch;

use crate::fault::Fault;
use crate::fixtures;
use crate::market::Market;
use crate::payload::{Payload, PayloadError};

/// The fault used by fail-every-other mode.
pub const FAIL_EVERY_OTHER_FAULT: Fault = Fault::Status {
    code: 500,
    retry_after: None,
};

/// Counters and script state of one market, as served by `GET /__control/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketStats {
    /// exchangeInfo requests seen (GET and HEAD, faulted or not) since start / reset.
    pub requests: usize,
    /// Of those, how many carried an `X-MBX-APIKEY` header.
    pub with_api_key: usize,
    /// The last `X-MBX-APIKEY` value seen.
    #[serde(default)]
    pub last_api_key: Option<String>,
    /// The `X-MBX-USED-WEIGHT-1M` value of the last response (20 per spot call, 1 per futures call).
    #[serde(default)]
    pub used_weight: u64,
    /// Faults still queued.
    #[serde(default)]
    pub queued: usize,
    /// The sticky fault, if any.
    #[serde(default)]
    pub sticky: Option<Fault>,
    /// Whether fail-every-other mode is on.
    #[serde(default)]
    pub fail_every_other: bool,
}

/// Both markets' [`MarketStats`]: `{"spot":{...},"futures":{...}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Spot counters.
    pub spot: MarketStats,
    /// Futures counters.
    pub futures: MarketStats,
}

impl Stats {
    /// The counters of `market`.
    pub fn market(&self, market: Market) -> &MarketStats {
        match market {
            Market::Spot => &self.spot,
            Market::Futures => &self.futures,
        }
    }
}

/// Body of `POST /__control/faults`:
/// `{"market":"spot","faults":[...],"sticky":null|{...},"fail_every_other":false}`.
///
/// `faults` are appended to the queue. `sticky`: absent = unchanged, `null` = cleared,
/// an object = set. `fail_every_other`: absent = unchanged, a bool = set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultScript {
    /// The market the script applies to.
    pub market: Market,
    /// Faults appended to the queue, consumed one per request.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// `None` = leave unchanged; `Some(None)` = clear; `Some(Some(f))` = set.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub sticky: Option<Option<Fault>>,
    /// `None` = leave unchanged; `Some(b)` = set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_every_other: Option<bool>,
}

/// Distinguishes an explicit `null` (`Some(None)`) from an absent key (`None`, via default).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Fault>>, D::Error> {
    Option::<Fault>::deserialize(d).map(Some)
}

#[derive(Debug, Default)]
struct MarketState {
    queue: VecDeque<Fault>,
    sticky: Option<Fault>,
    fail_every_other: bool,
    alternation: u64,
    requests: usize,
    with_api_key: usize,
    last_api_key: Option<String>,
    used_weight: u64,
}

/// The served documents of one market.
#[derive(Debug)]
struct Documents {
    full: Arc<Payload>,
    /// `full` without `permissionSets` (spot `showPermissionSets=false`).
    stripped: Arc<Payload>,
}

impl Documents {
    fn new(payload: Payload) -> Result<Self, PayloadError> {
        let stripped = if payload.has_permission_sets() {
            Arc::new(payload.without_permission_sets()?)
        } else {
            Arc::new(payload.clone())
        };
        Ok(Documents {
            full: Arc::new(payload),
            stripped,
        })
    }
}

#[derive(Debug)]
struct Slot {
    /// Replaceable ([`FakeExchange::set_payload`]): a listing change between two fetches.
    docs: Mutex<Arc<Documents>>,
    state: Mutex<MarketState>,
}

impl Slot {
    fn new(docs: Arc<Documents>) -> Self {
        Slot {
            docs: Mutex::new(docs),
            state: Mutex::new(MarketState::default()),
        }
    }

    fn docs(&self) -> Arc<Documents> {
        self.docs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn lock(&self) -> MutexGuard<'_, MarketState> {
        // A panic while holding this lock cannot leave the counters inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stats(&self) -> MarketStats {
        let st = self.lock();
        MarketStats {
            requests: st.requests,
            with_api_key: st.with_api_key,
            last_api_key: st.last_api_key.clone(),
            used_weight: st.used_weight,
            queued: st.queue.len(),
            sticky: st.sticky.clone(),
            fail_every_other: st.fail_every_other,
        }
    }
}

#[derive(Debug)]
struct Inner {
    spot: Slot,
    futures: Slot,
    /// Bumped to release requests held by [`Fault::Stall`] / [`Fault::Delay`].
    release: watch::Sender<u64>,
    shutting_down: AtomicBool,
    log_requests: AtomicBool,
}

/// What the server should do with one admitted exchangeInfo request.
#[derive(Debug)]
pub(crate) struct Admission {
    pub(crate) fault: Option<Fault>,
    pub(crate) used_weight: u64,
}

/// Handle to a fake exchange: payloads, per-market fault scripts and counters.
/// Cheap to clone (an `Arc` inside); all clones share the same state.
#[derive(Debug, Clone)]
pub struct FakeExchange {
    inner: Arc<Inner>,
}

impl Default for FakeExchange {
    fn default() -> Self {
        Self::new()
    }
}

fn recorded_documents() -> &'static (Arc<Documents>, Arc<Documents>) {
    static CELL: OnceLock<(Arc<Documents>, Arc<Documents>)> = OnceLock::new();
    CELL.get_or_init(|| {
        let load = |bytes: &'static [u8], name: &str| {
            Payload::parse(bytes)
                .and_then(Documents::new)
                .map(Arc::new)
                // Embedded at compile time and checked by the tests: a failure is a build defect.
                .unwrap_or_else(|e| panic!("embedded fixture {name} does not index: {e}"))
        };
        (
            load(fixtures::spot(), "spot"),
            load(fixtures::futures(), "futures"),
        )
    })
}

impl FakeExchange {
    /// A fake exchange serving the recorded fixtures (spot 2023-09, futures 2025-12).
    /// The fixtures are inflated and indexed once per process and shared.
    pub fn new() -> Self {
        let (spot, futures) = recorded_documents();
        Self::from_documents(spot.clone(), futures.clone())
    }

    /// A fake exchange serving other exchangeInfo documents (e.g. [`fixtures::spot_2020`]
    /// or [`crate::synth_spot_payload`]).
    ///
    /// # Errors
    /// [`PayloadError`] when either document is not an exchangeInfo JSON object.
    pub fn from_payloads(
        spot: impl Into<axum::body::Bytes>,
        futures: impl Into<axum::body::Bytes>,
    ) -> Result<Self, PayloadError> {
        let spot = Arc::new(Documents::new(Payload::parse(spot)?)?);
        let futures = Arc::new(Documents::new(Payload::parse(futures)?)?);
        Ok(Self::from_documents(spot, futures))
    }

    /// Like [`from_payloads`](Self::from_payloads) with the recorded futures fixture.
    ///
    /// # Errors
    /// [`PayloadError`] when `spot` is not an exchangeInfo JSON object.
    pub fn with_spot_payload(spot: impl Into<axum::body::Bytes>) -> Result<Self, PayloadError> {
        let spot = Arc::new(Documents::new(Payload::parse(spot)?)?);
        Ok(Self::from_documents(spot, recorded_documents().1.clone()))
    }

    fn from_documents(spot: Arc<Documents>, futures: Arc<Documents>) -> Self {
        let (release, _) = watch::channel(0);
        FakeExchange {
            inner: Arc::new(Inner {
                spot: Slot::new(spot),
                futures: Slot::new(futures),
                release,
                shutting_down: AtomicBool::new(false),
                log_requests: AtomicBool::new(false),
            }),
        }
    }

    fn slot(&self, market: Market) -> &Slot {
        match market {
            Market::Spot => &self.inner.spot,
            Market::Futures => &self.inner.futures,
        }
    }

    /// The full document served for `market`.
    pub fn payload(&self, market: Market) -> Arc<Payload> {
        self.slot(market).docs().full.clone()
    }

    /// The document served for spot `showPermissionSets=false` (same as [`payload`](Self::payload)
    /// when it has no `permissionSets`).
    pub fn payload_without_permission_sets(&self, market: Market) -> Arc<Payload> {
        self.slot(market).docs().stripped.clone()
    }

    /// Serves `payload` for `market` from now on (requests in flight finish with the old
    /// one): what Binance does when it lists, delists or changes a symbol's rules.
    ///
    /// # Errors
    /// [`PayloadError`] when `payload` is not an exchangeInfo JSON object (nothing changes).
    pub fn set_payload(
        &self,
        market: Market,
        payload: impl Into<axum::body::Bytes>,
    ) -> Result<(), PayloadError> {
        let docs = Arc::new(Documents::new(Payload::parse(payload)?)?);
        *self
            .slot(market)
            .docs
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = docs;
        Ok(())
    }

    /// Appends `fault` to the market's queue (consumed by the next request that has no
    /// earlier queued fault).
    pub fn push_fault(&self, market: Market, fault: Fault) {
        self.slot(market).lock().queue.push_back(fault);
    }

    /// Appends several faults, in order.
    pub fn push_faults(&self, market: Market, faults: impl IntoIterator<Item = Fault>) {
        self.slot(market).lock().queue.extend(faults);
    }

    /// Sets (or clears with `None`) the fault applied to every request once the queue is empty.
    pub fn set_sticky(&self, market: Market, fault: Option<Fault>) {
        self.slot(market).lock().sticky = fault;
    }

    /// Turns fail-every-other mode on or off (restarting the alternation: the next
    /// request succeeds, the one after fails with a 500 `-1001`, and so on).
    pub fn set_fail_every_other(&self, market: Market, on: bool) {
        let mut st = self.slot(market).lock();
        st.fail_every_other = on;
        st.alternation = 0;
    }

    /// Applies a [`FaultScript`] (what `POST /__control/faults` does).
    pub fn apply_script(&self, script: FaultScript) {
        let mut st = self.slot(script.market).lock();
        st.queue.extend(script.faults);
        if let Some(sticky) = script.sticky {
            st.sticky = sticky;
        }
        if let Some(on) = script.fail_every_other {
            st.fail_every_other = on;
            st.alternation = 0;
        }
    }

    /// exchangeInfo requests seen for `market` since start / [`reset`](Self::reset).
    pub fn requests(&self, market: Market) -> usize {
        self.slot(market).lock().requests
    }

    /// Of [`requests`](Self::requests), those carrying `X-MBX-APIKEY`.
    pub fn requests_with_api_key(&self, market: Market) -> usize {
        self.slot(market).lock().with_api_key
    }

    /// The last `X-MBX-APIKEY` value seen for `market`.
    pub fn last_api_key(&self, market: Market) -> Option<String> {
        self.slot(market).lock().last_api_key.clone()
    }

    /// The current `X-MBX-USED-WEIGHT-1M` counter of `market` (never decays; reset clears it).
    pub fn used_weight(&self, market: Market) -> u64 {
        self.slot(market).lock().used_weight
    }

    /// Faults still queued for `market`.
    pub fn queued(&self, market: Market) -> usize {
        self.slot(market).lock().queue.len()
    }

    /// Counters of both markets.
    pub fn stats(&self) -> Stats {
        Stats {
            spot: self.inner.spot.stats(),
            futures: self.inner.futures.stats(),
        }
    }

    /// Clears queues, sticky faults, fail-every-other mode and all counters of both markets,
    /// and releases requests currently held by [`Fault::Stall`] or [`Fault::Delay`].
    pub fn reset(&self) {
        for market in Market::ALL {
            *self.slot(market).lock() = MarketState::default();
        }
        self.release_held();
    }

    /// Enables or disables one JSON log line per request on stdout (the binary enables it).
    pub fn set_logging(&self, on: bool) {
        self.inner.log_requests.store(on, Ordering::Relaxed);
    }

    pub(crate) fn logging(&self) -> bool {
        self.inner.log_requests.load(Ordering::Relaxed)
    }

    /// Counts one exchangeInfo request and picks its fault (queue, then sticky, then
    /// fail-every-other).
    pub(crate) fn admit(&self, market: Market, api_key: Option<&str>) -> Admission {
        let mut st = self.slot(market).lock();
        st.requests += 1;
        st.used_weight += market.weight();
        if let Some(key) = api_key {
            st.with_api_key += 1;
            st.last_api_key = Some(key.to_string());
        }
        let fault = if let Some(f) = st.queue.pop_front() {
            Some(f)
        } else if let Some(f) = st.sticky.clone() {
            Some(f)
        } else if st.fail_every_other {
            st.alternation += 1;
            (st.alternation % 2 == 0).then_some(FAIL_EVERY_OTHER_FAULT)
        } else {
            None
        };
        Admission {
            fault,
            used_weight: st.used_weight,
        }
    }

    /// Sleeps for `duration` unless released first (reset or shutdown). Returns `true` when
    /// the full duration elapsed.
    pub(crate) async fn hold(&self, duration: Duration) -> bool {
        let mut rx = self.inner.release.subscribe();
        if self.inner.shutting_down.load(Ordering::SeqCst) {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            _ = rx.changed() => false,
        }
    }

    fn release_held(&self) {
        self.inner
            .release
            .send_modify(|epoch| *epoch = epoch.wrapping_add(1));
    }

    /// Marks the server as running (held requests wait again).
    pub(crate) fn arm(&self) {
        self.inner.shutting_down.store(false, Ordering::SeqCst);
    }

    /// Marks the server as shutting down and releases every held request.
    pub(crate) fn begin_shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        self.release_held();
    }

    pub(crate) fn documents(&self, market: Market, without_permission_sets: bool) -> Arc<Payload> {
        let docs = self.slot(market).docs();
        if without_permission_sets {
            docs.stripped.clone()
        } else {
            docs.full.clone()
        }
    }
}
