// Formats scripts/bench.sh's raw results (a directory of JSON / JSON-lines files) as
// markdown: the headline (first call in a fresh V8), the hit path under bare workerd and
// wrangler dev next to a trivial constant-body Worker and the peer, what a deployment costs
// in Upstash commands and bytes, then the warm processing, bundle and memory rows. Every
// ratio is between figures of the same run.
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
const median = (xs) => {
  const s = xs.filter((v) => typeof v === "number" && !Number.isNaN(v)).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

// Upstash's published limits, read on 2026-12-02 from the Upstash docs page "Pricing &
// Billing" (docs/redis/overall/billing, which defers to https://upstash.com/pricing/redis):
// Free: 500K commands / month, 10 GB bandwidth / month, 256 MB data, 10 MB max request;
// Pay-as-you-go: $0.20 per 100K commands, bandwidth free up to 200 GB / month then $0.03/GB.
const UPSTASH = {
  read: "2026-12-02",
  source: "Upstash docs, \"Pricing & Billing\" (upstash.com/docs/redis/overall/billing) and https://upstash.com/pricing/redis",
  free: { commands: 500_000, bandwidth: 10e9 },
  payg: { per100k: 0.2, freeBandwidth: 200e9, perGB: 0.03 },
};

const f = (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? "–" : Number(x).toFixed(d));
const kb = (b) => (b === undefined ? "–" : `${(b / 1024).toFixed(0)} KB`);
const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;
const ratio = (a, b, d = 2) => (a === undefined || b === undefined || !b ? "–" : `${(a / b).toFixed(d)}×`);
const rows = [];
const row = (n, what, ours, peer, r, note = "") => rows.push(`| ${n} | ${what} | ${ours} | ${peer} | ${r} | ${note} |`);

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
        `all serde_json (visitor + serialisation, what the scanner and StoredList::build replaced), wasm ${f(c.wasm_serde_ms, 2)}` +
        (c.wasm_before_ms != null
          ? `; **before** (BENCH_BASELINE_HARNESS, the same run): wasm ${f(c.wasm_before_ms, 2)} (now ÷ before ${ratio(c.wasm_ms, c.wasm_before_ms)}), first call ${f(c.wasm_before_cold_ms, 1)}`
          : "") +
        (c.digest_ms != null ? `; an unchanged cron's digest instead: ${f(c.digest_ms, 2)}, first call ${f(c.digest_cold_ms, 1)}` : "") +
        (c.all_ms != null ? `; everything a refresh builds from a changed payload: ${f(c.all_ms, 1)}, first call ${f(c.all_cold_ms, 1)}` : "") +
        (n && !label ? `; native ${f(n.scanner_ms, 2)} (serde ${f(n.serde_ms, 2)})` : "") +
        (n?.parts_ms && !label
          ? `; a changed payload's values natively, step by step: parse keeping raw objects ${f(n.parts_ms.parse_raw, 2)}, the original's list ${f(n.parts_ms.original, 2)}, ccxt markets ${f(n.parts_ms.ccxt, 2)}, full records ${f(n.parts_ms.records, 2)}, our document ${f(n.parts_ms.document, 2)}`
          : "") +
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
    `fresh instance, one call; target ≤ 2× payload. Parse alone ${x(c.wasm_mem_parse)}`,
  );
}

