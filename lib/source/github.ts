/**
 * The GitHub source: the policy dir at one commit, read through the REST API without a clone.
 *
 * One recursive tree call lists the commit; only the blobs the engine will read (policy files
 * under the policy dir, filtered like the local source) are downloaded, each through the
 * content-addressed BlobCache, so a warm function pays one call for an unchanged policy dir and
 * one more per changed file. Listings are cached by commit too (a commit's tree never changes).
 *
 * A warm function reading a push can skip even the tree call: given the push's changed paths
 * and new root tree SHA (`delta`, from the signed webhook payload) and the previous commit's
 * tree in the cache, it fetches the changed paths only (one contents call each, which is also
 * their download) and rebuilds the new tree, used only if it hashes to the payload's SHA
 * (git-tree.ts). Anything unusual (a symlink, a large file, a renamed directory, a mismatch)
 * falls back to the tree call.
 *
 * A `truncated` recursive tree (GitHub stops at 100,000 entries / 7 MB) falls back to trees of
 * the policy dir only: the dir's own recursive tree if that fits, else one non-recursive call per
 * directory the engine reads. Not the tarball: it is the whole (by definition huge) repository on
 * every push, bypasses the blob cache, and needs a tar reader we do not have.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Octokit } from '@octokit/rest';
import { GitHubError, isGitHubError } from '../github/errors.ts';
import type { SourceFile, SourceFormat, VetError } from '../repo/types.ts';
import { sharedBlobCache } from './blob-cache.ts';
import type { BlobCache, ListedFile, PolicyListing, RepoTree } from './blob-cache.ts';
import { applyChanges, type PathChange, type RepoTreeEntry } from './git-tree.ts';
export { BlobCache, sharedBlobCache, DEFAULT_BLOB_CACHE_BYTES } from './blob-cache.ts';
export type { BlobCacheOptions, BlobCacheStats, RepoTree } from './blob-cache.ts';
import { compareCodePoints, isPolicyDir, isPolicyFile, isRootKustomization, isSkippedPath, validateSnapshotPath } from '../repo/files.ts';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_TOTAL_BYTES, PATH_ERROR_CODE, type SnapshotResult } from './types.ts';

export interface ReadGitHubOptions {
  readonly owner: string;
  readonly repo: string;
  /** Full commit SHA (the push's `after`). */
  readonly commit: string;
  /** Policy dir relative to the repository root (`policy`, `config/acm`); `''` or `.` for the root. */
  readonly dir: string;
  readonly sourceFormat: SourceFormat;
  /** Per-file limit in bytes (tree sizes are checked before downloading). */
  readonly maxFileBytes?: number;
  readonly maxTotalBytes?: number;
  /** Default: the process-wide cache. */
  readonly cache?: BlobCache;
  /** Blob downloads in flight at once. Default 8. */
  readonly concurrency?: number;
  /** What the push changed since a commit whose tree may be cached (see the module comment). */
  readonly delta?: TreeDelta;
  /** Aborts every GitHub call of this read (a job at its deadline): the read then throws. */
  readonly signal?: AbortSignal;
  /**
   * Every file, not only the policy files of `sourceFormat` (rendering reads a chart's
   * templates and kustomize's patches); skipped paths (`.git`, `.github`, …) stay skipped.
   */
  readonly everything?: boolean;
}

/** From a push payload: `commit` = `base` + the content of `paths` now, whose root tree is `treeId`. */
export interface TreeDelta {
  readonly base: string;
  readonly treeId: string;
  /** Changed paths from the repository root (added, modified or removed by the push's commits). */
  readonly paths: readonly string[];
}

export const GITHUB_SOURCE_DEFAULTS = { concurrency: 8 } as const;

const COMMIT_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/i;
const MAX_SYMLINK_HOPS = 8;

