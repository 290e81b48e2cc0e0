/**
 * Public surface of the cluster engine: make one cluster match the hydrated objects of one
 * commit (design.md "lib/cluster"; style.md "The apply engine").
 *
 *   connect(kubeconfig, {context, policy})  → Connection (HTTP to the API server, counted); the
 *                                              policy says whether insecure TLS or an exec plugin may be used
 *   plan(conn, objects, opts)               → PlanResult: create/configure(fields)/unchanged/prune; never writes
 *   apply(conn, objects, {commit, …})       → ApplyResult: per-object actions, counts, status
 *   status(conn, {inventory})               → what the cluster's inventory records
 *   checkRollout(conn, {commit, rollout})   → is it running: superseded | checked (state, per-object
 *                                              health, the first failure) | error; reads only
 */
export { ClusterCache } from './cache.ts';
export type { ClusterCacheOptions } from './cache.ts';
export { connect } from './connect.ts';
export type { Connection, ConnectOptions } from './connect.ts';
export { DEFAULT_EXEC_ALLOWLIST, EXEC_ALLOWLIST_ENV, STRICT_POLICY } from './kubeconfig-policy.ts';
export type { CredentialPolicy } from './kubeconfig-policy.ts';
export { apply, applyDefaults } from './apply.ts';
export type { ApplyOptions } from './apply.ts';
export { plan } from './plan.ts';
export type { PlanOptions } from './plan.ts';
export { status } from './status.ts';
export { Codes, ClusterError } from './errors.ts';
export type { ErrorCode, ErrorInfo } from './errors.ts';
export { DEFAULT_INVENTORY, INVENTORY_KEYS, SUMMARY_KEY, applysetId, inventoryRef } from './inventory.ts';
export type { ClusterStatus, InventoryRef, InventoryState, RunSummary } from './inventory.ts';
export { Keys, SYSTEM_NAMESPACE, TOOLING } from './metadata.ts';
export { FIELD_MANAGER } from './client.ts';
export type { Takeover } from './client.ts';
export { APPLY_ACTIONS, PLAN_ACTIONS } from './result.ts';
export type { ApplyAction, ApplyResult, ObjectResult, PlanAction, PlanEntry, PlanResult, RunStatus } from './result.ts';
export type { RequestStats } from './http.ts';
export { checkRollout, HEALTH_STATUSES } from './rollout.ts';
export { describeObjectHealth, describeProgress, renderHealthTable } from './rollout-text.ts';
export type { ObjectHealth, RolloutCheck, RolloutOptions, RolloutState } from './rollout.ts';
export { formatPodCause, health, HEALTH_ANNOTATION, HEALTH_IGNORE, podCause } from './health.ts';
export type { Health, HealthStatus, PodCause } from './health.ts';
