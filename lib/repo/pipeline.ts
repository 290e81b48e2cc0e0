/**
 * The compile pipeline (spec §5.1): read → raw → hydration → scope → tree (H) → final.
 * Each phase runs all its checks, then stops the pipeline if it found any error. Everything
 * up to cluster selection is the same for every cluster, so vet() does it once.
 */
import type { CompileOptions, CompileResult, DeclaredObject, SourceFile, SourceFormat, VetError } from './types.ts';
import { sortErrors } from './errors.ts';
import { parseFiles } from './parse.ts';
import { API_RESOURCES_FILE, compareCodePoints, isPolicyFile, validateSnapshotPath } from './files.ts';
import { OBJECT_RULES, knv1029DuplicateClusterSelector, repoRules, type RawContext } from './rules/raw.ts';
import { clusterNamesOf, selectForCluster, selectionErrors } from './selection.ts';
import { buildScopes, type Scope } from './scope.ts';
import {
  isEngineKind,
  knv1004NamespaceSelectorOnClusterScoped,
  knv1029DuplicateNamespaceSelector,
  knv1052ClusterScopedWithNamespace,
  knv1053NamespaceAndSelector,
  knv1058NamespaceRepo,
  resolveScope,
} from './rules/scope-phase.ts';
import { buildTree, hierarchyConfigs, knv1039WrongTopDir, namespaceFromDirectory } from './hierarchy.ts';
import { namespaceSelectors } from './namespace-selectors.ts';
import { placeUnstructured } from './unstructured.ts';
import { knv1029Duplicates, knv1056ManagedInUnmanagedNamespace, knv1070Threshold, knv2009CyclicDependency, knv2009ExternalDependency } from './rules/final.ts';
import { dependencyGraph } from './depends-on.ts';
import { withMeta } from './clone.ts';
import { dirOf, topDir } from './paths.ts';
import { gkKey, groupOf, versionOf } from './gvk.ts';
import {
  ANN_CLUSTER_NAME,
  ANN_DELETION,
  ANN_PUSHSYNC_SOURCE_PATH,
  ANN_SOURCE_PATH,
  LABEL_DECLARED_VERSION,
  PROTECTED_NAMESPACES,
  isNamespace,
} from './keys.ts';

/** nomos' placeholder for "no particular cluster" (§3.4). */
export const DEFAULT_CLUSTER = 'defaultcluster';

export interface VetOptions {
  readonly sourceFormat: SourceFormat;
  /** Only report these clusters (nomos --clusters); undefined = all. */
  readonly clusters?: readonly string[];
  /** Vet these clusters too (pushsync: the registered clusters that follow the repo). */
  readonly extraClusters?: readonly string[];
  readonly policyDir?: string;
  readonly namespaceRepo?: string;
  readonly threshold?: number;
  /**
   * false: skip the last hydration step (source/cluster metadata, output order). The errors are
   * the same; the objects come back unstamped and unordered. For callers that only count them.
   */
  readonly stamp?: boolean;
}

/** The snapshot as far as it is independent of the target cluster. */
interface Prepared {
  readonly format: SourceFormat;
  readonly errors: VetError[];
  readonly objects: DeclaredObject[];
  readonly apiResources: SourceFile | undefined;
}

/** The files the engine reads, in code-point order; a path a caller must not hand in is an error. */
export function selectFiles(files: readonly SourceFile[], format: SourceFormat): { files: SourceFile[]; apiResources?: SourceFile; errors: VetError[] } {
  const out: SourceFile[] = [];
  const errors: VetError[] = [];
  let apiResources: SourceFile | undefined;
  for (const f of files) {
    const bad = validateSnapshotPath(f.path);
    if (bad) errors.push(bad);
    else if (f.path === API_RESOURCES_FILE) apiResources = f;
    else if (isPolicyFile(f.path, format)) out.push(f);
  }
  out.sort((a, b) => compareCodePoints(a.path, b.path));
  return { files: out, ...(apiResources ? { apiResources } : {}), errors };
}

