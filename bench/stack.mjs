// The HTTP half of scripts/bench.sh, against the stack bench.sh started: what each request
// and each refresh costs in Upstash commands and bytes (counted at the gateway), and the
// hit-path load runs (wrk or oha) of every Worker under every runtime. Prints one JSON line
// per measurement.
//
//   node bench/stack.mjs CONFIG.json
//
// CONFIG: {"gateway": URL, "token": T, "redisPort": P, "exchange": URL, "duration": seconds,
//          "concurrency": [1, 32], "repeats": 3, "tool": "wrk"|"oha", "toolPath": PATH,
//          "costRuntime": "workerd",
//          "runtimes": {"workerd": {NAME: {"url": URL, "cron": URL, "side": S}, ...}, "wrangler": {...}}}
// NAME is one of ours_isolate (edge cache and isolate copy on: the default), ours_edge
// (isolate copy off: every hit reads the Cache API), ours_redis (both off: every hit reads
// Redis), peer_edge, peer_redis, trivial (a constant body: the limit), before_* (the same
// as ours_* on an earlier build, when bench.sh got BENCH_BASELINE_BUILD); S is ours, peer,
// trivial or before. `cron` is the base URL whose /__scheduled fires that Worker's cron.
//
// Ours and the peer use the same Redis key names with different document formats (the peer
// writes its document under cache:symbols:{market}:v1, which the original system owns in
// the shared layout), so every measurement starts from an empty Redis (FLUSHALL, straight
// to redis-server, not through the gateway) and that side's cron warmup.
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const PATH = "/api/symbols/spot";
const CRON = "/__scheduled?cron=*/5+*+*+*+*";
const auth = { Authorization: `Bearer ${cfg.token}` };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const emit = (o) => console.log(JSON.stringify(o));
const log = (msg) => console.error(`[bench] ${msg}`);

function flush() {
  const r = spawnSync("redis-cli", ["-p", String(cfg.redisPort), "FLUSHALL"], { encoding: "utf8" });
  if (r.status !== 0 || !/OK/.test(r.stdout)) throw new Error(`redis-cli FLUSHALL failed: ${r.stderr || r.stdout}`);
}

async function resetStats() {
  const r = await fetchOr(`${cfg.gateway}/__gateway/stats/reset`, { method: "POST", headers: auth });
  if (!r.ok) throw new Error(`gateway stats reset: ${r.status} ${await r.text()}`);
}

/** Gateway counters once they have been still for 400 ms (waitUntil work lands after the response). */
async function settledStats() {
  let last = null;
  for (let i = 0; i < 40; i++) {
    await sleep(200);
    const r = await fetchOr(`${cfg.gateway}/__gateway/stats`, { headers: auth });
    const s = await r.json();
    const same = last && ["requests", "commands", "requestBytes", "responseBytes"].every((k) => s[k] === last[k]);
    if (same && i >= 2) return s;
    last = s;
  }
  return last;
}

/** fetch, retried on a network error (undici reuses keep-alive connections that the dev
 * server closed while wrk was running: "other side closed"), with the URL and the cause
 * in the final error (node's own is only "fetch failed"). */
async function fetchOr(url, init) {
  let last;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await fetch(url, init);
    } catch (e) {
      last = e;
      await sleep(200);
    }
  }
  throw new Error(`${init?.method ?? "GET"} ${url}: ${last.cause?.code ?? ""} ${last.cause?.message ?? last.message}`);
}

async function get(base, path = PATH) {
  const r = await fetchOr(base + path);
  const body = await r.arrayBuffer();
  return { status: r.status, cache: r.headers.get("x-cache"), bytes: body.byteLength, text: () => new TextDecoder().decode(body) };
}

async function cron(worker) {
  const r = await fetchOr(worker.cron + CRON);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`cron trigger ${worker.cron}: ${r.status} ${text}`);
  return text;
}

/** Empty Redis, the side's cron warmup, then requests until one is a HIT. */
async function prepare(name, worker) {
  flush();
  await cron(worker);
  await sleep(300);
  let r;
  for (let i = 0; i < 3; i++) {
    // The peer's cron does not fill the edge cache: its first request reads Redis (HIT) and fills it.
    r = await get(worker.url);
    if (r.status === 200 && r.cache === "HIT") return r.bytes;
  }
  throw new Error(`${name} at ${worker.url}: expected a HIT after warmup, got ${r.status} ${r.cache}: ${r.text().slice(0, 200)}`);
}

// ---- what a deployment costs: Upstash commands and bytes per event --------------------

async function measure(side, what, run) {
  await resetStats();
  const info = (await run()) ?? {};
  const s = await settledStats();
  emit({ kind: "cost", side, what, requests: s.requests, commands: s.commands, request_bytes: s.requestBytes, response_bytes: s.responseBytes, ...info });
}

const exchangeCounts = {};
async function rawCount(market) {
  const path = market === "spot" ? "/api/v3/exchangeInfo?showPermissionSets=false" : "/fapi/v1/exchangeInfo";
  const r = await fetchOr(cfg.exchange + path);
  return (await r.json()).symbols.length;
}

