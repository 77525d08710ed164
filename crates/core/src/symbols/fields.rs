//! The stored document's fields: the header's keys, and the list record's fields in one
//! table. `with_symbol_fields!` lists them in the order they are stored; [`Symbol`] (the
//! serde model), its writer and its exact size (`Symbol::write_json`, `json_size`) are
//! made from it here, and [`super::lookup`] makes its reader of stored objects from the
//! same table. Adding a field is one line below, plus the projection that fills it
//! ([`crate::exchange_info`]) and its tests.
//!
//! A field is one of four kinds, each written as serde_json writes its type:
//! - `text`: a `String`, always written;
//! - `text_or_null`: an `Option<String>`, `null` when absent;
//! - `text_if_set`: an `Option<String>`, left out when absent;
//! - `int_if_set`: an `Option<i64>`, left out when absent.
//!
//! The first field must be `text` (every object starts with it).

use serde::{Deserialize, Serialize};

use crate::json::write::{json_int, json_int_len, json_str, json_str_len};

// What serde_json writes before each field of the document's [`super::Header`] (its
// order); the lookup reads documents by the same keys.
pub(crate) const K_MARKET: &[u8] = b"{\"market\":";
pub(crate) const K_VERSION: &[u8] = b",\"version\":";
pub(crate) const K_UPSTREAM: &[u8] = b",\"upstream\":";
pub(crate) const K_FETCHED_AT: &[u8] = b",\"fetchedAt\":";
pub(crate) const K_COUNT: &[u8] = b",\"count\":";
pub(crate) const K_SYMBOLS: &[u8] = b",\"symbols\":";

/// Calls `$callback!` with the table of [`Symbol`]'s fields: doc, name, kind, JSON key.
macro_rules! with_symbol_fields {
    ($callback:ident) => {
        $callback! {
            /// e.g. `BTCUSDT`; non-ASCII symbols are preserved.
            symbol: text = "symbol",
            /// e.g. `TRADING`, `BREAK`; unknown values are kept as-is.
            status: text = "status",
            /// e.g. `BTC`.
            base_asset: text = "baseAsset",
            /// e.g. `USDT`.
            quote_asset: text = "quoteAsset",
            /// `PRICE_FILTER.tickSize`.
            tick_size: text_or_null = "tickSize",
            /// `LOT_SIZE.stepSize`.
            step_size: text_or_null = "stepSize",
            /// `LOT_SIZE.minQty`.
            min_qty: text_or_null = "minQty",
            /// `LOT_SIZE.maxQty`.
            max_qty: text_or_null = "maxQty",
            /// Spot `NOTIONAL.minNotional` (or older `MIN_NOTIONAL.minNotional`); futures `MIN_NOTIONAL.notional`.
            min_notional: text_or_null = "minNotional",
            /// Futures only: `PERPETUAL`, `CURRENT_QUARTER`, ... (may be empty).
            contract_type: text_if_set = "contractType",
            /// Futures only.
            margin_asset: text_if_set = "marginAsset",
            /// Futures only: unix ms.
            delivery_date: int_if_set = "deliveryDate",
            /// Futures only: unix ms.
            onboard_date: int_if_set = "onboardDate",
        }
    };
}
pub(crate) use with_symbol_fields;

/// What is written before the value of the field with JSON key `$key`: `{"key":` for the
/// first, `,"key":` for the others.
macro_rules! first_key {
    ($key:literal) => {
        concat!("{\"", $key, "\":").as_bytes()
    };
}
macro_rules! next_key {
    ($key:literal) => {
        concat!(",\"", $key, "\":").as_bytes()
    };
}
pub(crate) use {first_key, next_key};