const out = [];
out.push(`# Benchmark: ours (Rust → wasm) vs the peer (JavaScript + @upstash/redis)`);
out.push("");
out.push(
  `\`${meta.command ?? "scripts/bench.sh"}\` at ${meta.date ?? "?"}, commit ${meta.commit ?? "?"}${meta.dirty ? " (+ uncommitted changes)" : ""}; ` +
    `${meta.cores ?? "?"} cores (${meta.cpu ?? "?"}), node ${meta.node ?? "?"} (V8 ${meta.v8 ?? "?"})` +
    (meta.node_new ? ` and ${meta.node_new} (V8 ${meta.v8_new})` : "") +
    `, workerd ${meta.workerd ?? "?"} (bare \`workerd serve\` and under \`wrangler dev\`), load tool ${meta.tool ?? "?"} (${meta.duration ?? "?"} s per run, ${meta.repeats ?? 1} runs per Worker and setting, medians). ` +
    `Ratios are between figures of this run (for req/s higher is better, for times and sizes lower is better).`,
);
out.push(...coldTable(), ...hitTable(), ...costTable());
if (rows.length) {
  out.push("", "## Warm processing, bundle, memory", "");
  out.push("| # | measurement | ours | peer | ours ÷ peer | notes |");
  out.push("|---|---|---|---|---|---|");
  out.push(...rows);
  out.push("");
  out.push("Sections: 3 exchangeInfo processing (warm: median after warm-ups); 4 bundle and cold start; 5 memory.");
}
out.push("");
console.log(out.join("\n"));

// ---- the headline: first call in a fresh V8 -------------------------------------------
function coldTable() {
  const sets = [
    [meta.node_new, v8new],
    [meta.node, v8],
  ].filter(([, set]) => set.length);
  if (!sets.length) return [];
  const t = [
    "",
    "## First call in a fresh V8 (the headline)",
    "",
    "What a cron in a new isolate pays: one call in a fresh node process (no tier-up yet), the median of " +
      `${sets[0][1][0].cold_runs ?? "?"} processes per figure, the sides alternating. Ours: the Worker's processing (\`crates/bench-tools\` \`process\`: parse + project + serialise) in wasm, ` +
      "its module already instantiated; the harness module's read + compile + instantiate, and the Worker's own wasm compile + instantiate (`build/index_bg.wasm`, its own fresh processes), are shown apart. " +
      "Peer: `TextDecoder` + `JSON.parse` + map + `JSON.stringify`. Target (issue 15): ours ≤ 1/3 of the peer's first call, and ≤ 15 ms for the real spot payload, under node 26. " +
      "\"Unchanged cron\": what our cron does instead when the payload is the one it processed last time (most crons: Binance's list changes a few times a day): the payload's digest alone (`exchange_info::digest`), its first call in its own fresh processes; the peer processes every cron. " +
      "\"Changed payload, all of it\": everything our refresh builds from a changed payload (`process_all`: our document, the original's list, the ccxt markets, the full records; the peer builds only its document), first call and warm.",
    "",
    "| payload | node | ours: first call (ms) | peer: first call (ms) | ours ÷ peer | target | ours, unchanged cron: digest, first call (ms); ÷ peer | ours, changed payload, all of it: first call; warm (ms) | harness load; Worker wasm compile + instantiate (ms) | spread of ours / peer (min–max) |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const [node, set] of sets) {
    for (const c of set) {
      const r = c.wasm_cold_ms / c.js_cold_ms;
      const spot = c.case === "spot";
      const newest = node === meta.node_new;
      const ok = r <= 1 / 3 && (!spot || c.wasm_cold_ms <= 15);
      const target = newest ? `${spot ? "≤ 0.33× and ≤ 15 ms" : "≤ 0.33×"}: ${ok ? "**met**" : "not met"}` : "–";
      const startup = c.worker_compile_ms === null || c.worker_compile_ms === undefined ? "cannot compile here" : `${f(c.worker_compile_ms, 1)} + ${f(c.worker_instantiate_ms, 2)}`;
      const spread = (xs) => (xs?.length ? `${f(Math.min(...xs), 1)}–${f(Math.max(...xs), 1)}` : "–");
      t.push(
        `| ${names[c.case] ?? c.case}, ${mb(c.bytes)}, ${c.symbols} symbols | ${node} | **${f(c.wasm_cold_ms, 1)}** | ${f(c.js_cold_ms, 1)} | **${ratio(c.wasm_cold_ms, c.js_cold_ms)}** | ${target} | ${c.digest_cold_ms == null ? "–" : `${f(c.digest_cold_ms, 1)}; ${ratio(c.digest_cold_ms, c.js_cold_ms)}`} | ${c.all_cold_ms == null ? "–" : `${f(c.all_cold_ms, 1)}; ${f(c.all_ms, 1)}`} | ${f(c.wasm_load_ms, 1)}; ${startup} | ${spread(c.wasm_cold_all)} / ${spread(c.js_cold_all)} |`,
      );
    }
  }
  return t;
}

