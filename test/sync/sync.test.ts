/**
 * runSync, outcome by outcome, with a GitHub App (the stand-in, contract-checked). Whatever the
 * path, every context sync writes ends final — unless its apply job was handed over, which then
 * owns it — and `pushsync/vet` turns red (or `error` "will retry") when the job fails.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FanoutError, FanoutCodes, LambdaInvokeError } from '../../lib/fanout/index.ts';
import { parseApplyJob, type PushJob } from '../../lib/jobs.ts';
import { removeCluster } from '../../lib/registry/index.ts';
import { BlobCache } from '../../lib/source/index.ts';
import { SyncError, runSync, type SyncDeps } from '../../lib/sync/index.ts';
import { BROKEN_YAML, NAMESPACE_YAML, OWNER, REPO, REPO_YAML, buggyCache, closedPort, startWorld, unreachableKubeconfig, type World } from './support.ts';

let world: World;
let kubeconfig: string;

beforeAll(async () => {
  world = await startWorld();
  kubeconfig = unreachableKubeconfig(await closedPort());
  await world.register('east', kubeconfig);
  await world.register('west', kubeconfig);
});
afterAll(async () => {
  await world?.close();
});
afterEach(() => {
  expect(world.github.violations).toEqual([]);
  world.github.clearFaults();
  world.setInvoke(undefined);
  world.invoked.length = 0;
});

const shop = { 'system/repo.yaml': REPO_YAML, 'namespaces/shop/namespace.yaml': NAMESPACE_YAML('shop') };
let n = 0;

async function push(files: Record<string, string>, branch = 'main'): Promise<PushJob> {
  const after = await world.github.git.commit(files, { message: `commit ${++n}`, replace: true, ...(branch === 'main' ? {} : { branch, parent: await world.github.git.head('main') }) });
  return { deliveryId: `d-${n}`, repo: `${OWNER}/${REPO}`, owner: OWNER, name: REPO, ref: `refs/heads/${branch}`, branch, after, before: '0'.repeat(40), defaultBranch: 'main', pushedAt: new Date().toISOString(), installationId: 7 };
}

/** Deps with an empty blob cache: the job reads GitHub (where the faults are), not the process's cache. */
const cold = (extra: Partial<SyncDeps> = {}): SyncDeps => ({ ...world.deps, blobCache: new BlobCache(), ...extra });

const runsOf = (sha: string) => Object.fromEntries(world.checkRuns(sha).map((r) => [r.name, `${r.status}/${r.conclusion ?? ''}`]));

