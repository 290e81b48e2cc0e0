/**
 * What a commit would do to a cluster, read but not acted on. Apply and plan both start here,
 * so they see the same objects, make the same prune decisions and explain them in the same
 * words; what differs is only what they do next (apply writes, plan dry-runs).
 *
 * Two halves, because apply must hold the Lease before it reads any state another apply
 * could be changing:
 *
 *   declare(client, objects, ref)   discovery + prepare → the work list. Reads only discovery,
 *                                   so apply does it before waiting for the Lease.
 *   survey(client, declared, opts)  inventory → never-backwards → live members → prune
 *                                   decisions → KNV2006 refusal → the skips known before
 *                                   anything runs.
 *
 * The reads overlap where nothing orders them: the declared kinds are LISTed while the
 * inventory is read (only kinds the inventory adds wait for it), and apply may hand in an
 * inventory read it started while waiting for the Lease (apply.ts checks it still holds).
 */
import type { KubeObject } from '../repo/index.ts';
import type { ObjectClient } from './client.ts';
import { Discovery } from './discovery.ts';
import type { SharedDiscovery } from './discovery.ts';
import type { ErrorInfo } from './errors.ts';
import { readInventory } from './inventory.ts';
import type { InventoryRef, InventoryState } from './inventory.ts';
import { listMembers } from './live.ts';
import type { LiveMember } from './live.ts';
import { groupKind } from './objects.ts';
import { prepare } from './prepare.ts';
import type { WorkList } from './prepare.ts';
import { checkDeleteAll, planPrune } from './prune.ts';
import type { PruneDecision } from './prune.ts';
import { entryFor, Reasons } from './result.ts';
import type { ObjectResult } from './result.ts';

export interface Declared {
  readonly ref: InventoryRef;
  readonly discovery: Discovery;
  readonly work: WorkList;
  /** Objects that failed before any request about them (bad identity, unknown kind, …). */
  readonly failed: readonly PresetEntry[];
}

/** An entry both an apply and a plan report as is (both unions have `skipped` and `failed`). */
export type PresetEntry = Omit<ObjectResult, 'action'> & { readonly action: 'skipped' | 'failed' };

export interface SurveyOptions {
  /** The repo's explicit opt-in to deleting every Namespace / every managed object. */
  readonly allowDeleteAll?: boolean;
  /** Apply only: the commit being applied and the ancestry oracle, to never go backwards. */
  readonly commit?: string;
  readonly isAncestor?: (ancestor: string, descendant: string) => Promise<boolean>;
  /** The inventory, already being read (apply reads it while acquiring the Lease). */
  readonly inventory?: Promise<InventoryState>;
}

export interface Surveyed {
  readonly kind: 'surveyed';
  readonly prev: InventoryState;
  readonly members: readonly LiveMember[];
  readonly liveByKey: ReadonlyMap<string, LiveMember>;
  /** What happens to every live member the commit does not (actively) declare. */
  readonly decisions: readonly PruneDecision[];
  /** Set when the commit must not be applied at all (KNV2006). */
  readonly refusal?: ErrorInfo;
  /** Objects declared `managed: disabled` that are not members (members are abandoned instead). */
  readonly skipped: readonly PresetEntry[];
}

export interface Superseded {
  readonly kind: 'superseded';
  readonly prev: InventoryState;
  /** The newer commit the cluster already has. */
  readonly by: string;
}

export type Survey = Surveyed | Superseded;

export async function declare(client: ObjectClient, objects: readonly KubeObject[], ref: InventoryRef, shared?: SharedDiscovery): Promise<Declared> {
  const discovery = new Discovery(client, shared);
  const work = await prepare(discovery, objects, ref.id);
  return { ref, discovery, work, failed: work.failed.map((f) => ({ ...entryFor(f.id), action: 'failed', error: f.error })) };
}

export async function survey(client: ObjectClient, declared: Declared, opts: SurveyOptions = {}): Promise<Survey> {
  const { ref, discovery, work } = declared;
  const declaredKinds = [...work.listMappings.keys()];
  // The declared kinds need no inventory to be listed: start them now.
  const listing = listMembers(client, discovery, ref.id, declaredKinds, work.listMappings);
  listing.catch(() => undefined);
  const prev = await (opts.inventory ?? readInventory(client, ref));

  if (opts.commit !== undefined && opts.isAncestor) {
    for (const newer of new Set([prev.lastCommit, prev.appliedCommit])) {
      if (newer && newer !== opts.commit && (await opts.isAncestor(opts.commit, newer))) return { kind: 'superseded', prev, by: newer };
    }
  }

  const more = prev.groupKinds.filter((gk) => !work.listMappings.has(gk));
  const [listed, extra] = await Promise.all([listing, more.length > 0 ? listMembers(client, discovery, ref.id, more, work.listMappings) : []]);
  // In group-kind order, as one listing would have returned them.
  const order = (m: LiveMember): string => groupKind(m.id);
  const members = [...listed, ...extra].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  const decisions = planPrune({
    members,
    declaredKeys: work.declaredKeys,
    disabledKeys: new Set(work.disabled.map((d) => d.key)),
    usedNamespaces: work.usedNamespaces,
  });
  const refusal = checkDeleteAll(members, decisions, opts.allowDeleteAll ?? false);
  const abandoned = new Set(decisions.map((d) => d.member.key));
  return {
    kind: 'surveyed',
    prev,
    members,
    liveByKey: new Map(members.map((m) => [m.key, m])),
    decisions,
    ...(refusal ? { refusal } : {}),
    skipped: work.disabled.filter((d) => !abandoned.has(d.key)).map((d) => ({ ...entryFor(d.id), action: 'skipped', reason: Reasons.disabled })),
  };
}
