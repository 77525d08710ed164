#!/usr/bin/env bash
# Soak test: the hit path under sustained load while the cron fires every few seconds and
# the exchange fails every other request. Not part of `make test`. See README.md, "Soak test".
#
#   scripts/soak.sh            (or: make soak; SOAK_SECONDS=600 make soak)
#
# Builds what it needs (scripts/build.sh, the release gateway and fake exchange), then starts
# on free ports in a temp dir: redis-server, the gateway, the fake exchange and the built
# Worker (a copy of build/) under `wrangler dev` (workerd). It warms both markets once,
# switches the fake exchange to fail every other request (500 -1001) for both markets, and
# for SOAK_SECONDS:
#   - wrk (or oha) holds SOAK_CONCURRENCY connections on GET /api/symbols/spot;
#   - the cron is fired every SOAK_CRON_EVERY seconds (wrangler's /__scheduled endpoint);
#   - the RSS of the workerd processes (the Worker's runtime, wrangler's dev proxy) is
#     sampled every 10 s.
# Then it reads the counters from Redis, tears everything down (also on Ctrl-C or failure),
# prints one summary table and writes it to bench/results/soak-latest.md.
#
# Env: SOAK_SECONDS=60  SOAK_CONCURRENCY=64  SOAK_CRON_EVERY=3  SOAK_THREADS=2 (load tool)
#      SOAK_PATH=/api/symbols/spot  SOAK_LOAD_TOOL=wrk|oha  SOAK_SKIP_BUILD=1 (use what is
#      built)  SOAK_EDGE_CACHE_TTL=<s> (the Worker's EDGE_CACHE_TTL_SECONDS; 0 = every hit
#      from Redis)  SOAK_TARGET=proxy|direct (direct, experimental: load and cron go
#      straight to the workerd running the Worker, bypassing wrangler's dev proxy)
#      SOAK_REDIS_DOWN=1 (stop the gateway for the middle third: the Redis-down path)
#      SOAK_LOG_LEVEL=warn (wrangler's)  SOAK_KEEP=1 (keep the temp dir: every log, and
#      rss-processes.txt with each process's RSS and CPU time per sample)
# Exit status: 1 when a request failed (non-2xx or socket error) or the stack did not start.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECS="${SOAK_SECONDS:-60}"
CONC="${SOAK_CONCURRENCY:-64}"
CRON_EVERY="${SOAK_CRON_EVERY:-3}"
THREADS="${SOAK_THREADS:-2}"
HIT_PATH="${SOAK_PATH:-/api/symbols/spot}"
CRON_PATH='/__scheduled?cron=*/5+*+*+*+*'
TOKEN="soak-token-$RANDOM$RANDOM$RANDOM"
for v in SECS CONC CRON_EVERY THREADS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || { echo "[soak] $v must be a positive integer" >&2; exit 2; }
done

STACK_NAME=soak
# shellcheck source=scripts/lib/stack.sh
. "$ROOT/scripts/lib/stack.sh"
stack_init "${SOAK_KEEP:-0}" logs

# ---- build and tools -----------------------------------------------------------------
for tool in node curl; do command -v "$tool" >/dev/null || die "$tool not found"; done
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ "${SOAK_SKIP_BUILD:-0}" != 1 ]; then
  if [ -f build/index.js ] && [ -d node_modules/wrangler ]; then
    say "building the Worker (scripts/build.sh, setup skipped: build/ exists)"
    SYMBOLS_SKIP_SETUP=1 ./scripts/build.sh
  else
    say "building the Worker (scripts/build.sh)"
    ./scripts/build.sh
  fi
  say "cargo build --release -p upstash-gateway -p fake-exchange"
  cargo build -q --release --locked -p upstash-gateway -p fake-exchange
fi
[ -f build/index.js ] && [ -f build/index_bg.wasm ] || die "build/ is missing: run scripts/build.sh"
[ -f node_modules/wrangler/bin/wrangler.js ] || die "wrangler is missing: run scripts/setup.sh"
for bin in upstash-gateway fake-exchange; do
  [ -x "$TARGET/release/$bin" ] || die "$TARGET/release/$bin missing (run without SOAK_SKIP_BUILD)"
done
need_redis

pick_load_tool "${SOAK_LOAD_TOOL:-}"
command -v "$LOAD_TOOL" >/dev/null || die "$LOAD_TOOL not found"

# ---- the stack -----------------------------------------------------------------------
stack_backends_up

