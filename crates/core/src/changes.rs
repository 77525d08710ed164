//! What changed between two validated lists: the pure diff behind the changes feed.
//!
//! [`diff`] compares the previous list with the new one symbol by symbol and yields
//! [`Change`]s: `listed`, `delisted`, `status` (from, to), `delisting_scheduled` (a
//! perpetual whose `deliveryDate` left Binance's far-future sentinel) and `rules` (one per
//! field that changed). The `rules` comparison is generic: it walks every field a
//! [`Symbol`] serialises (nested objects by dotted path), so a field added to `Symbol` is
//! compared without touching this module. Recording them is [`crate::feed`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::symbols::Symbol;

/// Binance's `deliveryDate` for a perpetual with no delivery scheduled: 2100-12-25
/// 00:00 UTC, in unix ms. Not exact: the recorded 2025-12 payload has 594 perpetuals on
/// it, one 2 s later and one 1 h later (`BTCUSDT` is 4133404802000), so a date counts as
/// the sentinel from [`FAR_FUTURE_MS`] on.
pub const PERPETUAL_SENTINEL_MS: i64 = 4_133_404_800_000;

/// 2100-01-01 00:00 UTC: a perpetual's `deliveryDate` at or after this means "none
/// scheduled"; one before it is a delisting date.
pub const FAR_FUTURE_MS: i64 = 4_102_444_800_000;

/// Fields that are not trading rules: the symbol's name, and the fields with their own
/// event (`status`, `deliveryDate`) or derived from those (`canTrade`, `delistAt`), which
/// would only repeat that event.
const NOT_RULES: &[&str] = &["symbol", "status", "deliveryDate", "canTrade", "delistAt"];

/// The kind of a change (the `type` of an event).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A symbol that was not in the previous list.
    Listed,
    /// A symbol that is no longer in the list.
    Delisted,
    /// `status` changed.
    Status,
    /// A trading rule (any other field) changed.
    Rules,
    /// A perpetual's `deliveryDate` moved off the far-future sentinel: a delisting date.
    DelistingScheduled,
}

impl Kind {
    /// Every kind, in a fixed order (metrics labels, docs).
    pub const ALL: [Kind; 5] = [
        Kind::Listed,
        Kind::Delisted,
        Kind::Status,
        Kind::Rules,
        Kind::DelistingScheduled,
    ];

    /// `listed`, `delisted`, `status`, `rules`, `delisting_scheduled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Listed => "listed",
            Kind::Delisted => "delisted",
            Kind::Status => "status",
            Kind::Rules => "rules",
            Kind::DelistingScheduled => "delisting_scheduled",
        }
    }
}

/// One difference between two lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// What kind of change.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The symbol it concerns.
    pub symbol: String,
    /// The field that changed (`rules`: a dotted path for nested values;
    /// `delisting_scheduled`: `deliveryDate`; `status`: `status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value before (`delisted`: the whole previous record; `null` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    /// The value now (`listed`: the whole new record; `null` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
}

impl Change {
    fn new(kind: Kind, symbol: &str) -> Self {
        Change {
            kind,
            symbol: symbol.to_string(),
            field: None,
            from: None,
            to: None,
        }
    }

    fn field(kind: Kind, symbol: &str, field: String, from: Value, to: Value) -> Self {
        Change {
            field: Some(field),
            from: Some(from),
            to: Some(to),
            ..Change::new(kind, symbol)
        }
    }
}

