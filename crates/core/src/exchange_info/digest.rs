//! A payload's digest: what lets an unchanged cron skip processing altogether. Binance
//! sends the same exchangeInfo bytes for hours, except `serverTime`; a refresh that finds
//! the digest of the payload it processed last time (with this build's [`PROCESSING`])
//! knows every value built from it is the one stored, without parsing a byte.
//!
//! Not a cryptographic hash (nobody chooses the payload to collide with the last one):
//! two 64-bit lanes over 8-byte words, so hashing a 3.7 MB payload costs a fraction of
//! scanning it.

/// What this build makes of a payload (our document, the original's array, the ccxt
/// markets, the full records). Bump it whenever any projection changes: a digest names
/// the build that processed the payload, so a new build never takes its predecessor's
/// values as its own. `processing_fingerprint_is_pinned` fails until it is bumped.
pub const PROCESSING: &str = "p2";

/// How far into the payload `serverTime` is looked for (it is the second key Binance
/// sends, after `timezone`).
const SERVER_TIME_WITHIN: usize = 512;

const K0: u64 = 0x9e37_79b9_7f4a_7c15;
const K1: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// `"<PROCESSING>-<32 hex>"`: the digest of `base` and `body`, with the digits of the
/// top-level `serverTime` left out.
pub fn digest(base: &str, body: &[u8]) -> String {
    let (before, after) = split_server_time(body);
    // Seeded with the length kept: serverTime's digits are not always 13.
    let mut h = Lanes::new((before.len() + after.len()) as u64);
    h.write(base.as_bytes());
    h.write(before);
    h.write(after);
    let (a, b) = h.finish();
    format!("{PROCESSING}-{a:016x}{b:016x}")
}

/// The version (16 hex) of a stored value too large to hash a byte at a time: the ccxt
/// markets (5.5 MB for spot) and the full records (3.3 MB). The same two lanes as
/// [`digest`], eight bytes a step; FNV-1a (`symbols::content_version`, our document's and
/// the original list's) over 9.2 MB took 10.45 ms natively, on the benchmark machine.
pub(crate) fn value_version(bytes: &[u8]) -> String {
    let mut h = Lanes::new(bytes.len() as u64);
    h.write(bytes);
    let (a, b) = h.finish();
    format!("{:016x}", a ^ b.rotate_left(32))
}

