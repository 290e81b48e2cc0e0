/**
 * Is the commit running? One bounded look at every member of the ApplySet, judged by the pure
 * rules of health.ts: what a rollout wait (the health job, `pushsync apply --wait`) asks again
 * and again, and `pushsync status` once. Reads only; no lease (a wait must never hold up the
 * next apply).
 *
 *   checkRollout(conn, {commit, rollout}) → superseded | checked (state, objects, counts) | error
 *
 * The work per check is fixed: the inventory parent (one GET), discovery (two), one
 * label-selected LIST per group-kind the inventory records (the same reads an apply's survey
 * makes) and, only for workloads that are not Current, one LIST of their pods to say why (at
 * most MAX_CAUSES of them, a few at a time). Everything it cannot do is a value: an unreachable
 * API server, a 403, the deadline.
 */
import { ObjectClient } from './client.ts';
import type { Connection } from './connect.ts';
import { anySignal } from './deadline.ts';
import { Discovery } from './discovery.ts';
import type { Mapping, SharedDiscovery } from './discovery.ts';
import { ApiError, ClusterError, Codes, toErrorInfo } from './errors.ts';
import type { ErrorInfo } from './errors.ts';
import { health, podCause } from './health.ts';
import type { Health, HealthStatus, PodCause } from './health.ts';
import { NetworkError } from './http.ts';
import { DEFAULT_INVENTORY, inventoryRef, readInventory } from './inventory.ts';
import { listMembers } from './live.ts';
import type { LiveMember } from './live.ts';
import { formatId } from './objects.ts';
import type { LiveObject } from './objects.ts';
import { compareForApply, phaseOf } from './order.ts';
import { mapLimit } from './pool.ts';
import type { RetryOptions } from './retry.ts';

export interface ObjectHealth {
  /** formatId, e.g. `Deployment.apps/onlineboutique/cartservice` (as ObjectResult.id). */
  readonly id: string;
  readonly group: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly health: Health;
  /** For a Deployment, ReplicaSet, StatefulSet or DaemonSet that is not Current: why its pods are not ready. */
  readonly cause?: PodCause;
}

export type RolloutState = 'healthy' | 'progressing' | 'failed';

export type RolloutCheck =
  /**
   * Another apply came after the one waited for: a newer commit (`sameCommit` false, `by` that
   * commit), or the same commit applied again (`sameCommit` true, `by` the commit).
   */
  | { readonly kind: 'superseded'; readonly by: string; readonly sameCommit: boolean }
  | {
      readonly kind: 'checked';
      /** The commit the inventory records as the last one applied. */
      readonly commit?: string;
      readonly state: RolloutState;
      /** Every member of the ApplySet, in apply order, then id. */
      readonly objects: readonly ObjectHealth[];
      /** The first Failed object (state 'failed'). */
      readonly failed?: ObjectHealth;
      readonly counts: Readonly<Record<HealthStatus, number>>;
    }
  /** Could not look: unreachable (retryable), 403, no inventory, the deadline (retryable). */
  | { readonly kind: 'error'; readonly error: ErrorInfo };

export interface RolloutOptions {
  /** Name of the ApplySet parent; default `pushsync`. */
  readonly inventory?: string;
  /** The commit waited for: superseded once the inventory's last commit is another. */
  readonly commit?: string;
  /** The rollout token its apply returned (ApplyResult.rollout): superseded once the inventory's differs. Absent or '' = not checked. */
  readonly rollout?: string;
  readonly signal?: AbortSignal;
  /** Epoch ms by which checkRollout returns (a retryable DEADLINE error when it cannot finish). */
  readonly deadline?: number;
  readonly retry?: Partial<RetryOptions>;
}

export const HEALTH_STATUSES: readonly HealthStatus[] = ['Current', 'InProgress', 'Failed', 'Terminating', 'NotFound'];

/** Workload kinds (group apps) whose pods can say why they are not ready. */
const WORKLOAD_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet']);
/** Pod lists per check at most: a rollout of hundreds of broken workloads needs only a few causes. */
const MAX_CAUSES = 20;
/** Requests in flight for pod lists (listMembers uses the same for its LISTs). */
const CONCURRENCY = 4;

const POD_MAPPING: Mapping = { group: '', version: 'v1', kind: 'Pod', resource: 'pods', namespaced: true };

export async function checkRollout(conn: Connection, opts: RolloutOptions = {}): Promise<RolloutCheck> {
  // No reserve before the deadline as apply() keeps one: a check writes nothing, so there is
  // nothing to finish after it stops.
  const timer = new AbortController();
  const timeout =
    opts.deadline === undefined
      ? undefined
      : setTimeout(() => timer.abort(new ClusterError(Codes.deadline, 'the health check stopped at its deadline', true)), Math.max(0, opts.deadline - Date.now()));
  const signal = anySignal(opts.signal, opts.deadline === undefined ? undefined : timer.signal);
  const client = new ObjectClient(conn.http, { ...(opts.retry ? { retry: opts.retry } : {}), ...(signal ? { signal } : {}) });
  try {
    return await check(client, opts, conn.cache);
  } catch (e) {
    if (timer.signal.aborted) return { kind: 'error', error: toErrorInfo(timer.signal.reason) };
    if (opts.signal?.aborted) return { kind: 'error', error: { code: Codes.transient, message: 'the health check was cancelled', retryable: true } };
    return { kind: 'error', error: errorOf(e) };
  } finally {
    clearTimeout(timeout);
  }
}

