//! The traits the service is written against: the store, the upstream, the clock.
//!
//! Futures are not `Send` (wasm32 futures never are), so the same service runs in
//! workerd and natively. Implementations: [`crate::store`] (Upstash REST); for the upstream,
//! `upstream::ReqwestHttp` (feature `reqwest`: the CLI) and the Worker's own over fetch; the
//! Worker and the CLI bring a clock; unit tests bring in-memory fakes.

#![allow(async_fn_in_trait)]

/// One Redis command, as the service needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// `GET key`.
    Get(String),
    /// `MGET keys...`.
    MGet(Vec<String>),
    /// `SET key value [EX s | PX ms] [NX]`.
    Set {
        /// Key.
        key: String,
        /// Value bytes.
        value: Vec<u8>,
        /// Expiry in seconds.
        ex: Option<u64>,
        /// Expiry in milliseconds.
        px: Option<u64>,
        /// Only if absent.
        nx: bool,
    },
    /// `INCRBY key n`.
    IncrBy(String, i64),
    /// `DEL key`.
    Del(String),
    /// `EXPIRE key seconds`: `Int(1)`, or `Int(0)` when the key is gone.
    Expire(String, u64),
    /// `EXISTS key`: `Int(1)` or `Int(0)`.
    Exists(String),
    /// `COPY source destination REPLACE` (the source's TTL goes along): `Int(1)`, or
    /// `Int(0)` when the source is gone. A server-side copy: the value is not sent again.
    Copy {
        /// Source key.
        from: String,
        /// Destination key (replaced).
        to: String,
    },
    /// `PERSIST key`: drops its TTL.
    Persist(String),
    /// `GETRANGE key start end` (negative offsets count from the end): `Bytes`, empty when
    /// the key is missing. Checks a stored value's ends without moving it.
    GetRange(String, i64, i64),
    /// Delete `key` only while it holds `value` (lock release by its owner).
    DelIfEq(String, String),
    /// `XADD key MAXLEN = maxlen id field value ...`: the entry's id (`Bytes`); the
    /// oldest entries beyond `maxlen` are trimmed exactly.
    XAdd {
        /// Stream key.
        key: String,
        /// Entries kept at most.
        maxlen: u64,
        /// Explicit id `<ms>-<seq>`, greater than the stream's last.
        id: String,
        /// Field/value pairs.
        fields: Vec<(String, Vec<u8>)>,
    },
    /// `XRANGE key start end COUNT count` (`XREVRANGE key end start ..` when `rev`):
    /// `Array` of `[id, [field, value, ...]]` entries, empty for a missing key.
    XRange {
        /// Stream key.
        key: String,
        /// Lowest id (`-`, `<ms>-<seq>`, `(<id>` exclusive).
        start: String,
        /// Highest id (`+`, ...).
        end: String,
        /// Entries at most.
        count: u64,
        /// Newest first (`XREVRANGE`).
        rev: bool,
    },
    /// `XINFO STREAM key`: a flat `[name, value, ...]` array (`max-deleted-entry-id`
    /// says whether history was trimmed); an error for a missing key.
    XInfoStream(String),
    /// `ZADD key score member`.
    ZAdd {
        /// Sorted set key.
        key: String,
        /// Score (integers only here: exact up to 2^53).
        score: i64,
        /// Member.
        member: String,
    },
    /// `ZSCORE key member`: the score as a decimal string, or `Nil`.
    ZScore(String, String),
    /// `ZREMRANGEBYRANK key start stop` (negative ranks count from the highest score).
    ZRemRangeByRank(String, i64, i64),
    /// `HSET key field value ...`: `Int` of the fields added.
    HSet {
        /// Hash key.
        key: String,
        /// Field/value pairs.
        fields: Vec<(String, Vec<u8>)>,
    },
    /// `HGET key field`: `Bytes`, or `Nil`.
    HGet(String, String),
    /// `HGETALL key`: `Array` of field, value, field, value, ... (empty for a missing key).
    HGetAll(String),
}

impl Cmd {
    /// `SET key value` with no options.
    pub fn set(key: String, value: impl Into<Vec<u8>>) -> Self {
        Cmd::Set {
            key,
            value: value.into(),
            ex: None,
            px: None,
            nx: false,
        }
    }
}

