//! A local, offline stand-in for Upstash's Redis REST API, in front of a real redis-server.
//!
//! The dev stack and every test talk to this gateway exactly as the Worker talks to Upstash:
//! `POST /` with a JSON array command, path-style `GET /get/key`, `POST /pipeline`,
//! `POST /multi-exec`, bearer-token auth, and `Upstash-Encoding: base64` results. It also counts
//! REST requests and Redis commands (`GET /__gateway/stats`, `POST /__gateway/stats/reset`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), upstash_gateway::Error> {
//! let config = upstash_gateway::Config { token: Some("dev-token".into()), ..Default::default() };
//! let listener = tokio::net::TcpListener::bind(&config.listen).await?;
//! upstash_gateway::run(listener, config, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! # Layout
//! - [`config`]: [`Config`] and its default constants.
//! - [`server`]: the axum [`app`], request handling, status codes, stats endpoints, [`run`].
//! - [`auth`]: bearer / `_token` authentication, read-only token, constant-time comparison.
//! - [`protocol`]: JSON array and path-style requests → Redis commands.
//! - [`commands`]: refused commands (blocking, connection state) and the read-only list.
//! - [`json`]: zero-copy JSON command parsing and fast string escaping (the hot path).
//! - [`encoding`]: Redis replies → `{"result"}` / `{"error"}` JSON, base64 mode.
//! - [`redis`]: `redis://` URLs, RESP connections, the reconnecting pool, `MULTI`/`EXEC`.
//! - [`resp`]: the RESP wire format (binary-safe encode/decode).
//! - [`stats`]: request, command and sync-token counters.
//! - [`sync_token`]: read-your-writes tokens (`upstash-sync-token`), issued and classified.
//! - [`log`]: JSON log lines on stderr, level from `GATEWAY_LOG`.
//! - [`error`]: the [`Error`] type.
#![deny(missing_docs)]

pub mod auth;
pub mod commands;
pub mod config;
pub mod encoding;
pub mod error;
pub mod json;
pub mod log;
pub mod protocol;
pub mod redis;
pub mod resp;
pub mod server;
pub mod stats;
pub mod sync_token;

pub use config::{
    resolve_redis_url, Config, DEFAULT_LISTEN, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_REDIS_URL,
    REDIS_URL_VARS,
};
pub use error::Error;
pub use server::{app, run, Gateway};
pub use stats::StatsSnapshot;
