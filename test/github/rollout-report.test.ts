/**
 * A rollout on the commit (issue 11 §3): pending with progress, then success / failure /
 * timed out / superseded, as statuses within 140 characters and check runs with a health table.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Health, PodCause } from '../../lib/cluster/health.ts';
import {
  describeApplied,
  describeHealthLine,
  describeRollout,
  MAX_CHECK_TEXT,
  renderRolloutOutput,
  reportPending,
  reportRollout,
  reportRolloutProgress,
} from '../../lib/github/index.ts';
import type { ClusterReport, createOctokit, ReportedHealth, RolloutReport, RolloutVerdict } from '../../lib/github/index.ts';
import type { GitHubServer } from '../helpers/github-server.ts';
import { appStandIn, REPO_YAML, tokenClient } from './support.ts';

const NS = 'onlineboutique';
const current: Health = { status: 'Current', reason: 'Available', message: 'Deployment is available' };
const progressing: Health = { status: 'InProgress', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' };
const deadline: Health = { status: 'Failed', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "cartservice-7d4b9c" has timed out progressing.' };
const pullBackOff: PodCause = { pod: 'cartservice-7d4b9c-x2x9z', container: 'server', reason: 'ImagePullBackOff', message: 'Back-off pulling image "gcr.io/x/cartservice:never"' };

/** Shaped as lib/cluster's ObjectHealth (its Health and PodCause), so this also checks it is assignable to ReportedHealth. */
interface ClusterObjectHealth {
  readonly id: string;
  readonly group: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly health: Health;
  readonly cause?: PodCause;
}

const deployment = (name: string, health: Health, cause?: PodCause): ReportedHealth => {
  const o: ClusterObjectHealth = { id: `Deployment.apps/${NS}/${name}`, group: 'apps', kind: 'Deployment', namespace: NS, name, health, ...(cause ? { cause } : {}) };
  return o;
};
const service = (name: string, health: Health = { status: 'Current', reason: 'ClusterIP', message: 'has a cluster IP' }): ReportedHealth => ({
  id: `Service/${NS}/${name}`,
  group: '',
  kind: 'Service',
  namespace: NS,
  name,
  health,
});
const namespace: ReportedHealth = { id: `Namespace/${NS}`, group: '', kind: 'Namespace', name: NS, health: { status: 'Current', reason: 'Active', message: 'Active' } };

const NAMES = ['adservice', 'cartservice', 'checkoutservice', 'currencyservice', 'emailservice', 'frontend', 'loadgenerator', 'paymentservice', 'productcatalogservice', 'recommendationservice', 'redis-cart', 'shippingservice'];

/** Online Boutique: 1 Namespace, 12 Deployments (the first `available` Current), 12 Services. */
function boutique(available: number, overrides: Readonly<Record<string, ReportedHealth>> = {}): ReportedHealth[] {
  return [namespace, ...NAMES.map((n, i) => overrides[n] ?? deployment(n, i < available ? current : progressing)), ...NAMES.map((n) => service(n))];
}

const applyReport: ClusterReport = {
  cluster: 'prod',
  mode: 'apply',
  status: 'applied',
  counts: { created: 3, configured: 0, unchanged: 22, pruned: 0 },
  objects: [
    { id: `Deployment.apps/${NS}/cartservice`, action: 'created' },
    { id: `Service/${NS}/cartservice`, action: 'created' },
    { id: `Deployment.apps/${NS}/frontend`, action: 'created' },
  ],
};
const APPLIED = 'applied 25 (3 created)';

const report = (objects: ReportedHealth[], verdict?: RolloutVerdict, extra: Partial<RolloutReport> = {}): RolloutReport => ({
  cluster: 'prod',
  applied: APPLIED,
  objects,
  ...(verdict ? { verdict } : {}),
  ...extra,
});