/**
 * Read the policy files under `dir` at `commit`. Returns the same shape as readLocalDir, with
 * `snapshot.commit` set; per-file problems are KNV2001 error values. Throws GitHubError when
 * GitHub cannot be read (`retryable` tells an outage from a permanent refusal).
 */
export async function readGitHubDir(octokit: Octokit, options: ReadGitHubOptions): Promise<SnapshotResult> {
  if (!COMMIT_SHA.test(options.commit)) {
    throw new TypeError(`readGitHubDir: commit must be a full SHA, got ${JSON.stringify(options.commit)}`);
  }
  const commit = options.commit.toLowerCase();
  const dir = normalizeDir(options.dir);
  if (dir !== '') {
    const invalid = validateSnapshotPath(dir);
    if (invalid !== undefined) return failed(commit, { ...invalid, message: `policy dir: ${invalid.message}` });
  }
  const cache = options.cache ?? sharedBlobCache();
  const ctx: Ctx = {
    octokit,
    owner: options.owner,
    repo: options.repo,
    sourceFormat: options.sourceFormat,
    everything: options.everything === true,
    limit: limiter(options.concurrency ?? GITHUB_SOURCE_DEFAULTS.concurrency),
    cache,
    request: options.signal ? { request: { signal: options.signal } } : {},
  };

  const key = `${repoKey(ctx)}@${commit}:${dir}:${options.everything ? 'everything' : options.sourceFormat}`;
  const listing = await cache.listing(key, () => listPolicyDir(ctx, commit, dir, options.delta));
  if (listing.kind === 'missing') return failed(commit, pathError(`the policy dir ${shown(dir)} does not exist at commit ${commit}`, undefined));
  if (listing.kind === 'not-a-directory') return failed(commit, pathError(`the policy dir ${shown(dir)} is not a directory at commit ${commit}`, undefined));

  const errors: VetError[] = [];
  const wanted = selectFiles(listing.files, options, errors);
  const files = await Promise.all(
    wanted.map((f) => ctx.limit(async (): Promise<SourceFile> => ({ path: f.path, content: await cache.blob(f.sha, () => fetchBlob(ctx, f.sha)) }))),
  );
  files.sort((a, b) => compareCodePoints(a.path, b.path));
  errors.sort((a, b) => compareCodePoints(a.path ?? '', b.path ?? ''));
  return { snapshot: { files, commit }, errors };
}

interface Ctx {
  readonly octokit: Octokit;
  readonly owner: string;
  readonly repo: string;
  readonly sourceFormat: SourceFormat;
  /** Every file, not only policy files (ReadGitHubOptions.everything). */
  readonly everything: boolean;
  readonly limit: Limiter;
  readonly cache: BlobCache;
  /** Octokit's per-call options, spread into every call: the caller's AbortSignal. */
  readonly request: { readonly request?: { readonly signal: AbortSignal } };
}

/** The files and directories a read takes: the format's policy files, or everything not skipped. */
const wantsFile = (ctx: Ctx, p: string): boolean => takesFile(p, ctx);
/** Policy files, plus a root kustomization in any format (it decides whether the dir is rendered). */
const takesFile = (p: string, o: { readonly everything?: boolean; readonly sourceFormat: SourceFormat }): boolean =>
  o.everything ? !isSkippedPath(p) : isPolicyFile(p, o.sourceFormat) || isRootKustomization(p);
const wantsDir = (ctx: Ctx, p: string): boolean => (ctx.everything ? !isSkippedPath(p) : isPolicyDir(p, ctx.sourceFormat));

const repoKey = (ctx: Ctx): string => `${ctx.owner}/${ctx.repo}`.toLowerCase();

interface Wanted {
  readonly path: string;
  readonly sha: string;
}

/**
 * Which listed files become snapshot files: the format's filter, path validation, symlinks
 * resolved inside the policy dir, and the size limits — all decided from the listing alone,
 * before any download.
 */
