//! ccxt's unified market structure for Binance (`?format=ccxt`): what Python
//! `ccxt.binance().parse_market(raw_symbol)` returns for each raw exchangeInfo symbol
//! object, so a bot calls `exchange.set_markets(markets)` instead of `load_markets()`.
//!
//! The projection mirrors ccxt [`CCXT_VERSION`]'s `binance.parse_market` and the helpers
//! it calls (`safe_string`, `safe_number` = `float(str)`, `safe_integer` =
//! `int(float(x))`, `parse_precision`, `safe_currency_code`, `safe_market_structure`),
//! reading each raw object with a small reader (no serde tree in the Worker). Numbers are
//! written as Python's `json.dumps` writes the floats and ints ccxt produces (`0.01`,
//! `1e-08`, `9000000000.0`, `1569398400000`). `info` is the raw object, byte for byte.
//! `tests/tools/ccxt_check.py` compares every field with the real ccxt.
//!
//! Where this differs from ccxt, on inputs Binance does not send: markets ccxt parses as
//! options (an `underlying` field) and objects on which ccxt raises are left out; NaN
//! and infinities are `null`; upper/lower case is ASCII folding (Python's agrees on ASCII
//! and on caseless scripts such as `币安人生`); a decimal of 16 or more significant digits
//! may come out one unit in the last place off Python's float.
//!
//! # Value format (`symbols-edge:<market>:ccxt` and `:ccxt:last_good`)
//! `{"market":"spot","version":"<16 hex>","upstream":"<base url>","fetchedAt":"<RFC 3339>","count":N,"markets":[...]}`,
//! markets in exchangeInfo order; `version` hashes the markets array. Responses splice
//! `"source"` in front, as for our document.

use std::borrow::Cow;

use crate::exchange_info::digest::value_version;
use crate::json::raw::{elements, value_end, Obj, V};
use crate::json::write::json_str;
use crate::market::Market;
use crate::symbols::{write_header_fields, Header, Source};

/// The ccxt release this projection reproduces (pinned in `scripts/setup.sh`, checked by
/// `tests/tools/ccxt_check.py`).
pub const CCXT_VERSION: &str = "4.5.90";

/// A stored ccxt markets value that passed [`CcxtList::from_bytes`]'s shape check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CcxtList {
    bytes: Vec<u8>,
    header: Header,
}

const MARKETS_MARKER: &[u8] = b",\"markets\":[";

impl CcxtList {
    /// Projects every raw symbol object (payload order; those ccxt would not return are
    /// left out) into one stored value.
    pub fn build(market: Market, upstream: &str, fetched_at: &str, raw: &[&[u8]]) -> Self {
        let mut array = Vec::with_capacity(raw.iter().map(|r| r.len() + 900).sum());
        array.push(b'[');
        let mut count = 0;
        for r in raw {
            let at = array.len();
            if count > 0 {
                array.push(b',');
            }
            if write_market(&mut array, r).is_some() {
                count += 1;
            } else {
                array.truncate(at);
            }
        }
        array.push(b']');
        let header = Header {
            market: market.as_str().to_string(),
            version: value_version(&array),
            upstream: upstream.to_string(),
            fetched_at: fetched_at.to_string(),
            count,
        };
        let mut bytes = Vec::with_capacity(array.len() + 160);
        bytes.push(b'{');
        write_header_fields(&mut bytes, &header, &header.version, count);
        bytes.extend_from_slice(&MARKETS_MARKER[..MARKETS_MARKER.len() - 1]);
        bytes.extend_from_slice(&array);
        bytes.push(b'}');
        Self { bytes, header }
    }

    /// Projects the original system's stored array (raw objects, USDT only): the
    /// fallback when we have no ccxt value of our own.
    pub fn from_original(market: Market, array: &[u8], fetched_at: &str) -> Option<Self> {
        let raw = elements(array)?;
        Some(Self::build(
            market,
            crate::original::UPSTREAM,
            fetched_at,
            &raw.iter().map(|r| &array[r.clone()]).collect::<Vec<_>>(),
        ))
    }

    /// Accepts stored bytes after a cheap shape check (the header parses and names
    /// `market`; the markets array closes the object), without reading the markets.
    pub fn from_bytes(market: Market, bytes: Vec<u8>) -> Option<Self> {
        let at = bytes
            .windows(MARKETS_MARKER.len())
            .position(|w| w == MARKETS_MARKER)?;
        if !bytes.ends_with(b"]}") || bytes.first() != Some(&b'{') {
            return None;
        }
        let mut head = bytes[..at].to_vec();
        head.push(b'}');
        let header: Header = serde_json::from_slice(&head).ok()?;
        (header.market == market.as_str()).then_some(Self { bytes, header })
    }

