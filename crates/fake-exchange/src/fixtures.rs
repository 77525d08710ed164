//! The recorded exchangeInfo payloads, embedded gzipped and inflated once on first use.
//!
//! See `fixtures/README.md` for where each file comes from and the exact command that
//! derived it. The tests of this crate check the symbol counts below.

use std::io::Read;
use std::sync::OnceLock;

/// `GET /api/v3/exchangeInfo` captured 2023-09-08: the raw response bytes, gzip -9.
pub const SPOT_GZ: &[u8] = include_bytes!("../fixtures/spot.json.gz");
/// `GET /fapi/v1/exchangeInfo` captured 2025-12-24, minified (compact separators, UTF-8), gzip -9.
pub const FUTURES_GZ: &[u8] = include_bytes!("../fixtures/futures.json.gz");
/// `GET /api/v3/exchangeInfo` captured 2020-11-12 (older filter set: `MIN_NOTIONAL`,
/// `PERCENT_PRICE`), raw response bytes, gzip -9.
pub const SPOT_2020_GZ: &[u8] = include_bytes!("../fixtures/spot_2020.json.gz");

/// Number of symbols in [`spot`].
pub const SPOT_SYMBOLS: usize = 2292;
/// Number of symbols in [`futures`].
pub const FUTURES_SYMBOLS: usize = 660;
/// Number of symbols in [`spot_2020`].
pub const SPOT_2020_SYMBOLS: usize = 1160;

/// Inflates a gzip stream.
///
/// # Errors
/// The decoder's error when `gz` is not a valid gzip stream.
pub fn gunzip(gz: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(gz.len() * 12);
    flate2::read::GzDecoder::new(gz).read_to_end(&mut out)?;
    Ok(out)
}

fn inflate_once(cell: &'static OnceLock<Vec<u8>>, gz: &'static [u8], name: &str) -> &'static [u8] {
    cell.get_or_init(|| {
        // Embedded at compile time and checked by the tests: a failure here is a build defect.
        gunzip(gz).unwrap_or_else(|e| panic!("embedded fixture {name} is not valid gzip: {e}"))
    })
}

/// The 2023-09 spot payload (2,292 symbols, 3.73 MB), exactly as recorded.
pub fn spot() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    inflate_once(&CELL, SPOT_GZ, "spot.json.gz")
}

/// The 2025-12 futures payload (660 symbols, 0.80 MB minified; non-ASCII symbols as UTF-8).
pub fn futures() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    inflate_once(&CELL, FUTURES_GZ, "futures.json.gz")
}

/// The 2020-11 spot payload (1,160 symbols, `MIN_NOTIONAL` filters), exactly as recorded.
pub fn spot_2020() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    inflate_once(&CELL, SPOT_2020_GZ, "spot_2020.json.gz")
}
