/**
 * Make one cluster match one commit.
 *
 *   prepare (no writes) → lease → inventory read, never-backwards check → live members →
 *   prune plan + safety rule (still no writes) → inventory := old ∪ new → waves of
 *   server-side apply (CRDs Established before their CRs) → prune / abandon →
 *   inventory := exactly what exists → release the lease.
 *
 * Per-object failures are values in the result and the rest of the commit still applies.
 * The inventory is widened before any object is written and narrowed only to what is known
 * to be gone afterwards, so an object that exists on the cluster is never forgotten, even
 * when the run dies half-way.
 */
import type { KubeObject } from '../repo/index.ts';
import { ObjectClient } from './client.ts';
import type { Connection } from './connect.ts';
import { Discovery } from './discovery.ts';
import { ClusterError, Codes, toErrorInfo } from './errors.ts';
import type { ErrorInfo } from './errors.ts';
import { NetworkError } from './http.ts';
import { DEFAULT_INVENTORY, inventoryRef, readInventory, writeInventory } from './inventory.ts';
import type { InventoryState, RunSummary } from './inventory.ts';
import { acquireLease } from './lease.ts';
import type { HeldLease, LeaseOptions } from './lease.ts';
import { listMembers } from './live.ts';
import type { LiveMember } from './live.ts';
import { groupKind } from './objects.ts';
import { mapLimit } from './pool.ts';
import { prepare } from './prepare.ts';
import type { Item } from './prepare.ts';
import { checkDeleteAll, executePrune, planPrune } from './prune.ts';
import { applyOne } from './reconcile.ts';
import type { ApplyOutcome } from './reconcile.ts';
import { APPLY_ACTIONS, countBy, entryFor, hasErrors } from './result.ts';
import type { ApplyResult, ObjectResult, RunStatus } from './result.ts';
import type { RetryOptions } from './retry.ts';
import { waitEstablished } from './wait.ts';

export interface ApplyOptions {
  /** The commit these objects come from (recorded on the inventory). */
  readonly commit: string;
  /**
   * Is `ancestor` an ancestor of `descendant`? When the cluster already has a commit that
   * descends from `commit`, nothing is done (`superseded`). Without it, no check is made.
   */
  readonly isAncestor?: (ancestor: string, descendant: string) => Promise<boolean>;
  /** Name of the ApplySet parent (one per sync source); default `pushsync`. */
  readonly inventory?: string;
  /** Objects in flight inside a wave; default 8. */
  readonly concurrency?: number;
  /** The repo's explicit opt-in to deleting every Namespace / every managed object. */
  readonly allowDeleteAll?: boolean;
  readonly signal?: AbortSignal;
  readonly lease?: Partial<Omit<LeaseOptions, 'name' | 'signal' | 'namespace'>>;
  /** How long a CRD may take to become Established; default 60 s. */
  readonly crdTimeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
}

export const applyDefaults = { concurrency: 8, crdTimeoutMs: 60_000 };

interface RunState {
  /** Why objects that depend on a key cannot proceed. */
  readonly blocked: Map<string, string>;
  /** Set when the API server stopped answering or the run was cancelled: the rest is not attempted. */
  stop?: ErrorInfo;
}