    /// The same value dated `fetched_at` (an unchanged refresh keeps the stored version's
    /// time), patched in place; a time of another width leaves it as it is.
    pub fn with_fetched_at(mut self, fetched_at: &str) -> Self {
        let mut old = b"\"fetchedAt\":".to_vec();
        json_str(&mut old, &self.header.fetched_at);
        let mut new = b"\"fetchedAt\":".to_vec();
        json_str(&mut new, fetched_at);
        let head = self.bytes.len().min(512);
        let at = self.bytes[..head].windows(old.len()).position(|w| w == old);
        if let Some(at) = at.filter(|_| old.len() == new.len()) {
            self.bytes[at..at + new.len()].copy_from_slice(&new);
            self.header.fetched_at = fetched_at.to_string();
        }
        self
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The strong `ETag`: `"<market>-ccxt-<version>"` (never equal to the document's).
    pub fn etag(&self) -> String {
        format!("\"{}-ccxt-{}\"", self.header.market, self.header.version)
    }

    /// The response body: the stored value with `"source"` spliced in front.
    pub fn response_body(&self, source: Source) -> Vec<u8> {
        let prefix = source.prefix();
        let mut out = Vec::with_capacity(self.bytes.len() + prefix.len());
        out.extend_from_slice(prefix);
        out.extend_from_slice(self.bytes.get(1..).unwrap_or_default());
        out
    }

    /// One market's object by Binance id (`BTCUSDT`), exact, else ASCII-uppercased. Each
    /// market starts `{"id":<id>,"lowercaseId":`, which a raw `info` object cannot hold
    /// outside a string, so the object is found without reading the array.
    pub fn find(&self, id: &str) -> Option<&[u8]> {
        let start = self
            .bytes
            .windows(MARKETS_MARKER.len())
            .position(|w| w == MARKETS_MARKER)?
            + MARKETS_MARKER.len();
        let markets = &self.bytes[start..];
        let locate = |id: &str| {
            let mut needle = b"{\"id\":".to_vec();
            json_str(&mut needle, id);
            needle.extend_from_slice(b",\"lowercaseId\":");
            markets.windows(needle.len()).position(|w| w == needle)
        };
        let at = locate(id).or_else(|| locate(&id.to_ascii_uppercase()))?;
        let end = value_end(markets, at)?;
        markets.get(at..end)
    }
}

// ---- ccxt's parse_market, field by field ----
//
// Helpers are `#[inline(never)]`: this runs once per refresh, and symbols-core is built
// for speed (`opt-level = 3`), which would otherwise inline them at every call site of
// the Worker's bundle.

/// ccxt 4.5.90's `binance.describe()['fees']`: (taker, maker) for spot (`trading`),
/// `linear` and `inverse`.
const FEES_SPOT: (&str, &str) = ("0.001", "0.001");
const FEES_LINEAR: (&str, &str) = ("0.0005", "0.0002");
const FEES_INVERSE: (&str, &str) = ("0.0005", "0.0001");

/// `commonCurrencies` (the base class's merged with binance's), applied to the
/// upper-cased id by `safe_currency_code`.
const COMMON_CURRENCIES: [(&str, &str); 4] = [
    ("XBT", "BTC"),
    ("BCHSV", "BSV"),
    ("BCC", "BCC"),
    ("YOYO", "YOYOW"),
];

/// ccxt's sentinel for a perpetual's `deliveryDate` (2100-12-25).
const PERPETUAL_DELIVERY: i64 = 4_133_404_800_000;

/// Writes `parse_market(raw)` as JSON; `None` where ccxt returns `None` or raises (and
/// for options, which are not reproduced).
#[inline(never)]
fn write_market(out: &mut Vec<u8>, raw: &[u8]) -> Option<()> {
    let m = Obj::read(raw)?;
    let id = m.string("symbol")?;
    let underlying = m.string("underlying");
    let option_base = id.split('-').next().filter(|s| !s.is_empty());
    let base_id = m
        .string("baseAsset")
        .or_else(|| option_base.map(|s| Cow::Owned(s.to_string())));
    let stock = m.has("tradability");
    let quote_id = if stock {
        Some(Cow::Borrowed("USDC"))
    } else {
        m.string("quoteAsset")
    };
    let base = currency_code(base_id.as_deref()?);
    let quote = currency_code(quote_id.as_deref()?);
    let contract_type = m.string("contractType");
    let contract = m.has("contractType");
    let mut expiry = m
        .integer("deliveryDate")
        .or_else(|| m.integer("expiryDate"));
    let settle_id = m.string("marginAsset");
    let (mut swap, mut future) = (false, false);
    if contract_type.as_deref() == Some("PERPETUAL") || expiry == Some(PERPETUAL_DELIVERY) {
        expiry = None;
        swap = true;
    } else if underlying.is_some() {
        return None; // ccxt's option branch (the options exchange, not served here)
    } else if expiry.is_some() {
        future = true;
    }
    let settle = settle_id.as_deref().map(currency_code);
    let spot = !contract;
    let filters = m.filters()?;
    let filter = |name: &str| filters.iter().rev().find(|f| f.0.as_deref() == Some(name));
    let status = m.string("status").or_else(|| m.string("contractStatus"));
    let mut symbol = format!("{base}/{quote}");
    let (mut contract_size, mut linear, mut inverse, mut sub_type) = (None, None, None, None);
    let mut fees = FEES_SPOT;
    if contract {
        let settle = settle.as_deref()?; // ccxt: `str + None` raises
        if swap {
            symbol = format!("{symbol}:{settle}");
        } else if future {
            symbol = format!("{symbol}:{settle}-{}", yymmdd(expiry?)?);
        }
        // safe_number_2(.., 1.0): the default also where float() fails.
        contract_size = Some(
            m.string("contractSize")
                .or_else(|| m.string("unit"))
                .map_or_else(|| py_float("1"), |s| py_float(&s).or_else(|| py_float("1"))),
        );
        linear = Some(settle == quote);
        inverse = Some(settle == base);
        sub_type = if linear == Some(true) {
            Some("linear")
        } else if inverse == Some(true) {
            Some("inverse")
        } else {
            None
        };
        fees = if linear == Some(true) {
            FEES_LINEAR
        } else {
            FEES_INVERSE
        };
    }
    let mut active = status.as_deref() == Some("TRADING");
    if spot {
        if let Some(perms) = m.list("permissions") {
            if perms.iter().any(|p| p.as_str() == Some("TRD_GRP_003")) {
                active = false;
            }
        }
    }
    let margin_allowed = matches!(m.get("isMarginTradingAllowed"), Some(V::Bool(true)));
    if let Some(t) = m.string("tradability") {
        if t != "NONE" {
            active = true;
        }
    }
    let kind = if spot {
        "spot"
    } else if swap {
        "swap"
    } else if future {
        "future"
    } else {
        ""
    };
    // precision: amount, price, base, quote (ccxt's `extend` drops the clean `cost`).
    let mut p_amount = precision(
        m.string("quantityPrecision")
            .or_else(|| m.string("quantityScale")),
    )?;
    let mut p_price = precision(
        m.string("pricePrecision")
            .or_else(|| m.string("priceScale")),
    )?;
    let p_base = precision(m.string("baseAssetPrecision"))?;
    let p_quote = precision(m.string("quotePrecision"))?;
    let mut amount = (m.number_or_none("minQty"), m.number_or_none("maxQty"));
    let mut price = (None, None);
    let mut cost = (
        m.number_or_none("minNotional"),
        m.number_or_none("maxNotional"),
    );
    let mut market_lot = None;
    if let Some(step) = m.number_or_none("stepSize") {
        p_amount = Some(step);
    }
    if let Some(f) = filter("PRICE_FILTER") {
        price = (
            f.1.number_or_none("minPrice"),
            f.1.number_or_none("maxPrice"),
        );
        p_price = f.1.number_or_none("tickSize");
    }
    if let Some(f) = filter("LOT_SIZE") {
        p_amount = f.1.number_or_none("stepSize");
        amount = (f.1.number_or_none("minQty"), f.1.number_or_none("maxQty"));
    }
    if let Some(f) = filter("MARKET_LOT_SIZE") {
        market_lot = Some((f.1.number_or_none("minQty"), f.1.number_or_none("maxQty")));
    }
    if let Some(f) = filter("MIN_NOTIONAL").or_else(|| filter("NOTIONAL")) {
        cost.0 =
            f.1.number("minNotional")
                .or_else(|| f.1.number("notional"))
                .flatten();
        cost.1 = f.1.number_or_none("maxNotional");
    }
    let created = m
        .integer("onboardDate")
        .or_else(|| m.integer("listingTime"));

    let w = &mut Writer(out);
    w.raw("{\"id\":");
    w.str(&id);
    w.key("lowercaseId");
    w.str(&id.to_ascii_lowercase());
    w.key("symbol");
    w.str(&symbol);
    w.key("base");
    w.str(&base);
    w.key("quote");
    w.str(&quote);
    w.key("settle");
    w.opt_str(settle.as_deref());
    w.key("baseId");
    w.opt_str(base_id.as_deref());
    w.key("quoteId");
    w.opt_str(quote_id.as_deref());
    w.key("settleId");
    w.opt_str(settle_id.as_deref());
    w.key("type");
    if kind.is_empty() {
        w.raw("null");
    } else {
        w.str(kind);
    }
    w.key("spot");
    w.bool(Some(spot));
    w.key("margin");
    w.bool(Some(spot && margin_allowed));
    w.key("swap");
    w.bool(Some(swap));
    w.key("future");
    w.bool(Some(future));
    w.key("option");
    w.bool(Some(false));
    // safe_market_structure fills `index` only for spot markets.
    w.key("index");
    w.bool(spot.then_some(false));
    w.key("active");
    w.bool(Some(active));
    w.key("contract");
    w.bool(Some(contract));
    w.key("linear");
    w.bool(linear);
    w.key("inverse");
    w.bool(inverse);
    w.key("subType");
    w.opt_str(sub_type);
    w.key("taker");
    w.float(py_float(fees.0));
    w.key("maker");
    w.float(py_float(fees.1));
    w.key("contractSize");
    w.float(contract_size.flatten());
    w.key("expiry");
    w.int(expiry);
    w.key("expiryDatetime");
    w.opt_str(expiry.and_then(iso8601).as_deref());
    w.key("strike");
    w.raw("null");
    w.key("optionType");
    w.opt_str(m.string("side").map(|s| s.to_ascii_lowercase()).as_deref());
    w.raw(",\"precision\":{\"amount\":");
    w.float(p_amount);
    w.key("price");
    w.float(p_price);
    w.key("base");
    w.float(p_base);
    w.key("quote");
    w.float(p_quote);
    w.raw("},\"limits\":{\"leverage\":{\"min\":null,\"max\":null}");
    for (name, (min, max)) in [("amount", amount), ("price", price), ("cost", cost)]
        .into_iter()
        .chain(market_lot.map(|l| ("market", l)))
    {
        w.key(name);
        w.raw("{\"min\":");
        w.float(min);
        w.key("max");
        w.float(max);
        w.raw("}");
    }
    w.raw("},\"marginModes\":");
    if spot {
        // `crossMarginPairsData` / `isolatedMarginPairsData` are empty offline.
        w.raw("{\"cross\":false,\"isolated\":false}");
    } else if linear == Some(true) || inverse == Some(true) {
        w.raw("{\"cross\":true,\"isolated\":true}");
    } else {
        w.raw("null");
    }
    w.key("created");
    w.int(created);
    w.key("info");
    w.0.extend_from_slice(raw);
    w.key("stock");
    w.bool(Some(stock));
    w.raw("}");
    Some(())
}

/// `safe_currency_code(id)` with no currencies loaded: `commonCurrencies[id.upper()]`,
/// else `id.upper()`.
#[inline(never)]
fn currency_code(id: &str) -> String {
    let upper = id.to_ascii_uppercase();
    COMMON_CURRENCIES
        .iter()
        .find(|(from, _)| *from == upper)
        .map_or(upper, |(_, to)| to.to_string())
}

/// `parse_number(parse_precision(s))`: `10 ** -int(s)` as a float; `None` where
/// Python's `int()` raises (ccxt's parse_market then raises too).
#[inline(never)]
fn precision(s: Option<Cow<'_, str>>) -> Option<Option<Float>> {
    let Some(s) = s else {
        return Some(None);
    };
    let digits = py_int_text(&s)?;
    // Bounded: beyond this the float is 0.0 or inf either way.
    let p: i64 = digits.parse().unwrap_or(if digits.starts_with('-') {
        -100_000
    } else {
        100_000
    });
    Some(Some(Float::from_parts(false, "1", 1 - p)))
}

/// The text of an integer as Python's `int(str)` reads it (whitespace, sign, digits with
/// single underscores between them), normalised to `-?digits`; `None` where it raises.
#[inline(never)]
fn py_int_text(s: &str) -> Option<String> {
    let t = s.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = strip_underscores(body)?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    Some(match (neg, digits.is_empty()) {
        (_, true) => "0".to_string(),
        (true, false) => format!("-{digits}"),
        (false, false) => digits.to_string(),
    })
}

/// Removes Python's digit-group underscores (each between two digits); `None` for any
/// other underscore.
#[inline(never)]
fn strip_underscores(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('_') {
        return Some(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'_'
            && !(i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            return None;
        }
    }
    Some(Cow::Owned(s.replace('_', "")))
}

/// A Python float, held as decimal digits: no `f64` parsing or formatting in the
/// Worker's bundle (core's would add ~30 KB; serde_json's is there already).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Float {
    /// `-`? `0.digits` x 10^(`exp` + 1): `digits` is the shortest text that round-trips
    /// (no leading or trailing zeros; `"0"` for zero), `exp` the first digit's exponent.
    Finite { neg: bool, digits: String, exp: i64 },
    /// `inf`, `-inf` or `nan` (written as `null`: JSON has no such number).
    NonFinite,
}

/// Decimals this short are their own shortest round-trip text (any decimal of at most 15
/// significant digits survives a trip through a double), within this exponent range.
const EXACT_DIGITS: usize = 15;
const EXACT_EXP: std::ops::RangeInclusive<i64> = -307..=307;

impl Float {
    /// The float nearest `0.digits x 10^point` (digits may have leading/trailing zeros).
    #[inline(never)]
    fn from_parts(neg: bool, digits: &str, point: i64) -> Float {
        Self::nearest(neg, digits, point, true)
    }

    /// [`Float::from_parts`]; `round` false: the digits are a double's already (ryu's).
    #[inline(never)]
    fn nearest(neg: bool, digits: &str, point: i64, round: bool) -> Float {
        let lead = digits.len() - digits.trim_start_matches('0').len();
        let sig = digits.trim_matches('0');
        if sig.is_empty() {
            return Float::Finite {
                neg,
                digits: "0".into(),
                exp: 0,
            };
        }
        let exp = point.saturating_sub(1 + lead as i64);
        if !round || (sig.len() <= EXACT_DIGITS && EXACT_EXP.contains(&exp)) {
            return Float::Finite {
                neg,
                digits: sig.to_string(),
                exp,
            };
        }
        // Long (MARKET_LOT_SIZE maxQty: `489758865.20833333`) or extreme: the double
        // nearest the decimal, as Python's float() finds it: serde_json's parse (fast, but
        // not always correctly rounded), corrected against the exact decimal; then ryu's
        // shortest digits.
        let text = format!("0.{sig}e{}", exp.saturating_add(1).clamp(-100_000, 100_000));
        match serde_json::from_str::<f64>(&text) {
            Ok(f) if f.is_finite() => serde_json::Number::from_f64(correct(f, sig, exp))
                .and_then(|n| split(&n.to_string()))
                .map_or(Float::NonFinite, |(neg, digits, point)| {
                    Self::nearest(neg, &digits, point, false)
                }),
            // Out of a double's range: serde_json refuses what Python makes inf (or 0.0).
            _ if exp > 0 => Float::NonFinite,
            _ => Float::Finite {
                neg,
                digits: "0".into(),
                exp: 0,
            },
        }
    }

    /// Python's `repr()` (what `json.dumps` writes): fixed notation for exponents
    /// -4..=15, always with a fraction (`100.0`), else `d.ddde±XX`; `None` for inf/nan.
    #[inline(never)]
    fn repr(&self) -> Option<String> {
        let Float::Finite { neg, digits, exp } = self else {
            return None;
        };
        let sign = if *neg { "-" } else { "" };
        let n = digits.len() as i64;
        if !(-4..16).contains(exp) {
            let (head, tail) = digits.split_at(1);
            let dot = if tail.is_empty() { "" } else { "." };
            let esign = if *exp < 0 { '-' } else { '+' };
            return Some(format!(
                "{sign}{head}{dot}{tail}e{esign}{:02}",
                exp.unsigned_abs()
            ));
        }
        let point = exp + 1; // digits before the decimal point
        Some(if point <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        } else if point >= n {
            format!("{sign}{digits}{}.0", "0".repeat((point - n) as usize))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{sign}{int}.{frac}")
        })
    }

    /// `int(self)`: truncated toward zero; `None` for inf/nan (Python raises) and beyond
    /// an `i64` (never an exchange timestamp).
    #[inline(never)]
    fn trunc(&self) -> Option<i64> {
        let Float::Finite { neg, digits, exp } = self else {
            return None;
        };
        if *exp < 0 {
            return Some(0);
        }
        if *exp > 17 {
            return None;
        }
        let keep = (*exp as usize + 1).min(digits.len());
        let zeros = *exp as usize + 1 - keep;
        let v: i64 = format!("{}{}", &digits[..keep], "0".repeat(zeros))
            .parse()
            .ok()?;
        Some(if *neg { -v } else { v })
    }
}

/// The double nearest `0.sig x 10^(exp + 1)` (ties to even), from `f`, a double near it:
/// `f` steps up or down while the decimal lies beyond a midpoint to its neighbour (exact
/// decimal arithmetic, no float code of core's in the bundle).
#[inline(never)]
fn correct(mut f: f64, sig: &str, exp: i64) -> f64 {
    let x = (sig, exp);
    for _ in 0..4 {
        let bits = f.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1 << 52) - 1);
        let (m, q) = if biased == 0 {
            (frac, -1074)
        } else {
            (frac | 1 << 52, biased - 1075)
        };
        let even = m % 2 == 0;
        let (up_d, up_e) = exact(2 * m + 1, q - 1);
        match cmp_dec(x, (&up_d, up_e)) {
            std::cmp::Ordering::Greater => {
                f = f64::from_bits(bits + 1);
                continue;
            }
            std::cmp::Ordering::Equal if !even => return f64::from_bits(bits + 1),
            _ => {}
        }
        if m == 0 {
            return f;
        }
        // Below a power of two the gap to the lower neighbour is half as wide.
        let (down_d, down_e) = if frac == 0 && biased > 1 {
            exact(4 * m - 1, q - 2)
        } else {
            exact(2 * m - 1, q - 1)
        };
        match cmp_dec(x, (&down_d, down_e)) {
            std::cmp::Ordering::Less => f = f64::from_bits(bits - 1),
            std::cmp::Ordering::Equal if !even => return f64::from_bits(bits - 1),
            _ => return f,
        }
    }
    f
}

