/**
 * The hierarchical format's tree phase (spec §2): top-level directory rules, HierarchyConfig,
 * namespace vs abstract directories, inheritance, NamespaceSelectors and depth labels.
 */
import type { DeclaredObject, VetError } from './types.ts';
import { objectError, pathError } from './errors.ts';
import { gkKey, groupOf, CM_GROUP } from './gvk.ts';
import { isMap } from './parse.ts';
import { withMeta } from './clone.ts';
import { baseName, dirOf, isUnder, topDir } from './paths.ts';
import { matches } from './selector.ts';
import type { Scope } from './scope.ts';
import type { NamespaceSelectorDef } from './namespace-selectors.ts';
import {
  ANN_HNC_MANAGED_BY,
  ANN_NAMESPACE_SELECTOR,
  ANN_ORIGINAL_HNC_MANAGED_BY,
  DEPTH_SUFFIX,
  isClusterKind,
  isClusterSelectorKind,
  isHierarchyConfigKind,
  isNamespace,
  isNamespaceSelectorKind,
  isRepoKind,
} from './keys.ts';

type Scoped = { readonly d: DeclaredObject; readonly scope: Scope };

/** H, before selection: objects in a namespace directory get that namespace (spec §2.2). */
export function namespaceFromDirectory(objs: readonly DeclaredObject[]): DeclaredObject[] {
  const nsDirs = new Set(objs.filter((d) => isNamespace(d) && topDir(d.source.path) === 'namespaces').map((d) => dirOf(d.source.path)));
  nsDirs.delete('namespaces');
  return objs.map((d) => {
    const dir = dirOf(d.source.path);
    if (isNamespace(d) || !nsDirs.has(dir) || (typeof d.obj.metadata.namespace === 'string' && d.obj.metadata.namespace !== '')) return d;
    return withMeta(d, { namespace: baseName(dir) });
  });
}

/** KNV1039: where each kind may be declared (spec §2.3). Cluster/ClusterSelector are raw-phase. */
export function knv1039WrongTopDir(s: Scoped, nsDirs: ReadonlySet<string>): VetError[] {
  const { d, scope } = s;
  const top = topDir(d.source.path);
  if (isClusterKind(d) || isClusterSelectorKind(d)) return [];
  const err = (msg: string) => [objectError('KNV1039', msg, d)];
  if (isRepoKind(d) || isHierarchyConfigKind(d)) return top === 'system' ? [] : err(`${d.obj.kind} objects MUST be declared in system/`);
  if (top === 'system') return err(`Only Repo and HierarchyConfig objects may be declared in system/; move this ${d.obj.kind} to ${scope === 'Cluster' ? 'cluster/' : 'namespaces/'}`);
  if (top === 'clusterregistry') return err(`Only Cluster and ClusterSelector objects may be declared in clusterregistry/; move this ${d.obj.kind} to ${scope === 'Cluster' ? 'cluster/' : 'namespaces/'}`);
  if (top === 'cluster') {
    if (isNamespace(d) || isNamespaceSelectorKind(d) || scope === 'Namespaced') return err(`Only cluster-scoped objects may be declared in cluster/; ${d.obj.kind} ${isNamespace(d) ? 'objects belong in namespaces/<name>/' : 'is namespaced: move it to namespaces/'}`);
    return [];
  }
  if (top === 'namespaces') {
    // A cluster-scoped object in a namespace directory already failed with KNV1052.
    if (scope === 'Cluster' && !isNamespace(d) && !isNamespaceSelectorKind(d) && !nsDirs.has(dirOf(d.source.path))) {
      return err(`Cluster-scoped objects MUST be declared in cluster/, not namespaces/; move this ${d.obj.kind}`);
    }
  }
  return [];
}

export interface HierarchyModes {
  /** gkKey → mode ("none" forbids the kind in abstract directories). */
  readonly modes: Map<string, string>;
  readonly errors: VetError[];
}

/** HierarchyConfig entries: KNV1041 / KNV1042 / KNV1046. */
export function hierarchyConfigs(objs: readonly DeclaredObject[], clusterGks: ReadonlySet<string>): HierarchyModes {
  const modes = new Map<string, string>();
  const errors: VetError[] = [];
  for (const d of objs.filter(isHierarchyConfigKind)) {
    const spec = isMap(d.obj.spec) ? d.obj.spec : {};
    const resources = Array.isArray(spec.resources) ? spec.resources : [];
    for (const r of resources) {
      if (!isMap(r)) continue;
      const group = typeof r.group === 'string' ? r.group : '';
      const kinds = Array.isArray(r.kinds) ? (r.kinds.filter((k) => typeof k === 'string') as string[]) : [];
      const mode = typeof r.hierarchyMode === 'string' ? r.hierarchyMode : '';
      if (kinds.length === 0) errors.push(objectError('KNV1041', `HierarchyConfig entry for group ${JSON.stringify(group)} names no kinds`, d));
      for (const k of kinds) {
        if (group === '' && k === 'Namespace') errors.push(objectError('KNV1041', 'HierarchyConfig MUST NOT configure Namespace', d));
        else if (group === CM_GROUP) errors.push(objectError('KNV1041', `HierarchyConfig MUST NOT configure ${CM_GROUP} kinds (${k})`, d));
        else if (clusterGks.has(gkKey(group, k))) errors.push(objectError('KNV1046', `HierarchyConfig configures ${gkKey(group, k)}, which is cluster-scoped (declared in cluster/); only namespaced kinds inherit`, d));
        if (mode !== '' && mode !== 'inherit' && mode !== 'none') {
          errors.push(objectError('KNV1042', `HierarchyConfig hierarchyMode ${JSON.stringify(mode)} for ${gkKey(group, k)} is not one of "inherit", "none" (or empty)`, d));
        }
        modes.set(gkKey(group, k), mode);
      }
    }
  }
  return { modes, errors };
}

