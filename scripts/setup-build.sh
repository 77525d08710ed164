#!/usr/bin/env bash
# Installs what building the Worker needs, and nothing else (no redis-server, Chromium or
# Python test tools: scripts/setup.sh adds those): node + npm, the wasm32 standard library,
# worker-build and wasm-bindgen-cli pinned to Cargo.toml / Cargo.lock, and the npm tools
# (wrangler, binaryen's wasm-opt). Idempotent; version checks only when all is present.
# scripts/build.sh (wrangler.toml's [build] command) runs it first.
#
# wasm32 standard library, in order of preference:
#   1. rustup's (already installed, or `rustup target add` works: an ordinary laptop);
#   2. Debian's rustc-web + rust-web-src, building the wasm32 std once into the system
#      sysroot (machines that reach only the package registries; see README).
# Force (2) with SYMBOLS_WASM_STD=debian.
#
# Without apt-get (macOS, other distributions) a missing system package is named and
# skipped; the rest still runs and the script exits 1 at the end with the list.
# Writes .local/toolchain/env.sh, which scripts/build.sh sources.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/install.sh
source "$ROOT/scripts/lib/install.sh"
WORKER_BUILD_VERSION=0.8.7
TOOLS="$ROOT/.local/toolchain"
mkdir -p "$TOOLS/bin"

need "node and npm (wrangler runs on node)" "command -v node && command -v npm" "nodejs npm" \
  "Node.js 20 or newer from https://nodejs.org, or brew install node" || true

# --- wasm32 std
WASM_ENV="$TOOLS/env.sh"
mode="${SYMBOLS_WASM_STD:-auto}"
if [ "$mode" = auto ]; then
  if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    mode=rustup
  elif command -v rustup >/dev/null && timeout 180 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    mode=rustup
  else
    mode=debian
  fi
fi
if [ "$mode" = rustup ]; then
  log "wasm32 std: rustup"
  : > "$WASM_ENV"
elif need "a Rust compiler with the wasm32 standard library" \
  "[ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library ] && command -v wasm-ld-22" \
  "rustc-web cargo-web rust-web-src lld-22" \
  "rustup from https://rustup.rs, then rustup target add wasm32-unknown-unknown"; then
  log "wasm32 std: Debian rustc-web (offline recipe)"
  SYSROOT_LIB=/usr/lib/rustlib/wasm32-unknown-unknown/lib
  if ! ls "$SYSROOT_LIB"/libstd-*.rlib >/dev/null 2>&1; then
    log "building the wasm32 std once (about a minute)"
    STD="$(mktemp -d)"
    (cd "$STD" && /usr/bin/cargo new --lib -q stdbuild && cd stdbuild &&
      RUSTFLAGS="-Cembed-bitcode=yes" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 \
      /usr/bin/cargo build -q --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort &&
      $SUDO mkdir -p "$SYSROOT_LIB" &&
      $SUDO cp target/wasm32-unknown-unknown/release/deps/lib*.rlib "$SYSROOT_LIB"/ &&
      $SUDO rm -f "$SYSROOT_LIB"/libstdbuild-*.rlib)
    rm -rf "$STD"
    # Old wasm rlibs do not match a rebuilt sysroot.
    rm -rf "$ROOT/target/wasm32-unknown-unknown"
  fi
  ln -sf /usr/bin/rustc "$TOOLS/bin/rustc"
  ln -sf /usr/bin/cargo "$TOOLS/bin/cargo"
  cat > "$WASM_ENV" <<ENV
export PATH="$TOOLS/bin:\$PATH"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
ENV
fi

# --- cargo-installed build tools, pinned to match Cargo.toml / Cargo.lock
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"
if need "cargo" "command -v cargo" "cargo" "rustup from https://rustup.rs"; then
  if [ "$(worker-build --version 2>/dev/null)" != "$WORKER_BUILD_VERSION" ]; then
    log "cargo install worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
    cargo install -q worker-build --version "=$WORKER_BUILD_VERSION" --locked 2>/dev/null ||
      cargo install -q worker-build --version "=$WORKER_BUILD_VERSION"
  fi
  WBG_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock")"
  if [ -z "$WBG_VERSION" ]; then log "cannot read wasm-bindgen's version from Cargo.lock"; exit 1; fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WBG_VERSION" ]; then
    log "cargo install wasm-bindgen-cli $WBG_VERSION (a few minutes, once)"
    cargo install -q wasm-bindgen-cli --version "=$WBG_VERSION" --locked 2>/dev/null ||
      cargo install -q wasm-bindgen-cli --version "=$WBG_VERSION"
  fi
fi

# --- npm tools (wrangler/workerd, binaryen's wasm-opt, @upstash/redis for tests and the bench peer)
if command -v npm >/dev/null; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  fi
fi
setup_report
