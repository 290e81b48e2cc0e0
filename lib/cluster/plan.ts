/**
 * What `apply` would do, without writing anything: the same survey (survey.ts: inventory,
 * live members, prune decisions, safety rule), then server-side-apply dry-runs where apply
 * would write; no lease and no inventory write. Used for pull-request previews, so a plan must
 * never change the cluster — not even by creating pushsync-system — and must not reveal Secret
 * values (secrets.ts).
 */
import type { KubeObject } from '../repo/index.ts';
import { ObjectClient } from './client.ts';
import type { Connection } from './connect.ts';
import { anySignal, deadlineError, runClock } from './deadline.ts';
import { Codes, toErrorInfo } from './errors.ts';
import { DEFAULT_INVENTORY, inventoryRef } from './inventory.ts';
import { mapLimit } from './pool.ts';
import { planOne } from './reconcile.ts';
import { countBy, entryFor, PLAN_ACTIONS } from './result.ts';
import type { PlanEntry, PlanResult } from './result.ts';
import type { RetryOptions } from './retry.ts';
import { declare, survey } from './survey.ts';

export interface PlanOptions {
  readonly inventory?: string;
  readonly concurrency?: number;
  readonly allowDeleteAll?: boolean;
  readonly signal?: AbortSignal;
  /** Epoch ms by which plan() returns: it stops starting dry-runs shortly before and says how far it got. */
  readonly deadline?: number;
  readonly retry?: Partial<RetryOptions>;
}

export async function plan(conn: Connection, objects: readonly KubeObject[], opts: PlanOptions = {}): Promise<PlanResult> {
  const t0 = performance.now();
  const ref = inventoryRef(opts.inventory ?? DEFAULT_INVENTORY);
  const clock = runClock(opts.deadline);
  const signal = anySignal(opts.signal, clock.signal);
  const client = new ObjectClient(conn.http, { ...(opts.retry ? { retry: opts.retry } : {}), ...(signal ? { signal } : {}) });
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const entries: PlanEntry[] = [];
  let planned = 0;
  /** Some object was not planned because of the deadline. */
  let cut = false;
  let total = objects.length;
  const done = (extra: Partial<PlanResult> = {}): PlanResult => ({
    inventory: ref,
    objects: entries,
    counts: countBy(PLAN_ACTIONS, entries),
    durationMs: Math.round(performance.now() - t0),
    ...extra,
  });

  try {
    const declared = await declare(client, objects, ref, conn.cache);
    total = declared.work.items.length;
    entries.push(...declared.failed);
    const found = await survey(client, declared, { allowDeleteAll: opts.allowDeleteAll ?? false });
    // A plan names no commit, so the survey never finds it superseded.
    if (found.kind === 'superseded') return done();

    const creating = new Set<string>();
    for (const wave of declared.work.waves) {
      const results = await mapLimit(wave, concurrency, async (item): Promise<PlanEntry> => {
        if (clock.reached()) {
          cut = true;
          return { ...entryFor(item.id), action: 'failed', error: { code: Codes.deadline, message: 'not planned: stopped before the deadline', retryable: true } };
        }
        const entry = await planOne(client, item, found.liveByKey.get(item.key)?.live, { creating });
        if (entry.action !== 'failed') {
          planned++;
          return entry;
        }
        // A request cut off by the deadline fails as transient; the cluster's own refusals stay as they are.
        if (!clock.reached() || entry.error?.code !== Codes.transient) return entry;
        cut = true;
        return { ...entry, error: { code: Codes.deadline, message: `aborted at the deadline: ${entry.error?.message ?? ''}`, retryable: true } };
      });
      wave.forEach((item, i) => {
        if (results[i]?.action === 'create') creating.add(item.key);
      });
      entries.push(...results);
    }

    for (const d of found.decisions) {
      const base = entryFor(d.member.id);
      entries.push(d.verdict === 'delete' ? { ...base, action: 'prune' } : { ...base, action: 'skipped', reason: d.reason as string });
    }
    entries.push(...found.skipped);
    if (cut) return done({ error: deadlineError(planned, total, 'planned') });
    return done(found.refusal ? { error: found.refusal } : {});
  } catch (e) {
    return done({ error: clock.reached() ? deadlineError(planned, total, 'planned') : toErrorInfo(e) });
  } finally {
    clock.dispose();
  }
}