COMPAT="$(sed -n 's/^compatibility_date *= *"\(.*\)"/\1/p' wrangler.toml | head -n1)"
mkdir -p "$TMP/worker"
# A snapshot of build/: wrangler dev reloads the Worker when `main` changes, and someone may
# rebuild build/ during the soak (same code otherwise: main is build/index.js).
cp -R build "$TMP/build"
cat > "$TMP/worker/wrangler.toml" <<TOML
name = "symbols-edge-soak"
main = "$TMP/build/index.js"
compatibility_date = "$COMPAT"

[triggers]
crons = ["*/5 * * * *"]

[vars]
REDIS_REST_URL = "$GATEWAY"
SPOT_API_BASES = "$EXCHANGE"
FUTURES_API_BASES = "$EXCHANGE"
TOML
[ -n "${SOAK_EDGE_CACHE_TTL:-}" ] && echo "EDGE_CACHE_TTL_SECONDS = \"$SOAK_EDGE_CACHE_TTL\"" >> "$TMP/worker/wrangler.toml"
printf 'REDIS_REST_TOKEN="%s"\n' "$TOKEN" > "$TMP/worker/.dev.vars"
say "starting redis-server :$REDIS_PORT, gateway :$GATEWAY_PORT, fake exchange :$EXCHANGE_PORT, then wrangler dev"
start_worker() {
  free_port; WORKER_PORT="$FREE_PORT"
  # A fresh log per attempt: the readiness check below greps it for this attempt's failure.
  : > "$TMP/worker.log"
  start_wrangler "$TMP/worker" "$WORKER_PORT" "$TMP/worker.log" "${SOAK_LOG_LEVEL:-warn}"
  WRANGLER_PID="$LAST_PID"
  WORKER="http://127.0.0.1:$WORKER_PORT"
}
# Ready when it serves /openapi.json. Now and then (a loaded machine) workerd does not come
# up ("The Workers runtime failed to start") and wrangler waits forever: retry twice.
READY=0
for attempt in 1 2 3; do
  start_worker
  say "wrangler dev :$WORKER_PORT (attempt $attempt)"
  for _ in $(seq 1 600); do
    if curl -fsS -m 2 -o /dev/null "$WORKER/openapi.json" 2>/dev/null; then READY=1; break; fi
    grep -q 'runtime failed to start' "$TMP/worker.log" 2>/dev/null && break
    kill -0 "$WRANGLER_PID" 2>/dev/null || break
    sleep 0.2
  done
  [ "$READY" = 1 ] && break
  cp "$TMP/worker.log" "$TMP/worker-failed-$attempt.log"
  say "wrangler dev did not come up; last lines of its log:"
  tail -n 5 "$TMP/worker.log" >&2 || true
  stop_tree "$WRANGLER_PID"
  forget "$WRANGLER_PID"
done
[ "$READY" = 1 ] || die "wrangler dev did not start (logs: $TMP/worker-failed-*.log)"

# The workerd running the Worker is the one with the inspector; the other one runs
# wrangler's dev proxy (it owns the dev port and forwards every request).
runtime_pid() {
  local pid
  for pid in $(descendants "$WRANGLER_PID"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = workerd ] || continue
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- '--inspector-addr' && { echo "$pid"; return 0; }
  done
  return 1
}
RUNTIME_PID="$(runtime_pid || true)"
LOAD_BASE="$WORKER"
if [ "${SOAK_TARGET:-proxy}" = direct ]; then
  # The runtime's own entry socket (a free port chosen by workerd), found by asking each
  # port it listens on for /openapi.json.
  [ -n "$RUNTIME_PID" ] || die "cannot tell the Worker's workerd process"
  for port in $(ss -Hltnp 2>/dev/null | grep "pid=$RUNTIME_PID," | awk '{print $4}' | sed 's/.*://'); do
    if curl -fsS -m 5 -o /dev/null "http://127.0.0.1:$port/openapi.json" 2>/dev/null; then
      LOAD_BASE="http://127.0.0.1:$port"
      break
    fi
  done
  [ "$LOAD_BASE" != "$WORKER" ] || die "could not find the runtime's entry port (ss -ltnp)"
  say "SOAK_TARGET=direct: load and cron go to the runtime's entry $LOAD_BASE, bypassing wrangler's proxy"
  WORKER="$LOAD_BASE"
fi

