//! One single-flight refresh of a market: lock, fetch, process, validate, then write both
//! systems' values from that one fetch (our document and the original's array), or, when
//! the list is the one already stored, only extend their TTLs; the counters, the
//! timestamp and the unlock go last, once the writes are known to have succeeded.
//!
//! Round trips: (1) lock + what is stored + back-off; (2) the writes or the TTL
//! extensions (plus one when a key to extend had gone); (3) timestamp, counters, outcome,
//! unlock. An unchanged refresh sends a few hundred bytes instead of megabytes.
//!
//! Parts: `write` (a changed list's writes), `keep` (an unchanged list's probe, TTLs
//! and repairs, and the unchanged cron that processes nothing).

use serde::{Deserialize, Serialize};

pub(crate) mod keep;
pub(crate) mod write;

use super::{LastOutcome, Service, Trigger};
use crate::ccxt::CcxtList;
use crate::changes;
use crate::exchange_info::{self, digest, ProcessError};
use crate::feed::{self, Recorded};
use crate::keys;
use crate::log::{Level, Line};
use crate::market::Market;
use crate::original::{self, OriginalList};
use crate::ports::{Clock, Cmd, Http, Reply, Store};
use crate::rules::RulesSet;
use crate::symbols::{StoredList, Symbol};
use crate::time::rfc3339;
use crate::upstream::{self, FailureReason, FetchError};

/// What the last full write stored (`symbols-edge:<m>:stored`): written with the values in
/// the same pipeline, read at the start of every refresh instead of the values themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    /// Our document's version (its `ETag`).
    pub version: String,
    /// The content hash of the original's array.
    pub original_version: String,
    /// Symbols in our document.
    pub count: usize,
    /// Symbols in the original's array (USDT only).
    pub original_count: usize,
    /// When this version was first fetched (our document's `fetchedAt`).
    pub fetched_at: String,
    /// Our ccxt markets' version (they hold every raw field, so they can change when
    /// neither of the others does). Empty in a record from before them: not unchanged.
    #[serde(default)]
    pub ccxt_version: String,
    /// What our full records (`symbols-edge:<m>:rules`) were built from:
    /// `rules_stamp` of the ccxt version (both hold every raw field). Empty in a record
    /// from before them, or after they were lost: the next refresh builds them.
    #[serde(default)]
    pub rules_version: String,
    /// The digest of the payload every value was built from
    /// ([`exchange_info::digest`], which names the build's processing): a cron that
    /// fetches a payload of this digest processes nothing. Empty in a record from before it.
    #[serde(default)]
    pub payload_digest: String,
}

impl Stored {
    /// Whether every value of this record is stored and this build's: our document, the
    /// original's array, the ccxt markets and the full records, all from the payload of
    /// `payload_digest`.
    fn built_from(&self, digest: &str) -> bool {
        !self.payload_digest.is_empty()
            && self.payload_digest == digest
            && !self.ccxt_version.is_empty()
            && self.rules_version == rules_stamp(&self.ccxt_version)
    }
}

/// Names the full records built from `ccxt_version` by this build's projection
/// ([`crate::rules::FORMAT`] changes when the projection does).
fn rules_stamp(ccxt_version: &str) -> String {
    format!("{}-{ccxt_version}", crate::rules::FORMAT)
}

/// Result of one refresh attempt.
#[derive(Clone, Debug)]
pub enum Refresh {
    /// A validated list is stored (newly written, or unchanged and its TTLs extended).
    Stored(StoredList),
    /// Fetched and validated, but writing it failed: good to serve once, counted as a
    /// failed warmup.
    NotStored {
        /// The list.
        list: StoredList,
        /// Log-safe store error.
        error: String,
    },
    /// A cron fetched the very payload the stored values were built from: nothing was
    /// processed, the values' TTLs were extended (and a value lost meanwhile restored from
    /// its pair). Only a trigger that does not need the list gets this
    /// ([`Trigger::needs_list`]).
    Current(Stored),
    /// Another refresh holds the lock.
    Busy {
        /// What is stored, if readable.
        previous: Option<Stored>,
    },
    /// Upstream or validation failed; nothing was overwritten.
    Failed {
        /// Why.
        reason: FailureReason,
        /// Log-safe detail.
        detail: String,
        /// Seconds until the upstream may be called again (429/418 back-off).
        retry_after_secs: Option<u64>,
        /// What is stored, if readable.
        previous: Option<Stored>,
        /// Last upstream HTTP status.
        status: Option<u16>,
    },
    /// Redis is unreachable: cannot lock, read or store.
    StoreDown(String),
}

