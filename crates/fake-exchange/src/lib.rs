//! A fake Binance exchange: replays recorded `exchangeInfo` payloads over HTTP and takes
//! per-test fault scripts (rate limits, bans, geo-blocks, WAF pages, 5xx, stalls, broken
//! bodies), driven from Rust or over an HTTP control API.
//!
//! # Layout
//! - [`fixtures`]: the recorded payloads, embedded gzipped (`fixtures/*.json.gz`) and
//!   inflated once on first use.
//! - [`payload`]: [`Payload`], an exchangeInfo document indexed by symbol so subsets
//!   (status filter, `Shrink`, empty symbols, no `permissionSets`) are cut from the raw
//!   bytes without re-serialising numbers or reordering keys.
//! - [`market`]: [`Market`] (`spot` / `futures`), its path and request weight.
//! - [`fault`]: [`Fault`], the scripted misbehaviours, as tagged JSON.
//! - [`state`]: [`FakeExchange`], the cheaply clonable handle holding payloads, fault
//!   queues and counters (the Rust control API), and [`Stats`].
//! - [`server`]: the axum [`app`], [`run`] and the test convenience [`start`] / [`Running`].
//! - [`synth`]: [`synth_spot_payload`], a deterministic ~6 MB spot payload in today's shape.
//!
//! ```no_run
//! # async fn demo() {
//! use fake_exchange::{Fault, Market};
//! let fx = fake_exchange::start().await;
//! fx.handle.push_fault(Market::Spot, Fault::Status { code: 429, retry_after: Some(30) });
//! let url = format!("{}/api/v3/exchangeInfo", fx.base_url);
//! # let _ = url;
//! # }
//! ```
#![deny(missing_docs)]

pub mod fault;
pub mod fixtures;
pub mod market;
pub mod payload;
pub mod server;
pub mod state;
pub mod synth;

pub use fault::Fault;
pub use market::Market;
pub use payload::{Payload, PayloadError};
pub use server::{app, run, start, start_with, Running};
pub use state::{FakeExchange, FaultScript, MarketStats, Stats};
pub use synth::synth_spot_payload;