# VmRSS (kB) of the workerd processes under our wrangler: "<all> <the Worker's runtime>".
workerd_rss_kb() {
  local total=0 runtime=0 pid rss
  for pid in $(descendants "$WRANGLER_PID"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = workerd ] || continue
    rss="$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null)"
    total=$((total + ${rss:-0}))
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- '--inspector-addr' && runtime=$((runtime + ${rss:-0}))
  done
  echo "$total $runtime"
}
rss_sample() {
  echo "$1 $(date +%s) $(workerd_rss_kb)" >> "$TMP/rss.txt"
  # The Worker's own view: its wasm linear memory (grows only; flat under load = no leak).
  echo "$1 $(curl -sS -m 10 "$WORKER/metrics" 2>/dev/null | awk '/^symbols_instance_wasm_memory_bytes /{print $2}')" >> "$TMP/wasm.txt"
  # Per process too: pid, command, RSS kB, CPU time so far (utime + stime, clock ticks).
  local pid
  for pid in $(descendants "$WRANGLER_PID") "$WRANGLER_PID"; do
    printf '%s %s %s %s %s\n' "$1" "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null)" \
      "$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null)" \
      "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}')"
  done >> "$TMP/rss-processes.txt"
}

# Warm both markets while the exchange still answers, then make it fail every other request.
code="$(curl -sS -m 60 -o /dev/null -w '%{http_code}' "$WORKER$CRON_PATH" || true)"
[ "$code" = 200 ] || die "the warm-up cron answered HTTP $code"
curl -fsS -m 30 -o /dev/null "$WORKER$HIT_PATH" || die "GET $HIT_PATH failed after the warm-up"
for market in spot futures; do
  curl -fsS -m 5 -o /dev/null -X POST -H 'content-type: application/json' \
    -d "{\"market\":\"$market\",\"fail_every_other\":true}" "$EXCHANGE/__control/faults" ||
    die "could not set the fake exchange's fault mode"
done
COUNTERS="metrics:warmup_spot_symbols_cache:success metrics:warmup_spot_symbols_cache:error metrics:warmup_futures_symbols_cache:success metrics:warmup_futures_symbols_cache:error metrics:cache_hit:symbols_spot metrics:cache_miss:symbols_spot"
# shellcheck disable=SC2086
redis-cli -p "$REDIS_PORT" --raw MGET $COUNTERS > "$TMP/counters.before"
curl -fsS -m 5 "$EXCHANGE/__control/stats" > "$TMP/exchange.before"
sleep 2
rss_sample before

# ---- the soak ------------------------------------------------------------------------
say "soaking for $SECS s: $LOAD_TOOL, $CONC connections on GET $HIT_PATH; cron every $CRON_EVERY s; exchange failing every other request"
: > "$TMP/cron.txt"
(
  trap 'wait; exit 0' TERM
  while :; do
    # (curl prints 000 itself when there is no answer.)
    ( printf '%s %s\n' "$(date +%s)" "$(curl -sS -m 30 -o /dev/null -w '%{http_code}' "$WORKER$CRON_PATH" 2>/dev/null || true)" >> "$TMP/cron.txt" ) &
    sleep "$CRON_EVERY"
  done
) &
CRON_LOOP=$!
PIDS+=("$CRON_LOOP")
(
  while :; do sleep 10; rss_sample during; done
) &
RSS_LOOP=$!
PIDS+=("$RSS_LOOP")
# SOAK_REDIS_DOWN=1: the gateway (Redis, for the Worker) is stopped for the middle third.
: > "$TMP/redis-outage.txt"
if [ "${SOAK_REDIS_DOWN:-0}" = 1 ]; then
  (
    sleep $((SECS / 3))
    pkill -f -- "upstash-gateway --listen 127.0.0.1:$GATEWAY_PORT" || true
    echo "down $(date +%s)" >> "$TMP/redis-outage.txt"
    sleep $((SECS / 3))
    start_gateway "$GATEWAY_PORT"
    echo "up $(date +%s)" >> "$TMP/redis-outage.txt"
    wait
  ) &
  OUTAGE=$!
  PIDS+=("$OUTAGE")
fi

if [ "$LOAD_TOOL" = wrk ]; then
  cat > "$TMP/wrk.lua" <<'LUA'
-- Counts statuses and X-Cache values per thread; done() merges them and prints one JSON line.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {}; caches = {} end
function response(status, headers, body)
  local s = tostring(status)
  statuses[s] = (statuses[s] or 0) + 1
  local c = "none"
  for k, v in pairs(headers) do
    if string.lower(k) == "x-cache" then c = v end
  end
  caches[c] = (caches[c] or 0) + 1
end
local function merge(into, from)
  for k, v in pairs(from or {}) do into[k] = (into[k] or 0) + v end
