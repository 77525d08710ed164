// exchangeInfo processing under V8: the Rust code compiled to wasm32 (crates/bench-tools,
// wasm-bindgen --target nodejs) next to the peer's JavaScript (bench/peer/src/process.js),
// in the same node process, on the same payload bytes.
//
//   node bench/process.mjs --wasm target/bench-wasm/bench_tools.js [--iters 31] [--warmup 5]
//        [--cold-runs 11] [--worker-wasm build/index_bg.wasm] [--baseline-wasm OTHER/bench_tools.js]
//        NAME=MARKET:PATH ...
//
// Per case it prints one JSON line: medians (ms) of
//   wasm        bytes -> wasm memory, parse + project (scanner) + StoredList::build
//   wasm_serde  the same all through serde_json (the visitor and the serialisation the
//               scanner and the hand-written StoredList::build replaced)
//   wasm_before the same as `wasm` with an earlier commit's harness (--baseline-wasm; null
//               without it): a before/after measured side by side, in one run
//   js          TextDecoder + JSON.parse + project + JSON.stringify (the peer, as its Worker runs it)
//   js_parse    JSON.parse alone (from the decoded string)
// and the cold figures, each the median over --cold-runs fresh node processes (what a cron
// in a new isolate pays: no JIT or wasm tier-up yet):
//   wasm_cold_ms / js_cold_ms   the first call (wasm: the same call as `wasm` above, its
//               module already instantiated; JS: the peer's processText)
//   digest_cold_ms  what an unchanged cron does instead (the payload's digest alone,
//               `digest`), first call; digest_ms its warm median
//   all_cold_ms   everything a refresh builds from a changed payload (`process_all`: our
//               document, the original's list, the ccxt markets, the full records), first
//               call; all_ms its warm median
//   wasm_load_ms  read + compile + instantiate of the harness module (the wasm-bindgen glue's
//               require), measured in the same fresh processes, before the first call
//   worker_compile_ms / worker_instantiate_ms  WebAssembly.compile + instantiate of the
//               Worker's own wasm (--worker-wasm) in a fresh process, stub imports; null when
//               this V8 cannot compile it (node 20 lacks exnref exception handling)
//   *_cold_all  every run, for the spread
// and wasm_mem_peak: linear memory growth of a fresh instance processing the payload once
// (wasm_mem_parse: parse alone), and wasm_before_cold_ms: the baseline's first call.
// The two sides run alternately within each iteration, so machine noise hits both alike.
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { processText } from "./peer/src/process.js";
import { stubImports } from "./wasm-startup.mjs";

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);

// `--cold wasm|digest|all|js MARKET FILE WASM_GLUE`: one call in this fresh process; prints
// {"load_ms","call_ms"} (load: the glue's require, i.e. read + compile + instantiate).
if (args[0] === "--cold") {
  const [, side, market, file, glue] = args;
  const bytes = new Uint8Array(readFileSync(file));
  let load = null;
  let t0;
  if (side === "wasm" || side === "digest" || side === "all") {
    const l0 = performance.now();
    const w = require(path.resolve(glue));
    load = performance.now() - l0;
    t0 = performance.now();
    if (side === "wasm") w.process(market, bytes);
    else if (side === "all") w.process_all(market, bytes);
    else w.digest(market, bytes);
  } else {
    t0 = performance.now();
    processText(market, new TextDecoder().decode(bytes), "u", "t");
  }
  console.log(JSON.stringify({ load_ms: load, call_ms: performance.now() - t0 }));
  process.exit(0);
}
// `--cold-startup FILE.wasm`: compile + instantiate once in this fresh process.
if (args[0] === "--cold-startup") {
  const bytes = readFileSync(args[1]);
  try {
    const t0 = performance.now();
    const module = await WebAssembly.compile(bytes);
    const t1 = performance.now();
    const imports = stubImports(module);
    const t2 = performance.now();
    await WebAssembly.instantiate(module, imports);
    const t3 = performance.now();
    console.log(JSON.stringify({ compile_ms: t1 - t0, instantiate_ms: t3 - t2 }));
  } catch (e) {
    console.log(JSON.stringify({ compile_ms: null, instantiate_ms: null, error: String(e.message ?? e) }));
  }
  process.exit(0);
}
let wasmPath = null, baselinePath = null, workerWasm = null, iters = 31, warmup = 5, coldRuns = 11;
const cases = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--wasm") wasmPath = path.resolve(args[++i]);
  else if (a === "--iters") iters = Number(args[++i]);
  else if (a === "--warmup") warmup = Number(args[++i]);
  else if (a === "--cold-runs") coldRuns = Number(args[++i]);
  else if (a === "--worker-wasm") workerWasm = path.resolve(args[++i]);
  else if (a === "--baseline-wasm") baselinePath = path.resolve(args[++i]);
  else cases.push(a);
}
if (!wasmPath || cases.length === 0) {
  console.error("usage: node bench/process.mjs --wasm PATH/bench_tools.js [--iters N] [--warmup N] NAME=MARKET:PATH ...");
  process.exit(2);
}

