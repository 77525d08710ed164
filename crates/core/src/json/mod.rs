//! JSON at the byte level, shared by every reader and writer in core: no serde tree on the
//! hot paths (a refresh's CPU budget, a hit's latency).
//!
//! - [`bytes`]: stepping over and checking strings eight bytes at a time, escapes, UTF-8,
//!   short names as integer codes; the exchangeInfo scanner and the document lookups read
//!   with these.
//! - [`write`]: serde_json's exact bytes, for everything we store.
//! - [`raw`]: a small reader of raw objects, for the ccxt markets and the full records.

pub(crate) mod bytes;
pub(crate) mod raw;
pub(crate) mod write;
