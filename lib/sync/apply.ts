/**
 * The apply job (one per cluster per commit): hydrate the commit for this cluster, make the
 * cluster match it (or plan, for a branch no cluster follows), and report `pushsync/<cluster>`.
 * A transient failure is reported as `error` and thrown, so Lambda (or the in-process fan-out)
 * retries; a permanent one ends in `failure`. Old commits end as "superseded".
 */
import { apply, connect, plan, type ApplyResult } from '../cluster/index.ts';
import { isAncestor, postStatus, reportCluster, type CommitRef } from '../github/index.ts';
import { getCluster } from '../registry/index.ts';
import { compile } from '../repo/index.ts';
import { readGitHubDir } from '../source/index.ts';
import type { SyncDeps } from './deps.ts';
import { SyncError, isRetryable, messageOf } from './errors.ts';
import type { ApplyJob } from './jobs.ts';

export type ApplyOutcome = ApplyResult['status'] | 'planned' | 'invalid' | 'unregistered';

type Oracle = (ancestor: string, descendant: string) => Promise<boolean>;

/**
 * The ancestry oracle, answering from the push first: a non-forced push's `before` is a strict
 * ancestor of its `after`, so neither question about that pair needs the compare API (git's
 * history has no cycles: `after` cannot also be an ancestor of `before`).
 */
export function knowing(job: Pick<ApplyJob, 'sha' | 'ancestor'>, oracle: Oracle): Oracle {
  const sha = job.sha.toLowerCase();
  const known = job.ancestor?.toLowerCase();
  return async (ancestor, descendant) => {
    const a = ancestor.toLowerCase();
    const d = descendant.toLowerCase();
    if (known !== undefined && known !== sha) {
      if (a === known && d === sha) return true;
      if (a === sha && d === known) return false;
    }
    return oracle(ancestor, descendant);
  };
}

export async function runApply(job: ApplyJob, deps: SyncDeps): Promise<ApplyOutcome> {
  const log = deps.logger.child({ deliveryId: job.deliveryId, repo: `${job.owner}/${job.name}`, commit: job.sha, cluster: job.cluster });
  const { octokit, checkRuns } = await deps.github({ deliveryId: job.deliveryId, installationId: job.installationId });
  const commit: CommitRef = { owner: job.owner, repo: job.name, sha: job.sha };
  const target = deps.targetUrl ? { targetUrl: deps.targetUrl } : {};
  const fail = async (description: string) => postStatus(octokit, { ...commit, name: job.cluster, state: 'failure', description, ...target });

  const reg = await getCluster(deps.store, job.cluster);
  if (!reg) {
    log.warn('cluster is no longer registered');
    await fail(`cluster ${job.cluster} is not registered (removed after the push?)`);
    return 'unregistered';
  }
  try {
    const { snapshot, errors: readErrors } = await readGitHubDir(octokit, {
      owner: job.owner, repo: job.name, commit: job.sha, dir: reg.dir, sourceFormat: reg.sourceFormat,
      ...(deps.blobCache ? { cache: deps.blobCache } : {}),
      ...(job.delta ? { delta: job.delta } : {}),
    });
    const compiled = readErrors.length > 0 ? { errors: readErrors, objects: [] } : compile(snapshot.files, { sourceFormat: reg.sourceFormat, clusterName: reg.name, policyDir: reg.dir === '.' ? '' : reg.dir });
    if (compiled.errors.length > 0) {
      const first = compiled.errors[0];
      log.warn('commit does not validate for this cluster', { errors: compiled.errors.length });
      await fail(`not applied: ${compiled.errors.length} validation error(s) for this cluster, e.g. ${first?.code} ${first?.path ?? ''}`);
      return 'invalid';
    }
    const objects = compiled.objects.map((d) => d.obj);
    const conn = await connect(reg.kubeconfig, reg.context ? { context: reg.context } : {});
    const reportOptions = { checkRuns, ...target, ...(job.checkRunId !== undefined ? { checkRunId: job.checkRunId } : {}) };

    if (job.mode === 'plan') {
      const r = await plan(conn, objects);
      if (r.error?.retryable) throw new SyncError(r.error.code, r.error.message, true);
      await reportCluster(octokit, commit, { cluster: job.cluster, mode: 'plan', ...r }, reportOptions);
      log.info('planned', { counts: r.counts });
      return 'planned';
    }

    const r = await apply(conn, objects, {
      commit: job.sha,
      isAncestor: knowing(job, (ancestor, descendant) => isAncestor(octokit, { owner: job.owner, repo: job.name, ancestor, descendant })),
    });
    log.info('applied', { status: r.status, counts: r.counts, durationMs: Math.round(r.durationMs) });
    if (r.status === 'failed' && r.error?.retryable) throw new SyncError(r.error.code, r.error.message, true);
    const changed = r.counts.created + r.counts.configured + r.counts.pruned + r.counts.failed > 0;
    if (!(job.quiet && r.status === 'applied' && !changed)) {
      await reportCluster(octokit, commit, { cluster: job.cluster, mode: 'apply', ...r }, reportOptions);
    }
    return r.status;
  } catch (e) {
    const retryable = isRetryable(e);
    log.error(retryable ? 'transient failure: will be retried' : 'failed', { error: messageOf(e) });
    // The status says what happened now; a later successful retry overwrites it.
    await postStatus(octokit, { ...commit, name: job.cluster, state: retryable ? 'error' : 'failure', description: `${retryable ? 'will retry: ' : ''}${messageOf(e)}`, ...target }).catch((err: unknown) =>
      log.error('could not report the failure on GitHub', { error: messageOf(err) }),
    );
    if (retryable) throw e;
    return 'failed';
  }
}
