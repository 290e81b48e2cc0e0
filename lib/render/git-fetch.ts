/**
 * One remote base fetched from git over smart HTTP (issue #12 §4), with isomorphic-git: the
 * Lambda runtime has no `git` binary, so a pure-JS client is the one code path for the CLI and
 * the functions.
 *
 *   fetchRemoteBase(base, limits) → {files (paths from the repository root), commit} | {error}
 *
 * pushsync gives isomorphic-git its own HTTP client over Node's fetch, so the fetch is bounded
 * the way rendering is: a wall-clock limit (and the caller's AbortSignal), a limit on the bytes
 * downloaded, no redirect to another host, nothing sent but what git needs (no credentials, no
 * cookies). A branch or tag is fetched shallow (one commit, one branch, no tags); a commit SHA
 * is asked for directly, and when the server will not serve an arbitrary commit, by fetching
 * its branches whole, still within the byte limit. The checkout goes to a private temp dir that
 * is always removed, and is read back with lib/source's reader (symlinks that leave the
 * checkout are errors, `.git` is skipped).
 */
import * as fs from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type IsomorphicGit from 'isomorphic-git';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import type { SourceFile } from '../repo/types.ts';
import { readLocalDir } from '../source/index.ts';
import type { RemoteBase } from './remote-ref.ts';

export interface RemoteFetchLimits {
  /** Wall clock for one repository's fetch and checkout. Default 30 s. */
  readonly timeoutMs?: number;
  /** Bytes downloaded for one repository (every response body). Default 32 MiB. */
  readonly maxBytes?: number;
  /** Bytes of the checked-out files read back. Default 64 MiB. */
  readonly maxFileBytes?: number;
}

export const DEFAULT_REMOTE_FETCH_LIMITS: Required<RemoteFetchLimits> = { timeoutMs: 30_000, maxBytes: 32 * 1024 * 1024, maxFileBytes: 64 * 1024 * 1024 };

export type FetchedRepo =
  | { readonly kind: 'fetched'; readonly files: readonly SourceFile[]; readonly commit: string }
  | { readonly kind: 'failed'; readonly message: string };

/** Redirects followed within one host (a renamed repository); none to another host. */
const MAX_REDIRECTS = 5;

// Loaded on the first remote base: importing isomorphic-git costs every CLI run (vet included)
// about 19 MB of RSS and 0.15 s of CPU, and only a remote base uses it.
let git: typeof IsomorphicGit;

