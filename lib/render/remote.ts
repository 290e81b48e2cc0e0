/**
 * Remote kustomize bases, fetched and checked by pushsync itself (issue #12 §4), before
 * kustomize runs:
 *
 *   resolveRemoteBases(files, root, {allow, limits?, signal?}) → {files, fetched, errors}
 *   placeRemoteErrors(errors, files)                           → errors on the kustomization that asked
 *
 * Left to kustomize, a remote base is cloned at render time and nothing checks what it pulls in
 * (an exec plugin, a read of the renderer's files). Here each `resources`/`bases`/`components`
 * entry in an accepted form (remote-ref.ts) whose repository the allow-list lets in is fetched
 * (git-fetch.ts), put into the snapshot under REMOTE_ROOT (`.git/pushsync-remote/<n>/`, a path
 * no repository file can have), and the entry is rewritten, on its own line, to the relative path
 * of the fetched directory. checkKustomization then walks fetched bases exactly like local ones
 * (plugins, outside reads, and a fetched base may only read its own repository). Remote bases in
 * fetched bases are fetched too, up to a depth and a count; one repository and ref is fetched
 * once per render. REMOTE_INDEX records which entry asked for each fetched base, so origin.ts
 * and placeRemoteErrors can name that entry instead of the internal path.
 */
import type { SourceFile, VetError } from '../repo/types.ts';
import { pathError } from '../repo/errors.ts';
import { dirOf } from '../repo/paths.ts';
import { RENDER_ERROR_CODE, remoteEntries, type RemoteEntry } from './kustomization.ts';
import { fetchRemoteBase, type RemoteFetchLimits } from './git-fetch.ts';
import { REMOTE_INDEX, REMOTE_ROOT, allowedBy, describeBase, fetchedOf, isRefused, parseRemoteBase, type FetchedBase } from './remote-ref.ts';

export interface ResolveRemoteOptions {
  /** URL prefixes of repositories that may be fetched (remote-ref.ts remoteBasesFrom). */
  readonly allow: readonly string[];
  readonly limits?: RemoteFetchLimits;
  readonly signal?: AbortSignal;
  /** Remote bases inside fetched bases, how deep. Default 5. */
  readonly maxDepth?: number;
  /** Repositories fetched for one render. Default 20. */
  readonly maxFetches?: number;
  /** Wall clock for all of one render's fetches (each also has its own, RemoteFetchLimits.timeoutMs). Default 120 s. */
  readonly totalTimeoutMs?: number;
  /** Where the fetches' temp dirs are made (default os.tmpdir()). */
  readonly tmpRoot?: string;
}

export const DEFAULT_REMOTE_DEPTH = 5;
export const DEFAULT_REMOTE_FETCHES = 20;
export const DEFAULT_REMOTE_TOTAL_MS = 120_000;

export interface ResolvedRemotes {
  /** The snapshot with fetched bases added, their entries rewritten, and REMOTE_INDEX when anything was fetched. */
  readonly files: readonly SourceFile[];
  readonly fetched: readonly FetchedBase[];
  /**
   * Entries that could not be fetched (outside the allow-list, too deep, too many, the fetch
   * failed), on the kustomization that holds them: placeRemoteErrors puts those inside fetched
   * bases on the repository's entry.
   */
  readonly errors: readonly VetError[];
}