describe('runSync outcomes (GitHub App)', () => {
  it('ignored: no registered cluster follows the repository; nothing is written', async () => {
    const job = await push(shop);
    expect(await runSync({ ...job, repo: 'acme/elsewhere' }, world.deps)).toEqual({ kind: 'ignored', reason: 'no cluster follows this repository' });
    expect(world.statuses(job.after)).toEqual({});
  });

  it('dispatched (apply): vet success, each cluster pending with a check run in progress, handed to its apply job', async () => {
    const job = await push(shop);
    expect(await runSync(job, world.deps)).toEqual({ kind: 'dispatched', mode: 'apply', clusters: ['east', 'west'], plansOff: [] });
    expect(world.statuses(job.after)).toEqual({ 'pushsync/vet': expect.stringMatching(/^success/), 'pushsync/east': expect.stringMatching(/^pending/), 'pushsync/west': expect.stringMatching(/^pending/) });
    expect(runsOf(job.after)).toEqual({ 'pushsync/vet': 'completed/success', 'pushsync/east': 'in_progress/', 'pushsync/west': 'in_progress/' });
    const ids = world.invoked.map((p) => parseApplyJob(p).checkRunId);
    expect(ids.sort()).toEqual(world.github.checkRuns.filter((r) => r.head_sha === job.after && r.status === 'in_progress').map((r) => r.id).sort());
  });

  it('invalid: vet fails → pushsync/vet and every cluster context failure, their check runs completed, nothing dispatched', async () => {
    const job = await push({ ...shop, 'namespaces/shop/broken.yaml': BROKEN_YAML });
    expect(await runSync(job, world.deps)).toEqual({ kind: 'invalid', errors: 1 });
    expect(world.statuses(job.after)).toEqual({
      'pushsync/vet': expect.stringMatching(/^failure: 1 error\. KNV\d+ namespaces\/shop\/broken\.yaml/),
      'pushsync/east': 'failure: not applied: the commit fails validation (see pushsync/vet)',
      'pushsync/west': 'failure: not applied: the commit fails validation (see pushsync/vet)',
    });
    expect(runsOf(job.after)).toEqual({ 'pushsync/vet': 'completed/failure', 'pushsync/east': 'completed/failure', 'pushsync/west': 'completed/failure' });
    expect(world.invoked).toEqual([]);
  });

  it('plans off: a branch push plans only against clusters whose registration allows plans', async () => {
    await world.register('west', kubeconfig, { plans: false });
    try {
      const job = await push(shop, 'feature');
      expect(await runSync(job, world.deps)).toEqual({ kind: 'dispatched', mode: 'plan', clusters: ['east'], plansOff: ['west'] });
      expect(world.invoked.map((p) => parseApplyJob(p)).map((j) => [j.cluster, j.mode])).toEqual([['east', 'plan']]);
      expect(Object.keys(world.statuses(job.after)).sort()).toEqual(['pushsync/east', 'pushsync/vet']);

      await world.register('east', kubeconfig, { plans: false });
      const again = await push(shop, 'feature-2');
      expect(await runSync(again, world.deps)).toEqual({ kind: 'ignored', reason: 'every cluster that would plan this branch has plans turned off' });
      expect(world.statuses(again.after)).toEqual({ 'pushsync/vet': expect.stringMatching(/^success/) });
    } finally {
      await world.register('east', kubeconfig);
      await world.register('west', kubeconfig);
    }
  });

  it('permanent: GitHub refuses the tree (403) → pushsync/vet failure with GitHub\'s words, check run completed', async () => {
    const job = await push(shop);
    world.github.fail({ path: /\/git\/trees\//, status: 403, times: 5, body: { message: 'Resource not accessible by integration' } });
    expect(await runSync(job, cold())).toMatchObject({ kind: 'failed', code: 'GITHUB_FORBIDDEN' });
    expect(world.statuses(job.after)).toEqual({ 'pushsync/vet': expect.stringMatching(/^failure: GitHub call GET \/repos\/acme\/policy\/git\/trees\//) });
    expect(runsOf(job.after)).toEqual({ 'pushsync/vet': 'completed/failure' });
  });

  it('transient: GitHub answers 502 through the retries → pushsync/vet error "will retry", outcome retry', async () => {
    const job = await push(shop);
    world.github.fail({ path: /\/git\/trees\//, status: 502, times: 20 });
    expect(await runSync(job, cold())).toMatchObject({ kind: 'retry', code: 'GITHUB_UNAVAILABLE' });
    expect(world.statuses(job.after)).toEqual({ 'pushsync/vet': expect.stringMatching(/^error: will retry: GitHub call GET/) });
    expect(runsOf(job.after)).toEqual({ 'pushsync/vet': 'completed/failure' });
  });

  it('bug: a TypeError while vetting → pushsync/vet error "internal error", outcome error (not retried)', async () => {
    const job = await push(shop);
    expect(await runSync(job, cold({ blobCache: buggyCache() }))).toMatchObject({ kind: 'error', code: 'SYNC_INTERNAL', message: expect.stringMatching(/^TypeError: /) });
    expect(world.statuses(job.after)).toEqual({ 'pushsync/vet': expect.stringMatching(/^error: internal error \(a bug in pushsync; not retried\): TypeError: /) });
    expect(runsOf(job.after)).toEqual({ 'pushsync/vet': 'completed/failure' });
  });

  it('fan-out refused (permanent): every pending cluster context not handed over ends failure, check runs completed; vet stays green', async () => {
    const job = await push(shop);
    world.setInvoke(async () => {
      throw new FanoutError(FanoutCodes.tooLarge, 'payload is 300000 bytes, over the 262144-byte limit');
    });
    expect(await runSync(job, world.deps)).toMatchObject({ kind: 'failed', code: FanoutCodes.tooLarge });
    expect(world.statuses(job.after)).toEqual({
      'pushsync/vet': expect.stringMatching(/^success/),
      'pushsync/east': expect.stringMatching(/^failure: not dispatched: payload is 300000 bytes/),
      'pushsync/west': expect.stringMatching(/^failure: not dispatched: payload is 300000 bytes/),
    });
    expect(runsOf(job.after)).toEqual({ 'pushsync/vet': 'completed/success', 'pushsync/east': 'completed/failure', 'pushsync/west': 'completed/failure' });
  });

  it('fan-out down (transient) after one handover: the handed-over context is left to its job, the other ends "will retry"', async () => {
    const job = await push(shop);
    let calls = 0;
    world.setInvoke(async (_fn, payload) => {
      if (++calls === 1) {
        world.invoked.push(payload);
        return;
      }
      throw new LambdaInvokeError('invoking Lambda function "apply" failed: TooManyRequestsException: Rate exceeded', 'apply', true);
    });
    expect(await runSync(job, world.deps)).toMatchObject({ kind: 'retry', code: 'FANOUT_LAMBDA_INVOKE_FAILED' });
    const [handed] = world.invoked.map((p) => parseApplyJob(p).cluster);
    const other = handed === 'east' ? 'west' : 'east';
    expect(world.statuses(job.after)).toMatchObject({ [`pushsync/${handed}`]: expect.stringMatching(/^pending/), [`pushsync/${other}`]: expect.stringMatching(/^error: will retry: invoking Lambda/) });
    expect(runsOf(job.after)).toMatchObject({ [`pushsync/${handed}`]: 'in_progress/', [`pushsync/${other}`]: 'completed/failure' });
  });

  it('bug in the fan-out: a TypeError from invoke → the pending contexts end error "internal error", not failure', async () => {
    const job = await push(shop);
    world.setInvoke(async () => {
      throw new TypeError('invoker.send is not a function');
    });
    expect(await runSync(job, world.deps)).toMatchObject({ kind: 'error', code: 'SYNC_INTERNAL' });
    expect(world.statuses(job.after)['pushsync/east']).toMatch(/^error: not dispatched: internal error \(a bug in pushsync; not retried\): TypeError: invoker\.send is not a function/);
    expect(runsOf(job.after)).toMatchObject({ 'pushsync/east': 'completed/failure', 'pushsync/west': 'completed/failure' });
  });

  it('no GitHub session (the App is not installed on the repository): an outcome, not a throw; nothing can be written', async () => {
    const job = await push(shop);
    const outcome = await runSync(job, {
      ...world.deps,
      github: async () => {
        throw new SyncError('SYNC_NO_INSTALLATION', 'pushsync is configured as a GitHub App, but the delivery names no installation', false);
      },
    });
    expect(outcome).toMatchObject({ kind: 'failed', code: 'SYNC_NO_INSTALLATION' });
    expect(world.statuses(job.after)).toEqual({});
  });

  it('a cluster removed before the push gets no context at all (one removed after it: apply.test.ts "unregistered")', async () => {
    await removeCluster(world.store, 'west');
    try {
      const job = await push(shop);
      expect(await runSync(job, world.deps)).toMatchObject({ kind: 'dispatched', clusters: ['east'] });
      expect(Object.keys(world.statuses(job.after)).sort()).toEqual(['pushsync/east', 'pushsync/vet']);
    } finally {
      await world.register('west', kubeconfig);
    }
  });
});