// ---- the hit path: bare workerd and wrangler dev, next to the limit --------------------
function hitTable() {
  const loads = stack.filter((x) => x.kind === "load");
  if (!loads.length) return [];
  const runtimes = [...new Set(loads.map((x) => x.runtime))];
  const concs = [...new Set(loads.map((x) => x.conc))];
  const cols = runtimes.flatMap((rt) => concs.map((c) => [rt, c]));
  const cell = (rt, name, conc) => {
    const runs = loads.filter((x) => x.runtime === rt && x.name === name && x.conc === conc);
    if (!runs.length) return undefined;
    const sum = (k) => runs.reduce((a, r) => a + (Number(r[k]) || 0), 0);
    return {
      runs: runs.length,
      byRep: Object.fromEntries(runs.map((r) => [r.rep, r.rps])),
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      all: runs.map((r) => f(r.rps, 0)).join(", "),
      requests: sum("requests"),
      errors: sum("errors") + runs.filter((r) => r.socket_errors).length,
      commands: sum("redis_commands"),
      body: runs[0].body_bytes,
    };
  };
  const label = {
    ours_isolate: "ours: isolate hit (the default config)",
    ours_edge: "ours: edge hit (`ISOLATE_CACHE_TTL_SECONDS=0`)",
    ours_redis: "ours: Redis hit (caches off)",
    before_isolate: `ours at the baseline build: isolate hit`,
    before_redis: `ours at the baseline build: Redis hit`,
    peer_edge: "peer: edge hit",
    peer_redis: "peer: Redis hit (edge cache off)",
    trivial: "trivial Worker: the same bytes from a constant (the limit)",
  };
  // Each row's reference: the limit for cache hits, the peer for Redis hits.
  const ref = { ours_isolate: "trivial", ours_edge: "trivial", before_isolate: "trivial", peer_edge: "trivial", ours_redis: "peer_redis", before_redis: "peer_redis" };
  const target = { ours_isolate: 0.9, ours_edge: 0.9, ours_redis: 3 };
  const t = [
    "",
    "## Hit path: `GET /api/symbols/spot`, bare workerd and `wrangler dev`",
    "",
    `Requests per second (median of the runs), then the ratio to the row's reference (cache hits ÷ the trivial Worker, Redis hits ÷ the peer's Redis hit; the median of the per-repeat ratios, each repeat running all Workers back to back, the order reversed every other repeat), p50 / p99 latency (ms) and the Upstash commands per request during the runs. ` +
      `Bare \`workerd serve\` runs each Worker's \`wrangler deploy --dry-run\` bundle (config from \`testkit::workerd\`; the Cache API served by testkit's in-memory cache service); \`wrangler dev\` adds its proxy and inspector relay. ` +
      `Targets under bare workerd: isolate and edge hits ≥ 0.9× the trivial Worker; Redis hits ≥ 3× the peer.` +
      (meta.hit_log_sample ? ` Our Workers ran with HIT_LOG_SAMPLE=${meta.hit_log_sample}.` : " Our Workers ran with their defaults (every request logged)."),
    "",
    `| Worker | ${cols.map(([rt, c]) => `${rt === "workerd" ? "bare workerd" : "wrangler dev"}, c=${c}`).join(" | ")} |`,
    `|---|${cols.map(() => "---").join("|")}|`,
  ];
  const names = ["ours_isolate", "ours_edge", "ours_redis", "before_isolate", "before_redis", "peer_edge", "peer_redis", "trivial"];
  let body = null;
  for (const name of names) {
    const cells = cols.map(([rt, c]) => {
      const x = cell(rt, name, c);
      if (!x) return "–";
      body ??= x.body;
      const r = ref[name] ? cell(rt, ref[name], c) : undefined;
      // The median of the per-repeat ratios: each repeat ran both Workers back to back.
      const rr = r ? median(Object.keys(x.byRep).filter((k) => r.byRep[k]).map((k) => x.byRep[k] / r.byRep[k])) : undefined;
      const mark = rr !== undefined && target[name] && rt === "workerd" ? (rr >= target[name] ? " ✓" : " ✗") : "";
      const errs = x.errors ? `, **${x.errors} errors**` : "";
      // wrk counts only responses that completed within the run.
      if (x.requests < x.runs) return `${f(x.rps, 1)}: ${x.requests} responses completed in ${x.runs} runs (${x.commands} Redis commands served meanwhile)${errs}`;
      return `${f(x.rps, 0)}${rr !== undefined && r.requests >= r.runs ? ` (**${rr.toFixed(2)}×**${mark})` : ""}; ${f(x.p50, 2)} / ${f(x.p99, 1)}; ${f(x.commands / x.requests, 3)} cmd/req${errs}`;
    });
    if (cells.every((c) => c === "–")) continue;
    t.push(`| ${label[name] ?? name} | ${cells.join(" | ")} |`);
  }
  t.push("");
  t.push(`Body ${kb(body)}. Every run: ${cols.map(([rt, c]) => `${rt} c=${c}: ` + names.map((n) => cell(rt, n, c)).filter(Boolean).map((x, i) => x.all).join(" | ")).join("; ")} (req/s, in the order of the rows).`);
  return t;
}