/// One command's reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Missing key / NX not applied.
    Nil,
    /// `OK`.
    Ok,
    /// An integer.
    Int(i64),
    /// A string value (raw bytes).
    Bytes(Vec<u8>),
    /// An array (MGET).
    Array(Vec<Reply>),
    /// The command failed (e.g. WRONGTYPE); the others in the batch still ran.
    Error(String),
}

impl Reply {
    /// The value bytes of a GET-like reply.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Reply::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// An integer, also when sent as a decimal string.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(i) => Some(*i),
            Reply::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
            _ => None,
        }
    }
}

/// The store could not run the batch at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Transport failure, timeout or a 5xx: Redis is unreachable for now.
    #[error("redis unreachable: {0}")]
    Unreachable(String),
    /// The store answered but refused (e.g. 401 wrong token, 400).
    #[error("redis refused the request: {0}")]
    Refused(String),
}

/// Redis, reached in batches: one call is one round trip.
pub trait Store {
    /// Runs `cmds` in one round trip (a pipeline), returning one reply per command.
    async fn exec(&self, cmds: Vec<Cmd>) -> Result<Vec<Reply>, StoreError>;
}

/// A store that counts the batches sent through it (failed ones too): made for one call,
/// so its count is that call's round trips, whatever else the isolate runs meanwhile.
pub struct Counted<'a, S> {
    store: &'a S,
    batches: std::cell::Cell<u32>,
}

impl<'a, S: Store> Counted<'a, S> {
    /// Counts what goes to `store` from now on.
    pub fn new(store: &'a S) -> Self {
        Self {
            store,
            batches: std::cell::Cell::new(0),
        }
    }

    /// Batches sent so far.
    pub fn batches(&self) -> u32 {
        self.batches.get()
    }
}

impl<S: Store> Store for Counted<'_, S> {
    async fn exec(&self, cmds: Vec<Cmd>) -> Result<Vec<Reply>, StoreError> {
        self.batches.set(self.batches.get() + 1);
        self.store.exec(cmds).await
    }
}

/// An upstream HTTP GET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// Full URL.
    pub url: String,
    /// Headers to send (the API key among them when used).
    pub headers: Vec<(String, String)>,
    /// Deadline for the whole exchange, body included.
    pub timeout_ms: u64,
}

/// An upstream HTTP response, whatever its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// `X-MBX-USED-WEIGHT-1M`, if sent.
    pub used_weight: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The request never produced a response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The deadline passed.
    #[error("timed out")]
    Timeout,
    /// Connect/TLS/IO failure (message without URL query or secrets).
    #[error("network error: {0}")]
    Network(String),
}

/// Something that performs HTTP requests (Binance, or the fake exchange; the changes
/// webhook).
pub trait Http {
    /// Performs the request.
    async fn get(&self, req: HttpRequest) -> Result<HttpResponse, HttpError>;
    /// POSTs `body` as `application/json` to `req.url` (the changes webhook): the status.
    async fn post_json(&self, req: HttpRequest, body: Vec<u8>) -> Result<u16, HttpError>;
}

/// Time and waiting.
pub trait Clock {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> u64;
    /// Waits `ms` milliseconds.
    async fn sleep(&self, ms: u64);
    /// A value unique to this caller (the lock owner id).
    fn nonce(&self) -> String;
}

#[cfg(test)]
mod counted_tests {
    use super::*;
    use crate::memory::MemoryStore;
    use futures::executor::block_on;

    #[test]
    fn counts_the_batches_of_its_own_calls_failed_ones_too() {
        let store = MemoryStore::new();
        let counted = Counted::new(&store);
        block_on(counted.exec(vec![Cmd::Get("a".into()), Cmd::Get("b".into())])).unwrap();
        block_on(crate::service::ping(&counted)).unwrap();
        store.set_down(true);
        assert!(block_on(counted.exec(vec![Cmd::Get("a".into())])).is_err());
        assert_eq!(counted.batches(), 3);
        // Another view of the same store starts from zero: counts are per call, not shared.
        assert_eq!(Counted::new(&store).batches(), 0);
    }
}
