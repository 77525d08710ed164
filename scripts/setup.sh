#!/usr/bin/env bash
# Installs everything building, running and testing the Worker needs. Idempotent and
# quick when all is present (version checks only: no reinstall, no sysroot rebuild).
#
# wasm32 standard library, in order of preference:
#   1. rustup's (already installed, or `rustup target add` works: an ordinary laptop);
#   2. Debian's rustc-web + rust-web-src, building the wasm32 std once into the system
#      sysroot (machines that reach only the package registries; see README).
# Force (2) with SYMBOLS_WASM_STD=debian.
#
# Writes .local/toolchain/env.sh, which scripts/build.sh sources.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORKER_BUILD_VERSION=0.8.7
TOOLS="$ROOT/.local/toolchain"
mkdir -p "$TOOLS/bin"
log() { printf '[setup] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
APT_UPDATED=""
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --- services used by the dev stack and the tests; Chromium renders the status page in tests
apt_install redis-server redis-tools chromium python3-venv
command -v node >/dev/null || apt_install nodejs npm

# --- Python test tools (schemathesis checks the OpenAPI document; prometheus_client parses /metrics)
VENV="$ROOT/.local/venv"
PY_TOOLS="schemathesis==4.32.5 prometheus_client==0.26.0"
if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$PY_TOOLS" ]; then
  log "python venv: $PY_TOOLS"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check $PY_TOOLS
  echo "$PY_TOOLS" > "$VENV/.installed"
fi

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
else
  log "wasm32 std: Debian rustc-web (offline recipe)"
  apt_install rustc-web cargo-web rust-web-src lld-22
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

# --- npm tools (wrangler/workerd, binaryen's wasm-opt, @upstash/redis for tests and the bench peer)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
log "ready"
