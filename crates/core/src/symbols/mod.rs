//! The stored and served list: one [`Symbol`] (its fields are one table, `fields.rs`), and
//! the list document that holds them, written once and read without a parse
//! ([`lookup`]).
//!
//! # Value format (our `symbols-edge:<market>:document` and `:document:last_good` keys)
//! A JSON object, keys in this order:
//! `{"market":"spot","version":"<16 hex>","upstream":"<base url>","fetchedAt":"<RFC 3339>","count":N,"symbols":[...]}`.
//! Responses are the same object with `"source"` spliced in front, so a cache hit is
//! served without parsing or re-serialising the stored bytes.

mod fields;
pub mod lookup;

use serde::{Deserialize, Serialize};

pub use fields::Symbol;
pub(crate) use fields::{K_COUNT, K_FETCHED_AT, K_MARKET, K_SYMBOLS, K_UPSTREAM, K_VERSION};

use crate::filter::Filter;
use crate::json::write::{json_str, json_str_len, json_uint, json_uint_len};
use crate::market::Market;

impl Filter {
    /// Does `s` pass?
    pub fn matches(&self, s: &Symbol) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        eq(&self.status, &s.status)
            && eq(&self.quote, &s.quote_asset)
            && eq(&self.base, &s.base_asset)
    }
}

/// Where a served list came from (the `source` field of responses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The primary cache (or the edge cache in front of it).
    Cache,
    /// Fetched from the exchange for this request.
    Upstream,
    /// The last validated list, served because the exchange failed.
    LastGood,
    /// The original system's last good list (USDT symbols only) projected to our shape,
    /// served because the exchange failed and we had no last good document of our own.
    OriginalLastGood,
}

impl Source {
    /// The JSON value of `source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cache => "cache",
            Source::Upstream => "upstream",
            Source::LastGood => "last_good",
            Source::OriginalLastGood => "original_last_good",
        }
    }

    /// What a response body starts with: `{"source":"..",` and, for a list that covers
    /// USDT symbols only, `"onlyQuoteAsset":"USDT",` so no client mistakes it for the
    /// whole market.
    pub(crate) fn prefix(self) -> &'static [u8] {
        match self {
            Source::Cache => b"{\"source\":\"cache\",",
            Source::Upstream => b"{\"source\":\"upstream\",",
            Source::LastGood => b"{\"source\":\"last_good\",",
            Source::OriginalLastGood => {
                b"{\"source\":\"original_last_good\",\"onlyQuoteAsset\":\"USDT\","
            }
        }
    }
}

/// The header fields of a stored list document (everything but the symbols).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// `spot` / `futures`.
    pub market: String,
    /// Content hash of the symbols; the strong `ETag`.
    pub version: String,
    /// Base URL the list was fetched from.
    #[serde(default)]
    pub upstream: String,
    /// RFC 3339 UTC time of the fetch.
    pub fetched_at: String,
    /// Number of symbols.
    pub count: usize,
}

impl Header {
    /// The header of a list about to be built: the version is the placeholder that the
    /// build patches once the symbols are hashed.
    pub(crate) fn fresh(market: Market, upstream: &str, fetched_at: String, count: usize) -> Self {
        Header {
            market: market.as_str().to_string(),
            version: VERSION_PLACEHOLDER.to_string(),
            upstream: upstream.to_string(),
            fetched_at,
            count,
        }
    }
}

/// A whole list document as stored, parsed (validation, and the fallback of lookups and
/// filters for documents [`lookup`] does not read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDoc {
    /// Header fields.
    #[serde(flatten)]
    pub header: Header,
    /// The symbols.
    pub symbols: Vec<Symbol>,
}

/// Stored document bytes that passed the cheap shape check in [`StoredList::from_bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredList {
    bytes: Vec<u8>,
    header: Header,
}

const SYMBOLS_MARKER: &[u8] = b",\"symbols\":[";
/// Same width as a real version (16 hex digits), so patching it in keeps every offset.
pub(crate) const VERSION_PLACEHOLDER: &str = "vvvvvvvvvvvvvvvv";