/// `k x 2^e` exactly, as (significant digits, exponent of the first digit).
#[inline(never)]
fn exact(k: u64, e: i64) -> (String, i64) {
    const BASE: u64 = 1_000_000_000;
    let mut n: Vec<u64> = vec![k % BASE, k / BASE % BASE, k / BASE / BASE];
    let mul = |n: &mut Vec<u64>, by: u64| {
        let mut carry = 0;
        for limb in n.iter_mut() {
            let v = *limb * by + carry;
            *limb = v % BASE;
            carry = v / BASE;
        }
        while carry > 0 {
            n.push(carry % BASE);
            carry /= BASE;
        }
    };
    // 2^e, or 5^-e over 10^-e.
    let (by, chunk, unit, times) = if e >= 0 {
        (1 << 29, 29, 2, e)
    } else {
        (1_220_703_125, 13, 5, -e)
    };
    for _ in 0..times / chunk {
        mul(&mut n, by);
    }
    for _ in 0..times % chunk {
        mul(&mut n, unit);
    }
    let mut text = String::new();
    for (i, limb) in n.iter().rev().enumerate() {
        if i == 0 {
            text.push_str(&limb.to_string());
        } else {
            let l = limb.to_string();
            text.push_str(&"0".repeat(9 - l.len()));
            text.push_str(&l);
        }
    }
    let text = text.trim_start_matches('0');
    let first = text.len() as i64 - 1 + e.min(0);
    (text.trim_end_matches('0').to_string(), first)
}