function prepare(input: readonly SourceFile[], format: SourceFormat, namespaceRepo: string | undefined): Prepared {
  const stop = (errors: VetError[]): Prepared => ({ format, errors: sortErrors(errors), objects: [], apiResources: undefined });
  const sel = selectFiles(input, format);
  // Unlike nomos, a read error stops here: validating the rest would report a spurious
  // KNV1017 ("no Repo") when only system/repo.yaml failed to parse.
  const parsed = parseFiles(sel.files);
  const readErrors = [...sel.errors, ...parsed.errors];
  if (readErrors.length > 0) return stop(readErrors);

  const ctx: RawContext = { format, ...(namespaceRepo ? { namespaceRepo } : {}) };
  const raw: VetError[] = [];
  for (const d of parsed.objects) {
    for (const rule of OBJECT_RULES) {
      // Almost every rule finds nothing: spreading its empty array 10,000 times over is garbage.
      const found = rule(d, ctx);
      if (found.length > 0) raw.push(...found);
    }
  }
  raw.push(...knv1029DuplicateClusterSelector(parsed.objects));
  if (format === 'hierarchy') raw.push(...repoRules(parsed.objects));
  if (raw.length > 0) return stop(raw);

  const objects = format === 'hierarchy' ? namespaceFromDirectory(parsed.objects) : parsed.objects;
  const selErrors = selectionErrors(objects);
  if (selErrors.length > 0) return stop(selErrors);
  return { format, errors: [], objects, apiResources: sel.apiResources };
}

function compilePrepared(p: Prepared, options: CompileOptions, stampObjects = true): CompileResult {
  const cluster = options.clusterName;
  const fail = (errors: VetError[]): CompileResult => ({ cluster, errors: sortErrors(errors), objects: [] });
  if (p.errors.length > 0) return fail(p.errors);
  const format = p.format;

  const selected = selectForCluster(p.objects, cluster, format);

  // Scope phase.
  const { scopes, errors: scopeTableErrors } = buildScopes(selected, p.apiResources);
  const errors: VetError[] = [...scopeTableErrors];
  const scoped = selected.map((orig) => {
    if (isEngineKind(orig)) return { d: orig, scope: 'Cluster' as Scope };
    const r = resolveScope(orig, scopes, format);
    const { d, scope } = r;
    for (const e of [knv1052ClusterScopedWithNamespace(d, scope), knv1004NamespaceSelectorOnClusterScoped(d, scope), knv1053NamespaceAndSelector(d, scope)]) {
      if (e.length > 0) errors.push(...e);
    }
    if (options.namespaceRepo && format === 'unstructured') errors.push(...knv1058NamespaceRepo(d, scope, options.namespaceRepo));
    return r;
  });
  errors.push(...knv1029DuplicateNamespaceSelector(selected));
  let placed: DeclaredObject[] = [];
  if (format === 'unstructured') {
    const ns = namespaceSelectors(selected, format);
    errors.push(...ns.errors);
    if (errors.length > 0) return fail(errors);
    const u = placeUnstructured(scoped, ns.defs, options.namespaceRepo ?? 'default');
    if (u.errors.length > 0) return fail(u.errors);
    placed = u.objects;
  } else {
    if (errors.length > 0) return fail(errors);
    // Tree phase.
    const nsDirs = new Set(scoped.filter((s) => isNamespace(s.d) && topDir(s.d.source.path) === 'namespaces').map((s) => dirOf(s.d.source.path)));
    nsDirs.delete('namespaces');
    for (const s of scoped) errors.push(...knv1039WrongTopDir(s, nsDirs));
    const clusterGks = new Set(scoped.filter((s) => topDir(s.d.source.path) === 'cluster').map((s) => gkKey(groupOf(s.d.obj.apiVersion), s.d.obj.kind)));
    const hc = hierarchyConfigs(selected, clusterGks);
    const ns = namespaceSelectors(selected, format);
    errors.push(...hc.errors, ...ns.errors);
    if (errors.length > 0) return fail(errors);
    const tree = buildTree(scoped, ns.defs, hc.modes);
    if (tree.errors.length > 0) return fail(tree.errors);
    placed = tree.objects;
  }

  // Final phase.
  const dependencies = dependencyGraph(placed);
  const final = [
    ...knv1029Duplicates(placed),
    ...knv1056ManagedInUnmanagedNamespace(placed),
    ...knv1070Threshold(placed.length, options.threshold),
    ...knv2009ExternalDependency(dependencies, p.objects),
    ...knv2009CyclicDependency(dependencies),
  ];
  if (final.length > 0) return fail(final);

  if (!stampObjects) return { cluster, errors: [], objects: placed };
  const policyDir = (options.policyDir ?? '').replace(/\/+$/, '');
  return { cluster, errors: [], objects: sortByOrigin(placed.map((d) => stamp(d, cluster, policyDir))) };
}

