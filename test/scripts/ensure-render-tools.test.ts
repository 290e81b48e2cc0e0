/**
 * scripts/ensure-render-tools.sh: its own flags and recipe around cached_build (whose cache
 * discipline test/scripts/cached-build.test.ts covers). The real build takes minutes and runs
 * once per machine (npm test), so the build path here runs against a stand-in `go`
 * (./fake-go.ts) that writes binaries printing the version their -ldflags stamp.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installFakeGo, pinnedVersion } from './fake-go.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/ensure-render-tools.sh');
const KUSTOMIZE = pinnedVersion(ROOT, 'kustomize');
const HELM = pinnedVersion(ROOT, 'helm');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pushsync-render-tools-script-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(args: readonly string[], env: Record<string, string> = {}) {
  const r = spawnSync('bash', [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: path.join(dir, 'home'), ...env },
  });
  return { code: r.status, out: r.stdout.trim().split('\n').at(-1) ?? '', err: r.stderr };
}
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const version = (bin: string): string => spawnSync(bin, ['version'], { encoding: 'utf8' }).stdout.trim();

describe('ensure-render-tools.sh', () => {
  it('--no-build with nothing built: exit 1, naming the cache directory (named by the pinned versions) and what to run', () => {
    const r = run(['--no-build']);
    expect(r.code).toBe(1);
    const cache = path.join(dir, 'home', `.cache/pushsync/render-tools-kustomize-${KUSTOMIZE}-helm-${HELM}`);
    expect(r.err).toContain(`no current build of kustomize helm in ${cache}.`);
    expect(r.err).toContain("Run 'bash scripts/ensure-render-tools.sh' once");
    expect(r.err).toContain('kustomize >= v5.4 and helm >= v3.15 on PATH');
    expect(r.out).toBe('');
    const arm = run(['--no-build', '--arch', 'arm64']);
    expect(arm.code).toBe(1);
    expect(arm.err).toContain(`no current build of kustomize helm in ${cache}-linux-arm64.`);
    expect(arm.err).toContain("Run 'bash scripts/ensure-render-tools.sh --arch arm64' once");
  });

  it('builds both tools once, stamped with the pinned versions, and then only looks; arm64 is a cross-compile into its own directory', () => {
    const go = installFakeGo(dir);
    const cache = path.join(dir, 'cache');
    const env = { PATH: `${go.bin}${path.delimiter}${process.env.PATH ?? ''}`, FAKE_GO_LOG: go.log, PUSHSYNC_RENDER_TOOLS_DIR: cache };

    const first = run([], env);
    expect(first, first.err).toMatchObject({ code: 0, out: cache });
    expect(version(path.join(cache, 'kustomize'))).toBe(KUSTOMIZE);
    expect(version(path.join(cache, 'helm'))).toBe(HELM);
    const builds = go.builds();
    expect(builds).toHaveLength(2);
    // Each from its own recipe module, native (no GOOS/GOARCH), without cgo.
    expect(builds[0]).toMatch(new RegExp(`^${escape(ROOT)}/test/render-tools/kustomize\\|\\|\\|0\\|build -trimpath .* sigs\\.k8s\\.io/kustomize/kustomize/v5$`));
    expect(builds[0]).toContain('-X sigs.k8s.io/kustomize/api/provenance.buildDate=');
    expect(builds[1]).toMatch(new RegExp(`^${escape(ROOT)}/test/render-tools/helm\\|\\|\\|0\\|build -trimpath .* helm\\.sh/helm/v3/cmd/helm$`));
    // Helm's Makefile stamps a release (empty metadata) and the Kubernetes version of its client-go.
    expect(builds[1]).toContain('-X helm.sh/helm/v3/internal/version.metadata= ');
    expect(builds[1]).toMatch(/-X helm\.sh\/helm\/v3\/pkg\/chartutil\.k8sVersionMajor=1 -X helm\.sh\/helm\/v3\/pkg\/chartutil\.k8sVersionMinor=\d+/);

    expect(run([], env)).toMatchObject({ code: 0, out: cache });
    expect(run(['--no-build'], env)).toMatchObject({ code: 0, out: cache });
    expect(go.builds()).toHaveLength(2);

    // PUSHSYNC_RENDER_TOOLS names the host's tools: never an answer for another architecture.
    const arm = run(['--arch', 'arm64'], { ...env, PUSHSYNC_RENDER_TOOLS: cache });
    expect(arm, arm.err).toMatchObject({ code: 0, out: `${cache}-linux-arm64` });
    expect(go.builds().slice(2).map((b) => b.split('|').slice(1, 4).join('|'))).toEqual(['linux|arm64|0', 'linux|arm64|0']);
    expect(run(['--no-build', '--arch=arm64'], env)).toMatchObject({ code: 0, out: `${cache}-linux-arm64` });
    expect(readFileSync(path.join(cache, 'recipe.sha256'), 'utf8')).not.toBe(readFileSync(`${cache}-linux-arm64/recipe.sha256`, 'utf8'));
    // The native cache is still the native build.
    expect(run(['--no-build'], env)).toMatchObject({ code: 0, out: cache });
  });

  it('a failed build says which tool and what else would do; nothing is left in the cache', () => {
    const go = installFakeGo(dir);
    const cache = path.join(dir, 'cache');
    const r = run([], { PATH: `${go.bin}${path.delimiter}${process.env.PATH ?? ''}`, FAKE_GO_LOG: go.log, FAKE_GO_FAIL: 'undefined: slices.Foo', PUSHSYNC_RENDER_TOOLS_DIR: cache });
    expect(r.code).toBe(1);
    expect(r.err).toContain('fake go: undefined: slices.Foo');
    expect(r.err).toContain('ERROR: building kustomize failed');
    expect(r.err).toContain('or put kustomize >= v5.4 and helm >= v3.15 on PATH');
    expect(run(['--no-build'], { PUSHSYNC_RENDER_TOOLS_DIR: cache }).code).toBe(1);
  });

  it('refuses flags it does not know and architectures it does not build', () => {
    expect(run(['--arch', 'mips'])).toMatchObject({ code: 2 });
    expect(run(['--arch', 'mips']).err).toContain("--arch must be amd64 or arm64, not 'mips'");
    expect(run(['--arch']).code).toBe(2);
    expect(run(['--fast']).err).toContain('usage:');
  });
});
