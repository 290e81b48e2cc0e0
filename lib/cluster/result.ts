/**
 * What a run did, per object, as plain JSON-serialisable data. The commit status, the CLI
 * output and the inventory's summary are all views of these values.
 */
import type { ErrorInfo } from './errors.ts';
import type { Takeover } from './client.ts';
import { formatId } from './objects.ts';
import type { ObjectId } from './objects.ts';

export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'pruned' | 'skipped' | 'failed';
export const APPLY_ACTIONS: readonly ApplyAction[] = ['created', 'configured', 'unchanged', 'pruned', 'skipped', 'failed'];

export type PlanAction = 'create' | 'update' | 'unchanged' | 'prune' | 'skipped' | 'failed';
export const PLAN_ACTIONS: readonly PlanAction[] = ['create', 'update', 'unchanged', 'prune', 'skipped', 'failed'];

interface EntryBase {
  /** `Deployment.apps/shop/web`. */
  readonly id: string;
  readonly group: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** Changed field paths, for configured/update. */
  readonly fields?: readonly string[];
  /** Fields another field manager owned and Git took over (force). */
  readonly takenOverFrom?: readonly Takeover[];
  /** Why an object was skipped, or a note (e.g. "adopted", "left alone: managed: disabled"). */
  readonly reason?: string;
  readonly error?: ErrorInfo;
}

export interface ObjectResult extends EntryBase {
  readonly action: ApplyAction;
}

export interface PlanEntry extends EntryBase {
  readonly action: PlanAction;
}

export type RunStatus =
  /** Every object applied and every prune done: the cluster matches the commit. */
  | 'applied'
  /** The run finished but some objects failed or were skipped because of a failure. */
  | 'partial'
  /** Nothing (or almost nothing) could be done: see `error`. */
  | 'failed'
  /** A newer commit is already applied: nothing was done. */
  | 'superseded';

export interface ApplyResult {
  readonly status: RunStatus;
  readonly commit: string;
  /** For `superseded`: the newer commit the cluster already has. */
  readonly supersededBy?: string;
  readonly inventory: { readonly namespace: string; readonly name: string; readonly id: string };
  readonly objects: readonly ObjectResult[];
  readonly counts: Readonly<Record<ApplyAction, number>>;
  readonly startedAt: string;
  readonly durationMs: number;
  /** A failure of the run as a whole (lease, safety rule, cycle, unreachable API server). */
  readonly error?: ErrorInfo;
}

export interface PlanResult {
  readonly inventory: { readonly namespace: string; readonly name: string; readonly id: string };
  readonly objects: readonly PlanEntry[];
  readonly counts: Readonly<Record<PlanAction, number>>;
  readonly durationMs: number;
  /** The apply would be refused as a whole (safety rule, cycle) or could not be planned. */
  readonly error?: ErrorInfo;
}

export function entryFor(id: ObjectId): Omit<EntryBase, 'fields' | 'takenOverFrom' | 'reason' | 'error'> {
  return {
    id: formatId(id),
    group: id.group,
    kind: id.kind,
    ...(id.namespace ? { namespace: id.namespace } : {}),
    name: id.name,
  };
}

export function countBy<A extends string>(actions: readonly A[], entries: readonly { action: A }[]): Record<A, number> {
  const counts = Object.fromEntries(actions.map((a) => [a, 0])) as Record<A, number>;
  for (const e of entries) counts[e.action]++;
  return counts;
}

/** Failures and skips caused by failures: what makes a run partial. */
export function hasErrors(entries: readonly { error?: ErrorInfo }[]): boolean {
  return entries.some((e) => e.error !== undefined);
}
