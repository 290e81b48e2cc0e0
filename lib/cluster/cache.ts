/**
 * What a warm process remembers about the clusters it applied to, so the next run to the same
 * cluster skips round trips that would only tell it again: the discovery documents (two
 * requests, and on a cluster 50 ms away a whole round trip before anything else can start),
 * whether `pushsync-system` exists, and the Lease as this process last released it.
 *
 * Keyed by the server URL and its CA (two kubeconfigs naming the same URL for different
 * clusters must not share), never by credentials: nothing here is secret or per-user beyond
 * what discovery shows every authenticated user. Everything is a hint that a run checks:
 * discovery is re-read once when it misses a kind (a CRD installed since) and dropped when
 * the server answers 404 for a kind, after `discoveryTtlMs` in any case; a stale Lease hint
 * only costs the conditional write it was used for (409, then the usual path).
 */
import { createHash } from 'node:crypto';
import type { RequestStats } from './http.ts';

/** What discovery.ts keeps per server: group → versions and their resources. */
export type DiscoveryDoc = Map<string, unknown>;

/** The Lease as this process released it: the next acquisition can be one conditional write. */
export interface LeaseHint {
  readonly resourceVersion: string;
  readonly spec: Readonly<Record<string, unknown>>;
  /** The inventory's resourceVersion recorded on that release. */
  readonly inventoryVersion?: string;
}

export interface ClusterCacheOptions {
  /** How long discovery is trusted; default 5 minutes. */
  readonly discoveryTtlMs?: number;
  /** Servers remembered at most (oldest forgotten first); default 512. */
  readonly maxServers?: number;
  readonly now?: () => number;
}

interface Entry {
  discovery?: { readonly at: number; readonly doc: Promise<DiscoveryDoc> };
  namespaceExists?: boolean;
  leases: Map<string, LeaseHint>;
}

export class ClusterCache {
  /** The requests of the last apply through this cache, for the benchmark's round-trip count. */
  lastRun: { readonly key: string; readonly stats: RequestStats } | undefined;
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(opts: ClusterCacheOptions = {}) {
    this.ttlMs = opts.discoveryTtlMs ?? 5 * 60_000;
    this.max = opts.maxServers ?? 512;
    this.now = opts.now ?? Date.now;
  }

  /** Discovery of this server, fetched at most once per TTL (concurrent runs share the fetch). */
  discovery(key: string, fetch: () => Promise<DiscoveryDoc>): { doc: Promise<DiscoveryDoc>; cached: boolean } {
    const e = this.entry(key);
    if (e.discovery && this.now() - e.discovery.at < this.ttlMs) return { doc: e.discovery.doc, cached: true };
    const doc = fetch();
    const held = { at: this.now(), doc };
    e.discovery = held;
    doc.catch(() => {
      if (e.discovery === held) delete e.discovery;
    });
    return { doc, cached: false };
  }

  dropDiscovery(key: string): void {
    delete this.entries.get(key)?.discovery;
  }

  namespaceExists(key: string): boolean {
    return this.entries.get(key)?.namespaceExists === true;
  }

  markNamespace(key: string, exists: boolean): void {
    this.entry(key).namespaceExists = exists;
  }

  leaseHint(key: string, lease: string): LeaseHint | undefined {
    return this.entries.get(key)?.leases.get(lease);
  }

  setLeaseHint(key: string, lease: string, hint: LeaseHint | undefined): void {
    const e = this.entry(key);
    if (hint) e.leases.set(lease, hint);
    else e.leases.delete(lease);
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (e) {
      // Most recently used last, so the oldest is the first to go.
      this.entries.delete(key);
      this.entries.set(key, e);
      return e;
    }
    e = { leases: new Map() };
    this.entries.set(key, e);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
    return e;
  }
}

/** `server|sha256(CA)`: the same URL behind two CAs is two clusters. */
export function cacheKey(server: string, ca: string | Buffer | undefined): string {
  const digest = ca === undefined ? '-' : createHash('sha256').update(ca).digest('hex').slice(0, 32);
  return `${server}|${digest}`;
}
