//! The serde_json visitor: [`super::parse`]'s fallback on the shapes the scanner leaves
//! alone (so errors and their messages are serde_json's), and the reference the scanner is
//! tested and measured against. It projects each symbol as it streams past, so the raw
//! symbols never sit in memory all at once.

use std::borrow::Cow;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::project::{self, FilterType, FilterValues, Kept};
use super::ProcessError;
use crate::market::Market;
use crate::symbols::Symbol;

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

impl RawSymbol<'_> {
    fn project(self, market: Market) -> Symbol {
        let mut kept = Kept::default();
        for f in &self.filters {
            kept.apply(
                market,
                FilterType::from_name(&f.filter_type),
                FilterValues {
                    tick_size: f.tick_size.as_ref(),
                    step_size: f.step_size.as_ref(),
                    min_qty: f.min_qty.as_ref(),
                    max_qty: f.max_qty.as_ref(),
                    min_notional: f.min_notional.as_ref(),
                    notional: f.notional.as_ref(),
                },
            );
        }
        let own = |c: Option<Cow<'_, str>>| c.map(Cow::into_owned);
        project::symbol(
            market,
            project::Fields {
                symbol: self.symbol.into_owned(),
                status: own(self.status),
                base_asset: own(self.base_asset),
                quote_asset: own(self.quote_asset),
                contract_type: own(self.contract_type),
                margin_asset: own(self.margin_asset),
                delivery_date: self.delivery_date,
                onboard_date: self.onboard_date,
            },
            kept.map(|c| c.to_string()),
        )
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

/// The serde_json visitor implementation: [`parse`]'s fallback (the exact errors) and the
/// reference its scanner is tested and benchmarked against. Same contract as [`parse`].
///
/// # Errors
/// [`ProcessError::Parse`] for anything that is not exchangeInfo-shaped JSON.
#[inline(never)] // one copy for parse and parse_with_raw (the Worker's bundle)
pub(crate) fn parse_serde(market: Market, payload: &[u8]) -> Result<Vec<Symbol>, ProcessError> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    let symbols = de
        .deserialize_map(InfoVisitor(market))
        .map_err(|e| ProcessError::Parse(e.to_string()))?;
    de.end().map_err(|e| ProcessError::Parse(e.to_string()))?;
    Ok(symbols)
}
