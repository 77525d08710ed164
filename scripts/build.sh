#!/usr/bin/env bash
# Builds the Worker with worker-build into build/ (index.js, index_bg.wasm, worker/shim.mjs).
# Runs scripts/setup.sh first unless SYMBOLS_SKIP_SETUP=1 (it is quick when all is there).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ "${SYMBOLS_SKIP_SETUP:-0}" = 1 ] || "$ROOT/scripts/setup.sh"
# shellcheck disable=SC1091
source "$ROOT/.local/toolchain/env.sh"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
ESBUILD="$(ls "$ROOT"/node_modules/@esbuild/*/bin/esbuild 2>/dev/null | head -n1)"
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
[ -n "$ESBUILD" ] && export ESBUILD_BIN="$ESBUILD"
echo "[build] worker-build --profile worker (Cargo.toml: [profile.worker])" >&2
worker-build --profile worker "$@"
# worker-build's own wasm-opt step is off (Cargo.toml) because it always keeps the name
# section; this is the same pass and feature set without it.
echo "[build] wasm-opt -O (no name section)" >&2
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm -O \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
ls -l build/index_bg.wasm >&2
