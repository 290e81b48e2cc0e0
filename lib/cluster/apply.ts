/**
 * Make one cluster match one commit.
 *
 *   declare (no writes) ∥ lease ∥ survey: inventory read, never-backwards check, live
 *   members, prune plan + safety rule (still no writes; read again under the Lease unless the
 *   Lease shows nothing changed since) → inventory := old ∪ new → waves of
 *   server-side apply (CRDs Established before their CRs) → prune / abandon →
 *   inventory := exactly what exists → release the lease.
 *
 * The survey (survey.ts) is the same one a plan makes; only the execution is here.
 * Per-object failures are values in the result and the rest of the commit still applies.
 * The inventory is widened before any object is written and narrowed only to what is known
 * to be gone afterwards, so an object that exists on the cluster is never forgotten, even
 * when the run dies half-way. With a deadline, the run stops starting work shortly before it,
 * aborts what is in flight, narrows the inventory and releases the lease, and reports a
 * retryable DEADLINE failure: the next delivery resumes where it stopped.
 */
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../repo/index.ts';
import { ObjectClient } from './client.ts';
import type { Connection } from './connect.ts';
import { anySignal, deadlineError, runClock } from './deadline.ts';
import type { RunClock } from './deadline.ts';
import { ClusterError, Codes, toErrorInfo } from './errors.ts';
import type { ErrorInfo } from './errors.ts';
import { NetworkError } from './http.ts';
import { DEFAULT_INVENTORY, inventoryRef, readInventory, writeInventory } from './inventory.ts';
import type { InventoryState, RunSummary } from './inventory.ts';
import { acquireLease } from './lease.ts';
import type { HeldLease, LeaseOptions } from './lease.ts';
import type { LiveMember } from './live.ts';
import { groupKind } from './objects.ts';
import { mapLimit } from './pool.ts';
import type { Item } from './prepare.ts';
import { executePrune } from './prune.ts';
import { applyOne } from './reconcile.ts';
import type { ObjectOutcome } from './reconcile.ts';
import { APPLY_ACTIONS, countBy, entryFor, hasErrors } from './result.ts';
import type { ApplyResult, ObjectResult, RunStatus } from './result.ts';
import type { RetryOptions } from './retry.ts';
import { isSettled } from './settled.ts';
import { declare, survey } from './survey.ts';
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
  /** Objects in flight inside a wave; default 32 (a wave's independent objects cost one round trip, not several). */
  readonly concurrency?: number;
  /** The repo's explicit opt-in to deleting every Namespace / every managed object. */
  readonly allowDeleteAll?: boolean;
  readonly signal?: AbortSignal;
  /**
   * Epoch ms by which apply() returns (e.g. the Lambda's remaining time). It stops starting
   * objects shortly before, aborts what is in flight, and fails retryably with code DEADLINE.
   */
  readonly deadline?: number;
  readonly lease?: Partial<Omit<LeaseOptions, 'name' | 'signal' | 'namespace'>>;
  /** How long a CRD may take to become Established; default 60 s. */
  readonly crdTimeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
}

export const applyDefaults = { concurrency: 32, crdTimeoutMs: 60_000 };

/** Will this item need no request (settled.ts)? Only to size the connections opened ahead. */
function settled(item: Item, live: LiveMember | undefined, manager: string): boolean {
  return live !== undefined && (item.mutationIgnore || isSettled(item.body, live.live, manager));
}

interface RunState {
  /** Why objects that depend on a key cannot proceed. */
  readonly blocked: Map<string, string>;
  /** Set when the API server stopped answering, the run was cancelled or its deadline came: the rest is not attempted. */
  stop?: ErrorInfo;
}

const DEADLINE_STOP: ErrorInfo = { code: Codes.deadline, message: 'stopped before the deadline', retryable: true };