function selectFiles(listed: readonly ListedFile[], options: ReadGitHubOptions, errors: VetError[]): Wanted[] {
  const maxFile = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxTotal = options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
  const byPath = new Map(listed.map((f) => [f.path, f]));
  const sorted = [...listed].sort((a, b) => compareCodePoints(a.path, b.path));
  const out: Wanted[] = [];
  let total = 0;
  for (const entry of sorted) {
    if (!takesFile(entry.path, options)) continue;
    const invalid = validateSnapshotPath(entry.path);
    if (invalid !== undefined) {
      errors.push(invalid);
      continue;
    }
    if (entry.mode === '160000') continue; // a submodule: no content in this repository
    const target = entry.mode === '120000' ? resolveLink(entry, byPath) : { file: entry };
    if ('error' in target) {
      errors.push(pathError(target.error, entry.path));
      continue;
    }
    const size = target.file.size;
    if (size > maxFile) {
      errors.push(pathError(`file is too large: ${size} bytes, the limit is ${maxFile} bytes (${mib(maxFile)})`, entry.path));
      continue;
    }
    if (total + size > maxTotal) {
      errors.push(
        pathError(`policy dir is too large: reading this file would exceed the limit of ${maxTotal} bytes (${mib(maxTotal)}) for all files`, entry.path),
      );
      continue;
    }
    total += size;
    out.push({ path: entry.path, sha: target.file.sha });
  }
  return out;
}

/** Resolved like the local source: the target must be a regular file inside the policy dir. */
function resolveLink(link: ListedFile, byPath: ReadonlyMap<string, ListedFile>): { file: ListedFile } | { error: string } {
  let current: ListedFile = link;
  for (let hop = 0; hop < MAX_SYMLINK_HOPS; hop++) {
    const target = current.linkTarget;
    if (target === undefined) return { error: 'symbolic link could not be read' };
    const resolved = linkDestination(current.path, target);
    if (resolved === undefined) return { error: `symbolic link points outside the policy dir (to ${target})` };
    const next = byPath.get(resolved);
    if (next === undefined) return { error: 'broken symbolic link' };
    if (next.mode === '160000') return { error: 'not a regular file' };
    if (next.mode !== '120000') return { file: next };
    current = next;
  }
  return { error: `symbolic link loop (more than ${MAX_SYMLINK_HOPS} links)` };
}

/** Where a link at `linkPath` pointing at `target` lands, relative to the policy dir; undefined outside it. */
function linkDestination(linkPath: string, target: string): string | undefined {
  if (target.startsWith('/')) return undefined;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkPath), target));
  return resolved === '..' || resolved.startsWith('../') ? undefined : resolved;
}

// ---- listing ---------------------------------------------------------------------------------

interface TreeEntry {
  readonly path?: string;
  readonly mode?: string;
  readonly type?: string;
  readonly sha?: string;
  readonly size?: number;
}

interface Tree {
  readonly sha: string;
  readonly truncated: boolean;
  readonly tree: readonly TreeEntry[];
}

async function getTree(ctx: Ctx, sha: string, recursive: boolean): Promise<Tree> {
  const res = await ctx.octokit.rest.git.getTree({
    owner: ctx.owner,
    repo: ctx.repo,
    tree_sha: sha,
    ...(recursive ? { recursive: '1' } : {}),
    ...ctx.request,
  });
  return res.data;
}

async function listPolicyDir(ctx: Ctx, commit: string, dir: string, delta: TreeDelta | undefined): Promise<PolicyListing> {
  const root = await ctx.cache.tree(`${repoKey(ctx)}@${commit}`, async () => {
    const rebuilt = delta === undefined ? undefined : await treeFromDelta(ctx, commit, dir, delta);
    if (rebuilt !== undefined) return rebuilt;
    const t = await getTree(ctx, commit, true);
    return { truncated: t.truncated, entries: t.tree.flatMap(repoTreeEntry) };
  });
  let listing: PolicyListing;
  if (!root.truncated) {
    listing = fromRecursive(root.entries, dir);
  } else {
    // The truncated listing may already name the policy dir's tree: then skip walking down to it.
    const known = dir === '' ? undefined : root.entries.find((e) => e.path === dir);
    listing = await listTruncated(ctx, commit, dir, known);
  }
  return listing.kind === 'found' ? { kind: 'found', files: await withLinkTargets(ctx, listing.files) } : listing;
}

