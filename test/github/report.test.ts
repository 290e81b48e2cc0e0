import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyResult, PlanResult } from '../../lib/cluster/index.ts';
import {
  describeClusterRun,
  describeVet,
  fitDescription,
  isGitHubError,
  keepEnd,
  MAX_CHECK_TEXT,
  renderClusterOutput,
  reportCluster,
  reportPending,
  reportVet,
  statusContext,
  vetAnnotations,
} from '../../lib/github/index.ts';
import type { ClusterReport, createOctokit, ReportedError } from '../../lib/github/index.ts';
import type { VetError } from '../../lib/repo/index.ts';
import type { GitHubServer } from '../helpers/github-server.ts';
import { appStandIn, REPO_YAML, tokenClient } from './support.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('status text within GitHub limits', () => {
  it('contexts are pushsync/<name>; a long one is cut to 255 with a hash that keeps names apart', () => {
    expect(statusContext('vet')).toBe('pushsync/vet');
    expect(statusContext('prod-eu-1')).toBe('pushsync/prod-eu-1');
    const a = statusContext(`${'x'.repeat(300)}-a`);
    const b = statusContext(`${'x'.repeat(300)}-b`);
    expect(a).toHaveLength(255);
    expect(b).toHaveLength(255);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^pushsync\/x+~[0-9a-f]{10}$/);
    expect(statusContext(`${'x'.repeat(300)}-a`)).toBe(a);
    expect(statusContext('y'.repeat(255 - 'pushsync/'.length))).toHaveLength(255);
  });

  it('descriptions fit in 140 characters, keeping the start and the end', () => {
    expect(fitDescription('vet passed: 42 objects')).toBe('vet passed: 42 objects');
    expect(fitDescription('two\nlines  and   spaces')).toBe('two lines and spaces');
    const long = `START ${'middle '.repeat(60)}END`;
    const fitted = fitDescription(long);
    expect(fitted.length).toBeLessThanOrEqual(140);
    expect(fitted.startsWith('START middle')).toBe(true);
    expect(fitted.endsWith('middle END')).toBe(true);
    expect(fitted).toContain('…');
    const emoji = fitDescription('😀'.repeat(200));
    expect(emoji.length).toBeLessThanOrEqual(140);
    expect(LONE_SURROGATE.test(emoji)).toBe(false);
  });

  it('vet wording: object count on success; the total and the first error on failure', () => {
    expect(describeVet({ errors: [], objects: 42, policyDir: 'policy' })).toBe('vet passed: 42 objects');
    expect(describeVet({ errors: [], objects: 1, clusters: 3, policyDir: '' })).toBe('vet passed: 1 object, 3 clusters');
    const errors: ReportedError[] = [
      { code: 'KNV1029', message: 'metadata.name must be a DNS-1123 subdomain', path: 'namespaces/a/bad.yaml', line: 12 },
      { code: 'KNV1020', message: 'other', path: 'system/' },
    ];
    expect(describeVet({ errors, policyDir: './policy/' })).toBe('2 errors. KNV1029 policy/namespaces/a/bad.yaml:12: metadata.name must be a DNS-1123 subdomain');
    const long = describeVet({ errors: [{ code: 'KNV1021', message: `${'x'.repeat(300)} TAIL`, path: 'a.yaml', line: 1 }], policyDir: '' });
    expect(long.length).toBeLessThanOrEqual(140);
    expect(long.startsWith('1 error. KNV1021 a.yaml:1: xxx')).toBe(true);
    expect(long.endsWith('x TAIL')).toBe(true);
  });

  it('cluster wording for apply, plan, failures and superseded runs', () => {
    const base = { cluster: 'prod', objects: [] };
    expect(describeClusterRun({ ...base, mode: 'plan', counts: { create: 3, configure: 1, prune: 0, unchanged: 9 } })).toBe('plan: 3 to create, 1 to configure, 0 to prune');
    expect(describeClusterRun({ ...base, mode: 'apply', status: 'applied', counts: { created: 2, configured: 1, unchanged: 40, pruned: 1 } })).toBe(
      'applied: 2 created, 1 configured, 40 unchanged, 1 pruned',
    );
    expect(describeClusterRun({ ...base, mode: 'apply', status: 'superseded', supersededBy: 'a'.repeat(40), counts: {} })).toBe('superseded by aaaaaaa: not applied');
    expect(
      describeClusterRun({
        cluster: 'prod',
        mode: 'apply',
        status: 'partial',
        counts: { created: 1, failed: 1 },
        objects: [{ id: 'Deployment.apps/shop/web', action: 'failed', error: { code: 'KNV2010', message: 'spec.replicas: Invalid value' } }],
      }),
    ).toBe('1 object failed, 1 created, 0 configured, 0 unchanged, 0 pruned. Deployment.apps/shop/web: spec.replicas: Invalid value');
  });

  it('ApplyResult and PlanResult from lib/cluster spread into a ClusterReport', () => {
    const inventory = { namespace: 'pushsync-system', name: 'root', id: 'applyset-x' };
    const applied: ApplyResult = {
      status: 'applied',
      commit: 'c'.repeat(40),
      inventory,
      objects: [{ id: 'Namespace/shop', group: '', kind: 'Namespace', name: 'shop', action: 'created' }],
      counts: { created: 1, configured: 0, unchanged: 0, pruned: 0, skipped: 0, failed: 0 },
      startedAt: '2024-01-01T00:00:00Z',
      durationMs: 5,
    };
    const planned: PlanResult = {
      inventory,
      objects: [{ id: 'Deployment.apps/shop/web', group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web', action: 'configure', fields: ['.spec.replicas'] }],
      counts: { create: 0, configure: 1, unchanged: 0, prune: 0, skipped: 0, failed: 0 },
      durationMs: 5,
    };
    const a: ClusterReport = { cluster: 'prod', mode: 'apply', ...applied };
    const p: ClusterReport = { cluster: 'prod', mode: 'plan', ...planned };
    expect(describeClusterRun(a)).toBe('applied: 1 created, 0 configured, 0 unchanged, 0 pruned');
    expect(renderClusterOutput([p]).text).toContain('- configure `Deployment.apps/shop/web`\n  - `.spec.replicas`');
  });
});

