//! [`Command`]: a Redis command as its argv (byte strings), with constructors for the commands
//! this project uses and a generic builder for any other.
//!
//! On the wire a command is a JSON array of strings (`["SET","k","v","EX","60"]`), so every
//! argument must be UTF-8, except that the *last* argument of a single (non-pipelined) command
//! may be arbitrary bytes: it is then sent as the raw request body (`POST /set/k` + body), which
//! is how the Upstash REST API accepts binary values.

use std::fmt;

use crate::error::Error;

/// Something usable as one command argument: strings, byte strings and integers.
pub trait IntoArg {
    /// The argument's bytes as Redis sees them (integers in decimal).
    fn into_arg(self) -> Vec<u8>;
}

impl IntoArg for Vec<u8> {
    fn into_arg(self) -> Vec<u8> {
        self
    }
}
impl IntoArg for &[u8] {
    fn into_arg(self) -> Vec<u8> {
        self.to_vec()
    }
}
impl<const N: usize> IntoArg for &[u8; N] {
    fn into_arg(self) -> Vec<u8> {
        self.to_vec()
    }
}
impl IntoArg for &Vec<u8> {
    fn into_arg(self) -> Vec<u8> {
        self.clone()
    }
}
impl IntoArg for String {
    fn into_arg(self) -> Vec<u8> {
        self.into_bytes()
    }
}
impl IntoArg for &String {
    fn into_arg(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl IntoArg for &str {
    fn into_arg(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl IntoArg for &&str {
    fn into_arg(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl IntoArg for $t {
            fn into_arg(self) -> Vec<u8> {
                self.to_string().into_bytes()
            }
        }
    )*};
}
int_arg!(i32, i64, u32, u64, usize, isize);

/// Options of `SET`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// Expire after this many seconds (`EX`).
    pub ex: Option<u64>,
    /// Expire after this many milliseconds (`PX`).
    pub px: Option<u64>,
    /// Only set when the key does not exist yet (`NX`); `SET` then answers nil if it existed.
    pub nx: bool,
}

impl SetOptions {
    /// `EX secs`.
    pub fn ex(secs: u64) -> SetOptions {
        SetOptions {
            ex: Some(secs),
            ..SetOptions::default()
        }
    }
}

/// Commands that only read: safe to resend after a failure that may have reached the server.
const READ_ONLY: &[&str] = &[
    "GET",
    "MGET",
    "EXISTS",
    "TTL",
    "PTTL",
    "PING",
    "ECHO",
    "STRLEN",
    "GETRANGE",
    "TYPE",
    "DBSIZE",
    "TIME",
    "HGET",
    "HMGET",
    "HGETALL",
    "HLEN",
    "HEXISTS",
    "HKEYS",
    "HVALS",
    "LRANGE",
    "LLEN",
    "LINDEX",
    "SMEMBERS",
    "SISMEMBER",
    "SCARD",
    "ZRANGE",
    "ZSCORE",
    "ZCARD",
    "ZRANK",
    "SCAN",
    "KEYS",
];

/// A Redis command: its argv, name first.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    args: Vec<Vec<u8>>,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Command[")?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{:?}", String::from_utf8_lossy(a))?;
        }
        f.write_str("]")
    }
}

impl Command {
    /// A command with just its name, e.g. `Command::new("HSET").arg("h").arg("f").arg(1)`.
    pub fn new(name: &str) -> Command {
        Command {
            args: vec![name.as_bytes().to_vec()],
        }
    }

    /// Appends one argument.
    #[must_use]
    pub fn arg(mut self, arg: impl IntoArg) -> Command {
        self.args.push(arg.into_arg());
        self
    }

    /// Appends several arguments.
    #[must_use]
    pub fn args_from<A: IntoArg>(mut self, args: impl IntoIterator<Item = A>) -> Command {
        self.args.extend(args.into_iter().map(IntoArg::into_arg));
        self
    }

