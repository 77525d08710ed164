#!/usr/bin/env bash
# Builds the Worker with worker-build into build/ (index.js, index_bg.wasm, worker/shim.mjs).
# This is wrangler.toml's [build] command: `npx wrangler dev` runs it on start and on every
# change under its watch_dir, `npx wrangler deploy` before uploading; `make build` runs it too.
#
# Runs scripts/setup-build.sh first (the build's own tools only; quick when all is there)
# unless SYMBOLS_SKIP_SETUP=1. Then, unless --force, it skips the build when build/ was made
# from the same inputs: every file cargo read for the last build (its dep-info, so path
# crates and include_str! files count), the manifests, Cargo.lock, .cargo/config.toml, this
# script and the tool versions, compared by content (build/.inputs.sha256). A no-change run
# takes about a second; a change runs cargo (incremental), wasm-bindgen and wasm-opt.
#
#   scripts/build.sh           build if anything changed
#   scripts/build.sh --force   build even when up to date
#   scripts/build.sh --check   exit 0 when build/ is up to date, 1 when not; builds nothing
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[build] %s\n' "$*" >&2; }
MODE=build
case "${1:-}" in
  --check) MODE=check; shift ;;
  --force) MODE=force; shift ;;
esac

if [ "$MODE" != check ] && [ "${SYMBOLS_SKIP_SETUP:-0}" != 1 ]; then "$ROOT/scripts/setup-build.sh"; fi
if [ ! -f "$ROOT/.local/toolchain/env.sh" ]; then
  say "the build tools are not set up: run scripts/setup-build.sh"
  [ "$MODE" = check ] && exit 1
  exit 1
fi
# shellcheck disable=SC1091
source "$ROOT/.local/toolchain/env.sh"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"

LIST=build/.inputs            # the input files of the last build, one per line, relative
STAMP=build/.inputs.sha256    # their content hash + tool versions
OUTPUTS=(build/index.js build/index_bg.wasm build/worker/shim.mjs)
FIXED=(Cargo.toml Cargo.lock .cargo/config.toml scripts/build.sh)

# The hash of the files named on stdin (a missing file counts as "missing"), the manifests
# of every workspace crate, and the versions of the tools that make build/.
inputs_hash() {
  {
    while IFS= read -r f; do
      if [ -f "$f" ]; then sha256sum "$f"; else echo "missing $f"; fi
    done
    for f in "${FIXED[@]}" crates/*/Cargo.toml; do
      if [ -f "$f" ]; then sha256sum "$f"; else echo "missing $f"; fi
    done
    rustc -V 2>&1 || true
    worker-build --version 2>&1 || true
    wasm-bindgen --version 2>&1 || true
    "$WASM_OPT_BIN" --version 2>&1 || true
  } | sha256sum | cut -d' ' -f1
}

up_to_date() {
  for f in "${OUTPUTS[@]}" "$LIST" "$STAMP"; do [ -f "$f" ] || return 1; done
  [ "$(inputs_hash < "$LIST")" = "$(cat "$STAMP")" ]
}

if [ "$MODE" = check ]; then
  if up_to_date; then say "build/ is up to date"; exit 0; fi
  say "build/ is missing or older than its sources: run scripts/build.sh"
  exit 1
fi
if [ "$MODE" = build ] && up_to_date; then
  say "up to date (no input changed since the last build; --force rebuilds)"
  exit 0
fi

# Hash the previous input list now: a file saved while cargo runs must not be recorded as built.
PRE=""
OLD_LIST=""
if [ -f "$LIST" ]; then OLD_LIST="$(cat "$LIST")"; PRE="$(inputs_hash < "$LIST")"; fi

ESBUILD="$(ls "$ROOT"/node_modules/@esbuild/*/bin/esbuild 2>/dev/null | head -n1 || true)"
WASM_BINDGEN_BIN="$(command -v wasm-bindgen || true)"
if [ -z "$WASM_BINDGEN_BIN" ] || [ ! -x "$WASM_OPT_BIN" ]; then
  say "wasm-bindgen or wasm-opt is missing: run scripts/setup-build.sh"; exit 1
fi
export WASM_BINDGEN_BIN WASM_OPT_BIN
[ -n "$ESBUILD" ] && export ESBUILD_BIN="$ESBUILD"
say "worker-build --profile worker (Cargo.toml: [profile.worker])"
worker-build --profile worker "$@"
# worker-build's own wasm-opt step is off (Cargo.toml) because it always keeps the name
# section; this is the same pass and feature set without it.
say "wasm-opt -O (no name section)"
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm -O \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
ls -l build/index_bg.wasm >&2

# Record what this build read: cargo's dep-info for the Worker's wasm, kept to the files of
# this repository (registry crates change only with Cargo.lock, which is hashed anyway).
DEPINFO="${CARGO_TARGET_DIR:-$ROOT/target}/wasm32-unknown-unknown/worker/symbols_edge.d"
if [ ! -f "$DEPINFO" ]; then say "no dep-info at $DEPINFO: the next run rebuilds"; rm -f "$STAMP"; exit 0; fi
NEW_LIST="$(sed -e 's/^[^:]*: *//' -e 's/\\ /\x01/g' "$DEPINFO" | tr ' ' '\n' | tr '\001' ' ' |
  sed -n "s|^$ROOT/||p" | grep -v '^target/' | sort -u)"
printf '%s\n' "$NEW_LIST" > "$LIST"
if [ -n "$PRE" ] && [ "$NEW_LIST" = "$OLD_LIST" ]; then
  printf '%s\n' "$PRE" > "$STAMP"
else
  inputs_hash < "$LIST" > "$STAMP"
fi