/// Compares two positive decimals given as (significant digits, first digit's exponent).
#[inline(never)]
fn cmp_dec(a: (&str, i64), b: (&str, i64)) -> std::cmp::Ordering {
    // Digits without trailing zeros: a prefix is the smaller number.
    a.1.cmp(&b.1)
        .then_with(|| a.0.trim_end_matches('0').cmp(b.0.trim_end_matches('0')))
}

/// A decimal in Python's `float()` grammar once signs and spellings are dealt with:
/// `digits[.digits][e[+-]digits]` (either side of the point may be empty, not both).
#[inline(never)]
fn decimal(t: &str) -> Option<Float> {
    let (neg, digits, point) = split(t)?;
    Some(Float::from_parts(neg, &digits, point))
}

/// [`decimal`]'s text as `(negative, all digits, digits before the point)`.
#[inline(never)]
fn split(t: &str) -> Option<(bool, String, i64)> {
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, e10) = match body.find(['e', 'E']) {
        Some(at) => {
            let e = &body[at + 1..];
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            // Saturated: a longer exponent is 0.0 or inf either way.
            let v: i64 = digits.parse().unwrap_or(1_000_000).min(1_000_000);
            (&body[..at], if e.starts_with('-') { -v } else { v })
        }
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.len() + frac.len() == 0 || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((neg, format!("{int}{frac}"), int.len() as i64 + e10))
}