export async function resolveRemoteBases(input: readonly SourceFile[], root: string, o: ResolveRemoteOptions): Promise<ResolvedRemotes> {
  const maxDepth = o.maxDepth ?? DEFAULT_REMOTE_DEPTH;
  const maxFetches = o.maxFetches ?? DEFAULT_REMOTE_FETCHES;
  const files = new Map(input.map((f) => [f.path, f]));
  const fetched: FetchedBase[] = [];
  /** repo + ref → the fetch's outcome (a failure is not retried in the same render). */
  const byKey = new Map<string, { kind: 'fetched'; index: number } | { kind: 'failed'; message: string }>();
  const handled = new Set<string>();
  const errors: VetError[] = [];
  let fetches = 0;
  const totalMs = o.totalTimeoutMs ?? DEFAULT_REMOTE_TOTAL_MS;
  const total = AbortSignal.timeout(totalMs);
  const signal = o.signal ? AbortSignal.any([o.signal, total]) : total;

  for (;;) {
    const pending = remoteEntries([...files.values()], root).filter((e) => !handled.has(entryKey(e)));
    if (pending.length === 0) break;
    for (const e of pending) {
      handled.add(entryKey(e));
      const parsed = parseRemoteBase(e.value);
      if (isRefused(parsed)) continue; // checkKustomization says why, with the accepted forms
      const from = fetchedOf(fetched, e.kustomization);
      const fail = (message: string): void => {
        errors.push(pathError(RENDER_ERROR_CODE, `${e.field} entry ${JSON.stringify(e.value)} ${message}`, e.kustomization, e.line));
      };
      const depth = from === undefined ? 1 : from.via.length + 2;
      if (depth > maxDepth) {
        fail(`is a remote base ${depth} levels deep: pushsync follows remote bases ${maxDepth} levels deep at most`);
        continue;
      }
      if (allowedBy(parsed.repo, o.allow) === undefined) {
        fail(
          o.allow.length === 0
            ? `is a remote base, and no remote bases are allowed here: set PUSHSYNC_REMOTE_BASES (the remoteBases parameter of the functions) to URL prefixes of the repositories to allow, or vendor it into the repository`
            : `is a remote base outside the allowed repositories (${o.allow.join(', ')}): add a prefix of ${parsed.repo} to PUSHSYNC_REMOTE_BASES (the remoteBases parameter of the functions), or vendor it into the repository`,
        );
        continue;
      }
      const key = `${parsed.repo}\u0000${parsed.ref ?? ''}`;
      let got = byKey.get(key);
      if (got === undefined) {
        if (fetches >= maxFetches) {
          fail(`is not fetched: one render fetches ${maxFetches} remote repositories at most`);
          continue;
        }
        fetches++;
        const r = await fetchRemoteBase(parsed, o.limits, signal, o.tmpRoot);
        if (r.kind === 'failed') {
          const over = total.aborted && !o.signal?.aborted;
          got = { kind: 'failed', message: over ? `one render's fetches took more than the ${Math.round(totalMs / 100) / 10} s allowed for them all, and this one was stopped` : r.message };
        }
        else {
          const index = fetched.length;
          const dir = `${REMOTE_ROOT}${index}`;
          for (const f of r.files) files.set(`${dir}/${f.path}`, { path: `${dir}/${f.path}`, content: f.content });
          fetched.push({
            dir,
            base: describeBase(parsed),
            repo: parsed.repo,
            commit: r.commit,
            path: from?.path ?? e.kustomization,
            line: from?.line ?? e.line ?? 1,
            via: from === undefined ? [] : [...from.via, `${from.base}@${short(from.commit)}: ${within(from, e.kustomization)}:${e.line ?? 1}`],
          });
          got = { kind: 'fetched', index };
        }
        byKey.set(key, got);
      }
      if (got.kind === 'failed') {
        fail(`is a remote base that could not be fetched from ${parsed.repo}: ${got.message}`);
        continue;
      }
      const base = fetched[got.index] as FetchedBase;
      const target = parsed.dir === '' ? base.dir : `${base.dir}/${parsed.dir}`;
      if (![...files.keys()].some((p) => p.startsWith(`${target}/`))) {
        fail(`is a remote base whose repository has no directory ${JSON.stringify(parsed.dir)} at ${parsed.ref ?? 'its default branch'} (commit ${base.commit})`);
        continue;
      }
      const rewritten = rewriteEntry(files.get(e.kustomization) as SourceFile, e, relativeTo(dirOf(e.kustomization), target));
      if (rewritten === undefined) {
        fail('is a remote base written in a way pushsync cannot rewrite to the fetched copy: write the URL as a plain or quoted string on the line of its list item');
        continue;
      }
      files.set(e.kustomization, rewritten);
    }
  }
  if (fetched.length > 0) files.set(REMOTE_INDEX, { path: REMOTE_INDEX, content: `${JSON.stringify(fetched, null, 2)}\n` });
  return { files: [...files.values()], fetched, errors };
}

