//! Keeping the stored values of a list that did not change: one probe of every value's
//! ends (and the full records' presence) with their TTLs extended in the same round trip,
//! then what a value lost meanwhile needs: a `COPY` from its pair, or, when both are gone,
//! the value written again (after processing the payload: an unchanged cron that cannot
//! restore from pairs processes it after all).

use super::{all_ok, stored_record, Fresh, Stored};
use crate::keys;
use crate::log::{Level, Line};
use crate::market::Market;
use crate::ports::{Clock, Cmd, Http, Reply, Store};
use crate::service::Service;

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// The stored list is this one: extend the primary keys' TTLs, after checking the
    /// ends of all six values (our document's head names its version; both ends must
    /// close). A key that is gone, garbage or truncated meanwhile is restored from its pair
    /// by a server-side copy, or written again when its pair is no good either. `Ok(true)`
    /// when the stored record was rewritten (the full records were both gone).
    pub(super) async fn extend(
        &self,
        market: Market,
        fresh: &Fresh,
        ccxt: bool,
    ) -> Result<bool, String> {
        let kept = Kept {
            doc_version: &fresh.doc.header().version,
            ccxt_version: ccxt.then_some(fresh.ccxt.header().version.as_str()),
            rules: fresh.rules.is_none(),
        };
        let probed = self.probe(market, &kept).await?;
        let mut values: Vec<&[u8]> = vec![&fresh.original.bytes, fresh.doc.as_bytes()];
        if ccxt {
            values.push(fresh.ccxt.as_bytes());
        }
        let ttl = self.config.cache_ttl_secs(market);
        let mut repair = repairs(ttl, &probed.pairs, Some(&values)).unwrap_or_default();
        let mut rewritten = false;
        match probed.rules.map(|both| rules_repairs(market, ttl, both)) {
            Some(Some(cmds)) => repair.extend(cmds),
            Some(None) => {
                // Both gone: the record stops naming them, so the next refresh builds them.
                let ccxt_version = kept.ccxt_version.unwrap_or_default().to_string();
                let stored = stored_record(fresh, ccxt_version, String::new());
                repair.push(Cmd::set(
                    keys::stored_meta(market),
                    serde_json::to_vec(&stored).unwrap_or_default(),
                ));
                rewritten = true;
            }
            None => {}
        }
        self.apply_repairs(market, repair).await?;
        Ok(rewritten)
    }

    /// A cron fetched the payload `stored` was built from: extend every value's TTL and
    /// restore what a pair can restore, without processing anything. `None` when that is
    /// not enough (a value and its pair both gone, Redis failing): then the payload is
    /// processed after all.
    pub(super) async fn keep_current(&self, market: Market, stored: &Stored) -> Option<()> {
        let kept = Kept {
            doc_version: &stored.version,
            ccxt_version: Some(&stored.ccxt_version),
            rules: true,
        };
        let probed = self.probe(market, &kept).await.ok()?;
        let ttl = self.config.cache_ttl_secs(market);
        let mut repair = repairs(ttl, &probed.pairs, None)?;
        repair.extend(rules_repairs(market, ttl, probed.rules?)?);
        match self.apply_repairs(market, repair).await {
            Ok(()) => Some(()),
            Err(e) => {
                let line = Line::new(Level::Warn, "stored_value_repair_failed")
                    .str("market", market.as_str())
                    .str("error", &e)
                    .str("then", "process the payload");
                self.log.write(line);
                None
            }
        }
    }

    /// One round trip: each primary's `EXPIRE`, both ends of it and of its last good copy,
    /// and (when `kept.rules`) the full records' `EXPIRE` and their last good's `EXISTS`.
    async fn probe(&self, market: Market, kept: &Kept<'_>) -> Result<Probed, String> {
        let ttl = self.config.cache_ttl_secs(market);
        let version = format!("\"version\":\"{}\"", kept.doc_version);
        let ccxt_version = kept.ccxt_version.map(|v| format!("\"version\":\"{v}\""));
        let mut pairs = vec![
            (
                keys::original_list(market),
                keys::original_last_good(market),
                Probe::Array,
            ),
            (
                keys::document(market),
                keys::document_last_good(market),
                Probe::Document(&version),
            ),
        ];
        // Our ccxt markets too when they are this version (else they are written after).
        if let Some(v) = &ccxt_version {
            pairs.push((
                keys::ccxt(market),
                keys::ccxt_last_good(market),
                Probe::Document(v),
            ));
        }
        let mut probe = Vec::with_capacity(15);
        for (primary, last_good, kind) in &pairs {
            probe.push(Cmd::Expire(primary.clone(), ttl));
            for key in [primary, last_good] {
                probe.push(Cmd::GetRange(key.clone(), 0, kind.head_len()));
                probe.push(Cmd::GetRange(key.clone(), -2, -1));
            }
        }
        // Our full records (a hash: no ends to probe) when they are this payload's.
        let rules_at = probe.len();
        if kept.rules {
            probe.push(Cmd::Expire(keys::rules(market), ttl));
            probe.push(Cmd::Exists(keys::rules_last_good(market)));
        }
        let replies = self.store.exec(probe).await.map_err(|e| e.to_string())?;
        if let Some(Reply::Error(e)) = replies.iter().find(|r| matches!(r, Reply::Error(_))) {
            return Err(e.clone());
        }
        let bytes = |i: usize| match replies.get(i) {
            Some(Reply::Bytes(b)) => &b[..],
            _ => &[][..],
        };
        let int = |i: usize| replies.get(i).and_then(Reply::as_int).unwrap_or(0);
        Ok(Probed {
            pairs: pairs
                .into_iter()
                .enumerate()
                .map(|(n, (primary, last_good, kind))| {
                    let at = 5 * n;
                    Pair {
                        primary_ok: kind.holds(bytes(at + 1), bytes(at + 2)),
                        last_good_ok: kind.holds(bytes(at + 3), bytes(at + 4)),
                        primary,
                        last_good,
                    }
                })
                .collect(),
            rules: kept
                .rules
                .then(|| (int(rules_at) == 1, int(rules_at + 1) == 1)),
        })
    }

    /// Sends `repair` (nothing when it is empty), logged as a repair.
    async fn apply_repairs(&self, market: Market, repair: Vec<Cmd>) -> Result<(), String> {
        if repair.is_empty() {
            return Ok(());
        }
        let line = Line::new(Level::Warn, "stored_value_repaired")
            .str("market", market.as_str())
            .uint("commands", repair.len() as u64);
        self.log.write(line);
        // PERSIST answers 0 when the copy had no TTL to drop: not a failure.
        let persists: Vec<bool> = repair
            .iter()
            .map(|c| matches!(c, Cmd::Persist(_)))
            .collect();
        let replies = self.store.exec(repair).await.map_err(|e| e.to_string())?;
        let kept = replies
            .into_iter()
            .zip(persists)
            .filter(|(_, p)| !p)
            .map(|(r, _)| r)
            .collect();
        all_ok(Ok(kept))
    }
}