/**
 * A symlink's blob is its target path, which the tree does not show. Links are rare and tiny:
 * read the targets of links the engine would read (and of links they lead to, hop by hop) while
 * listing, so the cached listing is all selectFiles needs.
 */
async function withLinkTargets(ctx: Ctx, files: readonly ListedFile[]): Promise<ListedFile[]> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const targets = new Map<string, string>();
  let round = files.filter((f) => f.mode === '120000' && wantsFile(ctx, f.path));
  for (let hop = 0; hop < MAX_SYMLINK_HOPS && round.length > 0; hop++) {
    await Promise.all(round.map(async (f) => targets.set(f.path, new TextDecoder().decode(await ctx.limit(() => fetchBlob(ctx, f.sha))))));
    const next = new Map<string, ListedFile>();
    for (const f of round) {
      const dest = linkDestination(f.path, targets.get(f.path) ?? '');
      const to = dest === undefined ? undefined : byPath.get(dest);
      if (to !== undefined && to.mode === '120000' && !targets.has(to.path)) next.set(to.path, to);
    }
    round = [...next.values()];
  }
  return files.map((f) => {
    const linkTarget = targets.get(f.path);
    return linkTarget === undefined ? f : { ...f, linkTarget };
  });
}

function repoTreeEntry(e: TreeEntry): RepoTreeEntry[] {
  if (e.path === undefined || e.sha === undefined || (e.type !== 'blob' && e.type !== 'tree' && e.type !== 'commit')) return [];
  return [{ path: e.path, mode: e.mode ?? '100644', type: e.type, sha: e.sha, ...(e.size !== undefined ? { size: e.size } : {}) }];
}

// ---- the tree from the push's delta -----------------------------------------------------------

/** More changed paths than this and one tree call is cheaper than a contents call per path. */
export const MAX_DELTA_PATHS = 64;

/**
 * The commit's tree rebuilt from the base commit's cached tree and the changed paths, or
 * undefined when that is not possible or not cheaper (then the caller lists the commit).
 * Each changed file's content is checked against its SHA and kept in the blob cache.
 */
async function treeFromDelta(ctx: Ctx, commit: string, dir: string, delta: TreeDelta): Promise<RepoTree | undefined> {
  const base = ctx.cache.getTree(`${repoKey(ctx)}@${delta.base.toLowerCase()}`);
  if (base === undefined || base.truncated || !COMMIT_SHA.test(delta.treeId)) return undefined;
  const paths = [...new Set(delta.paths)];
  if (paths.length === 0 || paths.length > MAX_DELTA_PATHS || paths.some((p) => validateSnapshotPath(p) !== undefined)) return undefined;
  // A contents call per path costs what the tree call would save only for policy files, which
  // must be downloaded anyway: allow one other path (a README next to the configs).
  const prefix = dir === '' ? '' : `${dir}/`;
  const others = paths.filter((p) => !p.startsWith(prefix) || !takesFile(p.slice(prefix.length), { sourceFormat: ctx.sourceFormat }));
  if (others.length > 1) return undefined;

  const fetched = await Promise.all(paths.map((p) => ctx.limit(() => contentAt(ctx, commit, p))));
  // Content is cached by the SHA it hashes to, so it is right even if the tree check fails
  // below, and the fallback then downloads none of it again.
  for (const f of fetched) if (f?.kind === 'file') ctx.cache.setBlob(f.sha, f.bytes);
  const changes: PathChange[] = [];
  for (const f of fetched) {
    if (f === undefined) return undefined;
    changes.push(f.kind === 'file' ? { path: f.path, kind: 'file', sha: f.sha, size: f.bytes.byteLength } : f);
  }
  const rebuilt = applyChanges(base.entries, changes);
  if (rebuilt === undefined || rebuilt.sha !== delta.treeId.toLowerCase()) return undefined;
  return { truncated: false, entries: rebuilt.entries };
}

