// The peer's exchangeInfo processing: what a typical Worker author writes. JSON.parse the
// whole payload, map every symbol to the same projection as the Rust service
// (crates/core/src/exchange_info.rs), JSON.stringify the list document.
//
// Used by the peer Worker (src/index.js) and, unchanged, by bench/process.mjs, which
// times it next to the Rust code compiled to wasm in the same node process.

/** One symbol of exchangeInfo -> the served record (same keys, same order, same rules). */
function projectSymbol(market, s) {
  const out = {
    symbol: s.symbol,
    status: s.status ?? "",
    baseAsset: s.baseAsset ?? "",
    quoteAsset: s.quoteAsset ?? "",
    tickSize: null,
    stepSize: null,
    minQty: null,
    maxQty: null,
    minNotional: null,
  };
  for (const f of s.filters ?? []) {
    switch (f.filterType) {
      case "PRICE_FILTER":
        out.tickSize = f.tickSize ?? null;
        break;
      case "LOT_SIZE":
        out.stepSize = f.stepSize ?? null;
        out.minQty = f.minQty ?? null;
        out.maxQty = f.maxQty ?? null;
        break;
      case "NOTIONAL":
        out.minNotional = f.minNotional ?? null;
        break;
      case "MIN_NOTIONAL":
        if (out.minNotional === null) {
          out.minNotional = market === "futures" ? (f.notional ?? f.minNotional ?? null) : (f.minNotional ?? null);
        }
        break;
    }
  }
  if (market === "futures") {
    out.contractType = s.contractType ?? "";
    if (s.marginAsset != null) out.marginAsset = s.marginAsset;
    if (s.deliveryDate != null) out.deliveryDate = s.deliveryDate;
    if (s.onboardDate != null) out.onboardDate = s.onboardDate;
  }
  return out;
}

/** Parsed exchangeInfo -> the projected symbols. Throws on a payload without `symbols`. */
export function project(market, info) {
  if (!info || !Array.isArray(info.symbols)) throw new Error("exchangeInfo has no symbols array");
  return info.symbols.map((s) => projectSymbol(market, s));
}

/** exchangeInfo text -> the stored list document (a JSON string), as the peer Worker stores it. */
export function processText(market, text, upstream, fetchedAt) {
  const symbols = project(market, JSON.parse(text));
  return JSON.stringify({ market, upstream, fetchedAt, count: symbols.length, symbols });
}