/// Every value from one fetch (and the symbols, for the changes diff).
struct Fresh {
    doc: StoredList,
    original: OriginalList,
    ccxt: CcxtList,
    /// Our full records, built only when the stored ones are not of this payload.
    rules: Option<RulesSet>,
    symbols: Vec<Symbol>,
    /// The payload's digest.
    digest: String,
}

/// What the write batch read before overwriting, when our document's version changed:
/// the previous document (the list the changes are computed against) and the newest
/// change id (new ids go after it).
struct Prior {
    document: Option<Vec<u8>>,
    /// The newest ms already used: the newest change id's, or the previous version's
    /// (it may have had no events).
    floor_ms: Option<u64>,
}

/// The counts a new list is validated against.
#[derive(Clone, Copy, Debug, Default)]
struct Baseline {
    count: Option<usize>,
    original_count: Option<usize>,
}

/// `last_outcome.reason` when the list was good but Redis did not take it.
const WRITE_FAILED: &str = "redis_write";

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// One single-flight refresh: lock, fetch, process, validate, store; or record why not.
    pub async fn refresh(&self, market: Market, trigger: Trigger) -> Refresh {
        let started = self.clock.now_ms();
        let owner = self.clock.nonce();
        let lock_key = keys::refresh_lock(market);
        let first = self
            .store
            .exec(vec![
                Cmd::Set {
                    key: lock_key.clone(),
                    value: owner.clone().into_bytes(),
                    ex: None,
                    px: Some(self.config.lock_ms),
                    nx: true,
                },
                Cmd::Get(keys::stored_meta(market)),
                Cmd::Get(keys::upstream_blocked_until(market)),
            ])
            .await;
        let mut replies = match first {
            Ok(r) => r.into_iter(),
            Err(e) => return Refresh::StoreDown(e.to_string()),
        };
        let locked = matches!(replies.next(), Some(Reply::Ok));
        let previous: Option<Stored> = replies
            .next()
            .and_then(Reply::into_bytes)
            .and_then(|b| serde_json::from_slice(&b).ok());
        let blocked_until = replies.next().and_then(|r| r.as_int()).unwrap_or(0);
        if !locked {
            let line = Line::new(Level::Info, "refresh_skipped")
                .str("market", market.as_str())
                .str("trigger", trigger.as_str())
                .str("why", "lock held");
            self.log.write(line);
            return Refresh::Busy { previous };
        }
        let now = self.clock.now_ms() as i64;
        let fetched = if blocked_until > now {
            Err(FetchError {
                reason: FailureReason::RateLimited,
                detail: "upstream back-off in effect (Retry-After)".into(),
                retry_after_secs: Some(((blocked_until - now) as u64).div_ceil(1000)),
                status: None,
            })
        } else {
            match self.fetch_payload(market).await {
                Err(e) => Err(e),
                Ok(payload) => {
                    let digest = digest::digest(&payload.base, &payload.body);
                    // The payload every stored value was built from: a cron processes
                    // nothing, only keeps the values (a request or an admin refresh needs
                    // the list in hand).
                    let current = previous
                        .as_ref()
                        .filter(|p| !trigger.needs_list() && p.built_from(&digest));
                    if let Some(p) = current {
                        if self.keep_current(market, p).await.is_some() {
                            let close = Close {
                                market,
                                trigger,
                                started,
                                lock: (lock_key, owner),
                            };
                            return self.close_current(close, p.clone()).await;
                        }
                    }
                    let baseline = match &previous {
                        Some(p) => Baseline {
                            count: Some(p.count),
                            original_count: Some(p.original_count),
                        },
                        None => self.baseline_from_original(market).await,
                    };
                    let rules_for = previous.as_ref().map(|p| p.rules_version.as_str());
                    self.process(market, payload, digest, baseline, rules_for)
                }
            }
        };
        // The writes: everything, or only TTLs when the stored list is this one.
        let unchanged = |fresh: &Fresh| {
            previous.as_ref().filter(|p| {
                p.version == fresh.doc.header().version
                    && p.original_version == fresh.original.version
            })
        };
        let fetched = fetched.map(|mut fresh| {
            if let Some(p) = unchanged(&fresh) {
                // The stored version's time: one `fetchedAt` per version, whichever tier serves it.
                fresh.doc = fresh.doc.with_fetched_at(&p.fetched_at);
                fresh.ccxt = fresh.ccxt.with_fetched_at(&p.fetched_at);
                if let Some(rules) = &mut fresh.rules {
                    rules.header.fetched_at.clone_from(&p.fetched_at);
                }
            }
            fresh
        });
        let mut changed = true;
        let mut prior = None;
        let mut restamp: Option<Stored> = None;
        let written = match &fetched {
            Ok(fresh) => {
                changed = unchanged(fresh).is_none();
                let same_ccxt = previous
                    .as_ref()
                    .is_some_and(|p| !changed && p.ccxt_version == fresh.ccxt.header().version);
                let written = if changed {
                    let new_version = previous
                        .as_ref()
                        .is_none_or(|p| p.version != fresh.doc.header().version);
                    let replaced = previous.as_ref().map(|p| p.version.as_str());
                    self.write_all(market, fresh, new_version, replaced)
                        .await
                        .map(|p| prior = p)
                } else {
                    self.extend(market, fresh, same_ccxt)
                        .await
                        .map(|rewritten| {
                            // Same values from a payload of another digest (a record from
                            // before digests, or a field none of them keeps): the record
                            // names this payload, so the next cron of it processes nothing.
                            let record = previous
                                .as_ref()
                                .filter(|p| !rewritten && p.payload_digest != fresh.digest);
                            restamp = record.map(|p| Stored {
                                payload_digest: fresh.digest.clone(),
                                ..p.clone()
                            });
                        })
                };
                // The ccxt markets and our full records go after, on their own: megabytes
                // that must never delay or fail the two lists the original and our list
                // route read.
                if written.is_ok() && (!same_ccxt || fresh.rules.is_some()) {
                    // They write the record (with this payload's digest) themselves.
                    restamp = None;
                    let rules_current = previous.as_ref().map(|p| p.rules_version.clone());
                    self.write_extras(market, fresh, !same_ccxt, rules_current)
                        .await;
                }
                Some(written)
            }
            Err(_) => None,
        };
        let finished = self.clock.now_ms();
        let mut last = Vec::new();
        // (ok, count now served, failure reason)
        let (ok, count, reason) = match (&fetched, &written) {
            (Ok(fresh), Some(Ok(()))) => {
                last.push(Cmd::set(
                    keys::last_refresh_ts(market),
                    (finished / 1000).to_string(),
                ));
                if let Some(record) = &restamp {
                    last.push(Cmd::set(
                        keys::stored_meta(market),
                        serde_json::to_vec(record).unwrap_or_default(),
                    ));
                }
                (true, Some(fresh.doc.header().count), None)
            }
            (Ok(_), _) => (
                false,
                previous.as_ref().map(|p| p.count),
                Some(WRITE_FAILED),
            ),
            (Err(e), _) => {
                last.push(Cmd::IncrBy(
                    keys::upstream_failure(market, e.reason.as_str()),
                    1,
                ));
                if let Some(secs) = e.retry_after_secs.filter(|_| blocked_until <= now) {
                    let until = finished + secs * 1000;
                    last.push(Cmd::Set {
                        key: keys::upstream_blocked_until(market),
                        value: until.to_string().into_bytes(),
                        ex: Some(secs.max(1)),
                        px: None,
                        nx: false,
                    });
                }
                (
                    false,
                    previous.as_ref().map(|p| p.count),
                    Some(e.reason.as_str()),
                )
            }
        };
        let outcome = LastOutcome {
            ok,
            at_ms: finished,
            trigger: trigger.as_str().into(),
            count,
            reason: reason.map(str::to_string),
            duration_ms: finished - started,
        };
        last.extend(outcome_cmds(market, trigger, &outcome));
        // The changes, recorded in the same batch (before the unlock: the next refresh
        // must see these ids).
        let recorded = match (&fetched, &written, prior) {
            (Ok(fresh), Some(Ok(())), Some(prior)) => {
                let (cmds, recorded) = self.changes_of(market, fresh, prior, finished);
                last.extend(cmds);
                Some(recorded)
            }
            _ => None,
        };
        last.push(Cmd::DelIfEq(lock_key, owner));
        let closed = self.store.exec(last).await;
        let mut line = refresh_line(market, trigger, &outcome, closed.is_ok());
        line = match &fetched {
            Ok(fresh) => line
                .bool("processed", true)
                .bool("changed", changed)
                .uint("bytes", fresh.doc.as_bytes().len() as u64)
                .uint("original_bytes", fresh.original.bytes.len() as u64)
                .uint("original_count", fresh.original.count as u64)
                .uint("ccxt_bytes", fresh.ccxt.as_bytes().len() as u64)
                .uint("ccxt_count", fresh.ccxt.header().count as u64)
                .str("upstream", &fresh.doc.header().upstream),
            Err(e) => line
                .str("reason", e.reason.as_str())
                .str("detail", &e.detail)
                .opt_uint("upstream_status", e.status.map(u64::from)),
        };
        if let Some(Err(e)) = &written {
            line = line.str("store_error", e);
        }
        if let Err(e) = &closed {
            line = line.str("close_error", &e.to_string());
        }
        if let Some(r) = &recorded {
            line = line.uint("changes", r.events.len() as u64);
        }
        self.log.write(line);
        if let Ok(fresh) = &fetched {
            // This isolate's waiters take it from here, not from Redis one by one.
            self.note_landed(market, &fresh.doc);
        }
        if let (Some(r), Ok(_)) = (recorded, &closed) {
            self.queue_changes(r);
        }
        match (fetched, written) {
            (Ok(fresh), Some(Ok(()))) => Refresh::Stored(fresh.doc),
            (Ok(fresh), Some(Err(error))) => Refresh::NotStored {
                list: fresh.doc,
                error,
            },
            (Ok(fresh), None) => Refresh::NotStored {
                list: fresh.doc,
                error: "not written".into(),
            },
            (Err(e), _) => Refresh::Failed {
                reason: e.reason,
                detail: e.detail,
                retry_after_secs: e.retry_after_secs,
                previous,
                status: e.status,
            },
        }
    }

    /// No record of our own write: validate against what the original stored (its array's
    /// USDT count, or the count of a document an earlier version of ours left there).
    async fn baseline_from_original(&self, market: Market) -> Baseline {
        let Ok(replies) = self
            .store
            .exec(vec![Cmd::Get(keys::original_last_good(market))])
            .await
        else {
            return Baseline::default();
        };
        let Some(bytes) = replies.into_iter().next().and_then(Reply::into_bytes) else {
            return Baseline::default();
        };
        if let Some(ours) = StoredList::from_bytes(market, bytes.clone()) {
            return Baseline {
                count: Some(ours.header().count),
                original_count: None,
            };
        }
        match original::parse(market, &bytes) {
            Ok(symbols) => Baseline {
                count: None,
                original_count: Some(symbols.len()),
            },
            Err(_) => Baseline::default(),
        }
    }

    /// Parses and validates the payload once, and builds every value from it.
    fn process(
        &self,
        market: Market,
        fetched: upstream::Fetched,
        digest: String,
        baseline: Baseline,
        rules_for: Option<&str>,
    ) -> Result<Fresh, FetchError> {
        let reject = |e: ProcessError, reason| FetchError {
            reason,
            detail: e.to_string(),
            retry_after_secs: None,
            status: Some(200),
        };
        let parsed = exchange_info::parse_with_raw(market, &fetched.body)
            .map_err(|e| reject(e, FailureReason::Malformed))?;
        let max = self.config.max_shrink;
        exchange_info::validate(parsed.symbols.len(), baseline.count, max)
            .map_err(|e| reject(e, FailureReason::Rejected))?;
        let original = original::build(market, &parsed);
        exchange_info::validate_shrink(original.count, baseline.original_count, max)
            .map_err(|e| reject(e, FailureReason::Rejected))?;
        let fetched_at = rfc3339(self.clock.now_ms());
        let raw: Vec<&[u8]> = parsed.raw.iter().map(|r| r.as_ref()).collect();
        let ccxt = CcxtList::build(market, &fetched.base, &fetched_at, &raw);
        let rules = (rules_for != Some(rules_stamp(&ccxt.header().version).as_str()))
            .then(|| RulesSet::build(market, &fetched.base, &fetched_at, &raw));
        let doc = StoredList::build(market, &fetched.base, fetched_at, &parsed.symbols);
        Ok(Fresh {
            doc,
            original,
            ccxt,
            rules,
            symbols: parsed.symbols,
            digest,
        })
    }

    /// The end of a refresh that kept the current values: the same last batch as any
    /// successful refresh (timestamp, warmup counter, outcome, unlock), and its log line.
    async fn close_current(&self, close: Close, stored: Stored) -> Refresh {
        let Close {
            market,
            trigger,
            started,
            lock: (lock_key, owner),
        } = close;
        let finished = self.clock.now_ms();
        let outcome = LastOutcome {
            ok: true,
            at_ms: finished,
            trigger: trigger.as_str().into(),
            count: Some(stored.count),
            reason: None,
            duration_ms: finished - started,
        };
        let mut last = vec![Cmd::set(
            keys::last_refresh_ts(market),
            (finished / 1000).to_string(),
        )];
        last.extend(outcome_cmds(market, trigger, &outcome));
        last.push(Cmd::DelIfEq(lock_key, owner));
        let closed = self.store.exec(last).await;
        let mut line = refresh_line(market, trigger, &outcome, closed.is_ok())
            .bool("processed", false)
            .bool("changed", false);
        if let Err(e) = &closed {
            line = line.str("close_error", &e.to_string());
        }
        self.log.write(line);
        Refresh::Current(stored)
    }

    /// The commands recording what changed from the previous document to `fresh` (none
    /// when there was no previous document: the first refresh), and the events.
    fn changes_of(
        &self,
        market: Market,
        fresh: &Fresh,
        prior: Prior,
        now_ms: u64,
    ) -> (Vec<Cmd>, Recorded) {
        let previous = prior.document.and_then(|bytes| {
            let parsed = StoredList::from_bytes(market, bytes).map(|l| l.parse());
            match parsed {
                Some(Ok(doc)) => Some(doc.symbols),
                // Unreadable: no diff against garbage (it would list every symbol).
                _ => {
                    let line = Line::new(Level::Warn, "changes_skipped")
                        .str("market", market.as_str())
                        .str("why", "previous document unreadable");
                    self.log.write(line);
                    None
                }
            }
        });
        let diff = previous
            .map(|p| changes::diff(&p, &fresh.symbols))
            .unwrap_or_default();
        feed::record(
            market,
            &fresh.doc.header().version,
            diff,
            now_ms,
            prior.floor_ms,
            self.config.changes_max_events,
        )
    }

    /// Fetches and processes our document only (Redis is down: nothing will be stored).
    pub(crate) async fn fetch_document(&self, market: Market) -> Result<StoredList, FetchError> {
        let fetched = self.fetch_payload(market).await?;
        let symbols = exchange_info::parse_with_raw(market, &fetched.body)
            .map(|p| p.symbols)
            .map_err(|e| FetchError {
                reason: FailureReason::Malformed,
                detail: e.to_string(),
                retry_after_secs: None,
                status: Some(200),
            })?;
        exchange_info::validate(symbols.len(), None, self.config.max_shrink).map_err(|e| {
            FetchError {
                reason: FailureReason::Rejected,
                detail: e.to_string(),
                retry_after_secs: None,
                status: Some(200),
            }
        })?;
        Ok(StoredList::build(
            market,
            &fetched.base,
            rfc3339(self.clock.now_ms()),
            &symbols,
        ))
    }

    /// Honours a 429/418 this isolate heard of even where Redis does not hold it (it was
    /// down, or flushed): Binance's limits are per IP, whatever Redis says. A refresh then
    /// writes the back-off to Redis for the other isolates.
    async fn fetch_payload(&self, market: Market) -> Result<upstream::Fetched, FetchError> {
        if let Some(secs) = self.upstream_blocked_secs(market) {
            return Err(FetchError {
                reason: FailureReason::RateLimited,
                detail: "upstream back-off in effect (Retry-After, held in this isolate)".into(),
                retry_after_secs: Some(secs),
                status: None,
            });
        }
        let fetched = upstream::fetch(
            &self.http,
            &self.clock,
            self.config.upstream(market),
            market,
        )
        .await
        .inspect_err(|e| {
            if let Some(secs) = e.retry_after_secs {
                self.note_backoff(market, secs);
            }
        })?;
        if let Some(w) = &fetched.used_weight {
            let line = Line::new(Level::Info, "upstream_weight")
                .str("market", market.as_str())
                .str("base", &fetched.base)
                .str("used_weight_1m", w)
                .uint("bytes", fetched.body.len() as u64);
            self.log.write(line);
        }
        Ok(fetched)
    }
}

