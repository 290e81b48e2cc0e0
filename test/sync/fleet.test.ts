/**
 * A fleet on GitHub (issue 13 §3): above the threshold a push is one `pushsync/fleet` context
 * (sync's writes do not grow with the fleet), the apply jobs report only bad news, and the fleet
 * look concludes the context from the failures on GitHub and a look at each cluster.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionName, JsonValue } from '../../lib/fanout/index.ts';
import { MAX_CHECK_TEXT, MAX_DESCRIPTION, postStatus, reportCluster, startCheckRun, type CommitRef } from '../../lib/github/index.ts';
import { parseApplyJob, type PushJob } from '../../lib/jobs.ts';
import { removeCluster } from '../../lib/registry/index.ts';
import { handlersFor, runSync } from '../../lib/sync/index.ts';
import {
  FLEET_DEFAULTS,
  describeFleet,
  fleetSession,
  fleetThreshold,
  parseFleetJob,
  renderFleetOutput,
  runFleetCheck,
  type ClusterLook,
  type FleetJob,
  type FleetRow,
} from '../../lib/sync/fleet.ts';
import { BROKEN_YAML, NAMESPACE_YAML, OWNER, REPO, REPO_YAML, closedPort, startWorld, unreachableKubeconfig, type World } from './support.ts';

let world: World;
const calls: { fn: FunctionName; payload: JsonValue }[] = [];
const FLEET = Array.from({ length: 12 }, (_, i) => `c${String(i).padStart(2, '0')}`);

beforeAll(async () => {
  world = await startWorld();
  const kubeconfig = unreachableKubeconfig(await closedPort());
  for (const name of FLEET) await world.register(name, kubeconfig);
}, 60_000);
afterAll(async () => {
  await world?.close();
});
afterEach(() => {
  expect(world.github.violations).toEqual([]);
  world.github.clearFaults();
  calls.length = 0;
});

const shop = { 'system/repo.yaml': REPO_YAML, 'namespaces/shop/namespace.yaml': NAMESPACE_YAML('shop') };
let n = 0;

async function push(files: Record<string, string>): Promise<PushJob> {
  const after = await world.github.git.commit(files, { message: `fleet ${++n}`, replace: true });
  return { deliveryId: `f-${n}`, repo: `${OWNER}/${REPO}`, owner: OWNER, name: REPO, ref: 'refs/heads/main', branch: 'main', after, before: '0'.repeat(40), defaultBranch: 'main', pushedAt: new Date().toISOString(), installationId: 7 };
}

const writesOn = (sha: string) => world.github.requests.filter((r) => r.method !== 'GET' && !r.path.startsWith('/app/') && (JSON.stringify(r.body ?? '').includes(sha) || r.path.includes(sha) || r.path.includes('/check-runs/')));

function recording() {
  world.setInvoke(async (fn, payload) => {
    calls.push({ fn, payload });
  });
}

describe('sync of a fleet push', () => {
  it('above the threshold: vet and one pending `pushsync/fleet` with the table, no per-cluster context; every apply job marked fleet; one fleet look', async () => {
    recording();
    world.github.clearRequests();
    const job = await push(shop);
    const o = await runSync(job, world.deps);
    expect(o).toMatchObject({ kind: 'dispatched', mode: 'apply', fleet: true });
    expect(world.statuses(job.after)).toEqual({ 'pushsync/vet': expect.stringMatching(/^success/), 'pushsync/fleet': 'pending: applying ' + job.after.slice(0, 7) + '… on 12 clusters' });
    const runs = world.checkRuns(job.after);
    expect(runs.map((r) => `${r.name} ${r.status}`).sort()).toEqual(['pushsync/fleet in_progress', 'pushsync/vet completed']);
    expect(runs.find((r) => r.name === 'pushsync/fleet')?.summary).toContain('| c11 | pending |');
    // 2 statuses + 2 check runs, whatever the fleet's size.
    expect(writesOn(job.after)).toHaveLength(4);
    const applies = calls.filter((c) => c.fn === 'apply').map((c) => c.payload as { cluster: string; fleet?: boolean; checkRunId?: number });
    expect(applies.map((a) => a.cluster).sort()).toEqual(FLEET);
    expect(applies.every((a) => a.fleet === true && a.checkRunId === undefined)).toBe(true);
    const looks = calls.filter((c) => c.fn === 'health');
    expect(looks).toHaveLength(1);
    const look = parseFleetJob(looks[0]?.payload ?? null);
    expect(look).toMatchObject({ kind: 'fleet', sha: job.after, clusters: FLEET, done: [], check: 1 });
    expect(look.checkRunId).toBe(world.github.checkRuns.find((r) => r.head_sha === job.after && r.name === 'pushsync/fleet')?.id);
  });

  it('the wiring: an apply payload keeps its fleet mark across the edge, and the health function runs a fleet look (not refused as a malformed health job)', async () => {
    recording();
    const job = await push(shop);
    await runSync(job, world.deps);
    const apply = calls.find((c) => c.fn === 'apply')?.payload ?? null;
    expect(parseApplyJob(apply)).toMatchObject({ fleet: true });
    const look = calls.find((c) => c.fn === 'health')?.payload ?? null;
    calls.length = 0;
    const outcome = await handlersFor(world.deps).health(look, { functionName: 'health', invocationId: 'look-1', attempt: 0, deadline: Date.now() + 60_000 });
    expect(outcome).not.toMatchObject({ kind: 'rejected' });
    // The clusters are unreachable and still pending: the look schedules the next one, again on `health`.
    expect(calls.map((c) => c.fn)).toContain('health');
    expect(parseFleetJob(calls.find((c) => c.fn === 'health')?.payload ?? null)).toMatchObject({ sha: job.after, check: 2 });
  });

  it('at or below the threshold (here set to 12): one context per cluster, as before', async () => {
    recording();
    const job = await push(shop);
    const o = await runSync(job, { ...world.deps, fleetThreshold: 12 });
    expect(o).toMatchObject({ kind: 'dispatched', mode: 'apply' });
    expect('fleet' in o).toBe(false);
    expect(Object.keys(world.statuses(job.after))).toHaveLength(13);
    expect(calls.filter((c) => c.fn === 'health')).toHaveLength(0);
  });

  it('PUSHSYNC_FLEET_THRESHOLD sets the threshold; nonsense is refused', () => {
    expect(fleetThreshold({})).toBe(10);
    expect(fleetThreshold({ PUSHSYNC_FLEET_THRESHOLD: '0' })).toBe(0);
    expect(fleetThreshold({ PUSHSYNC_FLEET_THRESHOLD: '250' })).toBe(250);
    expect(() => fleetThreshold({ PUSHSYNC_FLEET_THRESHOLD: 'ten' })).toThrow(/PUSHSYNC_FLEET_THRESHOLD/);
  });

  it('a commit that fails validation: `pushsync/fleet` failure, no per-cluster context', async () => {
    recording();
    const job = await push({ ...shop, 'namespaces/shop/broken.yaml': BROKEN_YAML });
    expect(await runSync(job, world.deps)).toMatchObject({ kind: 'invalid' });
    expect(world.statuses(job.after)).toEqual({ 'pushsync/vet': expect.stringMatching(/^failure/), 'pushsync/fleet': expect.stringMatching(/^failure: not applied: the commit fails validation/) });
    expect(world.checkRuns(job.after).every((r) => r.status === 'completed')).toBe(true);
    expect(calls).toHaveLength(0);
  });

  it('a handover that fails: `pushsync/fleet` concluded "will retry", nothing left pending', async () => {
    let handed = 0;
    world.setInvoke(async (fn) => {
      if (fn === 'apply' && ++handed > 3) throw Object.assign(new Error('Lambda is throttling'), { code: 'FANOUT_BACKEND', retryable: true });
    });
    const job = await push(shop);
    expect(await runSync(job, world.deps)).toMatchObject({ kind: 'retry' });
    expect(world.statuses(job.after)['pushsync/fleet']).toMatch(/^error: will retry/);
    expect(world.checkRuns(job.after).every((r) => r.status === 'completed')).toBe(true);
  });
});

describe('the fleet look', () => {
  let commit: CommitRef;
  let base: FleetJob;

  beforeAll(async () => {
    const job = await push(shop);
    commit = { owner: OWNER, repo: REPO, sha: job.after };
    const { octokit } = await world.deps.github({ deliveryId: 'look', installationId: 7 });
    const checkRunId = await startCheckRun(octokit, { ...commit, name: 'fleet', title: 'applying', summary: 'applying' });
    base = { kind: 'fleet', deliveryId: 'look', owner: OWNER, name: REPO, sha: job.after, installationId: 7, checkRunId, clusters: FLEET.slice(0, 4), done: [], startedAt: Date.now(), timeoutAt: Date.now() + 600_000, check: 1 };
  });

  const looking = (answers: Record<string, ClusterLook>) => ({ look: async (cluster: string): Promise<ClusterLook> => answers[cluster] ?? { kind: 'other-commit' } });
  const healthy: ClusterLook = { kind: 'at-commit', state: 'healthy' };

  it('clusters still applying: progress written once, the next look scheduled with what is final', async () => {
    recording();
    const o = await runFleetCheck(base, world.deps, looking({ c00: healthy, c01: { kind: 'at-commit', state: 'progressing' } }));
    expect(o).toMatchObject({ kind: 'waiting', check: 2, description: '4 clusters: 1 applied, 1 rolling out, 2 pending' });
    expect(world.statuses(commit.sha)['pushsync/fleet']).toBe('pending: 4 clusters: 1 applied, 1 rolling out, 2 pending');
    const next = parseFleetJob(calls.find((c) => c.fn === 'health')?.payload ?? null);
    expect(next.done).toEqual([{ cluster: 'c00', state: 'applied', detail: 'healthy' }]);
    expect(next.written).toBe('4 clusters: 1 applied, 1 rolling out, 2 pending');
    // A changed line within writeEveryMs is not written: the fleet's progress costs at most one write per interval.
    calls.length = 0;
    world.github.clearRequests();
    const again = await runFleetCheck(next, world.deps, looking({ c01: healthy }));
    expect(again).toMatchObject({ kind: 'waiting', description: '4 clusters: 2 applied, 2 pending' });
    expect(world.github.requests.filter((r) => r.method !== 'GET' && !r.path.startsWith('/app/'))).toEqual([]);
    expect(world.statuses(commit.sha)['pushsync/fleet']).toMatch(/1 rolling out/);
  });

  it('every cluster final: `pushsync/fleet` concluded, failures from the clusters\' own statuses named, a retried cluster mended', async () => {
    recording();
    const { octokit } = await world.deps.github({ deliveryId: 'look', installationId: 7 });
    await postStatus(octokit, { ...commit, name: 'c02', state: 'failure', description: '1 object failed, …' });
    await postStatus(octokit, { ...commit, name: 'c03', state: 'error', description: 'will retry: ECONNRESET' });
    const o = await runFleetCheck({ ...base, done: [{ cluster: 'c00', state: 'applied' }] }, world.deps, looking({ c01: healthy, c03: healthy }));
    expect(o).toEqual({ kind: 'concluded', state: 'failure', description: '4 clusters: 3 applied, 1 failed (c02)' });
    const statuses = world.statuses(commit.sha);
    expect(statuses['pushsync/fleet']).toBe('failure: 4 clusters: 3 applied, 1 failed (c02)');
    expect(statuses['pushsync/c03']).toMatch(/^success: applied and healthy/);
    const run = world.github.checkRuns.find((r) => r.id === base.checkRunId);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(run?.output.summary?.split('\n').slice(4, 5)).toEqual(['| c02 | failed | 1 object failed, … |']);
    expect(calls).toHaveLength(0);
  });

  it('past the fleet\'s time: what is not final fails, on its own context and in the table', async () => {
    const job = await push({ ...shop, 'namespaces/late/namespace.yaml': NAMESPACE_YAML('late') });
    const late = { ...base, sha: job.after, clusters: ['c00', 'c01'], startedAt: Date.now() - 600_001, timeoutAt: Date.now() - 1, checkRunId: undefined };
    const o = await runFleetCheck(late, world.deps, looking({ c00: healthy, c01: { kind: 'unknown', detail: 'connect ECONNREFUSED' } }));
    expect(o).toMatchObject({ kind: 'concluded', state: 'failure' });
    expect(world.statuses(job.after)['pushsync/c01']).toMatch(/^failure: not applied after 10m: connect ECONNREFUSED/);
    expect(world.statuses(job.after)['pushsync/c00']).toBeUndefined();
  });

  it('a newer commit on a cluster: superseded, final (the look asks GitHub which is newer)', async () => {
    const older = commit.sha;
    const newer = await push({ ...shop, 'namespaces/newer/namespace.yaml': NAMESPACE_YAML('newer') });
    const o = await runFleetCheck({ ...base, sha: older, clusters: ['c00'], checkRunId: undefined }, world.deps, looking({ c00: { kind: 'other-commit', commit: newer.after } }));
    expect(o).toMatchObject({ kind: 'concluded', state: 'success', description: '1 clusters: 0 applied, 1 superseded' });
  });
});

describe('apply and health jobs of a fleet push: only bad news reaches GitHub', () => {
  it('pending, success and progress of the cluster are held; a failure passes; no Deployment', async () => {
    const job = await push(shop);
    const commit = { owner: OWNER, repo: REPO, sha: job.after };
    world.github.clearRequests();
    const session = fleetSession(await world.deps.github({ deliveryId: 'apply', installationId: 7 }), 'c05');
    await postStatus(session.octokit, { ...commit, name: 'c05', state: 'pending', description: 'applying' });
    const runId = await startCheckRun(session.octokit, { ...commit, name: 'c05' });
    await reportCluster(session.octokit, commit, { cluster: 'c05', mode: 'apply', status: 'applied', counts: { created: 1 }, objects: [] }, { checkRuns: true, checkRunId: runId });
    const dep = await session.octokit.rest.repos.createDeployment({ owner: OWNER, repo: REPO, ref: job.after, required_contexts: [], environment: 'c05' });
    expect(dep.data).toMatchObject({ id: 1 });
    expect(world.github.requests.filter((r) => r.method !== 'GET' && !r.path.startsWith('/app/'))).toEqual([]);
    expect(world.github.deployments({ sha: job.after })).toEqual([]);
    // Another cluster's context and a failure pass.
    await reportCluster(session.octokit, commit, { cluster: 'c05', mode: 'apply', status: 'failed', counts: { failed: 1 }, objects: [], error: { message: 'refused' } }, { checkRuns: true });
    expect(world.statuses(job.after)).toEqual({ 'pushsync/c05': 'failure: failed: refused' });
    expect(world.checkRuns(job.after).map((r) => `${r.name} ${r.conclusion}`)).toEqual(['pushsync/c05 failure']);
  });
});

describe('fleet text within GitHub\'s limits', () => {
  it('the line names failures as far as 140 characters allow; the table fits 65,535', () => {
    const rows: FleetRow[] = Array.from({ length: 5000 }, (_, i) => ({ cluster: `cluster-${String(i).padStart(4, '0')}-in-a-region-far-away`, state: i % 3 === 0 ? 'failed' : 'applied', detail: 'Deployment shop/web: ProgressDeadlineExceeded; pod web-7d4b9-x2x: ImagePullBackOff'.repeat(3) }));
    const line = describeFleet(rows);
    expect(line.length).toBeLessThanOrEqual(MAX_DESCRIPTION);
    expect(line).toMatch(/^5000 clusters: 3333 applied, 1667 failed \(cluster-0000-in-a-region-far-away, .*\+\d+\)$/);
    const out = renderFleetOutput(rows);
    expect(out.summary.length).toBeLessThanOrEqual(MAX_CHECK_TEXT);
    expect(out.summary).toMatch(/and \d+ more clusters/);
    expect(out.summary.split('\n')[4]).toMatch(/\| failed \|/);
    expect(FLEET_DEFAULTS.threshold).toBe(10);
  });
});

afterAll(async () => {
  for (const name of FLEET) await removeCluster(world.store, name);
});