/// Which stored values a refresh keeps, by the versions they must name.
struct Kept<'a> {
    doc_version: &'a str,
    /// The ccxt markets', when they are the payload's (else they are written after).
    ccxt_version: Option<&'a str>,
    /// Whether the full records are the payload's (kept too).
    rules: bool,
}

/// A primary key and its last good copy, and whether each holds the value.
struct Pair {
    primary: String,
    last_good: String,
    primary_ok: bool,
    last_good_ok: bool,
}

/// What a probe found: each pair in order (the original's, our document, the ccxt
/// markets), and the full records' `(primary there, last good there)` when probed.
struct Probed {
    pairs: Vec<Pair>,
    rules: Option<(bool, bool)>,
}

/// The commands restoring each pair: a bad side is copied from the good one; when both are
/// bad, the value is written again from `values` (in pair order), or, without them,
/// `None`: only processing the payload can restore it.
fn repairs(ttl: u64, pairs: &[Pair], values: Option<&[&[u8]]>) -> Option<Vec<Cmd>> {
    let mut repair = Vec::new();
    for (n, pair) in pairs.iter().enumerate() {
        let (primary, last_good) = (pair.primary.clone(), pair.last_good.clone());
        match (pair.primary_ok, pair.last_good_ok) {
            (true, true) => {}
            (false, true) => {
                repair.push(Cmd::Copy {
                    from: last_good,
                    to: primary.clone(),
                });
                repair.push(Cmd::Expire(primary, ttl));
            }
            (true, false) => {
                repair.push(Cmd::Copy {
                    from: primary,
                    to: last_good.clone(),
                });
                repair.push(Cmd::Persist(last_good));
            }
            (false, false) => {
                let value = values?.get(n)?;
                repair.push(Cmd::set(last_good.clone(), value.to_vec()));
                repair.push(Cmd::Copy {
                    from: last_good,
                    to: primary.clone(),
                });
                repair.push(Cmd::Expire(primary, ttl));
            }
        }
    }
    Some(repair)
}

/// The commands restoring the full records from their pair; `None` when both are gone.
fn rules_repairs(market: Market, ttl: u64, (primary, last_good): (bool, bool)) -> Option<Vec<Cmd>> {
    Some(match (primary, last_good) {
        (true, true) => Vec::new(),
        (true, false) => vec![
            Cmd::Copy {
                from: keys::rules(market),
                to: keys::rules_last_good(market),
            },
            Cmd::Persist(keys::rules_last_good(market)),
        ],
        (false, true) => vec![
            Cmd::Copy {
                from: keys::rules_last_good(market),
                to: keys::rules(market),
            },
            Cmd::Expire(keys::rules(market), ttl),
        ],
        (false, false) => return None,
    })
}

/// What a stored value of each kind must look like at its ends.
#[derive(Clone, Copy)]
enum Probe<'a> {
    /// The original's array: `[` ... `]`.
    Array,
    /// Our document or ccxt markets: its head names this version, and it ends with `]}`.
    Document(&'a str),
}

impl Probe<'_> {
    /// Bytes of the head to read (inclusive end offset of `GETRANGE`).
    fn head_len(self) -> i64 {
        match self {
            Probe::Array => 0,
            // `{"market":"futures","version":"<16 hex>"` fits in 64 bytes.
            Probe::Document(_) => 63,
        }
    }

    fn holds(self, head: &[u8], tail: &[u8]) -> bool {
        match self {
            Probe::Array => head == b"[" && tail.last() == Some(&b']'),
            Probe::Document(version) => {
                head.starts_with(b"{")
                    && head.windows(version.len()).any(|w| w == version.as_bytes())
                    && tail == b"]}"
            }
        }
    }
}
