#!/usr/bin/env bash
# Runs every test: installs what is missing (scripts/setup.sh), builds the Worker to
# wasm (scripts/build.sh), then the whole workspace's tests: unit tests, the gateway and
# client suites against a real redis-server, and the end-to-end suite through workerd.
# First the lints: rustfmt and clippy (-D warnings), natively and for the Worker's wasm32.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# A full disk fails the build with rustc's "No space left on device" deep in cargo's
# output; say it first, in one line (README "Tests": ~4 GB on a fresh machine).
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
FREE_KB="$(df -Pk "$(dirname "$TARGET_DIR")" 2>/dev/null | awk 'NR==2 {print $4}')"
if [ -n "$FREE_KB" ] && [ "$FREE_KB" -lt $((4 * 1024 * 1024)) ]; then
  echo "[test] warning: $((FREE_KB / 1024)) MB free under $(dirname "$TARGET_DIR"); a fresh build needs about 4 GB (README \"Tests\")" >&2
fi
./scripts/setup.sh
SYMBOLS_SKIP_SETUP=1 ./scripts/build.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# rustfmt and clippy come with rustup's default profile; a toolchain without them (and no
# way to download them here) skips the lint, saying so, rather than failing every test.
if cargo fmt --version >/dev/null 2>&1; then
  echo "[test] cargo fmt --all --check" >&2
  cargo fmt --all --check
else
  echo "[test] rustfmt is not installed: format check skipped (rustup component add rustfmt)" >&2
fi
if cargo clippy --version >/dev/null 2>&1; then
  echo "[test] cargo clippy --workspace --all-targets -- -D warnings" >&2
  cargo clippy --workspace --all-targets --locked -- -D warnings
  # The Worker and its client for wasm32 too, where rustup's own wasm32 std is what builds
  # them (an empty env.sh; the Debian sysroot fallback has no clippy of its own).
  if [ ! -s .local/toolchain/env.sh ]; then
    echo "[test] cargo clippy --target wasm32-unknown-unknown -p symbols-edge -p upstash-rest" >&2
    cargo clippy --target wasm32-unknown-unknown -p symbols-edge -p upstash-rest --lib --locked -- -D warnings
  fi
else
  echo "[test] clippy is not installed: lint skipped (rustup component add clippy)" >&2
fi
echo "[test] cargo test --workspace" >&2
cargo test --workspace --locked "$@"
