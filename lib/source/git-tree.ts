/**
 * Git tree objects, computed: given a commit's whole tree (as GitHub's recursive tree API lists
 * it) and the new content of some paths, the tree of the next commit and its object name.
 *
 * This is what lets a warm function read a push without listing the new commit: the push
 * payload names the changed paths and the new root tree's SHA; pushsync fetches only the
 * changed paths, rebuilds the tree here, and uses it only when the SHA it computes equals the
 * payload's. Equal SHAs mean the same tree, so a wrong or incomplete list of changed paths (a
 * payload that truncates its commits, a merge, a force push) is caught, never trusted.
 * Pure: no I/O.
 */
import { createHash } from 'node:crypto';

/** One entry of a commit's recursive tree, paths from the repository root. */
export interface RepoTreeEntry {
  readonly path: string;
  /** As GitHub lists it: `100644`, `100755`, `120000`, `160000`, `040000`. */
  readonly mode: string;
  readonly type: 'blob' | 'tree' | 'commit';
  readonly sha: string;
  readonly size?: number;
}

/** What a path holds at the new commit. */
export type PathChange =
  | { readonly path: string; readonly kind: 'file'; readonly sha: string; readonly size: number; readonly mode?: string }
  | { readonly path: string; readonly kind: 'removed' };

export interface ChangedTree {
  readonly entries: RepoTreeEntry[];
  /** The object name of the new root tree. */
  readonly sha: string;
}

const TREE_MODE = '040000';
const FILE_MODES = new Set(['100644', '100755']);

/**
 * Apply `changes` to `base` (a complete recursive listing) and hash the result. A changed file
 * keeps its old mode when it was a regular file, else becomes `100644` (the only mode a
 * contents answer cannot tell: an executable new file then fails the SHA check, as it should).
 * Returns undefined when the changes cannot be placed (a file under a path that is a file).
 */
export function applyChanges(base: readonly RepoTreeEntry[], changes: readonly PathChange[]): ChangedTree | undefined {
  const byPath = new Map<string, RepoTreeEntry>();
  for (const e of base) byPath.set(e.path, e);
  const dirty = new Set<string>(['']);
  for (const c of changes) {
    const old = byPath.get(c.path);
    if (old?.type === 'tree') return undefined; // a directory became a file: let the caller list it
    for (const dir of parents(c.path)) {
      dirty.add(dir);
      const at = byPath.get(dir);
      if (at !== undefined && at.type !== 'tree') return undefined;
    }
    if (c.kind === 'removed') {
      byPath.delete(c.path);
      continue;
    }
    const mode = c.mode ?? (old !== undefined && FILE_MODES.has(old.mode) ? old.mode : '100644');
    byPath.set(c.path, { path: c.path, mode, type: 'blob', sha: c.sha, size: c.size });
  }

  // Children of every directory that needs a new object; the others keep theirs.
  const children = new Map<string, RepoTreeEntry[]>();
  for (const dir of dirty) children.set(dir, []);
  for (const e of byPath.values()) {
    const parent = parentOf(e.path);
    children.get(parent)?.push(e);
  }
  // Deepest first, so a directory's new SHA is known before its parent is hashed; an emptied
  // directory disappears, as in git.
  const order = [...dirty].sort((a, b) => depth(b) - depth(a));
  const algorithm = shaAlgorithm(base);
  let root = '';
  for (const dir of order) {
    const kids = children.get(dir) ?? [];
    if (kids.length === 0 && dir !== '') {
      byPath.delete(dir);
      const siblings = children.get(parentOf(dir));
      if (siblings) children.set(parentOf(dir), siblings.filter((e) => e.path !== dir));
      continue;
    }
    const sha = treeSha(kids, algorithm);
    if (dir === '') {
      root = sha;
      continue;
    }
    const entry: RepoTreeEntry = { path: dir, mode: TREE_MODE, type: 'tree', sha };
    byPath.set(dir, entry);
    const siblings = children.get(parentOf(dir));
    if (siblings) {
      const i = siblings.findIndex((e) => e.path === dir);
      if (i >= 0) siblings[i] = entry;
      else siblings.push(entry);
    }
  }
  return { entries: [...byPath.values()], sha: root };
}

/** The object name of a tree holding `entries` (each a direct child: the last path segment is its name). */
export function treeSha(entries: readonly RepoTreeEntry[], algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  const named = entries.map((e) => ({ e, name: Buffer.from(baseName(e.path), 'utf8') }));
  // git orders entries by name bytes, a directory's name compared as if it ended in '/'.
  const key = (x: { e: RepoTreeEntry; name: Buffer }) => (x.e.type === 'tree' ? Buffer.concat([x.name, SLASH]) : x.name);
  named.sort((a, b) => Buffer.compare(key(a), key(b)));
  const parts: Buffer[] = [];
  for (const { e, name } of named) {
    // Tree objects write a directory's mode without the leading zero GitHub shows.
    parts.push(Buffer.from(`${e.type === 'tree' ? '40000' : e.mode} `, 'utf8'), name, NUL, Buffer.from(e.sha, 'hex'));
  }
  const body = Buffer.concat(parts);
  return createHash(algorithm).update(`tree ${body.byteLength}\0`).update(body).digest('hex');
}

const SLASH = Buffer.from('/');
const NUL = Buffer.from([0]);

function shaAlgorithm(entries: readonly RepoTreeEntry[]): 'sha1' | 'sha256' {
  return entries[0]?.sha.length === 64 ? 'sha256' : 'sha1';
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function depth(p: string): number {
  return p === '' ? 0 : p.split('/').length;
}

/** `a/b/c.yaml` → `a`, `a/b` (the root, '', is not listed). */
function parents(p: string): string[] {
  const out: string[] = [];
  for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) out.push(p.slice(0, i));
  return out;
}
