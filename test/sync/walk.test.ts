/**
 * Acceptance 4 of issue #10: with a GitHub App, no check run pushsync creates stays
 * `in_progress` after its job ends, on any path — and no status stays `pending`.
 *
 * Each case runs the whole job layer for one push, as `serve` does: the sync handler and the
 * apply handlers behind the in-process fan-out (with its retries and dead letters), against
 * the GitHub stand-in as an App installation, a real API server for the cluster that exists,
 * and a closed port for the one that does not. When the fan-out is idle, every check run on
 * the commit must be `completed` and every status final. The outcome of every job is recorded
 * too, so the walk shows it went down the path it names.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FanoutCodes, FanoutError, createInProcessInvoker, type DeadLetter, type FunctionName, type InvocationContext, type JsonValue } from '../../lib/fanout/index.ts';
import { toPayload, type PushJob } from '../../lib/jobs.ts';
import { removeCluster } from '../../lib/registry/index.ts';
import { BlobCache } from '../../lib/source/index.ts';
import { REPORT_MARGIN_MS, handlersFor, type SyncDeps } from '../../lib/sync/index.ts';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';
import { BROKEN_YAML, NAMESPACE_YAML, OWNER, REPO, REPO_YAML, buggyCache, closedPort, startWorld, unreachableKubeconfig, type World } from './support.ts';

let world: World;
let cp: ControlPlane;
let gone: string;

beforeAll(async () => {
  [world, cp] = await Promise.all([startWorld(), startControlPlane()]);
  gone = unreachableKubeconfig(await closedPort());
}, 120_000);
afterAll(async () => {
  await world?.close();
  await cp?.stop();
});
afterEach(() => {
  expect(world.github.violations).toEqual([]);
  world.github.clearFaults();
});

interface Case {
  /** Clusters registered for this push (all follow main unless `branch`), by kubeconfig. */
  readonly clusters: Readonly<Record<string, { kubeconfig: () => string; plans?: boolean }>>;
  readonly files: Readonly<Record<string, string>>;
  readonly branch?: string;
  readonly sync?: Partial<SyncDeps>;
  readonly apply?: Partial<SyncDeps>;
  /** Runs once, before the first apply job (the push is vetted by then). */
  readonly beforeApply?: () => Promise<void> | void;
  /** A function's timeout (its invocations' deadline, from their start), as Lambda's per function. */
  readonly timeoutMs?: Partial<Record<FunctionName, number>>;
}

interface Walked {
  readonly sha: string;
  readonly outcomes: string[];
  readonly dead: DeadLetter[];
  readonly statuses: Record<string, string>;
  readonly runs: Record<string, string>;
}

let n = 0;
const commits: Record<string, string> = {};

async function walk(c: Case): Promise<Walked> {
  for (const name of ['live', 'gone']) await removeCluster(world.store, name);
  for (const [name, r] of Object.entries(c.clusters)) await world.register(name, r.kubeconfig(), r.plans === undefined ? {} : { plans: r.plans });
  const branch = c.branch ?? 'main';
  const parent = await world.github.git.head('main');
  const sha = await world.github.git.commit(c.files, { message: `walk ${++n}`, replace: true, branch, ...(parent ? { parent } : {}) });
  return pipeline(pushOf(sha, branch), c);
}

function pushOf(sha: string, branch: string): PushJob {
  return {
    deliveryId: `walk-${++n}`, repo: `${OWNER}/${REPO}`, owner: OWNER, name: REPO, ref: `refs/heads/${branch}`, branch, after: sha,
    before: '0'.repeat(40), defaultBranch: 'main', pushedAt: new Date().toISOString(), installationId: 7,
  };
}

/** The job layer for one push, as `serve` runs it; returns when the fan-out is idle. */
async function pipeline(job: PushJob, c: Omit<Case, 'clusters' | 'files' | 'branch'>): Promise<Walked> {
  const outcomes: string[] = [];
  const dead: DeadLetter[] = [];
  const invoker = createInProcessInvoker({ retryDelaysMs: [1, 1], onDeadLetter: (d) => dead.push(d) });
  const timed = (ctx: InvocationContext): InvocationContext => {
    const ms = c.timeoutMs?.[ctx.functionName];
    return ms === undefined ? ctx : { ...ctx, deadline: Date.now() + ms };
  };
  // Each job gets a cold blob cache: a fault planted on GitHub is met, not skipped.
  const deps = (extra: Partial<SyncDeps> | undefined): SyncDeps => ({ ...world.deps, invoker, blobCache: new BlobCache(), ...extra });
  const record = async (what: string, run: () => Promise<{ kind: string }>): Promise<unknown> => {
    try {
      const o = await run();
      outcomes.push(`${what}:${o.kind}`);
      return o;
    } catch (e) {
      outcomes.push(`${what}:thrown ${(e as { code?: string }).code ?? ''}`);
      throw e;
    }
  };
  let before: Promise<void> | undefined;
  invoker.register('sync', (p: JsonValue, ctx) => record('sync', () => handlersFor(deps(c.sync)).sync(p, timed(ctx))));
  invoker.register('apply', async (p: JsonValue, ctx) => {
    await (before ??= Promise.resolve(c.beforeApply?.()));
    return record(`apply ${(p as { cluster: string }).cluster}`, () => handlersFor(deps(c.apply)).apply(p, timed(ctx)));
  });
  await invoker.invoke('sync', toPayload(job));
  await invoker.idle();
  const sha = job.after;
  const runs = Object.fromEntries(world.checkRuns(sha).map((r) => [r.name, `${r.status}/${r.conclusion ?? ''}`]));
  return { sha, outcomes: outcomes.sort(), dead, statuses: world.statuses(sha), runs };
}

