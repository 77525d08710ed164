//! The scanner against the serde_json visitor: fixtures, escapes, every truncation,
//! generated and mutated documents.

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
    for bad in [
        "",
        "{",
        "[]",
        "{\"symbols\":{}}",
        "{\"x\":1}",
        "nul",
        "{\"symbols\":[]} trailing",
    ] {
        assert!(
            matches!(
                parse(Market::Spot, bad.as_bytes()),
                Err(ProcessError::Parse(_))
            ),
            "{bad}"
        );
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
    assert!(matches!(
        validate(49, Some(100), 0.5),
        Err(ProcessError::Shrunk { .. })
    ));
    assert!(validate(101, Some(100), 0.5).is_ok());
    assert!(validate(10, Some(100), 1.0).is_ok());
}

// ---- The scanner against the serde_json visitor it replaced ----------------------
//
// `parse` must behave exactly like `parse_serde`: the same symbols on everything
// serde_json accepts, the same `ProcessError::Parse` message on everything it
// refuses. The scanner must also really run (not fall back) on ordinary payloads.

fn same(market: Market, payload: &[u8]) -> bool {
    let fast = parse(market, payload);
    let reference = parse_serde(market, payload);
    assert_eq!(
        fast,
        reference,
        "{market} payload: {}",
        String::from_utf8_lossy(payload)
    );
    parse_fast_path(market, payload).is_some()
}

fn same_both(payload: &[u8]) -> bool {
    let spot = same(Market::Spot, payload);
    let futures = same(Market::Futures, payload);
    assert_eq!(
        spot, futures,
        "the path taken does not depend on the market"
    );
    spot
}

#[test]
fn scanner_runs_on_ordinary_payloads() {
    for doc in [
        SPOT,
        FUTURES,
        "{\"symbols\":[]}",
        " {\"symbols\" : [ ] } \n",
    ] {
        assert!(same_both(doc.as_bytes()), "fell back on {doc}");
    }
    // Indented, like the real futures payload.
    let value: serde_json::Value = serde_json::from_str(FUTURES).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    assert!(same_both(pretty.as_bytes()));
    let tabs = pretty.replace("  ", "\t").replace('\n', "\r\n");
    assert!(same_both(tabs.as_bytes()));
}

