//! An in-memory [`Store`] with Redis semantics for the commands the service uses
//! (unit tests, and the CLI's dry runs). Can be switched "down" to act unreachable.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use crate::ports::{Cmd, Reply, Store, StoreError};

/// A key's value and optional expiry (unix ms).
#[derive(Clone, Debug)]
struct Entry {
    value: Vec<u8>,
    expires_at: Option<u64>,
}

/// A stream entry's field/value pairs.
pub type Fields = Vec<(String, Vec<u8>)>;

/// A stream: entries by id `(ms, seq)`, the last id generated and how many were added.
#[derive(Clone, Debug, Default)]
struct Stream {
    entries: BTreeMap<(u64, u64), Fields>,
    last: (u64, u64),
    added: u64,
}

/// In-memory Redis stand-in. Time comes from `now` (settable) so expiry is deterministic.
/// Streams and sorted sets live beside the strings (no type clashes are modelled).
#[derive(Default)]
pub struct MemoryStore {
    map: RefCell<HashMap<String, Entry>>,
    streams: RefCell<HashMap<String, Stream>>,
    zsets: RefCell<HashMap<String, Vec<(i64, String)>>>,
    now_ms: Cell<u64>,
    down: Cell<bool>,
    round_trips: Cell<u32>,
    arg_bytes: Cell<u64>,
    reply_bytes: Cell<u64>,
    refused: RefCell<Vec<String>>,
}

