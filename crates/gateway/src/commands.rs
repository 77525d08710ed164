//! Which Redis commands the gateway refuses (blocking, connection-state) and which are read-only.
//!
//! Refused commands never reach Redis: they would hang a pooled connection (`BLPOP`, `SUBSCRIBE`,
//! `XREAD … BLOCK`) or change its state for the next request (`SELECT`, `AUTH`, `MULTI`). The
//! read-only list decides what a read-only token may run; anything not on it counts as a write.

use bytes::Bytes;

/// Commands that block the connection until data arrives or a timeout passes.
const BLOCKING: &[&str] = &[
    "BLPOP",
    "BRPOP",
    "BLMOVE",
    "BRPOPLPUSH",
    "BZPOPMIN",
    "BZPOPMAX",
    "BLMPOP",
    "BZMPOP",
    "WAIT",
    "WAITAOF",
];

/// Commands that turn the connection into a stream (pub/sub, replication, monitoring).
const STREAMING: &[&str] = &[
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "UNSUBSCRIBE",
    "PUNSUBSCRIBE",
    "SUNSUBSCRIBE",
    "MONITOR",
    "SYNC",
    "PSYNC",
    "REPLCONF",
];

/// Commands that change per-connection state that would leak into the next request.
const CONNECTION_STATE: &[&str] = &["QUIT", "SELECT", "AUTH", "HELLO", "RESET"];

/// Transaction commands: use `/multi-exec` instead.
const TRANSACTION: &[&str] = &["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"];

/// Commands that only read data (Redis' `readonly` flag, plus harmless introspection).
const READ_ONLY: &[&str] = &[
    // keys and strings
    "GET",
    "MGET",
    "GETRANGE",
    "SUBSTR",
    "STRLEN",
    "LCS",
    "EXISTS",
    "TYPE",
    "TTL",
    "PTTL",
    "EXPIRETIME",
    "PEXPIRETIME",
    "KEYS",
    "SCAN",
    "RANDOMKEY",
    "DBSIZE",
    "DUMP",
    "TOUCH",
    "OBJECT",
    "SORT_RO",
    // bits and hyperloglog
    "GETBIT",
    "BITCOUNT",
    "BITPOS",
    "BITFIELD_RO",
    "PFCOUNT",
    // hashes
    "HGET",
    "HMGET",
    "HGETALL",
    "HKEYS",
    "HVALS",
    "HLEN",
    "HEXISTS",
    "HSTRLEN",
    "HSCAN",
    "HRANDFIELD",
    "HTTL",
    "HPTTL",
    "HEXPIRETIME",
    "HPEXPIRETIME",
    // lists
    "LRANGE",
    "LLEN",
    "LINDEX",
    "LPOS",
    // sets
    "SMEMBERS",
    "SISMEMBER",
    "SMISMEMBER",
    "SCARD",
    "SRANDMEMBER",
    "SSCAN",
    "SINTER",
    "SINTERCARD",
    "SUNION",
    "SDIFF",
    // sorted sets
    "ZRANGE",
    "ZRANGEBYSCORE",
    "ZREVRANGE",
    "ZREVRANGEBYSCORE",
    "ZRANGEBYLEX",
    "ZREVRANGEBYLEX",
    "ZSCORE",
    "ZMSCORE",
    "ZCARD",
    "ZCOUNT",
    "ZLEXCOUNT",
    "ZRANK",
    "ZREVRANK",
    "ZSCAN",
    "ZRANDMEMBER",
    "ZINTER",
    "ZUNION",
    "ZDIFF",
    "ZINTERCARD",
    // streams (XREAD without BLOCK only; blocking is refused earlier)
    "XRANGE",
    "XREVRANGE",
    "XLEN",
    "XREAD",
    "XINFO",
    "XPENDING",
    // geo
    "GEOPOS",
    "GEODIST",
    "GEOHASH",
    "GEORADIUS_RO",
    "GEORADIUSBYMEMBER_RO",
    "GEOSEARCH",
    // scripting (read-only variants)
    "EVAL_RO",
    "EVALSHA_RO",
    "FCALL_RO",
    // server introspection
    "PING",
    "ECHO",
    "TIME",
    "INFO",
    "LASTSAVE",
    "COMMAND",
    "MEMORY",
];

