/**
 * After one look at a rollout (lib/sync/rollout.ts), decision by decision, against the GitHub
 * stand-in as an App (contract-checked): what `pushsync/<cluster>`, its check run and the
 * cluster's GitHub Deployment say, and which follow-up check is scheduled, for each answer
 * checkRollout can give. The answers are values here; the same paths on a cluster that runs
 * workloads are in test/e2e/rollout.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Codes, type ObjectHealth, type RolloutCheck } from '../../lib/cluster/index.ts';
import type { FunctionName, InvokeOptions, Invoker, JsonValue } from '../../lib/fanout/index.ts';
import { createDeployment, startCheckRun, type CommitRef } from '../../lib/github/index.ts';
import { parseHealthJob, type HealthJob } from '../../lib/jobs.ts';
import { createLogger } from '../../lib/log.ts';
import { followRollout, nextDelay, runHealthCheck, HEALTH_DEFAULTS, type GitHubSession } from '../../lib/sync/index.ts';
import { trackDeployment } from '../../lib/sync/deployment.ts';
import { NAMESPACE_YAML, OWNER, REPO, REPO_YAML, checkStandIn, startWorld, type World } from './support.ts';

let world: World;
let session: GitHubSession;
let n = 0;

beforeAll(async () => {
  world = await startWorld();
  session = await world.deps.github({ deliveryId: 'rollout', installationId: 7 });
});
afterAll(async () => {
  await world?.close();
});
afterEach(() => checkStandIn(world));

const log = createLogger({ sink: () => {}, level: 'error' });

interface Scheduled {
  readonly fn: FunctionName;
  readonly job: HealthJob;
  readonly delayMs: number | undefined;
}

function recorder(): Invoker & { readonly calls: Scheduled[] } {
  const calls: Scheduled[] = [];
  return {
    calls,
    invoke: async (fn: FunctionName, payload: JsonValue, options?: InvokeOptions) => {
      calls.push({ fn, job: parseHealthJob(payload), delayMs: options?.delayMs });
    },
  };
}

const object = (kind: string, name: string, status: ObjectHealth['health']['status'], reason: string, cause?: ObjectHealth['cause']): ObjectHealth => ({
  id: `${kind}.apps/shop/${name}`,
  group: kind === 'Service' ? '' : 'apps',
  kind,
  namespace: 'shop',
  name,
  health: { status, reason, message: reason },
  ...(cause ? { cause } : {}),
});

const counts = (objects: readonly ObjectHealth[]) => {
  const c = { Current: 0, InProgress: 0, Failed: 0, Terminating: 0, NotFound: 0 };
  for (const o of objects) c[o.health.status]++;
  return c;
};

const checked = (state: 'healthy' | 'progressing' | 'failed', objects: readonly ObjectHealth[]): RolloutCheck => {
  const failed = objects.find((o) => o.health.status === 'Failed');
  return { kind: 'checked', state, objects, counts: counts(objects), ...(failed ? { failed } : {}) };
};

/** A commit with a check run in progress and a Deployment in progress, as the apply job leaves them. */
async function started(): Promise<{ commit: CommitRef; job: HealthJob; deploymentId: number; invoker: ReturnType<typeof recorder> }> {
  const sha = await world.github.git.commit({ 'system/repo.yaml': REPO_YAML, [`namespaces/r${++n}/namespace.yaml`]: NAMESPACE_YAML(`r${n}`) }, { message: `r${n}` });
  const commit = { owner: OWNER, repo: REPO, sha };
  const checkRunId = await startCheckRun(session.octokit, { ...commit, name: 'edge', title: 'applying', summary: 'applying' });
  const deploymentId = await createDeployment(session.octokit, commit, { environment: 'edge', production: false, cluster: 'edge' });
  const now = Date.now();
  const job: HealthJob = {
    deliveryId: `d-r${n}`, owner: OWNER, name: REPO, sha, cluster: 'edge', installationId: 7, checkRunId, deploymentId,
    rollout: `token-${n}`, startedAt: now - 5_000, timeoutAt: now + 300_000, check: 1, applied: 'applied 3 (3 created)',
  };
  return { commit, job, deploymentId, invoker: recorder() };
}

function context(commit: CommitRef, job: HealthJob, invoker: Invoker) {
  return {
    octokit: session.octokit, checkRuns: true, commit, cluster: 'edge', log, invoker,
    deployment: trackDeployment(session.octokit, commit, job.deploymentId, log),
  };
}