/**
 * Errors whose path is inside a fetched base, put on the repository's kustomization entry that
 * brought the base in, the message saying which base, commit and file: the internal path means
 * nothing to the person who pushed. Internal paths inside messages (kustomize names them) become
 * the base's URL.
 */
export function placeRemoteErrors(errors: readonly VetError[], fetched: readonly FetchedBase[]): VetError[] {
  if (fetched.length === 0) return [...errors];
  return errors.map((e) => {
    const message = unmaskPaths(e.message, fetched);
    const f = e.path === undefined ? undefined : fetchedOf(fetched, e.path);
    if (f === undefined || e.path === undefined) return message === e.message ? e : { ...e, message };
    const where = `${within(f, e.path)}${e.line !== undefined ? `:${e.line}` : ''}`;
    return pathError(e.code, `${chain(f)}${where}: ${message}`, f.path, f.line);
  });
}

// ---------------------------------------------------------------------------------------------

function entryKey(e: RemoteEntry): string {
  return `${e.kustomization}\u0000${e.line ?? ''}\u0000${e.field}\u0000${e.value}`;
}

/** "remote base X@abc1234 (through Y@…: k.yaml:3), " — the chain of bases down to `f`. */
function chain(f: FetchedBase): string {
  const via = f.via.length === 0 ? '' : ` (through ${f.via.join(', ')})`;
  return `remote base ${f.base} at commit ${short(f.commit)}${via}, `;
}

/** A path inside a fetched base, relative to its repository. */
function within(f: FetchedBase, p: string): string {
  return p === f.dir ? '.' : p.slice(f.dir.length + 1);
}

function short(sha: string): string {
  return sha.slice(0, 12);
}

/** `../../.git/pushsync-remote/0/base/x.yaml` in a tool's message → `https://host/org/repo@abc1234/base/x.yaml`. */
function unmaskPaths(message: string, fetched: readonly FetchedBase[]): string {
  const re = new RegExp(`(?:\\.\\./)*${escapeRe(REMOTE_ROOT)}(\\d+)`, 'g');
  return message.replace(re, (whole, n: string) => {
    const f = fetched[Number(n)];
    return f ? `${f.repo}@${short(f.commit)}` : whole;
  });
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The relative path from snapshot directory `from` ('' = root) to `to`. */
function relativeTo(from: string, to: string): string {
  const a = from === '' ? [] : from.split('/');
  const b = to.split('/');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/') || '.';
}

/**
 * The kustomization with entry `e` replaced by `replacement`, edited on the entry's line only
 * (a YAML round trip could change what kustomize reads, and every other line keeps its number,
 * so errors and origins still point at what was written). Undefined when the URL is not written
 * literally on that line (a folded or escaped scalar).
 */
function rewriteEntry(file: SourceFile, e: RemoteEntry, replacement: string): SourceFile | undefined {
  if (e.line === undefined) return undefined;
  const text = typeof file.content === 'string' ? file.content : new TextDecoder('utf-8').decode(file.content);
  const lines = text.split('\n');
  const line = lines[e.line - 1];
  if (line === undefined) return undefined;
  const at = line.indexOf(e.value);
  if (at < 0) return undefined;
  lines[e.line - 1] = `${line.slice(0, at)}${replacement}${line.slice(at + e.value.length)}`;
  return { path: file.path, content: lines.join('\n') };
}
