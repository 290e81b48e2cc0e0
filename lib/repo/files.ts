/**
 * Which files the engine reads (repo-format.md §1), and which path strings are acceptable at
 * all. Sources apply these while listing (to skip reading what the engine ignores); the engine
 * applies them again, since a caller may hand it any list. Rules every source backend applies to the paths it hands to the engine: which files the engine
 * should see (repo-format.md §1) and which path strings are acceptable at all.
 */
import type { SourceFormat, VetError } from './types.ts';

/** Code of every path/file error (nomos: "path error"). */
export const PATH_ERROR_CODE = 'KNV2001';

const POLICY_EXTENSIONS = ['.yaml', '.yml', '.json'];
/** Path components that hide everything below them (CI config dirs; `.git` is never read). */
const SKIPPED_COMPONENTS = new Set(['.git', '.github', '.gitlab', '.gitlab-ci.yml']);
const HIERARCHY_TOP_DIRS = new Set(['system', 'cluster', 'clusterregistry', 'namespaces']);
/** Read at the policy root whatever the format: the engine takes resource scopes from it. */
export const API_RESOURCES_FILE = 'api-resources.txt';

/** The names kustomize looks for, in its order (konfig.RecognizedKustomizationFileNames). */
export const KUSTOMIZATION_FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

/**
 * A kustomization at the root of a policy dir, in any format: a reader must take it whether or
 * not the format reads such a file (`Kustomization` has no extension; a hierarchical repo reads
 * only its four top dirs), because it decides that the dir is rendered (lib/render), or refused
 * for a hierarchical repo in Config Sync's words.
 */
export function isRootKustomization(p: string): boolean {
  return (KUSTOMIZATION_FILE_NAMES as readonly string[]).includes(p);
}

/**
 * A path inside a snapshot must be relative, `/`-separated and canonical. Anything else could
 * make a later step read or write outside the policy or output dir (a crafted GitHub tree entry,
 * an API caller passing `../../etc/passwd`), so it is refused rather than normalised.
 */
export function validateSnapshotPath(p: string): VetError | undefined {
  const problem = snapshotPathProblem(p);
  if (problem === undefined) return undefined;
  return { code: PATH_ERROR_CODE, message: `invalid file path ${JSON.stringify(p)}: ${problem}`, path: p };
}

function snapshotPathProblem(p: string): string | undefined {
  if (p === '') return 'the path is empty';
  if (p.includes('\0')) return 'it contains a NUL byte';
  if (p.includes('\\')) return 'it contains a backslash; paths must be "/"-separated';
  if (p.startsWith('/')) return 'it is absolute; paths must be relative to the policy dir';
  for (const part of p.split('/')) {
    if (part === '..') return 'it contains a ".." component';
    if (part === '.' || part === '') return 'it is not canonical (empty or "." component)';
  }
  return undefined;
}

/** True when no component of the path is one the engine must never see. */
export function isSkippedPath(p: string): boolean {
  return p.split('/').some((part) => SKIPPED_COMPONENTS.has(part));
}

/** True when a directory at this relative path can hold files the engine reads. */
export function isPolicyDir(dir: string, sourceFormat: SourceFormat): boolean {
  if (isSkippedPath(dir)) return false;
  if (sourceFormat === 'hierarchy') return HIERARCHY_TOP_DIRS.has(dir.split('/')[0] ?? '');
  return true;
}

/** True when the engine should see this file (by path alone). */
export function isPolicyFile(p: string, sourceFormat: SourceFormat): boolean {
  if (p === API_RESOURCES_FILE) return true;
  if (isSkippedPath(p)) return false;
  // Case-sensitive, as in Config Sync: `A.YAML` is not read.
  if (!POLICY_EXTENSIONS.some((ext) => p.endsWith(ext))) return false;
  if (sourceFormat === 'hierarchy') {
    const slash = p.indexOf('/');
    return slash > 0 && HIERARCHY_TOP_DIRS.has(p.slice(0, slash));
  }
  return true;
}

/** Order by Unicode code point (= UTF-8 byte order), independent of locale. */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const ai = a[Symbol.iterator]();
  const bi = b[Symbol.iterator]();
  for (;;) {
    const x = ai.next();
    const y = bi.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}
