/**
 * What `apply` would do, without writing anything: server-side-apply dry-runs for the
 * objects, the same prune decisions and safety rule, no lease and no inventory write. Used
 * for pull-request previews, so a plan must never change the cluster — not even by creating
 * pushsync-system.
 */
import type { KubeObject } from '../repo/index.ts';
import { ObjectClient } from './client.ts';
import type { Connection } from './connect.ts';
import { Discovery } from './discovery.ts';
import { toErrorInfo } from './errors.ts';
import { DEFAULT_INVENTORY, inventoryRef, readInventory } from './inventory.ts';
import { listMembers } from './live.ts';
import { mapLimit } from './pool.ts';
import { prepare } from './prepare.ts';
import { checkDeleteAll, planPrune } from './prune.ts';
import { planOne } from './reconcile.ts';
import { countBy, entryFor, PLAN_ACTIONS } from './result.ts';
import type { PlanEntry, PlanResult } from './result.ts';
import type { RetryOptions } from './retry.ts';

export interface PlanOptions {
  readonly inventory?: string;
  readonly concurrency?: number;
  readonly allowDeleteAll?: boolean;
  readonly signal?: AbortSignal;
  readonly retry?: Partial<RetryOptions>;
}

export async function plan(conn: Connection, objects: readonly KubeObject[], opts: PlanOptions = {}): Promise<PlanResult> {
  const t0 = performance.now();
  const ref = inventoryRef(opts.inventory ?? DEFAULT_INVENTORY);
  const client = new ObjectClient(conn.http, { ...(opts.retry ? { retry: opts.retry } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const entries: PlanEntry[] = [];
  const done = (extra: Partial<PlanResult> = {}): PlanResult => ({
    inventory: ref,
    objects: entries,
    counts: countBy(PLAN_ACTIONS, entries),
    durationMs: Math.round(performance.now() - t0),
    ...extra,
  });

  try {
    const discovery = new Discovery(client);
    const prep = await prepare(discovery, objects, ref.id);
    for (const f of prep.failed) entries.push({ ...entryFor(f.id), action: 'failed', error: f.error });
    const prev = await readInventory(client, ref);
    const members = await listMembers(client, discovery, ref.id, [...prev.groupKinds, ...prep.listMappings.keys()], prep.listMappings);
    const liveByKey = new Map(members.map((m) => [m.key, m.live]));

    const creating = new Set<string>();
    for (const wave of prep.waves) {
      const planned = await mapLimit(wave, concurrency, (item) => planOne(client, item, liveByKey.get(item.key), { creating }));
      wave.forEach((item, i) => {
        if (planned[i]?.action === 'create') creating.add(item.key);
      });
      entries.push(...planned);
    }

    const decisions = planPrune({
      members,
      declaredKeys: prep.declaredKeys,
      disabledKeys: new Set(prep.disabled.map((d) => d.key)),
      usedNamespaces: prep.usedNamespaces,
    });
    for (const d of decisions) {
      const base = entryFor(d.member.id);
      entries.push(d.verdict === 'delete' ? { ...base, action: 'prune' } : { ...base, action: 'skipped', reason: d.reason as string });
    }
    const disabledLive = new Set(decisions.map((d) => d.member.key));
    for (const d of prep.disabled) {
      if (!disabledLive.has(d.key)) entries.push({ ...entryFor(d.id), action: 'skipped', reason: 'configmanagement.gke.io/managed: disabled' });
    }
    const refusal = checkDeleteAll(members, decisions, opts.allowDeleteAll ?? false);
    return done(refusal ? { error: refusal } : {});
  } catch (e) {
    return done({ error: toErrorInfo(e) });
  }
}
