/**
 * lib/render/tools.ts: where rendering's kustomize and helm come from, and what a user hears
 * when there are none. The first case runs the real tools scripts/ensure-render-tools.sh
 * built; the others use small scripts standing in for old, hung or broken tools.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findRenderTools, isToolProblem, type RenderTools, type ToolProblem } from '../../lib/render/index.ts';
import { binaryFinder } from '../helpers/control-plane.ts';
import { installFakeGo, pinnedVersion } from '../scripts/fake-go.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const KUSTOMIZE = pinnedVersion(ROOT, 'kustomize');
const HELM = pinnedVersion(ROOT, 'helm');
const findBuilt = binaryFinder({ script: 'ensure-render-tools.sh', envVar: 'PUSHSYNC_RENDER_TOOLS', binaries: ['kustomize', 'helm'] });

/** This machine's PATH less any directory holding a kustomize or helm: bash, sed and the rest stay. */
const PATH_WITHOUT_TOOLS = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((d) => d !== '' && !existsSync(path.join(d, 'kustomize')) && !existsSync(path.join(d, 'helm')))
  .join(path.delimiter);

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pushsync-render-tools-'));
  // Nothing set, an empty home (so no cache), no tools on PATH: each case adds what it needs.
  env = { PATH: PATH_WITHOUT_TOOLS, HOME: path.join(dir, 'home') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A directory (under the case's temp dir) holding a script `name` that runs `body`. */
function fakeTool(sub: string, name: string, body: string): string {
  const bin = path.join(dir, sub);
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
  chmodSync(path.join(bin, name), 0o755);
  return bin;
}
const onPath = (...dirs: string[]): string => [...dirs, PATH_WITHOUT_TOOLS].join(path.delimiter);

function expectProblem(r: RenderTools | ToolProblem): string {
  expect(isToolProblem(r), JSON.stringify(r)).toBe(true);
  expect(r).toMatchObject({ kind: 'missing', code: 'RENDER_TOOLS_MISSING' });
  return (r as ToolProblem).message;
}

describe('findRenderTools', () => {
  it('finds the tools ensure-render-tools.sh built through PUSHSYNC_RENDER_TOOLS, with the versions they report, before PATH', () => {
    const built = findBuilt();
    const newer = fakeTool('newer', 'kustomize', 'echo v9.0.0');
    const r = findRenderTools({ ...env, PUSHSYNC_RENDER_TOOLS: built, PATH: onPath(newer) });
    expect(r).toEqual({
      kustomize: { path: path.join(built, 'kustomize'), version: KUSTOMIZE },
      helm: { path: path.join(built, 'helm'), version: HELM },
    });
    // Those are the versions the tools print themselves, as kustomize's helmCharts will ask helm.
    expect(spawnSync(path.join(built, 'kustomize'), ['version'], { encoding: 'utf8' }).stdout.trim()).toBe(KUSTOMIZE);
    expect(spawnSync(path.join(built, 'helm'), ['version', '--short'], { encoding: 'utf8' }).stdout.trim()).toBe(HELM);
  });

  it("finds the cache ensure-render-tools.sh names when nothing is set (there before a newer PATH tool)", () => {
    const go = installFakeGo(path.join(dir, 'go'));
    const cache = path.join(dir, 'cache');
    const build = spawnSync('bash', [path.join(ROOT, 'scripts/ensure-render-tools.sh')], {
      encoding: 'utf8',
      env: { ...env, PATH: onPath(go.bin), FAKE_GO_LOG: go.log, PUSHSYNC_RENDER_TOOLS_DIR: cache },
    });
    expect(build.status, build.stderr).toBe(0);
    const newer = fakeTool('newer', 'kustomize', 'echo v9.0.0');
    const r = findRenderTools({ ...env, PUSHSYNC_RENDER_TOOLS_DIR: cache, PATH: onPath(newer) });
    expect(r).toEqual({
      kustomize: { path: path.join(cache, 'kustomize'), version: KUSTOMIZE },
      helm: { path: path.join(cache, 'helm'), version: HELM },
    });
  });

  it('refuses a kustomize on PATH older than v5.4, naming its version; a newer one later on PATH is taken', () => {
    const old = fakeTool('old', 'kustomize', 'echo v5.3.1');
    const helm = fakeTool('helm', 'helm', 'echo v3.15.0+g1234567');
    const message = expectProblem(findRenderTools({ ...env, PATH: onPath(old, helm) }));
    expect(message).toContain(`${path.join(old, 'kustomize')} is kustomize v5.3.1, older than the v5.4 pushsync needs`);
    expect(message).not.toContain('helm: no usable helm');
    expect(message).toContain("Fix: run 'bash scripts/ensure-render-tools.sh'");

    // kustomize v4's way of printing its version is read too.
    const v4 = fakeTool('v4', 'kustomize', "echo '{Version:kustomize/v4.5.7 GitCommit:56d82a8378dfc8dc3b3b1085e5a6e67b82966bd7 BuildDate:2022-08-02T16:35:54Z GoOs:linux GoArch:amd64}'");
    expect(expectProblem(findRenderTools({ ...env, PATH: onPath(v4, helm) }))).toContain('is kustomize v4.5.7, older than the v5.4');

    const good = fakeTool('good', 'kustomize', 'echo v5.4.0');
    expect(findRenderTools({ ...env, PATH: onPath(old, good, helm) })).toEqual({
      kustomize: { path: path.join(good, 'kustomize'), version: 'v5.4.0' },
      helm: { path: path.join(helm, 'helm'), version: 'v3.15.0' },
    });
  });

  it('refuses helm older than v3.15 and takes Helm 4, which kustomize supports too', () => {
    const kustomize = fakeTool('k', 'kustomize', 'echo v5.8.0');
    const old = fakeTool('old', 'helm', 'echo v3.14.4+g81c902a');
    expect(expectProblem(findRenderTools({ ...env, PATH: onPath(kustomize, old) }))).toContain(`${path.join(old, 'helm')} is helm v3.14.4, older than the v3.15 pushsync needs`);
    const v4 = fakeTool('v4', 'helm', 'echo v4.0.1+gabcdef0');
    expect(findRenderTools({ ...env, PATH: onPath(kustomize, v4) })).toMatchObject({ helm: { version: 'v4.0.1' } });
  });

  it('with nothing anywhere: RENDER_TOOLS_MISSING saying where it looked and naming the ensure script', () => {
    const cache = path.join(dir, 'no-cache');
    const message = expectProblem(findRenderTools({ ...env, PUSHSYNC_RENDER_TOOLS_DIR: cache }));
    for (const tool of ['kustomize', 'helm']) expect(message).toContain(`${tool}: no usable ${tool} found (PUSHSYNC_RENDER_TOOLS is not set; no current build of kustomize helm in ${cache}; not on PATH)`);
    expect(message).toContain("Fix: run 'bash scripts/ensure-render-tools.sh'");
    expect(message).toContain('or put kustomize >= v5.4 and helm >= v3.15 on PATH, or set PUSHSYNC_RENDER_TOOLS');
    // On Lambda the fix is the layer, not a build.
    const onLambda = expectProblem(findRenderTools({ ...env, PUSHSYNC_RENDER_TOOLS_DIR: cache, LAMBDA_TASK_ROOT: '/var/task' }));
    expect(onLambda).toContain('Fix: attach the renderTools layer (serverless.yml) to this function, with PUSHSYNC_RENDER_TOOLS=/opt/bin.');
    expect(onLambda).not.toContain('ensure-render-tools.sh');

    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    expect(expectProblem(findRenderTools({ ...env, PUSHSYNC_RENDER_TOOLS: empty, PUSHSYNC_RENDER_TOOLS_DIR: cache }))).toContain(`kustomize: no usable kustomize found (not in PUSHSYNC_RENDER_TOOLS=${empty};`);
  });

  it('a tool that hangs or fails is a problem with its words, not an exception', () => {
    const helm = fakeTool('helm', 'helm', 'echo v3.22.0');
    const hung = fakeTool('hung', 'kustomize', 'exec sleep 5');
    const started = Date.now();
    const message = expectProblem(findRenderTools({ ...env, PATH: onPath(hung, helm) }, { timeoutMs: 300 }));
    expect(message).toContain(`'${path.join(hung, 'kustomize')} version' did not answer within 300 ms`);
    expect(Date.now() - started).toBeLessThan(4000);

    const broken = fakeTool('broken', 'kustomize', 'echo "exec format error: wrong architecture" >&2; exit 126');
    expect(expectProblem(findRenderTools({ ...env, PATH: onPath(broken, helm) }))).toContain(
      `'${path.join(broken, 'kustomize')} version' failed (exit 126): exec format error: wrong architecture`,
    );
  });

  it('runs the version checks without the environment’s secrets', () => {
    const seen = path.join(dir, 'seen-env');
    const kustomize = fakeTool('k', 'kustomize', `env > '${seen}'; echo v5.8.2`);
    const helm = fakeTool('h', 'helm', 'echo v3.22.0');
    const r = findRenderTools({ ...env, PATH: onPath(kustomize, helm), AWS_SECRET_ACCESS_KEY: 'aws-secret-value', GITHUB_TOKEN: 'ghp_secretvalue', KUBECONFIG: 'kubeconfig-of-the-caller' });
    expect(isToolProblem(r)).toBe(false);
    const child = readFileSync(seen, 'utf8');
    expect(child).not.toContain('aws-secret-value');
    expect(child).not.toContain('ghp_secretvalue');
    expect(child).not.toContain('KUBECONFIG');
  });
});
