/**
 * What a kustomization asks for, read statically from the snapshot (no I/O): which file is the
 * root kustomization of a sync directory, and which of the things it reaches pushsync refuses
 * before any tool runs.
 *
 *   rootKustomization(files, dir)  → the root kustomization's path, or undefined (plain manifests)
 *   refusePlugins(files, root)     → a KNV1068 per exec / alpha / KRM-function / non-builtin plugin
 *   refuseOutsideReads(files, root) → a KNV1068 per local path that leaves the snapshot
 *   checkKustomization(files, root) → both, sorted: what vet reports before rendering
 *
 * Config Sync passes `--enable-alpha-plugins --enable-exec`, so a pusher can run commands where
 * the renderer runs. pushsync renders next to cluster credentials: it never passes those flags
 * (kustomize then refuses every non-builtin plugin on its own), and this module names the
 * offending entry up front, with its file and line, instead of leaving the user kustomize's
 * "external plugins disabled" with a temp-dir path. Remote bases (git over https, in resources,
 * bases or components) are fetched by pushsync before this runs (remote.ts) and rewritten to the
 * fetched copy, so the same checks cover what they hold; every other remote reference, and a
 * remote base that was not fetched, is refused here.
 */
import yaml from 'js-yaml';
import type { SourceFile, VetError } from '../repo/types.ts';
import { pathError, sortErrors } from '../repo/errors.ts';
import { isMap, splitDocuments } from '../repo/parse.ts';
import { dirOf } from '../repo/paths.ts';
import { KUSTOMIZATION_FILE_NAMES } from '../repo/files.ts';
import { joinPath } from './paths.ts';
import { ACCEPTED_FORMS, REMOTE_ROOT, isRefused, parseRemoteBase } from './remote-ref.ts';

/** The code of every rendering error (Config Sync's reconciler: KNV1068 "actionable hydration error"). */
export const RENDER_ERROR_CODE = 'KNV1068';

/** The names kustomize looks for, in its order (lib/repo/files.ts, where the readers need them too). */
export { KUSTOMIZATION_FILE_NAMES };

const WHY =
  'exec and alpha plugins are refused because pushsync renders next to cluster credentials; use a builtin (apiVersion: builtin) generator or transformer, or commit the generated output';

/** A snapshot directory path without leading `./` or trailing `/`; '' is the root. */
export function normalizeSyncDir(dir: string): string {
  const n = normalizePath(dir);
  return n === undefined || n === '.' ? '' : n;
}

/** The kustomization file kustomize would read in `dir`, or undefined when there is none. */
export function rootKustomization(files: readonly SourceFile[], dir: string): string | undefined {
  return kustomizationIn(pathSet(files), normalizeSyncDir(dir));
}

/** Every plugin reachable from the root kustomization that pushsync refuses to run. */
export function refusePlugins(files: readonly SourceFile[], root: string): VetError[] {
  return sortErrors(walk(files, root).plugins);
}

/**
 * Every local path a reachable kustomization names that leaves the snapshot (absolute, or `..`
 * above the repository root): with `LoadRestrictionsNone` kustomize would read it from the
 * machine that renders (a secretGenerator over a credentials file), so it is refused.
 */
export function refuseOutsideReads(files: readonly SourceFile[], root: string): VetError[] {
  return sortErrors(walk(files, root).outside);
}

/** Every kustomization file the root reaches (itself first): where helmCharts entries can be. */
export function reachedKustomizations(files: readonly SourceFile[], root: string): string[] {
  return walk(files, root).reached;
}

/** A remote `resources`/`bases`/`components` entry of a reached kustomization, with its file and line. */
export interface RemoteEntry {
  readonly kustomization: string;
  readonly field: 'resources' | 'bases' | 'components';
  readonly value: string;
  readonly line: number | undefined;
}

/** Every remote base entry of the kustomizations the root reaches (remote.ts fetches them). */
export function remoteEntries(files: readonly SourceFile[], root: string): RemoteEntry[] {
  return walk(files, root).remote;
}