type Content = { readonly kind: 'file'; readonly path: string; readonly sha: string; readonly bytes: Uint8Array } | { readonly kind: 'removed'; readonly path: string };

/**
 * A path's content at `commit` through the contents API; undefined for anything but a regular
 * file of at most 1 MB (GitHub answers a symlink with its target's content, a directory with a
 * listing, a larger file without content).
 */
async function contentAt(ctx: Ctx, commit: string, p: string): Promise<Content | undefined> {
  let data: unknown;
  try {
    data = (await ctx.octokit.rest.repos.getContent({ owner: ctx.owner, repo: ctx.repo, path: p, ref: commit, ...ctx.request })).data;
  } catch (err) {
    if (isGitHubError(err) && err.code === 'GITHUB_NOT_FOUND') return { kind: 'removed', path: p };
    throw err;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const d = data as { type?: unknown; path?: unknown; sha?: unknown; content?: unknown; encoding?: unknown };
  if (d.type !== 'file' || d.path !== p || d.encoding !== 'base64' || typeof d.content !== 'string' || typeof d.sha !== 'string') return undefined;
  const bytes = Buffer.from(d.content, 'base64');
  const sha = gitBlobSha(bytes, d.sha.length === 64 ? 'sha256' : 'sha1');
  if (sha !== d.sha.toLowerCase()) return undefined;
  return { kind: 'file', path: p, sha, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

/** Entries under `dir` from a complete recursive listing of the commit. */
function fromRecursive(entries: readonly TreeEntry[], dir: string): PolicyListing {
  const prefix = dir === '' ? '' : `${dir}/`;
  if (dir !== '') {
    const self = entries.find((e) => e.path === dir);
    if (self === undefined) return { kind: 'missing' };
    if (self.type !== 'tree') return { kind: 'not-a-directory' };
  }
  const files: ListedFile[] = [];
  for (const e of entries) {
    if (e.type === 'tree' || e.path === undefined || !e.path.startsWith(prefix)) continue;
    files.push(listed(e, e.path.slice(prefix.length)));
  }
  return { kind: 'found', files };
}

async function listTruncated(ctx: Ctx, commit: string, dir: string, known: TreeEntry | undefined): Promise<PolicyListing> {
  const files: ListedFile[] = [];
  if (dir === '') {
    // The policy dir is the root, whose recursive tree was just found too big.
    await walkTrees(ctx, commit, '', files);
    return { kind: 'found', files };
  }
  let dirSha: string;
  if (known !== undefined) {
    if (known.type !== 'tree' || known.sha === undefined) return { kind: 'not-a-directory' };
    dirSha = known.sha;
  } else {
    const found = await findDirTree(ctx, commit, dir);
    if (found.kind !== 'found') return found;
    dirSha = found.sha;
  }
  const sub = await getTree(ctx, dirSha, true);
  if (!sub.truncated) return fromRecursive(sub.tree, '');
  await walkTrees(ctx, dirSha, '', files);
  return { kind: 'found', files };
}

/** Walk from the commit's root tree down to `dir`, one non-recursive tree per component. */
async function findDirTree(ctx: Ctx, commit: string, dir: string): Promise<{ kind: 'found'; sha: string } | { kind: 'missing' | 'not-a-directory' }> {
  let sha = commit;
  for (const part of dir.split('/')) {
    const tree = await getTree(ctx, sha, false);
    const entry = tree.tree.find((e) => e.path === part);
    if (entry === undefined) return { kind: 'missing' };
    if (entry.type !== 'tree' || entry.sha === undefined) return { kind: 'not-a-directory' };
    sha = entry.sha;
  }
  return { kind: 'found', sha };
}

/** One non-recursive tree call per directory the engine reads (isPolicyDir prunes the rest). */
async function walkTrees(ctx: Ctx, sha: string, rel: string, out: ListedFile[]): Promise<void> {
  const tree = await ctx.limit(() => getTree(ctx, sha, false));
  const subdirs: Promise<void>[] = [];
  for (const e of tree.tree) {
    if (e.path === undefined) continue;
    const p = rel === '' ? e.path : `${rel}/${e.path}`;
    if (e.type === 'tree') {
      if (e.sha !== undefined && wantsDir(ctx, p) && validateSnapshotPath(p) === undefined) {
        subdirs.push(walkTrees(ctx, e.sha, p, out));
      }
      continue;
    }
    out.push(listed(e, p));
  }
  await Promise.all(subdirs);
}

function listed(e: TreeEntry, p: string): ListedFile {
  return { path: p, sha: e.sha ?? '', size: e.size ?? 0, mode: e.mode ?? '100644' };
}

// ---- blobs ---------------------------------------------------------------------------------

/** Download one blob and check its bytes hash to its SHA: the cache trusts content by name. */
async function fetchBlob(ctx: Ctx, sha: string): Promise<Uint8Array> {
  const res = await ctx.octokit.rest.git.getBlob({ owner: ctx.owner, repo: ctx.repo, file_sha: sha, ...ctx.request });
  const { content, encoding } = res.data;
  const bytes = encoding === 'base64' ? Buffer.from(content, 'base64') : encoding === 'utf-8' ? Buffer.from(content, 'utf8') : undefined;
  const call = `GET /repos/${ctx.owner}/${ctx.repo}/git/blobs/${sha}`;
  if (bytes === undefined) {
    throw new GitHubError(`GitHub call ${call} returned content in an unknown encoding ${JSON.stringify(encoding)}`, {
      code: 'GITHUB_BAD_RESPONSE',
      call,
      retryable: false,
    });
  }
  const actual = gitBlobSha(bytes, sha.length === 64 ? 'sha256' : 'sha1');
  if (actual !== sha.toLowerCase()) {
    throw new GitHubError(`GitHub call ${call} returned ${bytes.byteLength} bytes that hash to ${actual}, not to the blob's SHA`, {
      code: 'GITHUB_BAD_RESPONSE',
      call,
      retryable: true,
    });
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The object name git gives these bytes as a blob. */
export function gitBlobSha(bytes: Uint8Array, algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  return createHash(algorithm).update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

// ---- helpers -------------------------------------------------------------------------------

type Limiter = <T>(fn: () => Promise<T>) => Promise<T>;

/** At most `n` functions running at once, in call order. */
function limiter(n: number): Limiter {
  let active = 0;
  const queue: (() => void)[] = [];
  const next = () => {
    if (active >= n) return;
    const start = queue.shift();
    if (start !== undefined) start();
  };
  return (fn) =>
    new Promise((resolve, reject) => {
      queue.push(() => {
        active++;
        fn()
          .then(resolve, reject)
          .finally(() => {
            active--;
            next();
          });
      });
      next();
    });
}

/** `./policy/` → `policy`; `.` and `` → `` (the repository root). */
export function normalizeDir(dir: string): string {
  let d = dir.trim();
  while (d.startsWith('./')) d = d.slice(2);
  d = d.replace(/\/+$/, '');
  return d === '.' ? '' : d;
}

function shown(dir: string): string {
  return dir === '' ? '(repository root)' : JSON.stringify(dir);
}

function failed(commit: string, error: VetError): SnapshotResult {
  return { snapshot: { files: [], commit }, errors: [error] };
}

function pathError(message: string, p: string | undefined): VetError {
  return p === undefined ? { code: PATH_ERROR_CODE, message } : { code: PATH_ERROR_CODE, message, path: p };
}

function mib(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
}
