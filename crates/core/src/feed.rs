//! The changes feed in Redis: recording a refresh's [`Change`]s as stream entries, and
//! reading them back a page at a time (`GET /api/symbols/{market}/changes`).
//!
//! # Storage (README "Redis keys")
//! - [`keys::changes`]: a stream, one entry per event, field `event` holding its JSON;
//!   ids are `<detected ms>-<n>` (n = the event's index in its refresh), so an id is also
//!   the time it was detected, and `?since=<time>` is an id range. `XADD MAXLEN =`
//!   keeps the newest `CHANGES_MAX_EVENTS`; `XINFO STREAM` says whether anything was
//!   trimmed (`entries-added` > `length`; trimming, unlike `XDEL`, leaves
//!   `max-deleted-entry-id` at `0-0`) and where the retained history starts
//!   (`recorded-first-entry-id`): trimmed entries are all older than it.
//! - [`keys::changes_versions`]: a sorted set, version -> the ms it was stored, for
//!   `?since=<version>` (including versions whose refresh had no events, like the first).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::changes::{Change, Kind};
use crate::keys;
use crate::market::Market;
use crate::ports::{Cmd, Reply, Store, StoreError};
use crate::time::rfc3339_ms;

/// The stream field holding an event's JSON.
const EVENT_FIELD: &str = "event";

/// One recorded change: what changed, where, and in which refresh. Its JSON is flat:
/// `{"id","market","version","detectedAt","type","symbol","field","from","to"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The stream id (`<ms>-<n>`): the cursor after this event. Not stored (it is the
    /// entry's id), filled in when read.
    pub id: Option<String>,
    /// `spot` / `futures`.
    pub market: String,
    /// The document version the refresh stored (the list's `ETag` after the change).
    pub version: String,
    /// When the refresh detected it (RFC 3339 UTC with milliseconds: the id's ms).
    pub detected_at: String,
    /// The change.
    pub change: Change,
}

/// The JSON form of [`Event`], written out field by field: `#[serde(flatten)]` would pull
/// serde's buffering deserializer into the wasm for one nested struct.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Flat<Id, S, V> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<Id>,
    market: S,
    version: S,
    detected_at: S,
    #[serde(rename = "type")]
    kind: Kind,
    symbol: S,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<V>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<V>,
}

impl Serialize for Event {
    fn serialize<Z: serde::Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        Flat {
            id: self.id.as_deref(),
            market: self.market.as_str(),
            version: self.version.as_str(),
            detected_at: self.detected_at.as_str(),
            kind: self.change.kind,
            symbol: self.change.symbol.as_str(),
            field: self.change.field.as_deref(),
            from: self.change.from.as_ref(),
            to: self.change.to.as_ref(),
        }
        .serialize(z)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = Flat::<String, String, Value>::deserialize(d)?;
        Ok(Event {
            id: f.id,
            market: f.market,
            version: f.version,
            detected_at: f.detected_at,
            change: Change {
                kind: f.kind,
                symbol: f.symbol,
                field: f.field,
                from: f.from,
                to: f.to,
            },
        })
    }
}

/// A stream id, `<ms>-<seq>`, ordered as Redis orders them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// Parses `<ms>-<seq>` (both decimal, no sign).
    pub fn parse(s: &str) -> Option<Self> {
        let (ms, seq) = s.split_once('-')?;
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(StreamId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Where a page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Since {
    /// The oldest retained event.
    Oldest,
    /// After a cursor (`next` of the previous page).
    Cursor(StreamId),
    /// After the refresh that stored this version.
    Version(String),
    /// Detected after this time (unix ms).
    Time(u64),
}

/// One page of the feed.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The events, oldest first.
    pub events: Vec<Event>,
    /// The cursor after the last event returned (or the request's own, when none were).
    pub next: Option<StreamId>,
    /// More events follow `next` now.
    pub has_more: bool,
    /// Events after the starting point were trimmed from the retained history (or the
    /// version is unknown): the feed cannot be complete from there; reload the list.
    pub truncated: bool,
    /// Events retained for the market.
    pub retained: u64,
}

impl Page {
    /// The response body of `GET /api/symbols/{market}/changes`.
    pub fn to_json(&self, market: Market) -> Value {
        json!({
            "market": market.as_str(),
            "events": self.events,
            "next": self.next.map(|n| n.to_string()),
            "hasMore": self.has_more,
            "truncated": self.truncated,
            "retained": self.retained,
        })
    }
}

/// A refresh's events, as recorded (and posted to the webhook).
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The market.
    pub market: Market,
    /// The events, with their ids.
    pub events: Vec<Event>,
}