/** refusePlugins + refuseOutsideReads: everything vet reports about a kustomization before rendering. */
export function checkKustomization(files: readonly SourceFile[], root: string): VetError[] {
  const w = walk(files, root);
  return sortErrors([...w.plugins, ...w.outside]);
}

// ---------------------------------------------------------------------------------------------

interface Walk {
  readonly plugins: VetError[];
  readonly outside: VetError[];
  /** Every kustomization file reached from the root (the root first), read as one or as plugin configuration. */
  readonly reached: string[];
  readonly remote: RemoteEntry[];
}

interface Ctx {
  readonly byPath: ReadonlyMap<string, SourceFile>;
  readonly paths: ReadonlySet<string>;
  readonly visited: Set<string>;
  readonly out: Walk;
}

function walk(files: readonly SourceFile[], root: string): Walk {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const ctx: Ctx = { byPath, paths: new Set(byPath.keys()), visited: new Set(), out: { plugins: [], outside: [], reached: [], remote: [] } };
  visit(ctx, root, false);
  return ctx.out;
}

/** A reference list entry as written: its value and the 1-based line it sits on. */
interface Entry {
  readonly value: unknown;
  readonly line: number | undefined;
}

/**
 * Visit one kustomization. `asPluginConfig`: its output is read as plugin configurations (it
 * sits in a generators/transformers/validators list), so every object its resources hold is
 * checked as one.
 */
function visit(ctx: Ctx, kpath: string, asPluginConfig: boolean): void {
  const key = `${kpath}\u0000${asPluginConfig}`;
  if (ctx.visited.has(key)) return;
  ctx.visited.add(key);
  const file = ctx.byPath.get(kpath);
  if (!file) return;
  if (!ctx.out.reached.includes(kpath)) ctx.out.reached.push(kpath);
  const text = textOf(file);
  const k = loadMap(text);
  if (!k) return; // unreadable: kustomize reports it when rendering

  for (const field of ['resources', 'bases', 'components'] as const) {
    for (const e of entries(text, k, field)) {
      if (typeof e.value !== 'string') continue;
      if (isRemote(e.value.trim())) ctx.out.remote.push({ kustomization: kpath, field, value: e.value.trim(), line: e.line });
      const target = local(ctx, kpath, field, e);
      if (target === undefined) continue;
      if (ctx.paths.has(target)) {
        // In a kustomization read as plugin configuration, its resources are the configurations.
        if (asPluginConfig) checkPluginObjects(ctx, kpath, `${field} entry (read as plugin configuration)`, e, textOf(ctx.byPath.get(target) as SourceFile));
        continue;
      }
      const sub = kustomizationIn(ctx.paths, target);
      if (sub !== undefined) visit(ctx, sub, asPluginConfig);
    }
  }

  for (const field of ['generators', 'transformers', 'validators'] as const) {
    for (const e of entries(text, k, field)) {
      const inline = inlineObjects(e.value);
      if (inline !== undefined) {
        for (const obj of inline) pluginProblem(ctx, kpath, `inline ${field} entry`, e, obj);
        continue;
      }
      if (typeof e.value !== 'string') continue;
      const target = local(ctx, kpath, field, e);
      if (target === undefined) continue;
      const f = ctx.byPath.get(target);
      if (f) {
        checkPluginObjects(ctx, kpath, `${field} entry`, e, textOf(f));
        continue;
      }
      const sub = kustomizationIn(ctx.paths, target);
      if (sub !== undefined) visit(ctx, sub, true);
    }
  }

  checkFileFields(ctx, kpath, text, k);
}

/** The objects of a plugin-config file, each checked. */
function checkPluginObjects(ctx: Ctx, kpath: string, what: string, e: Entry, text: string): void {
  for (const doc of splitDocuments(text)) {
    let v: unknown;
    try {
      v = yaml.load(doc.text);
    } catch {
      continue; // kustomize reports unreadable YAML when rendering
    }
    for (const obj of flattenLists(v)) pluginProblem(ctx, kpath, what, e, obj);
  }
}

