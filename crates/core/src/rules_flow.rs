//! Reading our full records ([`crate::rules`]) for a list already served: the tier the list
//! came from decides which records answer (the primary ones for a cache hit or a fresh
//! list, the last good ones for our STALE list, the original's last good array projected
//! for its STALE list), so a body's records and its `source` always agree.

use crate::keys;
use crate::market::Market;
use crate::ports::{Clock, Cmd, Http, Reply, Store};
use crate::rules::{self, RulesSet};
use crate::service::Service;
use crate::symbols::Source;

/// Which records answer for a list of `source`: `primary` (a cache hit or a fresh list:
/// the same records), `last_good`, or `original` (the original's array projected). Part
/// of the keys of the Worker's copies, so a fresh list's copy serves the hits after it.
pub fn records_tier(source: Source) -> &'static str {
    match source {
        Source::Cache | Source::Upstream => "primary",
        Source::LastGood => "last_good",
        Source::OriginalLastGood => "original",
    }
}

/// The hash holding the records of the tier `source` names (`None`: no hash of ours).
fn hash_key(market: Market, source: Source) -> Option<String> {
    match source {
        Source::Cache | Source::Upstream => Some(keys::rules(market)),
        Source::LastGood => Some(keys::rules_last_good(market)),
        Source::OriginalLastGood => None,
    }
}

// The reads take the store as an argument (`&svc.store`, or a `ports::Counted` view of
// it) so the Worker can count one request's round trips.
impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// `symbol`'s full record (its exact id, as the served list spells it) from the tier
    /// `source` names: one `HGET`. `None` when not stored there (a version before them,
    /// Redis unreachable): the caller answers with the list's own record.
    pub async fn full_record(
        &self,
        store: &impl Store,
        market: Market,
        symbol: &str,
        source: Source,
    ) -> Option<Vec<u8>> {
        let key = hash_key(market, source)?;
        let replies = store
            .exec(vec![Cmd::HGet(key, symbol.to_string())])
            .await
            .ok()?;
        replies.into_iter().next()?.into_bytes()
    }

    /// Every full record of the tier `source` names: one `HGETALL` (megabytes: the caller
    /// keeps the bodies it makes). For the original's STALE list, its raw objects are
    /// projected here. `None` when none are stored or Redis is unreachable.
    pub async fn full_records(
        &self,
        store: &impl Store,
        market: Market,
        source: Source,
    ) -> Option<RulesSet> {
        let Some(key) = hash_key(market, source) else {
            let (bytes, written_at) = self.original_last_good_raw(store, market).await?;
            let raw = crate::json::raw::elements(&bytes)?;
            let objects: Vec<&[u8]> = raw.iter().filter_map(|r| bytes.get(r.clone())).collect();
            let set = RulesSet::build(market, crate::original::UPSTREAM, &written_at, &objects);
            return (set.header.count > 0).then_some(set);
        };
        let replies = store.exec(vec![Cmd::HGetAll(key)]).await.ok()?;
        let Some(Reply::Array(items)) = replies.into_iter().next() else {
            return None;
        };
        let mut fields = Vec::with_capacity(items.len() / 2);
        let mut items = items.into_iter().map(Reply::into_bytes);
        while let (Some(Some(f)), Some(Some(v))) = (items.next(), items.next()) {
            fields.push((String::from_utf8(f).ok()?, v));
        }
        rules::RulesSet::from_fields(market, fields)
    }
}

/// A `?fields=` body, ready to serve (and to keep: it is built once per list version).
#[derive(Clone, Debug)]
pub struct Selection {
    /// The response body.
    pub body: Vec<u8>,
    /// Its strong `ETag`: `"<market>-rules-<records version>-<selection hash>"`.
    pub etag: String,
}

/// What a `?fields=` body depends on besides the records: the fields and the filters, as
/// one string (the `ETag`'s hash, and the key of the Worker's copies).
pub fn selection_key(fields: Option<&[String]>, filter: &crate::filter::Filter) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    format!(
        "{}|{}|{}|{}",
        fields.map_or_else(|| "all".to_string(), |f| f.join(",")),
        opt(&filter.status),
        opt(&filter.quote),
        opt(&filter.base)
    )
}

/// Why a `?fields=` list cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// A field no record carries (400).
    #[error("unknown field(s) {unknown:?} in fields: the {market} records have {known}")]
    UnknownFields {
        /// Market.
        market: Market,
        /// The names asked for that no record has.
        unknown: Vec<String>,
        /// Every field name the records have, comma-separated.
        known: String,
    },
    /// The full records are not stored (a version before them, or Redis unreachable) and
    /// the list's own records do not have what was asked (503).
    #[error("the full records of {market} are not available now (the next refresh stores them), and the list's own records lack {missing}")]
    NotStored {
        /// Market.
        market: Market,
        /// What the list's records lack (`every field` for `fields=all`).
        missing: String,
    },
}

impl SelectError {
    /// The market asked about.
    pub fn market(&self) -> Market {
        match self {
            SelectError::UnknownFields { market, .. } | SelectError::NotStored { market, .. } => {
                *market
            }
        }
    }

    /// Seconds a client should wait before asking again, when it is worth asking again.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            SelectError::UnknownFields { .. } => None,
            SelectError::NotStored { .. } => Some(RETRY_AFTER_NOT_STORED_SECS),
        }
    }
}

/// `Retry-After` when the full records are not available (a cron refresh writes them).
const RETRY_AFTER_NOT_STORED_SECS: u64 = 30;

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// The `?fields=` body for the list `served` (every field when `fields` is `None`):
    /// our full records of its tier, or, when those are not available, the list's own
    /// records if they hold every field asked for.
    ///
    /// # Errors
    /// [`SelectError`]: a field no record has, or one only the unavailable full records have.
    pub async fn selected(
        &self,
        store: &impl Store,
        market: Market,
        served: &crate::service::Served,
        fields: Option<&[String]>,
        filter: &crate::filter::Filter,
    ) -> Result<Selection, SelectError> {
        let bypass = served.status == crate::service::CacheStatus::Bypass;
        let full = if bypass {
            None
        } else {
            self.full_records(store, market, served.source).await
        };
        let (set, complete) = match full {
            Some(set) => (set, true),
            None => {
                let lean = served
                    .list
                    .parse()
                    .ok()
                    .map(|doc| RulesSet::from_list(&doc));
                let missing = |what: String| SelectError::NotStored {
                    market,
                    missing: what,
                };
                let Some(fields) = fields else {
                    return Err(missing("every field".into()));
                };
                let Some(set) = lean else {
                    return Err(missing(fields.join(",")));
                };
                let known = set.field_names();
                let lacking: Vec<&str> = fields
                    .iter()
                    .filter(|f| !known.contains(f))
                    .map(String::as_str)
                    .collect();
                if !lacking.is_empty() {
                    return Err(missing(lacking.join(",")));
                }
                (set, false)
            }
        };
        if let Some(fields) = fields.filter(|_| complete) {
            let known = set.field_names();
            let unknown: Vec<String> = fields
                .iter()
                .filter(|f| !known.contains(f))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                return Err(SelectError::UnknownFields {
                    market,
                    unknown,
                    known: known.join(","),
                });
            }
        }
        let body = set.body(served.source, fields, filter);
        let etag = format!(
            "\"{}-rules-{}-{}\"",
            market.as_str(),
            set.header.version,
            crate::symbols::content_version(selection_key(fields, filter).as_bytes())
        );
        Ok(Selection { body, etag })
    }
}