/// Python's `float(str)`; `None` where it raises.
#[inline(never)]
fn py_float(s: &str) -> Option<Float> {
    let t = strip_underscores(s.trim())?;
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(&t);
    if matches!(
        unsigned.to_ascii_lowercase().as_str(),
        "inf" | "infinity" | "nan"
    ) {
        return Some(Float::NonFinite);
    }
    decimal(&t)
}

/// `iso8601(ms)`: `YYYY-MM-DDTHH:MM:SS.mmmZ` within ccxt's range, else `None`.
#[inline(never)]
fn iso8601(ms: i64) -> Option<String> {
    if !(0..=8_640_000_000_000_000).contains(&ms) {
        return None;
    }
    let secs = crate::time::rfc3339(ms as u64);
    Some(format!("{}.{:03}Z", secs.strip_suffix('Z')?, ms % 1000))
}

/// `yymmdd(ms)`: the UTC date of `round(ms / 1000)` seconds (half to even), `YYMMDD`.
#[inline(never)]
fn yymmdd(ms: i64) -> Option<String> {
    let (q, r) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let secs = if r > 500 || (r == 500 && q % 2 != 0) {
        q + 1
    } else {
        q
    };
    let date = crate::time::rfc3339(u64::try_from(secs).ok()? * 1000);
    let (y, rest) = date.split_once('-')?;
    let year: u64 = y.parse().ok()?;
    Some(format!(
        "{:02}{}{}",
        year % 100,
        rest.get(..2)?,
        rest.get(3..5)?
    ))
}