/** `what`: how the entry is named in the message ("generators entry", "inline transformers entry"). */
function pluginProblem(ctx: Ctx, kpath: string, what: string, e: Entry, obj: Record<string, unknown>): void {
  const kind = pluginKind(obj);
  if (kind === undefined) return;
  const named = typeof e.value === 'string' && !e.value.includes('\n') ? ` ${JSON.stringify(e.value)}` : '';
  ctx.out.plugins.push(pathError(RENDER_ERROR_CODE, `${what}${named} asks for ${kind}: ${WHY}`, kpath, e.line));
}

/**
 * What kind of refused plugin a configuration object asks for, or undefined for a builtin.
 * kustomize treats `apiVersion: builtin` (no group) as builtin and everything else as an
 * external plugin: a KRM function when it carries a function annotation, else a legacy Go or exec
 * plugin looked up in the plugin home.
 */
export function pluginKind(obj: Record<string, unknown>): string | undefined {
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  if (apiVersion === 'builtin') return undefined;
  const name = `${apiVersion || '<no apiVersion>'}/${kind || '<no kind>'}`;
  const fn = functionSpec(obj);
  if (fn) {
    if (isMap(fn.exec)) return `an exec KRM function ${name} (runs ${JSON.stringify(String(fn.exec.path ?? ''))})`;
    if (isMap(fn.container)) return `a container KRM function ${name} (image ${JSON.stringify(String(fn.container.image ?? ''))})`;
    if (isMap(fn.starlark)) return `a starlark KRM function ${name}`;
    return `a KRM function ${name}`;
  }
  return `the non-builtin plugin ${name} (a Go or exec plugin from kustomize's plugin directory)`;
}

const FUNCTION_ANNOTATIONS = ['config.kubernetes.io/function', 'config.k8s.io/function'];

function functionSpec(obj: Record<string, unknown>): Record<string, unknown> | undefined {
  const meta = isMap(obj.metadata) ? obj.metadata : {};
  const ann = isMap(meta.annotations) ? meta.annotations : {};
  for (const a of FUNCTION_ANNOTATIONS) {
    const v = ann[a];
    if (typeof v === 'string') {
      try {
        const parsed = yaml.load(v);
        if (isMap(parsed)) return parsed;
      } catch {
        // fall through: an unparsable annotation still marks a function
      }
      return {};
    }
  }
  const spec = obj.spec;
  if (isMap(spec)) for (const a of FUNCTION_ANNOTATIONS) if (isMap(spec[a])) return spec[a];
  return undefined;
}

/** Objects of an inline generator/transformer entry (a YAML string holding objects, or a map), else undefined. */
function inlineObjects(v: unknown): Record<string, unknown>[] | undefined {
  if (isMap(v)) return [v];
  if (typeof v !== 'string' || !v.includes('\n') || !/\bkind\s*:/.test(v)) return undefined;
  try {
    const docs = yaml.loadAll(v).flatMap(flattenLists);
    return docs.length > 0 ? docs : undefined;
  } catch {
    return undefined;
  }
}

function flattenLists(v: unknown, depth = 0): Record<string, unknown>[] {
  if (!isMap(v)) return [];
  if (typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items) && depth < 8) return v.items.flatMap((i) => flattenLists(i, depth + 1));
  return [v];
}

// --- paths that leave the snapshot -------------------------------------------------------------

/**
 * Every field where a kustomization names a local file, as [field, getter]: each getter returns
 * the entries holding a path. Directories referenced by resources/bases/components are checked by
 * `local()` while walking.
 */
