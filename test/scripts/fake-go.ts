/**
 * A stand-in `go` for scripts/ensure-render-tools.sh's build path: the real build takes
 * minutes, so tests run the script against this instead. `go build … -o OUT` writes OUT as a
 * script that answers `version` (and `version --short`) with the version the -ldflags stamp
 * into it, so a test sees end to end that the script stamps what its recipe pins; every build
 * is logged (cwd, GOOS, GOARCH, CGO_ENABLED, arguments) one line each.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const FAKE_GO = `#!/usr/bin/env bash
set -euo pipefail
if [ "$1" = version ]; then echo "go version go1.0-fake linux/amd64"; exit 0; fi
[ "$1" = build ] || { echo "fake go: only 'build' and 'version'" >&2; exit 2; }
printf '%s|%s|%s|%s|%s\\n' "$PWD" "\${GOOS:-}" "\${GOARCH:-}" "\${CGO_ENABLED:-}" "$*" >> "$FAKE_GO_LOG"
[ -z "\${FAKE_GO_FAIL:-}" ] || { echo "fake go: $FAKE_GO_FAIL" >&2; exit 1; }
out=""; prev=""; ldflags=""
for a in "$@"; do
  [ "$prev" = -o ] && out="$a"
  case "$a" in -ldflags=*) ldflags="\${a#-ldflags=}" ;; esac
  prev="$a"
done
v="$(printf '%s\\n' "$ldflags" | tr ' ' '\\n' | sed -n 's#^\\(sigs.k8s.io/kustomize/api/provenance\\|helm.sh/helm/v3/internal/version\\)\\.version=##p' | head -n1)"
printf '#!/bin/sh\\necho "%s"\\n' "\${v:-unstamped}" > "$out"
chmod +x "$out"
`;

/** Writes the stand-in into DIR/bin/go; returns the bin dir (for PATH) and where builds are logged. */
export function installFakeGo(dir: string): { bin: string; log: string; builds: () => string[] } {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, 'go'), FAKE_GO);
  chmodSync(path.join(bin, 'go'), 0o755);
  const log = path.join(dir, 'go-builds.log');
  const builds = (): string[] => {
    try {
      return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  return { bin, log, builds };
}

/** The version test/render-tools/<tool>/go.mod pins for `module` (what the script stamps). */
export function pinnedVersion(root: string, tool: 'kustomize' | 'helm'): string {
  const module = tool === 'kustomize' ? 'sigs.k8s.io/kustomize/kustomize/v5' : 'helm.sh/helm/v3';
  const gomod = readFileSync(path.join(root, 'test/render-tools', tool, 'go.mod'), 'utf8');
  const m = new RegExp(`^\\s*${module.replace(/\./g, '\\.')} (v\\S+)`, 'm').exec(gomod);
  if (!m?.[1]) throw new Error(`no ${module} in test/render-tools/${tool}/go.mod`);
  return m[1];
}
