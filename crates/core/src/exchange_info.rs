//! Parsing and projecting Binance exchangeInfo, and validating the result before any write.
//!
//! Deserialisation borrows from the payload and skips every field we do not keep, so a
//! 4 MB spot payload never becomes a DOM. Unknown fields and enum values are tolerated.

use std::borrow::Cow;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::market::Market;
use crate::symbols::Symbol;

/// Why a payload or a processed list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// Not JSON, truncated, or not the exchangeInfo shape.
    #[error("exchangeInfo did not parse: {0}")]
    Parse(String),
    /// `symbols` was empty.
    #[error("exchangeInfo has no symbols")]
    Empty,
    /// The new list lost too many of last_good's symbols.
    #[error("list shrank from {previous} to {new} symbols (more than {max_loss_pct}% lost)")]
    Shrunk {
        /// last_good's count.
        previous: usize,
        /// The new count.
        new: usize,
        /// The configured threshold, in percent.
        max_loss_pct: u32,
    },
}

#[derive(Deserialize)]
struct Filter<'a> {
    #[serde(rename = "filterType", borrow)]
    filter_type: Cow<'a, str>,
    #[serde(rename = "tickSize", borrow, default)]
    tick_size: Option<Cow<'a, str>>,
    #[serde(rename = "stepSize", borrow, default)]
    step_size: Option<Cow<'a, str>>,
    #[serde(rename = "minQty", borrow, default)]
    min_qty: Option<Cow<'a, str>>,
    #[serde(rename = "maxQty", borrow, default)]
    max_qty: Option<Cow<'a, str>>,
    #[serde(rename = "minNotional", borrow, default)]
    min_notional: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    notional: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawSymbol<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(rename = "baseAsset", borrow, default)]
    base_asset: Option<Cow<'a, str>>,
    #[serde(rename = "quoteAsset", borrow, default)]
    quote_asset: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    filters: Vec<Filter<'a>>,
    #[serde(rename = "contractType", borrow, default)]
    contract_type: Option<Cow<'a, str>>,
    #[serde(rename = "marginAsset", borrow, default)]
    margin_asset: Option<Cow<'a, str>>,
    #[serde(rename = "deliveryDate", default)]
    delivery_date: Option<i64>,
    #[serde(rename = "onboardDate", default)]
    onboard_date: Option<i64>,
}

fn own(c: &Option<Cow<'_, str>>) -> Option<String> {
    c.as_ref().map(|s| s.to_string())
}

impl RawSymbol<'_> {
    fn project(self, market: Market) -> Symbol {
        let mut s = Symbol {
            symbol: self.symbol.into_owned(),
            status: self.status.map(Cow::into_owned).unwrap_or_default(),
            base_asset: self.base_asset.map(Cow::into_owned).unwrap_or_default(),
            quote_asset: self.quote_asset.map(Cow::into_owned).unwrap_or_default(),
            tick_size: None,
            step_size: None,
            min_qty: None,
            max_qty: None,
            min_notional: None,
            contract_type: None,
            margin_asset: None,
            delivery_date: None,
            onboard_date: None,
        };
        for f in &self.filters {
            match f.filter_type.as_ref() {
                "PRICE_FILTER" => s.tick_size = own(&f.tick_size),
                "LOT_SIZE" => {
                    s.step_size = own(&f.step_size);
                    s.min_qty = own(&f.min_qty);
                    s.max_qty = own(&f.max_qty);
                }
                // NOTIONAL replaced MIN_NOTIONAL on spot; prefer it when both appear.
                "NOTIONAL" => s.min_notional = own(&f.min_notional),
                "MIN_NOTIONAL" if s.min_notional.is_none() => {
                    s.min_notional = match market {
                        Market::Spot => own(&f.min_notional),
                        Market::Futures => own(&f.notional).or_else(|| own(&f.min_notional)),
                    }
                }
                _ => {}
            }
        }
        if market == Market::Futures {
            s.contract_type = Some(self.contract_type.map(Cow::into_owned).unwrap_or_default());
            s.margin_asset = own(&self.margin_asset);
            s.delivery_date = self.delivery_date;
            s.onboard_date = self.onboard_date;
        }
        s
    }
}

/// Visits the top-level object, projecting each symbol as it streams past, so the raw
/// symbols never sit in memory all at once.
struct InfoVisitor(Market);

impl<'de> Visitor<'de> for InfoVisitor {
    type Value = Vec<Symbol>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an exchangeInfo object with a `symbols` array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Symbol>, A::Error> {
        let mut symbols = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "symbols" {
                symbols = Some(map.next_value_seed(SymbolsSeed(self.0))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        symbols.ok_or_else(|| de::Error::missing_field("symbols"))
    }
}

struct SymbolsSeed(Market);

impl<'de> de::DeserializeSeed<'de> for SymbolsSeed {
    type Value = Vec<Symbol>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Symbol>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SymbolsSeed {
    type Value = Vec<Symbol>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of symbols")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Symbol>, A::Error> {
        // Capped: a hostile size hint must not allocate unboundedly.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(8192));
        while let Some(raw) = seq.next_element::<RawSymbol<'de>>()? {
            out.push(raw.project(self.0));
        }
        Ok(out)
    }
}

/// Parses an exchangeInfo payload and projects every symbol (no validation beyond shape).
///
/// # Errors
/// [`ProcessError::Parse`] for anything that is not exchangeInfo-shaped JSON.
pub fn parse(market: Market, payload: &[u8]) -> Result<Vec<Symbol>, ProcessError> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    let symbols = de
        .deserialize_map(InfoVisitor(market))
        .map_err(|e| ProcessError::Parse(e.to_string()))?;
    de.end().map_err(|e| ProcessError::Parse(e.to_string()))?;
    Ok(symbols)
}