/** The acceptance: nothing in progress, nothing pending — and every context with a status has a completed check run. */
function expectConcluded(w: Walked): void {
  for (const [name, run] of Object.entries(w.runs)) expect(run, name).toMatch(/^completed\/(success|failure|neutral|skipped|timed_out)$/);
  for (const [context, status] of Object.entries(w.statuses)) {
    expect(status, context).not.toMatch(/^pending/);
    expect(w.runs[context], `${context} has a check run`).toBeDefined();
  }
  expect(world.github.checkRuns.filter((r) => r.head_sha === w.sha && r.status !== 'completed')).toEqual([]);
}

const live = { kubeconfig: () => cp.kubeconfig };
const unreachable = { kubeconfig: () => gone };
const shop = (ns = 'shop') => ({ 'system/repo.yaml': REPO_YAML, [`namespaces/${ns}/namespace.yaml`]: NAMESPACE_YAML(ns) });

describe('no check run stays in_progress, no status pending, on any path (GitHub App)', () => {
  it('applied', async () => {
    const w = await walk({ clusters: { live }, files: shop() });
    commits.applied = w.sha;
    expect(w.outcomes).toEqual(['apply live:applied', 'sync:dispatched']);
    expect(w.statuses['pushsync/live']).toMatch(/^success: applied: 1 created/);
    expectConcluded(w);
  });

  it('superseded: a late redelivery of an older commit, once the cluster has its descendant', async () => {
    const newer = await walk({ clusters: { live }, files: shop() });
    expect(newer.outcomes).toEqual(['apply live:applied', 'sync:dispatched']);
    const late = await pipeline(pushOf(commits.applied ?? '', 'main'), {});
    expect(late.outcomes).toEqual(['apply live:superseded', 'sync:dispatched']);
    expect(late.statuses['pushsync/live']).toMatch(/^success: superseded by/);
    expect(late.runs['pushsync/live']).toBe('completed/neutral');
    expectConcluded(late);
  });

  it('planned (a branch push, planned against the cluster that follows main)', async () => {
    const w = await walk({ clusters: { live }, files: { ...shop(), ...shop('preview') }, branch: 'feature' });
    expect(w.outcomes).toEqual(['apply live:planned', 'sync:dispatched']);
    expect(w.statuses['pushsync/live']).toMatch(/^success: plan: 1 to create/);
    expectConcluded(w);
  });

  it('a plan refused as a whole (it would delete every Namespace): failure, concluded', async () => {
    const w = await walk({ clusters: { live }, files: shop('preview'), branch: 'feature-refused' });
    expect(w.outcomes).toEqual(['apply live:failed', 'sync:dispatched']);
    expect(w.statuses['pushsync/live']).toMatch(/^failure/);
    expectConcluded(w);
  });

  it('plans off (at sync: no context; at apply, turned off after the push: skipped)', async () => {
    const atSync = await walk({ clusters: { live: { ...live, plans: false } }, files: shop('preview'), branch: 'feature-2' });
    expect(atSync.outcomes).toEqual(['sync:ignored']);
    expectConcluded(atSync);
    const atApply = await walk({ clusters: { live }, files: shop('preview'), branch: 'feature-3', beforeApply: () => world.register('live', cp.kubeconfig, { plans: false }) });
    expect(atApply.outcomes).toEqual(['apply live:plans-off', 'sync:dispatched']);
    expect(atApply.runs['pushsync/live']).toBe('completed/skipped');
    expectConcluded(atApply);
  });

  it('ignored (no cluster follows the repository)', async () => {
    const w = await walk({ clusters: {}, files: shop() });
    expect(w.outcomes).toEqual(['sync:ignored']);
    expectConcluded(w);
  });

  it('invalid (vet fails)', async () => {
    const w = await walk({ clusters: { live, gone: unreachable }, files: { ...shop(), 'namespaces/shop/broken.yaml': BROKEN_YAML } });
    expect(w.outcomes).toEqual(['sync:invalid']);
    expect(w.statuses).toMatchObject({ 'pushsync/vet': expect.stringMatching(/^failure/), 'pushsync/live': expect.stringMatching(/^failure/), 'pushsync/gone': expect.stringMatching(/^failure/) });
    expectConcluded(w);
  });

  it('unregistered (removed after the push)', async () => {
    const w = await walk({ clusters: { live }, files: shop(), beforeApply: async () => void (await removeCluster(world.store, 'live')) });
    expect(w.outcomes).toEqual(['apply live:unregistered', 'sync:dispatched']);
    expectConcluded(w);
  });

  it('invalid for this cluster (its registration now reads a policy dir the commit does not have)', async () => {
    const w = await walk({ clusters: { live }, files: shop(), beforeApply: () => world.register('live', cp.kubeconfig, { dir: 'elsewhere' }) });
    expect(w.outcomes).toEqual(['apply live:invalid', 'sync:dispatched']);
    expect(w.statuses['pushsync/live']).toMatch(/^failure: not applied: 1 validation error/);
    expectConcluded(w);
  });

  it('transient to the end: the API server is unreachable on every attempt → dead-lettered, "will retry" left final', async () => {
    const w = await walk({ clusters: { gone: unreachable }, files: shop() });
    expect(w.outcomes).toEqual(['apply gone:thrown KNV2016', 'apply gone:thrown KNV2016', 'apply gone:thrown KNV2016', 'sync:dispatched']);
    expect(w.dead).toHaveLength(1);
    expect(w.statuses['pushsync/gone']).toMatch(/^error: will retry: /);
    expectConcluded(w);
  }, 120_000);

  it('permanent failure at apply (GitHub refuses the tree to the apply job)', async () => {
    const w = await walk({ clusters: { live }, files: shop(), beforeApply: () => world.github.fail({ path: /\/git\/trees\//, status: 403, times: 100, body: { message: 'Resource not accessible by integration' } }) });
    expect(w.outcomes).toEqual(['apply live:failed', 'sync:dispatched']);
    expectConcluded(w);
  });

  it('bug at apply (a TypeError): reported error once, not retried', async () => {
    const w = await walk({ clusters: { live }, files: shop(), apply: { blobCache: buggyCache() } });
    expect(w.outcomes).toEqual(['apply live:error', 'sync:dispatched']);
    expect(w.statuses['pushsync/live']).toMatch(/^error: internal error/);
    expectConcluded(w);
  });

  it('deadline at apply: no time left on any attempt → "will retry: deadline", timed_out, dead-lettered', async () => {
    const w = await walk({ clusters: { live }, files: shop(), timeoutMs: { apply: 1 } });
    expect(w.outcomes.filter((o) => o.startsWith('apply'))).toEqual(['apply live:thrown DEADLINE', 'apply live:thrown DEADLINE', 'apply live:thrown DEADLINE']);
    expect(w.runs['pushsync/live']).toBe('completed/timed_out');
    expectConcluded(w);
  });

  it('sync: permanent (403), transient to the end (502), and a bug', async () => {
    world.github.fail({ path: /\/git\/trees\//, status: 403, times: 100, body: { message: 'Resource not accessible by integration' } });
    const forbidden = await walk({ clusters: { live }, files: shop() });
    expect(forbidden.outcomes).toEqual(['sync:failed']);
    expect(forbidden.statuses['pushsync/vet']).toMatch(/^failure/);
    expectConcluded(forbidden);
    world.github.clearFaults();

    world.github.fail({ path: /\/git\/trees\//, status: 502, times: 1000 });
    const down = await walk({ clusters: { live }, files: shop() });
    expect(down.outcomes).toEqual(['sync:thrown GITHUB_UNAVAILABLE', 'sync:thrown GITHUB_UNAVAILABLE', 'sync:thrown GITHUB_UNAVAILABLE']);
    expect(down.statuses['pushsync/vet']).toMatch(/^error: will retry/);
    expectConcluded(down);
    world.github.clearFaults();

    const buggy = await walk({ clusters: { live }, files: shop(), sync: { blobCache: buggyCache() } });
    expect(buggy.outcomes).toEqual(['sync:error']);
    expectConcluded(buggy);
  }, 120_000);

  it('deadline at sync: GitHub too slow on every attempt → the read abandoned, "will retry: deadline", timed_out, dead-lettered', async () => {
    world.github.delay({ path: /\/git\/trees\//, ms: 3_000 });
    // The function's timeout leaves the sync 600 ms once the reporting margin is kept.
    const w = await walk({ clusters: { live, gone: unreachable }, files: shop(), timeoutMs: { sync: REPORT_MARGIN_MS + 600 } });
    expect(w.outcomes).toEqual(['sync:thrown DEADLINE', 'sync:thrown DEADLINE', 'sync:thrown DEADLINE']);
    expect(w.dead).toHaveLength(1);
    expect(w.statuses).toEqual({ 'pushsync/vet': "error: will retry: deadline: stopped while reading the commit, before the function's timeout" });
    expect(w.runs['pushsync/vet']).toBe('completed/timed_out');
    expectConcluded(w);
  }, 60_000);

  it('sync: the fan-out refuses the apply jobs after the pending statuses', async () => {
    const w = await walk({
      clusters: { live, gone: unreachable },
      files: shop(),
      sync: { invoker: { invoke: () => Promise.reject(new FanoutError(FanoutCodes.tooLarge, 'payload is too large')) } },
    });
    expect(w.outcomes).toEqual(['sync:failed']);
    expect(w.statuses).toMatchObject({ 'pushsync/live': expect.stringMatching(/^failure: not dispatched/), 'pushsync/gone': expect.stringMatching(/^failure: not dispatched/) });
    expectConcluded(w);
  });
});