function checkFileFields(ctx: Ctx, kpath: string, text: string, k: Record<string, unknown>): void {
  const check = (field: string, line: number | undefined, p: unknown): void => {
    if (typeof p === 'string' && p !== '') local(ctx, kpath, field, { value: p, line });
  };
  for (const field of ['crds', 'configurations', 'patchesStrategicMerge'] as const) {
    for (const e of entries(text, k, field)) if (typeof e.value === 'string' && !e.value.includes('\n')) check(field, e.line, e.value);
  }
  for (const field of ['patches', 'patchesJson6902', 'replacements'] as const) {
    for (const e of entries(text, k, field)) if (isMap(e.value)) check(`${field}.path`, e.line, e.value.path);
  }
  for (const field of ['configMapGenerator', 'secretGenerator'] as const) {
    for (const e of entries(text, k, field)) {
      if (!isMap(e.value)) continue;
      for (const f of asList(e.value.files)) if (typeof f === 'string') check(`${field}.files`, e.line, f.includes('=') ? f.slice(f.indexOf('=') + 1) : f);
      for (const f of asList(e.value.envs)) check(`${field}.envs`, e.line, f);
      check(`${field}.env`, e.line, e.value.env);
    }
  }
  for (const e of entries(text, k, 'helmCharts')) {
    if (!isMap(e.value)) continue;
    check('helmCharts.valuesFile', e.line, e.value.valuesFile);
    for (const f of asList(e.value.additionalValuesFiles)) check('helmCharts.additionalValuesFiles', e.line, f);
  }
  for (const e of entries(text, k, 'helmChartInflationGenerator')) {
    if (!isMap(e.value)) continue;
    check('helmChartInflationGenerator.chartHome', e.line, e.value.chartHome);
    check('helmChartInflationGenerator.values', e.line, e.value.values);
  }
  const line = keyLine(text, 'helmGlobals');
  if (isMap(k.helmGlobals)) {
    check('helmGlobals.chartHome', line, k.helmGlobals.chartHome);
    check('helmGlobals.configHome', line, k.helmGlobals.configHome);
  }
  if (isMap(k.openapi)) check('openapi.path', keyLine(text, 'openapi'), k.openapi.path);
}

/**
 * The snapshot path an entry names, or undefined when it is remote or leaves the snapshot (then
 * an error is recorded).
 */
function local(ctx: Ctx, kpath: string, field: string, e: Entry): string | undefined {
  const ref = String(e.value).trim();
  if (ref === '') return undefined;
  const where = `${field} entry ${JSON.stringify(ref)}`;
  if (isRemote(ref)) {
    // Fetched by kustomize at render time, a remote reference would be checked by nothing here:
    // it could ask for a plugin or read the renderer's own files (`/proc/<pid>/environ`,
    // `file://`), next to cluster credentials. pushsync fetches remote bases itself (remote.ts)
    // and rewrites them to the fetched copy before this runs; what is still remote is refused.
    ctx.out.outside.push(pathError(RENDER_ERROR_CODE, `${where} ${remoteRefusal(field, ref)}`, kpath, e.line));
    return undefined;
  }
  if (ref.startsWith('/')) {
    ctx.out.outside.push(pathError(RENDER_ERROR_CODE, `${where} is an absolute path: a kustomization may only read files of its repository`, kpath, e.line));
    return undefined;
  }
  const target = normalizePath(joinPath(dirOf(kpath), ref));
  if (target === undefined) {
    ctx.out.outside.push(pathError(RENDER_ERROR_CODE, `${where} leaves the repository: a kustomization may only read files of its repository`, kpath, e.line));
    return undefined;
  }
  // A fetched base reads only fetched files: kustomize, too, keeps a remote base inside its clone.
  if (kpath.startsWith(REMOTE_ROOT) && !target.startsWith(REMOTE_ROOT)) {
    ctx.out.outside.push(pathError(RENDER_ERROR_CODE, `${where} leaves its remote base's repository: a remote base may only read files of its own repository`, kpath, e.line));
    return undefined;
  }
  return target === '.' ? '' : target;
}

