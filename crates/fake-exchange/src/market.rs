//! [`Market`]: which Binance API a request or a fault script is about.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Binance market served by the fake exchange. Serialised as `"spot"` / `"futures"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Market {
    /// Spot: `GET /api/v3/exchangeInfo` (request weight 20).
    Spot,
    /// USDⓈ-M futures: `GET /fapi/v1/exchangeInfo` (request weight 1).
    Futures,
}

impl Market {
    /// Both markets, spot first.
    pub const ALL: [Market; 2] = [Market::Spot, Market::Futures];

    /// The exchangeInfo path on Binance (and on this server).
    pub const fn path(self) -> &'static str {
        match self {
            Market::Spot => "/api/v3/exchangeInfo",
            Market::Futures => "/fapi/v1/exchangeInfo",
        }
    }

    /// Request weight Binance charges for one exchangeInfo call.
    pub const fn weight(self) -> u64 {
        match self {
            Market::Spot => 20,
            Market::Futures => 1,
        }
    }

    /// `"spot"` or `"futures"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Market::Spot => "spot",
            Market::Futures => "futures",
        }
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Market`] from anything but `spot` / `futures`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown market {0:?} (expected \"spot\" or \"futures\")")]
pub struct UnknownMarket(pub String);

impl FromStr for Market {
    type Err = UnknownMarket;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "spot" => Ok(Market::Spot),
            "futures" => Ok(Market::Futures),
            _ => Err(UnknownMarket(s.to_string())),
        }
    }
}
