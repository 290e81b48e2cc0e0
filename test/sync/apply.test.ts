/**
 * runApply, outcome by outcome, with a GitHub App (the stand-in, contract-checked): whatever
 * the path, `pushsync/<cluster>` ends final — its status not pending, the check run sync
 * started `completed` — and the outcome says what the handler must do. The paths here need no
 * API server; applied, planned, superseded and the deadline mid-apply are in cluster.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseApplyJob, type ApplyJob } from '../../lib/jobs.ts';
import { removeCluster } from '../../lib/registry/index.ts';
import { BlobCache } from '../../lib/source/index.ts';
import { DEADLINE, runApply, runSync, type ApplyOutcome, type SyncDeps } from '../../lib/sync/index.ts';
import { buildPushPayload } from '../helpers/github-server.ts';
import { BROKEN_YAML, NAMESPACE_YAML, OWNER, REPO, REPO_YAML, buggyCache, closedPort, startWorld, unreachableKubeconfig, type World } from './support.ts';

let world: World;
let kubeconfig: string;

beforeAll(async () => {
  world = await startWorld();
  kubeconfig = unreachableKubeconfig(await closedPort());
});
afterAll(async () => {
  await world?.close();
});
afterEach(() => {
  expect(world.github.violations).toEqual([]);
  world.github.clearFaults();
  world.invoked.length = 0;
});

/** Push `files` on main, run the sync job, and return the apply job it handed to the fan-out. */
async function syncedJob(cluster: string, files: Record<string, string>): Promise<{ sha: string; job: ApplyJob }> {
  await world.register(cluster, kubeconfig);
  const sha = await world.github.git.commit(files, { message: cluster, replace: true });
  const push = await buildPushPayload({ git: world.github.git, owner: OWNER, repo: REPO, ref: 'main', after: sha, apiUrl: world.github.url });
  const outcome = await runSync(
    { deliveryId: `d-${cluster}`, repo: `${OWNER}/${REPO}`, owner: OWNER, name: REPO, ref: 'refs/heads/main', branch: 'main', after: sha, before: push.before, defaultBranch: 'main', pushedAt: new Date().toISOString(), installationId: 7 },
    world.deps,
  );
  expect(outcome.kind).toBe('dispatched');
  const job = world.invoked.map((p) => parseApplyJob(p)).find((j) => j.cluster === cluster);
  if (!job) throw new Error(`no apply job for ${cluster}`);
  // What sync leaves for the apply job: pending, and a check run in progress that the job must close.
  expect(world.statuses(sha)[`pushsync/${cluster}`]).toMatch(/^pending/);
  expect(job.checkRunId).toBeTypeOf('number');
  expect(world.github.checkRuns.find((r) => r.id === job.checkRunId)?.status).toBe('in_progress');
  return { sha, job };
}

/** The context's final state: latest status, and the check run sync started. */
function final(sha: string, job: ApplyJob): { status: string; run: { status: string; conclusion: string | null } | undefined } {
  const run = world.github.checkRuns.find((r) => r.id === job.checkRunId);
  return { status: world.statuses(sha)[`pushsync/${job.cluster}`] ?? 'none', run: run && { status: run.status, conclusion: run.conclusion } };
}

/** Deps with an empty blob cache: the job reads GitHub, not what the sync job left in the process. */
const cold = (): SyncDeps => ({ ...world.deps, blobCache: new BlobCache() });

const shop = { 'system/repo.yaml': REPO_YAML, 'namespaces/shop/namespace.yaml': NAMESPACE_YAML('shop') };

