/**
 * Remote kustomize bases as written in a kustomization (issue #12 §4), read without I/O: which
 * `resources`/`bases`/`components` entries are git repositories pushsync fetches itself, and
 * which repositories the allow-list lets in.
 *
 *   parseRemoteBase(ref)        → {repo, dir, ref?} | {refused: why}
 *   remoteBasesFrom(env)        → the allow-list (PUSHSYNC_REMOTE_BASES, or the public hosts)
 *   allowedBy(repo, prefixes)   → the prefix that lets `repo` in, or undefined
 *   fetchedBasesIn(files)       → what remote.ts fetched into a snapshot (its REMOTE_INDEX)
 *
 * The forms are kustomize's (api/internal/git/repospec.go) over https only: `https://host/org/repo//dir?ref=v1`,
 * `git::https://…`, `https://host/org/repo.git/dir?ref=…`, and on github.com, gitlab.com and
 * bitbucket.org `https://host/org/repo/dir?ref=…` or `host/org/repo/dir?ref=…` (the first two
 * path segments are the repository). ssh and scp-like git (credentials of the machine),
 * file:// (the renderer's own files), git:// (no TLS) and a URL to a single file are refused:
 * pushsync cannot fetch them without a key, or should not.
 */
import type { SourceFile } from '../repo/types.ts';

/** A remote base pushsync fetches: the repository (no credentials, no query), the directory in it, the ref. */
export interface RemoteBase {
  /** `https://host/path` (or http:// where the allow-list says so); what is cloned and matched against the allow-list. */
  readonly repo: string;
  /** The directory inside the repository holding the kustomization; '' for its root. */
  readonly dir: string;
  /** Branch, tag or 40-hex commit; undefined: the remote's default branch. */
  readonly ref?: string;
}

export type ParsedRemote = RemoteBase | { readonly refused: string };

/** One fetched base, as REMOTE_INDEX records it. */
export interface FetchedBase {
  /** Its checkout in the snapshot: `.git/pushsync-remote/<n>`. */
  readonly dir: string;
  /** The base as written (repo//dir?ref=…), its repository, and the commit it resolved to. */
  readonly base: string;
  readonly repo: string;
  readonly commit: string;
  /** The repository's kustomization (never a fetched one) and entry line that brought it in, maybe through other fetched bases. */
  readonly path: string;
  readonly line: number;
  /** Fetched bases in between, outermost first (empty when the repository's own kustomization asked). */
  readonly via: readonly string[];
}

/** How an accepted entry is written: said in every refusal. */
export const ACCEPTED_FORMS = 'https://host/org/repo//dir?ref=v1 (also git::https://…, https://host/org/repo.git/dir?ref=v1, or github.com/org/repo/dir?ref=v1)';

/** The hosts where the first two path segments are the repository (kustomize's "standard" hosts). */
const TWO_SEGMENT_HOSTS = new Set(['github.com', 'gitlab.com', 'bitbucket.org']);
/** Query parameters kustomize reads; `timeout` and `submodules` are tolerated, pushsync's own limits apply and submodules are not fetched. */
const QUERY_KEYS = new Set(['ref', 'version', 'timeout', 'submodules']);

/**
 * Where fetched bases sit in the snapshot kustomize renders: `.git/` is the one directory no
 * snapshot holds (no reader returns it, git trees cannot hold it), so a fetched base never
 * collides with a file of the repository; run.ts writes every valid path, this one too.
 */
export const REMOTE_ROOT = '.git/pushsync-remote/';
/** Which entry brought each fetched base in (remote.ts writes it, origin.ts reads it). */
export const REMOTE_INDEX = `${REMOTE_ROOT}index.json`;

export const DEFAULT_REMOTE_BASES: readonly string[] = ['https://github.com/', 'https://gitlab.com/', 'https://bitbucket.org/'];
export const REMOTE_BASES_ENV = 'PUSHSYNC_REMOTE_BASES';

/**
 * Read one `resources`/`bases`/`components` entry that isRemote() flagged. Only https (or
 * http) git repositories are accepted; everything else says why not.
 */
