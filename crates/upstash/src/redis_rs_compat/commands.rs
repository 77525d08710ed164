//! upstash-redis-rs's `commands` module: the [`Command`] trait, [`ReCmd`] (a command as the
//! JSON array that is posted) and one submodule per command, each with its `XxxCommand` and the
//! matching `Redis::xxx` method. Output types are theirs (`GET` gives `Option<String>`, `DEL`
//! `usize`, `HGETALL` a flat `Vec<String>`, ...).

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value as Json;

use super::ReResponse;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::response::{self, Envelope};
use crate::value::Value;

/// What every command offers (upstash-redis-rs's `Command` trait). The inherent methods of the
/// same names make calls work without this trait in scope.
pub trait Command {
    /// The type the result is decoded into.
    type Output: DeserializeOwned;

    /// The command as it is posted.
    fn as_cmd(&self) -> &ReCmd;
    /// The client it is sent with (ours, where theirs gives its reqwest client).
    fn client(&self) -> &Client;
    /// The REST endpoint.
    fn url(&self) -> &url::Url;

    /// Appends one argument.
    ///
    /// # Errors
    /// [`Error::Encode`] when `opt` cannot be serialised to JSON.
    fn set_options<S: Serialize>(&mut self, opt: S) -> Result<&mut Self>;

    /// Appends two arguments.
    ///
    /// # Errors
    /// [`Error::Encode`] when either cannot be serialised to JSON.
    fn set_options_with_arg<S: Serialize>(&mut self, key: S, value: S) -> Result<&mut Self> {
        self.set_options(key)?.set_options(value)
    }

    /// Sends the command. `Ok(ReResponse::Error)` for an `{"error"}` answer.
    ///
    /// # Errors
    /// Transport, timeout, an answer that is no envelope, or a result that does not fit
    /// [`Command::Output`] ([`Error::Decode`]).
    fn send(&self) -> impl Future<Output = Result<ReResponse<Self::Output>>> {
        send_cmd(self.client(), self.as_cmd())
    }
}

/// A command as a JSON array (`["SET","k","v","EX",300]`), serialised transparently.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(transparent)]
pub struct ReCmd {
    elems: Vec<Json>,
}

fn to_json<A: Serialize>(arg: A) -> Result<Json> {
    serde_json::to_value(arg).map_err(|e| Error::Encode(format!("argument: {e}")))
}

impl ReCmd {
    /// A command with just its name.
    pub fn new<S: Serialize>(command: S) -> Self {
        ReCmd {
            elems: vec![serde_json::to_value(command).unwrap_or(Json::Null)],
        }
    }

    /// Appends one argument.
    ///
    /// # Errors
    /// [`Error::Encode`] when `arg` cannot be serialised to JSON.
    pub fn add_arg<A: Serialize>(&mut self, arg: A) -> Result<&mut Self> {
        self.elems.push(to_json(arg)?);
        Ok(self)
    }

    /// Appends two arguments.
    ///
    /// # Errors
    /// [`Error::Encode`] when either cannot be serialised to JSON.
    pub fn add_pair<A: Serialize>(&mut self, k: A, v: A) -> Result<&mut Self> {
        let (k, v) = (to_json(k)?, to_json(v)?);
        self.elems.push(k);
        self.elems.push(v);
        Ok(self)
    }

    /// The command name, upper-cased (for messages and the retry rule).
    fn name(&self) -> String {
        match self.elems.first() {
            Some(Json::String(s)) => s.to_ascii_uppercase(),
            _ => String::new(),
        }
    }
}

/// A reply as the JSON their client would have decoded (strings lossy, as plain-JSON replies are).
fn reply_json(v: Value) -> Json {
    match v {
        Value::Nil => Json::Null,
        Value::Int(n) => n.into(),
        Value::Bytes(b) => match String::from_utf8(b) {
            Ok(s) => s.into(),
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned().into(),
        },
        Value::Array(items) => items.into_iter().map(reply_json).collect(),
    }
}

/// Posts `cmd` through `client` and decodes the envelope into `ReResponse<T>`.
async fn send_cmd<T: DeserializeOwned>(client: &Client, cmd: &ReCmd) -> Result<ReResponse<T>> {
    let body = serde_json::to_vec(cmd).map_err(|e| Error::Encode(e.to_string()))?;
    let name = cmd.name();
    let retry_safe = crate::command::Command::new(&name).is_read_only();
    let (status, reply) = client
        .transport()
        .post("", body, "application/json", retry_safe, &name)
        .await?;
    match response::any_envelope(status, &reply, client.options().base64)? {
        Envelope::Error(error) => Ok(ReResponse::Error { error }),
        Envelope::Result(value) => T::deserialize(reply_json(value))
            .map(|result| ReResponse::Success { result })
            .map_err(|e| Error::Decode(format!("{name}: the result does not fit: {e}"))),
    }
}

