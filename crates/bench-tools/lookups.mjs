// Single-symbol lookups and list filters on the stored spot list, old (full serde_json
// parse: symbols_core::reference::find_serde / filtered_body_serde) vs new (the lookup scanner:
// StoredList::find / filtered_body), natively and as wasm under node, in one run.
//
//   node crates/bench-tools/lookups.mjs --native target/release/lookup-bench \
//        --wasm target/lookup-wasm/bench_tools.js [--iters 101] [--warmup 10]
//
// Built as scripts/bench.sh builds its harness, into a directory of its own:
//   cargo build --release -p bench-tools --bin lookup-bench
//   cargo build --profile worker --target wasm32-unknown-unknown -p bench-tools --lib
//   wasm-bindgen --target nodejs --out-dir target/lookup-wasm target/wasm32-unknown-unknown/worker/bench_tools.wasm
//   (then the same wasm-opt -O pass as scripts/bench.sh, in place)
//
// The native binary writes the recorded spot payload and times its cases itself; the wasm
// build (bench-tools, wasm-bindgen --target nodejs) loads the same payload and is timed
// here per call with performance.now(). Both alternate old and new within each iteration.
// Prints a Markdown table of medians (ms) and the speed-ups.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
let native = null, wasmPath = null, iters = 101, warmup = 10;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--native") native = path.resolve(args[++i]);
  else if (a === "--wasm") wasmPath = path.resolve(args[++i]);
  else if (a === "--iters") iters = Number(args[++i]);
  else if (a === "--warmup") warmup = Number(args[++i]);
  else {
    console.error(`unknown argument ${a}`);
    process.exit(2);
  }
}
if (!native || !wasmPath) {
  console.error("usage: node crates/bench-tools/lookups.mjs --native PATH/lookup-bench --wasm PATH/bench_tools.js [--iters N] [--warmup N]");
  process.exit(2);
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

const tmp = mkdtempSync(path.join(os.tmpdir(), "lookups-"));
const payloadPath = path.join(tmp, "spot.json");
execFileSync(native, ["--write-payload", payloadPath]);
const nativeRows = execFileSync(native, ["--payload", payloadPath, "--iters", String(iters), "--warmup", String(warmup)], { encoding: "utf8" })
  .trim().split("\n").map((l) => JSON.parse(l));

const w = require(wasmPath);
const symbols = w.lookup_load("spot", new Uint8Array(readFileSync(payloadPath)));
rmSync(tmp, { recursive: true, force: true });
const names = w.lookup_cases();
const wasmRows = names.map((name, c) => {
  if (!w.lookup_check(c)) throw new Error(`${name}: the scanner and the full parse disagree in wasm`);
  for (let i = 0; i < warmup; i++) {
    w.lookup_run(c, true);
    w.lookup_run(c, false);
  }
  const oldMs = [], newMs = [];
  for (let i = 0; i < iters; i++) {
    let t = performance.now();
    w.lookup_run(c, true);
    oldMs.push(performance.now() - t);
    t = performance.now();
    w.lookup_run(c, false);
    newMs.push(performance.now() - t);
  }
  return { case: name, old_ms: median(oldMs), new_ms: median(newMs) };
});

const f = (ms) => (ms < 0.1 ? ms.toFixed(4) : ms.toFixed(3));
const x = (a, b) => `${(a / b).toFixed(1)}x`;
console.log(`spot list, ${symbols} symbols; medians of ${iters} (after ${warmup} warm-up), ms; node ${process.version}`);
console.log("");
console.log("| case | native old | native new | native speed-up | wasm old | wasm new | wasm speed-up |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const [i, n] of nativeRows.entries()) {
  const v = wasmRows[i];
  if (v.case !== n.case) throw new Error(`case order differs: ${n.case} / ${v.case}`);
  console.log(`| ${n.case} | ${f(n.old_ms)} | ${f(n.new_ms)} | ${x(n.old_ms, n.new_ms)} | ${f(v.old_ms)} | ${f(v.new_ms)} | ${x(v.old_ms, v.new_ms)} |`);
}
