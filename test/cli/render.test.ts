/**
 * The CLI on a kustomization repo (issue 12 §7): `pushsync vet` and `hydrate` render with the
 * real kustomize (and Helm) first, as Config Sync does, and vet what was rendered as an
 * unstructured repo. The tools come from scripts/ensure-render-tools.sh ($PUSHSYNC_RENDER_TOOLS,
 * which scripts/test.sh exports, or its cache).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { load } from 'js-yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'pushsync.js');
const RENDER = path.join(ROOT, 'test', 'fixtures', 'render');
const scratch = mkdtempSync(path.join(tmpdir(), 'pushsync-cli-render-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function pushsync(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, PUSHSYNC_DEBUG: '' }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

interface Obj {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec?: { readonly replicas?: number; readonly template?: { readonly spec?: { readonly containers?: readonly { readonly image: string }[] } } };
}

const objects = (yaml: string): Obj[] =>
  yaml
    .split(/^---$/m)
    .map((d) => load(d) as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');

describe('pushsync vet and hydrate render kustomizations', () => {
  it('an overlay that reads ../../base: vetted clean, and hydrate writes its variant (replicas, image tags, name prefix)', async () => {
    const prod = path.join(RENDER, 'boutique', 'overlays', 'prod');
    const vet = await pushsync(['vet', '--source-format', 'unstructured', prod]);
    expect(vet.stderr).toBe('');
    expect(vet.code).toBe(0);
    const out = await pushsync(['hydrate', '--source-format', 'unstructured', prod, '--output', '-']);
    expect(out.code).toBe(0);
    const frontend = objects(out.stdout).find((o) => o.kind === 'Deployment' && o.metadata.name === 'prod-frontend');
    expect(frontend?.spec?.replicas).toBe(3);
    expect(frontend?.spec?.template?.spec?.containers?.[0]?.image).toMatch(/frontend:v0\.3\.0$/);
    // The dev overlay renders its own variant of the same base.
    const dev = await pushsync(['hydrate', '--source-format', 'unstructured', path.join(RENDER, 'boutique', 'overlays', 'dev'), '--output', '-']);
    expect(dev.code).toBe(0);
    expect(objects(dev.stdout).some((o) => o.metadata.name === 'prod-frontend')).toBe(false);
  });

  it('a hierarchical repo that needs rendering is refused in Config Sync\'s words', async () => {
    const r = await pushsync(['vet', path.join(RENDER, 'boutique', 'overlays', 'prod')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('KNV1068: sourceFormat must be unstructured when Kustomization is needed');
  });

  it('a broken kustomization and a missing base: KNV1068 naming the file, with kustomize\'s own message', async () => {
    const broken = await pushsync(['vet', '--source-format', 'unstructured', path.join(RENDER, 'broken')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/KNV1068: .*unknown field "resourcez"/);
    // Named from the top of the git work tree holding the dir (here, this repository's).
    expect(broken.stderr).toContain('path: test/fixtures/render/broken/kustomization.yaml');
    const missing = await pushsync(['vet', '--source-format', 'unstructured', path.join(RENDER, 'missing-base', 'overlays', 'staging')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/KNV1068: /);
  });

  it('an exec plugin is refused by vet and never runs', async () => {
    const repo = path.join(scratch, 'exec');
    cpSync(path.join(RENDER, 'plugins', 'exec-krm'), repo, { recursive: true });
    const marker = path.join(scratch, 'plugin-ran');
    writeFileSync(path.join(repo, 'plugin.sh'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const r = await pushsync(['vet', '--source-format', 'unstructured', repo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/KNV1068: .*exec/);
    expect(r.stderr).toContain('path: kustomization.yaml');
    expect(existsSync(marker)).toBe(false);
  });
});