/// Defines `$ty` (sent as `$name`, decoded as `$out`) and `Redis::$method($args..)`.
macro_rules! command {
    ($ty:ident, $name:literal, $method:ident -> $out:ty; $($arg:ident: $param:ident),*) => {
        #[doc = concat!("`", $name, "` (build it with [`Redis::", stringify!($method), "`](crate::Redis::", stringify!($method), "), then `send()`).")]
        #[derive(Debug, Clone)]
        #[must_use = "a command does nothing until send() is awaited"]
        pub struct $ty {
            client: $crate::Client,
            url: url::Url,
            json: $crate::commands::ReCmd,
        }

        impl $ty {
            #[doc = concat!("`", $name, "` with its required arguments, sent through `redis`'s client.")]
            ///
            /// # Errors
            /// [`Error::Encode`](crate::Error::Encode) when an argument cannot be serialised.
            pub fn new<$($param: serde::Serialize),*>(
                redis: &$crate::Redis,
                $($arg: $param),*
            ) -> $crate::Result<Self> {
                #[allow(unused_mut)]
                let mut json = $crate::commands::ReCmd::new($name);
                $(json.add_arg($arg)?;)*
                Ok(Self { client: redis.client().clone(), url: redis.url.clone(), json })
            }

            /// Sends the command (see [`Command::send`](crate::commands::Command::send)).
            ///
            /// # Errors
            /// See [`Command::send`](crate::commands::Command::send).
            pub async fn send(&self) -> $crate::Result<$crate::ReResponse<$out>> {
                $crate::commands::Command::send(self).await
            }

            /// Appends one argument.
            ///
            /// # Errors
            /// [`Error::Encode`](crate::Error::Encode) when it cannot be serialised.
            pub fn set_options<S: serde::Serialize>(&mut self, opt: S) -> $crate::Result<&mut Self> {
                self.json.add_arg(opt)?;
                Ok(self)
            }

            /// Appends two arguments.
            ///
            /// # Errors
            /// [`Error::Encode`](crate::Error::Encode) when either cannot be serialised.
            pub fn set_options_with_arg<S: serde::Serialize>(&mut self, key: S, value: S) -> $crate::Result<&mut Self> {
                self.set_options(key)?.set_options(value)
            }

            /// The command as it is posted.
            pub fn as_cmd(&self) -> &$crate::commands::ReCmd {
                &self.json
            }
        }

        impl $crate::commands::Command for $ty {
            type Output = $out;

            fn as_cmd(&self) -> &$crate::commands::ReCmd {
                &self.json
            }

            fn client(&self) -> &$crate::Client {
                &self.client
            }

            fn url(&self) -> &url::Url {
                &self.url
            }

            fn set_options<S: serde::Serialize>(&mut self, opt: S) -> $crate::Result<&mut Self> {
                $ty::set_options(self, opt)
            }
        }

        impl $crate::Redis {
            #[doc = concat!("`", $name, "`: a [`", stringify!($ty), "`] to `send()`.")]
            ///
            /// # Errors
            /// [`Error::Encode`](crate::Error::Encode) when an argument cannot be serialised.
            pub fn $method<$($param: serde::Serialize),*>(&self, $($arg: $param),*) -> $crate::Result<$ty> {
                $ty::new(self, $($arg),*)
            }
        }
    };
}

/// `DEL key [key ...]`.
pub mod del {
    use crate::Result;
    use serde::Serialize;

    command!(DelCommand, "DEL", del -> usize; key: KEY);

    impl DelCommand {
        /// Adds one more key.
        ///
        /// # Errors
        /// [`crate::Error::Encode`] when it cannot be serialised.
        pub fn add_key<S: Serialize>(&mut self, key: S) -> Result<&mut Self> {
            self.set_options(key)
        }

        /// Adds more keys.
        ///
        /// # Errors
        /// [`crate::Error::Encode`] when one cannot be serialised.
        pub fn add_keys<S>(&mut self, keys: S) -> Result<&mut Self>
        where
            S: IntoIterator,
            <S as IntoIterator>::Item: Serialize,
        {
            for key in keys {
                self.set_options(key)?;
            }
            Ok(self)
        }
    }
}

