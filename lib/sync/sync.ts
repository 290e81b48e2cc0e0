/**
 * The sync job (one per push): read the policy dir at the pushed commit, vet it for every
 * cluster that cares, report `pushsync/vet`, then hand one apply (or plan) job per cluster to
 * the fan-out. A commit that fails validation applies nothing anywhere.
 */
import { reportPending, reportVet, postStatus, type CommitRef } from '../github/index.ts';
import { clustersFollowing, clustersFollowingRepo, type ClusterSummary } from '../registry/index.ts';
import { readGitHubDir } from '../source/index.ts';
import { vetEach, type VetError, type SourceFormat } from '../repo/index.ts';
import type { SyncDeps } from './deps.ts';
import { fromPush, toPayload, type ApplyJob, type PushJob } from './jobs.ts';

export type SyncOutcome =
  | { readonly status: 'ignored'; readonly reason: string }
  | { readonly status: 'invalid'; readonly errors: number }
  | { readonly status: 'dispatched'; readonly mode: 'apply' | 'plan'; readonly clusters: readonly string[] };

const short = (sha: string) => sha.slice(0, 7);

export async function runSync(job: PushJob, deps: SyncDeps): Promise<SyncOutcome> {
  const log = deps.logger.child({ deliveryId: job.deliveryId, repo: job.repo, commit: job.after });
  const repoClusters = await clustersFollowingRepo(deps.store, job.repo);
  if (repoClusters.length === 0) {
    log.info('no registered cluster follows this repository: nothing to do');
    return { status: 'ignored', reason: 'no cluster follows this repository' };
  }
  // A push to a followed branch is applied; a push to any other branch (a pull request's) is
  // planned against the clusters that follow the default branch, for review before merge.
  const following = await clustersFollowing(deps.store, job.repo, job.branch);
  const mode: 'apply' | 'plan' = following.length > 0 ? 'apply' : 'plan';
  const targets = following.length > 0 ? following : job.branch === job.defaultBranch ? [] : await clustersFollowing(deps.store, job.repo, job.defaultBranch);

  const { octokit, checkRuns } = await deps.github({ deliveryId: job.deliveryId, installationId: job.installationId });
  const commit: CommitRef = { owner: job.owner, repo: job.name, sha: job.after };
  const reportOptions = { checkRuns, ...(deps.targetUrl ? { targetUrl: deps.targetUrl } : {}) };

  // Vet every policy dir the repo's clusters read (usually one), for the clusters that read it.
  const sources = groupBySource(targets.length > 0 ? targets : repoClusters);
  const known = fromPush(job);
  const errors: VetError[] = [];
  let objects = 0;
  let clusters = 0; // registered clusters vetted (nomos' placeholder passes are not counted)
  for (const source of sources) {
    const { snapshot, errors: readErrors } = await readGitHubDir(octokit, {
      owner: job.owner, repo: job.name, commit: job.after, dir: source.dir, sourceFormat: source.sourceFormat,
      ...(deps.blobCache ? { cache: deps.blobCache } : {}),
      ...(known.delta ? { delta: known.delta } : {}),
    });
    errors.push(...readErrors.map((e) => inDir(e, source.dir)));
    if (readErrors.length > 0) continue;
    clusters += source.clusters.length;
    vetEach(snapshot.files, { sourceFormat: source.sourceFormat, extraClusters: source.clusters, stamp: false }, (r) => {
      objects = Math.max(objects, r.objects.length);
      errors.push(...r.errors.map((e) => inDir(e, source.dir)));
    });
  }
  const unique = dedupe(errors);
  await reportVet(octokit, commit, { errors: unique, objects, clusters, policyDir: '' }, reportOptions);
  log.info('vetted', { errors: unique.length, objects, clusters });

  if (unique.length > 0) {
    for (const c of targets) {
      await postStatus(octokit, { ...commit, name: c.name, state: 'failure', description: `not ${mode === 'apply' ? 'applied' : 'planned'}: the commit fails validation (see pushsync/vet)`, ...(deps.targetUrl ? { targetUrl: deps.targetUrl } : {}) });
    }
    return { status: 'invalid', errors: unique.length };
  }
  if (targets.length === 0) return { status: 'ignored', reason: `no cluster follows ${job.branch} or the default branch` };

  // Every pending status first, in parallel, then the fan-out: no cluster waits for another's
  // status write before its apply starts.
  const started = await Promise.all(
    targets.map(async (c) => ({ c, checkRunId: await reportPending(octokit, commit, c.name, mode === 'apply' ? `applying ${short(job.after)}…` : `planning ${short(job.after)}…`, reportOptions) })),
  );
  for (const { c, checkRunId } of started) {
    const applyJob: ApplyJob = {
      deliveryId: job.deliveryId, owner: job.owner, name: job.name, sha: job.after, cluster: c.name, mode,
      ...(job.installationId !== undefined ? { installationId: job.installationId } : {}),
      ...(checkRunId !== undefined ? { checkRunId } : {}),
      ...known,
    };
    await deps.invoker.invoke('apply', toPayload(applyJob));
  }
  log.info('dispatched', { mode, clusters: targets.map((c) => c.name) });
  return { status: 'dispatched', mode, clusters: targets.map((c) => c.name) };
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