export async function fetchRemoteBase(base: RemoteBase, limits: RemoteFetchLimits = {}, signal?: AbortSignal, tmpRoot?: string): Promise<FetchedRepo> {
  git ??= (await import('isomorphic-git')).default;
  const l = { ...DEFAULT_REMOTE_FETCH_LIMITS, ...limits };
  const timeout = AbortSignal.timeout(l.timeoutMs);
  const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const budget = { left: l.maxBytes };
  const http = boundedHttp(base.repo, stop, budget);
  const temp = await realpath(await mkdtemp(path.join(tmpRoot ?? tmpdir(), 'pushsync-remote-')));
  const dir = path.join(temp, 'checkout');
  let work: Promise<string> | undefined;
  try {
    work = fetchInto(dir, base, http);
    const commit = await raceAbort(stop, work);
    const read = await readLocalDir(dir, { sourceFormat: 'unstructured', everything: true, maxTotalBytes: l.maxFileBytes });
    if (read.errors.length > 0) {
      const e = read.errors[0];
      return { kind: 'failed', message: `its files cannot be read: ${e?.path ? `${e.path}: ` : ''}${e?.message ?? ''}` };
    }
    return { kind: 'fetched', files: read.snapshot.files, commit };
  } catch (err) {
    if (timeout.aborted) return { kind: 'failed', message: `the fetch did not finish within the ${Math.round(l.timeoutMs / 100) / 10} s time limit and was stopped` };
    if (signal?.aborted) return { kind: 'failed', message: 'the fetch was cancelled' };
    if (budget.left < 0) return { kind: 'failed', message: `the fetch downloaded more than the ${bytes(l.maxBytes)} limit and was stopped` };
    return { kind: 'failed', message: describeGitError(err, base) };
  } finally {
    // An abandoned fetch stops at its next request (the same signal); let it, so it writes nothing after the removal.
    if (work) await Promise.race([work.catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    await rm(temp, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Fetch `base.ref` into a fresh repository at `dir` and check it out; the commit's SHA. */
async function fetchInto(dir: string, base: RemoteBase, http: HttpClient): Promise<string> {
  await freshRepo(dir, base.repo);
  const common = { fs, http, dir, remote: 'origin', tags: false, singleBranch: true } as const;
  const ref = base.ref ?? 'HEAD';
  let fetched: string | null;
  if (/^[0-9a-f]{40}$/.test(ref)) {
    // Smart HTTP serves any commit reachable from a ref (git's stateless upload-pack, GitHub,
    // GitLab): ask for it alone. isomorphic-git does not report a server that refuses, so look.
    try {
      await git.fetch({ ...common, ref, depth: 1 });
    } catch (err) {
      if (isAbortLike(err)) throw err;
    }
    if (!(await hasObject(dir, ref))) {
      // Else every branch, whole (bounded by the byte limit), and the commit must be in them.
      await freshRepo(dir, base.repo);
      await git.fetch({ ...common, singleBranch: false, ref: 'HEAD' });
    }
    fetched = ref;
  } else {
    fetched = (await git.fetch({ ...common, ref, depth: 1 })).fetchHead;
  }
  if (fetched === null) throw new Error(`the remote has no ${base.ref === undefined ? 'default branch' : `ref ${JSON.stringify(ref)}`}`);
  const commit = await peel(dir, fetched);
  await git.checkout({ fs, dir, ref: commit, force: true });
  return commit;
}

/** An empty repository at `dir` whose `origin` is `url` (isomorphic-git writes fetched refs under its refspec). */
async function freshRepo(dir: string, url: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await git.init({ fs, dir, defaultBranch: 'pushsync' });
  await git.addRemote({ fs, dir, remote: 'origin', url });
}

async function hasObject(dir: string, oid: string): Promise<boolean> {
  try {
    await git.readObject({ fs, dir, oid, format: 'deflated' });
    return true;
  } catch {
    return false;
  }
}

/** An annotated tag's commit (tags are not fetched as refs, the tag object comes with the pack). */
async function peel(dir: string, oid: string): Promise<string> {
  for (let i = 0; i < 8; i++) {
    const o = await git.readObject({ fs, dir, oid, format: 'parsed' });
    if (o.type === 'commit') return oid;
    if (o.type !== 'tag') throw new Error(`the ref names a ${o.type}, not a commit`);
    oid = (o.object as { object: string }).object;
  }
  throw new Error('the ref is a chain of tags too long to follow');
}

/** Rejects as soon as `signal` aborts, even while isomorphic-git works on something that does not listen to it. */
function raceAbort<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(toError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(toError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(toError(e));
      },
    );
  });
}

/**
 * isomorphic-git's HTTP client, over fetch: only `origin` is ever asked (a redirect within it
 * is followed, to another host refused), no Authorization or Cookie header leaves, and every
 * response body counts against `budget` as it streams.
 */
export function boundedHttp(repo: string, signal: AbortSignal, budget: { left: number }): HttpClient {
  const origin = new URL(repo).origin;
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers ?? {})) if (!/^(authorization|cookie|proxy-authorization)$/i.test(k)) headers[k] = v;
      const body = req.body ? await collect(req.body) : undefined;
      let url = req.url;
      for (let hop = 0; ; hop++) {
        if (new URL(url).origin !== origin) throw new Error(`the server redirected to another host (${new URL(url).origin}); only ${origin} is fetched from`);
        const res = await fetch(url, {
          method: req.method ?? 'GET',
          headers,
          ...(body ? { body } : {}),
          redirect: 'manual',
          credentials: 'omit',
          signal,
        });
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location !== null) {
          await res.body?.cancel();
          if (hop >= MAX_REDIRECTS) throw new Error('the server redirected too many times');
          url = new URL(location, url).toString();
          continue;
        }
        return {
          url,
          method: req.method ?? 'GET',
          statusCode: res.status,
          statusMessage: res.statusText,
          headers: Object.fromEntries(res.headers.entries()),
          body: counted(res.body, budget, signal),
        };
      }
    },
  };
}

async function collect(body: AsyncIterableIterator<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of body) parts.push(p);
  return Buffer.concat(parts);
}

async function* counted(body: ReadableStream<Uint8Array> | null, budget: { left: number }, signal: AbortSignal): AsyncIterableIterator<Uint8Array> {
  if (body === null) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      budget.left -= value.byteLength;
      if (budget.left < 0) throw new Error('download limit passed');
      if (signal.aborted) throw toError(signal.reason);
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function bytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round((n / 1024 / 1024) * 10) / 10} MiB` : n >= 1024 ? `${Math.round((n / 1024) * 10) / 10} KiB` : `${n} bytes`;
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function isAbortLike(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError' || err.message === 'download limit passed');
}

/** isomorphic-git's errors in words about the base, without stack traces. */
function describeGitError(err: unknown, base: RemoteBase): string {
  const e = err as { code?: string; message?: string; data?: { statusCode?: number; statusMessage?: string } };
  const sha = base.ref !== undefined && /^[0-9a-f]{40}$/.test(base.ref);
  if (e.code === 'NotFoundError' && sha) return `the repository has no commit ${base.ref} on its branches`;
  if (e.code === 'NotFoundError') return `the repository has no branch or tag ${JSON.stringify(base.ref ?? 'HEAD')}`;
  if (e.code === 'HttpError') {
    const status = e.data?.statusCode;
    if (status === 401 || status === 403 || status === 404) return `the server answered HTTP ${status}: the repository does not exist or is not public (pushsync sends no credentials)`;
    return `the server answered HTTP ${status ?? '?'} ${e.data?.statusMessage ?? ''}`.trimEnd();
  }
  if (e.code === 'SmartHttpError' || e.code === 'UnknownTransportError') return 'the server does not speak git smart HTTP';
  if (e.code === 'RemoteCapabilityError') return `the server cannot do a shallow fetch: ${e.message ?? ''}`;
  const msg = e.message ?? String(err);
  if (/not found|could not find|missing/i.test(msg) && sha) return `the repository has no commit ${base.ref} on its branches`;
  return msg.split('\n')[0] ?? 'the fetch failed';
}
