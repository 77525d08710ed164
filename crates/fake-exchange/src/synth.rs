//! [`synth_spot_payload`]: a deterministic spot exchangeInfo in today's (2024-04+) shape,
//! about 6 MB for 3,500 symbols, for benchmarks.
//!
//! The per-symbol layout follows the recorded 2023-09 payload (same keys, same filter
//! objects in the same order, decimal strings with 8 places) with today's changes:
//! `permissions` is `[]` and the data lives in `permissionSets` (a list of lists, here one
//! set of `SPOT`, `MARGIN` and 4 to 12 `TRD_GRP_*` strings), the `otoAllowed` flag,
//! `STOP_LOSS` / `TAKE_PROFIT` order types and the `DECREMENT` self-trade-prevention mode.
//! (Binance's 2025 flags `amendAllowed` / `pegInstructionsAllowed` and longer permission
//! sets are left out so 3,500 symbols stay near the 6 MB the benchmarks are sized for.) Names, statuses and values come from a fixed
//! hash of the index: the same `symbols` always gives the same bytes.

use std::fmt::Write as _;

/// The symbol count of today's spot payload the benchmarks use (about 6 MB).
pub const SYNTH_SPOT_SYMBOLS: usize = 3500;

/// `serverTime` written into the synthetic payload (2025-12-24T08:00:00Z).
pub const SYNTH_SERVER_TIME: u64 = 1_766_563_200_000;

const HEADER: &str = r#"{"timezone":"UTC","serverTime":1766563200000,"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000},{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":100},{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":200000},{"rateLimitType":"RAW_REQUESTS","interval":"MINUTE","intervalNum":5,"limit":61000}],"exchangeFilters":[],"symbols":["#;

/// (quote asset, NOTIONAL.minNotional, share in percent).
const QUOTES: &[(&str, &str, u64)] = &[
    ("USDT", "5.00000000", 38),
    ("BTC", "0.00010000", 12),
    ("FDUSD", "5.00000000", 8),
    ("USDC", "5.00000000", 10),
    ("TRY", "10.00000000", 6),
    ("ETH", "0.00100000", 5),
    ("BNB", "0.01000000", 5),
    ("EUR", "5.00000000", 4),
    ("BRL", "10.00000000", 3),
    ("JPY", "1000.00000000", 2),
    ("MXN", "100.00000000", 1),
    ("PLN", "20.00000000", 1),
    ("ARS", "5000.00000000", 1),
    ("ZAR", "100.00000000", 1),
    ("COP", "20000.00000000", 1),
    ("CZK", "100.00000000", 1),
    ("RON", "20.00000000", 1),
];

const TICKS: &[&str] = &[
    "0.00000001",
    "0.00000010",
    "0.00000100",
    "0.00001000",
    "0.00010000",
    "0.00100000",
    "0.01000000",
    "0.10000000",
];
const MAX_PRICES: &[&str] = &[
    "1000.00000000",
    "10000.00000000",
    "100000.00000000",
    "922327.00000000",
    "1000000.00000000",
];
const STEPS: &[&str] = &[
    "0.00000100",
    "0.00001000",
    "0.00010000",
    "0.00100000",
    "0.01000000",
    "0.10000000",
    "1.00000000",
    "10.00000000",
];
const MAX_QTYS: &[&str] = &[
    "9000.00000000",
    "90000.00000000",
    "900000.00000000",
    "9000000.00000000",
    "92141578.00000000",
    "9222449.00000000",
];

/// SplitMix64: a fixed, well-mixed hash of the symbol index.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A unique base asset for index `i`: 4 letters (a bijection on 0..26^4), plus a number
/// beyond that.
fn base_asset(i: usize) -> String {
    const SPACE: u64 = 26 * 26 * 26 * 26;
    let i = i as u64;
    // 7919 is coprime with 26, so this permutes 0..SPACE.
    let mut n = (i % SPACE) * 7919 % SPACE;
    let mut letters = [b'A'; 4];
    for slot in letters.iter_mut().rev() {
        *slot = b'A' + (n % 26) as u8;
        n /= 26;
    }
    let mut name: String = letters.iter().map(|&b| b as char).collect();
    if i >= SPACE {
        let _ = write!(name, "{}", i / SPACE);
    }
    name
}

fn quote_for(h: u64) -> (&'static str, &'static str) {
    let total: u64 = QUOTES.iter().map(|q| q.2).sum();
    let mut pick = h % total;
    for &(quote, min_notional, share) in QUOTES {
        if pick < share {
            return (quote, min_notional);
        }
        pick -= share;
    }
    ("USDT", "5.00000000")
}

fn pick<'a>(list: &[&'a str], h: u64) -> &'a str {
    list[(h % list.len() as u64) as usize]
}