// ---- what a deployment costs ------------------------------------------------------------
function costTable() {
  const costs = stack.filter((x) => x.kind === "cost");
  if (!costs.length) return [];
  const c = (side, what) => costs.find((x) => x.side === side && x.what === what);
  const bytes = (x) => (x ? x.request_bytes + x.response_bytes : undefined);
  const fmtB = (b) => (b === undefined ? "–" : b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`);
  const fig = (x) => (x ? `${x.commands} cmd (${x.requests} req); ${fmtB(x.request_bytes)} up / ${fmtB(x.response_bytes)} down` : "–");
  const rows = [
    ["isolate_hit", "isolate hit (one request, warm; the hit counter included)"],
    ["edge_hit", "edge hit (isolate copy off)"],
    ["redis_hit", "Redis hit (caches off)"],
    ["miss", "miss (empty Redis: the request refreshes the market)"],
    ["refresh_first", "cron run (spot + futures) into an empty Redis"],
    ["refresh_unchanged", "cron run, both lists unchanged"],
    ["refresh_changed", "cron run, both lists changed (one symbol fewer)"],
  ];
  const t = [
    "",
    "## What a deployment costs: Upstash commands and bytes",
    "",
    `Measured at the gateway (\`/__gateway/stats\`: commands, REST requests, request and response body bytes), one event at a time after a counter reset, once the counters are still; under ${meta.runtimes?.includes("workerd") ? "bare workerd" : "wrangler dev"}. ` +
      "The peer is the JS peer as it is: it writes its own document under the original's key layout of before the shared-Redis change (`cache:symbols:{market}:v1` with `EX 900`, `:last_good`, `:last_refresh_ts`) on every refresh, changed or not, and writes none of the original's keys; ours writes its versioned document and the original's keys, and an unchanged refresh only extends TTLs.",
    "",
    "| event | ours | peer | ours ÷ peer (commands / bytes) |",
    "|---|---|---|---|",
  ];
  for (const [what, text] of rows) {
    const o = c("ours", what);
    const p = c("peer", what);
    if (!o && !p) continue;
    t.push(`| ${text} | ${fig(o)} | ${fig(p)} | ${o && p ? `${ratio(o.commands, p.commands)} / ${ratio(bytes(o), bytes(p))}` : "–"} |`);
  }
  // A month: the default cron (every 5 minutes) and RPS requests per second, every request a
  // hit as measured above (one request at a time: the counter is not coalesced, an upper
  // bound for ours).
  const rps = Number(meta.cost_rps ?? 10);
  const changesPerDay = Number(meta.cost_changes_per_day ?? 1);
  const days = 30;
  const cronRuns = days * 24 * 12;
  const changed = Math.min(cronRuns, days * changesPerDay);
  const requests = rps * days * 86_400;
  const month = (side, hitWhat) => {
    const ch = c(side, "refresh_changed");
    const un = c(side, "refresh_unchanged");
    const hit = c(side, hitWhat);
    if (!ch || !un || !hit) return undefined;
    return {
      commands: changed * ch.commands + (cronRuns - changed) * un.commands + requests * hit.commands,
      bytes: changed * bytes(ch) + (cronRuns - changed) * bytes(un) + requests * bytes(hit),
      cronCommands: changed * ch.commands + (cronRuns - changed) * un.commands,
      cronBytes: changed * bytes(ch) + (cronRuns - changed) * bytes(un),
    };
  };
  const verdict = (m) => {
    if (!m) return "–";
    const free = m.commands <= UPSTASH.free.commands && m.bytes <= UPSTASH.free.bandwidth;
    const dollars = (m.commands / 100_000) * UPSTASH.payg.per100k + (Math.max(0, m.bytes - UPSTASH.payg.freeBandwidth) / 1e9) * UPSTASH.payg.perGB;
    return `${(m.commands / 1e6).toFixed(2)} M cmd, ${(m.bytes / 1e9).toFixed(2)} GB: ${free ? "within the free tier" : `over the free tier (${((100 * m.commands) / UPSTASH.free.commands).toFixed(0)}% of its commands, ${((100 * m.bytes) / UPSTASH.free.bandwidth).toFixed(0)}% of its bandwidth)`}; pay-as-you-go $${dollars.toFixed(2)}`;
  };
  const cronOnly = (m) => (m ? `${(m.cronCommands / 1e3).toFixed(1)} k cmd, ${(m.cronBytes / 1e9).toFixed(3)} GB` : "–");
  const oi = month("ours", "isolate_hit");
  const pe = month("peer", "edge_hit");
  const or = month("ours", "redis_hit");
  const pr = month("peer", "redis_hit");
  t.push(`| a month (${days} days) of the default cron alone: ${cronRuns} runs, ${changed} of them with changed lists (${changesPerDay}/day) | ${cronOnly(oi)} | ${cronOnly(pe)} | ${oi && pe ? `${ratio(oi.cronCommands, pe.cronCommands)} / ${ratio(oi.cronBytes, pe.cronBytes)}` : "–"} |`);
  t.push(`| … plus ${rps} req/s (${(requests / 1e6).toFixed(1)} M requests), each a cache hit (ours: isolate hit; peer: edge hit) | ${verdict(oi)} | ${verdict(pe)} | ${oi && pe ? `${ratio(oi.commands, pe.commands)} / ${ratio(oi.bytes, pe.bytes)}` : "–"} |`);
  t.push(`| … plus ${rps} req/s, each a Redis hit (caches off or cold: the worst case) | ${verdict(or)} | ${verdict(pr)} | ${or && pr ? `${ratio(or.commands, pr.commands)} / ${ratio(or.bytes, pr.bytes)}` : "–"} |`);
  t.push("");
  t.push(
    `Upstash's limits (${UPSTASH.source}, read ${UPSTASH.read}): free tier ${UPSTASH.free.commands / 1000}K commands and ${UPSTASH.free.bandwidth / 1e9} GB bandwidth a month; ` +
      `pay-as-you-go $${UPSTASH.payg.per100k} per 100K commands, bandwidth free up to ${UPSTASH.payg.freeBandwidth / 1e9} GB a month, then $${UPSTASH.payg.perGB}/GB. ` +
      `Bytes are request + response bodies at the gateway (GB = 10⁹ B); Upstash's own accounting of headers may differ. The projection counts each hit at its one-request cost (ours sums an isolate's hits within COUNTER_FLUSH_MS into one INCRBY, so under load it pays less: see the cmd/req column above), ignores misses (the cron keeps the lists warm) and sets the parameters with BENCH_COST_RPS and BENCH_COST_CHANGES_PER_DAY.`,
  );
  return t;
}