impl StoredList {
    /// Builds the stored document for freshly processed symbols.
    pub fn build(market: Market, upstream: &str, fetched_at: String, symbols: &[Symbol]) -> Self {
        Self::assemble(
            Header::fresh(market, upstream, fetched_at, symbols.len()),
            symbols,
        )
    }

    /// One buffer of exactly the document's size, written once (this runs inside the
    /// refresh's CPU budget, and its peak memory counts against the Worker's): the sizes
    /// of all strings and numbers are summed first, the header goes in with a placeholder
    /// version of the final width, the symbols follow, and the version (their hash) is
    /// patched in place. The bytes are exactly serde_json's (`to_vec` of [`Header`] with
    /// `"symbols"` appended; `reference::build_serde` is that reference, and the tests compare them).
    fn assemble(mut header: Header, symbols: &[Symbol]) -> Self {
        let size = document_size(&header, symbols);
        let mut out = Vec::with_capacity(size);
        out.push(b'{');
        let version_at = write_head(&mut out, &header, &header.version, header.count);
        // The placeholder has the version's width (a header parsed back from stored bytes
        // may carry any version, but `build_with_header` resets it to the placeholder).
        let patch = header.version.len() == VERSION_PLACEHOLDER.len();
        let version = write_array(&mut out, symbols, version_at, patch, |out, s| {
            s.write_json(out)
        });
        out.push(b'}');
        debug_assert_eq!(out.len(), size, "document_size is exact");
        header.version = version;
        Self { bytes: out, header }
    }

    /// Accepts stored bytes after a cheap check of their shape: a header that parses
    /// and names `market`, followed by the symbols array closing the object. It does not
    /// parse the symbols (the hit path must not), so it catches garbage and truncation,
    /// not every corruption inside the array.
    pub fn from_bytes(market: Market, bytes: Vec<u8>) -> Option<Self> {
        let at = find(&bytes, SYMBOLS_MARKER)?;
        if !bytes.ends_with(b"]}") || bytes.first() != Some(&b'{') {
            return None;
        }
        let mut head = bytes[..at].to_vec();
        head.push(b'}');
        let header: Header = serde_json::from_slice(&head).ok()?;
        if header.market != market.as_str() {
            return None;
        }
        Some(Self { bytes, header })
    }

    /// Accepts a response body made by [`StoredList::response_body`] (the edge cache keeps
    /// those, so edge hits stream them untouched), recovering the stored document.
    pub fn from_response_body(market: Market, body: &[u8]) -> Option<Self> {
        let rest = body.strip_prefix(b"{\"source\":\"")?;
        let end = rest.iter().position(|b| *b == b'"')?;
        let rest = rest[end..].strip_prefix(b"\",")?;
        let mut bytes = Vec::with_capacity(rest.len() + 1);
        bytes.push(b'{');
        bytes.extend_from_slice(rest);
        Self::from_bytes(market, bytes)
    }

    /// The same list dated `fetched_at` (an unchanged refresh serves the stored version's
    /// time, so every tier shows one `fetchedAt` per version), patched in place.
    pub fn with_fetched_at(mut self, fetched_at: &str) -> Self {
        let mut old = Vec::with_capacity(self.header.fetched_at.len() + 2);
        json_str(&mut old, &self.header.fetched_at);
        let mut new = Vec::with_capacity(fetched_at.len() + 2);
        json_str(&mut new, fetched_at);
        let head_end = find(&self.bytes, SYMBOLS_MARKER).unwrap_or(0);
        let at = self.bytes.get(..head_end).and_then(|head| find(head, &old));
        // Our times are always `YYYY-MM-DDTHH:MM:SSZ`; a time of another width (never
        // written by us) leaves the document as it is.
        if let Some(at) = at.filter(|_| old.len() == new.len()) {
            self.bytes[at..at + new.len()].copy_from_slice(&new);
            self.header.fetched_at = fetched_at.to_string();
        }
        self
    }