/// Validates a processed list before anything is written: not empty, and it keeps at
/// least `1 - max_loss` of last_good's count (`max_loss` in 0..=1).
///
/// # Errors
/// [`ProcessError::Empty`] or [`ProcessError::Shrunk`].
pub fn validate(new: usize, previous: Option<usize>, max_loss: f64) -> Result<(), ProcessError> {
    if new == 0 {
        return Err(ProcessError::Empty);
    }
    if let Some(previous) = previous {
        let min_keep = (previous as f64) * (1.0 - max_loss);
        if (new as f64) < min_keep {
            return Err(ProcessError::Shrunk {
                previous,
                new,
                max_loss_pct: (max_loss * 100.0).round() as u32,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPOT: &str = r#"{"timezone":"UTC","serverTime":1,"rateLimits":[],"exchangeFilters":[],"symbols":[
      {"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","baseAssetPrecision":8,"quoteAsset":"BTC","orderTypes":["LIMIT"],
       "permissions":[],"permissionSets":[["SPOT","MARGIN"]],"newField":{"x":[1,2]},
       "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.00001000","maxPrice":"922327.00000000","tickSize":"0.00001000"},
                  {"filterType":"LOT_SIZE","minQty":"0.00010000","maxQty":"100000.00000000","stepSize":"0.00010000"},
                  {"filterType":"NOTIONAL","minNotional":"0.00010000","applyMinToMarket":true},
                  {"filterType":"SOMETHING_NEW","x":"1"}]},
      {"symbol":"OLD\u0041BC","status":"WEIRD_NEW_STATUS","baseAsset":"OLD","quoteAsset":"ABC",
       "filters":[{"filterType":"MIN_NOTIONAL","minNotional":"10.00000000"}]}]}"#;

    const FUTURES: &str = r#"{"symbols":[{"symbol":"币安人生USDT","pair":"币安人生USDT","contractType":"PERPETUAL","deliveryDate":4133404800000,
      "onboardDate":1760000000000,"status":"TRADING","baseAsset":"币安人生","quoteAsset":"USDT","marginAsset":"USDT",
      "filters":[{"filterType":"PRICE_FILTER","tickSize":"0.0000100"},{"filterType":"LOT_SIZE","stepSize":"1","minQty":"1","maxQty":"100000000"},
      {"filterType":"MIN_NOTIONAL","notional":"5"}]},
      {"symbol":"X","contractType":"","status":"SETTLING","baseAsset":"X","quoteAsset":"USDT","filters":[]}]}"#;

    #[test]
    fn spot_projection_keeps_exact_strings() {
        let s = parse(Market::Spot, SPOT.as_bytes()).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].symbol, "ETHBTC");
        assert_eq!(s[0].tick_size.as_deref(), Some("0.00001000"));
        assert_eq!(s[0].step_size.as_deref(), Some("0.00010000"));
        assert_eq!(s[0].max_qty.as_deref(), Some("100000.00000000"));
        assert_eq!(s[0].min_notional.as_deref(), Some("0.00010000"));
        assert_eq!(s[0].contract_type, None);
        assert_eq!(s[1].symbol, "OLDABC", "escapes are decoded");
        assert_eq!(s[1].status, "WEIRD_NEW_STATUS");
        assert_eq!(s[1].min_notional.as_deref(), Some("10.00000000"));
    }

    #[test]
    fn futures_projection() {
        let s = parse(Market::Futures, FUTURES.as_bytes()).unwrap();
        assert_eq!(s[0].symbol, "币安人生USDT");
        assert_eq!(s[0].min_notional.as_deref(), Some("5"));
        assert_eq!(s[0].contract_type.as_deref(), Some("PERPETUAL"));
        assert_eq!(s[0].margin_asset.as_deref(), Some("USDT"));
        assert_eq!(s[0].delivery_date, Some(4_133_404_800_000));
        assert_eq!(s[1].contract_type.as_deref(), Some(""));
    }

    #[test]
    fn bad_payloads_are_parse_errors() {
        for bad in ["", "{", "[]", "{\"symbols\":{}}", "{\"x\":1}", "nul", "{\"symbols\":[]} trailing"] {
            assert!(matches!(parse(Market::Spot, bad.as_bytes()), Err(ProcessError::Parse(_))), "{bad}");
        }
        let truncated = &SPOT[..SPOT.len() / 2];
        assert!(parse(Market::Spot, truncated.as_bytes()).is_err());
        assert_eq!(parse(Market::Spot, b"{\"symbols\":[]}").unwrap().len(), 0);
    }

    #[test]
    fn validation_thresholds() {
        assert_eq!(validate(0, None, 0.5), Err(ProcessError::Empty));
        assert!(validate(1, None, 0.5).is_ok());
        assert!(validate(50, Some(100), 0.5).is_ok());
        assert!(matches!(validate(49, Some(100), 0.5), Err(ProcessError::Shrunk { .. })));
        assert!(validate(101, Some(100), 0.5).is_ok());
        assert!(validate(10, Some(100), 1.0).is_ok());
    }
}
