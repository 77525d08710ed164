// The HTTP half of scripts/bench.sh: Redis round trips per request and per cron warmup
// (counted at the gateway), and the hit-path load runs (wrk or oha), for our Worker and
// the peer, against the stack bench.sh started. Prints one JSON line per measurement.
//
//   node bench/stack.mjs CONFIG.json
//
// CONFIG: {"gateway": URL, "token": T, "redisPort": P, "duration": seconds,
//          "concurrency": [1, 32], "tool": "wrk"|"oha", "toolPath": PATH,
//          "workers": {"ours": {"30": URL, "0": URL}, "peer": {"30": URL, "0": URL}}}
// (keys of each side's map are EDGE_CACHE_TTL_SECONDS values).
//
// Both sides use the same Redis keys, with different document formats, so each
// measurement starts from an empty Redis (FLUSHALL, straight to redis-server, not through
// the gateway) and that side's cron warmup.
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const PATH = "/api/symbols/spot";
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
    if (last && s.requests === last.requests && s.commands === last.commands && i >= 2) return s;
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

async function cron(base) {
  const r = await fetchOr(`${base}/__scheduled?cron=*/5+*+*+*+*`);
  if (r.status !== 200) throw new Error(`cron trigger ${base}: ${r.status} ${await r.text()}`);
}

/** Empty Redis, the side's cron warmup, then one request that must be a HIT. */
async function prepare(side, base) {
  flush();
  await cron(base);
  await sleep(300);
  let r = await get(base);
  if (r.status !== 200 || r.cache !== "HIT") {
    // The peer's cron does not fill the edge cache: the first request reads Redis (HIT) and fills it.
    r = await get(base);
  }
  if (r.status !== 200 || r.cache !== "HIT") throw new Error(`${side} at ${base}: expected a HIT after warmup, got ${r.status} ${r.cache}: ${r.text().slice(0, 200)}`);
  return r.bytes;
}

async function trips(side, what, run) {
  await resetStats();
  const info = await run();
  const s = await settledStats();
  emit({ kind: "trips", side, what, requests: s.requests, commands: s.commands, ...info });
}

async function roundTrips(side) {
  const edgeOff = cfg.workers[side]["0"];
  const edgeOn = cfg.workers[side]["30"];
  flush();
  await trips(side, "cron", async () => {
    await cron(edgeOff);
    return {};
  });
  await trips(side, "hit", async () => {
    const r = await get(edgeOff);
    return { cache: r.cache, status: r.status };
  });
  flush();
  await trips(side, "miss", async () => {
    const r = await get(edgeOff);
    return { cache: r.cache, status: r.status };
  });
  await prepare(side, edgeOn);
  await get(edgeOn);
  await trips(side, "edge_hit", async () => {
    const r = await get(edgeOn);
    return { cache: r.cache, status: r.status };
  });
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

async function load(side, edge, conc, rep) {
  const base = cfg.workers[side][edge];
  const bytes = await prepare(side, base);
  log(`load: ${side}, edge cache ${edge === "0" ? "off" : edge + " s"}, concurrency ${conc}, ${cfg.duration} s`);
  await resetStats();
  const res = cfg.tool === "oha" ? runOha(base + PATH, conc) : runWrk(base + PATH, conc);
  // What the run cost in Redis (what Upstash bills), counters included once they land.
  const billed = await settledStats();
  const after = await get(base);
  emit({ kind: "load", side, edge: Number(edge), conc, rep, body_bytes: bytes, last_cache: after.cache, redis_requests: billed.requests, redis_commands: billed.commands, ...res });
}

async function main() {
  for (const side of ["ours", "peer"]) {
    log(`round trips: ${side}`);
    await roundTrips(side);
  }
  // Interleaved, and alternating which side goes first, so that a change in machine
  // speed hits both sides alike; report.mjs takes the medians.
  for (const edge of ["30", "0"]) {
    for (const conc of cfg.concurrency) {
      for (let rep = 0; rep < (cfg.repeats ?? 1); rep++) {
        const order = rep % 2 ? ["peer", "ours"] : ["ours", "peer"];
        for (const side of order) await load(side, edge, conc, rep);
      }
    }
  }
}

main().catch((e) => {
  console.error(`[bench] stack.mjs: ${e.stack ?? e}`);
  process.exit(1);
});