export async function apply(conn: Connection, objects: readonly KubeObject[], opts: ApplyOptions): Promise<ApplyResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const ref = inventoryRef(opts.inventory ?? DEFAULT_INVENTORY);
  const concurrency = Math.max(1, opts.concurrency ?? applyDefaults.concurrency);
  const clock = runClock(opts.deadline);
  const runSignal = anySignal(opts.signal, clock.signal);
  const base = new ObjectClient(conn.http, { ...(opts.retry ? { retry: opts.retry } : {}), ...(runSignal ? { signal: runSignal } : {}) });

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
  let total = objects.length;
  const results: ObjectResult[] = [];
  const warm = conn.cache;
  /** The inventory's resourceVersion as this run leaves it, when known (recorded on the Lease at release). */
  let record: string | undefined;
  try {
    // Three things at once, none waiting for another: discovery and the work list, the Lease,
    // and a first read of the inventory and live members (checked against the Lease below).
    const hint = warm?.cache.leaseHint(warm.key, ref.name);
    const inventoryRead = readInventory(base, ref);
    inventoryRead.catch(() => undefined);
    const declaring = declare(base, objects, ref, warm);
    const surveyOpts = { allowDeleteAll: opts.allowDeleteAll ?? false, commit: opts.commit, ...(opts.isAncestor ? { isAncestor: opts.isAncestor } : {}) };
    const early = declaring.then((d) => survey(base, d, { ...surveyOpts, inventory: inventoryRead }));
    early.catch(() => undefined);
    const [declaredOr, leaseOr] = await Promise.allSettled([
      declaring,
      acquireLease(base, {
        name: ref.name,
        ...opts.lease,
        ...(runSignal ? { signal: runSignal } : {}),
        ...(hint ? { hint } : {}),
        ensureNamespace: !hint && !(warm?.cache.namespaceExists(warm.key) ?? false),
      }),
    ]);
    if (leaseOr.status === 'fulfilled') lease = leaseOr.value;
    if (declaredOr.status === 'rejected') throw declaredOr.reason;
    if (leaseOr.status === 'rejected') throw leaseOr.reason;
    const declared = declaredOr.value;
    const held = leaseOr.value;
    const work = declared.work;
    total = work.items.length;
    results.push(...declared.failed);

    const client = base.withSignal(held.signal);
    // The early read holds when nothing wrote the inventory since the last clean release (its
    // resourceVersion is the one recorded on the Lease), or when no run ever held the Lease;
    // otherwise read again, now that the Lease is ours.
    const first = await early.catch(() => undefined);
    const current = first && ((held.recorded !== undefined && held.recorded === first.prev.resourceVersion) || (held.created && !first.prev.exists));
    const found = current ? first : await survey(client, declared, surveyOpts);
    record = found.prev.resourceVersion;
    if (found.kind === 'superseded') return done('superseded', [], { supersededBy: found.by });
    const { prev, members, liveByKey, decisions } = found;
    if (found.refusal) return done('failed', results, { error: found.refusal });

    // Connections for the objects that will need requests, opened while the inventory is widened.
    const needy = work.waves.map((w) => w.filter((item) => !settled(item, liveByKey.get(item.key), client.fieldManager)).length);
    conn.http.prewarm(Math.min(concurrency, Math.max(0, ...needy)));

    // Widen first: whatever happens next, every object we may create is findable.
    record = undefined;
    const inv = await writeInventory(client, ref, prev, {
      ...prev,
      groupKinds: [...prev.groupKinds, ...work.listMappings.keys(), ...members.map((m) => groupKind(m.id))],
      namespaces: [...prev.namespaces, ...work.usedNamespaces, ...members.flatMap((m) => (m.id.namespace ? [m.id.namespace] : []))],
      lastCommit: opts.commit,
    });

    const state: RunState = { blocked: new Map() };
    const applied: { item: Item; outcome: ObjectOutcome }[] = [];
    for (const wave of work.waves) {
      const outs = await mapLimit(wave, concurrency, (item) => step(client, item, liveByKey.get(item.key), state, clock));
      wave.forEach((item, i) => applied.push({ item, outcome: outs[i] as ObjectOutcome }));
      await waitForCrds(client, wave, outs, state, opts.crdTimeoutMs ?? applyDefaults.crdTimeoutMs, held.signal);
      // A kind came or went (a CRD established, a 404 for a kind): the cached discovery is old.
      if (outs.some((o) => o.notFound) || wave.some((item) => item.id.kind === 'CustomResourceDefinition')) declared.discovery.invalidate();
    }
    results.push(...applied.map((a) => a.outcome.result));

    const pruneOutcomes = state.stop ? [] : await executePrune(client, decisions, concurrency);
    results.push(...pruneOutcomes.map((o) => o.result));
    // A prune cut short by the deadline failed because of it, not because of the cluster.
    if (!state.stop && clock.reached() && pruneOutcomes.some((o) => o.result.action === 'failed')) state.stop = DEADLINE_STOP;
    results.push(...found.skipped);

    // Narrow: exactly the members that exist now (or may exist).
    const gone = new Set(pruneOutcomes.filter((o) => !o.remains).map((o) => o.key));
    const memberIds = [
      ...members.filter((m) => !gone.has(m.key)).map((m) => m.id),
      ...applied.filter((a) => a.outcome.member).map((a) => a.item.id),
    ];
    const changed =
      applied.some((a) => a.outcome.result.action === 'created' || a.outcome.result.action === 'configured') ||
      pruneOutcomes.some((o) => o.changed);

    const runError = state.stop?.code === Codes.deadline ? deadlineError(countDone(results), total, 'applied') : state.stop;
    const status: RunStatus = runError ? 'failed' : hasErrors(results) ? 'partial' : 'applied';
    const now = new Date().toISOString();
    const quiet = !changed && status === 'applied' && prev.appliedCommit === opts.commit && prev.lastStatus === 'applied';
    const summary: RunSummary = {
      commit: opts.commit,
      status,
      at: now,
      counts: countBy(APPLY_ACTIONS, results),
      errors: results.filter((r) => r.error).slice(0, 100).map((r) => ({ id: r.id, code: r.error?.code as string, message: r.error?.message as string })),
      ...(runError ? { error: { code: runError.code, message: runError.message } } : {}),
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
      // Every run but a no-op starts a new rollout, even of the same commit: a wait for the
      // previous one then knows it was superseded. A no-op leaves the running rollout as is.
      ...(quiet ? (prev.rollout ? { rollout: prev.rollout } : {}) : { rollout: newRolloutId() }),
    };
    let rollout: string | undefined;
    try {
      // The run's own signal may have fired (cancelled, deadline): the narrowing still goes out,
      // bounded by the deadline, unless the lease was lost (someone else owns the inventory now).
      const written = await writeInventory(base.withSignal(anySignal(held.lost, clock.finishing())), ref, inv, next);
      record = written.resourceVersion;
      rollout = next.rollout;
    } catch (e) {
      // Unwritten, the inventory stays widened: larger than the cluster, never smaller.
      if (!state.stop) throw e;
    }
    return done(status, results, { ...(runError ? { error: runError } : {}), ...(rollout ? { rollout } : {}) });
  } catch (e) {
    const error = clock.reached() ? deadlineError(countDone(results), total, 'applied') : runError(e);
    return done('failed', results, { error });
  } finally {
    const released = await lease?.release(clock.finishing(), record);
    if (warm && lease) {
      warm.cache.setLeaseHint(warm.key, ref.name, released);
      warm.cache.markNamespace(warm.key, true);
    }
    if (warm) warm.cache.lastRun = { key: warm.key, stats: structuredClone(conn.http.stats) };
    clock.dispose();
  }
}