#[test]
fn escapes_non_ascii_and_numbers() {
    let cases: &[(&str, bool)] = &[
        // (payload, the scanner handles it itself)
        (
            r#"{"symbols":[{"symbol":"A\u00e9\u20ac\ud83d\ude00\n\t\"\\\/\b\f\r","status":"\u0054RADING"}]}"#,
            true,
        ),
        (
            r#"{"symbols":[{"symbol":"币安人生USDT","baseAsset":"币安人生","x":"é\ud800","y":["\udc00"]}]}"#,
            true,
        ),
        (
            r#"{"symbols":[{"symbol":"A","filters":[{"filterType":"PRICE\u005fFILTER","tickSize":"0.1\u0030"}]}]}"#,
            true,
        ),
        (
            r#"{"symbols":[{"symbol":"A","filters":[{"filterType":"LOT_SIZE\u0000","stepSize":"1"}]}]}"#,
            true,
        ),
        (
            r#"{"symbols":[{"symbol":"A","filters":[{"filterType":"LOT_SIZE","stepSize":"1\u0000"}]}]}"#,
            true,
        ),
        (
            r#"{"symbols":[{"symbol":"A","n":[0,-0,1,-1,12.5,1e5,1E-7,-0.0e+10,1.5e300,123456789012345678901234567890]}]}"#,
            true,
        ),
        (
            r#"{"symbols":[{"symbol":"A","deliveryDate":0,"onboardDate":999999999999999999}]}"#,
            true,
        ),
        (
            r#"{"symbols":[{"symbol":"A","deliveryDate":null,"onboardDate":null,"status":null,"marginAsset":null}]}"#,
            true,
        ),
        (
            r#"{"symbols":[{"symbol":"A","deliveryDate":9223372036854775807}]}"#,
            false,
        ),
        (r#"{"symbols":[{"symbol":"A","deliveryDate":-5}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","deliveryDate":-0}]}"#, false),
        (
            r#"{"symbols":[{"symbol":"A","deliveryDate":9223372036854775808}]}"#,
            false,
        ),
        (r#"{"symbols":[{"symbol":"A","deliveryDate":1.0}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","deliveryDate":1e3}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","deliveryDate":"1"}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","deliveryDate":01}]}"#, false),
        // Lone surrogates: fine where skipped, refused where kept.
        (r#"{"symbols":[{"symbol":"A","x":"\ud800"}]}"#, true),
        (r#"{"symbols":[{"symbol":"\ud800"}]}"#, false),
        (r#"{"symbols":[{"symbol":"\udc00x"}]}"#, false),
        (r#"{"symbols":[{"symbol":"\ud800\u0041"}]}"#, false),
        (r#"{"symbols":[{"symbol":"\ud800\n"}]}"#, false),
        (r#"{"symbols":[{"symbol":"\u12"}]}"#, false),
        (r#"{"symbols":[{"symbol":"\x"}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":"\u12G4"}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":"\q"}]}"#, false),
        // Escaped keys are left to serde_json, which decodes them.
        (
            r#"{"symbols":[{"symb\u006fl":"A","st\u0061tus":"X"}]}"#,
            false,
        ),
        (r#"{"symb\u006fls":[{"symbol":"A"}]}"#, false),
        // Duplicates: serde_json refuses a repeated field, keeps the last `symbols`.
        (
            r#"{"symbols":[{"symbol":"A","status":"X","status":"Y"}]}"#,
            false,
        ),
        (
            r#"{"symbols":[{"symbol":"A","filters":[],"filters":[]}]}"#,
            false,
        ),
        (
            r#"{"symbols":[{"symbol":"A","filters":[{"filterType":"LOT_SIZE","minQty":"1","minQty":"2"}]}]}"#,
            false,
        ),
        (
            r#"{"symbols":[{"symbol":"A"}],"symbols":[{"symbol":"B"}]}"#,
            false,
        ),
        (r#"{"symbols":[{"symbol":"A","x":1,"x":2}]}"#, true),
        // Types.
        (r#"{"symbols":[{"symbol":"A","status":1}]}"#, false),
        (r#"{"symbols":[{"symbol":null}]}"#, false),
        (r#"{"symbols":[{"status":"TRADING"}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","filters":null}]}"#, false),
        (
            r#"{"symbols":[{"symbol":"A","filters":[{"tickSize":"1"}]}]}"#,
            false,
        ),
        (
            r#"{"symbols":[{"symbol":"A","filters":[{"filterType":null}]}]}"#,
            false,
        ),
        (
            r#"{"symbols":[{"symbol":"A","filters":[{"filterType":"LOT_SIZE","stepSize":1}]}]}"#,
            false,
        ),
        (
            r#"{"symbols":[{"symbol":"A","filters":[["PRICE_FILTER","1"]]}]}"#,
            false,
        ),
        (r#"{"symbols":[["A","TRADING"]]}"#, false),
        (r#"{"symbols":[1]}"#, false),
        (r#"{"symbols":null}"#, false),
        (r#"{"symbols":"x"}"#, false),
        // Structure and literals.
        (
            r#"{"symbols":[{"symbol":"A","x":[{"a":{"b":[[],{},[{}]]}}],"y":true,"z":false,"w":null}]}"#,
            true,
        ),
        (r#"{"symbols":[{"symbol":"A","x":tru}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":nul}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":[1,]}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":{"a":1,}}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":{"a"}}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":{1:2}}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":[1 2]}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":[}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":.5}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":1.}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":1e}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":+1}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":01}]}"#, false),
        (r#"{"symbols":[{"symbol":"A","x":-}]}"#, false),
        (r#"{"symbols":[{"symbol":"A"},]}"#, false),
        (r#"{"symbols":[{"symbol":"A",}]}"#, false),
        (r#"{"symbols":[],}"#, false),
        ("{\"symbols\":[{\"symbol\":\"A\tB\"}]}", false),
        ("{\"symbols\":[{\"symbol\":\"A\",\"x\":\"\u{1f}\"}]}", false),
        ("\u{feff}{\"symbols\":[]}", false),
        ("{\"symbols\":[]}\u{a0}", false),
        ("{\"symbols\":[]}\n\n", true),
        ("{\"symbols\":[]}\u{0}", false),
        ("{\u{b}\"symbols\":[]}", false),
    ];
    for (doc, handled) in cases {
        assert_eq!(same_both(doc.as_bytes()), *handled, "{doc}");
    }
    let s = parse(Market::Spot, cases[0].0.as_bytes()).unwrap();
    assert_eq!(s[0].symbol, "Aé€😀\n\t\"\\/\u{8}\u{c}\r");
    assert_eq!(s[0].status, "TRADING");
    let s = parse(Market::Spot, cases[2].0.as_bytes()).unwrap();
    assert_eq!(
        s[0].tick_size.as_deref(),
        Some("0.10"),
        "an escaped filter type still matches"
    );
}

#[test]
fn invalid_utf8_where_serde_json_checks_it() {
    let kept = b"{\"symbols\":[{\"symbol\":\"A\xff\"}]}";
    let key = b"{\"symbols\":[{\"symbol\":\"A\",\"\xc3\":1}]}";
    let skipped = b"{\"symbols\":[{\"symbol\":\"A\",\"x\":\"\xff\xfe\"}]}";
    let nested_key = b"{\"symbols\":[{\"symbol\":\"A\",\"x\":{\"\xff\":1}}]}";
    let good = "{\"symbols\":[{\"symbol\":\"A\",\"é\":\"é\"}]}".as_bytes();
    for doc in [&kept[..], &key[..], &skipped[..], &nested_key[..], good] {
        same_both(doc);
    }
    assert!(parse(Market::Spot, kept).is_err());
    assert!(
        parse(Market::Spot, skipped).is_ok(),
        "serde_json does not check skipped strings"
    );
}

#[test]
fn deep_unknown_nesting_is_left_to_serde_json() {
    for depth in [1, 59, 60, 61, 200, 5000] {
        let doc = format!(
            "{{\"symbols\":[{{\"symbol\":\"A\",\"x\":{}1{}}}]}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        same_both(doc.as_bytes());
        let unclosed = format!(
            "{{\"symbols\":[{{\"symbol\":\"A\",\"x\":{}1}}]}}",
            "[".repeat(depth)
        );
        same_both(unclosed.as_bytes());
    }
}

#[test]
fn projection_rules_match_in_every_order() {
    // NOTIONAL / MIN_NOTIONAL precedence, repeated filters, absent and null values.
    let filters = [
        r#"{"filterType":"NOTIONAL","minNotional":"1"}"#,
        r#"{"filterType":"NOTIONAL"}"#,
        r#"{"filterType":"MIN_NOTIONAL","minNotional":"2","notional":"3"}"#,
        r#"{"filterType":"MIN_NOTIONAL","minNotional":null,"notional":"4"}"#,
        r#"{"filterType":"MIN_NOTIONAL","notional":null}"#,
        r#"{"filterType":"PRICE_FILTER","tickSize":"0.1"}"#,
        r#"{"filterType":"PRICE_FILTER"}"#,
        r#"{"filterType":"LOT_SIZE","stepSize":"1","minQty":"2","maxQty":"3"}"#,
        r#"{"filterType":"LOT_SIZE","minQty":null}"#,
        r#"{"filterType":"MARKET_LOT_SIZE","stepSize":"9","minQty":"9","maxQty":"9"}"#,
    ];
    let mut rng = Rng(7);
    for _ in 0..400 {
        let n = rng.below(5) as usize;
        let chosen: Vec<&str> = (0..n)
            .map(|_| filters[rng.below(filters.len() as u64) as usize])
            .collect();
        let doc = format!(
            "{{\"symbols\":[{{\"symbol\":\"A\",\"filters\":[{}]}}]}}",
            chosen.join(",")
        );
        assert!(same_both(doc.as_bytes()), "{doc}");
    }
}

#[test]
fn every_truncation_fails_the_same_way() {
    for doc in [SPOT, FUTURES] {
        let bytes = doc.as_bytes();
        for end in 0..bytes.len() {
            let cut = &bytes[..end];
            assert!(
                matches!(parse(Market::Spot, cut), Err(ProcessError::Parse(_))),
                "prefix of {end} bytes"
            );
            same_both(cut);
        }
    }
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Random exchangeInfo-like documents: optional, null and unknown fields, escapes,
/// non-ASCII, every number form, nested unknown values, random whitespace.
struct Gen(Rng);

impl Gen {
    fn ws(&mut self) -> &'static str {
        match self.0.below(10) {
            0 => " ",
            1 => "\n    ",
            2 => "\t",
            3 => "\r\n",
            _ => "",
        }
    }

    fn string(&mut self) -> String {
        let pieces = [
            "BTC",
            "USDT",
            "0.00001000",
            "TRADING",
            "A",
            "",
            "é",
            "币安人生",
            "\\u00e9",
            "\\u20ac",
            "\\ud83d\\ude00",
            "\\n",
            "\\\"",
            "\\\\",
            "\\/",
            "\\t",
            "\\u0041",
            "x y",
        ];
        let n = self.0.below(3);
        let body: String = (0..n).map(|_| self.0.pick(&pieces)).collect();
        format!("\"{body}\"")
    }

    fn number(&mut self) -> &'static str {
        self.0.pick(&[
            "0",
            "-0",
            "1",
            "-1",
            "8",
            "12.5",
            "1e5",
            "1E-7",
            "-0.0e+10",
            "1.5e300",
            "1694185561976",
            "123456789012345678901",
        ])
    }

    fn value(&mut self, depth: u32) -> String {
        match self.0.below(if depth > 3 { 6 } else { 8 }) {
            0 | 1 => self.string(),
            2 => self.number().to_string(),
            3 => "true".into(),
            4 => "false".into(),
            5 => "null".into(),
            6 => {
                let n = self.0.below(4);
                let items: Vec<String> = (0..n)
                    .map(|_| format!("{}{}{}", self.ws(), self.value(depth + 1), self.ws()))
                    .collect();
                format!("[{}]", items.join(","))
            }
            _ => {
                let n = self.0.below(4);
                let members: Vec<String> = (0..n)
                    .map(|i| {
                        format!(
                            "{}\"k{i}\"{}:{}{}",
                            self.ws(),
                            self.ws(),
                            self.ws(),
                            self.value(depth + 1)
                        )
                    })
                    .collect();
                format!("{{{}}}", members.join(","))
            }
        }
    }

    fn opt_string(&mut self) -> String {
        if self.0.below(8) == 0 {
            "null".into()
        } else {
            self.string()
        }
    }

    fn object(&mut self, members: Vec<(String, String)>) -> String {
        let parts: Vec<String> = members
            .into_iter()
            .map(|(k, v)| {
                format!(
                    "{}\"{k}\"{}:{}{v}{}",
                    self.ws(),
                    self.ws(),
                    self.ws(),
                    self.ws()
                )
            })
            .collect();
        format!("{{{}}}", parts.join(","))
    }

    fn filter(&mut self) -> String {
        let kind = self.0.pick(&[
            "\"PRICE_FILTER\"",
            "\"LOT_SIZE\"",
            "\"NOTIONAL\"",
            "\"MIN_NOTIONAL\"",
            "\"MARKET_LOT_SIZE\"",
            "\"ICEBERG_PARTS\"",
            "\"PRICE\\u005fFILTER\"",
            "\"NEW_ONE\"",
        ]);
        let mut members = vec![("filterType".to_string(), kind.to_string())];
        for key in [
            "tickSize",
            "stepSize",
            "minQty",
            "maxQty",
            "minNotional",
            "notional",
            "minPrice",
            "limit",
            "applyMinToMarket",
        ] {
            if self.0.below(2) == 0 {
                let v = match key {
                    "limit" => self.number().to_string(),
                    "applyMinToMarket" => self.value(3),
                    _ => self.opt_string(),
                };
                members.push((key.to_string(), v));
            }
        }
        self.shuffle(&mut members);
        self.object(members)
    }

    fn symbol(&mut self) -> String {
        let mut members = vec![("symbol".to_string(), self.string())];
        for key in [
            "status",
            "baseAsset",
            "quoteAsset",
            "contractType",
            "marginAsset",
        ] {
            if self.0.below(4) != 0 {
                let v = self.opt_string();
                members.push((key.to_string(), v));
            }
        }
        for key in ["deliveryDate", "onboardDate"] {
            if self.0.below(3) != 0 {
                let v = self
                    .0
                    .pick(&["4133404800000", "0", "null", "1569398400000"])
                    .to_string();
                members.push((key.to_string(), v));
            }
        }
        if self.0.below(5) != 0 {
            let n = self.0.below(6);
            let filters: Vec<String> = (0..n).map(|_| self.filter()).collect();
            members.push((
                "filters".into(),
                format!("[{}{}]", filters.join(","), self.ws()),
            ));
        }
        for i in 0..self.0.below(4) {
            let v = self.value(0);
            members.push((format!("unknown{i}"), v));
        }
        self.shuffle(&mut members);
        self.object(members)
    }

    fn document(&mut self) -> String {
        let n = self.0.below(5);
        let symbols: Vec<String> = (0..n)
            .map(|_| format!("{}{}", self.ws(), self.symbol()))
            .collect();
        let mut members = vec![
            ("timezone".to_string(), "\"UTC\"".to_string()),
            ("serverTime".to_string(), self.number().to_string()),
            ("rateLimits".to_string(), self.value(1)),
            (
                "symbols".to_string(),
                format!("[{}{}]", symbols.join(","), self.ws()),
            ),
        ];
        self.shuffle(&mut members);
        format!("{}{}{}", self.ws(), self.object(members), self.ws())
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.0.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

#[test]
fn generated_documents_match() {
    let mut g = Gen(Rng(0x5eed_1234_abcd_0001));
    let mut fast = 0;
    for _ in 0..3000 {
        let doc = g.document();
        if same_both(doc.as_bytes()) {
            fast += 1;
        }
    }
    // Most generated documents are ordinary: the scanner must handle them itself.
    assert!(fast > 2000, "the scanner handled only {fast} of 3000");
}

#[test]
fn mutated_documents_match() {
    let mut g = Gen(Rng(0xfeed_5678_0000_0002));
    let interesting = b"\"\\{}[],: \t\n0-9e.+nutfE\x00\x1f\x7f\x80\xc3\xff";
    let mut docs: Vec<Vec<u8>> = vec![SPOT.as_bytes().to_vec(), FUTURES.as_bytes().to_vec()];
    docs.extend((0..20).map(|_| g.document().into_bytes()));
    let mut rng = Rng(99);
    for round in 0..12_000 {
        let mut doc = docs[round % docs.len()].clone();
        for _ in 0..=rng.below(2) {
            if doc.is_empty() {
                break;
            }
            let at = rng.below(doc.len() as u64) as usize;
            let byte = interesting[rng.below(interesting.len() as u64) as usize];
            match rng.below(3) {
                0 => {
                    doc.remove(at);
                }
                1 => doc.insert(at, byte),
                _ => doc[at] = byte,
            }
        }
        same_both(&doc);
    }
}
