#!/usr/bin/env bash
# The one test command (README "Quick start"; .ci/run calls it): lint, type check, then every test.
# Anything the tests need beyond npm packages is obtained here, never assumed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
npx eslint .
npx tsc --noEmit
# moto's server for the Secrets Manager endpoint tests (pip or Debian's package when missing), before
# the long build so that a machine without it hears so at once.
PUSHSYNC_MOTO_SERVER="$(bash scripts/ensure-moto.sh | tail -n 1)"; export PUSHSYNC_MOTO_SERVER
KUBEBUILDER_ASSETS="$(bash scripts/ensure-apiserver.sh | tail -n 1)"; export KUBEBUILDER_ASSETS # real kube-apiserver/etcd/kubectl (built once per machine)
PUSHSYNC_WORKLOAD_ASSETS="$(bash scripts/ensure-workloads.sh | tail -n 1)"; export PUSHSYNC_WORKLOAD_ASSETS # kube-controller-manager/kube-scheduler/kwok (own cache, built once per machine)
PUSHSYNC_RENDER_TOOLS="$(bash scripts/ensure-render-tools.sh | tail -n 1)"; export PUSHSYNC_RENDER_TOOLS # kustomize/helm for rendering (lib/render; own cache, built once per machine)
PUSHSYNC_TOXIPROXY="$(bash scripts/ensure-toxiproxy.sh | tail -n 1)"; export PUSHSYNC_TOXIPROXY # toxiproxy-server for latency/fault tests (test/cluster/faults.test.ts, bench/webhook.ts (d); own cache, built once per machine, ~30 s)
bash scripts/ensure-render-tools.sh --arch arm64 >/dev/null # the Lambda layer's arm64 kustomize/helm (serverless package; built once per machine, not inside a test's timeout)
npx vitest run "$@"
