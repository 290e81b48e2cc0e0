/**
 * What happens after one look at a rollout (design.md "Green means running"), the same for the
 * apply job's first look and every follow-up health check: one code path decides between the
 * final verdict (healthy, failed, timed out, superseded) and "still rolling out", which posts
 * the progress when it changed and schedules the next check as a delayed invocation. Nothing
 * here waits: a check is a few reads and at most three writes, then the function returns.
 *
 *   followRollout(ctx, job, check) → RolloutOutcome    (job: the chain's state, check: checkRollout's answer)
 *   nextDelay(check, intervalMs)   → ms until the next check: 1 s, 2 s, 3 s, … up to the interval
 */
import type { Octokit } from '@octokit/rest';
import type { RolloutCheck } from '../cluster/index.ts';
import { concludeContext, describeRollout, reportRollout, reportRolloutProgress, type ClusterReport, type CommitRef, type RolloutReport, type RolloutVerdict } from '../github/index.ts';
import type { Invoker } from '../fanout/index.ts';
import { toPayload, type HealthJob } from '../jobs.ts';
import type { Logger } from '../log.ts';
import type { DeploymentTracker } from './deployment.ts';
import type { Unfinished } from './outcome.ts';

export const HEALTH_DEFAULTS = {
  /** The longest gap between two checks: a failure is seen at most this long after it happens. */
  intervalMs: 10_000,
  /**
   * The first follow-up: most small rollouts are done within seconds of the apply, and a look
   * costs a few requests (on Lambda ~0.1 s billed), so the first looks come quickly.
   */
  firstDelayMs: 1_000,
} as const;

/**
 * Delay before check number `check + 1`: growing by the first delay each time (1 s, 2 s, 3 s, …)
 * up to the interval. Linear, not doubling: a rollout that ends a moment after a look waits at
 * most one step for the next, and a few seconds' rollout is seen within a second or two of its
 * end, for a handful of looks more over a long one (a 2-minute rollout: 17 looks, not 14).
 */
export function nextDelay(check: number, intervalMs: number = HEALTH_DEFAULTS.intervalMs): number {
  const first = Math.min(HEALTH_DEFAULTS.firstDelayMs, intervalMs);
  return Math.min(intervalMs, first * Math.max(1, check));
}

export type RolloutOutcome =
  /** Every object Current: `pushsync/<cluster>` success. */
  | { readonly kind: 'healthy'; readonly seconds: number }
  /** An object Failed, or the health timeout passed: `failure`, naming what. */
  | { readonly kind: 'unhealthy'; readonly why: 'failed' | 'timeout'; readonly description: string }
  /** Another apply took the cluster since (`sameCommit`: a newer apply of this same commit, which owns the context now). */
  | { readonly kind: 'superseded'; readonly by: string; readonly sameCommit: boolean }
  /** Still rolling out: check number `check + 1` is scheduled in `delayMs`. */
  | { readonly kind: 'waiting'; readonly check: number; readonly delayMs: number }
  | Unfinished;

export interface RolloutContext {
  readonly octokit: Octokit;
  readonly checkRuns: boolean;
  readonly commit: CommitRef;
  readonly cluster: string;
  readonly targetUrl?: string;
  readonly log: Logger;
  readonly deployment: DeploymentTracker;
  readonly invoker: Invoker;
  readonly intervalMs?: number;
  /** The apply's own report, when the apply job itself looks first (its details go in the check run). */
  readonly apply?: ClusterReport;
}

const short = (sha: string): string => sha.slice(0, 7);