async function check(client: ObjectClient, opts: RolloutOptions, shared: SharedDiscovery | undefined): Promise<RolloutCheck> {
  const ref = inventoryRef(opts.inventory ?? DEFAULT_INVENTORY);
  const inv = await readInventory(client, ref);
  if (!inv.exists) {
    return { kind: 'error', error: { code: Codes.resource, message: `no pushsync inventory ${ref.namespace}/${ref.name} on the cluster: nothing to check` } };
  }
  if (opts.commit !== undefined && inv.lastCommit !== opts.commit) return { kind: 'superseded', by: inv.lastCommit ?? '', sameCommit: false };
  // A token is never empty: '' (as from `result.rollout ?? ''`) means none was known.
  if (opts.rollout && inv.rollout !== opts.rollout) return { kind: 'superseded', by: inv.lastCommit ?? opts.commit ?? '', sameCommit: true };

  const members = await listMembers(client, new Discovery(client, shared), ref.id, inv.groupKinds, new Map());
  const sorted = [...members].sort(applyOrder);
  const judged = sorted.map((m) => ({ member: m, health: health(m.live) }));
  const causes = await causesOf(client, judged);
  const objects: ObjectHealth[] = judged.map(({ member, health: h }, i) => {
    const cause = causes.get(i);
    return {
      id: formatId(member.id),
      group: member.id.group,
      kind: member.id.kind,
      ...(member.id.namespace ? { namespace: member.id.namespace } : {}),
      name: member.id.name,
      health: h,
      ...(cause ? { cause } : {}),
    };
  });
  const counts = Object.fromEntries(HEALTH_STATUSES.map((s) => [s, 0])) as Record<HealthStatus, number>;
  for (const o of objects) counts[o.health.status]++;
  const failed = objects.find((o) => o.health.status === 'Failed');
  return {
    kind: 'checked',
    ...(inv.lastCommit ? { commit: inv.lastCommit } : {}),
    state: rolloutState(counts),
    objects,
    ...(failed ? { failed } : {}),
    counts,
  };
}

/** Any Failed → failed; else anything not Current → progressing; else healthy. */
export function rolloutState(counts: Readonly<Record<HealthStatus, number>>): RolloutState {
  if (counts.Failed > 0) return 'failed';
  if (counts.InProgress + counts.Terminating + counts.NotFound > 0) return 'progressing';
  return 'healthy';
}

/** The order apply writes in (phase, then the fixed kind order, namespace, name), then id. */
function applyOrder(a: LiveMember, b: LiveMember): number {
  const pa = phaseOf({ id: a.id, namespaced: a.mapping.namespaced });
  const pb = phaseOf({ id: b.id, namespaced: b.mapping.namespaced });
  const ia = formatId(a.id);
  const ib = formatId(b.id);
  return pa - pb || compareForApply(a.id, b.id) || (ia < ib ? -1 : ia > ib ? 1 : 0);
}

const isWorkload = (m: LiveMember): boolean => m.id.group === 'apps' && WORKLOAD_KINDS.has(m.id.kind);

/**
 * The pod-level cause of each unhealthy workload, by index: Failed ones first (their cause
 * goes into the failure text), then the rest in order, at most MAX_CAUSES pod lists.
 */
async function causesOf(client: ObjectClient, judged: readonly { member: LiveMember; health: Health }[]): Promise<Map<number, PodCause>> {
  const wanted = judged
    .map((j, i) => ({ ...j, i }))
    .filter((j) => isWorkload(j.member) && j.health.status !== 'Current' && j.member.id.namespace !== undefined)
    .sort((a, b) => Number(b.health.status === 'Failed') - Number(a.health.status === 'Failed') || a.i - b.i)
    .slice(0, MAX_CAUSES);
  const found = await mapLimit(wanted, CONCURRENCY, async (j) => {
    const selector = selectorOf(j.member.live);
    if (selector === undefined) return undefined;
    try {
      const pods = await client.list(POD_MAPPING, selector, j.member.id.namespace);
      return podCause(pods.sort(newestFirst));
    } catch (e) {
      // Not allowed to list pods (or the namespace just went): the verdict stands without a cause.
      if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) return undefined;
      throw e;
    }
  });
  const out = new Map<number, PodCause>();
  wanted.forEach((j, k) => {
    const cause = found[k];
    if (cause) out.set(j.i, cause);
  });
  return out;
}

/** The pods of the newest rollout first: an old ReplicaSet's pods leaving are not the cause. */
function newestFirst(a: LiveObject, b: LiveObject): number {
  const ta = String((a.metadata as { creationTimestamp?: unknown }).creationTimestamp ?? '');
  const tb = String((b.metadata as { creationTimestamp?: unknown }).creationTimestamp ?? '');
  return ta < tb ? 1 : ta > tb ? -1 : a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] }[];
}

/**
 * `spec.selector` as a label-selector query string (the API's own syntax). Undefined for an
 * empty or unreadable selector: it would match every pod of the namespace, which says nothing.
 */
export function selectorOf(workload: LiveObject): string | undefined {
  const sel = (workload.spec as { selector?: LabelSelector } | undefined)?.selector;
  if (!sel || typeof sel !== 'object') return undefined;
  const parts: string[] = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(',')})`;
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in ${values}`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin ${values}`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
      default:
        return undefined;
    }
  }
  return parts.length > 0 ? parts.join(',') : undefined;
}

function errorOf(e: unknown): ErrorInfo {
  if (e instanceof NetworkError) return { code: Codes.transient, message: `API server unreachable: ${e.message}`, retryable: true };
  return toErrorInfo(e);
}
