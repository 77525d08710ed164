#!/usr/bin/env bash
# Bounded-time fuzzing on stable Rust (proptest; cargo-fuzz would need nightly). Not part of
# `make test`, which already runs every property once with a fixed seed. See README.md,
# "Fuzzing".
#
#   scripts/fuzz.sh [seconds]      (or: make fuzz, FUZZ_SECONDS=300 make fuzz)
#
# Runs, side by side for the given time (default 60 s), the ignored `long_run` of
#   crates/core/tests/fuzz.rs                 exchangeInfo parsing, routing and percent-
#                                             decoding, stored list documents, lookups and
#                                             filters on stored bytes (12 properties)
#   crates/upstash/src/response.rs fuzz_tests the Upstash REST reply decoding (3 properties)
# Each picks fresh random seeds, runs the properties in batches (the one with the least time
# so far next) and prints its case counts. A failure prints proptest's minimal input and the
# FUZZ_SEED=.. FUZZ_CASES=.. command that replays it; the script then exits 1. Then the
# ignored `known_bug_*` tests (bugs the properties found, not fixed yet) are run and listed.
#
# Env: FUZZ_SECONDS (when no argument)  FUZZ_SEED=<u64> (base seed: repeat a run)
#      FUZZ_ONLY=<substring> (core properties to run)  FUZZ_PROFILE=release|dev (release,
#      the default, builds once with the workspace's LTO profile, a few minutes, and then
#      runs ~50x more cases than dev)  FUZZ_SKIP_BUILD=1
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

SECS="${1:-${FUZZ_SECONDS:-60}}"
[[ "$SECS" =~ ^[0-9]+$ ]] && [ "$SECS" -gt 0 ] || { echo "usage: scripts/fuzz.sh [seconds]" >&2; exit 2; }
PROFILE_FLAG=(--release)
case "${FUZZ_PROFILE:-release}" in
  release) ;;
  dev) PROFILE_FLAG=() ;;
  *) echo "FUZZ_PROFILE must be release or dev" >&2; exit 2 ;;
esac
say() { printf '[fuzz] %s\n' "$*" >&2; }

CORE=(cargo test "${PROFILE_FLAG[@]}" --locked -q -p symbols-core --test fuzz)
UPSTASH=(cargo test "${PROFILE_FLAG[@]}" --locked -q -p upstash-rest --lib)
if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  say "building the fuzz targets (${FUZZ_PROFILE:-release})"
  "${CORE[@]}" --no-run
  "${UPSTASH[@]}" --no-run
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/symbols-fuzz.XXXXXX")"
PIDS=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$status" = 0 ]; then rm -rf "$TMP"; else say "logs kept in $TMP"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "fuzzing for $SECS s (symbols-core and upstash-rest side by side)"
export FUZZ_SECONDS="$SECS"
# One filter per run: cargo's test filters are OR-ed.
"${CORE[@]}" long_run -- --ignored --exact --nocapture > "$TMP/core.log" 2>&1 &
PIDS+=($!)
"${UPSTASH[@]}" fuzz_tests::long_run -- --ignored --nocapture > "$TMP/upstash.log" 2>&1 &
PIDS+=($!)
STATUS=0
wait "${PIDS[0]}" || STATUS=1
wait "${PIDS[1]}" || STATUS=1
PIDS=()

for log in core upstash; do
  grep -E '^(fuzz summary|\|)' "$TMP/$log.log" || { say "$log: no summary; its log:"; tail -n 40 "$TMP/$log.log" >&2; }
  echo
done
if [ "$STATUS" != 0 ]; then
  say "FAILURES (minimal inputs and replay commands):"
  grep -E -A12 '^fuzz: FAILED' "$TMP/core.log" "$TMP/upstash.log" >&2 || true
fi

# Known bugs: each has an ignored test that fails until it is fixed.
unset FUZZ_SECONDS
# (Not -q: the per-test result lines are read below.)
cargo test "${PROFILE_FLAG[@]}" --locked -p symbols-core --test fuzz known_bug -- --ignored \
  > "$TMP/known-core.log" 2>&1 || true
cargo test "${PROFILE_FLAG[@]}" --locked -p upstash-rest --lib fuzz_tests::known_bug -- --ignored \
  > "$TMP/known-upstash.log" 2>&1 || true
STILL="$(grep -hE '^test .*known_bug.* \.\.\. FAILED' "$TMP"/known-*.log | sed -E 's/^test (.*) \.\.\. FAILED/\1/' || true)"
FIXED="$(grep -hE '^test .*known_bug.* \.\.\. ok' "$TMP"/known-*.log | sed -E 's/^test (.*) \.\.\. ok/\1/' || true)"
if [ -n "$STILL" ]; then
  say "known bugs still present (see the tests' comments; README, Fuzzing):"
  printf '  %s\n' $STILL >&2
fi
if [ -n "$FIXED" ]; then
  say "known-bug tests that now pass (remove their #[ignore] and the tolerance in the property):"
  printf '  %s\n' $FIXED >&2
fi
[ "$STATUS" = 0 ] && say "no failures in $SECS s" || say "property failures: see above"
exit "$STATUS"
