//! [`Pipeline`]: several commands in one request, either as a plain pipeline (`POST /pipeline`,
//! in order but not atomic) or as a transaction (`POST /multi-exec`, atomic).
//!
//! Results are per command: `Ok(value)` or a [`RedisError`] naming the command's index and name.
//! A transaction that Redis (or the REST API) discards as a whole is an [`Error::Redis`] for the
//! entire call. Every argument must be UTF-8 here (no binary bodies in batches).

use std::sync::Arc;

use crate::command::Command;
use crate::error::{Error, NameList, RedisError, Result};
use crate::response;
use crate::transport::Transport;
use crate::value::Value;

/// A batch of commands being built; send it with [`Pipeline::exec`].
#[derive(Debug, Clone)]
#[must_use = "a pipeline does nothing until exec() is awaited"]
pub struct Pipeline {
    transport: Arc<Transport>,
    commands: Vec<Command>,
    transaction: bool,
}

impl Pipeline {
    pub(crate) fn new(transport: Arc<Transport>, transaction: bool) -> Pipeline {
        Pipeline {
            transport,
            commands: Vec::new(),
            transaction,
        }
    }

    /// Adds a command (builder style).
    pub fn cmd(mut self, cmd: Command) -> Pipeline {
        self.commands.push(cmd);
        self
    }

    /// Adds a command (in place).
    pub fn push(&mut self, cmd: Command) -> &mut Pipeline {
        self.commands.push(cmd);
        self
    }

    /// Number of queued commands.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// True when no command is queued.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// True for a transaction (`multi()`), false for a plain pipeline.
    pub fn is_transaction(&self) -> bool {
        self.transaction
    }

    /// Sends the batch and returns one result per command, in order. An empty batch sends
    /// nothing and returns an empty list.
    ///
    /// # Errors
    /// The call failed as a whole: transport, timeout, HTTP status, a discarded transaction
    /// ([`Error::Redis`]), a malformed reply, or a non-UTF-8 argument ([`Error::Encode`]).
    pub async fn exec(self) -> Result<Vec<Result<Value, RedisError>>> {
        if self.commands.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows = Vec::with_capacity(self.commands.len());
        for (i, cmd) in self.commands.iter().enumerate() {
            rows.push(cmd.utf8_args(Some(i))?);
        }
        let body = serde_json::to_vec(&rows).map_err(|e| Error::Encode(e.to_string()))?;
        let names: Vec<String> = self.commands.iter().map(Command::name).collect();
        let retry_safe = self.commands.iter().all(Command::is_read_only);
        let (path, kind) = if self.transaction {
            ("/multi-exec", "MULTI")
        } else {
            ("/pipeline", "PIPELINE")
        };
        let what = format!("{kind} {}", NameList(&names));
        let (status, reply) = self
            .transport
            .post(path, body, "application/json", retry_safe, &what)
            .await?;
        response::batch(status, &reply, self.transport.options().base64, &names)
    }
}
