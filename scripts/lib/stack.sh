# shellcheck shell=bash
# The throwaway local stack that scripts/bench.sh and scripts/soak.sh measure: redis-server,
# the gateway, the fake exchange and `wrangler dev` on free ports in a temp dir, and the
# teardown of every process they started (also on Ctrl-C or failure). Sourced, never run:
# it defines functions and sets no shell option.
#
# The caller sets STACK_NAME (the log prefix: bench, soak) before sourcing, then calls
# stack_init. The start functions need ROOT (the checkout), TARGET (the cargo target dir,
# with release/upstash-gateway and release/fake-exchange built) and TOKEN (the gateway's).

say() { printf '[%s] %s\n' "$STACK_NAME" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# stack_init KEEP WHAT: sets TMP (a new temp dir) and PIDS (what cleanup stops) and owns the
# EXIT/INT/TERM traps. TMP is removed on success unless KEEP is 1; on failure it is kept and
# its path is said as "WHAT kept in $TMP".
stack_init() {
  STACK_KEEP="$1"
  STACK_KEPT="$2"
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/symbols-$STACK_NAME.XXXXXX")"
  PIDS=()
  trap stack_cleanup EXIT
  trap 'exit 130' INT TERM
}

# Every process we start, with its descendants (wrangler starts workerd), by pid only.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    descendants "$child"
    echo "$child"
  done
}
# stop_tree PID: TERM to PID and its descendants, KILL to what is left after 5 s.
stop_tree() {
  local pids pid alive=""
  pids="$(descendants "$1") $1"
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 1 50); do
    alive=""
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $alive 2>/dev/null || true
}
# forget PID...: drops them from PIDS once they are gone, so a recycled pid is never signalled.
forget() {
  local keep=() pid gone
  for pid in "${PIDS[@]}"; do
    for gone in "$@"; do [ "$pid" = "$gone" ] && continue 2; done
    keep+=("$pid")
  done
  PIDS=("${keep[@]}")
}
stack_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do stop_tree "$pid"; done
  wait 2>/dev/null || true
  if [ "$status" != 0 ] || [ "$STACK_KEEP" = 1 ]; then
    say "$STACK_KEPT kept in $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$status"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Below the kernel's ephemeral range: a port there can be taken at any moment by an outgoing
# connection (and thousands are made under load), which made wrangler fail with EADDRINUSE;
# workerd and wrangler also pick their own ports there.
EPHEMERAL_LOW="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
[ "${EPHEMERAL_LOW:-0}" -gt 12000 ] 2>/dev/null || EPHEMERAL_LOW=32768
TAKEN=" "
free_port() { # sets FREE_PORT (not echoed: a $(...) subshell would lose TAKEN)
  local port
  for _ in $(seq 1 100); do
    port=$((10000 + RANDOM % (EPHEMERAL_LOW - 10000)))
    if [[ "$TAKEN" != *" $port "* ]] && ! port_in_use "$port"; then
      TAKEN="$TAKEN$port "
      FREE_PORT="$port"
      return 0
    fi
  done
  die "no free port found"
}
http_ok() { curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; }
# up NAME START_FN READY_FN: starts a service on a free port (START_FN PORT sets
# LAST_PID), waits until READY_FN PORT succeeds; another free port when it exits at once
# (a port taken between the check and the bind). Sets UP_PORT.
up() {
  local name="$1" start="$2" ready="$3" port
  for _ in 1 2 3 4 5; do
    free_port; port="$FREE_PORT"
    "$start" "$port"
    for _ in $(seq 1 600); do
      if "$ready" "$port"; then UP_PORT="$port"; return 0; fi
      kill -0 "$LAST_PID" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$LAST_PID" 2>/dev/null; then
      say "$name did not become ready in 120 s; see $TMP"
      return 1
    fi
    say "$name exited at start (port $port taken?); trying another port"
  done
  die "could not start $name"
}

need_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    die "redis-server/redis-cli not found (scripts/setup.sh installs them)"
  fi
}