export async function apply(conn: Connection, objects: readonly KubeObject[], opts: ApplyOptions): Promise<ApplyResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const ref = inventoryRef(opts.inventory ?? DEFAULT_INVENTORY);
  const concurrency = Math.max(1, opts.concurrency ?? applyDefaults.concurrency);
  const base = new ObjectClient(conn.http, { ...(opts.retry ? { retry: opts.retry } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });

  const done = (status: RunStatus, results: readonly ObjectResult[], extra: Partial<ApplyResult> = {}): ApplyResult => ({
    status,
    commit: opts.commit,
    inventory: ref,
    objects: results,
    counts: countBy(APPLY_ACTIONS, results),
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    ...extra,
  });

  let lease: HeldLease | undefined;
  const results: ObjectResult[] = [];
  try {
    const discovery = new Discovery(base);
    const prep = await prepare(discovery, objects, ref.id);
    for (const f of prep.failed) results.push({ ...entryFor(f.id), action: 'failed', error: f.error });

    lease = await acquireLease(base, { name: ref.name, ...opts.lease, ...(opts.signal ? { signal: opts.signal } : {}) });
    const client = base.withSignal(lease.signal);
    const prev = await readInventory(client, ref);

    for (const newer of new Set([prev.lastCommit, prev.appliedCommit])) {
      if (newer && newer !== opts.commit && opts.isAncestor && (await opts.isAncestor(opts.commit, newer))) {
        return done('superseded', [], { supersededBy: newer });
      }
    }

    const members = await listMembers(client, discovery, ref.id, [...prev.groupKinds, ...prep.listMappings.keys()], prep.listMappings);
    const liveByKey = new Map(members.map((m) => [m.key, m]));
    const usedNamespaces = prep.usedNamespaces;
    const decisions = planPrune({
      members,
      declaredKeys: prep.declaredKeys,
      disabledKeys: new Set(prep.disabled.map((d) => d.key)),
      usedNamespaces,
    });
    const refusal = checkDeleteAll(members, decisions, opts.allowDeleteAll ?? false);
    if (refusal) return done('failed', results, { error: refusal });

    // Widen first: whatever happens next, every object we may create is findable.
    const inv = await writeInventory(client, ref, prev, {
      ...prev,
      groupKinds: [...prev.groupKinds, ...prep.listMappings.keys(), ...members.map((m) => groupKind(m.id))],
      namespaces: [...prev.namespaces, ...usedNamespaces, ...members.flatMap((m) => (m.id.namespace ? [m.id.namespace] : []))],
      lastCommit: opts.commit,
    });

    const state: RunState = { blocked: new Map() };
    const applied: { item: Item; outcome: ApplyOutcome }[] = [];
    for (const wave of prep.waves) {
      const outs = await mapLimit(wave, concurrency, (item) => step(client, item, liveByKey.get(item.key), state));
      wave.forEach((item, i) => applied.push({ item, outcome: outs[i] as ApplyOutcome }));
      await waitForCrds(client, wave, outs, state, opts.crdTimeoutMs ?? applyDefaults.crdTimeoutMs, lease.signal);
    }
    results.push(...applied.map((a) => a.outcome.result));

    const pruneOutcomes = state.stop ? [] : await executePrune(client, decisions, concurrency);
    results.push(...pruneOutcomes.map((o) => o.result));
    const abandoned = new Set(decisions.map((d) => d.member.key));
    for (const d of prep.disabled) {
      if (!abandoned.has(d.key)) results.push({ ...entryFor(d.id), action: 'skipped', reason: 'configmanagement.gke.io/managed: disabled' });
    }

    // Narrow: exactly the members that exist now (or may exist).
    const gone = new Set(pruneOutcomes.filter((o) => !o.remains).map((o) => o.key));
    const memberIds = [
      ...members.filter((m) => !gone.has(m.key)).map((m) => m.id),
      ...applied.filter((a) => a.outcome.member).map((a) => a.item.id),
    ];
    const changed =
      applied.some((a) => a.outcome.result.action === 'created' || a.outcome.result.action === 'configured') ||
      pruneOutcomes.some((o) => o.changed);

    const status: RunStatus = state.stop ? 'failed' : hasErrors(results) ? 'partial' : 'applied';
    const now = new Date().toISOString();
    const quiet = !changed && status === 'applied' && prev.appliedCommit === opts.commit && prev.lastStatus === 'applied';
    const summary: RunSummary = {
      commit: opts.commit,
      status,
      at: now,
      counts: countBy(APPLY_ACTIONS, results),
      errors: results.filter((r) => r.error).slice(0, 100).map((r) => ({ id: r.id, code: r.error?.code as string, message: r.error?.message as string })),
      ...(state.stop ? { error: { code: state.stop.code, message: state.stop.message } } : {}),
    };
    const next: InventoryState = {
      exists: true,
      groupKinds: memberIds.map(groupKind),
      namespaces: memberIds.flatMap((id) => (id.namespace ? [id.namespace] : [])),
      lastCommit: opts.commit,
      lastStatus: status,
      lastAt: quiet ? (prev.lastAt ?? now) : now,
      ...(status === 'applied'
        ? { appliedCommit: opts.commit, appliedAt: prev.appliedCommit === opts.commit && prev.appliedAt ? prev.appliedAt : now }
        : pick(prev)),
      ...(quiet && prev.summary ? { summary: prev.summary } : { summary }),
    };
    try {
      await writeInventory(client, ref, inv, next);
    } catch (e) {
      if (!state.stop) throw e;
    }
    return done(status, results, state.stop ? { error: state.stop } : {});
  } catch (e) {
    return done('failed', results, { error: runError(e) });
  } finally {
    await lease?.release();
  }
}

function pick(prev: InventoryState): Partial<InventoryState> {
  return {
    ...(prev.appliedCommit ? { appliedCommit: prev.appliedCommit } : {}),
    ...(prev.appliedAt ? { appliedAt: prev.appliedAt } : {}),
  };
}

async function step(client: ObjectClient, item: Item, live: LiveMember | undefined, state: RunState): Promise<ApplyOutcome> {
  const base = entryFor(item.id);
  if (state.stop) {
    return { result: { ...base, action: 'failed', error: { ...state.stop, message: `not attempted: ${state.stop.message}` } }, member: live !== undefined };
  }
  const blocker = item.deps.map((d) => state.blocked.get(d)).find((b) => b !== undefined);
  if (blocker) {
    state.blocked.set(item.key, blocker);
    return { result: { ...base, action: 'skipped', error: { code: Codes.applier, message: `not applied: ${blocker}` } }, member: live !== undefined };
  }
  const outcome = await applyOne(client, item, live?.live);
  const err = outcome.result.error;
  if (err) {
    state.blocked.set(item.key, `depends on ${base.id}, which failed`);
    if (outcome.fatal && !state.stop) {
      state.stop = { code: Codes.transient, message: client.aborted ? `run cancelled: ${err.message}` : `API server unreachable: ${err.message}`, retryable: true };
    }
  }
  return outcome;
}

async function waitForCrds(client: ObjectClient, wave: readonly Item[], outcomes: readonly ApplyOutcome[], state: RunState, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const crds = wave.filter((item, i) => item.id.kind === 'CustomResourceDefinition' && item.id.group === 'apiextensions.k8s.io' && !outcomes[i]?.result.error);
  await Promise.all(
    crds.map(async (crd) => {
      try {
        await waitEstablished(client, crd.id.name, timeoutMs, signal);
      } catch (e) {
        state.blocked.set(crd.key, toErrorInfo(e).message);
      }
    }),
  );
}

function runError(e: unknown): ErrorInfo {
  if (e instanceof ClusterError) return toErrorInfo(e);
  if (e instanceof NetworkError) return { code: Codes.transient, message: `API server unreachable: ${e.message}`, retryable: true };
  return toErrorInfo(e);
}