    /// The strong `ETag` of this list version: `"<market>-<version>"`.
    pub fn etag(&self) -> String {
        format!("\"{}-{}\"", self.header.market, self.header.version)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The response body: the stored document with `"source"` spliced in front.
    pub fn response_body(&self, source: Source) -> Vec<u8> {
        let prefix = source.prefix();
        let mut out = Vec::with_capacity(self.bytes.len() + prefix.len());
        out.extend_from_slice(prefix);
        out.extend_from_slice(self.bytes.get(1..).unwrap_or_default());
        out
    }

    /// Parses the whole document (validation, and the fallback of [`StoredList::find`] and
    /// [`StoredList::filtered_body`] for documents not in our layout).
    ///
    /// # Errors
    /// When the array inside is corrupt although the shape check passed.
    pub fn parse(&self) -> Result<ListDoc, serde_json::Error> {
        serde_json::from_slice(&self.bytes)
    }

    /// The response body with only the symbols passing `filter` (and `count` updated). The
    /// matching objects are found and copied by [`lookup::filter`] without parsing the list;
    /// a document it does not read goes through the parse-and-rebuild path, which
    /// gives the same bytes (or error).
    ///
    /// # Errors
    /// When the stored symbols are corrupt.
    pub fn filtered_body(
        &self,
        source: Source,
        filter: &Filter,
    ) -> Result<Vec<u8>, serde_json::Error> {
        if filter.is_empty() {
            return Ok(self.response_body(source));
        }
        match lookup::filter(&self.bytes, filter) {
            Ok(kept) => Ok(self.body_of(source, &kept)),
            Err(_) => self.filtered_body_parsed(source, filter),
        }
    }

    /// Finds one symbol (exact match, then ASCII case-insensitive): [`lookup::find`] locates
    /// it in the stored bytes and only that object is deserialised; a document it does not
    /// read goes through the full parse.
    ///
    /// # Errors
    /// When the stored symbols are corrupt.
    pub fn find(&self, symbol: &str) -> Result<Option<Symbol>, serde_json::Error> {
        match lookup::find(&self.bytes, symbol) {
            Ok(None) => Ok(None),
            Ok(Some(at)) => match self.bytes.get(at).map(serde_json::from_slice::<Symbol>) {
                Some(Ok(found)) => Ok(Some(found)),
                // The scanner accepted what serde_json refuses: a scanner bug, answered as before.
                _ => self.find_parsed(symbol),
            },
            Err(_) => self.find_parsed(symbol),
        }
    }

    /// The previous [`StoredList::filtered_body`]: parse everything, keep, rebuild. The
    /// fallback, and the reference the scanner's bodies are tested and measured against.
    ///
    /// # Errors
    /// When the stored symbols are corrupt.
    pub(crate) fn filtered_body_parsed(
        &self,
        source: Source,
        filter: &Filter,
    ) -> Result<Vec<u8>, serde_json::Error> {
        if filter.is_empty() {
            return Ok(self.response_body(source));
        }
        let mut doc = self.parse()?;
        doc.symbols.retain(|s| filter.matches(s));
        doc.header.count = doc.symbols.len();
        let kept = StoredList::build_with_header(doc.header, &doc.symbols);
        Ok(kept.response_body(source))
    }

    /// The previous [`StoredList::find`]: parse everything, search. The fallback, and the
    /// reference the scanner is tested and measured against.
    ///
    /// # Errors
    /// When the stored symbols are corrupt.
    pub(crate) fn find_parsed(&self, symbol: &str) -> Result<Option<Symbol>, serde_json::Error> {
        let doc = self.parse()?;
        let exact = doc.symbols.iter().position(|s| s.symbol == symbol);
        let any = exact.or_else(|| {
            doc.symbols
                .iter()
                .position(|s| s.symbol.eq_ignore_ascii_case(symbol))
        });
        Ok(any.and_then(|i| doc.symbols.into_iter().nth(i)))
    }

    /// The response body of a list holding the objects at `kept` (ranges of `self.bytes`),
    /// exactly as `build_with_header` + `response_body` write it: the objects are already
    /// in [`Symbol::write_json`]'s bytes (the scanner checked), so they are copied, and the version is
    /// the hash of the new array, patched in like `assemble` does.
    fn body_of(&self, source: Source, kept: &[std::ops::Range<usize>]) -> Vec<u8> {
        let h = &self.header;
        let objects: Vec<&[u8]> = kept
            .iter()
            .filter_map(|r| self.bytes.get(r.clone()))
            .collect();
        let array =
            2 + objects.len().saturating_sub(1) + objects.iter().map(|o| o.len()).sum::<usize>();
        let size = source.prefix().len() + K_MARKET.len() - 1
            + json_str_len(&h.market)
            + K_VERSION.len()
            + json_str_len(VERSION_PLACEHOLDER)
            + K_UPSTREAM.len()
            + json_str_len(&h.upstream)
            + K_FETCHED_AT.len()
            + json_str_len(&h.fetched_at)
            + K_COUNT.len()
            + json_uint_len(objects.len() as u64)
            + K_SYMBOLS.len()
            + array
            + 1;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(source.prefix());
        let version_at = write_head(&mut out, h, VERSION_PLACEHOLDER, objects.len());
        write_array(&mut out, &objects, version_at, true, |out, o| {
            out.extend_from_slice(o)
        });
        out.push(b'}');
        debug_assert_eq!(out.len(), size, "the body's size is exact");
        out
    }

    fn build_with_header(mut header: Header, symbols: &[Symbol]) -> Self {
        header.version = VERSION_PLACEHOLDER.to_string();
        Self::assemble(header, symbols)
    }
}

/// The exact byte length of the document [`StoredList::assemble`] writes (so its buffer
/// is allocated once, at its final size: no doubling, no slack counted as peak memory).
fn document_size(header: &Header, symbols: &[Symbol]) -> usize {
    let mut n = K_MARKET.len() + K_VERSION.len() + K_UPSTREAM.len() + K_FETCHED_AT.len()
        + K_COUNT.len()
        + K_SYMBOLS.len()
        + 3 // `[`, `]`, `}`
        + json_str_len(&header.market)
        + json_str_len(&header.version)
        + json_str_len(&header.upstream)
        + json_str_len(&header.fetched_at)
        + json_uint_len(header.count as u64);
    n += symbols.len().saturating_sub(1); // commas between symbols
    for s in symbols {
        n += s.json_size();
    }
    n
}

/// Writes the header's fields, from `"market"` up to `,"symbols":` (the caller wrote the
/// opening brace and anything before it), with `version` and `count` as given; returns
/// where the version's text starts, for [`write_array`] to patch.
fn write_head(out: &mut Vec<u8>, h: &Header, version: &str, count: usize) -> usize {
    let version_at = write_header_fields(out, h, version, count);
    out.extend_from_slice(K_SYMBOLS);
    version_at
}

/// The header's members (`"market":..` to `"count":N`, no braces), with `version` for the
/// header's own (our document patches it in later); returns where the version's digits
/// start. Every stored value and body with a header writes it with this.
pub(crate) fn write_header_fields(
    out: &mut Vec<u8>,
    h: &Header,
    version: &str,
    count: usize,
) -> usize {
    out.extend_from_slice(&K_MARKET[1..]);
    json_str(out, &h.market);
    out.extend_from_slice(K_VERSION);
    let version_at = out.len() + 1;
    json_str(out, version);
    out.extend_from_slice(K_UPSTREAM);
    json_str(out, &h.upstream);
    out.extend_from_slice(K_FETCHED_AT);
    json_str(out, &h.fetched_at);
    out.extend_from_slice(K_COUNT);
    json_uint(out, count as u64);
    version_at
}

/// Writes the symbols array (each item with `item`), hashes it into the list's version
/// and, when `patch`, writes that version over the placeholder at `version_at`.
fn write_array<T>(
    out: &mut Vec<u8>,
    items: &[T],
    version_at: usize,
    patch: bool,
    mut item: impl FnMut(&mut Vec<u8>, &T),
) -> String {
    let start = out.len();
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, s);
    }
    out.push(b']');
    let version = content_version(&out[start..]);
    if patch {
        if let Some(slot) = out.get_mut(version_at..version_at + version.len()) {
            slot.copy_from_slice(version.as_bytes());
        }
    }
    version
}

