/**
 * The sync job (one per push): read the policy dir at the pushed commit, vet it for every
 * cluster that cares, report `pushsync/vet`, then hand one apply (or plan) job per cluster to
 * the fan-out. A commit that fails validation applies nothing anywhere.
 *
 * A push that more clusters follow than the fleet threshold (fleet.ts) is reported as a fleet:
 * `pushsync/fleet` pending instead of one pending context per cluster, the apply jobs marked
 * `fleet`, and one fleet look scheduled that concludes it: a handful of GitHub writes, not 2 × N.
 *
 * It returns an outcome and never throws. Every context it writes ends final unless its apply
 * job was handed over (that job then owns it): on a failure `pushsync/vet` turns red (or
 * `error` "will retry" for an outage, retried by the handler), and so does every cluster
 * context it had set pending whose job was never dispatched.
 *
 * It keeps to its deadline (options.deadline, the function's own less the reporting margin):
 * there the GitHub reads are aborted and the job concludes at once, without waiting for work
 * that takes no signal (a store read, vetting a big repository): `pushsync/vet` and the cluster
 * contexts it still owns end `error` "will retry: deadline: …" and the outcome is `retry`. That
 * work, abandoned, can write nothing more (lifetime.ts).
 */
import { concludeContext, reportPending, reportVet, runWithDeadline, type CommitRef } from '../github/index.ts';
import type { JsonValue } from '../fanout/index.ts';
import { fromPush, toPayload, type ApplyJob, type PushJob } from '../jobs.ts';
import { clustersFollowingRepo, getHelmRepos, healthTimeoutMs, type ClusterSummary } from '../registry/index.ts';
import { vetEach, type VetError, type SourceFormat } from '../repo/index.ts';
import type { GitHubSession, SyncDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import { FLEET_CONTEXT, fleetThreshold, isFleet, reportFleetPending, type FleetJob } from './fleet.ts';
import { jobLifetime } from './lifetime.ts';
import { readPolicy } from './policy.ts';
import { concluding, deadlineReached, fromThrown, type JobOptions, type Unfinished } from './outcome.ts';

export type SyncOutcome =
  | { readonly kind: 'ignored'; readonly reason: string }
  /** The commit fails validation: `pushsync/vet` and every target's context are `failure`. */
  | { readonly kind: 'invalid'; readonly errors: number }
  /**
   * `plansOff`: clusters left out of a plan because their registration turns plans off. `fleet`:
   * reported as a fleet (`pushsync/fleet`, fleet.ts), the push's clusters being above the threshold.
   */
  | { readonly kind: 'dispatched'; readonly mode: 'apply' | 'plan'; readonly clusters: readonly string[]; readonly plansOff: readonly string[]; readonly fleet?: true }
  | Unfinished;

const short = (sha: string) => sha.slice(0, 7);

/** A registration that turns plans off (absent, as in every older registration, means on). */
const plansOff = (c: ClusterSummary): boolean => c.plans === false;

/** What the sync was doing, for the deadline's text ("stopped while vetting the commit"). */
type Step = 'reading the registry' | 'reading the commit' | 'vetting the commit' | 'setting the clusters pending' | 'dispatching the apply jobs';

/** Settings of fleet reporting (fleet.ts); absent, `PUSHSYNC_FLEET_THRESHOLD` or 10. */
export interface FleetSettings {
  /** Above this many clusters an apply push is reported as one `pushsync/fleet` context. */
  readonly fleetThreshold?: number;
}

/** Apply jobs in flight at once while sync hands them over (each handover is an invocation round trip). */
export const DISPATCH_CONCURRENCY = 16;
/** What a fleet's clusters get for their apply (Lambda's longest run) before their rollouts' own timeouts. */
export const FLEET_APPLY_ALLOWANCE_MS = 15 * 60_000;

export async function runSync(job: PushJob, deps: SyncDeps & FleetSettings, options: JobOptions = {}): Promise<SyncOutcome> {
  const log = deps.logger.child({ deliveryId: job.deliveryId, repo: job.repo, commit: job.after });
  const commit: CommitRef = { owner: job.owner, repo: job.name, sha: job.after };
  const target = deps.targetUrl ? { targetUrl: deps.targetUrl } : {};
  let session: GitHubSession | undefined;
  let vetReported = false;
  /** Cluster contexts set pending whose apply job is not (yet) handed over: this job still owns them. */
  const owned = new Map<string, number | undefined>();
  let step: Step = 'reading the registry';
  /** Set as the work returns: a deadline that comes as the last write settles must not undo it. */
  let finished: SyncOutcome | undefined;
  const finish = (o: SyncOutcome): SyncOutcome => (finished = o);
  const life = jobLifetime(options);

  /**
   * The one conclusion of an unfinished job, whichever comes first: the work's own failure or
   * the deadline. A later call gets the first one's outcome and writes nothing.
   */
  let concluded: Promise<Unfinished> | undefined;
  const conclude = (o: Unfinished): Promise<Unfinished> =>
    (concluded ??= (async () => {
      log.error(o.kind === 'retry' ? 'transient failure: will be retried' : o.kind === 'error' ? 'internal error: not retried' : 'failed', { code: o.code, error: o.message });
      if (session === undefined) return o;
      const { octokit, checkRuns } = session;
      const reportOptions = { checkRuns, ...target };
      // pushsync/vet already says what vet found; a later step's failure belongs to the clusters.
      const writes = [...owned].map(([name, checkRunId]) =>
        concludeContext(octokit, commit, concluding(name, o, o.kind === 'retry' ? '' : 'not dispatched: '), { ...reportOptions, checkRunId }),
      );
      if (!vetReported) writes.push(concludeContext(octokit, commit, concluding('vet', o), reportOptions));
      for (const r of await Promise.allSettled(writes)) {
        if (r.status === 'rejected') log.error('could not report the failure on GitHub', { error: messageOf(r.reason) });
      }
      return o;
    })());

  const work = async (): Promise<SyncOutcome | undefined> => {
    try {
      // Every GitHub rate-limit wait inside ends before the deadline (lib/github runWithDeadline).
      return finish(await runWithDeadline(options.deadline, attempt));
    } catch (e) {
      // Stopped at the deadline: the job concludes without this work, whose failure now (an
      // aborted read, a refused write) says nothing about the commit.
      if (life.stopped()) return undefined;
      return await conclude(fromThrown(e));
    }
  };

  const attempt = async (): Promise<SyncOutcome> => {
    // One listing of the registry (a fleet's is many store calls), filtered here by branch.
    const repoClusters = await clustersFollowingRepo(deps.store, job.repo);
    if (repoClusters.length === 0) {
      log.info('no registered cluster follows this repository: nothing to do');
      return { kind: 'ignored', reason: 'no cluster follows this repository' };
    }
    // A push to a followed branch is applied; a push to any other branch (a pull request's) is
    // planned against the clusters that follow the default branch, for review before merge.
    const following = repoClusters.filter((c) => c.branch === job.branch);
    const mode: 'apply' | 'plan' = following.length > 0 ? 'apply' : 'plan';
    const candidates = following.length > 0 ? following : job.branch === job.defaultBranch ? [] : repoClusters.filter((c) => c.branch === job.defaultBranch);
    // A cluster may refuse plans (its credentials must not answer questions about a branch).
    const skipped = mode === 'plan' ? candidates.filter(plansOff) : [];
    const targets = mode === 'plan' ? candidates.filter((c) => !plansOff(c)) : candidates;
    // A fleet (an apply to more clusters than the threshold) is reported in one context; a plan
    // is read cluster by cluster in a pull request and keeps its contexts.
    const fleet = mode === 'apply' && isFleet(targets.length, deps.fleetThreshold ?? fleetThreshold());

    session = await deps.github({ deliveryId: job.deliveryId, installationId: job.installationId });
    const { octokit } = session;
    const reportOptions = { checkRuns: session.checkRuns, ...target };
    // Every write of this work goes through life.write: once the deadline has come, none starts.
    const write = <T>(fn: () => Promise<T>): Promise<T> => life.write(fn);

    // Vet every policy dir the repo's clusters read (usually one), for the clusters that read it.
    const sources = groupBySource(targets.length > 0 ? targets : repoClusters);
    const known = fromPush(job);
    const errors: VetError[] = [];
    let objects = 0;
    let clusters = 0; // registered clusters vetted (nomos' placeholder passes are not counted)
    for (const source of sources) {
      step = 'reading the commit';
      // The files, or what kustomize renders from them (a kustomization in the dir).
      const policy = await readPolicy(octokit, {
        owner: job.owner, repo: job.name, commit: job.after, dir: source.dir, sourceFormat: source.sourceFormat,
        ...(deps.blobCache ? { cache: deps.blobCache } : {}),
        ...(deps.renderCache ? { renderCache: deps.renderCache } : {}),
        helmRepos: () => getHelmRepos(deps.store),
        ...(known.delta ? { delta: known.delta } : {}),
        signal: life.signal,
      });
      errors.push(...policy.errors.map((e) => inDir(e, policy.prefix)));
      if (policy.errors.length > 0) continue;
      clusters += source.clusters.length;
      step = 'vetting the commit';
      vetEach(policy.files, { sourceFormat: policy.sourceFormat, extraClusters: source.clusters, stamp: false }, (r) => {
        objects = Math.max(objects, r.objects.length);
        errors.push(...r.errors.map((e) => inDir(e, policy.prefix)));
      });
    }
    const unique = dedupe(errors);
    await write(() => reportVet(octokit, commit, { errors: unique, objects, clusters, policyDir: '' }, reportOptions));
    vetReported = true;
    log.info('vetted', { errors: unique.length, objects, clusters });

    if (unique.length > 0) {
      const description = `not ${mode === 'apply' ? 'applied' : 'planned'}: the commit fails validation (see pushsync/vet)`;
      await Promise.all((fleet ? [{ name: FLEET_CONTEXT }] : targets).map((c) => write(() => concludeContext(octokit, commit, { name: c.name, state: 'failure', description }, reportOptions))));
      return { kind: 'invalid', errors: unique.length };
    }
    if (targets.length === 0) {
      return { kind: 'ignored', reason: skipped.length > 0 ? 'every cluster that would plan this branch has plans turned off' : `no cluster follows ${job.branch} or the default branch` };
    }

    // Every pending status first, in parallel, then the fan-out: no cluster waits for another's
    // status write before its apply starts.
    const pendingText = `${mode === 'apply' ? 'applying' : 'planning'} ${short(job.after)}…`;
    // Settled, not Promise.all: a failure must not be concluded while another cluster's check
    // run is still being created (that run would stay in progress).
    step = 'setting the clusters pending';
    // A fleet: one pending context for all, whose check run lists every cluster.
    const pending = await Promise.allSettled(
      (fleet ? [{ name: FLEET_CONTEXT }] : targets).map((c) =>
        write(async () => {
          owned.set(c.name, undefined);
          owned.set(c.name, fleet ? await reportFleetPending(octokit, commit, targets.map((t) => t.name), `${pendingText} on ${targets.length} clusters`, reportOptions) : await reportPending(octokit, commit, c.name, pendingText, reportOptions));
        }),
      ),
    );
    const refused = pending.find((p) => p.status === 'rejected');
    if (refused) throw refused.reason;
    step = 'dispatching the apply jobs';
    const fleetRunId = fleet ? owned.get(FLEET_CONTEXT) : undefined;
    // A few handovers at a time: each is an invocation's round trip, and a fleet has many.
    const handOver = async (c: ClusterSummary): Promise<void> => {
      const checkRunId = fleet ? undefined : owned.get(c.name);
      const applyJob: ApplyJob & { fleet?: true } = {
        deliveryId: job.deliveryId, owner: job.owner, name: job.name, sha: job.after, cluster: c.name, mode,
        ...(job.installationId !== undefined ? { installationId: job.installationId } : {}),
        ...(checkRunId !== undefined ? { checkRunId } : {}),
        ...known,
        ...(fleet ? { fleet: true as const } : {}),
      };
      // A handover is a write too: after the deadline, the context stays this job's to conclude.
      await write(() => deps.invoker.invoke('apply', toPayload(applyJob)));
      // Handed over: from here the apply job alone writes this context.
      owned.delete(c.name);
    };
    const queue = [...targets];
    const handedOver = await Promise.allSettled(
      Array.from({ length: Math.min(DISPATCH_CONCURRENCY, queue.length) }, async () => {
        for (let c = queue.shift(); c !== undefined; c = queue.shift()) await handOver(c);
      }),
    );
    const notHanded = handedOver.find((p) => p.status === 'rejected');
    if (notHanded) throw notHanded.reason;
    if (fleet) {
      // The fleet look concludes `pushsync/fleet` once every cluster is final (fleet.ts).
      const startedAt = Date.now();
      const fleetJob: FleetJob = {
        kind: 'fleet', deliveryId: job.deliveryId, owner: job.owner, name: job.name, sha: job.after,
        ...(job.installationId !== undefined ? { installationId: job.installationId } : {}),
        ...(fleetRunId !== undefined ? { checkRunId: fleetRunId } : {}),
        ...(known.ancestor !== undefined ? { ancestor: known.ancestor } : {}),
        clusters: targets.map((c) => c.name), done: [], startedAt, check: 1,
        timeoutAt: startedAt + FLEET_APPLY_ALLOWANCE_MS + Math.max(...targets.map(healthTimeoutMs)),
      };
      await write(() => deps.invoker.invoke('health', JSON.parse(JSON.stringify(fleetJob)) as JsonValue, { delayMs: 1_000 }));
      owned.delete(FLEET_CONTEXT);
    }
    const names = targets.map((c) => c.name);
    log.info('dispatched', { mode, clusters: names.length > 20 ? `${names.length} clusters` : names, plansOff: skipped.map((c) => c.name), ...(fleet ? { fleet: true } : {}) });
    return { kind: 'dispatched', mode, clusters: names, plansOff: skipped.map((c) => c.name), ...(fleet ? { fleet: true as const } : {}) };
  };

  try {
    const outcome = await Promise.race([work(), life.expired.then(() => undefined)]);
    if (outcome !== undefined) return outcome;
    // The deadline: stop the work's writes, learn what those in flight started, conclude.
    await life.abandon();
    return finished ?? (await conclude(deadlineReached(`stopped while ${step}, before the function's timeout`)));
  } finally {
    life.dispose();
  }
}

interface Source {
  readonly dir: string;
  readonly sourceFormat: SourceFormat;
  readonly clusters: string[];
}

function groupBySource(clusters: readonly ClusterSummary[]): Source[] {
  const by = new Map<string, Source>();
  for (const c of clusters) {
    const key = `${c.dir}\0${c.sourceFormat}`;
    const s = by.get(key) ?? { dir: c.dir, sourceFormat: c.sourceFormat, clusters: [] };
    s.clusters.push(c.name);
    by.set(key, s);
  }
  return [...by.values()];
}

/** Engine paths are relative to the policy dir; GitHub wants them relative to the repository. */
function inDir(e: VetError, dir: string): VetError {
  const d = dir === '.' || dir === '' ? '' : `${dir.replace(/\/+$/, '')}/`;
  if (d === '') return e;
  return {
    ...e,
    ...(e.path !== undefined ? { path: `${d}${e.path}` } : {}),
    ...(e.objects ? { objects: e.objects.map((o) => (o.source ? { ...o, source: `${d}${o.source}` } : o)) } : {}),
  };
}

/** The same error found for several clusters is one error. */
function dedupe(errors: readonly VetError[]): VetError[] {
  const seen = new Map<string, VetError>();
  for (const e of errors) seen.set(`${e.code}\0${e.path ?? ''}\0${e.line ?? ''}\0${e.message}`, e);
  return [...seen.values()];
}