end
local function obj(t)
  local parts = {}
  for k, v in pairs(t) do table.insert(parts, string.format('"%s":%d', k, v)) end
  return "{" .. table.concat(parts, ",") .. "}"
end
function done(summary, latency, requests)
  local st, ca = {}, {}
  for _, t in ipairs(threads) do merge(st, t:get("statuses")); merge(ca, t:get("caches")) end
  local e = summary.errors
  io.write(string.format(
    'SOAKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f},"statuses":%s,"xcache":%s}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean,
    obj(st), obj(ca)))
end
LUA
  wrk -t "$THREADS" -c "$CONC" -d "${SECS}s" --timeout 10s --latency -s "$TMP/wrk.lua" "$WORKER$HIT_PATH" > "$TMP/load.txt" 2>&1 ||
    say "wrk exited with an error (see $TMP/load.txt)"
  grep '^SOAKJSON ' "$TMP/load.txt" | sed 's/^SOAKJSON //' > "$TMP/load.json" || true
else
  oha -z "${SECS}s" -c "$CONC" --no-tui --output-format json -t 10s "$WORKER$HIT_PATH" > "$TMP/load.raw.json" 2> "$TMP/load.txt" ||
    say "oha exited with an error (see $TMP/load.txt)"
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const us = (s) => Math.round((s || 0) * 1e6);
    const p = r.latencyPercentiles || {};
    const statuses = r.statusCodeDistribution || {};
    const errors = Object.values(r.errorDistribution || {}).reduce((a, b) => a + b, 0);
    const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
    console.log(JSON.stringify({ requests, duration_us: us(r.summary.total), bytes: r.summary.totalData || 0,
      errors: { connect: 0, read: errors, write: 0, status: 0, timeout: 0 },
      latency_us: { p50: us(p.p50), p90: us(p.p90), p99: us(p.p99), p999: us(p["p99.9"]), max: us(r.summary.slowest), mean: us(r.summary.average) },
      statuses, xcache: {} }));' "$TMP/load.raw.json" > "$TMP/load.json" || true
fi
[ -s "$TMP/load.json" ] || { tail -n 20 "$TMP/load.txt" >&2; die "the load tool produced no result"; }

# ---- after ---------------------------------------------------------------------------
# The cron loop stops after its current sleep and waits for the runs in flight (their
# outcomes land in Redis); the sampler just stops.
kill -TERM "$CRON_LOOP" 2>/dev/null || true
wait "$CRON_LOOP" 2>/dev/null || true
stop_tree "$RSS_LOOP"
forget "$CRON_LOOP" "$RSS_LOOP"
rss_sample after
sleep 5
rss_sample idle
# shellcheck disable=SC2086
redis-cli -p "$REDIS_PORT" --raw MGET $COUNTERS > "$TMP/counters.after"
redis-cli -p "$REDIS_PORT" --raw --scan --pattern 'metrics:upstream_failure:*' | sort | while read -r key; do
  echo "$key $(redis-cli -p "$REDIS_PORT" --raw GET "$key")"
done > "$TMP/failures.txt"
curl -fsS -m 5 "$EXCHANGE/__control/stats" > "$TMP/exchange.after" || echo '{}' > "$TMP/exchange.after"
curl -fsS -m 10 "$WORKER/api/symbols/metrics" > "$TMP/metrics.json" 2>/dev/null || echo '{}' > "$TMP/metrics.json"
LAST_CODE="$(curl -sS -m 30 -o /dev/null -w '%{http_code}' "$LOAD_BASE$HIT_PATH" 2>/dev/null || true)"

COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
mkdir -p bench/results
node - "$TMP" "$SECS" "$CONC" "$CRON_EVERY" "$LOAD_TOOL" "$HIT_PATH" "$COMMIT" "$LAST_CODE" "$COUNTERS" "${SOAK_TARGET:-proxy}" "$RUNTIME_PID" "$(getconf CLK_TCK)" > "$TMP/summary.md" <<'NODE'
const fs = require("fs");
const [dir, secs, conc, cronEvery, tool, path, commit, lastCode, counterNames, target, runtimePid, clkTck] = process.argv.slice(2);
const read = (f) => fs.readFileSync(`${dir}/${f}`, "utf8");
const load = JSON.parse(read("load.json"));
const ms = (us) => (us / 1000).toFixed(us < 10000 ? 2 : 1);
const lines = (f) => read(f).split("\n").filter(Boolean);
const names = counterNames.split(" ");
// One line per key, empty for a missing key.
const counters = (f) => { const v = read(f).split("\n"); return Object.fromEntries(names.map((n, i) => [n, Number(v[i]) || 0])); };
const before = counters("counters.before"), after = counters("counters.after");
const delta = (k) => (after[k] || 0) - (before[k] || 0);
const cron = lines("cron.txt").map((l) => l.split(" ")[1]);
const cronCodes = {};
for (const c of cron) cronCodes[c] = (cronCodes[c] || 0) + 1;
// rss.txt: "<phase> <unix s> <all workerd kB> <the Worker's runtime kB>".
const rss = lines("rss.txt").map((l) => {
  const [phase, t, all, runtime] = l.split(" ").map((x, i) => (i ? Number(x) : x));
  return { phase, t, all: all / 1024, runtime: runtime / 1024, proxy: (all - runtime) / 1024 };
});
const mb = (x) => x.toFixed(1);
const during = rss.filter((r) => r.phase === "during");
const at = (p, k) => mb((rss.find((r) => r.phase === p) || { [k]: 0 })[k]);
// Least-squares slope over the samples under load, MB per minute.
const slope = (k) => {
  if (during.length < 2) return 0;
  const t0 = during[0].t, n = during.length;
  const xs = during.map((r) => (r.t - t0) / 60), ys = during.map((r) => r[k]);
  const mx = xs.reduce((a, b) => a + b) / n, my = ys.reduce((a, b) => a + b) / n;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return sxx ? xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / sxx : 0;
};
const rssRows = [["all workerd processes", "all"], ["the Worker's runtime", "runtime"], ["wrangler's dev proxy", "proxy"]].map(([label, k]) => {
  const s = slope(k);
  return [`RSS, ${label} (MB): before; every 10 s under load; after, +5 s idle; trend`,
    `${at("before", k)}; ${during.map((r) => mb(r[k])).join(", ")}; ${at("after", k)}, ${at("idle", k)}; ${s >= 0 ? "+" : ""}${s.toFixed(1)} MB/min`];
});
// wasm.txt: "<phase> <bytes>" (empty when the scrape failed under load).
const wasm = lines("wasm.txt").map((l) => l.split(" ")).map(([phase, b]) => ({ phase, mb: b ? mb(Number(b) / 1048576) : "?" }));
const wasmAt = (p) => (wasm.find((w) => w.phase === p) || { mb: "?" }).mb;
const wasmRow = ["wasm linear memory of the Worker (MB, from /metrics): before; every 10 s under load; after, +5 s idle",
  `${wasmAt("before")}; ${wasm.filter((w) => w.phase === "during").map((w) => w.mb).join(", ")}; ${wasmAt("after")}, ${wasmAt("idle")}`];
// CPU seconds used between the "before" and "after" samples, per kind of process.
const procs = lines("rss-processes.txt").map((l) => { const [phase, pid, comm, , ticks] = l.split(" "); return { phase, pid, comm, ticks: Number(ticks) || 0 }; });
const kind = (p) => (p.pid === runtimePid ? "runtime" : p.comm === "workerd" ? "proxy" : p.comm === "node" ? "node" : "other");
const cpu = { runtime: 0, proxy: 0, node: 0, other: 0 };
for (const a of procs.filter((p) => p.phase === "after")) {
  const b = procs.find((p) => p.phase === "before" && p.pid === a.pid);
  cpu[kind(a)] += (a.ticks - (b ? b.ticks : 0)) / Number(clkTck || 100);
}
const statuses = load.statuses || {};
const ok2xx = Object.entries(statuses).filter(([s]) => s.startsWith("2")).reduce((a, [, n]) => a + n, 0);
const non2xx = tool === "wrk" ? Object.entries(statuses).filter(([s]) => !s.startsWith("2")).reduce((a, [, n]) => a + n, 0)
  : load.requests - ok2xx;