fn object(s: &Symbol) -> Map<String, Value> {
    match serde_json::to_value(s) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The changes from `previous` to `next`: per symbol of `next` in its order, then the
/// delisted ones in `previous`'s order. A field that no symbol of `previous` carries
/// at all is not compared: it is new in the document format (an upgrade), not a change
/// of every symbol. Duplicate names: the first occurrence counts.
pub fn diff(previous: &[Symbol], next: &[Symbol]) -> Vec<Change> {
    // B-trees filled by insertion, not hash maps or `collect` (which sorts first): the
    // same speed at these sizes, and less code in the wasm.
    let mut before: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut known: BTreeSet<String> = BTreeSet::new();
    for s in previous {
        if let std::collections::btree_map::Entry::Vacant(slot) = before.entry(s.symbol.as_str()) {
            let m = object(s);
            for k in m.keys() {
                if !known.contains(k) {
                    known.insert(k.clone());
                }
            }
            slot.insert(m);
        }
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for s in next {
        if !seen.insert(s.symbol.as_str()) {
            continue;
        }
        let now = object(s);
        let Some(was) = before.get(s.symbol.as_str()) else {
            out.push(Change {
                to: Some(Value::Object(now)),
                ..Change::new(Kind::Listed, &s.symbol)
            });
            continue;
        };
        compare(&s.symbol, was, &now, &known, &mut out);
    }
    let mut gone = BTreeSet::new();
    for s in previous {
        if !seen.contains(s.symbol.as_str()) && gone.insert(s.symbol.as_str()) {
            out.push(Change {
                from: Some(Value::Object(object(s))),
                ..Change::new(Kind::Delisted, &s.symbol)
            });
        }
    }
    out
}

/// One symbol present in both lists.
fn compare(
    symbol: &str,
    was: &Map<String, Value>,
    now: &Map<String, Value>,
    known: &BTreeSet<String>,
    out: &mut Vec<Change>,
) {
    let get = |m: &Map<String, Value>, k: &str| m.get(k).cloned().unwrap_or(Value::Null);
    let (status_was, status_now) = (get(was, "status"), get(now, "status"));
    if status_was != status_now {
        out.push(Change::field(
            Kind::Status,
            symbol,
            "status".into(),
            status_was,
            status_now,
        ));
    }
    let (date_was, date_now) = (get(was, "deliveryDate"), get(now, "deliveryDate"));
    if date_was != date_now {
        let perpetual = now.get("contractType").and_then(Value::as_str) == Some("PERPETUAL");
        let far = |v: &Value| v.as_i64().is_some_and(|d| d >= FAR_FUTURE_MS);
        let kind = if perpetual && far(&date_was) && !far(&date_now) {
            Kind::DelistingScheduled
        } else {
            Kind::Rules
        };
        out.push(Change::field(
            kind,
            symbol,
            "deliveryDate".into(),
            date_was,
            date_now,
        ));
    }
    // Every field either side carries, by name (serde_json's maps are ordered), then any
    // the new record dropped.
    let fields = now
        .keys()
        .chain(was.keys().filter(|k| !now.contains_key(*k)))
        .filter(|k| !NOT_RULES.contains(&k.as_str()) && known.contains(*k));
    for field in fields {
        rules(symbol, field, &get(was, field), &get(now, field), out);
    }
}

/// `rules` changes of one field; objects are walked by dotted path so a nested rule
/// (`filters.PERCENT_PRICE_BY_SIDE.bidMultiplierUp`) is named exactly.
fn rules(symbol: &str, path: &str, was: &Value, now: &Value, out: &mut Vec<Change>) {
    if was == now {
        return;
    }
    if let (Value::Object(a), Value::Object(b)) = (was, now) {
        let keys = b.keys().chain(a.keys().filter(|k| !b.contains_key(*k)));
        for k in keys {
            let (x, y) = (
                a.get(k).unwrap_or(&Value::Null),
                b.get(k).unwrap_or(&Value::Null),
            );
            rules(symbol, &format!("{path}.{k}"), x, y, out);
        }
        return;
    }
    out.push(Change::field(
        Kind::Rules,
        symbol,
        path.to_string(),
        was.clone(),
        now.clone(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spot(name: &str) -> Symbol {
        Symbol {
            symbol: name.into(),
            status: "TRADING".into(),
            base_asset: name.trim_end_matches("USDT").into(),
            quote_asset: "USDT".into(),
            tick_size: Some("0.01".into()),
            step_size: Some("0.001".into()),
            min_qty: Some("0.001".into()),
            max_qty: Some("1000".into()),
            min_notional: Some("5".into()),
            contract_type: None,
            margin_asset: None,
            delivery_date: None,
            onboard_date: None,
        }
    }

    fn perpetual(name: &str, delivery: i64) -> Symbol {
        Symbol {
            contract_type: Some("PERPETUAL".into()),
            margin_asset: Some("USDT".into()),
            delivery_date: Some(delivery),
            onboard_date: Some(1_569_398_400_000),
            ..spot(name)
        }
    }

    fn kinds(changes: &[Change]) -> Vec<(Kind, &str, Option<&str>)> {
        changes
            .iter()
            .map(|c| (c.kind, c.symbol.as_str(), c.field.as_deref()))
            .collect()
    }

    #[test]
    fn the_same_list_has_no_changes() {
        let list = vec![spot("BTCUSDT"), spot("ETHUSDT")];
        assert!(diff(&list, &list).is_empty());
        assert!(diff(&[], &[]).is_empty());
    }

    #[test]
    fn listed_and_delisted_carry_the_whole_record() {
        let before = vec![spot("BTCUSDT"), spot("OLDUSDT")];
        let after = vec![spot("NEWUSDT"), spot("BTCUSDT")];
        let changes = diff(&before, &after);
        assert_eq!(
            kinds(&changes),
            vec![
                (Kind::Listed, "NEWUSDT", None),
                (Kind::Delisted, "OLDUSDT", None)
            ]
        );
        assert_eq!(changes[0].to.as_ref().unwrap()["tickSize"], "0.01");
        assert!(changes[0].from.is_none());
        assert_eq!(changes[1].from.as_ref().unwrap()["symbol"], "OLDUSDT");
        let text = serde_json::to_value(&changes[0]).unwrap();
        assert_eq!(text["type"], "listed");
    }

    #[test]
    fn a_status_change_is_one_status_event() {
        let before = vec![spot("BTCUSDT")];
        let mut halted = spot("BTCUSDT");
        halted.status = "BREAK".into();
        let changes = diff(&before, &[halted]);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, Kind::Status);
        assert_eq!(changes[0].from, Some(json!("TRADING")));
        assert_eq!(changes[0].to, Some(json!("BREAK")));
    }

    #[test]
    fn every_rule_field_is_compared_and_named() {
        let before = vec![spot("BTCUSDT")];
        let mut after = spot("BTCUSDT");
        after.tick_size = Some("0.001".into());
        after.min_notional = None;
        after.max_qty = Some("900".into());
        let changes = diff(&before, &[after]);
        assert_eq!(
            kinds(&changes),
            // By field name: a stable order whatever the struct's.
            vec![
                (Kind::Rules, "BTCUSDT", Some("maxQty")),
                (Kind::Rules, "BTCUSDT", Some("minNotional")),
                (Kind::Rules, "BTCUSDT", Some("tickSize")),
            ]
        );
        assert_eq!(changes[2].from, Some(json!("0.01")));
        assert_eq!(changes[2].to, Some(json!("0.001")));
        assert_eq!(changes[1].to, Some(Value::Null), "a filter that went away");
    }

    #[test]
    fn a_perpetual_leaving_the_sentinel_is_a_delisting_date() {
        let before = vec![
            perpetual("BTCUSDT", PERPETUAL_SENTINEL_MS),
            perpetual("ETHUSDT", 1_767_225_600_000),
            // The sentinel is not exact in Binance's data (+2 s, +1 h seen).
            perpetual("SOLUSDT", PERPETUAL_SENTINEL_MS + 2_000),
            perpetual("XRPUSDT", PERPETUAL_SENTINEL_MS + 3_600_000),
        ];
        let after = vec![
            perpetual("BTCUSDT", 1_767_225_600_000),
            perpetual("ETHUSDT", 1_767_312_000_000),
            perpetual("SOLUSDT", 1_767_225_600_000),
            // Far future to far future: not a delisting.
            perpetual("XRPUSDT", PERPETUAL_SENTINEL_MS),
        ];
        let changes = diff(&before, &after);
        assert_eq!(
            kinds(&changes),
            vec![
                (Kind::DelistingScheduled, "BTCUSDT", Some("deliveryDate")),
                // Already off the sentinel: the date moved, a rule change.
                (Kind::Rules, "ETHUSDT", Some("deliveryDate")),
                (Kind::DelistingScheduled, "SOLUSDT", Some("deliveryDate")),
                (Kind::Rules, "XRPUSDT", Some("deliveryDate")),
            ]
        );
        assert_eq!(changes[0].from, Some(json!(PERPETUAL_SENTINEL_MS)));
        assert_eq!(changes[0].to, Some(json!(1_767_225_600_000_i64)));
        // A quarterly contract's date is not a delisting.
        let mut q = perpetual("BTCUSDT_260327", PERPETUAL_SENTINEL_MS);
        let mut q2 = q.clone();
        q.contract_type = Some("CURRENT_QUARTER".into());
        q2.contract_type = q.contract_type.clone();
        q2.delivery_date = Some(1_774_598_400_000);
        assert_eq!(diff(&[q], &[q2])[0].kind, Kind::Rules);
    }

    #[test]
    fn a_field_the_previous_document_never_carried_is_not_a_change() {
        // Spot records carry no futures fields; a futures-only field appearing in
        // every record (a newer document format) is not reported for each symbol...
        let before = vec![spot("BTCUSDT")];
        let mut after = spot("BTCUSDT");
        after.margin_asset = Some("USDT".into());
        assert!(diff(&before, &[after.clone()]).is_empty());
        // ...but one some records already carried is.
        let mut had = spot("ETHUSDT");
        had.margin_asset = Some("BNB".into());
        let changes = diff(&[spot("BTCUSDT"), had.clone()], &[after, had]);
        assert_eq!(
            kinds(&changes),
            vec![(Kind::Rules, "BTCUSDT", Some("marginAsset"))]
        );
        assert_eq!(changes[0].from, Some(Value::Null));
    }

    #[test]
    fn nested_rules_are_named_by_path() {
        let mut out = Vec::new();
        rules(
            "BTCUSDT",
            "filters",
            &json!({"PERCENT_PRICE_BY_SIDE": {"bidMultiplierUp": "5", "askMultiplierUp": "5"}}),
            &json!({"PERCENT_PRICE_BY_SIDE": {"bidMultiplierUp": "4", "askMultiplierUp": "5"}, "NEW": {"x": "1"}}),
            &mut out,
        );
        assert_eq!(
            kinds(&out),
            vec![
                (Kind::Rules, "BTCUSDT", Some("filters.NEW")),
                (
                    Kind::Rules,
                    "BTCUSDT",
                    Some("filters.PERCENT_PRICE_BY_SIDE.bidMultiplierUp")
                ),
            ]
        );
        assert_eq!(out[0].from, Some(Value::Null));
    }

    #[test]
    fn several_kinds_at_once_in_list_order() {
        let mut a = spot("AUSDT");
        let b = spot("BUSDT");
        let before = vec![a.clone(), b.clone(), spot("CUSDT")];
        a.status = "HALT".into();
        a.step_size = Some("0.01".into());
        let after = vec![spot("DUSDT"), a, b];
        assert_eq!(
            kinds(&diff(&before, &after)),
            vec![
                (Kind::Listed, "DUSDT", None),
                (Kind::Status, "AUSDT", Some("status")),
                (Kind::Rules, "AUSDT", Some("stepSize")),
                (Kind::Delisted, "CUSDT", None),
            ]
        );
    }

    #[test]
    fn kind_names() {
        let names: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "listed",
                "delisted",
                "status",
                "rules",
                "delisting_scheduled"
            ]
        );
        for k in Kind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
        }
    }
}