impl MemoryStore {
    /// Empty store.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the store's notion of now.
    pub fn set_now(&self, ms: u64) {
        self.now_ms.set(ms);
    }
    /// Makes every call fail as unreachable (or recover).
    pub fn set_down(&self, down: bool) {
        self.down.set(down);
    }
    /// Batches run so far.
    pub fn round_trips(&self) -> u32 {
        self.round_trips.get()
    }
    /// Bytes of every command's keys and values sent so far (what a write costs in
    /// request bandwidth, without the envelope).
    pub fn arg_bytes(&self) -> u64 {
        self.arg_bytes.get()
    }
    /// Bytes of every value read so far (what reads cost in response bandwidth).
    pub fn reply_bytes(&self) -> u64 {
        self.reply_bytes.get()
    }
    /// Makes every `SET` or `COPY` to `key` fail with a Redis error (a write refused, e.g. OOM).
    pub fn refuse_writes_to(&self, key: &str) {
        self.refused.borrow_mut().push(key.to_string());
    }
    /// Raw value of a live key.
    pub fn raw(&self, key: &str) -> Option<Vec<u8>> {
        self.live(key).map(|e| e.value)
    }
    /// Remaining TTL in ms (None: no key or no expiry).
    pub fn ttl_ms(&self, key: &str) -> Option<u64> {
        self.live(key)?
            .expires_at
            .map(|t| t.saturating_sub(self.now_ms.get()))
    }
    /// Stores a raw value (test setup, e.g. garbage under a key).
    pub fn put(&self, key: &str, value: &[u8]) {
        self.map.borrow_mut().insert(
            key.into(),
            Entry {
                value: value.to_vec(),
                expires_at: None,
            },
        );
    }
    /// Integer value of a counter (0 when absent).
    pub fn int(&self, key: &str) -> i64 {
        self.raw(key)
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Entries of a stream (id, fields), oldest first.
    pub fn stream(&self, key: &str) -> Vec<(String, Fields)> {
        self.streams
            .borrow()
            .get(key)
            .map(|s| {
                s.entries
                    .iter()
                    .map(|(id, f)| (format!("{}-{}", id.0, id.1), f.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn live(&self, key: &str) -> Option<Entry> {
        let now = self.now_ms.get();
        let mut map = self.map.borrow_mut();
        match map.get(key) {
            Some(e) if e.expires_at.is_some_and(|t| t <= now) => {
                map.remove(key);
                None
            }
            other => other.cloned(),
        }
    }

    fn apply(&self, cmd: Cmd) -> Reply {
        let now = self.now_ms.get();
        match cmd {
            Cmd::Get(k) => self.live(&k).map_or(Reply::Nil, |e| Reply::Bytes(e.value)),
            Cmd::MGet(keys) => Reply::Array(
                keys.iter()
                    .map(|k| self.live(k).map_or(Reply::Nil, |e| Reply::Bytes(e.value)))
                    .collect(),
            ),
            Cmd::Set {
                key,
                value,
                ex,
                px,
                nx,
            } => {
                if self.refused.borrow().contains(&key) {
                    return Reply::Error(
                        "OOM command not allowed when used memory > 'maxmemory'.".into(),
                    );
                }
                if nx && self.live(&key).is_some() {
                    return Reply::Nil;
                }
                let expires_at = ex.map(|s| now + s * 1000).or(px.map(|ms| now + ms));
                self.map
                    .borrow_mut()
                    .insert(key, Entry { value, expires_at });
                Reply::Ok
            }
            Cmd::IncrBy(k, n) => {
                let cur = self.live(&k);
                let parsed = match &cur {
                    None => Some(0),
                    Some(e) => std::str::from_utf8(&e.value)
                        .ok()
                        .and_then(|s| s.parse::<i64>().ok()),
                };
                match parsed {
                    None => Reply::Error("ERR value is not an integer or out of range".into()),
                    Some(v) => {
                        let v = v + n;
                        let expires_at = cur.and_then(|e| e.expires_at);
                        self.map.borrow_mut().insert(
                            k,
                            Entry {
                                value: v.to_string().into_bytes(),
                                expires_at,
                            },
                        );
                        Reply::Int(v)
                    }
                }
            }
            Cmd::Del(k) => Reply::Int(i64::from(self.map.borrow_mut().remove(&k).is_some())),
            Cmd::Expire(k, secs) => match self.live(&k) {
                Some(e) => {
                    self.map.borrow_mut().insert(
                        k,
                        Entry {
                            value: e.value,
                            expires_at: Some(now + secs * 1000),
                        },
                    );
                    Reply::Int(1)
                }
                None => Reply::Int(0),
            },
            Cmd::Exists(k) => Reply::Int(i64::from(self.live(&k).is_some())),
            Cmd::GetRange(k, start, end) => {
                let v = self.live(&k).map(|e| e.value).unwrap_or_default();
                let len = v.len() as i64;
                let at = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
                let (from, to) = (at(start), (at(end) + 1).min(len));
                Reply::Bytes(if from < to {
                    v[from as usize..to as usize].to_vec()
                } else {
                    Vec::new()
                })
            }
            Cmd::Copy { to, .. } if self.refused.borrow().contains(&to) => {
                Reply::Error("OOM command not allowed when used memory > 'maxmemory'.".into())
            }
            Cmd::Copy { from, to } => match self.live(&from) {
                Some(e) => {
                    self.map.borrow_mut().insert(to, e);
                    Reply::Int(1)
                }
                None => Reply::Int(0),
            },
            Cmd::Persist(k) => match self.live(&k) {
                Some(e) if e.expires_at.is_some() => {
                    self.map.borrow_mut().insert(
                        k,
                        Entry {
                            value: e.value,
                            expires_at: None,
                        },
                    );
                    Reply::Int(1)
                }
                _ => Reply::Int(0),
            },
            Cmd::DelIfEq(k, v) => {
                if self.live(&k).is_some_and(|e| e.value == v.as_bytes()) {
                    self.map.borrow_mut().remove(&k);
                    Reply::Int(1)
                } else {
                    Reply::Int(0)
                }
            }
            Cmd::XAdd {
                key,
                maxlen,
                id,
                fields,
            } => {
                let Some(id) = parse_id(&id, 0) else {
                    return Reply::Error(
                        "ERR Invalid stream ID specified as stream command argument".into(),
                    );
                };
                let mut streams = self.streams.borrow_mut();
                let s = streams.entry(key).or_default();
                if id <= s.last || id == (0, 0) {
                    return Reply::Error("ERR The ID specified in XADD is equal or smaller than the target stream top item".into());
                }
                s.entries.insert(id, fields);
                s.last = id;
                s.added += 1;
                // Trimming (unlike XDEL) leaves `max-deleted-entry-id` at 0-0, as in Redis.
                while s.entries.len() as u64 > maxlen {
                    s.entries.pop_first();
                }
                Reply::Bytes(format!("{}-{}", id.0, id.1).into_bytes())
            }
            Cmd::XRange {
                key,
                start,
                end,
                count,
                rev,
            } => {
                let streams = self.streams.borrow();
                let Some(s) = streams.get(&key) else {
                    return Reply::Array(Vec::new());
                };
                let (Some(lo), Some(hi)) = (bound(&start, 0), bound(&end, u64::MAX)) else {
                    return Reply::Error(
                        "ERR Invalid stream ID specified as stream command argument".into(),
                    );
                };
                let entry = |(id, fields): (&(u64, u64), &Fields)| {
                    let flat = fields
                        .iter()
                        .flat_map(|(f, v)| {
                            [
                                Reply::Bytes(f.clone().into_bytes()),
                                Reply::Bytes(v.clone()),
                            ]
                        })
                        .collect();
                    Reply::Array(vec![
                        Reply::Bytes(format!("{}-{}", id.0, id.1).into_bytes()),
                        Reply::Array(flat),
                    ])
                };
                let inside = s
                    .entries
                    .iter()
                    .filter(|(id, _)| lo.contains(id, true) && hi.contains(id, false));
                let take = count as usize;
                Reply::Array(if rev {
                    inside.rev().take(take).map(entry).collect()
                } else {
                    inside.take(take).map(entry).collect()
                })
            }
            Cmd::XInfoStream(key) => match self.streams.borrow().get(&key) {
                None => Reply::Error("ERR no such key".into()),
                Some(s) => {
                    let id = |i: (u64, u64)| Reply::Bytes(format!("{}-{}", i.0, i.1).into_bytes());
                    let first = s.entries.keys().next().copied().unwrap_or((0, 0));
                    Reply::Array(vec![
                        Reply::Bytes(b"length".to_vec()),
                        Reply::Int(s.entries.len() as i64),
                        Reply::Bytes(b"last-generated-id".to_vec()),
                        id(s.last),
                        Reply::Bytes(b"max-deleted-entry-id".to_vec()),
                        id((0, 0)),
                        Reply::Bytes(b"entries-added".to_vec()),
                        Reply::Int(s.added as i64),
                        Reply::Bytes(b"recorded-first-entry-id".to_vec()),
                        id(first),
                    ])
                }
            },
            Cmd::HSet { key, fields } => {
                let cur = self.live(&key);
                let mut hash = cur.as_ref().map(|e| hash_of(&e.value)).unwrap_or_default();
                let mut added = 0;
                for (f, v) in fields {
                    added += i64::from(hash.insert(f, v).is_none());
                }
                let expires_at = cur.and_then(|e| e.expires_at);
                self.map.borrow_mut().insert(
                    key,
                    Entry {
                        value: hash_bytes(&hash),
                        expires_at,
                    },
                );
                Reply::Int(added)
            }
            Cmd::HGet(key, field) => self
                .live(&key)
                .and_then(|e| hash_of(&e.value).remove(&field))
                .map_or(Reply::Nil, Reply::Bytes),
            Cmd::HGetAll(key) => Reply::Array(
                self.live(&key)
                    .map(|e| hash_of(&e.value))
                    .unwrap_or_default()
                    .into_iter()
                    .flat_map(|(f, v)| [Reply::Bytes(f.into_bytes()), Reply::Bytes(v)])
                    .collect(),
            ),
            Cmd::ZAdd { key, score, member } => {
                let mut zsets = self.zsets.borrow_mut();
                let z = zsets.entry(key).or_default();
                let added = !z.iter().any(|(_, m)| *m == member);
                z.retain(|(_, m)| *m != member);
                z.push((score, member));
                z.sort();
                Reply::Int(i64::from(added))
            }
            Cmd::ZScore(key, member) => self
                .zsets
                .borrow()
                .get(&key)
                .and_then(|z| z.iter().find(|(_, m)| *m == member))
                .map_or(Reply::Nil, |(score, _)| {
                    Reply::Bytes(score.to_string().into_bytes())
                }),
            Cmd::ZRemRangeByRank(key, start, stop) => {
                let mut zsets = self.zsets.borrow_mut();
                let Some(z) = zsets.get_mut(&key) else {
                    return Reply::Int(0);
                };
                let len = z.len() as i64;
                let at = |i: i64| if i < 0 { len + i } else { i };
                let (from, to) = (at(start).max(0), at(stop).min(len - 1));
                if from > to {
                    return Reply::Int(0);
                }
                z.drain(from as usize..=to as usize);
                Reply::Int(to - from + 1)
            }
        }
    }
}

/// `<ms>-<seq>` or `<ms>` (then `seq` is `default_seq`).
fn parse_id(s: &str, default_seq: u64) -> Option<(u64, u64)> {
    match s.split_once('-') {
        Some((ms, seq)) => Some((ms.parse().ok()?, seq.parse().ok()?)),
        None => Some((s.parse().ok()?, default_seq)),
    }
}

/// One end of an `XRANGE`: `-`, `+`, an id, or `(` and an id (exclusive).
#[derive(Clone, Copy)]
struct Bound {
    id: (u64, u64),
    exclusive: bool,
    open: bool,
}

impl Bound {
    fn contains(&self, id: &(u64, u64), low: bool) -> bool {
        if self.open {
            return true;
        }
        match (low, self.exclusive) {
            (true, false) => *id >= self.id,
            (true, true) => *id > self.id,
            (false, false) => *id <= self.id,
            (false, true) => *id < self.id,
        }
    }
}

fn bound(s: &str, default_seq: u64) -> Option<Bound> {
    if s == "-" || s == "+" {
        return Some(Bound {
            id: (0, 0),
            exclusive: false,
            open: true,
        });
    }
    let (exclusive, rest) = match s.strip_prefix('(') {
        Some(r) => (true, r),
        None => (false, s),
    };
    Some(Bound {
        id: parse_id(rest, default_seq)?,
        exclusive,
        open: false,
    })
}

fn arg_len(cmd: &Cmd) -> usize {
    match cmd {
        Cmd::Get(k) | Cmd::Del(k) | Cmd::Exists(k) | Cmd::Persist(k) | Cmd::GetRange(k, ..) => {
            k.len()
        }
        Cmd::Expire(k, _) | Cmd::IncrBy(k, _) => k.len(),
        Cmd::Copy { from, to } => from.len() + to.len(),
        Cmd::MGet(keys) => keys.iter().map(String::len).sum(),
        Cmd::Set { key, value, .. } => key.len() + value.len(),
        Cmd::DelIfEq(k, v) => k.len() + v.len(),
        Cmd::XAdd {
            key, id, fields, ..
        } => key.len() + id.len() + fields.iter().map(|(f, v)| f.len() + v.len()).sum::<usize>(),
        Cmd::XRange {
            key, start, end, ..
        } => key.len() + start.len() + end.len(),
        Cmd::XInfoStream(k) => k.len(),
        Cmd::ZAdd { key, member, .. } | Cmd::ZScore(key, member) => key.len() + member.len(),
        Cmd::ZRemRangeByRank(k, ..) => k.len(),
        Cmd::HSet { key, fields } => {
            key.len() + fields.iter().map(|(f, v)| f.len() + v.len()).sum::<usize>()
        }
        Cmd::HGet(k, f) => k.len() + f.len(),
        Cmd::HGetAll(k) => k.len(),
    }
}

/// A hash lives in a string entry, encoded (so `DEL`, `EXPIRE`, `COPY` and TTLs apply to
/// it unchanged; type clashes are not modelled).
fn hash_of(value: &[u8]) -> BTreeMap<String, Vec<u8>> {
    serde_json::from_slice(value).unwrap_or_default()
}

fn hash_bytes(hash: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    serde_json::to_vec(hash).unwrap_or_default()
}

impl Store for MemoryStore {
    async fn exec(&self, cmds: Vec<Cmd>) -> Result<Vec<Reply>, StoreError> {
        if self.down.get() {
            return Err(StoreError::Unreachable("memory store switched down".into()));
        }
        self.round_trips.set(self.round_trips.get() + 1);
        let bytes: usize = cmds.iter().map(arg_len).sum();
        self.arg_bytes.set(self.arg_bytes.get() + bytes as u64);
        let replies: Vec<Reply> = cmds.into_iter().map(|c| self.apply(c)).collect();
        let read: usize = replies.iter().map(reply_len).sum();
        self.reply_bytes.set(self.reply_bytes.get() + read as u64);
        Ok(replies)
    }
}

fn reply_len(reply: &Reply) -> usize {
    match reply {
        Reply::Bytes(b) => b.len(),
        Reply::Array(items) => items.iter().map(reply_len).sum(),
        _ => 0,
    }
}

impl<T: Store> Store for &T {
    async fn exec(&self, cmds: Vec<Cmd>) -> Result<Vec<Reply>, StoreError> {
        (**self).exec(cmds).await
    }
}
