/**
 * The jobs the functions run (design.md "Data flow"):
 *
 *   runSync(pushJob, deps, {deadline, signal})   → SyncOutcome: vet, `pushsync/vet`, pending + one apply job per cluster
 *   runApply(applyJob, deps, {deadline, signal}) → ApplyOutcome: hydrate, apply or plan, `pushsync/<cluster>`,
 *                                        the first look at the rollout (rollout.ts), the health check scheduled
 *   runHealthCheck(healthJob, deps, {…}) → HealthOutcome: one more look; the verdict, or the next check scheduled
 *   runResync(deps, {runId})            → one quiet apply job per registered cluster, at its branch head
 *   handlersFor(deps)                   → the sync/apply handlers: parse, run, throw only for a `retry` outcome
 *
 * The job payloads (PushJob, ApplyJob, parse*, toPayload) live in lib/jobs.ts, which the webhook
 * imports without this engine; they are re-exported here for the engine's callers.
 */
export { runSync } from './sync.ts';
export type { SyncOutcome } from './sync.ts';
export { runApply } from './apply.ts';
export type { ApplyOutcome } from './apply.ts';
export type { JobOptions, Retry, Failed, Bug, Unfinished } from './outcome.ts';
export { runHealthCheck, CHECK_BUDGET_MS, RETRY_GRACE_MS } from './health.ts';
export type { HealthOutcome } from './health.ts';
export { HEALTH_DEFAULTS, followRollout, nextDelay } from './rollout.ts';
export type { RolloutOutcome } from './rollout.ts';
export { runResync } from './resync.ts';
export type { ResyncOptions } from './resync.ts';
export { githubFromStore } from './deps.ts';
export type { SyncDeps, GitHubSession, GitHubFactoryOptions } from './deps.ts';
export { fromPush, parseApplyJob, parseHealthJob, parsePushJob, toPayload, JobPayloadError, BAD_PAYLOAD } from '../jobs.ts';
export type { ApplyJob, HealthJob, PushJob } from '../jobs.ts';
export { SyncError, isRetryable, classify, DEADLINE, INTERNAL_ERROR } from './errors.ts';
export type { Classified, FailureKind } from './errors.ts';
export { handlersFor, REPORT_MARGIN_MS, ABORT_GRACE_MS } from './handlers.ts';
export type { HandlerOutcome, JobHandler, Rejected } from './handlers.ts';
