//! The records the scanner keeps: the `symbols` array, each symbol's fields and its
//! filters, handed to the projection ([`super::super::project`]).

use std::ops::Range;

use super::{filter_at, once, owned, symbol_at, Bail, Scanner, Str, R};
use crate::exchange_info::project::{self, FilterType, FilterValues, Kept};
use crate::json::bytes::code;
use crate::json::bytes::Code;
use crate::market::Market;
use crate::symbols::Symbol;

// Keys of the top-level object, of a symbol and of a filter; filter types.
pub(super) const K_SYMBOLS: Code = code(b"symbols");
const K_SYMBOL: Code = code(b"symbol");
const K_STATUS: Code = code(b"status");
const K_BASE_ASSET: Code = code(b"baseAsset");
const K_QUOTE_ASSET: Code = code(b"quoteAsset");
const K_FILTERS: Code = code(b"filters");
const K_CONTRACT_TYPE: Code = code(b"contractType");
const K_MARGIN_ASSET: Code = code(b"marginAsset");
const K_DELIVERY_DATE: Code = code(b"deliveryDate");
const K_ONBOARD_DATE: Code = code(b"onboardDate");
const K_FILTER_TYPE: Code = code(b"filterType");
const K_TICK_SIZE: Code = code(b"tickSize");
const K_STEP_SIZE: Code = code(b"stepSize");
const K_MIN_QTY: Code = code(b"minQty");
const K_MAX_QTY: Code = code(b"maxQty");
const K_MIN_NOTIONAL: Code = code(b"minNotional");
const K_NOTIONAL: Code = code(b"notional");
const T_PRICE_FILTER: Code = code(b"PRICE_FILTER");
const T_LOT_SIZE: Code = code(b"LOT_SIZE");
const T_NOTIONAL: Code = code(b"NOTIONAL");
const T_MIN_NOTIONAL: Code = code(b"MIN_NOTIONAL");

impl<'a> Scanner<'a> {
    /// The `filters` array of one symbol, applied to `kept` in order.
    ///
    /// Each filter is parsed by the out-of-line [`filter_at`], called from two sites
    /// (the first filter, then each after a comma): wasm-opt inlines any function
    /// with a single caller, and inlined here the filter code made `symbol_at` one
    /// huge function. V8 compiles a huge function late (hundreds of ms in the
    /// background, the first calls run in Liftoff) and, in V8 11, poorly: a small
    /// function called ten times per symbol tiers up at once and compiles well.
    #[inline(always)]
    pub(super) fn filters(&mut self, market: Market, kept: &mut Kept<Str<'a>>) -> R<()> {
        self.eat(b'[')?;
        if self.empty(b']') {
            return Ok(());
        }
        self.resume(filter_at(self.b, self.i, market, kept))?;
        while self.next_or_close(b']')? {
            self.resume(filter_at(self.b, self.i, market, kept))?;
        }
        Ok(())
    }

    /// One filter object, then the projection's rule for its type.
    #[inline(always)]
    pub(super) fn filter(&mut self, market: Market, kept: &mut Kept<Str<'a>>) -> R<()> {
        self.eat(b'{')?;
        let mut filter_type = None;
        let (mut tick_size, mut step_size, mut min_qty, mut max_qty) = (None, None, None, None);
        let (mut min_notional, mut notional) = (None, None);
        if !self.empty(b'}') {
            loop {
                match self.key()? {
                    K_FILTER_TYPE => once(&mut filter_type, self.kept_code()?)?,
                    K_TICK_SIZE => once(&mut tick_size, self.opt_string()?)?,
                    K_STEP_SIZE => once(&mut step_size, self.opt_string()?)?,
                    K_MIN_QTY => once(&mut min_qty, self.opt_string()?)?,
                    K_MAX_QTY => once(&mut max_qty, self.opt_string()?)?,
                    K_MIN_NOTIONAL => once(&mut min_notional, self.opt_string()?)?,
                    K_NOTIONAL => once(&mut notional, self.opt_string()?)?,
                    _ => self.skip_value()?,
                }
                if !self.next_or_close(b'}')? {
                    break;
                }
            }
        }
        let kind = match filter_type.ok_or(Bail)? {
            T_PRICE_FILTER => FilterType::Price,
            T_LOT_SIZE => FilterType::LotSize,
            T_NOTIONAL => FilterType::Notional,
            T_MIN_NOTIONAL => FilterType::MinNotional,
            _ => FilterType::Other,
        };
        kept.apply(
            market,
            kind,
            FilterValues {
                tick_size: tick_size.flatten(),
                step_size: step_size.flatten(),
                min_qty: min_qty.flatten(),
                max_qty: max_qty.flatten(),
                min_notional: min_notional.flatten(),
                notional: notional.flatten(),
            },
        );
        Ok(())
    }

