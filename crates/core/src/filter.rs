//! The list route's filters (`?status=TRADING&quote=USDT&base=BTC`): what a request asks for.
//! [`crate::request`] parses them; [`crate::symbols`] and [`crate::symbols::lookup`] apply them. A leaf
//! module, so that routing and the stored document do not import each other: the test a
//! symbol passes, [`Filter::matches`], is defined beside [`Symbol`](crate::symbols::Symbol)
//! in `symbols.rs`.

/// Filters of the list route (`?status=TRADING&quote=USDT&base=BTC`), uppercased.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// `status`.
    pub status: Option<String>,
    /// `quote` (quote asset).
    pub quote: Option<String>,
    /// `base` (base asset).
    pub base: Option<String>,
}

impl Filter {
    /// No filter set: the stored document can be served as-is.
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.quote.is_none() && self.base.is_none()
    }
}