describe('rollout text', () => {
  it('describeApplied: everything the commit has on the cluster, and what changed', () => {
    expect(describeApplied(applyReport)).toBe(APPLIED);
    expect(describeApplied({ ...applyReport, counts: { created: 1, configured: 2, unchanged: 3, pruned: 4 } })).toBe('applied 6 (1 created, 2 configured, 4 pruned)');
    expect(describeApplied({ ...applyReport, counts: { unchanged: 25 } })).toBe('applied 25 (unchanged)');
  });

  it('the issue\'s own words for progress, success, failure, timeout and superseded', () => {
    expect(describeRollout(report(boutique(9)))).toBe('applied 25 (3 created); rolling out: 9/12 Deployments available');
    const lb = { status: 'InProgress', reason: 'NoAddress', message: 'waiting for a load-balancer address' } as const;
    expect(describeRollout(report([...boutique(9), service('frontend-external', lb), service('other', lb)]))).toBe(
      'applied 25 (3 created); rolling out: 9/12 Deployments available, 2 other objects in progress',
    );
    expect(describeRollout(report([namespace, service('a', lb)]))).toBe('applied 25 (3 created); rolling out: 1 other object in progress');
    const sts: ReportedHealth = { id: `StatefulSet.apps/${NS}/db`, group: 'apps', kind: 'StatefulSet', namespace: NS, name: 'db', health: progressing };
    expect(describeRollout(report([...boutique(12), sts]))).toBe('applied 25 (3 created); rolling out: 12/12 Deployments available, 0/1 StatefulSet ready');
    expect(describeRollout(report([namespace]))).toBe('applied 25 (3 created); rolling out: 1/1 object healthy');
    expect(describeRollout(report(boutique(12), { kind: 'healthy', seconds: 41.4 }))).toBe('25 objects healthy in 41 s');
    const cart = deployment('cartservice', deadline, pullBackOff);
    expect(describeRollout(report(boutique(12, { cartservice: cart }), { kind: 'failed', failed: cart }))).toBe(
      'Deployment onlineboutique/cartservice: ProgressDeadlineExceeded; pod cartservice-7d4b9c-x2x9z: ImagePullBackOff',
    );
    expect(describeRollout(report(boutique(9), { kind: 'timeout', timeoutSeconds: 300 }))).toBe(
      'not healthy after 5m: Deployment onlineboutique/recommendationservice: MinimumReplicasUnavailable (and 2 more)',
    );
    expect(describeRollout(report(boutique(11), { kind: 'timeout', timeoutSeconds: 90 }))).toBe('not healthy after 90s: Deployment onlineboutique/shippingservice: MinimumReplicasUnavailable');
    expect(describeRollout(report([], { kind: 'superseded', by: 'abc1234'.padEnd(40, '0') }))).toBe('superseded by abc1234 before its rollout finished');
  });

  it('every verdict fits in 140 characters, keeping what matters', () => {
    const long = 'n'.repeat(63);
    const cause: PodCause = { pod: `${long}-7d4b9c5f6d-x2x9z`, reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' };
    const failed: ReportedHealth = { id: `Deployment.apps/${long}/${long}`, group: 'apps', kind: 'Deployment', namespace: long, name: long, health: deadline, cause };
    const objects = [failed, ...Array.from({ length: 30 }, (_, i) => ({ ...failed, id: `${failed.id}${i}`, health: progressing }))];
    const verdicts: (RolloutVerdict | undefined)[] = [
      undefined,
      { kind: 'healthy', seconds: 12_345 },
      { kind: 'failed', failed },
      { kind: 'timeout', timeoutSeconds: 3600 },
      { kind: 'superseded', by: 'f'.repeat(64) },
    ];
    for (const v of verdicts) {
      const text = describeRollout(report(objects, v, { applied: `applied 100000 (${'9'.repeat(200)} created)` }));
      expect(text.length, `${v?.kind ?? 'progress'}: ${text}`).toBeLessThanOrEqual(140);
      expect(text).not.toMatch(/\s{2}|\n/);
    }
    // Progress keeps its own part whole; the apply's part gives way.
    expect(describeRollout(report(objects, undefined, { applied: `applied 100000 (${'9'.repeat(200)} created)` }))).toMatch(/…9+ created\); rolling out: 0\/31 Deployments available$/);
    // A failure keeps the object, its reason and the pod's reason; the pod's generated name gives way first.
    const line = describeHealthLine(failed);
    expect(line.length).toBeLessThanOrEqual(140);
    expect(line).toMatch(/^Deployment n{20,}…n{20,}: ProgressDeadlineExceeded; pod n{12}…: CrashLoopBackOff$/);
    const shorter = { ...failed, namespace: 'shop', name: 'web' };
    expect(describeHealthLine(shorter)).toMatch(/^Deployment shop\/web: ProgressDeadlineExceeded; pod n+-7d4b9c…: CrashLoopBackOff$/);
    expect(describeHealthLine(shorter)).toHaveLength(140);
    expect(describeHealthLine({ ...failed, cause: undefined })).toMatch(/^Deployment n+…n+: ProgressDeadlineExceeded$/);
    expect(describeHealthLine({ ...failed, cause: undefined }).length).toBe(140);
    expect(describeHealthLine({ ...shorter, cause: { ...cause, pod: 'web-5c4f-abcde' } })).toBe('Deployment shop/web: ProgressDeadlineExceeded; pod web-5c4f-abcde: CrashLoopBackOff');
  });

  it('the check run: a one-line title, the verdict and a health table (failed first); the apply\'s details below', () => {
    const cart = deployment('cartservice', deadline, pullBackOff);
    const out = renderRolloutOutput(report(boutique(12, { cartservice: cart }), { kind: 'failed', failed: cart }, { apply: applyReport }));
    expect(out.title).toBe('Deployment onlineboutique/cartservice: ProgressDeadlineExceeded; pod cartservice-7d4b9c-x2x9z: ImagePullBackOff');
    expect(out.title).not.toContain('\n');
    const lines = out.summary.split('\n');
    expect(lines[0]).toBe('**Failed on prod: Deployment onlineboutique/cartservice: ProgressDeadlineExceeded; pod cartservice-7d4b9c-x2x9z: ImagePullBackOff**');
    expect(out.summary).toContain('Apply: applied 25 (3 created).');
    expect(out.summary).toContain('- `Deployment.apps/onlineboutique/cartservice`: ReplicaSet "cartservice-7d4b9c" has timed out progressing.');
    expect(out.summary).toContain('  - pod `cartservice-7d4b9c-x2x9z` container `server`: ImagePullBackOff: Back-off pulling image "gcr.io/x/cartservice:never"');
    const table = lines.slice(lines.indexOf('| object | health | reason |'));
    expect(table[1]).toBe('| --- | --- | --- |');
    expect(table[2]).toBe('| `Deployment.apps/onlineboutique/cartservice` | Failed | ProgressDeadlineExceeded; pod `cartservice-7d4b9c-x2x9z`: ImagePullBackOff |');
    expect(table[3]).toBe('| `Namespace/onlineboutique` | Current | Active |');
    expect(table.slice(2)).toHaveLength(25);
    expect(out.text).toContain('- created `Deployment.apps/onlineboutique/cartservice`');
    // After a timeout nothing failed: what was still not ready is spelled out instead.
    const late = renderRolloutOutput(report(boutique(9), { kind: 'timeout', timeoutSeconds: 300 }));
    expect(late.summary.split('\n').slice(0, 7)).toEqual([
      '**Not healthy on prod after 5m: 3 objects still not ready**',
      '',
      'Apply: applied 25 (3 created).',
      '',
      '- `Deployment.apps/onlineboutique/recommendationservice`: Deployment does not have minimum availability.',
      '- `Deployment.apps/onlineboutique/redis-cart`: Deployment does not have minimum availability.',
      '- `Deployment.apps/onlineboutique/shippingservice`: Deployment does not have minimum availability.',
    ]);
    // Without the apply's report (a later health check), the details a previous report left are kept.
    expect(renderRolloutOutput(report(boutique(12), { kind: 'healthy', seconds: 3 }), 'kept details').text).toBe('kept details');
    expect(renderRolloutOutput(report(boutique(12), { kind: 'healthy', seconds: 3 })).text).toBeUndefined();
  });

  it('2,000 objects: the table stops on a row boundary within 65535 and says "and N more"', () => {
    const many: ReportedHealth[] = Array.from({ length: 2000 }, (_, i) =>
      deployment(`workload-with-a-rather-long-name-${String(i).padStart(4, '0')}`, i === 1500 ? deadline : i % 3 === 0 ? progressing : current),
    );
    const out = renderRolloutOutput(report(many, { kind: 'failed', failed: many[1500] as ReportedHealth }));
    expect(out.summary.length).toBeLessThanOrEqual(MAX_CHECK_TEXT);
    const lines = out.summary.split('\n');
    const rows = lines.filter((l) => l.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.length).toBeLessThan(2000);
    for (const r of rows) expect(r).toMatch(/^\| `Deployment\.apps\/onlineboutique\/workload-with-a-rather-long-name-\d{4}` \| \w+ \| [^|]+ \|$/);
    expect(rows[0]).toContain('-1500` | Failed | ProgressDeadlineExceeded |');
    expect(rows[1]).toContain('-0000` | InProgress |');
    const last = lines[lines.length - 1] ?? '';
    const m = /^and (\d+) more objects: (.+)$/.exec(last);
    expect(m).not.toBeNull();
    expect(Number(m?.[1]) + rows.length).toBe(2000);
    // What is left is counted by health: no failed object hides behind "more".
    expect(m?.[2]).not.toContain('Failed');
    expect(lines[lines.length - 2]).toBe('');
  });
});

