/**
 * The jobs the functions run (design.md "Data flow"):
 *
 *   runSync(pushJob, deps)     → vet, `pushsync/vet`, pending + one apply job per cluster
 *   runApply(applyJob, deps)   → hydrate, apply or plan, `pushsync/<cluster>`
 *   runResync(deps, {runId})   → one quiet apply job per registered cluster, at its branch head
 *   registerHandlers(invoker)  → wires sync/apply into an in-process fan-out
 */
export { runSync } from './sync.ts';
export type { SyncOutcome } from './sync.ts';
export { runApply } from './apply.ts';
export type { ApplyOutcome } from './apply.ts';
export { runResync } from './resync.ts';
export type { ResyncOptions } from './resync.ts';
export { githubFromStore } from './deps.ts';
export type { SyncDeps, GitHubSession, GitHubFactoryOptions } from './deps.ts';
export { parseApplyJob, parsePushJob, toPayload } from './jobs.ts';
export type { ApplyJob, PushJob } from './jobs.ts';
export { SyncError, isRetryable } from './errors.ts';
export { handlersFor } from './handlers.ts';
