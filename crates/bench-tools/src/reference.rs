//! A straightforward `serde_json::Value` implementation of exchangeInfo processing: parse
//! the whole document into a DOM, walk it, project. Slow and memory-hungry on purpose
//! (it is the obvious code), used only as the yardstick for equivalence tests.
//!
//! It agrees with `exchange_info::parse` on every well-formed exchangeInfo payload. It is
//! not an oracle for malformed shapes (e.g. a DOM keeps the last of duplicate keys, where
//! the typed parser refuses them).

use serde_json::Value;
use symbols_core::symbols::Symbol;
use symbols_core::Market;

fn opt_str(v: Option<&Value>) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("expected a string, got {other}")),
    }
}

fn opt_i64(v: Option<&Value>) -> Result<Option<i64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("not an i64: {n}")),
        Some(other) => Err(format!("expected an integer, got {other}")),
    }
}

/// Parses and projects like `exchange_info::parse`, through a `serde_json::Value` DOM.
///
/// # Errors
/// A description of the first problem.
pub fn parse(market: Market, payload: &[u8]) -> Result<Vec<Symbol>, String> {
    let doc: Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let root = doc.as_object().ok_or("not an object")?;
    let symbols = root
        .get("symbols")
        .ok_or("no symbols")?
        .as_array()
        .ok_or("symbols is not an array")?;
    let mut out = Vec::with_capacity(symbols.len());
    for raw in symbols {
        let o = raw.as_object().ok_or("symbol is not an object")?;
        let symbol = match o.get("symbol") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err("symbol without a string `symbol`".into()),
        };
        let mut s = Symbol {
            symbol,
            status: opt_str(o.get("status"))?.unwrap_or_default(),
            base_asset: opt_str(o.get("baseAsset"))?.unwrap_or_default(),
            quote_asset: opt_str(o.get("quoteAsset"))?.unwrap_or_default(),
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
        let filters = match o.get("filters") {
            None => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err("filters is not an array".into()),
        };
        for f in &filters {
            let f = f.as_object().ok_or("filter is not an object")?;
            let kind = match f.get("filterType") {
                Some(Value::String(k)) => k.as_str(),
                _ => return Err("filter without a string filterType".into()),
            };
            let get = |k: &str| opt_str(f.get(k));
            match kind {
                "PRICE_FILTER" => s.tick_size = get("tickSize")?,
                "LOT_SIZE" => {
                    s.step_size = get("stepSize")?;
                    s.min_qty = get("minQty")?;
                    s.max_qty = get("maxQty")?;
                }
                "NOTIONAL" => s.min_notional = get("minNotional")?,
                "MIN_NOTIONAL" if s.min_notional.is_none() => {
                    s.min_notional = match market {
                        Market::Spot => get("minNotional")?,
                        Market::Futures => get("notional")?.or(get("minNotional")?),
                    }
                }
                _ => {}
            }
        }
        if market == Market::Futures {
            s.contract_type = Some(opt_str(o.get("contractType"))?.unwrap_or_default());
            s.margin_asset = opt_str(o.get("marginAsset"))?;
            s.delivery_date = opt_i64(o.get("deliveryDate"))?;
            s.onboard_date = opt_i64(o.get("onboardDate"))?;
        }
        out.push(s);
    }
    Ok(out)
}