/// The struct, field by field: each kind brings its Rust type and serde attributes.
macro_rules! define_symbol {
    (@fields [$($done:tt)*]) => {
        /// One tradable symbol, projected from exchangeInfo. Decimal filter values are the
        /// exact strings Binance sent (never round-tripped through floats).
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Symbol { $($done)* }
    };
    (@fields [$($done:tt)*] $(#[$doc:meta])* $f:ident : text = $key:literal, $($rest:tt)*) => {
        define_symbol!(@fields [$($done)*
            $(#[$doc])* #[serde(rename = $key)] pub $f: String,
        ] $($rest)*);
    };
    (@fields [$($done:tt)*] $(#[$doc:meta])* $f:ident : text_or_null = $key:literal, $($rest:tt)*) => {
        define_symbol!(@fields [$($done)*
            $(#[$doc])* #[serde(rename = $key)] pub $f: Option<String>,
        ] $($rest)*);
    };
    (@fields [$($done:tt)*] $(#[$doc:meta])* $f:ident : text_if_set = $key:literal, $($rest:tt)*) => {
        define_symbol!(@fields [$($done)*
            $(#[$doc])*
            #[serde(rename = $key, default, skip_serializing_if = "Option::is_none")]
            pub $f: Option<String>,
        ] $($rest)*);
    };
    (@fields [$($done:tt)*] $(#[$doc:meta])* $f:ident : int_if_set = $key:literal, $($rest:tt)*) => {
        define_symbol!(@fields [$($done)*
            $(#[$doc])*
            #[serde(rename = $key, default, skip_serializing_if = "Option::is_none")]
            pub $f: Option<i64>,
        ] $($rest)*);
    };
    ($($table:tt)*) => {
        define_symbol!(@fields [] $($table)*);
    };
}

/// One field's bytes (`write`) or their length (`size`), by kind.
macro_rules! field {
    (write text, $out:ident, $key:expr, $v:expr) => {{
        $out.extend_from_slice($key);
        json_str($out, $v);
    }};
    (write text_or_null, $out:ident, $key:expr, $v:expr) => {{
        $out.extend_from_slice($key);
        match $v {
            Some(v) => json_str($out, v),
            None => $out.extend_from_slice(b"null"),
        }
    }};
    (write text_if_set, $out:ident, $key:expr, $v:expr) => {
        if let Some(v) = $v {
            $out.extend_from_slice($key);
            json_str($out, v);
        }
    };
    (write int_if_set, $out:ident, $key:expr, $v:expr) => {
        if let Some(v) = $v {
            $out.extend_from_slice($key);
            json_int($out, *v);
        }
    };
    (size text, $key:expr, $v:expr) => {
        $key.len() + json_str_len($v)
    };
    (size text_or_null, $key:expr, $v:expr) => {
        $key.len() + $v.as_deref().map_or(4, json_str_len)
    };
    (size text_if_set, $key:expr, $v:expr) => {
        $v.as_deref().map_or(0, |v| $key.len() + json_str_len(v))
    };
    (size int_if_set, $key:expr, $v:expr) => {
        $v.map_or(0, |v| $key.len() + json_int_len(v))
    };
}

/// The writer and the size, from the table.
macro_rules! define_writer {
    (
        $(#[$fdoc:meta])* $first:ident : text = $fkey:literal,
        $( $(#[$doc:meta])* $f:ident : $kind:ident = $key:literal, )*
    ) => {
        impl Symbol {
            /// The object exactly as serde_json serialises it (field order, `null` for
            /// the filter values, the futures fields left out when absent); the tests
            /// compare the two byte for byte.
            pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
                field!(write text, out, first_key!($fkey), &self.$first);
                $( field!(write $kind, out, next_key!($key), &self.$f); )*
                out.push(b'}');
            }

            /// The length [`Symbol::write_json`] writes.
            pub(crate) fn json_size(&self) -> usize {
                field!(size text, first_key!($fkey), &self.$first)
                    $( + field!(size $kind, next_key!($key), &self.$f) )*
                    + 1
            }
        }
    };
}

with_symbol_fields!(define_symbol);
with_symbol_fields!(define_writer);
