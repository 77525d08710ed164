//! Integration tests for the gateway: a real redis-server (testkit) and the gateway in-process.
//!
//! # Layout
//! - `support`: start redis + gateway, HTTP helpers.
//! - `http_api`: protocol, auth, status codes, path style, pipelines, transactions, stats.
//! - `encoding`: base64 mode and binary values.
//! - `resilience`: refused blocking commands, Redis down and back, concurrency, shutdown.
//! - `oversize`: bodies over the limit get 413 with its JSON error in every client (SDK, fetch,
//!   our Rust client, raw sockets); the connection survives.
//! - `sdk`: the official `@upstash/redis` SDK against the gateway (`conformance.mjs`).
//! - `sync_tokens`: read-your-writes tokens issued on every response and accepted on requests.

mod encoding;
mod http_api;
mod oversize;
mod resilience;
mod sdk;
mod support;
mod sync_tokens;
