/**
 * What leaves the cluster, and how safely.
 *
 * Only live members of our ApplySet are candidates (never an object without our part-of
 * label). A member the commit no longer declares is deleted, with a UID precondition so a
 * recreated namesake survives; NotFound counts as done. Members that must stay are abandoned
 * instead (our metadata stripped, so they leave the set): objects declared with
 * `managed: disabled`, objects marked `deletion: detach` / `on-remove: keep` or
 * `managed: disabled` on the cluster, and the protected namespaces. Deletion runs in the
 * reverse of the apply order: namespaced objects, cluster-scoped ones, Namespaces, CRDs.
 */
import { checkDeletionSafety } from '../repo/safety.ts';
import type { ObjectClient } from './client.ts';
import { ApiError, Codes, toErrorInfo } from './errors.ts';
import type { ErrorInfo } from './errors.ts';
import type { LiveMember } from './live.ts';
import { isDetachOnRemove, hasManagementDisabled, NEVER_DELETED_NAMESPACES, stripOps } from './metadata.ts';
import { compareForPrune, sortIntoWaves } from './order.ts';
import { mapLimit } from './pool.ts';
import { entryFor } from './result.ts';
import type { ObjectResult } from './result.ts';

export interface PruneDecision {
  readonly member: LiveMember;
  readonly verdict: 'delete' | 'abandon' | 'keep';
  readonly reason?: string;
}

export interface PrunePlanInput {
  readonly members: readonly LiveMember[];
  readonly declaredKeys: ReadonlySet<string>;
  readonly disabledKeys: ReadonlySet<string>;
  /** Namespaces that hold objects of this commit (a Namespace among them is never deleted). */
  readonly usedNamespaces: ReadonlySet<string>;
}

/** Decide, for every live member the commit does not (actively) declare, what happens to it. */
export function planPrune(input: PrunePlanInput): PruneDecision[] {
  const out: PruneDecision[] = [];
  for (const member of input.members) {
    const { live, id, key } = member;
    if (input.disabledKeys.has(key)) {
      out.push({ member, verdict: 'abandon', reason: 'declared with configmanagement.gke.io/managed: disabled: left alone, removed from the inventory' });
      continue;
    }
    if (input.declaredKeys.has(key)) continue;
    const isNamespace = id.kind === 'Namespace' && id.group === '';
    if (isDetachOnRemove(live)) {
      out.push({ member, verdict: 'abandon', reason: 'removed from Git; kept on the cluster (deletion: detach)' });
    } else if (hasManagementDisabled(live)) {
      out.push({ member, verdict: 'abandon', reason: 'removed from Git; kept on the cluster (managed: disabled on the cluster)' });
    } else if (isNamespace && NEVER_DELETED_NAMESPACES.has(id.name)) {
      out.push({ member, verdict: 'abandon', reason: `removed from Git; namespace ${id.name} is never deleted` });
    } else if (isNamespace && input.usedNamespaces.has(id.name)) {
      out.push({ member, verdict: 'keep', reason: 'removed from Git but still holds objects of this commit: not deleted' });
    } else if (live.metadata.deletionTimestamp) {
      out.push({ member, verdict: 'keep', reason: 'already being deleted (waiting for finalizers)' });
    } else {
      out.push({ member, verdict: 'delete' });
    }
  }
  return out;
}

/**
 * The mass-deletion safety rule (repo-format §6.4, KNV2006): refuse a commit that would
 * delete every managed Namespace when there were two or more, or every managed object.
 * `allowDeleteAll` is the repo's explicit opt-in.
 */
/**
 * The repo engine's KNV2006 rule (one rule, lib/repo/safety.ts), judged on what would really be
 * deleted: the managed objects before this run against those that survive its prune (detached
 * and opted-out objects survive, so they never trip it).
 */
export function checkDeleteAll(members: readonly LiveMember[], decisions: readonly PruneDecision[], allowDeleteAll: boolean): ErrorInfo | undefined {
  const deleting = new Set(decisions.filter((d) => d.verdict === 'delete').map((d) => d.member.key));
  const active = members.filter((m) => !m.live.metadata.deletionTimestamp);
  const surviving = active.filter((m) => !deleting.has(m.key));
  const refusal = checkDeletionSafety(active.map((m) => m.id), surviving.map((m) => m.id), { allowDeleteAll });
  return refusal ? { code: Codes.deleteAll, message: refusal.message } : undefined;
}

export interface PruneOutcome {
  readonly key: string;
  readonly result: ObjectResult;
  /** Still on the cluster with our label afterwards (keeps its place in the inventory). */
  readonly remains: boolean;
  /** Something was written (deleted, or our metadata stripped). */
  readonly changed: boolean;
}

export async function executePrune(client: ObjectClient, decisions: readonly PruneDecision[], concurrency: number): Promise<PruneOutcome[]> {
  const out: PruneOutcome[] = [];
  for (const d of decisions) {
    if (d.verdict === 'keep') {
      out.push({ key: d.member.key, result: { ...entryFor(d.member.id), action: 'skipped', reason: d.reason as string }, remains: true, changed: false });
    }
  }
  const abandon = decisions.filter((d) => d.verdict === 'abandon');
  out.push(...(await mapLimit(abandon, concurrency, (d) => abandonOne(client, d))));

  const toDelete = decisions.filter((d) => d.verdict === 'delete');
  const waves = sortIntoWaves(toDelete.map((d) => ({ id: d.member.id, namespaced: d.member.mapping.namespaced, deps: [], d }))).reverse();
  for (const wave of waves) {
    const ordered = [...wave].sort((a, b) => compareForPrune(a.id, b.id));
    out.push(...(await mapLimit(ordered, concurrency, ({ d }) => deleteOne(client, d))));
  }
  return out;
}

async function deleteOne(client: ObjectClient, d: PruneDecision): Promise<PruneOutcome> {
  const { member } = d;
  const base = entryFor(member.id);
  const key = member.key;
  try {
    const r = await client.delete(member.mapping, member.id.namespace, member.id.name, member.live.metadata.uid);
    if (r === 'replaced') {
      const reason = 'replaced by a new object with the same name since it was listed: not deleted';
      return { key, result: { ...base, action: 'skipped', reason }, remains: false, changed: false };
    }
    return { key, result: { ...base, action: 'pruned', ...(r === 'gone' ? { reason: 'already gone' } : {}) }, remains: false, changed: r === 'deleted' };
  } catch (e) {
    return { key, result: { ...base, action: 'failed', error: toErrorInfo(e) }, remains: true, changed: false };
  }
}

async function abandonOne(client: ObjectClient, d: PruneDecision): Promise<PruneOutcome> {
  const { member } = d;
  const key = member.key;
  const skipped: ObjectResult = { ...entryFor(member.id), action: 'skipped', reason: d.reason as string };
  const ops = stripOps(member.live);
  if (ops.length === 0) return { key, result: skipped, remains: false, changed: false };
  try {
    await client.jsonPatch(member.mapping, member.id.namespace, member.id.name, ops);
    return { key, result: skipped, remains: false, changed: true };
  } catch (e) {
    // 404: gone; 422 from the UID test: replaced by another object. Either way not ours any more.
    if (e instanceof ApiError && (e.status === 404 || e.status === 422)) return { key, result: skipped, remains: false, changed: false };
    return { key, result: { ...skipped, action: 'failed', error: toErrorInfo(e) }, remains: true, changed: false };
  }
}
