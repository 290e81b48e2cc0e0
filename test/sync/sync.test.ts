/**
 * runSync, outcome by outcome, with a GitHub App (the stand-in, contract-checked). Whatever the
 * path, every context sync writes ends final — unless its apply job was handed over, which then
 * owns it — and `pushsync/vet` turns red (or `error` "will retry") when the job fails.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FanoutError, FanoutCodes, LambdaInvokeError } from '../../lib/fanout/index.ts';
import { parseApplyJob, type PushJob } from '../../lib/jobs.ts';
import { removeCluster } from '../../lib/registry/index.ts';
import { BlobCache, readGitHubDir } from '../../lib/source/index.ts';
import { DEADLINE, SyncError, runSync, type SyncDeps } from '../../lib/sync/index.ts';
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Everything written on GitHub so far (statuses and check runs): a later count shows any write since. */
const writes = () => world.github.apiCalls().filter((r) => r.method === 'POST' || r.method === 'PATCH').filter((r) => /\/(statuses|check-runs)\b/.test(r.path)).length;

/**
 * A cache whose listings answer only after `ms`: work that takes no signal. `blocking` holds the
 * whole process meanwhile, as vetting a big repository does: no timer fires until it is over.
 */
class SlowListings extends BlobCache {
  constructor(
    readonly ms: number,
    readonly blocking = false,
  ) {
    super();
  }
  override async listing(key: string, fetch: Parameters<BlobCache['listing']>[1]): ReturnType<BlobCache['listing']> {
    if (!this.blocking) await sleep(this.ms);
    const until = Date.now() + this.ms;
    while (this.blocking && Date.now() < until);
    return super.listing(key, fetch);
  }
}

/** A cache holding every read `job` needs, slow as `SlowListings`: the work reaches its first write without GitHub. */
async function warmed(job: PushJob, slow: SlowListings): Promise<SlowListings> {
  const { octokit } = await world.deps.github({ deliveryId: 'warm', installationId: 7 });
  const blocking = slow.blocking;
  Object.assign(slow, { blocking: false });
  await readGitHubDir(octokit, { owner: OWNER, repo: REPO, commit: job.after, dir: '.', sourceFormat: 'hierarchy', cache: slow });
  return Object.assign(slow, { blocking });
}

describe('runSync keeps to its deadline', () => {
  beforeAll(async () => {
    // The installation token minted first (it is cached): a short deadline is spent reading, not signing a JWT.
    const { octokit } = await world.deps.github({ deliveryId: 'token', installationId: 7 });
    await octokit.rest.repos.get({ owner: OWNER, repo: REPO });
  });

  it('GitHub too slow to read the commit: the read is aborted, pushsync/vet ends "will retry: deadline" (timed_out), outcome retry, nothing written after', async () => {
    const job = await push(shop);
    world.github.delay({ path: /\/git\/trees\//, ms: 2_000 });
    const started = Date.now();
    const outcome = await runSync(job, cold(), { deadline: Date.now() + 300 });
    // Concluded at the deadline, not when GitHub finally answers.
    expect(Date.now() - started).toBeLessThan(1_800);
    expect(outcome).toEqual({ kind: 'retry', code: DEADLINE, message: "deadline: stopped while reading the commit, before the function's timeout" });
    expect(world.statuses(job.after)).toEqual({ 'pushsync/vet': "error: will retry: deadline: stopped while reading the commit, before the function's timeout" });
    expect(runsOf(job.after)).toEqual({ 'pushsync/vet': 'completed/timed_out' });
    const written = writes();
    await sleep(2_300);
    expect(writes()).toBe(written);
    // The read got the job's signal: the call was given up, not left to run on.
    expect(world.github.apiCalls({ path: `/repos/${OWNER}/${REPO}/git/trees/${job.after}` }).map((r) => r.aborted)).toEqual([true]);
  });

  it('work that takes no signal runs past the deadline: once abandoned it writes nothing (vet is not reported after the conclusion)', async () => {
    const job = await push(shop);
    // Every read the job needs is in the cache, so the abandoned work really reaches its first write.
    const cache = await warmed(job, new SlowListings(1_500));
    const outcome = await runSync(job, cold({ blobCache: cache }), { deadline: Date.now() + 400 });
    expect(outcome).toMatchObject({ kind: 'retry', code: DEADLINE });
    const concluded = world.statuses(job.after);
    expect(concluded).toEqual({ 'pushsync/vet': expect.stringMatching(/^error: will retry: deadline: /) });
    const written = writes();
    await sleep(1_600);
    expect(writes()).toBe(written);
    expect(world.statuses(job.after)).toEqual(concluded);
    expect(runsOf(job.after)).toEqual({ 'pushsync/vet': 'completed/timed_out' });
  });

  it('a step that holds the process past the deadline (no timer can fire): its next write is refused all the same', async () => {
    const job = await push(shop);
    const cache = await warmed(job, new SlowListings(600, true));
    const outcome = await runSync(job, cold({ blobCache: cache }), { deadline: Date.now() + 200 });
    expect(outcome).toMatchObject({ kind: 'retry', code: DEADLINE });
    // One status for vet, the conclusion: not a success first, overwritten after.
    expect(world.github.statuses.filter((st) => st.sha === job.after).map((st) => `${st.state}: ${st.description ?? ''}`)).toEqual([
      "error: will retry: deadline: stopped while vetting the commit, before the function's timeout",
    ]);
    expect(runsOf(job.after)).toEqual({ 'pushsync/vet': 'completed/timed_out' });
  });

  it('stopped while dispatching: the job handed over stays its apply job\'s, the other pending context ends "will retry: deadline", none dispatched after', async () => {
    const job = await push(shop);
    const stop = new AbortController();
    world.setInvoke(async (_fn, payload) => {
      // The function's time runs out while the first handover is in flight.
      stop.abort();
      await sleep(100);
      world.invoked.push(payload);
    });
    const outcome = await runSync(job, world.deps, { deadline: Date.now() + 60_000, signal: stop.signal });
    expect(outcome).toEqual({ kind: 'retry', code: DEADLINE, message: "deadline: stopped while dispatching the apply jobs, before the function's timeout" });
    expect(world.invoked).toHaveLength(1);
    const handed = parseApplyJob(world.invoked[0] ?? null).cluster;
    const other = handed === 'east' ? 'west' : 'east';
    expect(world.statuses(job.after)).toEqual({
      'pushsync/vet': expect.stringMatching(/^success/),
      [`pushsync/${handed}`]: expect.stringMatching(/^pending/),
      [`pushsync/${other}`]: "error: will retry: deadline: stopped while dispatching the apply jobs, before the function's timeout",
    });
    expect(runsOf(job.after)).toEqual({ 'pushsync/vet': 'completed/success', [`pushsync/${handed}`]: 'in_progress/', [`pushsync/${other}`]: 'completed/timed_out' });
    await sleep(300);
    expect(world.invoked).toHaveLength(1);
  });
});
