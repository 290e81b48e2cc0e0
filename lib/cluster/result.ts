/**
 * What a run did, per object, as plain JSON-serialisable data. The commit status, the CLI
 * output and the inventory's summary are all views of these values.
 */
import type { ErrorInfo } from './errors.ts';
import type { Takeover } from './client.ts';
import { formatId } from './objects.ts';
import type { ObjectId } from './objects.ts';

/**
 * One word per action, everywhere (engine, CLI, statuses, check runs): kubectl's words, which
 * kubectl also uses for its dry-runs. An apply says what happened (`configured`), a plan the
 * same verb for what would (`configure`); never "updated" for one and "configured" for the other.
 */
export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'pruned' | 'skipped' | 'failed';
export const APPLY_ACTIONS: readonly ApplyAction[] = ['created', 'configured', 'unchanged', 'pruned', 'skipped', 'failed'];

export type PlanAction = 'create' | 'configure' | 'unchanged' | 'prune' | 'skipped' | 'failed';
export const PLAN_ACTIONS: readonly PlanAction[] = ['create', 'configure', 'unchanged', 'prune', 'skipped', 'failed'];

/**
 * The notes an apply and a plan attach to an object, written once so the two never drift.
 * Prune verdicts carry their own reasons (prune.ts `planPrune`, shared the same way).
 */
export const Reasons = {
  disabled: 'configmanagement.gke.io/managed: disabled',
  mutationIgnore: 'mutation: ignore',
  mutationIgnoreExists: 'mutation: ignore (exists; not updated)',
  /** Tense-neutral: true of the object a plan looks at and of the one an apply just took. */
  adopt: 'adopt: found without the ApplySet label',
  notValidated: {
    CustomResourceDefinition: 'not validated: its CustomResourceDefinition is created by this commit',
    Namespace: 'not validated: its Namespace is created by this commit',
  },
} as const;

interface EntryBase {
  /** `Deployment.apps/shop/web`. */
  readonly id: string;
  readonly group: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** Changed field paths, for configured/configure. */
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
  /**
   * The rollout token the run left on the inventory (applied or partial; kept from the previous
   * run when nothing changed): pass it to checkRollout, which reports the wait superseded once a
   * later apply, even of the same commit, has replaced it.
   */
  readonly rollout?: string;
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