const e = load.errors;
const socketErrors = e.connect + e.read + e.write + e.timeout;
const xcache = Object.entries(load.xcache || {}).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ") || "n/a";
const failures = lines("failures.txt").map((l) => { const [k, v] = l.split(" "); return `${k.replace("metrics:upstream_failure:symbols_", "")} ${v}`; });
const exB = JSON.parse(read("exchange.before") || "{}"), exA = JSON.parse(read("exchange.after") || "{}");
const exReq = (m) => ((exA[m] || {}).requests || 0) - ((exB[m] || {}).requests || 0);
let metrics = {};
try { metrics = JSON.parse(read("metrics.json")); } catch {}
const outcome = (m) => {
  const o = ((metrics.markets || metrics)[m] || {}).lastOutcome;
  return o ? (typeof o === "string" ? o : JSON.stringify(o)) : "n/a";
};
const seconds = load.duration_us / 1e6;
const rows = [
  ["run", `${new Date().toISOString().replace(/\.\d+Z$/, "Z")}, commit ${commit}, ${require("os").cpus().length} cores, ${tool}`],
  ["load", `GET ${path}, ${conc} connections, ${seconds.toFixed(0)} s, ${target === "direct" ? "straight to the Worker's workerd (wrangler's dev proxy bypassed)" : "through wrangler dev's port"}`],
  ["requests served", `${load.requests} (${(load.requests / seconds).toFixed(0)} req/s)`],
  ["non-2xx responses", `${non2xx}${non2xx ? " (" + JSON.stringify(statuses) + ")" : ""}`],
  ["socket errors (connect/read/write/timeout)", `${e.connect}/${e.read}/${e.write}/${e.timeout}`],
  ["latency p50 / p90 / p99 / p99.9 / max", `${ms(load.latency_us.p50)} / ${ms(load.latency_us.p90)} / ${ms(load.latency_us.p99)} / ${ms(load.latency_us.p999)} / ${ms(load.latency_us.max)} ms`],
  ["X-Cache", xcache],
  ["cron runs fired (every " + cronEvery + " s)", `${cron.length} (HTTP ${Object.entries(cronCodes).map(([c, n]) => `${c}: ${n}`).join(", ") || "none"})`],
  ["warmups during the soak: spot ok / error", `${delta("metrics:warmup_spot_symbols_cache:success")} / ${delta("metrics:warmup_spot_symbols_cache:error")}`],
  ["warmups during the soak: futures ok / error", `${delta("metrics:warmup_futures_symbols_cache:success")} / ${delta("metrics:warmup_futures_symbols_cache:error")}`],
  ["warmup counters at the end (spot ok/err, futures ok/err)", `${after["metrics:warmup_spot_symbols_cache:success"]}/${after["metrics:warmup_spot_symbols_cache:error"]}, ${after["metrics:warmup_futures_symbols_cache:success"]}/${after["metrics:warmup_futures_symbols_cache:error"]}`],
  ["upstream failures recorded", failures.join(", ") || "none"],
  ["fake exchange requests during the soak", `spot ${exReq("spot")}, futures ${exReq("futures")} (every other one failed)`],
  ["hit/miss counters during the soak (spot)", `${delta("metrics:cache_hit:symbols_spot")} / ${delta("metrics:cache_miss:symbols_spot")}`],
  ["last outcome", `spot ${outcome("spot")}; futures ${outcome("futures")}`],
  ["GET after the soak", `HTTP ${lastCode}`],
  ...rssRows,
  wasmRow,
  ["CPU seconds during the soak: Worker's runtime / wrangler's dev proxy / wrangler (node)", `${cpu.runtime.toFixed(0)} / ${cpu.proxy.toFixed(0)} / ${cpu.node.toFixed(0)} s (of ${(seconds * require("os").cpus().length).toFixed(0)} core-seconds)`],
];
console.log(`## Soak test (${secs} s)\n`);
console.log("| metric | value |\n|---|---|");
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
console.log(`\nResult: ${non2xx === 0 && socketErrors === 0 ? "PASS (every request answered 2xx)" : "FAIL (" + non2xx + " non-2xx, " + socketErrors + " socket errors)"}`);
NODE
if [ -s "$TMP/redis-outage.txt" ]; then
  read -r _ down < <(grep '^down' "$TMP/redis-outage.txt")
  read -r _ back < <(grep '^up' "$TMP/redis-outage.txt" || echo "up $down")
  printf '\nRedis outage (SOAK_REDIS_DOWN=1): the gateway was stopped for %s s, from %s to %s (unix s), in the middle third of the soak; the X-Cache values above include what was served meanwhile.\n' \
    "$((back - down))" "$down" "$back" >> "$TMP/summary.md"
fi
# The gateway restarted in the outage's subshell is not in PIDS: stop it by its port.
pkill -f -- "upstash-gateway --listen 127.0.0.1:$GATEWAY_PORT" 2>/dev/null || true
cp "$TMP/summary.md" bench/results/soak-latest.md
cat "$TMP/summary.md"
say "written to bench/results/soak-latest.md"
grep -q '^Result: PASS' "$TMP/summary.md" || exit 1