impl Recorded {
    /// The webhook body: `{"market","version","detectedAt","count","events":[...]}`.
    pub fn webhook_body(&self) -> Vec<u8> {
        let first = self.events.first();
        serde_json::to_vec(&json!({
            "market": self.market.as_str(),
            "version": first.map(|e| e.version.clone()),
            "detectedAt": first.map(|e| e.detected_at.clone()),
            "count": self.events.len(),
            "events": self.events,
        }))
        .unwrap_or_default()
    }
}

/// The commands that record `changes` of a refresh that stored `version`, detected at
/// `now_ms`, and the events as recorded. The time is moved past `floor_ms` (the newest
/// change id's ms, or the replaced version's), so ids only grow and every event comes
/// after the version it replaced, even if clocks disagree.
pub fn record(
    market: Market,
    version: &str,
    changes: Vec<Change>,
    now_ms: u64,
    floor_ms: Option<u64>,
    max_events: u64,
) -> (Vec<Cmd>, Recorded) {
    let ms = floor_ms.map_or(now_ms, |f| now_ms.max(f + 1));
    let detected_at = rfc3339_ms(ms);
    let mut cmds = Vec::with_capacity(changes.len() + 2 + Kind::ALL.len());
    let mut counts = std::collections::BTreeMap::new();
    let mut events = Vec::with_capacity(changes.len());
    for (n, change) in changes.into_iter().enumerate() {
        *counts.entry(change.kind).or_insert(0i64) += 1;
        let id = StreamId { ms, seq: n as u64 };
        let event = Event {
            id: None,
            market: market.as_str().to_string(),
            version: version.to_string(),
            detected_at: detected_at.clone(),
            change,
        };
        cmds.push(Cmd::XAdd {
            key: keys::changes(market),
            maxlen: max_events,
            id: id.to_string(),
            fields: vec![(
                EVENT_FIELD.to_string(),
                serde_json::to_vec(&event).unwrap_or_default(),
            )],
        });
        events.push(Event {
            id: Some(id.to_string()),
            ..event
        });
    }
    cmds.push(Cmd::ZAdd {
        key: keys::changes_versions(market),
        score: ms as i64,
        member: version.to_string(),
    });
    // Keep as many versions as events: a version older than every retained event is
    // "too old" either way.
    cmds.push(Cmd::ZRemRangeByRank(
        keys::changes_versions(market),
        0,
        -(max_events as i64) - 1,
    ));
    for (kind, n) in counts {
        cmds.push(Cmd::IncrBy(keys::changes_recorded(market, kind), n));
    }
    (cmds, Recorded { market, events })
}

/// The newest id of an `XREVRANGE .. COUNT 1` reply.
pub fn last_id(reply: &Reply) -> Option<StreamId> {
    match reply {
        Reply::Array(entries) => entries.first().and_then(entry_id),
        _ => None,
    }
}

fn entry_id(entry: &Reply) -> Option<StreamId> {
    match entry {
        Reply::Array(parts) => match parts.first() {
            Some(Reply::Bytes(id)) => StreamId::parse(std::str::from_utf8(id).ok()?),
            _ => None,
        },
        _ => None,
    }
}

