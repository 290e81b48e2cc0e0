/**
 * Content-addressed cache for the GitHub source: blob bytes keyed by blob SHA, a commit's whole
 * tree and the listing of a policy dir keyed by commit. All are immutable (a SHA names its content), so nothing is
 * ever invalidated — entries only leave when the byte budget needs room (least recently used
 * first). One instance per process (`sharedBlobCache`) is what makes a warm function re-download
 * nothing that did not change. Concurrent requests for the same key share one fetch.
 */

import type { RepoTreeEntry } from './git-tree.ts';

/** A commit's recursive tree as GitHub answered it (`truncated`: GitHub left entries out). */
export interface RepoTree {
  readonly truncated: boolean;
  readonly entries: readonly RepoTreeEntry[];
}

/** One file entry of a policy dir listing, path relative to the policy dir. */
export interface ListedFile {
  readonly path: string;
  readonly sha: string;
  readonly size: number;
  /** Git file mode: `100644`, `100755`, `120000` (symlink), `160000` (submodule). */
  readonly mode: string;
  /** For a symlink (`120000`): the path it points to, as stored in its blob. */
  readonly linkTarget?: string;
}

/** The policy dir at one commit, as a tree listing (before any filtering by format). */
export type PolicyListing =
  | { readonly kind: 'found'; readonly files: readonly ListedFile[] }
  | { readonly kind: 'missing' }
  | { readonly kind: 'not-a-directory' };

export interface BlobCacheOptions {
  /** Budget for blob bytes plus an estimate for listings. Default 64 MiB. */
  readonly maxBytes?: number;
}

export interface BlobCacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
}

export const DEFAULT_BLOB_CACHE_BYTES = 64 * 1024 * 1024;

type Value = Uint8Array | PolicyListing | RepoTree;

export class BlobCache {
  readonly #maxBytes: number;
  /** Map iteration order is insertion order: re-inserting on use makes the first key the LRU one. */
  readonly #entries = new Map<string, { readonly value: Value; readonly bytes: number }>();
  readonly #inflight = new Map<string, Promise<Value>>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(options: BlobCacheOptions = {}) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_BLOB_CACHE_BYTES;
  }

  /** Blob content by SHA. The bytes are shared: callers must not modify them. */
  getBlob(sha: string): Uint8Array | undefined {
    const v = this.#get(blobKey(sha));
    return v instanceof Uint8Array ? v : undefined;
  }

  setBlob(sha: string, content: Uint8Array): void {
    this.#set(blobKey(sha), content, content.byteLength);
  }

  /** The cached blob, or the result of `fetch` (stored). Concurrent callers share one fetch. */
  async blob(sha: string, fetch: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const v = await this.#through(blobKey(sha), fetch, (b) => b.byteLength);
    if (!(v instanceof Uint8Array)) throw new Error(`blob cache: entry ${sha} is not a blob`);
    return v;
  }

  /** The cached listing for `key` (repo, commit, dir, format), or the result of `fetch`. */
  async listing(key: string, fetch: () => Promise<PolicyListing>): Promise<PolicyListing> {
    const v = await this.#through(`t:${key}`, fetch, listingBytes);
    if (v instanceof Uint8Array || !('kind' in v)) throw new Error(`blob cache: entry ${key} is not a listing`);
    return v;
  }

  /**
   * The cached tree of a commit (`key`: repo and commit), or the result of `fetch`. A truncated
   * tree, or one over an eighth of the budget (a monorepo), is not kept: it would push out the
   * blobs, and only a complete tree can start the next push's delta.
   */
  async tree(key: string, fetch: () => Promise<RepoTree>): Promise<RepoTree> {
    const size = (t: RepoTree): number => {
      const bytes = treeBytes(t);
      return t.truncated || bytes > this.#maxBytes / 8 ? Number.POSITIVE_INFINITY : bytes;
    };
    const v = await this.#through(`r:${key}`, fetch, size);
    if (v instanceof Uint8Array || !('entries' in v)) throw new Error(`blob cache: entry ${key} is not a tree`);
    return v;
  }

  /** The cached tree of a commit, without fetching. */
  getTree(key: string): RepoTree | undefined {
    const v = this.#get(`r:${key}`);
    return v !== undefined && !(v instanceof Uint8Array) && 'entries' in v ? v : undefined;
  }

  stats(): BlobCacheStats {
    return {
      entries: this.#entries.size,
      bytes: this.#bytes,
      maxBytes: this.#maxBytes,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    };
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  async #through<V extends Value>(key: string, fetch: () => Promise<V>, size: (v: V) => number): Promise<Value> {
    const hit = this.#get(key);
    if (hit !== undefined) return hit;
    const pending = this.#inflight.get(key);
    if (pending !== undefined) {
      try {
        return await pending;
      } catch {
        // Another caller's failure (its credentials, its abort) is not ours: fetch ourselves.
      }
    }
    this.#misses++;
    const p = fetch();
    this.#inflight.set(key, p);
    try {
      const v = await p;
      this.#set(key, v, size(v));
      return v;
    } finally {
      if (this.#inflight.get(key) === p) this.#inflight.delete(key);
    }
  }

  #get(key: string): Value | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#hits++;
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e.value;
  }

  #set(key: string, value: Value, bytes: number): void {
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= old.bytes;
    }
    // Larger than the whole budget: caching it would only evict everything else.
    if (bytes > this.#maxBytes) return;
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= e.bytes;
      this.#evictions++;
    }
  }
}

function blobKey(sha: string): string {
  return `b:${sha.toLowerCase()}`;
}

/** What a listing costs in memory, roughly: its strings plus per-object overhead. */
function listingBytes(l: PolicyListing): number {
  if (l.kind !== 'found') return 64;
  let n = 64;
  for (const f of l.files) n += 2 * (f.path.length + f.sha.length + f.mode.length + (f.linkTarget?.length ?? 0)) + 96;
  return n;
}

function treeBytes(t: RepoTree): number {
  let n = 64;
  for (const e of t.entries) n += 2 * (e.path.length + e.sha.length + e.mode.length) + 112;
  return n;
}

let shared: BlobCache | undefined;

/** The process-wide cache: lives as long as a warm function does. */
export function sharedBlobCache(): BlobCache {
  shared ??= new BlobCache();
  return shared;
}
