//! [`Payload`]: an exchangeInfo document kept as raw bytes plus an index of its top-level
//! keys and of each symbol, so subsets are cut from the original text.
//!
//! Nothing is re-serialised through `serde_json::Value`: decimal strings, numbers, key order
//! and non-ASCII text stay byte-for-byte as recorded.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use axum::body::Bytes;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Why bytes could not be indexed as an exchangeInfo payload.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Not UTF-8.
    #[error("payload is not UTF-8: {0}")]
    Utf8(#[from] std::str::Utf8Error),
    /// Not a JSON object, or a symbol is not an object with a string `symbol`.
    #[error("payload is not an exchangeInfo JSON object: {0}")]
    Json(#[from] serde_json::Error),
    /// No top-level `"symbols"` array.
    #[error("payload has no top-level \"symbols\" array")]
    NoSymbols,
}

/// One entry of the `symbols` array.
#[derive(Debug, Clone)]
pub struct SymbolEntry {
    /// Byte range of the symbol object in [`Payload::bytes`].
    pub span: Range<usize>,
    /// The `symbol` field (e.g. `BTCUSDT`).
    pub symbol: String,
    /// The `status` field (`TRADING`, `BREAK`, ...; empty when absent).
    pub status: String,
}

/// An exchangeInfo document: the exact bytes, the byte ranges of its top-level values and
/// of every symbol.
#[derive(Debug, Clone)]
pub struct Payload {
    bytes: Bytes,
    /// Top-level keys in document order: (key as JSON text incl. quotes, value range).
    top: Vec<(String, Range<usize>)>,
    symbols: Vec<SymbolEntry>,
}

/// A JSON object read as (key, raw value) pairs in document order.
struct RawObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for RawObject<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ObjVisitor<'a> {
            type Value = RawObject<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'a RawValue>()? {
                    pairs.push((key, value));
                }
                Ok(RawObject(pairs))
            }
        }
        deserializer.deserialize_map(ObjVisitor(PhantomData))
    }
}

#[derive(Deserialize)]
struct SymbolHead {
    symbol: String,
    #[serde(default)]
    status: Option<String>,
}

/// Byte range of `inner` (a sub-slice of `outer`) within `outer`.
fn span_in(outer: &str, inner: &str) -> Range<usize> {
    let start = inner.as_ptr() as usize - outer.as_ptr() as usize;
    start..start + inner.len()
}

fn json_key(key: &str) -> String {
    // Serialising a &str cannot fail.
    serde_json::to_string(key).unwrap_or_else(|_| format!("\"{key}\""))
}

impl Payload {
    /// Indexes `bytes` (a JSON object with a `symbols` array of objects).
    ///
    /// # Errors
    /// [`PayloadError`] when the bytes are not such a document.
    pub fn parse(bytes: impl Into<Bytes>) -> Result<Self, PayloadError> {
        let bytes: Bytes = bytes.into();
        let text = std::str::from_utf8(&bytes)?;
        let RawObject(pairs) = serde_json::from_str::<RawObject<'_>>(text)?;
        let mut top = Vec::with_capacity(pairs.len());
        let mut symbols = None;
        for (key, raw) in pairs {
            if key == "symbols" {
                let list: Vec<&RawValue> = serde_json::from_str(raw.get())?;
                let mut entries = Vec::with_capacity(list.len());
                for item in list {
                    let head: SymbolHead = serde_json::from_str(item.get())?;
                    entries.push(SymbolEntry {
                        span: span_in(text, item.get()),
                        symbol: head.symbol,
                        status: head.status.unwrap_or_default(),
                    });
                }
                symbols = Some(entries);
            }
            top.push((json_key(&key), span_in(text, raw.get())));
        }
        let symbols = symbols.ok_or(PayloadError::NoSymbols)?;
        Ok(Payload {
            bytes,
            top,
            symbols,
        })
    }

    /// The document exactly as it was given.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The indexed symbols in document order.
    pub fn symbols(&self) -> &[SymbolEntry] {
        &self.symbols
    }

    /// Number of symbols.
    pub fn symbol_count(&self) -> usize {
        self.symbols.len()
    }

    /// Whether any symbol carries a `permissionSets` key.
    pub fn has_permission_sets(&self) -> bool {
        self.symbols.iter().any(|s| {
            self.bytes
                .get(s.span.clone())
                .is_some_and(|b| b.windows(17).any(|w| w == b"\"permissionSets\":"))
        })
    }

    /// The document with only the symbols for which `keep` is true, at most `limit` of them.
    /// Other top-level values are copied verbatim; the output is compact between the
    /// top-level values. Returns the original bytes when nothing is dropped.
    pub fn render(&self, keep: impl Fn(&SymbolEntry) -> bool, limit: Option<usize>) -> Bytes {
        let limit = limit.unwrap_or(usize::MAX);
        let chosen: Vec<&SymbolEntry> = self
            .symbols
            .iter()
            .filter(|s| keep(s))
            .take(limit)
            .collect();
        if chosen.len() == self.symbols.len() {
            return self.bytes.clone();
        }
        let mut out =
            Vec::with_capacity(chosen.iter().map(|s| s.span.len() + 1).sum::<usize>() + 4096);
        out.push(b'{');
        for (i, (key, span)) in self.top.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key.as_bytes());
            out.push(b':');
            if key == "\"symbols\"" {
                out.push(b'[');
                for (j, s) in chosen.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&self.bytes[s.span.clone()]);
                }
                out.push(b']');
            } else {
                out.extend_from_slice(&self.bytes[span.clone()]);
            }
        }
        out.push(b'}');
        Bytes::from(out)
    }

    /// A copy with the `permissionSets` key removed from every symbol (what Binance serves
    /// for `showPermissionSets=false`). Every other byte of each symbol is kept.
    ///
    /// # Errors
    /// [`PayloadError`] if a symbol is not a JSON object (cannot happen for a parsed payload).
    pub fn without_permission_sets(&self) -> Result<Payload, PayloadError> {
        if !self.has_permission_sets() {
            return Ok(self.clone());
        }
        let text = std::str::from_utf8(&self.bytes)?;
        let mut out = Vec::with_capacity(self.bytes.len());
        out.push(b'{');
        for (i, (key, span)) in self.top.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key.as_bytes());
            out.push(b':');
            if key == "\"symbols\"" {
                out.push(b'[');
                for (j, s) in self.symbols.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    let sym_text = &text[s.span.clone()];
                    let RawObject(pairs) = serde_json::from_str::<RawObject<'_>>(sym_text)?;
                    out.push(b'{');
                    let mut first = true;
                    for (k, v) in pairs.iter().filter(|(k, _)| k != "permissionSets") {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        out.extend_from_slice(json_key(k).as_bytes());
                        out.push(b':');
                        out.extend_from_slice(v.get().as_bytes());
                    }
                    out.push(b'}');
                }
                out.push(b']');
            } else {
                out.extend_from_slice(&self.bytes[span.clone()]);
            }
        }
        out.push(b'}');
        Payload::parse(out)
    }
}