/** The fake exchange drops one symbol from both markets (on) or serves them whole (off). */
async function shrinkByOne(on) {
  for (const market of ["spot", "futures"]) {
    exchangeCounts[market] ??= await rawCount(market);
    const sticky = on ? { kind: "shrink", keep: exchangeCounts[market] - 1 } : null;
    const r = await fetchOr(`${cfg.exchange}/__control/faults`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ market, sticky }),
    });
    if (!r.ok) throw new Error(`fake exchange faults: ${r.status} ${await r.text()}`);
  }
}

async function costs(side, workers) {
  const hit = async (worker) => {
    const r = await get(worker.url);
    return { cache: r.cache, status: r.status };
  };
  const redisOnly = workers[`${side}_redis`];
  // Refreshes: one cron run (spot + futures) into an empty Redis, then with both lists as
  // they are (unchanged), then with one symbol fewer in each (changed).
  flush();
  await measure(side, "refresh_first", async () => ({ outcome: await cron(redisOnly) }));
  await measure(side, "refresh_unchanged", async () => ({ outcome: await cron(redisOnly) }));
  await shrinkByOne(true);
  try {
    await measure(side, "refresh_changed", async () => ({ outcome: await cron(redisOnly) }));
  } finally {
    await shrinkByOne(false);
  }
  // Hits, one request each once warm (the hit counter included: it is sent after the response).
  await prepare(`${side}_redis`, redisOnly);
  await measure(side, "redis_hit", () => hit(redisOnly));
  for (const tier of ["edge", "isolate"]) {
    const worker = workers[`${side}_${tier}`];
    if (!worker) continue;
    await prepare(`${side}_${tier}`, worker);
    await get(worker.url);
    await settledStats();
    await measure(side, `${tier}_hit`, () => hit(worker));
  }
  // A miss: empty Redis, one request.
  flush();
  await measure(side, "miss", () => hit(redisOnly));
}

// ---- load -----------------------------------------------------------------------------

function ms(v, unit) {
  const x = Number(v);
  return { us: x / 1000, ms: x, s: x * 1000, m: x * 60000 }[unit] ?? NaN;
}

function runWrk(url, conc) {
  const threads = Math.min(conc, 2);
  const r = spawnSync(cfg.toolPath, ["-t", String(threads), "-c", String(conc), "-d", `${cfg.duration}s`, "--timeout", "10s", "--latency", url], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const out = r.stdout;
  const pct = (p) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    return m ? ms(m[1], m[2]) : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors:.*/.exec(out)?.[0] ?? null;
  return { rps, p50: pct(50), p99: pct(99), requests: total, errors: non2xx, socket_errors: socketErrors };
}

function runOha(url, conc) {
  let r = spawnSync(cfg.toolPath, ["-z", `${cfg.duration}s`, "-c", String(conc), "--no-tui", "--output-format", "json", url], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) r = spawnSync(cfg.toolPath, ["-z", `${cfg.duration}s`, "-c", String(conc), "--no-tui", "-j", url], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`oha failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout);
  const codes = j.statusCodeDistribution ?? {};
  const ok = Number(codes["200"] ?? 0);
  const total = Object.values(codes).reduce((a, b) => a + Number(b), 0);
  return { rps: j.summary.requestsPerSec, p50: j.latencyPercentiles.p50 * 1000, p99: j.latencyPercentiles.p99 * 1000, requests: total, errors: total - ok, socket_errors: null };
}

async function load(runtime, name, worker, conc, rep) {
  const bytes = worker.side === "trivial" ? (await get(worker.url)).bytes : await prepare(name, worker);
  log(`load: ${runtime} ${name}, concurrency ${conc}, ${cfg.duration} s`);
  await resetStats();
  const res = cfg.tool === "oha" ? runOha(worker.url + PATH, conc) : runWrk(worker.url + PATH, conc);
  // What the run cost in Redis (what Upstash bills), counters included once they land.
  const billed = await settledStats();
  const after = await get(worker.url);
  emit({
    kind: "load", runtime, name, side: worker.side, conc, rep, body_bytes: bytes, last_cache: after.cache,
    redis_requests: billed.requests, redis_commands: billed.commands, redis_request_bytes: billed.requestBytes, redis_response_bytes: billed.responseBytes,
    ...res,
  });
}

async function main() {
  const costWorkers = cfg.runtimes[cfg.costRuntime];
  for (const side of ["ours", "peer"]) {
    log(`costs: ${side} (${cfg.costRuntime})`);
    await costs(side, costWorkers);
  }
  // Within a runtime and concurrency the Workers run one after the other, the order reversed
  // on every other repeat, so a change in machine speed hits all alike; report.mjs takes
  // the medians and the ratios.
  for (const [runtime, workers] of Object.entries(cfg.runtimes)) {
    const names = Object.keys(workers);
    for (const conc of cfg.concurrency) {
      for (let rep = 0; rep < (cfg.repeats ?? 1); rep++) {
        const order = rep % 2 ? [...names].reverse() : names;
        for (const name of order) await load(runtime, name, workers[name], conc, rep);
      }
    }
  }
}

main().catch((e) => {
  console.error(`[bench] stack.mjs: ${e.stack ?? e}`);
  process.exit(1);
});
