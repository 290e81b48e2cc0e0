/**
 * One apply at a time per inventory: a coordination.k8s.io/v1 Lease in pushsync-system.
 *
 * Every change to the Lease is a conditional write: create (fails if it exists) or update
 * with the resourceVersion we read (fails if anyone wrote in between). Reading and then
 * writing blindly would let two appliers both believe they hold it.
 *
 * A held lease is renewed every ttl/3; if a renewal is refused (someone took it after we
 * stalled past the TTL) or keeps failing for a whole TTL, the holder's `signal` aborts so the
 * apply stops writing. A waiting apply polls until its deadline, then fails with a retryable
 * error. A lease counts as expired when its renewTime + duration is in the past, or when we
 * have watched it stay unchanged for a whole duration (robust to clock skew between hosts).
 *
 * A clean release records on the Lease the inventory's resourceVersion as the run left it
 * (INVENTORY_VERSION); taking the Lease drops it again (the write replaces the whole object).
 * Whoever takes a Lease carrying it knows whether an inventory read made while it was waiting
 * for the Lease is still current: inventory and members are written only under the Lease, and
 * a run that wrote members always wrote the inventory too. So apply can read in parallel with
 * acquiring, and read again only when the record does not match.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { LeaseHint } from './cache.ts';
import type { ObjectClient } from './client.ts';
import type { Mapping } from './discovery.ts';
import { ClusterError, Codes } from './errors.ts';
import { SYSTEM_NAMESPACE } from './metadata.ts';
import { sleep } from './retry.ts';

/** Annotation on a released Lease: the inventory's resourceVersion when it was released. */
export const INVENTORY_VERSION = 'pushsync.dev/inventory-version';

export const LEASE_MAPPING: Mapping = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', resource: 'leases', namespaced: true };

export interface LeaseOptions {
  readonly name: string;
  readonly namespace?: string;
  /** Who we are; default `<host>/<pid>/<random>` (unique per run). */
  readonly holder?: string;
  readonly ttlSeconds?: number;
  /** How long to wait for another holder before failing (ms). */
  readonly waitMs?: number;
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  /** The Lease as this process last released it: tried first, as one conditional write. */
  readonly hint?: LeaseHint;
  /** Create the namespace alongside the first read (its existence is not known yet). */
  readonly ensureNamespace?: boolean;
}

export const leaseDefaults = { ttlSeconds: 30, waitMs: 120_000, pollMs: 500 };

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface LeaseObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: LeaseSpec;
}

export interface HeldLease {
  readonly holder: string;
  /** Aborts when the lease is lost or the caller's signal aborts: stop working. */
  readonly signal: AbortSignal;
  /** Aborts only when the lease is lost: a cancelled run may still finish its bookkeeping. */
  readonly lost: AbortSignal;
  /** The inventory resourceVersion the previous holder recorded on a clean release, if any. */
  readonly recorded?: string;
  /** The Lease did not exist: no run ever held it. */
  readonly created: boolean;
  /**
   * Give the lease back, recording `inventoryVersion` when the caller knows the inventory as
   * it leaves it. Its requests ignore the caller's signal (a cancelled or timed-out run must
   * still free the cluster for the next one), bounded by `signal` when given. Resolves with
   * the released Lease (a hint for this process's next acquisition), or undefined.
   */
  release(signal?: AbortSignal, inventoryVersion?: string): Promise<LeaseHint | undefined>;
}