// ---- Python's json.dumps of ccxt's values ----

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    #[inline(never)]
    fn raw(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }
    #[inline(never)]
    fn key(&mut self, k: &str) {
        self.0.extend_from_slice(b",\"");
        self.0.extend_from_slice(k.as_bytes());
        self.0.extend_from_slice(b"\":");
    }
    #[inline(never)]
    fn str(&mut self, s: &str) {
        json_str(self.0, s);
    }
    #[inline(never)]
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => json_str(self.0, s),
            None => self.raw("null"),
        }
    }
    #[inline(never)]
    fn bool(&mut self, b: Option<bool>) {
        self.raw(match b {
            Some(true) => "true",
            Some(false) => "false",
            None => "null",
        });
    }
    #[inline(never)]
    fn int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.raw(&v.to_string()),
            None => self.raw("null"),
        }
    }
    #[inline(never)]
    fn float(&mut self, v: Option<Float>) {
        match v.as_ref().and_then(Float::repr) {
            Some(text) => self.raw(&text),
            None => self.raw("null"),
        }
    }
}

impl<'a> Obj<'a> {
    /// `safe_string`: a non-empty string, or a number as Python's `str()` writes it.
    #[inline(never)]
    fn string(&self, key: &str) -> Option<Cow<'a, str>> {
        match self.get(key)? {
            V::Str(s) if !s.is_empty() => Some(s.clone()),
            V::Num(n) => Some(Cow::Owned(py_str_number(n)?)),
            _ => None,
        }
    }

    /// `safe_number` when the key is there: `Some(None)` where `float()` fails.
    #[inline(never)]
    fn number(&self, key: &str) -> Option<Option<Float>> {
        self.string(key).map(|s| py_float(&s))
    }

    /// `safe_number`, any failure as `None`.
    fn number_or_none(&self, key: &str) -> Option<Float> {
        self.number(key).flatten()
    }

    /// `safe_integer`: `int(float(value))`.
    #[inline(never)]
    fn integer(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            V::Bool(b) => Some(i64::from(*b)),
            V::Num(n) => decimal(n)?.trunc(),
            V::Str(s) => py_float(s)?.trunc(),
            _ => None,
        }
    }
}

