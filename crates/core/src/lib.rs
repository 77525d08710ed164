//! The symbols service, independent of any platform: the Worker (wasm32, workerd) and
//! the native tools are thin adapters around it.
//!
//! # Layout
//! - [`market`]: `Market { Spot, Futures }` and what differs per market.
//! - [`keys`]: every Redis key name: the original Python system's and ours.
//! - [`original`]: the original's list value (USDT-only raw objects), built and read back.
//! - [`ccxt`]: ccxt's unified markets (`?format=ccxt`), projected from the raw objects.
//! - [`rules`]: every trading rule of a symbol under one name (full records, `?fields=`);
//!   [`rules_flow`]: reading them for the tier a list was served from.
//! - [`ccxt_flow`]: serving them: stored value, else the list flow and its fallbacks.
//! - [`symbols`]: the served records (their fields are one table, `symbols/fields.rs`) and
//!   the stored document format; [`symbols::lookup`]: single-symbol lookups and list
//!   filters read from the stored bytes without parsing the list.
//! - [`exchange_info`]: Binance exchangeInfo read ([`exchange_info::scan`], or the serde
//!   fallback), projected, validated.
//! - `json`: the byte-level JSON both scanners read with and every stored value is written
//!   with; [`time`]: RFC 3339 times.
//! - [`reference`] (feature `reference`, and the crate's tests): the serde_json
//!   implementations the fast paths are tested and measured against.
//! - [`upstream`]: fetching exchangeInfo (bases, API key, failure reasons).
//! - [`service`]: the read-through flow, fallbacks, warmup, hit/miss counters; its child
//!   modules are its parts: [`service::refresh`] (one single-flight refresh writing both
//!   systems' values, or only TTLs), [`service::bypass`] (the Redis-down path),
//!   [`service::metrics`] (both markets' counters in one round trip),
//!   [`service::webhook`] (each refresh's events POSTed after the response).
//! - [`changes`]: the pure diff of two lists (listed, delisted, status, rules, delisting).
//! - [`feed`]: the changes feed's records in Redis (written by the refresh, read a page at
//!   a time by `Service::changes`).
//! - [`request`]: routing and query parsing; [`filter`]: the list route's filters.
//! - [`config`]: settings from vars/secrets/env; `Settings`: them and the Redis connection,
//!   what both adapters resolve.
//! - [`ports`]: the traits the service needs (store, HTTP, clock); `Counted`: one call's
//!   round trips.
//! - [`store`]: the store over the Upstash REST client; [`memory`]: in-memory store.
//! - [`exposition`]: Prometheus text and the status page; [`auth`]: constant-time compare.
//! - [`log`]: one-JSON-object-per-line logging.
#![deny(missing_docs)]

pub mod auth;
pub mod ccxt;
pub mod ccxt_flow;
pub mod changes;
pub mod config;
pub mod exchange_info;
pub mod exposition;
pub mod feed;
pub mod filter;
mod json;
pub mod keys;
pub mod log;
pub mod market;
pub mod memory;
pub mod original;
pub mod ports;
#[cfg(any(test, feature = "reference"))]
pub mod reference;
pub mod request;
pub mod rules;
pub mod rules_flow;
pub mod service;
pub mod store;
pub mod symbols;
pub mod time;
pub mod upstream;

pub use market::Market;
