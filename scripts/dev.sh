#!/usr/bin/env bash
# The main job, locally: redis-server (data in .local/redis), the Upstash-compatible
# gateway, and the Worker in workerd (wrangler dev), on embedded defaults. When Binance
# is unreachable (or with --offline / OFFLINE=1) the fake exchange serves the recorded
# payloads instead. Ctrl-C stops everything this script started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
REDIS_PORT="${REDIS_PORT:-6389}"
GATEWAY_PORT="${GATEWAY_PORT:-8079}"
EXCHANGE_PORT="${EXCHANGE_PORT:-8078}"
WORKER_PORT="${WORKER_PORT:-8787}"
TOKEN="${DEV_REDIS_TOKEN:-local-dev-token}"
OFFLINE="${OFFLINE:-0}"
[ "${1:-}" = "--offline" ] && OFFLINE=1
say() { printf '[dev] %s\n' "$*" >&2; }

for p in "$REDIS_PORT" "$GATEWAY_PORT" "$WORKER_PORT"; do
  if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
    say "port $p is already in use; set REDIS_PORT / GATEWAY_PORT / WORKER_PORT to free ones"; exit 1
  fi
done

# The build's tools and redis-server only (no test tools), then the build; wrangler dev
# runs the same build again as its [build] command (a no-change run: about a second) and
# rebuilds when a Rust source changes.
./scripts/setup.sh dev
SYMBOLS_SKIP_SETUP=1 ./scripts/build.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
say "building the gateway and the fake exchange"
cargo build -q --profile tools -p upstash-gateway -p fake-exchange

PIDS=()
cleanup() {
  trap - EXIT INT TERM
  say "stopping"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

mkdir -p .local/redis .local/logs
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$ROOT/.local/redis" --save 60 1 \
  --daemonize no --loglevel warning > .local/logs/redis.log 2>&1 &
PIDS+=($!)
GATEWAY_TOKEN="$TOKEN" target/tools/upstash-gateway --listen "127.0.0.1:$GATEWAY_PORT" \
  --redis-url "redis://127.0.0.1:$REDIS_PORT" > .local/logs/gateway.log 2>&1 &
PIDS+=($!)

SPOT_BASES="https://api.binance.com,https://data-api.binance.vision"
FUTURES_BASES="https://fapi.binance.com"
if [ "$OFFLINE" != 1 ] && ! curl -fsS -m 5 -o /dev/null https://api.binance.com/api/v3/ping 2>/dev/null; then
  say "Binance is unreachable from here: serving recorded payloads from the fake exchange (data marked upstream=http://127.0.0.1:$EXCHANGE_PORT)"
  OFFLINE=1
fi
if [ "$OFFLINE" = 1 ]; then
  target/tools/fake-exchange --listen "127.0.0.1:$EXCHANGE_PORT" --quiet > .local/logs/fake-exchange.log 2>&1 &
  PIDS+=($!)
  SPOT_BASES="http://127.0.0.1:$EXCHANGE_PORT"
  FUTURES_BASES="$SPOT_BASES"
fi

WRANGLER_SEND_METRICS=false node node_modules/wrangler/bin/wrangler.js dev \
  --ip 127.0.0.1 --port "$WORKER_PORT" --test-scheduled --persist-to .local/wrangler \
  --show-interactive-dev-session=false \
  --var "REDIS_REST_URL:http://127.0.0.1:$GATEWAY_PORT" --var "REDIS_REST_TOKEN:$TOKEN" \
  --var "SPOT_API_BASES:$SPOT_BASES" --var "FUTURES_API_BASES:$FUTURES_BASES" &
PIDS+=($!)

for _ in $(seq 1 300); do
  curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$WORKER_PORT/healthz" 2>/dev/null && break
  sleep 0.2
done
# Warm both markets once, as the cron would.
curl -fsS -m 30 -o /dev/null "http://127.0.0.1:$WORKER_PORT/__scheduled?cron=*/5+*+*+*+*" || true
say "serving on http://127.0.0.1:$WORKER_PORT  (try /api/symbols/spot, /api/symbols/futures/BTCUSDT, /metrics)"
say "Ctrl-C stops redis-server, the gateway$( [ "$OFFLINE" = 1 ] && echo ', the fake exchange') and the Worker"
wait -n "${PIDS[@]}"
