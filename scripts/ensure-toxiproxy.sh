#!/usr/bin/env bash
# Makes sure the latency and fault tests have Toxiproxy, and prints (last line of stdout) a
# directory holding toxiproxy-server and toxiproxy-cli.
#
# Toxiproxy (Shopify's TCP proxy with "toxics": latency, reset_peer, timeout, …) sits between
# pushsync and an API server in bench/webhook.ts, bench/apply.ts and test/cluster/faults.test.ts
# (test/helpers/toxiproxy.ts drives it over its HTTP API). The kernel here has no netem, so it
# is how a cluster 50 ms away, a reset connection or a stalled one is made on loopback.
#
# Built from Go modules (recipe: test/toxiproxy/go.mod, its own module) once per machine,
# stamped with its release version as its own release build does, into a cache directory of
# its own; later runs only check it.
#
# Where the binaries come from, first match wins:
#   1. $PUSHSYNC_TOXIPROXY, when it holds both;
#   2. ${PUSHSYNC_TOXIPROXY_DIR:-$HOME/.cache/pushsync/toxiproxy-<version>}, when it holds a
#      build of the current recipe;
#   3. a fresh build into that directory (needs Go; under a minute; progress on stderr).
#
# --no-build: only look, never build; exit 1 when nothing is there. The test helper uses it so
# looking never starts a compile.
set -euo pipefail

# All of it in one function, so bash has read the whole file before running any of it: a
# checkout that changes this file during a build cannot make it run half-edited lines.
main() {
  root="$(cd "$(dirname "$0")/.." && pwd)"
  # shellcheck source=lib/cached-build.sh
  . "$root/scripts/lib/cached-build.sh"
  parse_no_build "$@"
  recipe_dir="$root/test/toxiproxy"
  bins=(toxiproxy-server toxiproxy-cli)
  override="${PUSHSYNC_TOXIPROXY:-}"
  override_name=PUSHSYNC_TOXIPROXY

  say() { printf 'ensure-toxiproxy: %s\n' "$*" >&2; }
  fail() {
    say "ERROR: $*"
    say "Either install Go (go.dev/doc/install; the version test/toxiproxy/go.mod names or newer) and rerun,"
    say "or point PUSHSYNC_TOXIPROXY at a directory holding toxiproxy-server and toxiproxy-cli ($version)."
    exit 1
  }

  version="$(module_version "$recipe_dir/go.mod" github.com/Shopify/toxiproxy/v2)"
  [ -n "$version" ] || { version=unknown; fail "cannot read the github.com/Shopify/toxiproxy/v2 version from $recipe_dir/go.mod"; }

  # Toxiproxy's release build (its goreleaser config): the version in the root package.
  ldflags="-s -w -X github.com/Shopify/toxiproxy/v2.Version=$version"

  stamp="$(cat "$recipe_dir/go.mod" "$recipe_dir/go.sum" && echo "CGO_ENABLED=0 -trimpath $ldflags")"
  stamp="$(printf '%s' "$stamp" | sha256sum | cut -d' ' -f1)"
  cache_dir="${PUSHSYNC_TOXIPROXY_DIR:-$HOME/.cache/pushsync/toxiproxy-$version}"
  no_build_hint="Run 'bash scripts/ensure-toxiproxy.sh' once (builds it with Go, under a minute), or 'npm test', which does that; or set PUSHSYNC_TOXIPROXY to a directory holding toxiproxy-server and toxiproxy-cli."

  build_into() {
    local start=$SECONDS
    say "building toxiproxy-server and toxiproxy-cli $version with $(go version | cut -d' ' -f3) into $cache_dir"
    (cd "$recipe_dir" && go build -trimpath -ldflags="$ldflags" -o "$1/toxiproxy-server" github.com/Shopify/toxiproxy/v2/cmd/server) \
      || fail "building toxiproxy-server failed (see the Go errors above)."
    (cd "$recipe_dir" && go build -trimpath -ldflags="$ldflags" -o "$1/toxiproxy-cli" github.com/Shopify/toxiproxy/v2/cmd/cli) \
      || fail "building toxiproxy-cli failed (see the Go errors above)."
    say "toxiproxy built in $((SECONDS - start))s"
  }

  cached_build
}

main "$@"
exit