export function parseRemoteBase(raw: string): ParsedRemote {
  let s = raw.trim();
  if (s.startsWith('git::')) s = s.slice('git::'.length);
  if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.test(s) || /^ssh:\/\//i.test(s)) return { refused: 'it is an ssh URL, which needs the machine\'s keys' };
  if (/^file:/i.test(s)) return { refused: "a file:// URL reads the renderer's own files" };
  if (/^git:\/\//i.test(s)) return { refused: 'git:// has no TLS' };
  if (/^(github\.com|gitlab\.com|bitbucket\.org)\//i.test(s)) s = `https://${s}`;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)?.[1]?.toLowerCase();
  if (scheme !== 'https' && scheme !== 'http') return { refused: `the ${scheme ?? 'unknown'}:// scheme is not fetched` };

  // Split the query off first: `//` inside it must not be read as the repo/dir separator.
  const q = s.indexOf('?');
  const query = q < 0 ? '' : s.slice(q + 1);
  const noQuery = q < 0 ? s : s.slice(0, q);
  const afterScheme = noQuery.slice(scheme.length + 3);
  const slash = afterScheme.indexOf('/');
  const hostPart = slash < 0 ? afterScheme : afterScheme.slice(0, slash);
  const pathPart = slash < 0 ? '' : afterScheme.slice(slash + 1);
  if (hostPart.includes('@')) return { refused: 'it carries credentials in the URL, which a repository must not hold' };
  let url: URL;
  try {
    url = new URL(`${scheme}://${hostPart}/`);
  } catch {
    return { refused: 'it is not a valid URL' };
  }
  if (url.hash !== '' || pathPart.includes('#')) return { refused: 'it has a #fragment' };
  const host = url.host.toLowerCase();

  let repoPath: string;
  let dir: string;
  const sep = pathPart.indexOf('//');
  if (sep >= 0) {
    repoPath = pathPart.slice(0, sep);
    dir = pathPart.slice(sep + 2);
  } else {
    const git = /^(.*?\.git)(?:\/(.*))?$/.exec(pathPart);
    if (git) {
      repoPath = git[1] ?? '';
      dir = git[2] ?? '';
    } else if (TWO_SEGMENT_HOSTS.has(host)) {
      const parts = pathPart.split('/');
      repoPath = parts.slice(0, 2).join('/');
      dir = parts.slice(2).join('/');
    } else {
      return { refused: 'it does not say where the repository ends (write repo//dir or repo.git/dir); a URL to a single file is not fetched' };
    }
  }
  repoPath = repoPath.replace(/\/+$/, '');
  if (repoPath.split('/').filter((p) => p !== '').length < 1 || repoPath.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    return { refused: 'it names no repository' };
  }
  if (TWO_SEGMENT_HOSTS.has(host) && repoPath.replace(/\.git$/, '').split('/').length < 2) return { refused: `on ${host} a repository is org/repo` };
  const cleanDir = cleanSubdir(dir);
  if (cleanDir === undefined) return { refused: 'its directory climbs out of the repository' };

  let ref: string | undefined;
  for (const pair of query === '' ? [] : query.split('&')) {
    const eq = pair.indexOf('=');
    const key = decodeURIComponentSafe(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeURIComponentSafe(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === undefined || value === undefined) return { refused: 'its query is not valid' };
    if (!QUERY_KEYS.has(key)) return { refused: `the query parameter ${JSON.stringify(key)} is not one kustomize reads (ref, version, timeout, submodules)` };
    if (key === 'ref' || key === 'version') {
      if (ref !== undefined && ref !== value) return { refused: 'it names two refs' };
      if (!isRefName(value)) return { refused: `${JSON.stringify(value)} is not a branch, tag or commit name` };
      ref = value;
    }
  }
  return { repo: `${scheme}://${host}/${repoPath}`, dir: cleanDir, ...(ref !== undefined ? { ref } : {}) };
}

export function isRefused(p: ParsedRemote): p is { readonly refused: string } {
  return 'refused' in p;
}

/** The base as one string for messages: `repo//dir?ref=…`. */
export function describeBase(b: RemoteBase): string {
  return `${b.repo}${b.dir === '' ? '' : `//${b.dir}`}${b.ref === undefined ? '' : `?ref=${b.ref}`}`;
}

/**
 * The allow-list from the environment: PUSHSYNC_REMOTE_BASES, comma-separated URL prefixes
 * (unset: github.com, gitlab.com and bitbucket.org over https; set and empty: none).
 */
export function remoteBasesFrom(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const v = env[REMOTE_BASES_ENV];
  if (v === undefined) return DEFAULT_REMOTE_BASES;
  return v
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/**
 * The prefix of the allow-list that lets `repo` in. Like Argo CD's `sourceRepos`, but prefixes:
 * a prefix ending in `/` lets in everything below it; any other prefix only the repository it
 * names (with or without `.git`) or what is below it, so `https://github.com/shop` does not let
 * in `https://github.com/shop-evil`. Scheme and host compare case-insensitively.
 */
export function allowedBy(repo: string, prefixes: readonly string[]): string | undefined {
  const r = lowerOrigin(repo);
  for (const raw of prefixes) {
    const p = lowerOrigin(raw.trim());
    if (p === '' || !/^https?:\/\/[^/]+/.test(p)) continue;
    if (p.endsWith('/')) {
      if (r.startsWith(p)) return raw;
      continue;
    }
    const rest = r.startsWith(p) ? r.slice(p.length) : undefined;
    if (rest === '' || rest === '.git' || rest?.startsWith('/')) return raw;
  }
  return undefined;
}

function lowerOrigin(u: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)(.*)$/i.exec(u);
  return m ? `${(m[1] ?? '').toLowerCase()}${m[2] ?? ''}` : u;
}

/** `a/./b/` → `a/b`; undefined when it climbs out of the repository. */
function cleanSubdir(dir: string): string | undefined {
  const out: string[] = [];
  for (const part of dir.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return undefined;
    out.push(part);
  }
  return out.join('/');
}

/** git's ref-name rules, loosely (check-ref-format), plus no leading `-` (never an option). */
function isRefName(s: string): boolean {
  if (s === '' || s.startsWith('-') || s.startsWith('/') || s.endsWith('/') || s.endsWith('.') || s.endsWith('.lock')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f~^:?*[\\]|\.\.|@\{|\/\//.test(s)) return false;
  return true;
}

function decodeURIComponentSafe(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Read REMOTE_INDEX back from a snapshot (origin.ts: which entry brought a rendered object in). */
export function fetchedBasesIn(files: readonly SourceFile[] | ReadonlyMap<string, SourceFile>): FetchedBase[] {
  const f = files instanceof Map ? files.get(REMOTE_INDEX) : (files as readonly SourceFile[]).find((x) => x.path === REMOTE_INDEX);
  if (f === undefined) return [];
  try {
    const v = JSON.parse(typeof f.content === 'string' ? f.content : new TextDecoder().decode(f.content)) as unknown;
    return Array.isArray(v) ? (v as FetchedBase[]) : [];
  } catch {
    return [];
  }
}

/** The fetched base a snapshot path is inside, if any. */
export function fetchedOf(fetched: readonly FetchedBase[], p: string): FetchedBase | undefined {
  return fetched.find((f) => p === f.dir || p.startsWith(`${f.dir}/`));
}
