/**
 * Charts from a private chart repository (issue #12 §4, lib/render/charts.ts): kustomize's own
 * pull sends no credentials, so pushsync pulls with the stored helm-repo credential, the password
 * on helm's stdin; the real kustomize and helm against a local repository that demands basic auth.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chartDir, credentialFor, remoteCharts } from '../../lib/render/charts.ts';
import { renderKustomization, type RenderResult } from '../../lib/render/run.ts';
import { findRenderTools, isToolProblem, type RenderTools } from '../../lib/render/tools.ts';
import type { SourceFile } from '../../lib/repo/types.ts';
import { registerSecret } from '../../lib/log.ts';
import { serveChartRepo, type ChartRepo } from '../helpers/chart-repo.ts';

const CHART = fileURLToPath(new URL('../fixtures/render/charts/shop', import.meta.url));
const AUTH = { username: 'ci', password: 'chart-pass-7f3a9c' };

let tools: RenderTools;
let repo: ChartRepo;
let tmpRoot: string;

beforeAll(async () => {
  const found = findRenderTools();
  if (isToolProblem(found)) throw new Error(found.message);
  tools = found;
  repo = await serveChartRepo(tools.helm.path, [CHART], { auth: AUTH });
  registerSecret(AUTH.password); // as getHelmRepos does for every stored password
}, 60_000);
afterAll(async () => {
  await repo.close();
});
beforeEach(async () => {
  tmpRoot = await mkdtemp(path.join(tmpdir(), 'pushsync-charts-test-'));
});
afterEach(async () => {
  expect(await readdir(tmpRoot)).toEqual([]); // the private HELM_* homes went with the render
  await rm(tmpRoot, { recursive: true, force: true });
});

const kustomization = (version: string | undefined): SourceFile[] => [
  {
    path: 'apps/kustomization.yaml',
    content: ['# a private chart', 'helmCharts:', '- name: shop', `  repo: ${repo.url}`, ...(version ? [`  version: ${version}`] : []), '  releaseName: private', '  namespace: default', '  valuesInline:', '    domain: private.example.com', ''].join('\n'),
  },
];

function render(files: readonly SourceFile[], helmRepos?: { url: string; username: string; password: string }[]): Promise<RenderResult> {
  return renderKustomization({ files, dir: 'apps', tools, tmpRoot, ...(helmRepos ? { helmRepos } : {}) });
}

const names = (r: RenderResult): string[] => {
  if (r.kind !== "rendered") throw new Error(JSON.stringify(r.errors, null, 2));
  return r.files.flatMap((f) => [...(typeof f.content === 'string' ? f.content : Buffer.from(f.content).toString('utf8')).matchAll(/"name":"(private-[\w-]+)"/g)].map((m) => m[1] ?? '')).sort();
};

describe('charts from a private repository', () => {
  it('without a stored credential kustomize\'s own pull is refused (401), as a KNV1068 with helm\'s message', async () => {
    const r = await render(kustomization('0.1.0'));
    expect(r.kind).toBe('failed');
    if (r.kind !== 'failed') return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'KNV1068', path: 'apps/kustomization.yaml' });
    expect(r.errors[0]?.message).toMatch(/401|Unauthorized/i);
    expect(r.errors[0]?.message).not.toContain('HELM_CONFIG_HOME'); // kustomize's env dump is noise
  });

  it('with the credential, pushsync pulls the pinned version and kustomize renders it; the password never reaches an argument or a message', async () => {
    const before = repo.refused;
    const r = await render(kustomization('0.1.0'), [{ url: `${repo.url}/`, ...AUTH }]);
    expect(names(r)).toEqual(expect.arrayContaining(['private-web']));
    expect(repo.refused).toBe(before); // every request carried the right basic auth
    expect(repo.requests).toEqual(expect.arrayContaining(['/index.yaml', '/shop-0.1.0.tgz']));
    expect(JSON.stringify(r)).not.toContain(AUTH.password);
  });

  it('an unpinned chart is pulled too (into <chartHome>/<name>, where kustomize looks)', async () => {
    const r = await render(kustomization(undefined), [{ url: repo.url, ...AUTH }]);
    expect(names(r)).toEqual(expect.arrayContaining(['private-web']));
  });

  it('a wrong password: KNV1068 on the helmCharts entry\'s line, naming the repository and the user, never the password', async () => {
    const wrong = 'not-the-password-4242';
    registerSecret(wrong);
    const r = await render(kustomization('0.1.0'), [{ url: repo.url, username: 'ci', password: wrong }]);
    expect(r.kind).toBe('failed');
    if (r.kind !== 'failed') return;
    expect(r.errors).toEqual([
      expect.objectContaining({ code: 'KNV1068', path: 'apps/kustomization.yaml', line: 3, message: expect.stringContaining(`pulling it from ${repo.url} with the stored helm-repo credentials (user ci) failed`) }),
    ]);
    expect(JSON.stringify(r)).not.toContain(wrong);
  });
});

describe('which charts and which credential', () => {
  it('remoteCharts lists reachable helmCharts entries with a repo, with their line and chart home', () => {
    const files: SourceFile[] = [
      { path: 'o/kustomization.yaml', content: 'resources:\n- ../b\nhelmGlobals:\n  chartHome: vendor/charts\nhelmCharts:\n- name: local-only\n- name: a\n  repo: https://charts.example/x\n  version: 1.2.3\n' },
      { path: 'b/kustomization.yaml', content: 'helmCharts:\n  - name: b\n    repo: oci://reg.example/charts\n' },
      { path: 'unreached/kustomization.yaml', content: 'helmCharts:\n- name: c\n  repo: https://charts.example/x\n' },
    ];
    expect(remoteCharts(files, 'o/kustomization.yaml')).toEqual([
      { kustomization: 'o/kustomization.yaml', line: 7, name: 'a', repo: 'https://charts.example/x', version: '1.2.3', chartHome: 'o/vendor/charts' },
      { kustomization: 'b/kustomization.yaml', line: 2, name: 'b', repo: 'oci://reg.example/charts', version: undefined, chartHome: 'b/charts' },
    ]);
    expect(chartDir('/r', { chartHome: 'o/charts', name: 'a', version: '1.2.3' })).toBe('/r/o/charts/a-1.2.3');
    expect(chartDir('/r', { chartHome: '', name: 'a', version: undefined })).toBe('/r');
  });

  it('credentialFor matches the URL or a path above it, longest first, never a sibling with a common prefix', () => {
    const team = { url: 'https://charts.acme/team', username: 't', password: 'p1' };
    const all = { url: 'https://charts.acme', username: 'a', password: 'p2' };
    expect(credentialFor('https://charts.acme/team/stable', [all, team])).toBe(team);
    expect(credentialFor('https://charts.acme/team/', [all, team])).toBe(team);
    expect(credentialFor('https://charts.acme/teamwork', [team])).toBeUndefined();
    expect(credentialFor('https://charts.acme/teamwork', [all, team])).toBe(all);
    expect(credentialFor('https://other.example', [all, team])).toBeUndefined();
  });
});