/** Kubernetes MicroTime wants exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export async function acquireLease(client: ObjectClient, opts: LeaseOptions): Promise<HeldLease> {
  const namespace = opts.namespace ?? SYSTEM_NAMESPACE;
  const ttl = opts.ttlSeconds ?? leaseDefaults.ttlSeconds;
  const holder = opts.holder ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const deadline = Date.now() + (opts.waitMs ?? leaseDefaults.waitMs);
  const pollMs = opts.pollMs ?? leaseDefaults.pollMs;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  const what = `Lease ${namespace}/${opts.name}`;
  let observed: { rv: string; since: number } | undefined;

  const body = (prev: LeaseSpec | undefined, rv?: string): LeaseObject => {
    const now = microTime(new Date());
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: opts.name, namespace, ...(rv ? { resourceVersion: rv } : {}) },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: ttl,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: (prev?.leaseTransitions ?? -1) + 1,
      },
    };
  };

  const createNamespace = (): Promise<unknown> =>
    // 403: not allowed to create namespaces; the Lease's own create says what is missing.
    client.call(`Namespace ${namespace}`, { method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } }, [409, 403]);

  if (opts.hint) {
    // Unchanged since this process released it (same resourceVersion): free, and its record holds.
    const hint = opts.hint;
    opts.signal?.throwIfAborted();
    const taken = await client.call(what, { method: 'PUT', path: `${path}/${opts.name}`, body: body(hint.spec as LeaseSpec, hint.resourceVersion) }, [409, 404]);
    if (taken.status === 200) return hold(client, taken.body as LeaseObject, holder, ttl, opts.signal, { ...(hint.inventoryVersion ? { recorded: hint.inventoryVersion } : {}), created: false });
  }
  let namespaceCreated = opts.ensureNamespace ? createNamespace().catch(() => undefined) : undefined;

  for (;;) {
    opts.signal?.throwIfAborted();
    const current = await client.call(what, { method: 'GET', path: `${path}/${opts.name}` }, [404]);
    if (current.status === 404) {
      await namespaceCreated;
      const created = await client.call(what, { method: 'POST', path, body: body(undefined) }, [404, 409]);
      if (created.status === 201 || created.status === 200) return hold(client, created.body as LeaseObject, holder, ttl, opts.signal, { created: true });
      // 404: the namespace does not exist yet (first apply to this cluster); 409: someone was faster.
      if (created.status === 404) namespaceCreated = createNamespace();
      await namespaceCreated;
      continue;
    }
    const lease = current.body as LeaseObject;
    const rv = lease.metadata.resourceVersion ?? '';
    if (observed?.rv !== rv) observed = { rv, since: Date.now() };
    if (isFree(lease.spec, observed.since)) {
      const taken = await client.call(what, { method: 'PUT', path: `${path}/${opts.name}`, body: body(lease.spec, rv) }, [409]);
      const recorded = lease.metadata.annotations?.[INVENTORY_VERSION];
      if (taken.status !== 409) return hold(client, taken.body as LeaseObject, holder, ttl, opts.signal, { ...(recorded ? { recorded } : {}), created: false });
      continue; // someone else was faster
    }
    if (Date.now() >= deadline) {
      throw new ClusterError(
        Codes.conflict,
        `another apply holds ${what} (holder ${lease.spec?.holderIdentity ?? '?'}, renewed ${lease.spec?.renewTime ?? '?'}); try again later`,
        true,
      );
    }
    await sleep(Math.min(pollMs * (0.5 + Math.random()), Math.max(0, deadline - Date.now())), opts.signal);
  }
}

function isFree(spec: LeaseSpec | undefined, observedSince: number): boolean {
  if (!spec?.holderIdentity) return true;
  const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
  const renewed = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
  if (!Number.isNaN(renewed) && renewed + durationMs < Date.now()) return true;
  return Date.now() - observedSince > durationMs;
}

function hold(client: ObjectClient, initial: LeaseObject, holder: string, ttl: number, outer: AbortSignal | undefined, how: { recorded?: string; created: boolean }): HeldLease {
  const lost = new AbortController();
  let lease = initial;
  let lastRenew = Date.now();
  let released = false;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${initial.metadata.namespace}/leases/${initial.metadata.name}`;
  const what = `Lease ${initial.metadata.namespace}/${initial.metadata.name}`;
  let inflight: Promise<void> = Promise.resolve();

  const renew = async (): Promise<void> => {
    if (released || lost.signal.aborted) return;
    try {
      const next: LeaseObject = { ...lease, spec: { ...lease.spec, renewTime: microTime(new Date()) } };
      const res = await client.call(what, { method: 'PUT', path, body: next }, [409, 404]);
      if (res.status === 409 || res.status === 404) {
        lost.abort(new ClusterError(Codes.conflict, `${what} was taken by another apply while this one ran`, true));
        return;
      }
      lease = res.body as LeaseObject;
      lastRenew = Date.now();
    } catch (e) {
      if (Date.now() - lastRenew > ttl * 1000) {
        lost.abort(new ClusterError(Codes.transient, `${what} could not be renewed for ${ttl}s: ${(e as Error).message}`, true));
      }
    }
  };
  const timer = setInterval(() => {
    inflight = inflight.then(renew);
  }, Math.max(200, (ttl * 1000) / 3));
  timer.unref();

  const signal = outer ? AbortSignal.any([outer, lost.signal]) : lost.signal;
  return {
    holder,
    signal,
    lost: lost.signal,
    ...(how.recorded ? { recorded: how.recorded } : {}),
    created: how.created,
    async release(bound?: AbortSignal, inventoryVersion?: string): Promise<LeaseHint | undefined> {
      clearInterval(timer);
      await inflight;
      if (released || lost.signal.aborted) return undefined;
      released = true;
      const annotations = { ...lease.metadata.annotations };
      if (inventoryVersion) annotations[INVENTORY_VERSION] = inventoryVersion;
      else delete annotations[INVENTORY_VERSION];
      const free: LeaseObject = { ...lease, metadata: { ...lease.metadata, annotations }, spec: { ...lease.spec, holderIdentity: undefined, renewTime: microTime(new Date()) } };
      delete free.spec?.holderIdentity;
      try {
        const res = await client.withSignal(bound).call(what, { method: 'PUT', path, body: free }, [404, 409]);
        const after = res.body as LeaseObject;
        if (res.status !== 200 || !after.metadata?.resourceVersion) return undefined;
        return { resourceVersion: after.metadata.resourceVersion, spec: { ...after.spec }, ...(inventoryVersion ? { inventoryVersion } : {}) };
      } catch {
        // Best effort: if the API server is unreachable the lease simply expires after its TTL.
        return undefined;
      }
    },
  };
}