    /// One symbol object, projected.
    #[inline(always)]
    pub(super) fn symbol(&mut self, market: Market) -> R<Symbol> {
        // serde_json also accepts a struct written as an array: left to it.
        self.eat(b'{')?;
        let mut symbol = None;
        let (mut status, mut base_asset, mut quote_asset) = (None, None, None);
        let (mut contract_type, mut margin_asset) = (None, None);
        let (mut delivery_date, mut onboard_date) = (None, None);
        let mut filters_seen = false;
        let mut kept = Kept::default();
        if !self.empty(b'}') {
            loop {
                match self.key()? {
                    K_SYMBOL => once(&mut symbol, self.kept_string()?)?,
                    K_STATUS => once(&mut status, self.opt_string()?)?,
                    K_BASE_ASSET => once(&mut base_asset, self.opt_string()?)?,
                    K_QUOTE_ASSET => once(&mut quote_asset, self.opt_string()?)?,
                    K_FILTERS => {
                        if filters_seen {
                            return Err(Bail);
                        }
                        filters_seen = true;
                        self.filters(market, &mut kept)?;
                    }
                    K_CONTRACT_TYPE => once(&mut contract_type, self.opt_string()?)?,
                    K_MARGIN_ASSET => once(&mut margin_asset, self.opt_string()?)?,
                    K_DELIVERY_DATE => once(&mut delivery_date, self.opt_i64()?)?,
                    K_ONBOARD_DATE => once(&mut onboard_date, self.opt_i64()?)?,
                    _ => self.skip_value()?,
                }
                if !self.next_or_close(b'}')? {
                    break;
                }
            }
        }
        let symbol = symbol.ok_or(Bail)?;
        Ok(project::symbol(
            market,
            project::Fields {
                symbol: symbol.to_owned_string(),
                status: owned(status.flatten()),
                base_asset: owned(base_asset.flatten()),
                quote_asset: owned(quote_asset.flatten()),
                contract_type: owned(contract_type.flatten()),
                margin_asset: owned(margin_asset.flatten()),
                delivery_date: delivery_date.flatten(),
                onboard_date: onboard_date.flatten(),
            },
            kept.map(Str::to_owned_string),
        ))
    }

    /// The `symbols` array.
    /// The symbols array, each symbol projected, with the byte span of its object.
    pub(super) fn symbols(&mut self, market: Market) -> R<(Vec<Symbol>, Vec<Range<usize>>)> {
        self.eat(b'[')?;
        // One reservation, as a rule never a second: growing holds the old and the
        // doubled buffer at once (for futures that alone was a tenth of the payload in
        // peak memory). A symbol takes 1.6-1.8 KB of a spot payload and 1.2 KB of a
        // futures one; the slots to spare (a symbol is ~170 bytes) cost far less.
        let per_symbol = match market {
            Market::Spot => 1536,
            Market::Futures => 1024,
        };
        let reserve = (self.b.len() / per_symbol).min(8192);
        let mut out = Vec::with_capacity(reserve);
        let mut spans = Vec::with_capacity(reserve);
        if self.empty(b']') {
            return Ok((out, spans));
        }
        loop {
            let start = self.i;
            self.resume(symbol_at(self.b, self.i, market, &mut out))?;
            spans.push(start..self.i);
            if !self.next_or_close(b']')? {
                return Ok((out, spans));
            }
        }
    }
}
