/**
 * The apply job (one per cluster per commit): hydrate the commit for this cluster, make the
 * cluster match it (or plan, for a branch no cluster follows), and report `pushsync/<cluster>`.
 *
 * It returns an outcome and never throws: every path — including a thrown error, a bug and the
 * deadline — ends with `pushsync/<cluster>` final (status, and with an App the check run sync
 * started). Whether the invocation is retried is the handler's decision (handlers.ts): only a
 * `retry` outcome is. The cluster connection is closed on every path.
 */
import { Codes, apply, checkRollout, connect, plan, type ApplyResult, type Connection, type RunStatus } from '../cluster/index.ts';
import { concludeContext, describeApplied, isAncestor, reportCluster, type ClusterReport, type CommitRef, type ContextConclusion } from '../github/index.ts';
import type { ApplyJob, HealthJob } from '../jobs.ts';
import { credentialPolicy, getCluster, getHelmRepos, healthTimeoutMs, type RegisteredCluster } from '../registry/index.ts';
import { compile } from '../repo/index.ts';
import type { GitHubSession, SyncDeps } from './deps.ts';
import { openDeployment, trackDeployment, type DeploymentTracker } from './deployment.ts';
import { messageOf } from './errors.ts';
import { concluding, deadlineReached, fromThrown, isPastDeadline, type JobOptions, type Unfinished } from './outcome.ts';
import { readPolicy } from './policy.ts';
import { fleetSession } from './fleet.ts';
import { followRollout } from './rollout.ts';

type Counts = Readonly<Record<string, number>>;

export type ApplyOutcome =
  /**
   * The cluster matches the commit and (unless the cluster's health timeout is 0) every object
   * is healthy. `reported` is false for a quiet resync that changed nothing.
   */
  | { readonly kind: 'applied'; readonly counts: Counts; readonly reported: boolean }
  /** Applied; the rollout is under way and a health check is scheduled (it owns the status now). */
  | { readonly kind: 'rolling-out'; readonly counts: Counts; readonly delayMs: number }
  /** Applied, but an object is already Failed (reported `failure` naming it). */
  | { readonly kind: 'unhealthy'; readonly counts: Counts; readonly description: string }
  /** The run finished with objects that failed (reported `failure` with what failed). */
  | { readonly kind: 'partial'; readonly counts: Counts }
  /** The cluster already has a newer commit: nothing done. */
  | { readonly kind: 'superseded'; readonly by: string }
  | { readonly kind: 'planned'; readonly counts: Counts }
  /** The commit does not validate for this cluster: nothing applied. */
  | { readonly kind: 'invalid'; readonly errors: number }
  /** The cluster was removed after the push. */
  | { readonly kind: 'unregistered' }
  /** A plan job for a cluster whose registration turns plans off. */
  | { readonly kind: 'plans-off' }
  | Unfinished;

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