/// Python's `str()` of the value `json.loads` makes of a number: an int's digits, or a
/// float's repr.
#[inline(never)]
fn py_str_number(n: &str) -> Option<String> {
    if n.bytes().any(|c| matches!(c, b'.' | b'e' | b'E')) {
        return Some(decimal(n)?.repr().unwrap_or_else(|| "inf".into()));
    }
    py_int_text(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(raw: &str) -> serde_json::Value {
        let list = CcxtList::build(Market::Spot, "u", "t", &[raw.as_bytes()]);
        let v: serde_json::Value = serde_json::from_slice(list.as_bytes()).unwrap();
        v["markets"][0].clone()
    }

    #[test]
    fn python_float_repr() {
        // (text, Python's repr(float(text)))
        for (text, want) in [
            ("0.01000000", "0.01"),
            ("0.00000001", "1e-08"),
            ("1e-8", "1e-08"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("9000000000.00000000", "9000000000.0"),
            ("1e16", "1e+16"),
            ("1000000000000000", "1000000000000000.0"),
            ("0.00000000", "0.0"),
            ("-0", "-0.0"),
            ("5598.55135291", "5598.55135291"),
            ("1.5E-7", "1.5e-07"),
            (".5", "0.5"),
            ("5.", "5.0"),
            ("0.30000000000000000001", "0.3"),
            ("92141578.000000001", "92141578.0"),
            ("123456789012345678901", "1.2345678901234568e+20"),
            ("489758865.20833333", "489758865.2083333"),
            ("3283662578.74558500", "3283662578.745585"),
            ("3074041618.97062500", "3074041618.970625"),
            ("2.2250738585072014e-308", "2.2250738585072014e-308"),
            ("4.9e-324", "5e-324"),
            ("0.1000000000000000055511151231257827", "0.1"),
            ("-2.5", "-2.5"),
            ("1e400", "inf"),
            ("1e-400", "0.0"),
        ] {
            let got = py_float(text)
                .and_then(|f| f.repr())
                .unwrap_or_else(|| "inf".into());
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn long_decimals_round_as_python_does() {
        // Generated with Python 3: repr(float(text)), ties to even included.
        for (text, want) in [
            ("9007199254740993", "9007199254740992.0"),
            ("9007199254740995", "9007199254740996.0"),
            (
                "1.00000000000000011102230246251565404236316680908203125",
                "1.0",
            ),
            (
                "1.00000000000000011102230246251565404236316680908203124",
                "1.0",
            ),
            (
                "1.00000000000000011102230246251565404236316680908203126",
                "1.0000000000000002",
            ),
            ("8.74637064330445294e-29", "8.746370643304453e-29"),
            ("5.0290779434546157e-3", "0.0050290779434546155"),
            ("3.9490410853724457712e14", "394904108537244.56"),
            ("1.770717917023650806e8", "177071791.70236507"),
            ("8.81351181306010624e-15", "8.813511813060106e-15"),
            ("1.3831124660677740e-27", "1.383112466067774e-27"),
            ("4.648613161417626e-15", "4.648613161417626e-15"),
            ("3.6683625726360749e-12", "3.668362572636075e-12"),
            ("2.473873978278115e-27", "2.473873978278115e-27"),
            ("2.708582156461337300e-16", "2.7085821564613373e-16"),
            ("7.99304060283388480e9", "7993040602.833885"),
            ("9.3797527213015412029e14", "937975272130154.1"),
            ("2.35396121710922236051e13", "23539612171092.223"),
            ("7.419693575605313660e7", "74196935.75605313"),
            ("7.8508650263526060e25", "7.850865026352607e+25"),
            ("8.020239499600188025e8", "802023949.9600188"),
            ("2.9847296499681290444e11", "298472964996.8129"),
            ("8.51464970115647434070e16", "8.514649701156474e+16"),
            ("2.6293569140525694e-7", "2.629356914052569e-07"),
            ("3.3808140081431177e-8", "3.380814008143118e-08"),
            ("1.146156976393423e12", "1146156976393.423"),
            ("3.6512032614465563e-9", "3.651203261446556e-09"),
            ("8.0805078686918238e-15", "8.080507868691824e-15"),
            ("3.024357072357655e-15", "3.024357072357655e-15"),
            ("7.06036203992091839e-15", "7.060362039920918e-15"),
            ("5.070545533084245513e-25", "5.0705455330842455e-25"),
            ("1.434682480560351555e-3", "0.0014346824805603516"),
            ("5.3913991926828923923e14", "539139919268289.25"),
            ("8.83326940135843091011e-20", "8.833269401358431e-20"),
            ("1.6654382255969683e4", "16654.382255969682"),
            ("7.25166752636969236e5", "725166.7526369692"),
            ("7.861089375571982e-12", "7.861089375571981e-12"),
            ("2.955984903614638e-10", "2.955984903614638e-10"),
            ("7.738545857813503e-25", "7.738545857813503e-25"),
            ("8.4852591659722158649e-18", "8.485259165972215e-18"),
            ("6.494258442666049e-11", "6.494258442666049e-11"),
            ("8.57485594072785630e-26", "8.574855940727856e-26"),
            ("8.04077563946564543e-26", "8.040775639465645e-26"),
            ("6.4218064755336264e15", "6421806475533626.0"),
            ("5.737904837086091e2", "573.7904837086091"),
        ] {
            let got = py_float(text).and_then(|f| f.repr());
            assert_eq!(got.as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn python_number_parsing() {
        let repr = |s: &str| py_float(s).and_then(|f| f.repr());
        assert_eq!(repr(" 1_000.5 ").as_deref(), Some("1000.5"));
        assert_eq!(py_float("1__0"), None);
        assert_eq!(py_float(""), None);
        assert_eq!(py_float("abc"), None);
        assert_eq!(py_float("."), None);
        assert_eq!(py_float("1e"), None);
        assert_eq!(py_float("--1"), None);
        assert_eq!(py_float("-Infinity"), Some(Float::NonFinite));
        assert_eq!(py_float("1.9").and_then(|f| f.trunc()), Some(1));
        assert_eq!(py_float("-1.9").and_then(|f| f.trunc()), Some(-1));
        assert_eq!(
            py_float("1569398400000").and_then(|f| f.trunc()),
            Some(1_569_398_400_000)
        );
        assert_eq!(py_int_text("+0008"), Some("8".into()));
        assert_eq!(py_int_text("8.0"), None, "int('8.0') raises");
        let p = |s: &str| precision(Some(s.into())).map(|f| f.and_then(|f| f.repr()));
        assert_eq!(p("8"), Some(Some("1e-08".into())));
        assert_eq!(p("0"), Some(Some("1.0".into())));
        assert_eq!(p("-2"), Some(Some("100.0".into())));
        assert_eq!(p("x"), None);
        assert_eq!(precision(None), Some(None));
    }

    #[test]
    fn dates_as_ccxt_writes_them() {
        assert_eq!(
            iso8601(1_766_736_000_000).as_deref(),
            Some("2025-12-26T08:00:00.000Z")
        );
        assert_eq!(iso8601(-1), None);
        assert_eq!(yymmdd(1_766_736_000_000).as_deref(), Some("251226"));
        // round() of 0.5 s goes to the even second: no date change at a day's end.
        assert_eq!(yymmdd(86_399_500).as_deref(), Some("700102"));
        assert_eq!(yymmdd(86_398_500).as_deref(), Some("700101"));
    }

    #[test]
    fn a_spot_market() {
        let raw = r#"{"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","baseAssetPrecision":8,"quoteAsset":"BTC","quotePrecision":8,"isMarginTradingAllowed":true,"permissions":["SPOT","MARGIN"],"filters":[{"filterType":"PRICE_FILTER","minPrice":"0.00001000","maxPrice":"922327.00000000","tickSize":"0.00001000"},{"filterType":"LOT_SIZE","minQty":"0.00010000","maxQty":"100000.00000000","stepSize":"0.00010000"},{"filterType":"NOTIONAL","minNotional":"0.00010000","applyMinToMarket":true,"maxNotional":"9000000.00000000"}]}"#;
        let m = one(raw);
        assert_eq!(m["symbol"], "ETH/BTC");
        assert_eq!(m["type"], "spot");
        assert_eq!(m["margin"], true);
        assert_eq!(m["index"], false);
        assert_eq!(m["precision"]["price"], 1e-5);
        assert_eq!(m["precision"]["base"], 1e-8);
        assert_eq!(m["limits"]["cost"]["max"], 9e6);
        assert!(m["limits"].get("market").is_none());
        assert_eq!(
            m["marginModes"],
            serde_json::json!({"cross": false, "isolated": false})
        );
        assert_eq!(
            m["info"],
            serde_json::from_str::<serde_json::Value>(raw).unwrap()
        );
        // Python's spelling of the floats, not serde's.
        let list = CcxtList::build(Market::Spot, "u", "t", &[raw.as_bytes()]);
        let text = String::from_utf8(list.as_bytes().to_vec()).unwrap();
        assert!(text.contains("\"price\":1e-05,"), "{text}");
        assert!(text.contains("\"max\":100000.0}"), "{text}");
    }

    #[test]
    fn futures_markets_swap_and_delivery() {
        let perp = r#"{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL","deliveryDate":4133404800000,"onboardDate":1569398400000,"status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","marginAsset":"USDT","pricePrecision":2,"quantityPrecision":3,"baseAssetPrecision":8,"quotePrecision":8,"filters":[{"filterType":"MIN_NOTIONAL","notional":"100"}]}"#;
        let m = one(perp);
        assert_eq!(m["symbol"], "BTC/USDT:USDT");
        assert_eq!(m["type"], "swap");
        assert_eq!(m["expiry"], serde_json::Value::Null);
        assert_eq!(m["created"], 1_569_398_400_000_i64);
        assert_eq!(m["precision"]["amount"], 0.001);
        assert_eq!(m["precision"]["price"], 0.01);
        assert_eq!(m["limits"]["cost"]["min"], 100.0);
        assert_eq!(m["index"], serde_json::Value::Null);
        assert_eq!(m["taker"], 0.0005);
        let dated = perp
            .replace("PERPETUAL", "CURRENT_QUARTER")
            .replace("4133404800000", "1766736000000");
        let m = one(&dated);
        assert_eq!(m["symbol"], "BTC/USDT:USDT-251226");
        assert_eq!(m["type"], "future");
        assert_eq!(m["expiryDatetime"], "2025-12-26T08:00:00.000Z");
        // A settling contract: no contract type, a real delivery date.
        let settling = dated.replace("CURRENT_QUARTER", "");
        assert_eq!(one(&settling)["future"], true);
    }

    #[test]
    fn what_ccxt_leaves_out_is_left_out() {
        let no_quote = r#"{"symbol":"X","baseAsset":"X","filters":[]}"#;
        let ok = r#"{"symbol":"BTCUSDT","baseAsset":"XBT","quoteAsset":"USDT","filters":[],"permissions":["TRD_GRP_003"],"status":"TRADING"}"#;
        let list = CcxtList::build(
            Market::Spot,
            "u",
            "t",
            &[no_quote.as_bytes(), ok.as_bytes()],
        );
        assert_eq!(list.header().count, 1);
        let v: serde_json::Value = serde_json::from_slice(list.as_bytes()).unwrap();
        assert_eq!(v["markets"][0]["base"], "BTC", "commonCurrencies");
        assert_eq!(v["markets"][0]["baseId"], "XBT");
        assert_eq!(v["markets"][0]["active"], false, "TRD_GRP_003");
        let found = list.find("btcusdt").unwrap();
        let one: serde_json::Value = serde_json::from_slice(found).unwrap();
        assert_eq!(one["id"], "BTCUSDT");
        assert!(list.find("ETHUSDT").is_none());
    }

    #[test]
    fn stored_bytes_round_trip_and_garbage_is_refused() {
        let raw = r#"{"symbol":"币安人生USDT","status":"TRADING","baseAsset":"币安人生","quoteAsset":"USDT","filters":[]}"#;
        let list = CcxtList::build(
            Market::Futures,
            "https://x",
            "2025-01-01T00:00:00Z",
            &[raw.as_bytes()],
        );
        let back = CcxtList::from_bytes(Market::Futures, list.as_bytes().to_vec()).unwrap();
        assert_eq!(back, list);
        assert!(CcxtList::from_bytes(Market::Spot, list.as_bytes().to_vec()).is_none());
        let mut cut = list.as_bytes().to_vec();
        cut.truncate(cut.len() - 3);
        assert!(CcxtList::from_bytes(Market::Futures, cut).is_none());
        assert_eq!(
            list.etag(),
            format!("\"futures-ccxt-{}\"", list.header().version)
        );
        let body = list.response_body(Source::OriginalLastGood);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["onlyQuoteAsset"], "USDT");
        assert_eq!(v["markets"][0]["lowercaseId"], "币安人生usdt");
        let later = list.clone().with_fetched_at("2026-01-01T00:00:00Z");
        assert_eq!(later.header().fetched_at, "2026-01-01T00:00:00Z");
        assert_eq!(
            CcxtList::from_bytes(Market::Futures, later.as_bytes().to_vec())
                .unwrap()
                .header()
                .fetched_at,
            "2026-01-01T00:00:00Z"
        );
        let orig =
            CcxtList::from_original(Market::Futures, format!("[{raw}]").as_bytes(), "t").unwrap();
        assert_eq!(orig.header().upstream, crate::original::UPSTREAM);
        assert_eq!(orig.header().count, 1);
    }
}