/// The events of an `XRANGE` reply; entries that are not ours are skipped (counted).
fn entries(reply: Reply) -> (Vec<(StreamId, Event)>, usize) {
    let Reply::Array(items) = reply else {
        return (Vec::new(), 0);
    };
    let mut out = Vec::with_capacity(items.len());
    let mut skipped = 0;
    for item in items {
        let id = entry_id(&item);
        let event = match item {
            Reply::Array(mut parts) if parts.len() == 2 => match parts.pop() {
                Some(Reply::Array(fields)) => fields
                    .chunks(2)
                    .find(|kv| matches!(&kv[0], Reply::Bytes(f) if f == EVENT_FIELD.as_bytes()))
                    .and_then(|kv| match kv.get(1) {
                        Some(Reply::Bytes(v)) => serde_json::from_slice::<Event>(v).ok(),
                        _ => None,
                    }),
                _ => None,
            },
            _ => None,
        };
        match (id, event) {
            (Some(id), Some(mut event)) => {
                event.id = Some(id.to_string());
                out.push((id, event));
            }
            _ => skipped += 1,
        }
    }
    (out, skipped)
}

/// What `XINFO STREAM` says about the retained history.
#[derive(Clone, Copy, Debug, Default)]
struct Retained {
    /// Entries now.
    length: u64,
    /// Entries ever added (more than `length`: some were trimmed).
    added: u64,
    /// The oldest entry retained (every trimmed one is older).
    first: StreamId,
    /// The largest id deleted by `XDEL` (trimming does not move it).
    max_deleted: StreamId,
}

impl Retained {
    /// Whether events after `after` (or any event, for `None`) may have been dropped.
    /// Trimmed ids are all below `first`; a reader at or past the newest of them lost
    /// nothing, but the newest trimmed id is not known, so one just below `first` counts
    /// as possibly behind (conservative: it rereads the list, it never misses a change).
    fn dropped_after(&self, after: Option<StreamId>) -> bool {
        let deleted = self.max_deleted != StreamId::default();
        let trimmed = self.added > self.length;
        match after {
            None => trimmed || deleted,
            Some(a) => (trimmed && a < self.first) || (deleted && self.max_deleted > a),
        }
    }
}

/// An `XINFO STREAM` reply (a missing stream is an error reply: nothing retained or
/// trimmed).
fn stream_info(reply: &Reply) -> Retained {
    let mut info = Retained::default();
    let Reply::Array(flat) = reply else {
        return info;
    };
    let id = |v: &Reply| match v {
        Reply::Bytes(b) => std::str::from_utf8(b).ok().and_then(StreamId::parse),
        _ => None,
    };
    for kv in flat.chunks(2) {
        let (Reply::Bytes(k), Some(v)) = (&kv[0], kv.get(1)) else {
            continue;
        };
        match k.as_slice() {
            b"length" => info.length = v.as_int().unwrap_or(0).max(0) as u64,
            b"entries-added" => info.added = v.as_int().unwrap_or(0).max(0) as u64,
            b"recorded-first-entry-id" => info.first = id(v).unwrap_or_default(),
            b"max-deleted-entry-id" => info.max_deleted = id(v).unwrap_or_default(),
            _ => {}
        }
    }
    info
}

/// One page of `market`'s events after `since`, at most `limit`, and how many entries
/// were skipped as unreadable: one round trip, two for `since=<version>` (its time is
/// looked up first).
///
/// # Errors
/// The store's error.
pub async fn page(
    store: &impl Store,
    market: Market,
    since: &Since,
    limit: usize,
) -> Result<(Page, usize), StoreError> {
    // The last position already seen: events after it are wanted.
    let (after, unknown) = match since {
        Since::Oldest => (None, false),
        Since::Cursor(id) => (Some(*id), false),
        Since::Time(ms) => (
            Some(StreamId {
                ms: *ms,
                seq: u64::MAX,
            }),
            false,
        ),
        Since::Version(v) => {
            let replies = store
                .exec(vec![Cmd::ZScore(keys::changes_versions(market), v.clone())])
                .await?;
            match replies.first().and_then(Reply::as_int) {
                Some(ms) => (
                    Some(StreamId {
                        ms: ms.max(0) as u64,
                        seq: u64::MAX,
                    }),
                    false,
                ),
                // Trimmed from the index, or never ours: from the oldest we have.
                None => (None, true),
            }
        }
    };
    let start = match after {
        None => "-".to_string(),
        Some(id) if id.seq == u64::MAX => format!("{}-0", id.ms.saturating_add(1)),
        Some(id) => format!("({id}"),
    };
    let replies = store
        .exec(vec![
            Cmd::XRange {
                key: keys::changes(market),
                start,
                end: "+".into(),
                count: limit as u64 + 1,
                rev: false,
            },
            Cmd::XInfoStream(keys::changes(market)),
        ])
        .await?;
    let mut it = replies.into_iter();
    let range = it.next().unwrap_or(Reply::Nil);
    if let Reply::Error(e) = &range {
        return Err(StoreError::Refused(e.clone()));
    }
    let info = stream_info(&it.next().unwrap_or(Reply::Nil));
    let (mut found, skipped) = entries(range);
    let has_more = found.len() > limit;
    found.truncate(limit);
    let truncated = unknown || info.dropped_after(after);
    let next = found.last().map(|(id, _)| *id).or(match since {
        Since::Cursor(id) => Some(*id),
        _ => None,
    });
    let page = Page {
        events: found.into_iter().map(|(_, e)| e).collect(),
        next,
        has_more,
        truncated,
        retained: info.length,
    };
    Ok((page, skipped))
}