/** Random, not derived from the commit: two applies of one commit must get different tokens. */
function newRolloutId(): string {
  return randomBytes(8).toString('hex');
}

function pick(prev: InventoryState): Partial<InventoryState> {
  return {
    ...(prev.appliedCommit ? { appliedCommit: prev.appliedCommit } : {}),
    ...(prev.appliedAt ? { appliedAt: prev.appliedAt } : {}),
  };
}

/** Objects that reached the state the commit declares (whether or not a write was needed). */
function countDone(results: readonly ObjectResult[]): number {
  return results.filter((r) => r.action === 'created' || r.action === 'configured' || r.action === 'unchanged').length;
}

async function step(client: ObjectClient, item: Item, live: LiveMember | undefined, state: RunState, clock: RunClock): Promise<ObjectOutcome> {
  const base = entryFor(item.id);
  if (!state.stop && clock.reached()) state.stop = DEADLINE_STOP;
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
  if (!err) return outcome;
  state.blocked.set(item.key, `depends on ${base.id}, which failed`);
  if (!outcome.fatal) return outcome;
  if (clock.reached()) {
    // Cut off in flight by the deadline, not failed by the cluster: say so (it may still exist,
    // and `member` keeps it in the inventory).
    state.stop ??= DEADLINE_STOP;
    return { ...outcome, result: { ...outcome.result, error: { ...DEADLINE_STOP, message: `aborted at the deadline: ${err.message}` } } };
  }
  state.stop ??= { code: Codes.transient, message: client.aborted ? `run cancelled: ${err.message}` : `API server unreachable: ${err.message}`, retryable: true };
  return outcome;
}

async function waitForCrds(client: ObjectClient, wave: readonly Item[], outcomes: readonly ObjectOutcome[], state: RunState, timeoutMs: number, signal: AbortSignal): Promise<void> {
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
