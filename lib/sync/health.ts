/**
 * The health job: one look at one cluster's rollout of one commit, scheduled by the apply job
 * (or by the previous look) as a delayed invocation. It reads the cluster — the inventory says
 * whether this rollout is still the cluster's, the members say how healthy they are — and
 * rollout.ts decides: a final `pushsync/<cluster>` (and Deployment) verdict, or the progress
 * and the next look. Idempotent (it only reads the cluster), bounded (a few requests, within
 * the invocation's deadline), and like every job it returns an outcome and never throws.
 */
import { checkRollout, connect, type Connection } from '../cluster/index.ts';
import { concludeContext, type CommitRef, type ContextConclusion } from '../github/index.ts';
import { toPayload, type HealthJob } from '../jobs.ts';
import { credentialPolicy, getCluster } from '../registry/index.ts';
import type { GitHubSession, SyncDeps } from './deps.ts';
import { trackDeployment } from './deployment.ts';
import { messageOf } from './errors.ts';
import { fleetSession } from './fleet.ts';
import { concluding, fromThrown, type JobOptions, type Unfinished } from './outcome.ts';
import { followRollout, nextDelay, type RolloutOutcome } from './rollout.ts';

/** How long past the health timeout transient failures are still looked at again before the check gives up. */
export const RETRY_GRACE_MS = 120_000;

export type HealthOutcome = RolloutOutcome | { readonly kind: 'unregistered' };

/**
 * What one look may take, whatever the function's timeout: a look is a few reads, and one that
 * cannot finish in this time is better retried as a new look than left running (Lambda bills it).
 */
export const CHECK_BUDGET_MS = 20_000;

export async function runHealthCheck(job: HealthJob, deps: SyncDeps, given: JobOptions = {}): Promise<HealthOutcome> {
  const budget = Date.now() + CHECK_BUDGET_MS;
  const options: JobOptions = { ...given, deadline: Math.min(given.deadline ?? budget, budget) };
  const log = deps.logger.child({ deliveryId: job.deliveryId, repo: `${job.owner}/${job.name}`, commit: job.sha, cluster: job.cluster, check: job.check });
  const commit: CommitRef = { owner: job.owner, repo: job.name, sha: job.sha };
  let session: GitHubSession | undefined;
  let conn: Connection | undefined;
  const reportOptions = (s: GitHubSession) => ({
    checkRuns: s.checkRuns,
    ...(deps.targetUrl ? { targetUrl: deps.targetUrl } : {}),
    ...(job.checkRunId !== undefined ? { checkRunId: job.checkRunId } : {}),
  });
  const conclude = async (c: Omit<ContextConclusion, 'name'>): Promise<void> => {
    if (session === undefined) return;
    await concludeContext(session.octokit, commit, { name: job.cluster, ...c }, reportOptions(session));
    await trackDeployment(session.octokit, commit, job.deploymentId, log, deps.targetUrl).set(c.state === 'success' ? 'success' : c.state === 'failure' ? 'failure' : 'error', c.description);
  };
  const unfinished = async (o: Unfinished): Promise<HealthOutcome> => {
    // A transient failure (GitHub or the cluster briefly away) is looked at again later, as a
    // check of its own: an invocation retried to exhaustion would leave the status pending.
    if (o.kind === 'retry' && Date.now() < job.timeoutAt + RETRY_GRACE_MS) {
      log.warn('health check failed: will look again', { code: o.code, error: o.message });
      const delayMs = nextDelay(job.check, deps.healthIntervalMs);
      try {
        await deps.invoker.invoke('health', toPayload({ ...job, check: job.check + 1 }), { delayMs });
        return { kind: 'waiting', check: job.check + 1, delayMs };
      } catch (e) {
        // Nothing could be scheduled: the invocation's own retry is the last resort.
        log.error('could not schedule the next health check', { error: messageOf(e) });
        return o;
      }
    }
    log.error('health check failed', { code: o.code, error: o.message });
    await conclude(o.kind === 'retry' ? { state: 'error', description: `health check failed until past the timeout: ${o.message}` } : concluding(job.cluster, o, 'health check: ')).catch((e: unknown) =>
      log.error('could not report the failure on GitHub', { error: messageOf(e) }),
    );
    return o.kind === 'retry' ? { kind: 'failed', code: o.code, message: o.message } : o;
  };

  try {
    session = await deps.github({ deliveryId: job.deliveryId, installationId: job.installationId });
    if (job.fleet) session = fleetSession(session, job.cluster);
    const reg = await getCluster(deps.store, job.cluster);
    if (!reg) {
      log.warn('cluster is no longer registered: the rollout is not followed');
      await conclude({ state: 'failure', description: `cluster ${job.cluster} is not registered (removed during the rollout?)` });
      return { kind: 'unregistered' };
    }
    conn = await connect(reg.kubeconfig, { ...(reg.context ? { context: reg.context } : {}), cluster: reg.name, policy: credentialPolicy(reg) });
    const check = await checkRollout(conn, {
      commit: job.sha,
      ...(job.rollout !== undefined ? { rollout: job.rollout } : {}),
      ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const outcome = await followRollout(
      {
        octokit: session.octokit, checkRuns: session.checkRuns, commit, cluster: job.cluster, log,
        deployment: trackDeployment(session.octokit, commit, job.deploymentId, log, deps.targetUrl),
        invoker: deps.invoker,
        ...(deps.targetUrl ? { targetUrl: deps.targetUrl } : {}),
        ...(deps.healthIntervalMs !== undefined ? { intervalMs: deps.healthIntervalMs } : {}),
      },
      job,
      check,
    );
    log.info('health checked', { outcome: outcome.kind, ...(check.kind === 'checked' ? { counts: check.counts } : {}) });
    return outcome;
  } catch (e) {
    return await unfinished(fromThrown(e));
  } finally {
    conn?.close();
  }
}