/// What ends a refresh: whose, since when, and the lock to release (key, owner).
struct Close {
    market: Market,
    trigger: Trigger,
    started: u64,
    lock: (String, String),
}

/// The start of a refresh's log line (what every refresh reports), written field by field:
/// no JSON tree for it (the Worker's bundle). A warning unless it succeeded and closed.
fn refresh_line(market: Market, trigger: Trigger, outcome: &LastOutcome, closed: bool) -> Line {
    let level = if outcome.ok && closed {
        Level::Info
    } else {
        Level::Warn
    };
    Line::new(level, "refresh")
        .str("market", market.as_str())
        .str("trigger", trigger.as_str())
        .bool("ok", outcome.ok)
        .opt_uint("count", outcome.count.map(|c| c as u64))
        .uint("duration_ms", outcome.duration_ms)
}

/// The warmup counter a warmup bumps, and the outcome.
fn outcome_cmds(market: Market, trigger: Trigger, outcome: &LastOutcome) -> Vec<Cmd> {
    let mut cmds = Vec::with_capacity(2);
    if trigger.is_warmup() {
        let counter = if outcome.ok {
            keys::warmup_success(market)
        } else {
            keys::warmup_error(market)
        };
        cmds.push(Cmd::IncrBy(counter, 1));
    }
    cmds.push(Cmd::set(
        keys::last_outcome(market),
        serde_json::to_vec(outcome).unwrap_or_default(),
    ));
    cmds
}

/// The record of a full write of `fresh` (`ccxt_version` empty until they are stored).
fn stored_record(fresh: &Fresh, ccxt_version: String, rules_version: String) -> Stored {
    Stored {
        version: fresh.doc.header().version.clone(),
        original_version: fresh.original.version.clone(),
        count: fresh.doc.header().count,
        original_count: fresh.original.count,
        fetched_at: fresh.doc.header().fetched_at.clone(),
        ccxt_version,
        rules_version,
        payload_digest: fresh.digest.clone(),
    }
}

/// Every reply of a write batch succeeded (`OK`, or `1` from `COPY`/`EXPIRE`/`PERSIST`),
/// or the first problem: a copy or expiry that found no key means a write did not land.
fn all_ok(result: Result<Vec<Reply>, crate::ports::StoreError>) -> Result<(), String> {
    let replies = result.map_err(|e| e.to_string())?;
    match replies
        .into_iter()
        .find(|r| !matches!(r, Reply::Ok | Reply::Int(1)))
    {
        None => Ok(()),
        Some(Reply::Error(e)) => Err(e),
        Some(Reply::Int(0)) => Err("a copy or expiry found no key: a write did not land".into()),
        Some(_) => Err("unexpected reply to a write".into()),
    }
}
