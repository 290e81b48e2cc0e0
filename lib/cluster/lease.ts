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
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ObjectClient } from './client.ts';
import type { Mapping } from './discovery.ts';
import { ClusterError, Codes } from './errors.ts';
import { SYSTEM_NAMESPACE } from './metadata.ts';
import { sleep } from './retry.ts';

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
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface HeldLease {
  readonly holder: string;
  /** Aborts when the lease is lost or the caller's signal aborts: stop working. */
  readonly signal: AbortSignal;
  /** Aborts only when the lease is lost: a cancelled run may still finish its bookkeeping. */
  readonly lost: AbortSignal;
  /**
   * Give the lease back. Its requests ignore the caller's signal (a cancelled or timed-out run
   * must still free the cluster for the next one), bounded by `signal` when given.
   */
  release(signal?: AbortSignal): Promise<void>;
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

  for (;;) {
    opts.signal?.throwIfAborted();
    const created = await client.call(what, { method: 'POST', path, body: body(undefined) }, [404, 409]);
    if (created.status === 201 || created.status === 200) return hold(client, created.body as LeaseObject, holder, ttl, opts.signal);
    if (created.status === 404) {
      // The namespace does not exist yet (first apply to this cluster).
      await client.call(`Namespace ${namespace}`, { method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } }, [409]);
      continue;
    }
    const current = await client.call(what, { method: 'GET', path: `${path}/${opts.name}` }, [404]);
    if (current.status === 404) continue; // released and deleted in between: create again
    const lease = current.body as LeaseObject;
    const rv = lease.metadata.resourceVersion ?? '';
    if (observed?.rv !== rv) observed = { rv, since: Date.now() };
    if (isFree(lease.spec, observed.since)) {
      const taken = await client.call(what, { method: 'PUT', path: `${path}/${opts.name}`, body: body(lease.spec, rv) }, [409]);
      if (taken.status !== 409) return hold(client, taken.body as LeaseObject, holder, ttl, opts.signal);
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

function hold(client: ObjectClient, initial: LeaseObject, holder: string, ttl: number, outer: AbortSignal | undefined): HeldLease {
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
    async release(bound?: AbortSignal): Promise<void> {
      clearInterval(timer);
      await inflight;
      if (released || lost.signal.aborted) return;
      released = true;
      const free: LeaseObject = { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: microTime(new Date()) } };
      delete free.spec?.holderIdentity;
      try {
        await client.withSignal(bound).call(what, { method: 'PUT', path, body: free }, [404, 409]);
      } catch {
        // Best effort: if the API server is unreachable the lease simply expires after its TTL.
      }
    },
  };
}
