#!/usr/bin/env bash
# Installs what building, running and testing the Worker needs. Idempotent and quick when
# all is present (version checks only: no reinstall, no sysroot rebuild).
#
#   scripts/setup.sh        everything: the build, the local stack and the tests (make setup, make test)
#   scripts/setup.sh dev    the build and redis-server only (make dev)
#
# The build's own tools come from scripts/setup-build.sh (which wrangler.toml's [build]
# command runs on its own: no test tools for a build). This adds redis-server and
# redis-cli (the dev stack and the tests), Chromium (the status-page test) and a Python
# venv with the test tools. Without apt-get (macOS, other distributions) a missing system
# package is named with what to install and skipped; everything else still runs, and the
# script exits 1 at the end with the list.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/install.sh
source "$ROOT/scripts/lib/install.sh"
WHAT="${1:-all}"
case "$WHAT" in all | dev) ;; *) log "usage: scripts/setup.sh [dev]"; exit 2 ;; esac

# The build first; what it lacks it has named already. Go on with the rest either way.
BUILD_RC=0
HANDOVER="$(mktemp)"
SETUP_MISSING_OUT="$HANDOVER" "$ROOT/scripts/setup-build.sh" || BUILD_RC=$?
while IFS= read -r m; do [ -n "$m" ] && SETUP_MISSING+=("$m"); done < "$HANDOVER"
rm -f "$HANDOVER"

need "redis-server (the local stack and the tests)" "command -v redis-server" "redis-server" \
  "brew install redis, or dnf/pacman install redis" || true
if [ "$WHAT" = all ]; then
  need "redis-cli (the tests read Redis directly)" "command -v redis-cli" "redis-tools" \
    "it comes with redis: brew install redis" || true
  need "chromium on PATH (the status-page test, headless)" "command -v chromium" "chromium" \
    "brew install --cask chromium and link it as chromium, or dnf install chromium" || true
  # The upstash-redis-rs differential test builds that crate, whose reqwest 0.11 links OpenSSL.
  need "OpenSSL headers and pkg-config (the upstash-redis-rs compatibility test)" "pkg-config --exists openssl" \
    "libssl-dev pkg-config" "brew install openssl pkg-config, or dnf install openssl-devel pkgconf" || true
  # Python test tools (schemathesis checks the OpenAPI document; prometheus_client parses
  # /metrics; redis-py runs the original system's side of tests/side_by_side.rs; ccxt is
  # what tests/ccxt.rs compares ?format=ccxt with)
  if need "python3 with venv (the test tools' virtualenv)" "python3 -c 'import venv, ensurepip'" "python3-venv" \
    "Python 3 from python.org, or brew install python"; then
    VENV="$ROOT/.local/venv"
    PY_TOOLS="schemathesis==4.32.5 prometheus_client==0.26.0 redis==6.4.0 ccxt==4.5.90"
    if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$PY_TOOLS" ]; then
      log "python venv: $PY_TOOLS"
      python3 -m venv "$VENV"
      # shellcheck disable=SC2086
      "$VENV/bin/pip" install -q --disable-pip-version-check $PY_TOOLS
      echo "$PY_TOOLS" > "$VENV/.installed"
    fi
  fi
fi
if setup_report && [ "$BUILD_RC" = 0 ]; then log "ready"; else exit 1; fi
