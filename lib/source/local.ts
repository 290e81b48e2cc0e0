/**
 * The local-directory source: the files of a policy dir on disk, filtered the way Config Sync
 * filters them, as a Snapshot. Problems with single files are error values; the walk goes on.
 */
import { execFile } from 'node:child_process';
import type { Dirent, Stats } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
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

interface WalkState {
  readonly root: string;
  readonly options: ReadLocalOptions;
  readonly maxFileBytes: number;
  readonly maxTotalBytes: number;
  readonly files: SourceFile[];
  readonly errors: VetError[];
  /** Real paths of the directories entered, so a symlink loop is walked once. */
  readonly visited: Set<string>;
  totalBytes: number;
}

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
    totalBytes: 0,
  };
  await walk(state, '', root);
  state.files.sort((a, b) => compareCodePoints(a.path, b.path));
  state.errors.sort((a, b) => compareCodePoints(a.path ?? '', b.path ?? ''));
  return { snapshot: { files: state.files }, errors: state.errors };
}

async function walk(state: WalkState, relDir: string, absDir: string): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(absDir, { withFileTypes: true });
  } catch (err) {
    state.errors.push(pathError(`cannot list directory: ${describe(err)}`, relDir === '' ? undefined : `${relDir}/`));
    return;
  }
  entries.sort((a, b) => compareCodePoints(a.name, b.name));
  for (const entry of entries) {
    const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
    await visit(state, rel, path.join(absDir, entry.name), entry);
  }
}

async function visit(state: WalkState, rel: string, abs: string, entry: Dirent): Promise<void> {
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
    await walk(state, rel, real);
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
  await readBounded(state, rel, real);
}

/** Read one file without ever holding more than the limit in memory. */
async function readBounded(state: WalkState, rel: string, real: string): Promise<void> {
  let handle;
  try {
    handle = await open(real, 'r');
  } catch (err) {
    state.errors.push(pathError(`cannot read file: ${describe(err)}`, rel));
    return;
  }
  try {
    const size = (await handle.stat()).size;
    if (size > state.maxFileBytes) {
      state.errors.push(
        pathError(`file is too large: ${size} bytes, the limit is ${state.maxFileBytes} bytes (${mib(state.maxFileBytes)})`, rel),
      );
      return;
    }
    if (state.totalBytes + size > state.maxTotalBytes) {
      state.errors.push(
        pathError(
          `policy dir is too large: reading this file would exceed the limit of ${state.maxTotalBytes} bytes (${mib(state.maxTotalBytes)}) for all files`,
          rel,
        ),
      );
      return;
    }
    const content = new Uint8Array(size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(content, offset, size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    state.totalBytes += offset;
    state.files.push({ path: rel, content: offset === size ? content : content.subarray(0, offset) });
  } catch (err) {
    state.errors.push(pathError(`cannot read file: ${describe(err)}`, rel));
  } finally {
    await handle.close();
  }
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
