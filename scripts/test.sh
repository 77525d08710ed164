#!/usr/bin/env bash
# Runs every test: installs what is missing (scripts/setup.sh), builds the Worker to
# wasm (scripts/build.sh), then the whole workspace's tests: unit tests, the gateway and
# client suites against a real redis-server, and the end-to-end suite through workerd.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
./scripts/setup.sh
SYMBOLS_SKIP_SETUP=1 ./scripts/build.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
echo "[test] cargo test --workspace" >&2
cargo test --workspace --locked "$@"