describe('long check-run output keeps its end', () => {
  it('drops whole lines from the start and says how many', () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `line ${String(i).padStart(6, '0')} ${'-'.repeat(10)}`);
    const out = keepEnd(lines.join('\n'));
    expect(out.length).toBeLessThanOrEqual(MAX_CHECK_TEXT);
    expect(out.endsWith(lines[lines.length - 1] ?? '?')).toBe(true);
    const m = /^… \((\d+) earlier lines omitted\)\n(line \d+)/.exec(out);
    expect(m).not.toBeNull();
    const dropped = Number(m?.[1]);
    expect(m?.[2]).toBe(`line ${String(dropped).padStart(6, '0')}`);
    expect(out.split('\n')).toHaveLength(1 + lines.length - dropped);
  });

  it('cuts the start of a single enormous line', () => {
    const out = keepEnd(`${'a'.repeat(100_000)}THE END`);
    expect(out.length).toBeLessThanOrEqual(MAX_CHECK_TEXT);
    expect(out.endsWith('aTHE END')).toBe(true);
  });

  it('annotations are repo-relative, on the error line; errors without a file are not annotated', () => {
    const errors: VetError[] = [
      { code: 'KNV1029', message: 'bad name', path: 'namespaces/a/x.yaml', line: 7, column: 3 },
      { code: 'KNV1017', message: 'no repo', path: 'system/' },
      { code: 'KNV9999', message: 'repo-wide' },
      { code: 'KNV1000', message: 'no line', path: 'a.yaml' },
    ];
    expect(vetAnnotations(errors, 'config/policy/')).toEqual([
      { path: 'config/policy/namespaces/a/x.yaml', start_line: 7, end_line: 7, start_column: 3, end_column: 3, annotation_level: 'failure', title: 'KNV1029', message: 'bad name' },
      { path: 'config/policy/a.yaml', start_line: 1, end_line: 1, annotation_level: 'failure', title: 'KNV1000', message: 'no line' },
    ]);
    expect(vetAnnotations(errors, '')[0]?.path).toBe('namespaces/a/x.yaml');
  });
});