describe('runApply outcomes (GitHub App)', () => {
  it('unregistered: the cluster was removed after the push → failure, check run completed', async () => {
    const { sha, job } = await syncedJob('ghost', shop);
    await removeCluster(world.store, 'ghost');
    const outcome = await runApply(job, world.deps);
    expect(outcome).toEqual({ kind: 'unregistered' });
    expect(final(sha, job)).toEqual({ status: expect.stringMatching(/^failure: cluster ghost is not registered/), run: { status: 'completed', conclusion: 'failure' } });
  });

  it('invalid for this cluster: the commit does not compile for it → failure naming the error, check run completed', async () => {
    const { job } = await syncedJob('strict', shop);
    // The apply job reads its own commit; here one that does not parse.
    const bad = await world.github.git.commit({ ...shop, 'namespaces/shop/broken.yaml': BROKEN_YAML }, { message: 'broken', replace: true });
    const badJob = { ...job, sha: bad };
    delete (badJob as { ancestor?: string }).ancestor;
    const outcome = await runApply(badJob, world.deps);
    expect(outcome).toMatchObject({ kind: 'invalid', errors: 1 });
    expect(final(bad, badJob).status).toMatch(/^failure: not applied: 1 validation error\(s\) for this cluster, e\.g\. KNV\d+ namespaces\/shop\/broken\.yaml/);
    expect(final(bad, badJob).run).toEqual({ status: 'completed', conclusion: 'failure' });
  });

  it('transient: GitHub keeps answering 502 → error "will retry", check run completed, outcome retry', async () => {
    const { sha, job } = await syncedJob('flaky', shop);
    world.github.fail({ path: /\/git\/trees\//, status: 502, times: 20 });
    const outcome = await runApply(job, cold());
    expect(outcome).toMatchObject({ kind: 'retry', code: 'GITHUB_UNAVAILABLE' });
    expect(final(sha, job)).toEqual({ status: expect.stringMatching(/^error: will retry: GitHub call GET \/repos\/acme\/policy\/git\/trees\/.*Server Error/), run: { status: 'completed', conclusion: 'failure' } });
  });

  it('transient: the API server is unreachable → error "will retry", outcome retry', async () => {
    const { sha, job } = await syncedJob('unreachable', shop);
    const outcome = await runApply(job, world.deps);
    expect(outcome).toMatchObject({ kind: 'retry', code: 'KNV2016' });
    expect(final(sha, job)).toEqual({ status: expect.stringMatching(/^error: will retry: .*(ECONNREFUSED|unreachable)/), run: { status: 'completed', conclusion: 'failure' } });
  }, 30_000);

  it('permanent: GitHub refuses (403) → failure with GitHub\'s words, not retried', async () => {
    const { sha, job } = await syncedJob('refused', shop);
    world.github.fail({ path: /\/git\/trees\//, status: 403, times: 5, body: { message: 'Resource not accessible by integration' } });
    const outcome = await runApply(job, cold());
    expect(outcome).toMatchObject({ kind: 'failed', code: 'GITHUB_FORBIDDEN' });
    expect(final(sha, job)).toEqual({ status: expect.stringMatching(/^failure: GitHub call GET .*essible by integration/), run: { status: 'completed', conclusion: 'failure' } });
    // The status is cut to 140 characters; the check run keeps the whole message.
    expect(world.github.checkRuns.find((r) => r.id === job.checkRunId)?.output.summary).toMatch(/failed with 403.*Resource not accessible by integration/);
  });

  it('bug: a TypeError inside the job → error "internal error", not retried', async () => {
    const { sha, job } = await syncedJob('buggy', shop);
    const outcome = await runApply(job, { ...world.deps, blobCache: buggyCache() });
    expect(outcome).toMatchObject({ kind: 'error', code: 'SYNC_INTERNAL', message: expect.stringMatching(/^TypeError: Cannot read properties of undefined/) });
    expect(final(sha, job)).toEqual({ status: expect.stringMatching(/^error: internal error \(a bug in pushsync; not retried\): TypeError/), run: { status: 'completed', conclusion: 'failure' } });
  });

  it('deadline while reading the commit: the handler\'s signal aborts the GitHub read → "will retry: deadline", timed_out, nothing written after', async () => {
    const { sha, job } = await syncedJob('slowread', shop);
    world.github.delay({ path: /\/git\/(trees|blobs)\//, ms: 2_000 });
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort(new Error('the function\'s time is nearly up')), 200).unref();
    const outcome = await runApply(job, cold(), { deadline: Date.now() + 60_000, signal: stop.signal });
    expect(Date.now() - started).toBeLessThan(1_800);
    expect(outcome).toMatchObject({ kind: 'retry', code: DEADLINE });
    expect(final(sha, job)).toEqual({ status: expect.stringMatching(/^error: will retry: deadline: /), run: { status: 'completed', conclusion: 'timed_out' } });
    expect(world.github.apiCalls({ path: new RegExp(`/git/(trees|blobs)/`) }).some((r) => r.aborted)).toBe(true);
  });

  it('deadline: no time left before the function\'s timeout → nothing started, error "will retry: deadline", timed_out', async () => {
    const { sha, job } = await syncedJob('late', shop);
    const outcome = await runApply(job, world.deps, { deadline: Date.now() - 1 });
    expect(outcome).toMatchObject({ kind: 'retry', code: DEADLINE });
    expect(final(sha, job)).toEqual({ status: expect.stringMatching(/^error: will retry: deadline: /), run: { status: 'completed', conclusion: 'timed_out' } });
  });

  it('plans off: a plan job for a cluster whose registration turned plans off since the push → not planned, check run skipped', async () => {
    const { sha, job } = await syncedJob('private', shop);
    await world.register('private', kubeconfig, { plans: false });
    const outcome: ApplyOutcome = await runApply({ ...job, mode: 'plan' }, world.deps);
    expect(outcome).toEqual({ kind: 'plans-off' });
    expect(final(sha, job)).toEqual({ status: 'success: not planned: plans are turned off for this cluster', run: { status: 'completed', conclusion: 'skipped' } });
  });

  it('a GitHub outage while reporting is still an outcome (retry), never a throw', async () => {
    const { job } = await syncedJob('mute', shop);
    world.github.fail({ path: /\/git\/trees\//, status: 503, times: 20 });
    world.github.fail({ method: 'POST', path: /\/statuses\//, status: 503, times: 20 });
    world.github.fail({ method: 'PATCH', path: /\/check-runs\//, status: 503, times: 20 });
    await expect(runApply(job, cold())).resolves.toMatchObject({ kind: 'retry' });
  });
});