describe('rollout reports on GitHub (stand-in)', () => {
  const appId = 52;
  const installationId = 3;
  let server: GitHubServer;
  let sha: string;
  let app: ReturnType<typeof createOctokit>;
  const target = 'https://pushsync.example.com/prod';

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
    server.clearFaults();
  });

  const commit = () => ({ owner: server.owner, repo: server.repo, sha });
  const calls = () => server.requests.filter((r) => !r.path.startsWith('/app/')).map((r) => `${r.method} ${r.path.split('/').slice(4).join('/').replace(/\/\d+$/, '/N')}`);
  const statusOf = (cluster: string) => server.latestStatuses(sha).get(`pushsync/${cluster}`);
  const runOf = (id: number | undefined) => server.checkRuns.find((r) => r.id === id);

  it('apply → progress (pending, run in progress) → a later check fails it; the apply\'s details stay in the run', async () => {
    const id = await reportPending(app, commit(), 'prod', 'applying', { checkRuns: true, targetUrl: target });
    server.clearRequests();
    await reportRolloutProgress(app, commit(), report(boutique(9), undefined, { apply: applyReport }), { checkRuns: true, checkRunId: id, targetUrl: target });
    expect(calls()).toEqual([`POST statuses/${sha}`, 'PATCH check-runs/N']);
    expect(statusOf('prod')).toMatchObject({ state: 'pending', description: 'applied 25 (3 created); rolling out: 9/12 Deployments available', target_url: target });
    expect(runOf(id)).toMatchObject({ status: 'in_progress', conclusion: null, output: { title: 'applied 25 (3 created); rolling out: 9/12 Deployments available' } });
    expect(runOf(id)?.output.summary).toContain('**Rolling out on prod: 9/12 Deployments available**');
    const details = runOf(id)?.output.text ?? '';
    expect(details).toContain('- created `Deployment.apps/onlineboutique/frontend`');

    // The health function knows only the check run's id: one GET keeps the apply's details.
    server.clearRequests();
    await reportRolloutProgress(app, commit(), report(boutique(11)), { checkRuns: true, checkRunId: id, targetUrl: target });
    expect(calls()).toEqual([`POST statuses/${sha}`, 'GET check-runs/N', 'PATCH check-runs/N']);
    expect(runOf(id)).toMatchObject({ status: 'in_progress', conclusion: null });
    expect(runOf(id)?.output.text).toBe(details);

    server.clearRequests();
    const cart = deployment('cartservice', deadline, pullBackOff);
    await reportRollout(app, commit(), { ...report(boutique(12, { cartservice: cart })), verdict: { kind: 'failed', failed: cart } }, { checkRuns: true, checkRunId: id, targetUrl: target });
    expect(calls()).toEqual([`POST statuses/${sha}`, 'GET check-runs/N', 'PATCH check-runs/N']);
    expect(statusOf('prod')).toMatchObject({ state: 'failure', description: 'Deployment onlineboutique/cartservice: ProgressDeadlineExceeded; pod cartservice-7d4b9c-x2x9z: ImagePullBackOff' });
    const run = runOf(id);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'failure', details_url: target });
    expect(run?.output.summary).toContain('| `Deployment.apps/onlineboutique/cartservice` | Failed | ProgressDeadlineExceeded; pod `cartservice-7d4b9c-x2x9z`: ImagePullBackOff |');
    expect(run?.output.text).toBe(details);
  });

  it('healthy → success; timeout → failure + timed_out; superseded → error + neutral (never green)', async () => {
    const cases: [string, RolloutVerdict, string, string, string][] = [
      ['eu', { kind: 'healthy', seconds: 41 }, 'success', 'success', '25 objects healthy in 41 s'],
      ['us', { kind: 'timeout', timeoutSeconds: 300 }, 'failure', 'timed_out', 'not healthy after 5m: Deployment onlineboutique/recommendationservice: MinimumReplicasUnavailable (and 2 more)'],
      ['ap', { kind: 'superseded', by: 'b'.repeat(40) }, 'error', 'neutral', 'superseded by bbbbbbb before its rollout finished'],
    ];
    for (const [cluster, verdict, state, conclusion, description] of cases) {
      const id = await reportPending(app, commit(), cluster, 'applying', { checkRuns: true });
      const objects = verdict.kind === 'healthy' ? boutique(12) : verdict.kind === 'timeout' ? boutique(9) : [];
      await reportRollout(app, commit(), { ...report(objects, undefined, { cluster, apply: { ...applyReport, cluster } }), verdict }, { checkRuns: true, checkRunId: id });
      expect(statusOf(cluster), cluster).toMatchObject({ state, description });
      expect(runOf(id), cluster).toMatchObject({ status: 'completed', conclusion, output: { title: description } });
    }
    // With the apply's report at hand, nothing is read back.
    expect(server.requests.filter((r) => r.method === 'GET')).toEqual([]);
    expect(runOf(server.checkRuns.find((r) => r.name === 'pushsync/ap')?.id)?.output.summary).toBe(
      `**Superseded on ap by \`${'b'.repeat(40)}\` before its rollout finished: no verdict for this commit**\n\nApply: applied 25 (3 created).`,
    );
  });

  it('a token (no check runs): the status only; progress without a check-run id touches no run', async () => {
    const { octokit } = tokenClient(server);
    await reportRolloutProgress(octokit, commit(), report(boutique(3), undefined, { cluster: 'tok' }), { checkRuns: false });
    await reportRollout(octokit, commit(), { ...report(boutique(12), undefined, { cluster: 'tok' }), verdict: { kind: 'healthy', seconds: 7 } }, { checkRuns: false });
    expect(calls()).toEqual([`POST statuses/${sha}`, `POST statuses/${sha}`]);
    expect(statusOf('tok')).toMatchObject({ state: 'success', description: '25 objects healthy in 7 s' });
    server.clearRequests();
    await reportRolloutProgress(app, commit(), report(boutique(3), undefined, { cluster: 'norun' }), { checkRuns: true });
    expect(calls()).toEqual([`POST statuses/${sha}`]);
    // The final report then creates a completed run of its own.
    await reportRollout(app, commit(), { ...report(boutique(12), undefined, { cluster: 'norun' }), verdict: { kind: 'healthy', seconds: 9 } }, { checkRuns: true });
    expect(server.checkRuns.filter((r) => r.name === 'pushsync/norun').map((r) => [r.status, r.conclusion])).toEqual([['completed', 'success']]);
  });

  it('a failing status write still completes the check run (and the other way round); the failure is thrown', async () => {
    const id = await reportPending(app, commit(), 'both', 'applying', { checkRuns: true });
    server.fail({ method: 'POST', path: `/repos/${server.owner}/${server.repo}/statuses/${sha}`, status: 422, body: { message: 'Validation Failed' } });
    await expect(reportRollout(app, commit(), { ...report(boutique(12), undefined, { cluster: 'both' }), verdict: { kind: 'healthy', seconds: 5 } }, { checkRuns: true, checkRunId: id })).rejects.toMatchObject({
      code: 'GITHUB_REJECTED',
    });
    expect(runOf(id)).toMatchObject({ status: 'completed', conclusion: 'success' });

    const id2 = await reportPending(app, commit(), 'both2', 'applying', { checkRuns: true });
    server.fail({ method: 'PATCH', path: `/repos/${server.owner}/${server.repo}/check-runs/${id2}`, status: 422, body: { message: 'Validation Failed' } });
    await expect(
      reportRollout(app, commit(), { ...report(boutique(12), undefined, { cluster: 'both2' }), verdict: { kind: 'healthy', seconds: 5 } }, { checkRuns: true, checkRunId: id2 }),
    ).rejects.toMatchObject({ code: 'GITHUB_REJECTED' });
    expect(statusOf('both2')).toMatchObject({ state: 'success' });
  });
});
