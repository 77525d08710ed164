# shellcheck shell=bash
# System packages for the setup scripts, on any machine: a command that is already on PATH
# is used as it is (whatever installed it: Debian, Homebrew, dnf, pacman...); a missing one
# is installed with apt-get where there is apt-get, and otherwise named, with what to
# install, and skipped, so setup goes on with everything it can do. Sourced, never run.
#
#   need WHAT CHECK DEBIAN_PACKAGES HINT   -> 0 when CHECK succeeds (after installing)
#   setup_report                           -> names everything missing; 1 if anything is
#                                             (appended to $SETUP_MISSING_OUT instead when set)

SETUP_MISSING=()
APT_UPDATED=""
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
log() { printf '[setup] %s\n' "$*" >&2; }

have_apt() { command -v apt-get >/dev/null 2>&1; }

need() {
  local what="$1" check="$2" pkgs="$3" hint="$4"
  if eval "$check" >/dev/null 2>&1; then return 0; fi
  if have_apt; then
    log "apt-get install $pkgs  ($what)"
    if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq >/dev/null || true; APT_UPDATED=1; fi
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkgs >/dev/null || true
    if eval "$check" >/dev/null 2>&1; then return 0; fi
    log "missing: $what (apt-get install $pkgs did not provide it)"
  else
    log "missing: $what; no apt-get here: install it yourself ($hint; Debian/Ubuntu: $pkgs), then run setup again"
  fi
  SETUP_MISSING+=("$what: $hint (Debian/Ubuntu: apt-get install $pkgs)")
  return 1
}

setup_report() {
  if [ ${#SETUP_MISSING[@]} -eq 0 ]; then return 0; fi
  # Run from scripts/setup.sh: hand the list over, which reports everything once at the end.
  if [ -n "${SETUP_MISSING_OUT:-}" ]; then printf '%s\n' "${SETUP_MISSING[@]}" >> "$SETUP_MISSING_OUT"; return 1; fi
  log "done with what could be done; still missing:"
  local m
  for m in "${SETUP_MISSING[@]}"; do log "  - $m"; done
  return 1
}
