/**
 * The handlers decide alone between throwing (so Lambda, or the in-process invoker, retries)
 * and returning: only a `retry` outcome throws. The deadline comes from Lambda's remaining time
 * (minus the reporting margin), or from the in-process invoker's job timeout.
 */
import { describe, expect, it, vi } from 'vitest';
import { createApplyFunction } from '../../functions/apply.ts';
import { createSyncFunction } from '../../functions/sync.ts';
import { functionFromEnv } from '../../lib/aws/index.ts';
import { createInProcessInvoker, type DeadLetter } from '../../lib/fanout/index.ts';
import { toPayload, type ApplyJob } from '../../lib/jobs.ts';
import { BlobCache } from '../../lib/source/index.ts';
import { DEADLINE, REPORT_MARGIN_MS, SyncError, handlersFor, type SyncDeps } from '../../lib/sync/index.ts';
import { buggyCache, NAMESPACE_YAML, OWNER, REPO, REPO_YAML, useEastWorld, type World } from './support.ts';

let world: World;
let sha: string;

useEastWorld((started) => ({ world, sha } = started));

const job = (extra: Partial<ApplyJob> = {}): ApplyJob => ({ deliveryId: 'd-h', owner: OWNER, name: REPO, sha, cluster: 'east', mode: 'apply', installationId: 7, ...extra });
const lambda = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: 'req-1' });
const cold = (extra: Partial<SyncDeps> = {}): SyncDeps => ({ ...world.deps, blobCache: new BlobCache(), ...extra });

describe('the Lambda handlers: throw only to be retried', () => {
  it('a malformed payload is refused and returned (retrying the same bytes cannot help), and logged', async () => {
    const before = world.logLines.length;
    await expect(createApplyFunction(world.deps)({ cluster: 'east' }, lambda(60_000))).resolves.toMatchObject({ kind: 'rejected', code: 'SYNC_BAD_PAYLOAD' });
    await expect(createSyncFunction(world.deps)({ repo: 'acme/policy' }, lambda(60_000))).resolves.toMatchObject({ kind: 'rejected', code: 'SYNC_BAD_PAYLOAD' });
    expect(world.logLines.slice(before).map((l) => JSON.parse(l) as { level: string; msg: string })).toEqual([
      expect.objectContaining({ level: 'error', msg: 'invocation payload refused: not retried' }),
      expect.objectContaining({ level: 'error', msg: 'invocation payload refused: not retried' }),
    ]);
  });

  it('Lambda\'s remaining time is the deadline, less the reporting margin: too little left → "will retry: deadline", thrown', async () => {
    const apply = createApplyFunction(world.deps);
    const err = await apply(toPayload(job()), lambda(REPORT_MARGIN_MS - 1_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncError);
    expect(err).toMatchObject({ code: DEADLINE, retryable: true });
    expect(world.statuses(sha)['pushsync/east']).toMatch(/^error: will retry: deadline: /);
    expect(world.checkRuns(sha).find((r) => r.name === 'pushsync/east')).toMatchObject({ status: 'completed', conclusion: 'timed_out' });
  });

  it('a transient failure throws (retryable); a permanent one and a bug return their outcome', async () => {
    world.github.fail({ path: /\/git\/trees\//, status: 502, times: 20 });
    await expect(handlersFor(cold()).apply(toPayload(job()), { functionName: 'apply', invocationId: 'i', attempt: 0, deadline: Date.now() + 60_000 })).rejects.toMatchObject({
      code: 'GITHUB_UNAVAILABLE',
      retryable: true,
    });
    world.github.clearFaults();
    await expect(createApplyFunction(world.deps)(toPayload(job({ cluster: 'gone' })), lambda(60_000))).resolves.toEqual({ kind: 'unregistered' });
    await expect(createApplyFunction(cold({ blobCache: buggyCache() }))(toPayload(job()), lambda(60_000))).resolves.toMatchObject({ kind: 'error', code: 'SYNC_INTERNAL' });
  });
});

describe('the in-process fan-out over the handlers', () => {
  it('runs a bug once (no retries), retries an outage, and dead-letters it after the last retry', async () => {
    const dead: DeadLetter[] = [];
    const invoker = createInProcessInvoker({ retryDelaysMs: [1, 1], onDeadLetter: (d) => dead.push(d) });
    const buggy = handlersFor(cold({ invoker, blobCache: buggyCache() }));
    invoker.register('apply', buggy.apply);
    await invoker.invoke('apply', toPayload(job()));
    await invoker.idle();
    expect(invoker.stats()).toMatchObject({ succeeded: 1, retried: 0, deadLettered: 0 });
    expect(world.statuses(sha)['pushsync/east']).toMatch(/^error: internal error/);

    world.github.fail({ path: /\/git\/trees\//, status: 502, times: 1000 });
    // A fresh cache per attempt: each attempt must really read GitHub.
    invoker.register('apply', (payload, context) => handlersFor(cold({ invoker })).apply(payload, context));
    await invoker.invoke('apply', toPayload(job()));
    await invoker.idle();
    expect(invoker.stats()).toMatchObject({ retried: 2, deadLettered: 1 });
    expect(dead).toEqual([expect.objectContaining({ attempts: 3, error: expect.objectContaining({ code: 'GITHUB_UNAVAILABLE' }) })]);
    expect(world.statuses(sha)['pushsync/east']).toMatch(/^error: will retry: /);
  });
});

describe('Lambda with the in-process fan-out (PUSHSYNC_INVOKER=in-process)', () => {
  it('the apply jobs a sync runs in-process get the sync function\'s own deadline, not the local 10 minutes', async () => {
    const env = { PUSHSYNC_STORE: 'file', PUSHSYNC_HOME: world.home, PUSHSYNC_INVOKER: 'in-process', PUSHSYNC_GITHUB_URL: world.github.url, PUSHSYNC_LOG_LEVEL: 'error' };
    // The functions log to stdout, as Lambda collects it: kept out of the test's output.
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const head = await world.github.git.commit({ 'system/repo.yaml': REPO_YAML, 'namespaces/late/namespace.yaml': NAMESPACE_YAML('late') }, { message: 'late' });
      const sync = functionFromEnv('sync', createSyncFunction, env);
      const push = { deliveryId: 'd-host', repo: `${OWNER}/${REPO}`, owner: OWNER, name: REPO, ref: 'refs/heads/main', branch: 'main', after: head, before: '0'.repeat(40), defaultBranch: 'main', pushedAt: new Date().toISOString(), installationId: 7 };
      // 20 s left: enough for the sync, too little for an apply once the reporting margin is kept.
      await expect(sync(toPayload(push), lambda(REPORT_MARGIN_MS + 5_000))).resolves.toMatchObject({ kind: 'dispatched' });
      expect(world.statuses(head)['pushsync/east']).toMatch(/^error: will retry: deadline: /);
      expect(world.checkRuns(head).find((r) => r.name === 'pushsync/east')).toMatchObject({ status: 'completed', conclusion: 'timed_out' });
    } finally {
      write.mockRestore();
    }
  }, 60_000);
});