# pick_load_tool REQUESTED: sets LOAD_TOOL to REQUESTED, else to wrk or oha, installing one
# when neither is there.
pick_load_tool() {
  LOAD_TOOL="$1"
  [ -n "$LOAD_TOOL" ] && return 0
  if command -v wrk >/dev/null; then LOAD_TOOL=wrk
  elif command -v oha >/dev/null; then LOAD_TOOL=oha
  else
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
    say "installing wrk (apt-get install wrk)"
    if { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk; } >/dev/null 2>&1; then
      LOAD_TOOL=wrk
    else
      say "apt-get failed; cargo install oha --locked (a few minutes, once)"
      cargo install -q oha --locked || die "could not install a load tool (wrk or oha)"
      LOAD_TOOL=oha
    fi
  fi
}

# ---- the services (START_FN / READY_FN pairs for up) ----------------------------------
start_redis() {
  mkdir -p "$TMP/redis"
  redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no --dir "$TMP/redis" \
    --daemonize no --loglevel warning >> "$TMP/redis.log" 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID")
}
redis_ready() { redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; }
# shellcheck disable=SC2153 # TOKEN is the caller's
start_gateway() { # needs REDIS_PORT
  # The token goes through the environment (not argv, which `ps` shows).
  GATEWAY_TOKEN="$TOKEN" GATEWAY_LOG=warn "$TARGET/release/upstash-gateway" --listen "127.0.0.1:$1" \
    --redis-url "redis://127.0.0.1:$REDIS_PORT" >> "$TMP/gateway.log" 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID")
}
gateway_ready() { http_ok "http://127.0.0.1:$1/__gateway/stats?_token=$TOKEN"; }
start_exchange() {
  "$TARGET/release/fake-exchange" --listen "127.0.0.1:$1" --quiet >> "$TMP/fake-exchange.log" 2>&1 &
  LAST_PID=$!; PIDS+=("$LAST_PID")
}
exchange_ready() { http_ok "http://127.0.0.1:$1/fapi/v1/ping"; }

# stack_backends_up: redis-server, the gateway in front of it and the fake exchange. Sets
# REDIS_PORT, GATEWAY_PORT, GATEWAY (its URL), EXCHANGE_PORT and EXCHANGE (its URL).
# shellcheck disable=SC2034 # the caller reads them
stack_backends_up() {
  up redis-server start_redis redis_ready
  REDIS_PORT="$UP_PORT"
  up gateway start_gateway gateway_ready
  GATEWAY_PORT="$UP_PORT"
  GATEWAY="http://127.0.0.1:$GATEWAY_PORT"
  up "fake exchange" start_exchange exchange_ready
  EXCHANGE_PORT="$UP_PORT"
  EXCHANGE="http://127.0.0.1:$EXCHANGE_PORT"
}

# start_wrangler DIR PORT LOG [LOG_LEVEL]: `wrangler dev` on PORT for DIR/wrangler.toml, its
# state, logs and config kept in DIR, its output in LOG. Sets LAST_PID.
start_wrangler() {
  local dir="$1" port="$2" log="$3" level="${4:-warn}" inspector
  free_port; inspector="$FREE_PORT"
  # workerd holds a socket per in-flight request and subrequest: raise the fd limit.
  (cd "$dir" && { ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; } &&
    WRANGLER_SEND_METRICS=false WRANGLER_LOG_PATH="$dir/wrangler-logs" XDG_CONFIG_HOME="$dir/xdg" \
    NO_COLOR=1 FORCE_COLOR=0 exec node "$ROOT/node_modules/wrangler/bin/wrangler.js" dev --config "$dir/wrangler.toml" \
    --ip 127.0.0.1 --port "$port" --inspector-port "$inspector" --test-scheduled --log-level "$level" \
    --show-interactive-dev-session=false --persist-to "$dir/state" < /dev/null >> "$log" 2>&1) &
  LAST_PID=$!; PIDS+=("$LAST_PID")
}