    /// The full argv, name first.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args
    }

    /// The command name, upper-cased (for messages).
    pub fn name(&self) -> String {
        self.args
            .first()
            .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
            .unwrap_or_default()
    }

    /// True for commands that only read (resending them cannot change anything).
    pub fn is_read_only(&self) -> bool {
        let name = self.name();
        READ_ONLY.contains(&name.as_str())
    }

    /// `GET key`.
    pub fn get(key: impl IntoArg) -> Command {
        Command::new("GET").arg(key)
    }

    /// `MGET key...`.
    pub fn mget<K: IntoArg>(keys: impl IntoIterator<Item = K>) -> Command {
        Command::new("MGET").args_from(keys)
    }

    /// `SET key value [EX s] [PX ms] [NX]`.
    pub fn set(key: impl IntoArg, value: impl IntoArg, opts: SetOptions) -> Command {
        let mut cmd = Command::new("SET").arg(key).arg(value);
        if let Some(ex) = opts.ex {
            cmd = cmd.arg("EX").arg(ex);
        }
        if let Some(px) = opts.px {
            cmd = cmd.arg("PX").arg(px);
        }
        if opts.nx {
            cmd = cmd.arg("NX");
        }
        cmd
    }

    /// `INCRBY key n`.
    pub fn incr_by(key: impl IntoArg, n: i64) -> Command {
        Command::new("INCRBY").arg(key).arg(n)
    }

    /// `DEL key...`.
    pub fn del<K: IntoArg>(keys: impl IntoIterator<Item = K>) -> Command {
        Command::new("DEL").args_from(keys)
    }

    /// `EXPIRE key secs`.
    pub fn expire(key: impl IntoArg, secs: u64) -> Command {
        Command::new("EXPIRE").arg(key).arg(secs)
    }

    /// `TTL key`.
    pub fn ttl(key: impl IntoArg) -> Command {
        Command::new("TTL").arg(key)
    }

    /// `PING`.
    pub fn ping() -> Command {
        Command::new("PING")
    }

    /// `EVAL script numkeys key... arg...`.
    pub fn eval<K: IntoArg, A: IntoArg>(
        script: &str,
        keys: impl IntoIterator<Item = K>,
        args: impl IntoIterator<Item = A>,
    ) -> Command {
        let keys: Vec<Vec<u8>> = keys.into_iter().map(IntoArg::into_arg).collect();
        Command::new("EVAL")
            .arg(script)
            .arg(keys.len())
            .args_from(keys)
            .args_from(args)
    }

    /// The argv as UTF-8 strings, or an [`Error::Encode`] naming the first non-UTF-8 argument.
    pub(crate) fn utf8_args(&self, index: Option<usize>) -> Result<Vec<&str>, Error> {
        self.args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                std::str::from_utf8(a).map_err(|_| {
                    let which = match index {
                        Some(n) => format!("command #{n} ({})", self.name()),
                        None => self.name(),
                    };
                    Error::Encode(format!(
                        "{which}: argument {i} is not valid UTF-8; the REST API only carries binary data \
                         as the last argument of a single command"
                    ))
                })
            })
            .collect()
    }

    /// If only the last argument is not UTF-8, the leading arguments (all UTF-8) and that last
    /// argument: the command is then sent in the "path + raw body" form.
    pub(crate) fn split_binary_tail(&self) -> Option<(Vec<&str>, &[u8])> {
        let (last, head) = self.args.split_last()?;
        // Empty segments would vanish from the path, so those commands cannot use this form.
        if head.is_empty() || head.iter().any(Vec::is_empty) || std::str::from_utf8(last).is_ok() {
            return None;
        }
        let head: Option<Vec<&str>> = head.iter().map(|a| std::str::from_utf8(a).ok()).collect();
        Some((head?, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(c: &Command) -> Vec<String> {
        c.args()
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    #[test]
    fn constructors_build_the_expected_argv() {
        assert_eq!(argv(&Command::get("k")), ["GET", "k"]);
        assert_eq!(argv(&Command::mget(["a", "b"])), ["MGET", "a", "b"]);
        assert_eq!(
            argv(&Command::set("k", "v", SetOptions::default())),
            ["SET", "k", "v"]
        );
        assert_eq!(
            argv(&Command::set(
                "k",
                "v",
                SetOptions {
                    ex: Some(60),
                    px: None,
                    nx: true
                }
            )),
            ["SET", "k", "v", "EX", "60", "NX"]
        );
        assert_eq!(
            argv(&Command::set(
                "k",
                b"v".as_slice(),
                SetOptions {
                    px: Some(1500),
                    ..Default::default()
                }
            )),
            ["SET", "k", "v", "PX", "1500"]
        );
        assert_eq!(argv(&Command::incr_by("c", -3)), ["INCRBY", "c", "-3"]);
        assert_eq!(
            argv(&Command::del(vec!["a".to_string(), "b".to_string()])),
            ["DEL", "a", "b"]
        );
        assert_eq!(argv(&Command::expire("k", 10)), ["EXPIRE", "k", "10"]);
        assert_eq!(argv(&Command::ttl("k")), ["TTL", "k"]);
        assert_eq!(argv(&Command::ping()), ["PING"]);
        assert_eq!(
            argv(&Command::eval("return 1", ["k1", "k2"], ["a"])),
            ["EVAL", "return 1", "2", "k1", "k2", "a"]
        );
        let no_keys: [&str; 0] = [];
        assert_eq!(
            argv(&Command::eval("return 1", no_keys, no_keys)),
            ["EVAL", "return 1", "0"]
        );
    }

    #[test]
    fn name_and_read_only() {
        assert_eq!(Command::new("incrby").name(), "INCRBY");
        assert!(Command::get("k").is_read_only());
        assert!(Command::new("mget").is_read_only());
        assert!(!Command::incr_by("k", 1).is_read_only());
        assert!(!Command::eval("return 1", ["k"], ["a"]).is_read_only());
    }

    #[test]
    fn utf8_and_binary_tail() {
        let c = Command::set("k", vec![0xff, 0x00], SetOptions::default());
        let err = c.utf8_args(Some(3)).expect_err("binary");
        assert!(err.to_string().contains("command #3 (SET)"), "{err}");
        assert!(err.to_string().contains("argument 2"), "{err}");
        let (head, tail) = c.split_binary_tail().expect("binary tail");
        assert_eq!(head, ["SET", "k"]);
        assert_eq!(tail, [0xff, 0x00]);
        // Binary value not last: no path form.
        let c = Command::set("k", vec![0xff], SetOptions::ex(5));
        assert!(c.split_binary_tail().is_none());
        // An empty key cannot be a path segment.
        assert!(Command::set("", vec![0xff], SetOptions::default())
            .split_binary_tail()
            .is_none());
        // All UTF-8: no path form needed.
        assert!(Command::get("k").split_binary_tail().is_none());
    }

    #[test]
    fn debug_is_readable() {
        assert_eq!(format!("{:?}", Command::get("k")), "Command[\"GET\" \"k\"]");
    }
}
