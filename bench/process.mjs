// exchangeInfo processing under V8: the Rust code compiled to wasm32 (crates/bench-tools,
// wasm-bindgen --target nodejs) next to the peer's JavaScript (bench/peer/src/process.js),
// in the same node process, on the same payload bytes.
//
//   node bench/process.mjs --wasm target/bench-wasm/bench_tools.js [--iters 31] [--warmup 5] NAME=MARKET:PATH ...
//
// Per case it prints one JSON line: medians (ms) of
//   wasm        bytes -> wasm memory, parse + project (scanner) + StoredList::build
//   wasm_serde  the same with the serde_json visitor the scanner replaced
//   js          TextDecoder + JSON.parse + project + JSON.stringify (the peer, as its Worker runs it)
//   js_parse    JSON.parse alone (from the decoded string)
// and wasm_mem_peak: linear memory growth of a fresh instance processing the payload once.
// The two sides run alternately within each iteration, so machine noise hits both alike.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { processText } from "./peer/src/process.js";

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
let wasmPath = null, iters = 31, warmup = 5;
const cases = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--wasm") wasmPath = path.resolve(args[++i]);
  else if (a === "--iters") iters = Number(args[++i]);
  else if (a === "--warmup") warmup = Number(args[++i]);
  else cases.push(a);
}
if (!wasmPath || cases.length === 0) {
  console.error("usage: node bench/process.mjs --wasm PATH/bench_tools.js [--iters N] [--warmup N] NAME=MARKET:PATH ...");
  process.exit(2);
}

/** A fresh wasm instance (the nodejs glue instantiates on load; drop it from the cache first). */
function freshWasm() {
  delete require.cache[require.resolve(wasmPath)];
  return require(wasmPath);
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
};

const UPSTREAM = "https://api.binance.com";
const FETCHED_AT = "2025-12-24T08:00:00Z";
const decoder = new TextDecoder();

for (const c of cases) {
  const m = /^([^=]+)=(spot|futures):(.+)$/.exec(c);
  if (!m) throw new Error(`bad case ${c} (NAME=MARKET:PATH)`);
  const [, name, market, file] = m;
  const bytes = new Uint8Array(readFileSync(file));

  // Peak memory: a fresh instance, one call.
  const fresh = freshWasm();
  const before = fresh.memory_bytes();
  fresh.process(market, bytes);
  const memPeak = fresh.memory_bytes() - before;

  const wasm = freshWasm();
  // Cross-check: the peer's symbols and ours are the same JSON.
  const ours = JSON.parse(decoder.decode(wasm.process_bytes(market, bytes)));
  const theirs = JSON.parse(processText(market, decoder.decode(bytes), UPSTREAM, FETCHED_AT));
  const same = JSON.stringify(ours.symbols) === JSON.stringify(theirs.symbols);
  if (!same) console.error(`process.mjs: ${name}: the peer's symbols differ from ours`);

  const t = { wasm: [], wasm_serde: [], js: [], js_parse: [] };
  let sink = 0;
  for (let i = 0; i < warmup + iters; i++) {
    const keep = i >= warmup;
    let t0 = performance.now();
    sink += wasm.process(market, bytes);
    let t1 = performance.now();
    if (keep) t.wasm.push(t1 - t0);
    t0 = performance.now();
    sink += processText(market, decoder.decode(bytes), UPSTREAM, FETCHED_AT).length;
    t1 = performance.now();
    if (keep) t.js.push(t1 - t0);
    t0 = performance.now();
    sink += wasm.process_serde(market, bytes);
    t1 = performance.now();
    if (keep) t.wasm_serde.push(t1 - t0);
    const text = decoder.decode(bytes);
    t0 = performance.now();
    sink += JSON.parse(text).symbols.length;
    t1 = performance.now();
    if (keep) t.js_parse.push(t1 - t0);
  }
  const out = {
    case: name, market, bytes: bytes.length, symbols: ours.count, iters, same_symbols: same,
    wasm_ms: median(t.wasm), wasm_serde_ms: median(t.wasm_serde), js_ms: median(t.js), js_parse_ms: median(t.js_parse),
    wasm_mem_peak: memPeak, sink,
  };
  console.log(JSON.stringify(out));
}
