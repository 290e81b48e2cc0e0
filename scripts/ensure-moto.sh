#!/usr/bin/env bash
# Makes sure the Secrets Manager endpoint tests have moto's server (Python's moto with its
# `server` extra: a local AWS endpoint), and prints (last line of stdout) the command that
# starts it: `moto_server`, or `python3 -m moto.server` where only the module is reachable
# (a `pip install --user` whose bin directory is not on PATH).
#
# When it is missing, in order: pip (PyPI), then Debian's python3-moto (root only; not every
# release has it). When all of that fails, one line on stderr says what to install; exit 1.
#
# --no-install: only look. The test helper (test/aws/support.ts) uses it and fails with the
# same line, so a test run never installs anything behind the caller's back.
set -euo pipefail

MISSING="moto_server not found: the Secrets Manager endpoint tests (test/aws) need Python's moto server; install it with: python3 -m pip install 'moto[server]' (Debian/Ubuntu with the package: apt-get install python3-moto), then run the tests again"

main() {
  no_install=false
  case "${1:-}" in
    --no-install) no_install=true ;;
    "") ;;
    *) echo "usage: $0 [--no-install]" >&2; exit 2 ;;
  esac

  say() { printf 'ensure-moto: %s\n' "$*" >&2; }

  # `--help` loads the server and its web framework: a moto without the extra fails here.
  find_moto() {
    if command -v moto_server >/dev/null 2>&1 && moto_server --help >/dev/null 2>&1; then
      echo moto_server
      return 0
    fi
    local py
    for py in python3 python; do
      if command -v "$py" >/dev/null 2>&1 && "$py" -m moto.server --help >/dev/null 2>&1; then
        echo "$py -m moto.server"
        return 0
      fi
    done
    return 1
  }

  pip_install() {
    local py out
    for py in python3 python; do
      command -v "$py" >/dev/null 2>&1 && "$py" -m pip --version >/dev/null 2>&1 || continue
      say "installing moto[server] with $py -m pip"
      if out="$("$py" -m pip install --quiet --disable-pip-version-check --retries 1 'moto[server]' 2>&1)"; then return 0; fi
      # A distribution's own Python refuses system-wide installs (PEP 668); a user install is its way.
      if [[ "$out" == *externally-managed-environment* ]]; then
        if out="$("$py" -m pip install --quiet --disable-pip-version-check --retries 1 --user --break-system-packages 'moto[server]' 2>&1)"; then return 0; fi
      fi
      say "pip could not install it: $(printf '%s\n' "$out" | grep -m1 '^ERROR' || printf '%s\n' "$out" | tail -n 1)"
      return 1
    done
    return 1
  }

  apt_install() {
    command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || return 1
    say "installing Debian's python3-moto"
    # The package lists may be missing or old on a fresh machine: refresh them once on a miss.
    apt-get install -y -qq python3-moto >/dev/null 2>&1 && return 0
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq python3-moto >/dev/null 2>&1 && return 0
    local candidate
    candidate="$(apt-cache policy python3-moto 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n 1)"
    say "apt-get could not install python3-moto (candidate: ${candidate:-none, this release does not package it})"
    return 1
  }

  if find_moto; then return 0; fi
  if ! $no_install; then
    if pip_install && find_moto; then return 0; fi
    if apt_install && find_moto; then return 0; fi
  fi
  echo "$MISSING" >&2
  exit 1
}

main "$@"