/// `GET key`.
pub mod get {
    command!(GetCommand, "GET", get -> Option<String>; key: KEY);
}

/// `GETDEL key`.
pub mod getdel {
    command!(GetdelCommand, "GETDEL", getdel -> Option<String>; key: KEY);
}

/// `SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT n|KEEPTTL]`.
pub mod set {
    use crate::Result;
    use serde::Serialize;

    command!(SetCommand, "SET", set -> Option<String>; key: KEY, value: VALUE);

    impl SetCommand {
        /// `NX` or `XX`.
        ///
        /// # Errors
        /// Never in practice (the constraint always serialises).
        pub fn constraint(&mut self, cons: Constraint) -> Result<&mut Self> {
            self.set_options(cons)
        }

        /// `GET`: answer the old value.
        ///
        /// # Errors
        /// Never in practice.
        pub fn get(&mut self) -> Result<&mut Self> {
            self.set_options("GET")
        }

        /// The expiry option.
        ///
        /// # Errors
        /// Never in practice.
        pub fn expire(&mut self, expire: Expire) -> Result<&mut Self> {
            match expire {
                Expire::EX(s) => self.set_options("EX")?.set_options(s),
                Expire::PX(s) => self.set_options("PX")?.set_options(s),
                Expire::EXAT(s) => self.set_options("EXAT")?.set_options(s),
                Expire::PXAT(s) => self.set_options("PXAT")?.set_options(s),
                Expire::KEEPTTL => self.set_options("KEEPTTL"),
            }
        }
    }

    /// `SET`'s existence condition.
    #[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Constraint {
        /// Only when the key does not exist.
        NX,
        /// Only when the key exists.
        XX,
    }

    /// `SET`'s expiry.
    #[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
    #[allow(clippy::upper_case_acronyms)]
    pub enum Expire {
        /// Seconds from now.
        EX(usize),
        /// Milliseconds from now.
        PX(usize),
        /// Unix time in seconds.
        EXAT(usize),
        /// Unix time in milliseconds.
        PXAT(usize),
        /// Keep the current TTL.
        KEEPTTL,
    }
}

/// `HDEL key field [field ...]`.
pub mod hdel {
    use crate::Result;
    use serde::Serialize;

    command!(HdelCommand, "HDEL", hdel -> usize; key: KEY, field: FIELD);

    impl HdelCommand {
        /// Adds one more field.
        ///
        /// # Errors
        /// [`crate::Error::Encode`] when it cannot be serialised.
        pub fn add_field<S: Serialize>(&mut self, field: S) -> Result<&mut Self> {
            self.set_options(field)
        }
    }
}

/// `HGET key field`.
pub mod hget {
    command!(HgetCommand, "HGET", hget -> Option<String>; key: KEY, field: FIELD);
}

/// `HGETALL key` (a flat `[field, value, ...]`).
pub mod hgetall {
    command!(HgetallCommand, "HGETALL", hgetall -> Vec<String>; key: KEY);
}

/// `HSET key field value [field value ...]`.
pub mod hset {
    use crate::Result;
    use serde::Serialize;

    command!(HsetCommand, "HSET", hset -> usize; key: KEY, field: FIELD, value: VALUE);

    impl HsetCommand {
        /// Adds one more field and its value.
        ///
        /// # Errors
        /// [`crate::Error::Encode`] when either cannot be serialised.
        pub fn add_field_to_value<S1, S2>(&mut self, field: S1, value: S2) -> Result<&mut Self>
        where
            S1: Serialize,
            S2: Serialize,
        {
            self.set_options(field)?.set_options(value)
        }
    }
}

/// `SADD key member`.
pub mod sadd {
    command!(SaddCommand, "SADD", sadd -> usize; key: KEY, member: MEMBER);
}

/// `SMEMBERS key`.
pub mod smembers {
    command!(SmembersCommand, "SMEMBERS", smembers -> Vec<String>; key: KEY);
}

/// `SPOP key [count]` (with a count Redis answers an array, which does not fit
/// `Option<String>`: an [`crate::Error::Decode`], as in upstash-redis-rs).
pub mod spop {
    use crate::Result;

    command!(SpopCommand, "SPOP", spop -> Option<String>; key: KEY);

    impl SpopCommand {
        /// `count`.
        ///
        /// # Errors
        /// Never in practice.
        pub fn add_count(&mut self, count: usize) -> Result<&mut Self> {
            self.set_options(count)
        }
    }
}
