/**
 * The local-directory source: the files of a policy dir on disk, filtered the way Config Sync
 * filters them, as a Snapshot. Problems with single files are error values; the walk goes on.
 *
 * Reads overlap (READ_CONCURRENCY at a time, directory listings included): one at a time, a
 * 2,000-file repo left the process idle for a fifth of `pushsync vet`'s wall time. The result
 * is still that of a depth-first walk in name order: files are sorted at the end, and the
 * total-size limit is charged in walk order, so which files pass it does not depend on timing.
 */
import { execFile } from 'node:child_process';
import { close as closeCb, fstat as fstatCb, open as openCb, read as readCb, type Dirent, type Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SourceFile, VetError } from '../repo/types.ts';
import { compareCodePoints, isPolicyDir as isPolicyDirOf, isPolicyFile as isPolicyFileOf, isSkippedPath, validateSnapshotPath } from '../repo/files.ts';
import type { SourceFormat } from '../repo/types.ts';
import {
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_TOTAL_BYTES,
  PATH_ERROR_CODE,
  type ReadLocalOptions,
  type SnapshotResult,
} from './types.ts';

/** Files and directory listings read at once: enough to keep libuv's threads busy, few descriptors. */
export const READ_CONCURRENCY = 32;

interface WalkState {
  readonly root: string;
  readonly options: ReadLocalOptions;
  readonly maxFileBytes: number;
  readonly maxTotalBytes: number;
  readonly files: SourceFile[];
  readonly errors: VetError[];
  /** Real paths of the directories entered, so a symlink loop is walked once. */
  readonly visited: Set<string>;
  readonly limit: Limiter;
  /** Every file read started, in walk order. */
  readonly reads: Promise<void>[];
  /** Settles once the previous file in walk order was charged against maxTotalBytes. */
  charged: Promise<void>;
  totalBytes: number;
}

/** Runs at most `n` tasks at once, first come first served (the size accounting relies on the order). */
class Limiter {
  private running = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly n: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.n) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}

type Listing = { readonly entries: Dirent[] } | { readonly error: unknown };

/**
 * Read the policy files under `dir`. Paths in the result are relative to `dir`, `/`-separated and
 * sorted; contents are raw bytes (the engine decodes and reports bad UTF-8).
 */
export async function readLocalDir(dir: string, options: ReadLocalOptions): Promise<SnapshotResult> {
  let root: string;
  try {
    root = await realpath(path.resolve(dir));
    if (!(await stat(root)).isDirectory()) {
      return failed(pathError(`the policy dir ${dir} is not a directory`, undefined));
    }
  } catch (err) {
    return failed(pathError(`cannot read the policy dir ${dir}: ${describe(err)}`, undefined));
  }
  const state: WalkState = {
    root,
    options,
    maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    maxTotalBytes: options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
    files: [],
    errors: [],
    visited: new Set([root]),
    limit: new Limiter(READ_CONCURRENCY),
    reads: [],
    charged: Promise.resolve(),
    totalBytes: 0,
  };
  await walk(state, '', root, list(state, root));
  await Promise.all(state.reads);
  state.files.sort((a, b) => compareCodePoints(a.path, b.path));
  state.errors.sort((a, b) => compareCodePoints(a.path ?? '', b.path ?? ''));
  return { snapshot: { files: state.files }, errors: state.errors };
}

function list(state: WalkState, absDir: string): Promise<Listing> {
  return state.limit.run(() => readdir(absDir, { withFileTypes: true }).then((entries) => ({ entries }), (error: unknown) => ({ error })));
}

async function walk(state: WalkState, relDir: string, absDir: string, listing: Promise<Listing>): Promise<void> {
  const listed = await listing;
  if ('error' in listed) {
    state.errors.push(pathError(`cannot list directory: ${describe(listed.error)}`, relDir === '' ? undefined : `${relDir}/`));
    return;
  }
  const entries = listed.entries.sort((a, b) => compareCodePoints(a.name, b.name));
  // List the plain sub-directories the walk will enter while it is still busy with this one.
  const { sourceFormat, everything } = state.options;
  const prefetched = new Map<string, Promise<Listing>>();
  for (const entry of entries) {
    const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
    if (entry.isDirectory() && (everything ? !isSkippedPath(rel) : isPolicyDirOf(rel, sourceFormat))) {
      prefetched.set(entry.name, list(state, path.join(absDir, entry.name)));
    }
  }
  for (const entry of entries) {
    const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
    await visit(state, rel, path.join(absDir, entry.name), entry, prefetched.get(entry.name));
  }
}