describe('posting to GitHub (stand-in)', () => {
  const appId = 31;
  const installationId = 7;
  let server: GitHubServer;
  let sha: string;
  let app: ReturnType<typeof createOctokit>;

  beforeAll(async () => {
    ({ server, octokit: app } = await appStandIn({ appId, installationId }));
    sha = await server.git.commit({ 'policy/system/repo.yaml': REPO_YAML });
  });

  afterAll(async () => {
    await server?.close();
  });

  afterEach(() => {
    expect(server.violations).toEqual([]);
    server.clearRequests();
  });

  const commit = () => ({ owner: server.owner, repo: server.repo, sha });
  const writes = () => server.requests.filter((r) => r.method !== 'GET' && !r.path.startsWith('/app/'));

  it('GitHub refuses a description over 140 characters, so it is always fitted', async () => {
    const { octokit } = tokenClient(server);
    const err = await octokit.rest.repos
      .createCommitStatus({ owner: server.owner, repo: server.repo, sha, state: 'success', context: 'x', description: 'd'.repeat(141) })
      .catch((e: unknown) => e);
    expect(isGitHubError(err) && err.code).toBe('GITHUB_REJECTED');
    await reportVet(octokit, commit(), { errors: [{ code: 'KNV1021', message: 'm'.repeat(500), path: 'a.yaml', line: 2 }], policyDir: 'policy' }, { checkRuns: false });
    const vet = server.latestStatuses(sha).get('pushsync/vet');
    expect(vet?.state).toBe('failure');
    expect(vet?.description?.length).toBeLessThanOrEqual(140);
    expect(vet?.description).toMatch(/^1 error\. KNV1021 policy\/a\.yaml:2: m+…m+$/);
  });

  it('vet with a token: one status, no check run', async () => {
    const { octokit } = tokenClient(server);
    await reportVet(octokit, commit(), { errors: [], objects: 3, policyDir: 'policy' }, { checkRuns: false, targetUrl: 'https://ci.example.com/run/1' });
    expect(writes().map((r) => r.path)).toEqual([`/repos/${server.owner}/${server.repo}/statuses/${sha}`]);
    expect(server.latestStatuses(sha).get('pushsync/vet')).toMatchObject({ state: 'success', description: 'vet passed: 3 objects', target_url: 'https://ci.example.com/run/1' });
  });

  it('vet with an App: 120 errors become 120 annotations in 3 check-run requests (50 each)', async () => {
    const errors: VetError[] = Array.from({ length: 120 }, (_, i) => ({ code: i % 2 ? 'KNV1029' : 'KNV1050', message: `problem ${i}`, path: `namespaces/ns${i}/obj.yaml`, line: i + 1 }));
    await reportVet(app, commit(), { errors: [...errors, { code: 'KNV1017', message: 'no Repo object', path: 'system/' }], policyDir: 'policy' }, { checkRuns: true });
    const w = writes();
    expect(w.map((r) => `${r.method} ${r.path.replace(/check-runs\/\d+$/, 'check-runs/N')}`)).toEqual([
      `POST /repos/${server.owner}/${server.repo}/statuses/${sha}`,
      `POST /repos/${server.owner}/${server.repo}/check-runs`,
      `PATCH /repos/${server.owner}/${server.repo}/check-runs/N`,
      `PATCH /repos/${server.owner}/${server.repo}/check-runs/N`,
    ]);
    const sizes = w.slice(1).map((r) => ((r.body as { output?: { annotations?: unknown[] } }).output?.annotations ?? []).length);
    expect(sizes).toEqual([50, 50, 20]);
    const run = server.checkRuns[server.checkRuns.length - 1];
    expect(run?.name).toBe('pushsync/vet');
    expect(run?.status).toBe('completed');
    expect(run?.conclusion).toBe('failure');
    expect(run?.requests).toBe(3);
    expect(run?.annotations).toHaveLength(120);
    expect(run?.annotations[41]).toMatchObject({ path: 'policy/namespaces/ns41/obj.yaml', start_line: 42, end_line: 42, annotation_level: 'failure', title: 'KNV1029', message: 'problem 41' });
    expect(run?.output.title).toBe('vet: 121 errors');
    expect(run?.output.summary).toContain('| KNV1029 | 60 |');
    expect(run?.output.summary).toContain('1 error not tied to a file is listed below only');
    expect(run?.output.text).toContain('#### KNV1017 `policy/system/`');
    expect(server.latestStatuses(sha).get('pushsync/vet')?.description).toBe('121 errors. KNV1050 policy/namespaces/ns0/obj.yaml:1: problem 0');
  });

  it('a cluster goes pending (status + in-progress run), then its result completes the same run', async () => {
    const id = await reportPending(app, commit(), 'prod', 'applying', { checkRuns: true, targetUrl: 'https://pushsync.example.com/prod' });
    expect(id).toBeTypeOf('number');
    expect(server.checkRuns.find((r) => r.id === id)?.status).toBe('in_progress');
    const report: ClusterReport = {
      cluster: 'prod',
      mode: 'apply',
      status: 'applied',
      commit: sha,
      counts: { created: 1, configured: 1, unchanged: 10, pruned: 1 },
      objects: [
        { id: 'Namespace/shop', action: 'created' },
        { id: 'Deployment.apps/shop/web', action: 'configured', fields: ['.spec.replicas'] },
        { id: 'Service/shop/old', action: 'pruned' },
      ],
    };
    await reportCluster(app, commit(), report, { checkRuns: true, checkRunId: id, targetUrl: 'https://pushsync.example.com/prod' });
    expect(writes().map((r) => `${r.method} ${r.path.split('/').slice(4).join('/')}`)).toEqual([
      `POST statuses/${sha}`,
      'POST check-runs',
      `POST statuses/${sha}`,
      `PATCH check-runs/${id}`,
    ]);
    const states = server.statuses.filter((s) => s.context === 'pushsync/prod').map((s) => [s.state, s.description, s.target_url]);
    expect(states.slice(-2)).toEqual([
      ['pending', 'applying', 'https://pushsync.example.com/prod'],
      ['success', 'applied: 1 created, 1 configured, 10 unchanged, 1 pruned', 'https://pushsync.example.com/prod'],
    ]);
    const run = server.checkRuns.find((r) => r.id === id);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'success', details_url: 'https://pushsync.example.com/prod' });
    expect(run?.output.summary).toContain('| prod | applied | 1 | 1 | 10 | 1 | 0 | 0 |');
    expect(run?.output.text).toContain('- configured `Deployment.apps/shop/web`\n  - `.spec.replicas`');
  });

  it('two clusters keep their own contexts; a superseded run is neutral, not a failure', async () => {
    await reportCluster(app, commit(), { cluster: 'eu', mode: 'apply', status: 'applied', counts: { unchanged: 3 }, objects: [] }, { checkRuns: false });
    await reportCluster(app, commit(), { cluster: 'us', mode: 'apply', status: 'superseded', supersededBy: 'f'.repeat(40), counts: {}, objects: [] }, { checkRuns: true });
    const latest = server.latestStatuses(sha);
    expect(latest.get('pushsync/eu')?.description).toBe('applied: 0 created, 0 configured, 3 unchanged, 0 pruned');
    expect(latest.get('pushsync/us')).toMatchObject({ state: 'success', description: 'superseded by fffffff: not applied' });
    expect(server.checkRuns[server.checkRuns.length - 1]).toMatchObject({ name: 'pushsync/us', conclusion: 'neutral' });
  });

  it('a plan reports "N to create/configure/prune" and a field-level diff; a huge plan keeps its end within 65535', async () => {
    const objects = [
      ...Array.from({ length: 3000 }, (_, i) => ({ id: `ConfigMap/shop/c${i}`, action: 'configure' as const, fields: ['.data.key', `.metadata.labels.v${i}`] })),
      { id: 'Service/shop/old', action: 'prune' as const },
      { id: 'Deployment.apps/shop/broken', action: 'failed' as const, error: { code: 'KNV2010', message: 'dry-run refused: spec.template: Required value' } },
    ];
    const report: ClusterReport = { cluster: 'prod', mode: 'plan', counts: { configure: 3000, prune: 1, failed: 1 }, objects };
    await reportCluster(app, commit(), report, { checkRuns: true });
    const status = server.latestStatuses(sha).get('pushsync/prod');
    expect(status?.state).toBe('failure');
    expect(status?.description).toMatch(/^plan: 0 to create, 3000 to configure, 1 to prune, 1 failed: Deployment\.apps\/shop\/broken: dry-run refused/);
    const run = server.checkRuns[server.checkRuns.length - 1];
    expect(run?.conclusion).toBe('failure');
    expect(run?.output.summary).toContain('| cluster | result | to create | to configure | unchanged | to prune | skipped | failed |');
    expect(run?.output.summary).toContain('| prod | plan failed | 0 | 3000 | 0 | 1 | 0 | 1 |');
    const text = run?.output.text ?? '';
    expect(text.length).toBeLessThanOrEqual(MAX_CHECK_TEXT);
    expect(text).toMatch(/^… \(\d+ earlier lines omitted\)\n/);
    expect(text).toContain('- prune `Service/shop/old`');
    expect(text.endsWith('- `Deployment.apps/shop/broken`: dry-run refused: spec.template: Required value')).toBe(true);
  });
});