/** A syncable object counts for KNV1044; the engine's own kinds do not. */
const syncable = (d: DeclaredObject) =>
  !isNamespaceSelectorKind(d) && !isRepoKind(d) && !isHierarchyConfigKind(d) && !(d.obj.kind === 'Sync' && groupOf(d.obj.apiVersion) === CM_GROUP);

export interface TreeResult {
  readonly errors: VetError[];
  readonly objects: DeclaredObject[];
}

/**
 * Build the namespaces/ tree for one cluster's selected objects, check it, then inherit and
 * apply NamespaceSelectors. `scoped` holds every selected object with its scope.
 */
export function buildTree(scoped: readonly Scoped[], selectors: ReadonlyMap<string, NamespaceSelectorDef>, modes: ReadonlyMap<string, string>): TreeResult {
  const errors: VetError[] = [];
  const inNs = scoped.filter((s) => topDir(s.d.source.path) === 'namespaces');
  const namespaces = inNs.filter((s) => isNamespace(s.d)).map((s) => s.d);

  // Namespace directories and KNV2012 (one Namespace per directory after selection).
  const nsByDir = new Map<string, DeclaredObject[]>();
  for (const n of namespaces) {
    const dir = dirOf(n.source.path);
    if (dir === 'namespaces') continue; // KNV1019 (raw phase)
    const list = nsByDir.get(dir);
    if (list) list.push(n);
    else nsByDir.set(dir, [n]);
  }
  for (const [dir, list] of nsByDir) {
    if (list.length > 1) errors.push({ ...objectError('KNV2012', `Directory ${dir}/ MUST declare exactly one Namespace for a cluster; ${list.length} are selected`, ...list) });
  }
  const nsDirs = new Set(nsByDir.keys());

  // Tree nodes: directories holding a Namespace or namespaced object, plus their ancestors.
  const nodeDirs = new Set<string>();
  for (const s of inNs) {
    if (!(isNamespace(s.d) || (s.scope === 'Namespaced' && !isNamespaceSelectorKind(s.d)))) continue;
    for (let dir = dirOf(s.d.source.path); dir !== '' && !nodeDirs.has(dir); dir = dirOf(dir)) nodeDirs.add(dir);
  }

  // KNV1003: a namespace directory has no sub-directories holding configs.
  for (const dir of [...nodeDirs].sort()) {
    const parent = dirOf(dir);
    if (nsDirs.has(parent)) {
      errors.push({ ...pathError('KNV1003', `A namespace directory MUST NOT have sub-directories: ${parent}/ declares Namespace ${JSON.stringify(baseName(parent))} and holds ${dir}/; move the sub-directory out, or make ${parent}/ an abstract directory`, `${parent}/`), paths: [`${dir}/`] });
    }
  }

  // KNV1038: NamespaceSelectors only in abstract directories.
  for (const s of inNs) {
    if (isNamespaceSelectorKind(s.d) && nsDirs.has(dirOf(s.d.source.path))) {
      errors.push(objectError('KNV1038', 'NamespaceSelectors MUST be declared in abstract namespace directories, not in a namespace directory', s.d));
    }
  }

  // KNV1044: an abstract directory with syncable objects needs a namespace directory below it.
  const byDir = new Map<string, DeclaredObject[]>();
  for (const s of inNs) {
    const dir = dirOf(s.d.source.path);
    if (nsDirs.has(dir)) continue;
    const list = byDir.get(dir);
    if (list) list.push(s.d);
    else byDir.set(dir, [s.d]);
  }
  const ancestorsOf = (dirs: Iterable<string>, self: boolean) => {
    const out = new Set<string>();
    for (const d of dirs) for (let a = self ? d : dirOf(d); a !== '' && !out.has(a); a = dirOf(a)) out.add(a);
    return out;
  };
  const nsAncestors = ancestorsOf(nsDirs, true);
  const nodeAncestors = ancestorsOf(nodeDirs, false);
  for (const [dir, list] of byDir) {
    const objs = list.filter(syncable);
    if (objs.length === 0) continue;
    if (nsAncestors.has(dir)) continue;
    if (nsDirs.has(dirOf(dir)) || [...ancestorsOf([dir], false)].some((a) => nsDirs.has(a))) continue; // KNV1003 covers it
    const leaf = !nodeAncestors.has(dir);
    const msg = leaf
      ? `The directory ${dir}/ holds namespaced objects but declares no Namespace; add a Namespace named ${JSON.stringify(baseName(dir))} to it, or move the objects`
      : `The abstract namespace directory ${dir}/ holds objects but has no namespace directory below it, so they would apply nowhere`;
    const { line: _line, ...e } = objectError('KNV1044', msg, ...objs);
    errors.push({ ...e, path: `${dir}/` });
  }

  // KNV1013: a namespace-selector must name a selector in the object's directory or above it.
  for (const s of inNs) {
    const ref = s.d.obj.metadata.annotations?.[ANN_NAMESPACE_SELECTOR];
    if (ref === undefined || isNamespaceSelectorKind(s.d) || s.scope !== 'Namespaced') continue;
    const def = selectors.get(ref);
    if (!def) errors.push(objectError('KNV1013', `The object refers to NamespaceSelector ${JSON.stringify(ref)}, which is not declared`, s.d));
    else if (!isUnder(dirOf(s.d.source.path), def.dir)) {
      errors.push(objectError('KNV1013', `NamespaceSelector ${JSON.stringify(ref)} is declared in ${def.dir}/, which is not this object's directory or an ancestor of it`, s.d, def.decl));
    }
  }

  // KNV1007: kinds with hierarchyMode "none" may not sit in abstract directories.
  for (const s of inNs) {
    if (s.scope !== 'Namespaced' || isNamespaceSelectorKind(s.d) || nsDirs.has(dirOf(s.d.source.path))) continue;
    if (modes.get(gkKey(groupOf(s.d.obj.apiVersion), s.d.obj.kind)) === 'none') {
      errors.push(objectError('KNV1007', `${s.d.obj.kind} has hierarchyMode "none" in a HierarchyConfig, so it MUST NOT be declared in an abstract namespace directory`, s.d));
    }
  }
  if (errors.length > 0) return { errors, objects: [] };

  // Depth labels first: NamespaceSelectors match on them.
  const nsObjects = new Map<string, DeclaredObject>();
  for (const [dir, [n]] of nsByDir) if (n) nsObjects.set(dir, withDepthLabels(n, dir));

  const out: DeclaredObject[] = [];
  const abstractObjects = new Map<string, DeclaredObject[]>();
  for (const s of scoped) {
    const { d } = s;
    if (isNamespaceSelectorKind(d) || isRepoKind(d) || isHierarchyConfigKind(d)) continue;
    const dir = dirOf(d.source.path);
    if (topDir(d.source.path) !== 'namespaces') { out.push(d); continue; }
    if (isNamespace(d)) { out.push(nsObjects.get(dir) ?? d); continue; }
    if (nsDirs.has(dir)) {
      const ns = nsObjects.get(dir);
      if (ns && keptBySelector(d, ns, selectors)) out.push(d);
      continue;
    }
    const list = abstractObjects.get(dir);
    if (list) list.push(d);
    else abstractObjects.set(dir, [d]);
  }
  // Inheritance: each namespace directory gets a copy of every object in the abstract
  // directories above it (namespaces/ included).
  for (const [nsDir, ns] of nsObjects) {
    for (let dir = dirOf(nsDir); dir !== ''; dir = dirOf(dir)) {
      for (const d of abstractObjects.get(dir) ?? []) {
        if (!keptBySelector(d, ns, selectors)) continue;
        out.push(withMeta(d, { namespace: ns.obj.metadata.name }));
      }
    }
  }
  return { errors, objects: out };
}

function keptBySelector(d: DeclaredObject, ns: DeclaredObject, selectors: ReadonlyMap<string, NamespaceSelectorDef>): boolean {
  const ref = d.obj.metadata.annotations?.[ANN_NAMESPACE_SELECTOR];
  if (ref === undefined) return true;
  const def = selectors.get(ref);
  return def !== undefined && matches(def.selector, ns.obj.metadata.labels ?? {});
}

/** `namespaces/a/b/c` → a: "2", b: "1", c: "0", and the HNC managed-by annotation. */
function withDepthLabels(n: DeclaredObject, dir: string): DeclaredObject {
  const labels = { ...n.obj.metadata.labels };
  const parts = dir.split('/').slice(1);
  parts.forEach((p, i) => (labels[`${p}${DEPTH_SUFFIX}`] = String(parts.length - 1 - i)));
  const annotations = { ...n.obj.metadata.annotations };
  const user = annotations[ANN_HNC_MANAGED_BY];
  if (user !== undefined && user !== 'configmanagement.gke.io') annotations[ANN_ORIGINAL_HNC_MANAGED_BY] = user;
  annotations[ANN_HNC_MANAGED_BY] = 'configmanagement.gke.io';
  return withMeta(n, { labels, annotations });
}
