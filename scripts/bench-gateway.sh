#!/usr/bin/env bash
# Benchmarks the local Upstash gateway against direct Redis access.
#
# Starts a throwaway redis-server (temp dir, free port) and the release-built gateway, then runs
# the `gateway-bench` example: GET and SET of 1 KB and 400 KB values at concurrency 1 and 32,
# through the gateway (HTTP) and directly (RESP), printing requests/s and p50/p99 latency.
#
# Usage: scripts/bench-gateway.sh [gateway-bench flags, e.g. --small-requests 5000]
# Env:   BENCH_SKIP_BUILD=1 to use already built binaries; CARGO_TARGET_DIR is honoured.
#        The release build turns LTO off by default (CARGO_PROFILE_RELEASE_LTO) to keep it quick.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
gateway_bin="$target_dir/release/upstash-gateway"
bench_bin="$target_dir/release/examples/gateway-bench"

command -v redis-server >/dev/null || { echo "bench-gateway: redis-server not found (apt-get install redis-server)" >&2; exit 1; }

if [[ "${BENCH_SKIP_BUILD:-0}" != "1" ]]; then
  export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-false}"
  export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-16}"
  (cd "$root" && cargo build --release -p upstash-gateway --bin upstash-gateway --example gateway-bench)
fi
[[ -x "$gateway_bin" && -x "$bench_bin" ]] || { echo "bench-gateway: missing $gateway_bin or $bench_bin" >&2; exit 1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! port_in_use "$port"; then echo "$port"; return 0; fi
  done
  echo "bench-gateway: no free port found" >&2
  return 1
}
wait_port() {
  for _ in $(seq 1 100); do
    port_in_use "$1" && return 0
    sleep 0.1
  done
  echo "bench-gateway: nothing listening on 127.0.0.1:$1" >&2
  return 1
}

tmp="$(mktemp -d)"
redis_pid=""
gateway_pid=""
cleanup() {
  [[ -n "$gateway_pid" ]] && kill "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null
  [[ -n "$redis_pid" ]] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" \
  --daemonize no --loglevel warning >"$tmp/redis.log" 2>&1 &
redis_pid=$!
wait_port "$redis_port"

gateway_port="$(free_port)"
token="bench-$RANDOM$RANDOM"
GATEWAY_LOG=warn "$gateway_bin" --listen "127.0.0.1:$gateway_port" \
  --redis-url "redis://127.0.0.1:$redis_port" --token "$token" >"$tmp/gateway.log" 2>&1 &
gateway_pid=$!
wait_port "$gateway_port"

echo "redis-server $(redis-server --version | awk '{print $3}') on :$redis_port, gateway on :$gateway_port, $(nproc) cores"
GATEWAY_TOKEN="$token" "$bench_bin" --gateway-url "http://127.0.0.1:$gateway_port" \
  --redis-url "redis://127.0.0.1:$redis_port" "$@"