/** Why a remote reference is refused, in words that say what is accepted instead. */
function remoteRefusal(field: string, ref: string): string {
  if (field !== 'resources' && field !== 'bases' && field !== 'components') {
    return `is remote: pushsync fetches remote git bases in resources, bases and components only (a remote ${field} entry is read at render time and checked by nothing); vendor it into the repository`;
  }
  const parsed = parseRemoteBase(ref);
  if (isRefused(parsed)) return `is remote in a form pushsync does not fetch (${parsed.refused}): write a git base as ${ACCEPTED_FORMS}, or vendor it into the repository`;
  return 'is a remote base that was not fetched: pushsync fetches remote bases before rendering and checks what they hold; render through renderRepoDir';
}

/** kustomize's remote forms: URLs, scp-like git (`git@host:org/repo`), `host.tld/org/repo…`. */
export function isRemote(ref: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) return true; // https://, ssh://, file:// …
  if (/^git::/.test(ref) || /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.test(ref)) return true;
  return /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(ref);
}

// --- reading -----------------------------------------------------------------------------------

function pathSet(files: readonly SourceFile[]): Set<string> {
  return new Set(files.map((f) => f.path));
}

function kustomizationIn(paths: ReadonlySet<string>, dir: string): string | undefined {
  for (const name of KUSTOMIZATION_FILE_NAMES) {
    const p = dir === '' ? name : `${dir}/${name}`;
    if (paths.has(p)) return p;
  }
  return undefined;
}

function textOf(f: SourceFile): string {
  const t = typeof f.content === 'string' ? f.content : new TextDecoder('utf-8').decode(f.content);
  return t.charCodeAt(0) === 0xfeff ? t.slice(1) : t;
}

function loadMap(text: string): Record<string, unknown> | undefined {
  try {
    const v = yaml.load(text);
    return isMap(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The entries of a top-level list field, each with the line it is written on (where it can be told). */
function entries(text: string, k: Record<string, unknown>, field: string): Entry[] {
  const list = asList(k[field]);
  if (list.length === 0) return [];
  const lines = itemLines(text, field);
  const fallback = keyLine(text, field);
  return list.map((value, i) => ({ value, line: lines.length === list.length ? lines[i] : fallback }));
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** 1-based line of a top-level `key:`, or undefined. */
function keyLine(text: string, key: string): number | undefined {
  const lines = text.split('\n');
  const re = new RegExp(`^["']?${escapeRe(key)}["']?\\s*:`);
  const i = lines.findIndex((l) => re.test(l));
  return i < 0 ? undefined : i + 1;
}

/**
 * 1-based lines of the items of a top-level block sequence `key:` (`- item` lines at the first
 * item's indentation, up to the next line indented less). A flow sequence yields nothing, and
 * the caller falls back to the key's line.
 */
export function itemLines(text: string, key: string): number[] {
  const lines = text.split('\n');
  const start = keyLine(text, key);
  if (start === undefined) return [];
  const afterKey = (lines[start - 1] ?? '').replace(/^[^:]*:/, '').trim();
  if (afterKey !== '' && !afterKey.startsWith('#')) return [];
  const out: number[] = [];
  let indent = -1;
  for (let i = start; i < lines.length; i++) {
    const l = (lines[i] ?? '').replace(/\r$/, '');
    if (l.trim() === '' || l.trim().startsWith('#')) continue;
    const ind = l.length - l.trimStart().length;
    const isItem = /^-(\s|$)/.test(l.trimStart());
    if (indent < 0) {
      if (!isItem) return [];
      indent = ind;
    }
    if (ind < indent || (ind === indent && !isItem)) break;
    if (ind === indent && isItem) out.push(i + 1);
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}


/** `a/./b/../c/` → `a/c`; '.' for the root; undefined when `..` climbs above the root. */
export function normalizePath(p: string): string | undefined {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.length === 0 ? '.' : out.join('/');
}
