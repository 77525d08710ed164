//! The two markets we serve, and everything that differs between them.

use std::fmt;
use std::str::FromStr;

/// A Binance market whose symbol list we serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Market {
    /// Spot (`/api/v3/exchangeInfo`).
    Spot,
    /// USD-M futures (`/fapi/v1/exchangeInfo`).
    Futures,
}

impl Market {
    /// Both markets, in the order warmup refreshes them.
    pub const ALL: [Market; 2] = [Market::Spot, Market::Futures];

    /// This market's position in [`Market::ALL`], for per-market arrays.
    pub fn index(self) -> usize {
        match self {
            Market::Spot => 0,
            Market::Futures => 1,
        }
    }

    /// `spot` or `futures`: the name used in routes, keys and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Market::Spot => "spot",
            Market::Futures => "futures",
        }
    }

    /// The exchangeInfo path on a base URL of this market.
    ///
    /// The whole payload, `permissionSets` included: the original system's list keeps
    /// every field of each symbol as exchangeInfo returns it, and bots read them.
    pub fn exchange_info_path(self) -> &'static str {
        match self {
            Market::Spot => "/api/v3/exchangeInfo",
            Market::Futures => "/fapi/v1/exchangeInfo",
        }
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not `spot` or `futures`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown market {0:?} (expected \"spot\" or \"futures\")")]
pub struct UnknownMarket(pub String);

impl FromStr for Market {
    type Err = UnknownMarket;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "spot" => Ok(Market::Spot),
            "futures" => Ok(Market::Futures),
            other => Err(UnknownMarket(other.chars().take(32).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Market;

    #[test]
    fn index_is_the_position_in_all() {
        for (i, m) in Market::ALL.iter().enumerate() {
            assert_eq!(m.index(), i, "{m}");
        }
    }
}
