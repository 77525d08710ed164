//! Writing a changed list: both systems' values with their last good copies and our
//! record of them in one pipeline, then (on their own) the ccxt markets and full records.

use super::{all_ok, rules_stamp, stored_record, Fresh, Prior};
use crate::feed;
use crate::keys;
use crate::log::{Level, Line};
use crate::market::Market;
use crate::ports::{Clock, Cmd, Http, Reply, Store};
use crate::service::Service;

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// A new list: both systems' values, their last good copies and our record of them.
    /// Each value is sent once, to its last good key, and copied server-side to its
    /// primary key (`COPY` keeps no TTL from a key without one; `EXPIRE` sets it): half
    /// the bandwidth of two `SET`s.
    ///
    /// When our document's version changes (`read_prior`), the batch first reads the
    /// document it replaces, the newest change id and the replaced version's time, for the
    /// changes diff: no extra
    /// round trip, and an unchanged refresh (which never gets here) pays nothing for it.
    pub(super) async fn write_all(
        &self,
        market: Market,
        fresh: &Fresh,
        read_prior: bool,
        replaced: Option<&str>,
    ) -> Result<Option<Prior>, String> {
        let ttl = self.config.cache_ttl_secs(market);
        // No ccxt or rules version yet: [`Service::write_extras`] records them once stored.
        let stored = stored_record(fresh, String::new(), String::new());
        let mut cmds = Vec::with_capacity(9);
        if read_prior {
            cmds.push(Cmd::Get(keys::document_last_good(market)));
            cmds.push(Cmd::XRange {
                key: keys::changes(market),
                start: "-".into(),
                end: "+".into(),
                count: 1,
                rev: true,
            });
            cmds.push(Cmd::ZScore(
                keys::changes_versions(market),
                replaced.unwrap_or_default().to_string(),
            ));
        }
        // Ours first: a pipeline is not atomic, and a reader between its commands must not
        // find the original's new USDT-only list while our own full one is still missing.
        for (last_good, primary, value) in [
            (
                keys::document_last_good(market),
                keys::document(market),
                fresh.doc.as_bytes().to_vec(),
            ),
            (
                keys::original_last_good(market),
                keys::original_list(market),
                fresh.original.bytes.clone(),
            ),
        ] {
            cmds.push(Cmd::set(last_good.clone(), value));
            cmds.push(Cmd::Copy {
                from: last_good,
                to: primary.clone(),
            });
            cmds.push(Cmd::Expire(primary, ttl));
        }
        cmds.push(Cmd::set(
            keys::stored_meta(market),
            serde_json::to_vec(&stored).unwrap_or_default(),
        ));
        let mut replies = self.store.exec(cmds).await.map_err(|e| e.to_string())?;
        let prior = if read_prior {
            let rest = replies.split_off(3.min(replies.len()));
            let mut read = std::mem::replace(&mut replies, rest).into_iter();
            let document = read.next().and_then(Reply::into_bytes);
            let last_id = read.next().as_ref().and_then(feed::last_id).map(|id| id.ms);
            let version_ms = read
                .next()
                .and_then(|r| r.as_int())
                .map(|ms| ms.max(0) as u64);
            Some(Prior {
                document,
                floor_ms: last_id.max(version_ms),
            })
        } else {
            None
        };
        all_ok(Ok(replies)).map(|()| prior)
    }

    /// Our ccxt markets (when `ccxt`) and full records (when built), after the lists are
    /// stored, then the record naming their versions. The ccxt value goes like the lists
    /// (`SET` last_good + `COPY` + `EXPIRE`); the records, a hash, are written whole to a
    /// scratch key and copied to both of theirs, so neither is ever half written. A failure
    /// is logged and leaves the record without the versions, so the next refresh writes
    /// them again; it never fails the refresh.
    pub(super) async fn write_extras(
        &self,
        market: Market,
        fresh: &Fresh,
        ccxt: bool,
        rules_stored: Option<String>,
    ) {
        let ttl = self.config.cache_ttl_secs(market);
        let ccxt_version = fresh.ccxt.header().version.clone();
        let stamp = rules_stamp(&ccxt_version);
        let rules_version = match (&fresh.rules, rules_stored) {
            (Some(_), _) => stamp,
            (None, Some(v)) => v,
            (None, None) => String::new(),
        };
        let stored = stored_record(fresh, ccxt_version, rules_version);
        let mut cmds = Vec::with_capacity(11);
        if ccxt {
            cmds.extend([
                Cmd::set(keys::ccxt_last_good(market), fresh.ccxt.as_bytes().to_vec()),
                Cmd::Copy {
                    from: keys::ccxt_last_good(market),
                    to: keys::ccxt(market),
                },
                Cmd::Expire(keys::ccxt(market), ttl),
            ]);
        }
        let mut rules_bytes = 0;
        if let Some(rules) = &fresh.rules {
            let fields = rules.to_fields();
            rules_bytes = fields.iter().map(|(f, v)| f.len() + v.len()).sum::<usize>();
            let scratch = keys::rules_scratch(market);
            cmds.extend([
                Cmd::Del(scratch.clone()),
                Cmd::HSet {
                    key: scratch.clone(),
                    fields,
                },
                Cmd::Copy {
                    from: scratch.clone(),
                    to: keys::rules_last_good(market),
                },
                Cmd::Copy {
                    from: scratch.clone(),
                    to: keys::rules(market),
                },
                Cmd::Expire(keys::rules(market), ttl),
                Cmd::Del(scratch),
            ]);
        }
        cmds.push(Cmd::set(
            keys::stored_meta(market),
            serde_json::to_vec(&stored).unwrap_or_default(),
        ));
        // `DEL` and `HSET` answer counts, not `OK`: only the rest must all succeed.
        let counted: Vec<bool> = cmds
            .iter()
            .map(|c| matches!(c, Cmd::Del(_) | Cmd::HSet { .. }))
            .collect();
        let result = self.store.exec(cmds).await.map(|replies| {
            replies
                .into_iter()
                .zip(counted)
                .filter(|(r, counted)| !counted || matches!(r, Reply::Error(_)))
                .map(|(r, _)| r)
                .collect()
        });
        if let Err(e) = all_ok(result) {
            let line = Line::new(Level::Warn, "extras_write_failed")
                .str("market", market.as_str())
                .uint("ccxt_bytes", fresh.ccxt.as_bytes().len() as u64)
                .uint("rules_bytes", rules_bytes as u64)
                .str("error", &e);
            self.log.write(line);
        }
    }
}