/** `5m`, `90s`: the timeout as people set it. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s % 60 === 0 && s >= 60 ? `${s / 60}m` : `${s}s`;
}

export async function followRollout(ctx: RolloutContext, job: HealthJob, check: RolloutCheck, now = Date.now()): Promise<RolloutOutcome> {
  const options = { checkRuns: ctx.checkRuns, ...(ctx.targetUrl ? { targetUrl: ctx.targetUrl } : {}), ...(job.checkRunId !== undefined ? { checkRunId: job.checkRunId } : {}) };
  const base = { cluster: ctx.cluster, applied: job.applied, ...(ctx.apply ? { apply: ctx.apply } : {}) };
  const final = async (objects: RolloutReport['objects'], verdict: RolloutVerdict): Promise<void> => {
    await reportRollout(ctx.octokit, ctx.commit, { ...base, objects, verdict }, options);
  };

  if (check.kind === 'superseded') {
    ctx.log.info('rollout wait superseded', { by: check.by, sameCommit: check.sameCommit });
    // A newer apply of this same commit reports on this same context: writing here would race it.
    // Its Deployment too: the newer apply continues the same one (deployment.ts openDeployment).
    if (!check.sameCommit) {
      await final([], { kind: 'superseded', by: check.by });
      await ctx.deployment.set('inactive', `superseded by ${short(check.by)}`);
    }
    return { kind: 'superseded', by: check.by, sameCommit: check.sameCommit };
  }

  if (check.kind === 'error') {
    // A cluster that does not answer for a moment is looked at again, until the timeout.
    if (check.error.retryable && now < job.timeoutAt) return schedule(ctx, job, job.progress, now);
    const description = `${now >= job.timeoutAt ? `not healthy after ${formatDuration(job.timeoutAt - job.startedAt)}: ` : ''}health could not be read: ${check.error.message}`;
    await concludeContext(ctx.octokit, ctx.commit, { name: ctx.cluster, state: 'failure', description }, options);
    await ctx.deployment.set('failure', description);
    return { kind: 'unhealthy', why: now >= job.timeoutAt ? 'timeout' : 'failed', description };
  }

  if (check.state === 'healthy') {
    const seconds = Math.max(0, Math.round((now - job.startedAt) / 1000));
    const verdict = { kind: 'healthy', seconds } as const;
    await final(check.objects, verdict);
    await ctx.deployment.set('success', describeRollout({ ...base, objects: check.objects, verdict }));
    return { kind: 'healthy', seconds };
  }

  if (check.state === 'failed' && check.failed) {
    const report = { ...base, objects: check.objects, verdict: { kind: 'failed', failed: check.failed } } as const;
    await final(check.objects, report.verdict);
    const description = describeRollout(report);
    await ctx.deployment.set('failure', description);
    return { kind: 'unhealthy', why: 'failed', description };
  }

  if (now >= job.timeoutAt) {
    const report = { ...base, objects: check.objects, verdict: { kind: 'timeout', timeoutSeconds: Math.round((job.timeoutAt - job.startedAt) / 1000) } } as const;
    await final(check.objects, report.verdict);
    const description = describeRollout(report);
    await ctx.deployment.set('failure', description);
    return { kind: 'unhealthy', why: 'timeout', description };
  }

  // Still rolling out: the status follows the progress, written only when its text changed
  // (a fleet's checks must not spend GitHub's rate limit repeating themselves).
  const progress = describeRollout({ ...base, objects: check.objects });
  if (progress !== job.progress) await reportRolloutProgress(ctx.octokit, ctx.commit, { ...base, objects: check.objects }, options);
  return schedule(ctx, job, progress, now);
}

async function schedule(ctx: RolloutContext, job: HealthJob, progress: string | undefined, now: number): Promise<RolloutOutcome> {
  // Never later than the timeout (plus a moment, so the check that sees it past is the last).
  const delayMs = Math.max(0, Math.min(nextDelay(job.check, ctx.intervalMs), job.timeoutAt - now + 500));
  const next: HealthJob = { ...job, check: job.check + 1, ...(progress !== undefined ? { progress } : {}) };
  await ctx.invoker.invoke('health', toPayload(next), { delayMs });
  ctx.log.debug('next health check scheduled', { check: next.check, delayMs });
  return { kind: 'waiting', check: next.check, delayMs };
}