export async function runApply(job: ApplyJob, deps: SyncDeps, options: JobOptions = {}): Promise<ApplyOutcome> {
  const log = deps.logger.child({ deliveryId: job.deliveryId, repo: `${job.owner}/${job.name}`, commit: job.sha, cluster: job.cluster });
  const commit: CommitRef = { owner: job.owner, repo: job.name, sha: job.sha };
  const reportOptions = (session: GitHubSession) => ({
    checkRuns: session.checkRuns,
    ...(deps.targetUrl ? { targetUrl: deps.targetUrl } : {}),
    ...(job.checkRunId !== undefined ? { checkRunId: job.checkRunId } : {}),
  });
  let session: GitHubSession | undefined;
  let conn: Connection | undefined;
  /** This commit's Deployment to this cluster's environment (apply mode); best effort, never decides the outcome. */
  let deployment: DeploymentTracker | undefined;
  /** Every path but a full report ends here: the status and the check run, both final. */
  const conclude = async (c: Omit<ContextConclusion, 'name'>): Promise<void> => {
    if (session === undefined) return;
    await concludeContext(session.octokit, commit, { name: job.cluster, ...c }, reportOptions(session));
    await deployment?.set(c.state === 'success' ? 'success' : c.state === 'failure' ? 'failure' : 'error', c.description);
  };
  const unfinished = async (o: Unfinished, prefix = ''): Promise<ApplyOutcome> => {
    log.error(o.kind === 'retry' ? 'transient failure: will be retried' : o.kind === 'error' ? 'internal error: not retried' : 'failed', { code: o.code, error: o.message });
    // The status says what happened now; a later successful retry overwrites it.
    await conclude(concluding(job.cluster, o, prefix)).catch((err: unknown) => log.error('could not report the failure on GitHub', { error: messageOf(err) }));
    return o;
  };

  /**
   * The apply's own first look at the rollout (most objects are healthy at once), then
   * rollout.ts: the verdict now, or the progress and a scheduled health check that owns the
   * status from here.
   */
  const awaitHealth = async (r: ApplyResult, report: ClusterReport, reg: RegisteredCluster, c: Connection): Promise<ApplyOutcome> => {
    const s = session as GitHubSession;
    const first: HealthJob = {
      deliveryId: job.deliveryId, owner: job.owner, name: job.name, sha: job.sha, cluster: job.cluster,
      ...(job.installationId !== undefined ? { installationId: job.installationId } : {}),
      ...(job.checkRunId !== undefined ? { checkRunId: job.checkRunId } : {}),
      ...(deployment?.id !== undefined ? { deploymentId: deployment.id } : {}),
      // An inventory written before rollout tokens has none after a no-op run: the wait then
      // follows the commit alone.
      ...(r.rollout ? { rollout: r.rollout } : {}),
      startedAt: Date.parse(r.startedAt),
      timeoutAt: Date.now() + healthTimeoutMs(reg),
      check: 1,
      applied: describeApplied(report),
      ...(job.fleet ? { fleet: true as const } : {}),
    };
    const check = await checkRollout(c, {
      commit: job.sha,
      ...(r.rollout !== undefined ? { rollout: r.rollout } : {}),
      ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const o = await followRollout(
      {
        octokit: s.octokit, checkRuns: s.checkRuns, commit, cluster: job.cluster, log, apply: report,
        deployment: deployment ?? trackDeployment(s.octokit, commit, undefined, log),
        invoker: deps.invoker,
        ...(deps.targetUrl ? { targetUrl: deps.targetUrl } : {}),
        ...(deps.healthIntervalMs !== undefined ? { intervalMs: deps.healthIntervalMs } : {}),
      },
      first,
      check,
    );
    log.info('first health check', { outcome: o.kind });
    switch (o.kind) {
      case 'healthy':
        return { kind: 'applied', counts: r.counts, reported: true };
      case 'waiting':
        return { kind: 'rolling-out', counts: r.counts, delayMs: o.delayMs };
      case 'unhealthy':
        return { kind: 'unhealthy', counts: r.counts, description: o.description };
      case 'superseded':
        return { kind: 'superseded', by: o.by };
      default:
        return o;
    }
  };

  try {
    session = await deps.github({ deliveryId: job.deliveryId, installationId: job.installationId });
    // A fleet push: only bad news on this cluster's context reaches GitHub (fleet.ts).
    if (job.fleet) session = fleetSession(session, job.cluster);
    const { octokit } = session;
    const reg = await getCluster(deps.store, job.cluster);
    if (!reg) {
      log.warn('cluster is no longer registered');
      await conclude({ state: 'failure', description: `cluster ${job.cluster} is not registered (removed after the push?)` });
      return { kind: 'unregistered' };
    }
    // Sync leaves such clusters out; this catches a registration changed since the push.
    if (job.mode === 'plan' && reg.plans === false) {
      log.info('plans are off for this cluster: not planned');
      await conclude({ state: 'success', description: 'not planned: plans are turned off for this cluster', conclusion: 'skipped' });
      return { kind: 'plans-off' };
    }
    // The files, or what kustomize renders from them (a kustomization in the dir).
    const policy = await readPolicy(octokit, {
      owner: job.owner, repo: job.name, commit: job.sha, dir: reg.dir, sourceFormat: reg.sourceFormat,
      ...(deps.blobCache ? { cache: deps.blobCache } : {}),
      ...(deps.renderCache ? { renderCache: deps.renderCache } : {}),
      helmRepos: () => getHelmRepos(deps.store),
      ...(job.delta ? { delta: job.delta } : {}),
      // The handler's backstop: a GitHub read that hangs past the deadline is given up.
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const compiled = policy.errors.length > 0 ? { errors: policy.errors, objects: [] } : compile(policy.files, { sourceFormat: policy.sourceFormat, clusterName: reg.name, policyDir: policy.prefix });
    if (compiled.errors.length > 0) {
      const first = compiled.errors[0];
      log.warn('commit does not validate for this cluster', { errors: compiled.errors.length });
      await conclude({ state: 'failure', description: `not applied: ${compiled.errors.length} validation error(s) for this cluster, e.g. ${first?.code} ${first?.path ?? ''}` });
      return { kind: 'invalid', errors: compiled.errors.length };
    }
    // Nothing is started that the function's time cannot see through to a report.
    if (isPastDeadline(options)) return await unfinished(deadlineReached(`no time left to ${job.mode} before the function's timeout`));
    // The Environments page: the commit, valid for this cluster, is on its way there (best
    // effort, never throws). A resync opens one only if it has to change something (below).
    if (job.mode === 'apply' && !job.quiet && !job.fleet) {
      deployment = trackDeployment(octokit, commit, await openDeployment(octokit, commit, reg, log, deps.targetUrl), log, deps.targetUrl);
      await deployment.set('in_progress', `applying ${job.sha.slice(0, 7)} to ${job.cluster}`);
    }
    const objects = compiled.objects.map((d) => d.obj);
    conn = await connect(reg.kubeconfig, { ...(reg.context ? { context: reg.context } : {}), cluster: reg.name, policy: credentialPolicy(reg), ...(deps.clusterCache ? { cache: deps.clusterCache } : {}) });
    const bounds = { ...(options.deadline !== undefined ? { deadline: options.deadline } : {}), ...(options.signal ? { signal: options.signal } : {}) };

    if (job.mode === 'plan') {
      const r = await plan(conn, objects, bounds);
      if (r.error?.retryable || isPastDeadline(options)) return await unfinished(stopped(r.error, options));
      await reportCluster(octokit, commit, { cluster: job.cluster, mode: 'plan', ...r }, reportOptions(session));
      log.info('planned', { counts: r.counts, ...(r.error ? { error: r.error.message } : {}) });
      // A plan refused as a whole (the safety rule, a cycle) was reported as such: a failure.
      return r.error ? { kind: 'failed', code: r.error.code, message: r.error.message } : { kind: 'planned', counts: r.counts };
    }

    const r = await apply(conn, objects, {
      commit: job.sha,
      isAncestor: knowing(job, (ancestor, descendant) => isAncestor(octokit, { owner: job.owner, repo: job.name, ancestor, descendant })),
      ...bounds,
    });
    log.info('applied', { status: r.status, counts: r.counts, durationMs: Math.round(r.durationMs) });
    if (r.status === 'failed' && (r.error?.retryable || isPastDeadline(options))) return await unfinished(stopped(r.error, options));
    const changed = r.counts.created + r.counts.configured + r.counts.pruned + r.counts.failed > 0;
    const reported = !(job.quiet && r.status === 'applied' && !changed);
    if (!reported) return outcomeOf(r.status, r, false);
    // A resync that had to correct drift deployed again: the environment shows it.
    if (job.quiet && r.status !== 'superseded') {
      const id = await openDeployment(octokit, commit, reg, log, deps.targetUrl);
      deployment = trackDeployment(octokit, commit, id, log, deps.targetUrl);
      await deployment.set('in_progress', `correcting drift on ${job.cluster}`);
    }
    const report: ClusterReport = { cluster: job.cluster, mode: 'apply', ...r };
    if (r.status === 'applied' && healthTimeoutMs(reg) > 0) {
      return await awaitHealth(r, report, reg, conn);
    }
    await reportCluster(octokit, commit, report, reportOptions(session));
    await deployment?.set(r.status === 'applied' ? 'success' : r.status === 'superseded' ? 'inactive' : 'failure', r.status === 'superseded' ? `superseded by ${(r.supersededBy ?? '').slice(0, 7)}` : `${r.status}: ${job.sha.slice(0, 7)}`);
    return outcomeOf(r.status, r, true);
  } catch (e) {
    // Aborted by the deadline's backstop: whatever the aborted call threw, it is the deadline.
    return await unfinished(options.signal?.aborted ? deadlineReached(`stopped before the function's timeout: ${messageOf(e)}`) : fromThrown(e));
  } finally {
    // Each connection holds a keep-alive agent: a warm Lambda or `serve` would collect them.
    conn?.close();
  }
}

/** Why a run stopped short and will be retried: the deadline, or the engine's own retryable error. */
function stopped(error: { readonly code: string; readonly message: string } | undefined, options: JobOptions): Unfinished {
  if (error?.code === Codes.deadline || isPastDeadline(options)) return deadlineReached(error?.message ?? 'stopped before the function\'s timeout');
  return { kind: 'retry', code: error?.code ?? 'SYNC_TRANSIENT', message: error?.message ?? 'the run stopped short' };
}

function outcomeOf(status: RunStatus, r: { readonly counts: Counts; readonly supersededBy?: string; readonly error?: { readonly code: string; readonly message: string } }, reported: boolean): ApplyOutcome {
  switch (status) {
    case 'applied':
      return { kind: 'applied', counts: r.counts, reported };
    case 'partial':
      return { kind: 'partial', counts: r.counts };
    case 'superseded':
      return { kind: 'superseded', by: r.supersededBy ?? '' };
    case 'failed':
      return { kind: 'failed', code: r.error?.code ?? 'SYNC_FAILED', message: r.error?.message ?? 'the apply failed' };
    default: {
      const never: never = status;
      throw new Error(`unknown run status ${String(never)}`);
    }
  }
}