/** The metadata Config Sync adds during hydration (spec §6.2), plus pushsync's own source path. */
function stamp(d: DeclaredObject, cluster: string, policyDir: string): DeclaredObject {
  const m = d.obj.metadata;
  const source = policyDir === '' ? d.source.path : `${policyDir}/${d.source.path}`;
  const annotations: Record<string, string> = { ...m.annotations, [ANN_SOURCE_PATH]: source, [ANN_PUSHSYNC_SOURCE_PATH]: source };
  if (cluster !== '' && cluster !== DEFAULT_CLUSTER) annotations[ANN_CLUSTER_NAME] = cluster;
  if (isNamespace(d) && PROTECTED_NAMESPACES.has(m.name)) annotations[ANN_DELETION] = 'detach';
  return withMeta(d, { labels: { ...m.labels, [LABEL_DECLARED_VERSION]: versionOf(d.obj.apiVersion) }, annotations });
}

/** Stable output order: file, line, then namespace (inherited copies share file and line). */
function sortByOrigin(objs: DeclaredObject[]): DeclaredObject[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return objs.sort((a, b) => cmp(a.source.path, b.source.path) || a.source.line - b.source.line || cmp(a.obj.metadata.namespace ?? '', b.obj.metadata.namespace ?? ''));
}

/** Compile the snapshot for one cluster: read → vet phases → hydrated objects. */
export function compile(files: readonly SourceFile[], options: CompileOptions): CompileResult {
  return compilePrepared(prepare(files, options.sourceFormat, options.namespaceRepo), options);
}

/** The cluster names a vet/hydrate pass runs for: defaultcluster + Cluster names + inline selector names. */
export function vetClusters(files: readonly SourceFile[], sourceFormat: SourceFormat): string[] {
  return clustersOf(prepare(files, sourceFormat, undefined));
}

function clustersOf(p: Prepared): string[] {
  return [...new Set([DEFAULT_CLUSTER, ...clusterNamesOf(p.objects, p.format)])].sort();
}

/** One CompileResult per cluster of vetClusters(), filtered by options.clusters, in name order. */
export function vet(files: readonly SourceFile[], options: VetOptions): CompileResult[] {
  const out: CompileResult[] = [];
  vetEach(files, options, (r) => out.push(r));
  return out;
}

/**
 * vet() one cluster at a time: each result is handed over as soon as it exists, so a caller that
 * only needs the errors (the vet command, the webhook's vet status) keeps one cluster's hydrated
 * objects in memory at a time instead of every cluster's.
 */
export function vetEach(files: readonly SourceFile[], options: VetOptions, each: (result: CompileResult) => void): void {
  const p = prepare(files, options.sourceFormat, options.namespaceRepo);
  const wanted = options.clusters ? new Set(options.clusters) : undefined;
  const names = [...new Set([...clustersOf(p), ...(options.extraClusters ?? [])])].sort();
  for (const clusterName of names) {
    if (wanted && !wanted.has(clusterName)) continue;
    each(
      compilePrepared(p, {
        sourceFormat: options.sourceFormat,
        clusterName,
        ...(options.policyDir !== undefined ? { policyDir: options.policyDir } : {}),
        ...(options.namespaceRepo !== undefined ? { namespaceRepo: options.namespaceRepo } : {}),
        ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
      }, options.stamp !== false),
    );
  }
}