fn write_symbol(out: &mut String, i: usize) {
    let h = mix(i as u64);
    let h2 = mix(h);
    let h3 = mix(h2);
    let base = base_asset(i);
    let (quote, min_notional) = quote_for(h);
    let status = match (h >> 8) % 100 {
        0..=55 => "TRADING",
        56..=98 => "BREAK",
        _ => "HALT",
    };
    let margin = (h >> 16) % 3 != 0;
    let tick = pick(TICKS, h2);
    let max_price = pick(MAX_PRICES, h2 >> 8);
    let step = pick(STEPS, h2 >> 16);
    let max_qty = pick(MAX_QTYS, h2 >> 24);
    let market_max_int = (h3 % 900_000) + 1;
    let market_max_frac = (h3 >> 20) % 100_000_000;

    let _ = write!(
        out,
        concat!(
            r#"{{"symbol":"{base}{quote}","status":"{status}","baseAsset":"{base}","baseAssetPrecision":8,"#,
            r#""quoteAsset":"{quote}","quotePrecision":8,"quoteAssetPrecision":8,"baseCommissionPrecision":8,"#,
            r#""quoteCommissionPrecision":8,"orderTypes":["LIMIT","LIMIT_MAKER","MARKET","STOP_LOSS","#,
            r#""STOP_LOSS_LIMIT","TAKE_PROFIT","TAKE_PROFIT_LIMIT"],"icebergAllowed":true,"ocoAllowed":true,"#,
            r#""otoAllowed":true,"quoteOrderQtyMarketAllowed":true,"allowTrailingStop":true,"#,
            r#""cancelReplaceAllowed":true,"#,
            r#""isSpotTradingAllowed":true,"isMarginTradingAllowed":{margin},"filters":["#,
            r#"{{"filterType":"PRICE_FILTER","minPrice":"{tick}","maxPrice":"{max_price}","tickSize":"{tick}"}},"#,
            r#"{{"filterType":"LOT_SIZE","minQty":"{step}","maxQty":"{max_qty}","stepSize":"{step}"}},"#,
            r#"{{"filterType":"ICEBERG_PARTS","limit":50}},"#,
            r#"{{"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"{mi}.{mf:08}","stepSize":"0.00000000"}},"#,
            r#"{{"filterType":"TRAILING_DELTA","minTrailingAboveDelta":10,"maxTrailingAboveDelta":2000,"minTrailingBelowDelta":10,"maxTrailingBelowDelta":2000}},"#,
            r#"{{"filterType":"PERCENT_PRICE_BY_SIDE","bidMultiplierUp":"5","bidMultiplierDown":"0.2","askMultiplierUp":"5","askMultiplierDown":"0.2","avgPriceMins":5}},"#,
            r#"{{"filterType":"NOTIONAL","minNotional":"{min_notional}","applyMinToMarket":true,"maxNotional":"9000000.00000000","applyMaxToMarket":false,"avgPriceMins":5}},"#,
            r#"{{"filterType":"MAX_NUM_ORDERS","maxNumOrders":200}},"#,
            r#"{{"filterType":"MAX_NUM_ALGO_ORDERS","maxNumAlgoOrders":5}}"#,
            r#"],"permissions":[],"permissionSets":[["SPOT""#,
        ),
        base = base,
        quote = quote,
        status = status,
        margin = margin,
        tick = tick,
        max_price = max_price,
        step = step,
        max_qty = max_qty,
        mi = market_max_int,
        mf = market_max_frac,
        min_notional = min_notional,
    );
    if margin {
        out.push_str(r#","MARGIN""#);
    }
    // 4..=12 trading groups (8 on average, like the 2023-09 `permissions` lists): with
    // ~1.6 kB of fixed fields per symbol this keeps 3,500 symbols at about 6 MB.
    let groups = 4 + (h3 >> 48) % 9;
    for g in 0..groups {
        let _ = write!(out, r#","TRD_GRP_{:03}""#, 4 + g);
    }
    out.push_str(concat!(
        r#"]],"defaultSelfTradePreventionMode":"EXPIRE_MAKER","#,
        r#""allowedSelfTradePreventionModes":["NONE","EXPIRE_TAKER","EXPIRE_MAKER","EXPIRE_BOTH","DECREMENT"]}"#,
    ));
}

/// A spot exchangeInfo document with `symbols` symbols in today's shape (see the module
/// docs); [`SYNTH_SPOT_SYMBOLS`] gives about 6 MB. Deterministic.
pub fn synth_spot_payload(symbols: usize) -> Vec<u8> {
    let mut out = String::with_capacity(HEADER.len() + symbols * 1800 + 2);
    out.push_str(HEADER);
    for i in 0..symbols {
        if i > 0 {
            out.push(',');
        }
        write_symbol(&mut out, i);
    }
    out.push_str("]}");
    out.into_bytes()
}
