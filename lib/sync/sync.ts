/**
 * The sync job (one per push): read the policy dir at the pushed commit, vet it for every
 * cluster that cares, report `pushsync/vet`, then hand one apply (or plan) job per cluster to
 * the fan-out. A commit that fails validation applies nothing anywhere.
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
import { concludeContext, reportPending, reportVet, type CommitRef } from '../github/index.ts';
import { fromPush, toPayload, type ApplyJob, type PushJob } from '../jobs.ts';
import { clustersFollowing, clustersFollowingRepo, getHelmRepos, type ClusterSummary } from '../registry/index.ts';
import { vetEach, type VetError, type SourceFormat } from '../repo/index.ts';
import type { GitHubSession, SyncDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import { jobLifetime } from './lifetime.ts';
import { readPolicy } from './policy.ts';
import { concluding, deadlineReached, fromThrown, type JobOptions, type Unfinished } from './outcome.ts';

export type SyncOutcome =
  | { readonly kind: 'ignored'; readonly reason: string }
  /** The commit fails validation: `pushsync/vet` and every target's context are `failure`. */
  | { readonly kind: 'invalid'; readonly errors: number }
  /** `plansOff`: clusters left out of a plan because their registration turns plans off. */
  | { readonly kind: 'dispatched'; readonly mode: 'apply' | 'plan'; readonly clusters: readonly string[]; readonly plansOff: readonly string[] }
  | Unfinished;

const short = (sha: string) => sha.slice(0, 7);

/** A registration that turns plans off (absent, as in every older registration, means on). */
const plansOff = (c: ClusterSummary): boolean => c.plans === false;

/** What the sync was doing, for the deadline's text ("stopped while vetting the commit"). */
type Step = 'reading the registry' | 'reading the commit' | 'vetting the commit' | 'setting the clusters pending' | 'dispatching the apply jobs';

export async function runSync(job: PushJob, deps: SyncDeps, options: JobOptions = {}): Promise<SyncOutcome> {
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
      return finish(await attempt());
    } catch (e) {
      // Stopped at the deadline: the job concludes without this work, whose failure now (an
      // aborted read, a refused write) says nothing about the commit.
      if (life.stopped()) return undefined;
      return await conclude(fromThrown(e));
    }
  };

  const attempt = async (): Promise<SyncOutcome> => {
    const repoClusters = await clustersFollowingRepo(deps.store, job.repo);
    if (repoClusters.length === 0) {
      log.info('no registered cluster follows this repository: nothing to do');
      return { kind: 'ignored', reason: 'no cluster follows this repository' };
    }
    // A push to a followed branch is applied; a push to any other branch (a pull request's) is
    // planned against the clusters that follow the default branch, for review before merge.
    const following = await clustersFollowing(deps.store, job.repo, job.branch);
    const mode: 'apply' | 'plan' = following.length > 0 ? 'apply' : 'plan';
    const candidates = following.length > 0 ? following : job.branch === job.defaultBranch ? [] : await clustersFollowing(deps.store, job.repo, job.defaultBranch);
    // A cluster may refuse plans (its credentials must not answer questions about a branch).
    const skipped = mode === 'plan' ? candidates.filter(plansOff) : [];
    const targets = mode === 'plan' ? candidates.filter((c) => !plansOff(c)) : candidates;

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
      await Promise.all(targets.map((c) => write(() => concludeContext(octokit, commit, { name: c.name, state: 'failure', description }, reportOptions))));
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
    const pending = await Promise.allSettled(
      targets.map((c) =>
        write(async () => {
          owned.set(c.name, undefined);
          owned.set(c.name, await reportPending(octokit, commit, c.name, pendingText, reportOptions));
        }),
      ),
    );
    const refused = pending.find((p) => p.status === 'rejected');
    if (refused) throw refused.reason;
    step = 'dispatching the apply jobs';
    for (const c of targets) {
      const checkRunId = owned.get(c.name);
      const applyJob: ApplyJob = {
        deliveryId: job.deliveryId, owner: job.owner, name: job.name, sha: job.after, cluster: c.name, mode,
        ...(job.installationId !== undefined ? { installationId: job.installationId } : {}),
        ...(checkRunId !== undefined ? { checkRunId } : {}),
        ...known,
      };
      // A handover is a write too: after the deadline, the context stays this job's to conclude.
      await write(() => deps.invoker.invoke('apply', toPayload(applyJob)));
      // Handed over: from here the apply job alone writes this context.
      owned.delete(c.name);
    }
    const names = targets.map((c) => c.name);
    log.info('dispatched', { mode, clusters: names, plansOff: skipped.map((c) => c.name) });
    return { kind: 'dispatched', mode, clusters: names, plansOff: skipped.map((c) => c.name) };
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
