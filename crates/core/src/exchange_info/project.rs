//! The projection: which of an exchangeInfo symbol's fields and filter values become a
//! [`Symbol`]'s. One set of rules for both readers, the scanner (whose values are spans of
//! the payload) and the serde_json visitor (borrowed strings): `T` is the reader's string.

use crate::market::Market;
use crate::symbols::Symbol;

/// The filter types the projection reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FilterType {
    /// `PRICE_FILTER`.
    Price,
    /// `LOT_SIZE`.
    LotSize,
    /// `NOTIONAL` (spot, since 2023).
    Notional,
    /// `MIN_NOTIONAL` (older spot; futures).
    MinNotional,
    /// Any other.
    Other,
}

impl FilterType {
    /// By its `filterType` value.
    pub(super) fn from_name(name: &str) -> Self {
        match name {
            "PRICE_FILTER" => FilterType::Price,
            "LOT_SIZE" => FilterType::LotSize,
            "NOTIONAL" => FilterType::Notional,
            "MIN_NOTIONAL" => FilterType::MinNotional,
            _ => FilterType::Other,
        }
    }
}

/// The values one filter object offers.
pub(super) struct FilterValues<T> {
    pub(super) tick_size: Option<T>,
    pub(super) step_size: Option<T>,
    pub(super) min_qty: Option<T>,
    pub(super) max_qty: Option<T>,
    pub(super) min_notional: Option<T>,
    /// Futures' `MIN_NOTIONAL` names its value `notional`.
    pub(super) notional: Option<T>,
}

/// What the projection keeps of the filters seen so far.
pub(super) struct Kept<T> {
    tick_size: Option<T>,
    step_size: Option<T>,
    min_qty: Option<T>,
    max_qty: Option<T>,
    min_notional: Option<T>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept {
            tick_size: None,
            step_size: None,
            min_qty: None,
            max_qty: None,
            min_notional: None,
        }
    }
}

impl<T> Kept<T> {
    /// Applies one filter, in payload order (a later filter of a type replaces an
    /// earlier one's values, as the list always did).
    #[inline(always)]
    pub(super) fn apply(&mut self, market: Market, kind: FilterType, f: FilterValues<T>) {
        match kind {
            FilterType::Price => self.tick_size = f.tick_size,
            FilterType::LotSize => {
                self.step_size = f.step_size;
                self.min_qty = f.min_qty;
                self.max_qty = f.max_qty;
            }
            // NOTIONAL replaced MIN_NOTIONAL on spot; prefer it when both appear.
            FilterType::Notional => self.min_notional = f.min_notional,
            FilterType::MinNotional if self.min_notional.is_none() => {
                self.min_notional = match market {
                    Market::Spot => f.min_notional,
                    Market::Futures => f.notional.or(f.min_notional),
                };
            }
            _ => {}
        }
    }

    /// The kept values as owned strings.
    #[inline(always)]
    pub(super) fn map(self, own: impl Fn(T) -> String) -> Kept<String> {
        Kept {
            tick_size: self.tick_size.map(&own),
            step_size: self.step_size.map(&own),
            min_qty: self.min_qty.map(&own),
            max_qty: self.max_qty.map(&own),
            min_notional: self.min_notional.map(&own),
        }
    }
}

/// A symbol's own fields as read (absent, or `null`: `None`).
pub(super) struct Fields {
    pub(super) symbol: String,
    pub(super) status: Option<String>,
    pub(super) base_asset: Option<String>,
    pub(super) quote_asset: Option<String>,
    pub(super) contract_type: Option<String>,
    pub(super) margin_asset: Option<String>,
    pub(super) delivery_date: Option<i64>,
    pub(super) onboard_date: Option<i64>,
}

/// The projected symbol: absent text is empty; the futures fields exist on futures only,
/// where `contractType` is always set (empty when absent).
#[inline(always)]
pub(super) fn symbol(market: Market, f: Fields, kept: Kept<String>) -> Symbol {
    let futures = market == Market::Futures;
    Symbol {
        symbol: f.symbol,
        status: f.status.unwrap_or_default(),
        base_asset: f.base_asset.unwrap_or_default(),
        quote_asset: f.quote_asset.unwrap_or_default(),
        tick_size: kept.tick_size,
        step_size: kept.step_size,
        min_qty: kept.min_qty,
        max_qty: kept.max_qty,
        min_notional: kept.min_notional,
        contract_type: futures.then(|| f.contract_type.unwrap_or_default()),
        margin_asset: f.margin_asset.filter(|_| futures),
        delivery_date: f.delivery_date.filter(|_| futures),
        onboard_date: f.onboard_date.filter(|_| futures),
    }
}