/// The payload around `serverTime`'s digits (all of it, then nothing, without one).
fn split_server_time(body: &[u8]) -> (&[u8], &[u8]) {
    const KEY: &[u8] = b"\"serverTime\":";
    let head = &body[..body.len().min(SERVER_TIME_WITHIN)];
    let Some(at) = head.windows(KEY.len()).position(|w| w == KEY) else {
        return (body, &[]);
    };
    let digits = at + KEY.len();
    let end = digits
        + body[digits..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
    (&body[..digits], &body[end..])
}

/// Two independent multiply-rotate lanes; each 16-byte block feeds one word to each.
struct Lanes {
    a: u64,
    b: u64,
}

impl Lanes {
    fn new(seed: u64) -> Self {
        Lanes {
            a: seed ^ K0,
            b: seed.rotate_left(32) ^ K1,
        }
    }

    fn mix(lane: u64, word: u64, k: u64) -> u64 {
        (lane ^ word.wrapping_mul(k))
            .rotate_left(29)
            .wrapping_mul(K0)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut blocks = bytes.chunks_exact(16);
        for block in &mut blocks {
            let (x, y) = block.split_at(8);
            self.a = Self::mix(self.a, word(x), K1);
            self.b = Self::mix(self.b, word(y), K0);
        }
        let rest = blocks.remainder();
        let mut tail = [0u8; 16];
        tail[..rest.len()].copy_from_slice(rest);
        let (x, y) = tail.split_at(8);
        // The length keeps "ab" + "" and "a" + "b" apart.
        self.a = Self::mix(self.a, word(x) ^ rest.len() as u64, K1);
        self.b = Self::mix(self.b, word(y), K0);
    }

    fn finish(self) -> (u64, u64) {
        let fold = |mut h: u64| {
            h ^= h >> 33;
            h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
            h ^= h >> 33;
            h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
            h ^ (h >> 33)
        };
        (fold(self.a ^ self.b.rotate_left(17)), fold(self.b ^ self.a))
    }
}

fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccxt::CcxtList;
    use crate::market::Market;
    use crate::rules::RulesSet;
    use crate::symbols::StoredList;

    const PAYLOAD: &str = r#"{"timezone":"UTC","serverTime":1733212800123,"rateLimits":[],"exchangeFilters":[],"symbols":[{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","baseAssetPrecision":8,"quoteAsset":"USDT","quotePrecision":8,"orderTypes":["LIMIT","MARKET"],"isSpotTradingAllowed":true,"filters":[{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},{"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},{"filterType":"NOTIONAL","minNotional":"5.00000000"}],"permissions":[]},{"symbol":"ETHBTC","status":"BREAK","baseAsset":"ETH","quoteAsset":"BTC","filters":[{"filterType":"PRICE_FILTER","tickSize":"0.00001000"},{"filterType":"MIN_NOTIONAL","minNotional":"0.00010000"}]}]}"#;

    #[test]
    fn server_time_alone_does_not_change_it() {
        let later = PAYLOAD.replace("1733212800123", "1733216400999");
        let short = PAYLOAD.replace("1733212800123", "7");
        assert_eq!(
            digest("b", PAYLOAD.as_bytes()),
            digest("b", short.as_bytes())
        );
        assert_eq!(
            digest("https://api.binance.com", PAYLOAD.as_bytes()),
            digest("https://api.binance.com", later.as_bytes())
        );
        let d = digest("b", PAYLOAD.as_bytes());
        assert!(
            d.starts_with(&format!("{PROCESSING}-")) && d.len() == PROCESSING.len() + 1 + 32,
            "{d}"
        );
    }

    #[test]
    fn any_other_byte_and_the_base_do() {
        let base = "https://api.binance.com";
        let d = digest(base, PAYLOAD.as_bytes());
        assert_ne!(d, digest("https://api1.binance.com", PAYLOAD.as_bytes()));
        let time = PAYLOAD.find("1733212800123").unwrap_or(0);
        for (at, _) in PAYLOAD.char_indices().step_by(7) {
            let mut b = PAYLOAD.as_bytes().to_vec();
            if (time..time + 13).contains(&at) {
                continue; // serverTime's digits
            }
            b[at] ^= 0x01;
            assert_ne!(digest(base, &b), d, "a change at byte {at}");
        }
        // Moved bytes (same multiset) and a cut.
        let swapped = PAYLOAD.replace("\"BTCUSDT\"", "\"USDTBTC\"");
        assert_ne!(digest(base, swapped.as_bytes()), d);
        assert_ne!(digest(base, &PAYLOAD.as_bytes()[..PAYLOAD.len() - 1]), d);
        // A serverTime past the head is ordinary content.
        let late = format!("{{\"x\":\"{}\",\"serverTime\":1}}", "y".repeat(600));
        let later = late.replace(":1}", ":2}");
        assert_ne!(
            digest(base, late.as_bytes()),
            digest(base, later.as_bytes())
        );
    }

    #[test]
    fn a_value_version_is_16_hex_and_follows_every_byte() {
        let a = value_version(PAYLOAD.as_bytes());
        assert!(
            a.len() == 16 && a.bytes().all(|c| c.is_ascii_hexdigit()),
            "{a}"
        );
        assert_eq!(a, value_version(PAYLOAD.as_bytes()));
        // One byte anywhere, in a full block or in the tail, and the length, change it.
        let body = PAYLOAD.as_bytes();
        for at in [0, body.len() / 2, body.len() - 1] {
            let mut other = body.to_vec();
            other[at] ^= 1;
            assert_ne!(a, value_version(&other), "byte {at}");
        }
        assert_ne!(value_version(b"ab"), value_version(b"ab\0"));
    }

    /// Everything this build makes of a payload, as one value: pinned, so a change to any
    /// projection fails here until [`PROCESSING`] is bumped (and this value updated).
    #[test]
    fn processing_fingerprint_is_pinned() {
        let body = PAYLOAD.as_bytes();
        let mut all = Vec::new();
        for market in [Market::Spot, Market::Futures] {
            let parsed = crate::exchange_info::parse_with_raw(market, body).expect("parses");
            let raw: Vec<&[u8]> = parsed.raw.iter().map(|r| r.as_ref()).collect();
            let at = "2024-12-03T08:00:00Z";
            let original = crate::original::build(market, &parsed);
            all.extend_from_slice(&original.bytes);
            all.extend_from_slice(CcxtList::build(market, "b", at, &raw).as_bytes());
            for (name, value) in RulesSet::build(market, "b", at, &raw).to_fields() {
                all.extend_from_slice(name.as_bytes());
                all.extend_from_slice(&value);
            }
            let doc = StoredList::build(market, "b", at.into(), &parsed.symbols);
            all.extend_from_slice(doc.as_bytes());
        }
        let fingerprint = digest("", &all);
        assert_eq!(
            (PROCESSING, fingerprint.as_str()),
            ("p2", "p2-72611239c2e05775c658892bbfa5d9d9"),
            "the processing changed: bump PROCESSING and pin the new fingerprint"
        );
    }
}
