//! JSON helpers with the contract of the original Python `redis_client` module: callers never
//! see an error type. Failures are logged (one JSON line through [`crate::ClientOptions::log`])
//! and turned into a neutral answer. Use the typed [`Client`] methods when the caller must tell
//! "missing" from "Redis is down".
//!
//! | helper | answer on success | on missing key | on any failure (logged) |
//! | --- | --- | --- | --- |
//! | [`Client::read_json`] | `Some(value)` | `None` | `None` (warn) |
//! | [`Client::read_bytes`] | `Some(bytes)` | `None` | `None` (warn) |
//! | [`Client::write_json`] | `true` | - | `false` (error) |
//! | [`Client::incr`] | `Some(new value)` | starts at 0 | `None` (error) |
//! | [`Client::get_int`] | the integer | `0` | `0` (warn; also for non-integers) |

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::client::Client;
use crate::command::SetOptions;
use crate::error::Error;

/// A log-safe short description of an error (its Display never contains the token).
fn error_fields(err: &Error) -> serde_json::Value {
    json!({ "error": err.to_string(), "unreachable": err.is_unreachable() })
}

impl Client {
    /// Reads `key` and parses it as JSON into `T`. `None` when the key is missing, and also on
    /// any failure (transport, HTTP, Redis, undecodable JSON), which is logged at warn.
    pub async fn read_json<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let bytes = self.read_bytes(key).await?;
        match serde_json::from_slice(&bytes) {
            Ok(value) => Some(value),
            Err(e) => {
                self.log(
                    "warn",
                    "upstash.read_json_invalid",
                    json!({ "key": key, "bytes": bytes.len(), "error": e.to_string() }),
                );
                None
            }
        }
    }

    /// Reads `key` as raw bytes without parsing them (the hot path for stored JSON documents
    /// that are passed on as-is). `None` when missing or on failure (logged at warn).
    pub async fn read_bytes(&self, key: &str) -> Option<Vec<u8>> {
        match self.get_bytes(key).await {
            Ok(found) => found,
            Err(err) => {
                let mut fields = error_fields(&err);
                fields["key"] = key.into();
                self.log("warn", "upstash.read_failed", fields);
                None
            }
        }
    }

    /// Serialises `value` as JSON and stores it under `key`, expiring after `ttl` seconds when
    /// given (`Some(0)` counts as no expiry). `false` on any failure (logged at error).
    pub async fn write_json<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<u64>,
    ) -> bool {
        let body = match serde_json::to_vec(value) {
            Ok(body) => body,
            Err(e) => {
                self.log(
                    "error",
                    "upstash.write_json_unserializable",
                    json!({ "key": key, "error": e.to_string() }),
                );
                return false;
            }
        };
        let opts = SetOptions {
            ex: ttl.filter(|&t| t > 0),
            ..SetOptions::default()
        };
        match self.set(key, body, opts).await {
            Ok(true) => true,
            Ok(false) => {
                self.log(
                    "error",
                    "upstash.write_json_failed",
                    json!({ "key": key, "error": "SET answered nil" }),
                );
                false
            }
            Err(err) => {
                let mut fields = error_fields(&err);
                fields["key"] = key.into();
                self.log("error", "upstash.write_json_failed", fields);
                false
            }
        }
    }

    /// `INCRBY key amount` (default 1): the new value, or `None` on failure (logged at error),
    /// including when the stored value is not an integer.
    pub async fn incr(&self, key: &str, amount: Option<i64>) -> Option<i64> {
        match self.incr_by(key, amount.unwrap_or(1)).await {
            Ok(n) => Some(n),
            Err(err) => {
                let mut fields = error_fields(&err);
                fields["key"] = key.into();
                self.log("error", "upstash.incr_failed", fields);
                None
            }
        }
    }

    /// The integer stored under `key`: `0` when missing, when the value is not an integer, or on
    /// failure (failures and non-integers logged at warn).
    pub async fn get_int(&self, key: &str) -> i64 {
        let bytes = match self.get_bytes(key).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return 0,
            Err(err) => {
                let mut fields = error_fields(&err);
                fields["key"] = key.into();
                self.log("warn", "upstash.get_int_failed", fields);
                return 0;
            }
        };
        match std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
        {
            Some(n) => n,
            None => {
                self.log(
                    "warn",
                    "upstash.get_int_not_integer",
                    json!({ "key": key, "bytes": bytes.len() }),
                );
                0
            }
        }
    }
}