/// The newest `n` events of a market, newest first, from an `XREVRANGE .. COUNT n` reply
/// (the status page's "recent changes").
pub fn recent(reply: Reply) -> Vec<Event> {
    entries(reply).0.into_iter().map(|(_, e)| e).collect()
}

/// The command reading the newest `n` events of `market`.
pub fn recent_cmd(market: Market, n: u64) -> Cmd {
    Cmd::XRange {
        key: keys::changes(market),
        start: "-".into(),
        end: "+".into(),
        count: n,
        rev: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids() {
        assert_eq!(
            StreamId::parse("1700000000000-3"),
            Some(StreamId {
                ms: 1_700_000_000_000,
                seq: 3
            })
        );
        for bad in [
            "",
            "1",
            "-1",
            "1-",
            "a-1",
            "1-+2",
            "1--2",
            "1-2-3",
            " 1-2",
            "123456789012345678901-0",
        ] {
            assert_eq!(StreamId::parse(bad), None, "{bad:?}");
        }
        assert!(StreamId { ms: 2, seq: 0 } > StreamId { ms: 1, seq: 9 });
        assert_eq!(StreamId { ms: 5, seq: 1 }.to_string(), "5-1");
    }

    #[test]
    fn recording_moves_ids_past_the_newest_and_counts_by_kind() {
        let change = |kind, s: &str| Change {
            kind,
            symbol: s.into(),
            field: None,
            from: None,
            to: None,
        };
        let (cmds, rec) = record(
            Market::Spot,
            "0123456789abcdef",
            vec![
                change(Kind::Listed, "A"),
                change(Kind::Listed, "B"),
                change(Kind::Delisted, "C"),
            ],
            1_000,
            Some(5_000),
            10,
        );
        let ids: Vec<_> = rec.events.iter().map(|e| e.id.clone().unwrap()).collect();
        assert_eq!(ids, ["5001-0", "5001-1", "5001-2"]);
        assert_eq!(rec.events[0].detected_at, "1970-01-01T00:00:05.001Z");
        assert!(matches!(&cmds[0], Cmd::XAdd { maxlen: 10, id, .. } if id == "5001-0"));
        assert!(cmds.contains(&Cmd::IncrBy(
            keys::changes_recorded(Market::Spot, Kind::Listed),
            2
        )));
        assert!(cmds.contains(&Cmd::IncrBy(
            keys::changes_recorded(Market::Spot, Kind::Delisted),
            1
        )));
        assert!(cmds.contains(&Cmd::ZAdd {
            key: keys::changes_versions(Market::Spot),
            score: 5_001,
            member: "0123456789abcdef".into()
        }));
        let body: Value = serde_json::from_slice(&rec.webhook_body()).unwrap();
        assert_eq!(body["count"], 3);
        assert_eq!(body["events"][2]["type"], "delisted");
        assert_eq!(body["events"][2]["id"], "5001-2");
        // No events (the first refresh): only the version is indexed.
        let (cmds, rec) = record(Market::Futures, "v", Vec::new(), 9, None, 10);
        assert!(rec.events.is_empty());
        assert_eq!(cmds.len(), 2);
    }
}