/// The upper-cased command name (lossy for non-UTF-8 names).
pub fn command_name(command: &[Bytes]) -> String {
    command
        .first()
        .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
        .unwrap_or_default()
}

fn arg_is(arg: &Bytes, word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Why a command is refused before reaching Redis, as an error message; `None` when allowed.
pub fn refusal(command: &[Bytes]) -> Option<String> {
    let name = command_name(command);
    let lower = name.to_ascii_lowercase();
    let n = name.as_str();
    if command.is_empty() || n.is_empty() {
        return Some("ERR empty command".into());
    }
    if BLOCKING.contains(&n) {
        return Some(format!(
            "ERR blocking command '{lower}' is not supported by the REST gateway (it would hang a shared connection); poll with the non-blocking variant"
        ));
    }
    if (n == "XREAD" || n == "XREADGROUP") && command.iter().skip(1).any(|a| arg_is(a, "BLOCK")) {
        return Some(format!(
            "ERR blocking command '{lower}' with BLOCK is not supported by the REST gateway; omit BLOCK and poll"
        ));
    }
    if STREAMING.contains(&n) {
        return Some(format!("ERR command '{lower}' is not supported by the REST gateway (it needs a dedicated streaming connection)"));
    }
    if CONNECTION_STATE.contains(&n) {
        return Some(format!(
            "ERR command '{lower}' is not supported by the REST gateway (it would change the state of a shared connection)"
        ));
    }
    if n == "CLIENT"
        && command
            .get(1)
            .is_some_and(|s| arg_is(s, "REPLY") || arg_is(s, "PAUSE"))
    {
        return Some(format!(
            "ERR command 'client {}' is not supported by the REST gateway",
            String::from_utf8_lossy(&command[1]).to_ascii_lowercase()
        ));
    }
    if TRANSACTION.contains(&n) {
        return Some(format!("ERR command '{lower}' is not supported by the REST gateway; send transactions to /multi-exec"));
    }
    None
}

/// Whether `command` only reads (allowed for the read-only token).
pub fn is_read_only(command: &[Bytes]) -> bool {
    let name = command_name(command);
    match name.as_str() {
        // Only some MEMORY subcommands read.
        "MEMORY" => command
            .get(1)
            .is_some_and(|s| arg_is(s, "USAGE") || arg_is(s, "STATS")),
        n => READ_ONLY.contains(&n),
    }
}

/// The `NOPERM` error a read-only token gets for a write command.
pub fn noperm(command: &[Bytes]) -> String {
    format!(
        "NOPERM this user has no permissions to run the '{}' command",
        command_name(command).to_ascii_lowercase()
    )
}

#[cfg(test)]
mod unit {
    use super::*;

    fn cmd(args: &[&str]) -> Vec<Bytes> {
        args.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn refuses_blocking_and_stateful() {
        assert!(refusal(&cmd(&["blpop", "k", "0"])).is_some_and(|e| e.contains("'blpop'")));
        assert!(refusal(&cmd(&[
            "XREAD", "COUNT", "1", "block", "0", "STREAMS", "s", "$"
        ]))
        .is_some());
        assert!(refusal(&cmd(&["XREAD", "COUNT", "1", "STREAMS", "s", "0"])).is_none());
        assert!(refusal(&cmd(&["select", "1"])).is_some());
        assert!(refusal(&cmd(&["multi"])).is_some());
        assert!(refusal(&cmd(&[])).is_some());
        assert!(refusal(&cmd(&["SET", "k", "v"])).is_none());
    }

    #[test]
    fn classifies_reads() {
        assert!(is_read_only(&cmd(&["get", "k"])));
        assert!(is_read_only(&cmd(&["HGETALL", "k"])));
        assert!(!is_read_only(&cmd(&["SET", "k", "v"])));
        assert!(!is_read_only(&cmd(&["MEMORY", "PURGE"])));
        assert!(!is_read_only(&cmd(&["FLUSHALL"])));
        assert_eq!(
            noperm(&cmd(&["SET"])),
            "NOPERM this user has no permissions to run the 'set' command"
        );
    }
}