async function visit(state: WalkState, rel: string, abs: string, entry: Dirent, listing: Promise<Listing> | undefined): Promise<void> {
  const { sourceFormat, everything } = state.options;
  const isPolicyFile = (p: string, f: SourceFormat): boolean => (everything ? !isSkippedPath(p) : isPolicyFileOf(p, f));
  const isPolicyDir = (p: string, f: SourceFormat): boolean => (everything ? !isSkippedPath(p) : isPolicyDirOf(p, f));
  let real = abs;
  let kind: Stats | Dirent = entry;
  if (entry.isSymbolicLink()) {
    const target = await resolveLink(abs);
    if (target === undefined) {
      if (isPolicyFile(rel, sourceFormat)) state.errors.push(pathError('broken symbolic link', rel));
      return;
    }
    const wanted = target.stats.isDirectory() ? isPolicyDir(rel, sourceFormat) : isPolicyFile(rel, sourceFormat);
    if (!wanted) return;
    if (!isInside(state.root, target.real)) {
      state.errors.push(pathError(`symbolic link points outside the policy dir (to ${target.real})`, rel));
      return;
    }
    real = target.real;
    kind = target.stats;
  }

  if (kind.isDirectory()) {
    if (!isPolicyDir(rel, sourceFormat) || state.visited.has(real)) return;
    state.visited.add(real);
    // A listing made ahead is of this very path, which is `real` for a plain directory.
    await walk(state, rel, real, listing !== undefined && real === abs ? listing : list(state, real));
    return;
  }
  if (!isPolicyFile(rel, sourceFormat)) return;
  const invalid = validateSnapshotPath(rel);
  if (invalid !== undefined) {
    state.errors.push(invalid);
    return;
  }
  if (!kind.isFile()) {
    state.errors.push(pathError('not a regular file', rel));
    return;
  }
  const previous = state.charged;
  let charged!: () => void;
  state.charged = new Promise<void>((resolve) => (charged = resolve));
  state.reads.push(state.limit.run(() => readBounded(state, rel, real, previous, charged)));
}

/**
 * Read one file without ever holding more than the limit in memory. `previous` settles once the
 * file before this one in walk order was charged against the total; `charged` says this one was.
 */
async function readBounded(state: WalkState, rel: string, real: string, previous: Promise<void>, charged: () => void): Promise<void> {
  let fd: number | undefined;
  try {
    let size: number | undefined;
    let admitted = false;
    try {
      fd = await fsOpen(real);
      size = (await fsFstat(fd)).size;
    } finally {
      // In walk order whatever happened to this file, so the files after it are not held up.
      await previous;
      if (size !== undefined) admitted = admit(state, rel, size);
      charged();
    }
    if (!admitted || size === undefined) return;
    const content = new Uint8Array(size);
    let offset = 0;
    while (offset < size) {
      const bytesRead = await fsRead(fd, content, offset, size - offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    state.files.push({ path: rel, content: offset === size ? content : content.subarray(0, offset) });
  } catch (err) {
    state.errors.push(pathError(`cannot read file: ${describe(err)}`, rel));
  } finally {
    if (fd !== undefined) await fsClose(fd);
  }
}

/**
 * Whether a file of `size` bytes may be read, charging it against the total if so. The size is
 * the one fstat saw before reading: a file that shrinks while it is read is charged its old size.
 */
function admit(state: WalkState, rel: string, size: number): boolean {
  if (size > state.maxFileBytes) {
    state.errors.push(pathError(`file is too large: ${size} bytes, the limit is ${state.maxFileBytes} bytes (${mib(state.maxFileBytes)})`, rel));
    return false;
  }
  if (state.totalBytes + size > state.maxTotalBytes) {
    state.errors.push(
      pathError(
        `policy dir is too large: reading this file would exceed the limit of ${state.maxTotalBytes} bytes (${mib(state.maxTotalBytes)}) for all files`,
        rel,
      ),
    );
    return false;
  }
  state.totalBytes += size;
  return true;
}

// fs's callback API: per file about half the CPU of fs/promises' FileHandle (measured on ~2,000 files).
function fsOpen(p: string): Promise<number> {
  return new Promise((resolve, reject) => openCb(p, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

function fsFstat(fd: number): Promise<Stats> {
  return new Promise((resolve, reject) => fstatCb(fd, (err, st) => (err ? reject(err) : resolve(st))));
}

function fsRead(fd: number, into: Uint8Array, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => readCb(fd, into, offset, length, offset, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Closing a descriptor opened only for reading loses nothing if it fails. */
function fsClose(fd: number): Promise<void> {
  return new Promise((resolve) => closeCb(fd, () => resolve()));
}

async function resolveLink(abs: string): Promise<{ real: string; stats: Stats } | undefined> {
  try {
    const real = await realpath(abs);
    return { real, stats: await stat(real) };
  } catch {
    return undefined;
  }
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * The commit checked out in the git work tree holding `dir`, or undefined when `dir` is not in
 * a git repo (or git is not installed).
 */
export function gitHeadCommit(dir: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-C', dir, 'rev-parse', '--verify', '--quiet', 'HEAD'],
      { timeout: 10_000, windowsHide: true },
      (err, stdout) => {
        const sha = String(stdout).trim();
        resolve(err === null && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha) ? sha : undefined);
      },
    );
  });
}

function failed(error: VetError): SnapshotResult {
  return { snapshot: { files: [] }, errors: [error] };
}

function pathError(message: string, p: string | undefined): VetError {
  return p === undefined ? { code: PATH_ERROR_CODE, message } : { code: PATH_ERROR_CODE, message, path: p };
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file or directory';
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    if (code === 'ENOTDIR') return 'not a directory';
    return err.message;
  }
  return String(err);
}

function mib(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
}