/** A fresh wasm instance (the nodejs glue instantiates on load; drop it from the cache first). */
function freshWasm(glue = wasmPath) {
  delete require.cache[require.resolve(glue)];
  return require(glue);
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
  const growth = (call) => {
    const fresh = freshWasm();
    const before = fresh.memory_bytes();
    call(fresh);
    return fresh.memory_bytes() - before;
  };
  const memPeak = growth((w) => w.process(market, bytes));
  const memParse = growth((w) => w.parse_count(market, bytes));

  const wasm = freshWasm();
  const before = baselinePath ? freshWasm(baselinePath) : null;
  // Cross-check: the peer's symbols and ours are the same JSON.
  const ours = JSON.parse(decoder.decode(wasm.process_bytes(market, bytes)));
  const theirs = JSON.parse(processText(market, decoder.decode(bytes), UPSTREAM, FETCHED_AT));
  const same = JSON.stringify(ours.symbols) === JSON.stringify(theirs.symbols);
  if (!same) console.error(`process.mjs: ${name}: the peer's symbols differ from ours`);

  // First calls in fresh processes, alternating sides, so a change in machine speed hits
  // both alike.
  const child = (extra) => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...extra], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${extra[0]} ${extra[1]}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim());
  };
  const cold = { wasm: [], digest: [], all: [], before: [], load: [], js: [], compile: [], instantiate: [] };
  let startupError = null;
  for (let i = 0; i < coldRuns; i++) {
    const w = child(["--cold", "wasm", market, file, wasmPath]);
    cold.wasm.push(w.call_ms);
    cold.load.push(w.load_ms);
    cold.js.push(child(["--cold", "js", market, file, wasmPath]).call_ms);
    cold.digest.push(child(["--cold", "digest", market, file, wasmPath]).call_ms);
    cold.all.push(child(["--cold", "all", market, file, wasmPath]).call_ms);
    if (baselinePath) cold.before.push(child(["--cold", "wasm", market, file, baselinePath]).call_ms);
    if (workerWasm) {
      const s = child(["--cold-startup", workerWasm]);
      if (s.compile_ms === null) startupError = s.error;
      else {
        cold.compile.push(s.compile_ms);
        cold.instantiate.push(s.instantiate_ms);
      }
    }
  }
  const orNull = (xs) => (xs.length ? median(xs) : null);
  const coldWasm = median(cold.wasm);
  const coldJs = median(cold.js);

  const t = { wasm: [], wasm_serde: [], wasm_before: [], js: [], js_parse: [], digest: [], all: [] };
  let sink = 0;
  for (let i = 0; i < warmup + iters; i++) {
    const keep = i >= warmup;
    // One timed call; its result goes into `sink` so no call is optimised away.
    const lap = (key, call) => {
      const t0 = performance.now();
      sink += call();
      const t1 = performance.now();
      if (keep) t[key].push(t1 - t0);
    };
    lap("wasm", () => wasm.process(market, bytes));
    lap("js", () => processText(market, decoder.decode(bytes), UPSTREAM, FETCHED_AT).length);
    lap("wasm_serde", () => wasm.process_serde(market, bytes));
    if (before) lap("wasm_before", () => before.process(market, bytes));
    lap("digest", () => wasm.digest(market, bytes));
    lap("all", () => wasm.process_all(market, bytes));
    const text = decoder.decode(bytes);
    lap("js_parse", () => JSON.parse(text).symbols.length);
  }
  const out = {
    case: name, market, bytes: bytes.length, symbols: ours.count, iters, same_symbols: same,
    wasm_ms: median(t.wasm), wasm_serde_ms: median(t.wasm_serde), wasm_before_ms: orNull(t.wasm_before), wasm_before_cold_ms: orNull(cold.before),
    js_ms: median(t.js), js_parse_ms: median(t.js_parse), wasm_cold_ms: coldWasm, js_cold_ms: coldJs,
    digest_ms: median(t.digest), digest_cold_ms: median(cold.digest), digest_cold_all: cold.digest,
    all_ms: median(t.all), all_cold_ms: median(cold.all), all_cold_all: cold.all,
    cold_runs: coldRuns, wasm_load_ms: median(cold.load), wasm_cold_all: cold.wasm, js_cold_all: cold.js,
    worker_compile_ms: orNull(cold.compile), worker_instantiate_ms: orNull(cold.instantiate), worker_startup_error: startupError,
    wasm_mem_peak: memPeak, wasm_mem_parse: memParse, sink,
  };
  console.log(JSON.stringify(out));
}