const status = (sha: string): string => world.statuses(sha)['pushsync/edge'] ?? 'none';
const run = (id: number | undefined) => world.github.checkRuns.find((r) => r.id === id);
const deploymentStates = (id: number): string[] => world.github.deployments().find((d) => d.id === id)?.statuses.map((s) => s.state) ?? [];
const writesTo = (sha: string): number => world.github.statuses.filter((s) => s.sha === sha).length;

const web = (status: ObjectHealth['health']['status'], reason: string, cause?: ObjectHealth['cause']) => object('Deployment', 'web', status, reason, cause);
const api = object('Deployment', 'api', 'Current', '1 of 1 replicas available');
const svc = object('Service', 'web', 'Current', 'applied');

describe('nextDelay', () => {
  it('grows by 1 s a look up to the interval (10 s by default), never beyond it', () => {
    expect([1, 2, 3, 4, 9, 10, 11, 30].map((c) => nextDelay(c))).toEqual([1_000, 2_000, 3_000, 4_000, 9_000, 10_000, 10_000, 10_000]);
    expect(HEALTH_DEFAULTS.intervalMs).toBe(10_000);
    expect([1, 2, 9].map((c) => nextDelay(c, 1_000))).toEqual([1_000, 1_000, 1_000]);
  });
});

describe('followRollout', () => {
  it('still rolling out: pending with the progress, the check run still in progress with the table, the next check scheduled; the same progress is not written again', async () => {
    const { commit, job, invoker } = await started();
    const look = checked('progressing', [web('InProgress', '0 of 1 replicas available'), api, svc]);
    const first = await followRollout(context(commit, job, invoker), job, look);
    expect(first).toEqual({ kind: 'waiting', check: 2, delayMs: 1_000 });
    expect(status(commit.sha)).toBe('pending: applied 3 (3 created); rolling out: 1/2 Deployments available');
    expect(run(job.checkRunId)).toMatchObject({ status: 'in_progress', conclusion: null });
    expect(run(job.checkRunId)?.output.summary).toMatch(/Deployment.*web.*InProgress.*0 of 1 replicas available/s);
    expect(invoker.calls).toEqual([{ fn: 'health', delayMs: 1_000, job: { ...job, check: 2, progress: 'applied 3 (3 created); rolling out: 1/2 Deployments available' } }]);

    // The next look finds the same: nothing written, the one after scheduled later.
    const writes = writesTo(commit.sha);
    const next = invoker.calls[0]?.job as HealthJob;
    expect(await followRollout(context(commit, next, invoker), next, look)).toEqual({ kind: 'waiting', check: 3, delayMs: 2_000 });
    expect(writesTo(commit.sha)).toBe(writes);
  });

  it('healthy: success "N objects healthy in X s", the check run success, the Deployment success', async () => {
    const { commit, job, deploymentId, invoker } = await started();
    const outcome = await followRollout(context(commit, job, invoker), job, checked('healthy', [web('Current', '1 of 1 replicas available'), api, svc]));
    expect(outcome).toMatchObject({ kind: 'healthy' });
    expect(status(commit.sha)).toMatch(/^success: 3 objects healthy in [56] s$/);
    expect(run(job.checkRunId)).toMatchObject({ status: 'completed', conclusion: 'success' });
    expect(deploymentStates(deploymentId)).toEqual(['success']);
    expect(invoker.calls).toEqual([]);
  });

  it('an object Failed: failure naming it, its reason and the pod\'s; the Deployment failure; nothing scheduled', async () => {
    const { commit, job, deploymentId, invoker } = await started();
    const broken = web('Failed', 'ProgressDeadlineExceeded', { pod: 'web-7d4b9-x2x', container: 'web', reason: 'ImagePullBackOff', message: 'Back-off pulling image' });
    const outcome = await followRollout(context(commit, job, invoker), job, checked('failed', [broken, api, svc]));
    expect(outcome).toMatchObject({ kind: 'unhealthy', why: 'failed' });
    expect(status(commit.sha)).toBe('failure: Deployment shop/web: ProgressDeadlineExceeded; pod web-7d4b9-x2x: ImagePullBackOff');
    expect(run(job.checkRunId)).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(deploymentStates(deploymentId)).toEqual(['failure']);
    expect(invoker.calls).toEqual([]);
  });

  it('past the health timeout: failure with what is still in progress, the check run timed_out', async () => {
    const { commit, job, deploymentId, invoker } = await started();
    const late = { ...job, startedAt: Date.now() - 301_000, timeoutAt: Date.now() - 1_000 };
    const outcome = await followRollout(context(commit, late, invoker), late, checked('progressing', [web('InProgress', '0 of 1 replicas available'), api]));
    expect(outcome).toMatchObject({ kind: 'unhealthy', why: 'timeout' });
    expect(status(commit.sha)).toMatch(/^failure: not healthy after 5m: Deployment shop\/web: 0 of 1 replicas available/);
    expect(run(job.checkRunId)).toMatchObject({ status: 'completed', conclusion: 'timed_out' });
    expect(deploymentStates(deploymentId)).toEqual(['failure']);
  });

  it('superseded by another commit: "superseded by <sha>", neither green nor red; the check run neutral, the Deployment inactive', async () => {
    const { commit, job, deploymentId, invoker } = await started();
    const newer = 'b'.repeat(40);
    const outcome = await followRollout(context(commit, job, invoker), job, { kind: 'superseded', by: newer, sameCommit: false });
    expect(outcome).toEqual({ kind: 'superseded', by: newer, sameCommit: false });
    expect(status(commit.sha)).toBe('error: superseded by bbbbbbb before its rollout finished');
    expect(run(job.checkRunId)).toMatchObject({ status: 'completed', conclusion: 'neutral' });
    expect(deploymentStates(deploymentId)).toEqual(['inactive']);
    expect(invoker.calls).toEqual([]);
  });

  it('superseded by a newer apply of the same commit: writes nothing (the newer one owns the context and continues the Deployment)', async () => {
    const { commit, job, deploymentId, invoker } = await started();
    const writes = writesTo(commit.sha);
    const outcome = await followRollout(context(commit, job, invoker), job, { kind: 'superseded', by: commit.sha, sameCommit: true });
    expect(outcome).toMatchObject({ kind: 'superseded', sameCommit: true });
    expect(writesTo(commit.sha)).toBe(writes);
    expect(run(job.checkRunId)?.status).toBe('in_progress');
    expect(deploymentStates(deploymentId)).toEqual([]);
  });

  it('the cluster does not answer for a moment: nothing written, looked at again; a refusal (not retryable) is a failure', async () => {
    const { commit, job, deploymentId, invoker } = await started();
    const writes = writesTo(commit.sha);
    const away = await followRollout(context(commit, job, invoker), job, { kind: 'error', error: { code: Codes.transient, message: 'API server unreachable', retryable: true } });
    expect(away).toEqual({ kind: 'waiting', check: 2, delayMs: 1_000 });
    expect(writesTo(commit.sha)).toBe(writes);

    const refused = await followRollout(context(commit, job, invoker), job, { kind: 'error', error: { code: Codes.permission, message: 'pods is forbidden', retryable: false } });
    expect(refused).toMatchObject({ kind: 'unhealthy', why: 'failed' });
    expect(status(commit.sha)).toBe('failure: health could not be read: pods is forbidden');
    expect(run(job.checkRunId)).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(deploymentStates(deploymentId)).toEqual(['failure']);
  });
});

describe('runHealthCheck', () => {
  it('a cluster removed during the rollout: failure saying so, the Deployment too', async () => {
    const { commit, job, deploymentId } = await started();
    const outcome = await runHealthCheck({ ...job, cluster: 'gone' }, world.deps);
    expect(outcome).toEqual({ kind: 'unregistered' });
    expect(world.statuses(commit.sha)['pushsync/gone']).toBe('failure: cluster gone is not registered (removed during the rollout?)');
    expect(deploymentStates(deploymentId)).toEqual(['failure']);
  });

  it('a malformed payload is refused by its parser, naming what is wrong', () => {
    expect(() => parseHealthJob({ deliveryId: 'd', owner: 'o', name: 'n', sha: 'nope' })).toThrow(/health payload has no cluster/);
    expect(() => parseHealthJob({ deliveryId: 'd', owner: 'o', name: 'n', sha: 'a'.repeat(40), cluster: 'c', rollout: 'r', applied: 'x', startedAt: 1, timeoutAt: -5, check: 1 })).toThrow(/malformed timeoutAt/);
  });
});
