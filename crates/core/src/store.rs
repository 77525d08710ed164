//! [`Store`] over the Upstash REST client: each batch is one `/pipeline` round trip.

use upstash_rest::{Client, Command, Error, SetOptions, Value};

use crate::ports::{Cmd, Reply, Store, StoreError};

/// Releases the lock only while we still own it (compare-and-delete in one step).
const DEL_IF_EQ: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// The Upstash client as the service's store.
#[derive(Clone)]
pub struct UpstashStore {
    client: Client,
}

impl UpstashStore {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The wrapped client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn to_command(cmd: Cmd) -> Command {
    match cmd {
        Cmd::Get(k) => Command::get(k),
        Cmd::MGet(keys) => Command::mget(keys),
        Cmd::Set {
            key,
            value,
            ex,
            px,
            nx,
        } => Command::set(key, value, SetOptions { ex, px, nx }),
        Cmd::IncrBy(k, n) => Command::incr_by(k, n),
        Cmd::Del(k) => Command::del([k]),
        Cmd::Expire(k, secs) => Command::expire(k, secs),
        Cmd::Exists(k) => Command::new("EXISTS").arg(k),
        Cmd::Copy { from, to } => Command::new("COPY").arg(from).arg(to).arg("REPLACE"),
        Cmd::Persist(k) => Command::new("PERSIST").arg(k),
        Cmd::GetRange(k, start, end) => Command::new("GETRANGE")
            .arg(k)
            .arg(start.to_string())
            .arg(end.to_string()),
        Cmd::DelIfEq(k, v) => Command::eval(DEL_IF_EQ, [k], [v]),
        Cmd::XAdd {
            key,
            maxlen,
            id,
            fields,
        } => {
            let mut c = Command::new("XADD")
                .arg(key)
                .arg("MAXLEN")
                .arg("=")
                .arg(maxlen.to_string())
                .arg(id);
            for (f, v) in fields {
                c = c.arg(f).arg(v);
            }
            c
        }
        Cmd::XRange {
            key,
            start,
            end,
            count,
            rev,
        } => {
            let (name, first, second) = if rev {
                ("XREVRANGE", end, start)
            } else {
                ("XRANGE", start, end)
            };
            Command::new(name)
                .arg(key)
                .arg(first)
                .arg(second)
                .arg("COUNT")
                .arg(count.to_string())
        }
        Cmd::XInfoStream(k) => Command::new("XINFO").arg("STREAM").arg(k),
        Cmd::HSet { key, fields } => {
            let mut c = Command::new("HSET").arg(key);
            for (f, v) in fields {
                c = c.arg(f).arg(v);
            }
            c
        }
        Cmd::HGet(k, f) => Command::new("HGET").arg(k).arg(f),
        Cmd::HGetAll(k) => Command::new("HGETALL").arg(k),
        Cmd::ZAdd { key, score, member } => Command::new("ZADD")
            .arg(key)
            .arg(score.to_string())
            .arg(member),
        Cmd::ZScore(k, m) => Command::new("ZSCORE").arg(k).arg(m),
        Cmd::ZRemRangeByRank(k, start, stop) => Command::new("ZREMRANGEBYRANK")
            .arg(k)
            .arg(start.to_string())
            .arg(stop.to_string()),
    }
}

fn to_reply(v: Value) -> Reply {
    match v {
        Value::Nil => Reply::Nil,
        Value::Int(i) => Reply::Int(i),
        Value::Array(items) => Reply::Array(items.into_iter().map(to_reply).collect()),
        other => match other.into_bytes() {
            Some(b) if b == b"OK" => Reply::Ok,
            Some(b) => Reply::Bytes(b),
            None => Reply::Nil,
        },
    }
}

fn to_store_error(e: Error) -> StoreError {
    if e.is_unreachable() {
        StoreError::Unreachable(e.to_string())
    } else {
        StoreError::Refused(e.to_string())
    }
}

impl Store for UpstashStore {
    async fn exec(&self, cmds: Vec<Cmd>) -> Result<Vec<Reply>, StoreError> {
        // A single command skips the pipeline envelope: same one round trip, smaller bodies.
        if cmds.len() == 1 {
            let cmd = cmds.into_iter().next().map(to_command);
            let Some(cmd) = cmd else {
                return Ok(Vec::new());
            };
            return match self.client.command(cmd).await {
                Ok(v) => Ok(vec![to_reply(v)]),
                Err(Error::Redis(msg)) => Ok(vec![Reply::Error(msg)]),
                Err(e) => Err(to_store_error(e)),
            };
        }
        let mut p = self.client.pipeline();
        for c in cmds {
            p = p.cmd(to_command(c));
        }
        let results = p.exec().await.map_err(to_store_error)?;
        Ok(results
            .into_iter()
            .map(|r| match r {
                Ok(v) => to_reply(v),
                Err(e) => Reply::Error(e.to_string()),
            })
            .collect())
    }
}
