/**
 * runApply's hold on the cluster, with the engine replaced at its module boundary (lib/cluster):
 * the connection is closed on every path, and the deadline and the abort signal reach apply()
 * and plan(). No API server: what is checked is what runApply hands the engine and does after.
 */
import { describe, expect, it, vi } from 'vitest';
import { Codes, type ApplyOptions, type ApplyResult, type PlanOptions, type PlanResult } from '../../lib/cluster/index.ts';
import { toPayload, type ApplyJob } from '../../lib/jobs.ts';
import { ABORT_GRACE_MS, DEADLINE, REPORT_MARGIN_MS, handlersFor, runApply } from '../../lib/sync/index.ts';
import type * as Cluster from '../../lib/cluster/index.ts';
import { OWNER, REPO, useEastWorld, type World } from './support.ts';

const engine = vi.hoisted(() => ({
  closed: 0,
  opened: 0,
  apply: undefined as undefined | ((opts: unknown) => Promise<unknown>),
  plan: undefined as undefined | ((opts: unknown) => Promise<unknown>),
  seen: [] as unknown[],
}));

vi.mock('../../lib/cluster/index.ts', async (importOriginal) => {
  const real = await importOriginal<typeof Cluster>();
  return {
    ...real,
    connect: async () => {
      engine.opened++;
      return { http: {}, server: 'https://127.0.0.1:1', context: 'c', close: () => void engine.closed++ };
    },
    apply: async (_conn: unknown, _objects: unknown, opts: unknown) => {
      engine.seen.push(opts);
      return engine.apply?.(opts);
    },
    plan: async (_conn: unknown, _objects: unknown, opts: unknown) => {
      engine.seen.push(opts);
      return engine.plan?.(opts);
    },
  };
});

let world: World;
let sha: string;

useEastWorld(
  (started) => ({ world, sha } = started),
  () => Object.assign(engine, { closed: 0, opened: 0, apply: undefined, plan: undefined, seen: [] }),
);

const job = (extra: Partial<ApplyJob> = {}): ApplyJob => ({ deliveryId: 'd-c', owner: OWNER, name: REPO, sha, cluster: 'east', mode: 'apply', installationId: 7, ...extra });
const inventory = { namespace: 'pushsync-system', name: 'pushsync', id: 'applyset-x' };
const zero = { created: 0, configured: 0, unchanged: 1, pruned: 0, skipped: 0, failed: 0 };
const result = (extra: Partial<ApplyResult> = {}): ApplyResult => ({ status: 'applied', commit: sha, inventory, objects: [], counts: zero, startedAt: new Date().toISOString(), durationMs: 1, ...extra });
const planned = (extra: Partial<PlanResult> = {}): PlanResult =>
  ({ inventory, objects: [], counts: { create: 0, configure: 0, update: 0, unchanged: 1, prune: 0, skipped: 0, failed: 0 }, durationMs: 1, ...extra }) as unknown as PlanResult;

describe('runApply closes its cluster connection on every path', () => {
  it.each([
    ['applied', () => Promise.resolve(result()), 'applied'],
    ['failed (permanent, from the engine)', () => Promise.resolve(result({ status: 'failed', error: { code: 'KNV2006', message: 'refusing to delete every managed object' } })), 'failed'],
    ['transient (retry)', () => Promise.resolve(result({ status: 'failed', error: { code: 'KNV2016', message: 'API server unreachable', retryable: true } })), 'retry'],
    ['a bug thrown by the engine', () => Promise.reject(new TypeError('conn.http.request is not a function')), 'error'],
  ] as const)('apply: %s', async (_name, behave, kind) => {
    engine.apply = behave;
    expect(await runApply(job(), world.deps)).toMatchObject({ kind });
    expect(engine).toMatchObject({ opened: 1, closed: 1 });
  });

  it('plan, and a report that fails after the run', async () => {
    engine.plan = () => Promise.resolve(planned());
    expect(await runApply(job({ mode: 'plan' }), world.deps)).toMatchObject({ kind: 'planned' });
    expect(engine).toMatchObject({ opened: 1, closed: 1 });

    engine.apply = () => Promise.resolve(result());
    world.github.fail({ method: 'POST', path: /\/statuses\//, status: 422, times: 3, body: { message: 'Validation Failed' } });
    expect(await runApply(job(), world.deps)).toMatchObject({ kind: 'failed', code: 'GITHUB_REJECTED' });
    expect(engine).toMatchObject({ opened: 2, closed: 2 });
  });
});

describe('the deadline reaches the engine', () => {
  it('apply() and plan() get the handler\'s deadline (Lambda\'s, less the reporting margin) and an AbortSignal', async () => {
    engine.apply = () => Promise.resolve(result());
    engine.plan = () => Promise.resolve(planned());
    const cut = Date.now() + 120_000;
    const { apply } = handlersFor(world.deps);
    await apply(toPayload(job()), { functionName: 'apply', invocationId: 'i', attempt: 0, deadline: cut });
    await apply(toPayload(job({ mode: 'plan' })), { functionName: 'apply', invocationId: 'i', attempt: 0, deadline: cut });
    for (const opts of engine.seen as (ApplyOptions | PlanOptions)[]) {
      expect((opts as { deadline?: number }).deadline).toBe(cut - REPORT_MARGIN_MS);
      expect(opts.signal).toBeInstanceOf(AbortSignal);
      expect(opts.signal?.aborted).toBe(false);
    }
    expect(engine.seen).toHaveLength(2);
  });

  it('the engine\'s own deadline stop is reported "will retry: deadline …" (timed_out) and retried', async () => {
    engine.apply = () => Promise.resolve(result({ status: 'failed', error: { code: Codes.deadline, message: 'stopped before the deadline: 3 of 10 objects applied; will resume', retryable: true } }));
    const outcome = await runApply(job(), world.deps, { deadline: Date.now() + 60_000 });
    expect(outcome).toEqual({ kind: 'retry', code: DEADLINE, message: 'deadline: stopped before the deadline: 3 of 10 objects applied; will resume' });
    expect(world.statuses(sha)['pushsync/east']).toBe('error: will retry: deadline: stopped before the deadline: 3 of 10 objects applied; will resume');
    expect(world.checkRuns(sha).filter((r) => r.name === 'pushsync/east').at(-1)).toMatchObject({ status: 'completed', conclusion: 'timed_out' });
  });

  it('an engine that ignores the deadline is aborted shortly after it, and that too is a deadline retry', async () => {
    engine.apply = (opts) =>
      new Promise((resolve) => {
        const signal = (opts as ApplyOptions).signal;
        signal?.addEventListener('abort', () => resolve(result({ status: 'failed', error: { code: 'KNV2016', message: 'run cancelled: aborted' } })));
      });
    const started = Date.now();
    const { apply } = handlersFor(world.deps);
    const run = apply(toPayload(job()), { functionName: 'apply', invocationId: 'i', attempt: 0, deadline: Date.now() + REPORT_MARGIN_MS + 100 });
    await expect(run).rejects.toMatchObject({ code: DEADLINE, retryable: true });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(100 + ABORT_GRACE_MS - 50);
    expect(took).toBeLessThan(100 + ABORT_GRACE_MS + 5_000);
    expect(world.statuses(sha)['pushsync/east']).toMatch(/^error: will retry: deadline: /);
    expect(engine.closed).toBe(1);
  }, 20_000);
});
