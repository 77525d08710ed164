// Formats scripts/bench.sh's raw results (a directory of JSON / JSON-lines files) as ONE
// markdown table: ours next to the peer, same run, and the ratio.
//
//   node bench/report.mjs RESULTS_DIR > report.md
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const dir = process.argv[2];
const read = (f) => (existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f), "utf8") : "");
const lines = (f) => read(f).split("\n").filter(Boolean).map((l) => JSON.parse(l));
const meta = JSON.parse(read("meta.json") || "{}");
const bundle = JSON.parse(read("bundle.json") || "{}");
const native = lines("native.jsonl");
const v8 = lines("v8.jsonl");
const v8new = lines("v8new.jsonl");
const stack = lines("stack.jsonl");

const f = (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? "–" : Number(x).toFixed(d));
const kb = (b) => (b === undefined ? "–" : `${(b / 1024).toFixed(0)} KB`);
const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;
const ratio = (a, b, d = 2) => (a === undefined || b === undefined || !b ? "–" : `${(a / b).toFixed(d)}×`);
const rows = [];
const row = (n, what, ours, peer, r, note = "") => rows.push(`| ${n} | ${what} | ${ours} | ${peer} | ${r} | ${note} |`);

// 1. hit path under load
const median = (xs) => {
  const s = xs.filter((v) => typeof v === "number" && !Number.isNaN(v)).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
// One side's runs at one setting, folded into medians (counts and errors summed).
const load = (side, edge, conc) => {
  const runs = stack.filter((x) => x.kind === "load" && x.side === side && x.edge === edge && x.conc === conc);
  if (!runs.length) return undefined;
  const m = (k) => median(runs.map((r) => r[k]));
  const sum = (k) => runs.reduce((a, r) => a + (Number(r[k]) || 0), 0);
  return {
    ...runs[0],
    runs: runs.length,
    rps_all: runs.map((r) => f(r.rps)).join(", "),
    rps: m("rps"),
    p50: m("p50"),
    p99: m("p99"),
    requests: sum("requests"),
    errors: sum("errors"),
    socket_errors: runs.map((r) => r.socket_errors).filter(Boolean).join("; ") || null,
    redis_commands: runs.every((r) => r.redis_commands !== undefined) ? sum("redis_commands") : undefined,
    redis_requests: runs.every((r) => r.redis_requests !== undefined) ? sum("redis_requests") : undefined,
  };
};
for (const edge of [30, 0]) {
  for (const conc of [...new Set(stack.filter((x) => x.kind === "load").map((x) => x.conc))]) {
    const o = load("ours", edge, conc);
    const p = load("peer", edge, conc);
    if (!o || !p) continue;
    const label = edge ? `edge cache on (${edge} s)` : "edge cache off: Redis hit";
    const errs = [o, p].some((x) => x.errors || x.socket_errors) ? ` errors: ours ${o.errors} ${o.socket_errors ?? ""}, peer ${p.errors} ${p.socket_errors ?? ""}` : "";
    row(1, `GET /api/symbols/spot, ${label}, c=${conc}: req/s`, f(o.rps), f(p.rps), ratio(o.rps, p.rps), `${kb(o.body_bytes)} body; median of ${o.runs} runs each (ours ${o.rps_all}; peer ${p.rps_all}); ${o.requests} / ${p.requests} requests${errs}`);
    row(1, `… latency p50 / p99 (ms)`, `${f(o.p50, 2)} / ${f(o.p99, 2)}`, `${f(p.p50, 2)} / ${f(p.p99, 2)}`, `${ratio(o.p50, p.p50)} / ${ratio(o.p99, p.p99)}`, "lower is better");
    if (o.redis_commands !== undefined && p.redis_commands !== undefined && o.requests && p.requests) {
      const per = (x) => x.redis_commands / x.requests;
      row(1, `… Redis commands per request during the run`, f(per(o), 3), f(per(p), 3), ratio(per(o), per(p)), `billed commands at the gateway: ${o.redis_commands} / ${p.redis_commands} (REST requests ${o.redis_requests} / ${p.redis_requests})`);
    }
  }
}

// 2. round trips
const trips = (side, what) => stack.find((x) => x.kind === "trips" && x.side === side && x.what === what);
const tripLabels = {
  edge_hit: "edge-cache hit",
  hit: "Redis hit (edge cache off)",
  miss: "miss (empty Redis)",
  cron: "cron warmup (spot + futures)",
};
for (const what of ["edge_hit", "hit", "miss", "cron"]) {
  const o = trips("ours", what);
  const p = trips("peer", what);
  if (!o || !p) continue;
  const note = what === "cron" ? "" : `X-Cache ${o.cache ?? "–"} / ${p.cache ?? "–"}; counters included (sent after the response)`;
  row(2, `Redis REST requests / commands per ${tripLabels[what]}`, `${o.requests} / ${o.commands}`, `${p.requests} / ${p.commands}`, `${ratio(o.requests, p.requests)} / ${ratio(o.commands, p.commands)}`, note);
}

// 3. processing
const names = { spot: "spot 2023-09", futures: "futures 2025-12 (minified)", synth_spot: "synthetic spot, today's shape" };
for (const [label, set, node] of [["", v8, meta.node], [" (newer V8)", v8new, meta.node_new]]) {
  for (const c of set) {
    const n = native.find((x) => x.case === c.case);
    row(
      3,
      `exchangeInfo processing${label}: ${names[c.case] ?? c.case}, ${mb(c.bytes)}, ${c.symbols} symbols (ms, median of ${c.iters})`,
      f(c.wasm_ms, 2),
      f(c.js_ms, 2),
      ratio(c.wasm_ms, c.js_ms),
      `node ${node}: wasm = parse + project + serialise; JS = decode + JSON.parse + map + JSON.stringify (JSON.parse alone ${f(c.js_parse_ms, 1)}); ` +
        `first call in a fresh process: wasm ${f(c.wasm_cold_ms, 1)}, JS ${f(c.js_cold_ms, 1)}; ` +
        `all serde_json (visitor + serialisation, what the scanner and StoredList::build replaced), wasm ${f(c.wasm_serde_ms, 2)}; with alt.rs's estimated-size serialisation ${f(c.wasm_alt_ms, 2)}` +
        (n && !label ? `; native ${f(n.scanner_ms, 2)} (serde ${f(n.serde_ms, 2)})` : "") +
        (c.same_symbols ? "" : "; **symbols differ from the peer's**"),
    );
  }
}

// 4. bundle
if (bundle.wasm) {
  const total = bundle.wasm_gz + bundle.glue_gz;
  row(4, "Worker bundle: wasm, raw / gzip -9", `${kb(bundle.wasm)} / ${kb(bundle.wasm_gz)}`, "–", "", "build/index_bg.wasm");
  row(4, "Worker bundle: JS, raw / gzip -9", `${kb(bundle.glue)} / ${kb(bundle.glue_gz)}`, `${kb(bundle.peer_js)} / ${kb(bundle.peer_js_gz)}`, ratio(bundle.glue_gz, bundle.peer_js_gz), "build/index.js; peer: wrangler's esbuild bundle with @upstash/redis");
  row(4, "Worker bundle total, gzip -9 (target ≤ 250 KB)", kb(total), kb(bundle.peer_js_gz), ratio(total, bundle.peer_js_gz), total <= 250 * 1024 ? "within target" : "**over target**");
  if (bundle.startup) {
    row(4, "wasm compile + instantiate (ms, median)", `${f(bundle.startup.compile_ms, 2)} + ${f(bundle.startup.instantiate_ms, 2)}`, "–", "", `node ${meta.node_new} (V8 ${meta.v8_new}); WebAssembly.compile of build/index_bg.wasm, stub imports`);
  }
}

// 5. memory
for (const c of v8) {
  const x = (b) => `${(b / c.bytes).toFixed(2)}×`;
  row(
    5,
    `peak wasm linear memory growth: ${names[c.case] ?? c.case}`,
    `${mb(c.wasm_mem_peak)} (${x(c.wasm_mem_peak)} payload)`,
    "–",
    "",
    `fresh instance, one call; target ≤ 2× payload. Parse alone ${x(c.wasm_mem_parse)}; with alt.rs's estimated-size serialisation ${x(c.wasm_mem_alt)}`,
  );
}

const out = [];
out.push(`# Benchmark: ours (Rust → wasm) vs the peer (JavaScript + @upstash/redis)`);
out.push("");
out.push(
  `\`${meta.command ?? "scripts/bench.sh"}\` at ${meta.date ?? "?"}, commit ${meta.commit ?? "?"}${meta.dirty ? " (+ uncommitted changes)" : ""}; ` +
    `${meta.cores ?? "?"} cores (${meta.cpu ?? "?"}), node ${meta.node ?? "?"} (V8 ${meta.v8 ?? "?"})` +
    (meta.node_new ? ` and ${meta.node_new} (V8 ${meta.v8_new})` : "") +
    `, workerd ${meta.workerd ?? "?"} via wrangler dev, load tool ${meta.tool ?? "?"} (${meta.duration ?? "?"} s per run, ${meta.repeats ?? 1} runs per side and setting, medians). ` +
    `Ratio = ours ÷ peer (for req/s higher is better, for times and sizes lower is better).`,
);
out.push("");
out.push("| # | measurement | ours | peer | ours ÷ peer | notes |");
out.push("|---|---|---|---|---|---|");
out.push(...rows);
out.push("");
out.push("Sections: 1 hit path under load; 2 Redis REST round trips counted at the gateway; 3 exchangeInfo processing; 4 bundle and cold start; 5 memory.");
out.push("");
console.log(out.join("\n"));