/// 64-bit FNV-1a of the symbols JSON, as 16 hex digits: changes whenever the list does.
pub(crate) fn content_version(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::rfc3339;

    fn sym(name: &str) -> Symbol {
        Symbol {
            symbol: name.into(),
            status: "TRADING".into(),
            base_asset: "BTC".into(),
            quote_asset: "USDT".into(),
            tick_size: Some("0.01000000".into()),
            step_size: Some("0.00001000".into()),
            min_qty: Some("0.00001000".into()),
            max_qty: Some("9000.00000000".into()),
            min_notional: Some("5.00000000".into()),
            contract_type: None,
            margin_asset: None,
            delivery_date: None,
            onboard_date: None,
        }
    }

    #[test]
    fn stored_round_trip_and_splice() {
        let list = StoredList::build(
            Market::Spot,
            "https://x",
            rfc3339(0),
            &[sym("BTCUSDT"), sym("币安人生USDT")],
        );
        let again = StoredList::from_bytes(Market::Spot, list.as_bytes().to_vec()).expect("valid");
        assert_eq!(again.header().count, 2);
        let body: serde_json::Value =
            serde_json::from_slice(&again.response_body(Source::Cache)).unwrap();
        let back =
            StoredList::from_response_body(Market::Spot, &again.response_body(Source::Cache))
                .expect("reversible");
        assert_eq!(back.as_bytes(), again.as_bytes());
        assert_eq!(back.etag(), format!("\"spot-{}\"", again.header().version));
        assert_eq!(body["source"], "cache");
        assert_eq!(body["market"], "spot");
        assert_eq!(body["count"], 2);
        assert_eq!(body["symbols"][1]["symbol"], "币安人生USDT");
        assert_eq!(body["symbols"][0]["minNotional"], "5.00000000");
        assert!(body["symbols"][0].get("contractType").is_none());
        assert_eq!(again.parse().unwrap().symbols.len(), 2);
    }

    #[test]
    fn garbage_and_truncation_are_rejected() {
        let list = StoredList::build(Market::Spot, "u", rfc3339(0), &[sym("A")]);
        let b = list.as_bytes();
        assert!(StoredList::from_bytes(Market::Spot, b[..b.len() - 3].to_vec()).is_none());
        assert!(StoredList::from_bytes(Market::Futures, b.to_vec()).is_none());
        assert!(StoredList::from_bytes(Market::Spot, b"not json".to_vec()).is_none());
        assert!(StoredList::from_bytes(Market::Spot, b"{\"symbols\":[]}".to_vec()).is_none());
        assert!(StoredList::from_bytes(Market::Spot, Vec::new()).is_none());
    }

    #[test]
    fn version_tracks_content() {
        let a = StoredList::build(Market::Spot, "u", rfc3339(0), &[sym("A")]);
        let b = StoredList::build(Market::Spot, "u", rfc3339(5000), &[sym("A")]);
        let c = StoredList::build(Market::Spot, "u", rfc3339(0), &[sym("B")]);
        assert_eq!(a.header().version, b.header().version);
        assert_ne!(a.header().version, c.header().version);
    }

    #[test]
    fn hand_written_serialisation_is_serde_json_byte_for_byte() {
        let mut tricky = sym("A\"\\\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}/é币");
        tricky.status = String::new();
        tricky.tick_size = None;
        tricky.contract_type = Some(String::new());
        tricky.margin_asset = Some("\u{0}".into());
        tricky.delivery_date = Some(i64::MIN);
        tricky.onboard_date = Some(i64::MAX);
        let mut dated = sym("BTCUSDT_250328");
        dated.delivery_date = Some(0);
        dated.onboard_date = Some(-1);
        let lists: [&[Symbol]; 4] = [
            &[],
            &[sym("A")],
            &[sym("A"), tricky.clone(), dated],
            &[tricky],
        ];
        for symbols in lists {
            for (upstream, at) in [
                ("https://api.binance.com", rfc3339(0)),
                ("u\"\\\n\u{2}", "t".into()),
            ] {
                for market in [Market::Spot, Market::Futures] {
                    let list = StoredList::build(market, upstream, at.clone(), symbols);
                    let reference =
                        crate::reference::build_serde(market, upstream, at.clone(), symbols);
                    assert_eq!(
                        String::from_utf8_lossy(list.as_bytes()),
                        String::from_utf8_lossy(&reference)
                    );
                    assert_eq!(
                        list.bytes.capacity(),
                        list.bytes.len(),
                        "allocated at its exact size"
                    );
                }
            }
        }
    }
}
