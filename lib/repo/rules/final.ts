/** Final phase (spec §5.1): checks over the hydrated set of one cluster. */
import type { DeclaredObject, VetError } from '../types.ts';
import { objectError } from '../errors.ts';
import { groupOf } from '../gvk.ts';
import { ANN_DEPENDS_ON, ANN_MANAGED, ANN_UNKNOWN_SCOPE, isNamespace } from '../keys.ts';
import { dependencyCycles, dependencyKey, formatDependencyRef, refOfObject, type DependencyGraph, type DependencyNode, type DependencyRef } from '../depends-on.ts';

/**
 * Same group, kind, namespace and name. After placement every namespaced object has a
 * namespace and no cluster-scoped one does (KNV1052 saw to that), so the namespace is the key.
 */
export function knv1029Duplicates(objs: readonly DeclaredObject[]): VetError[] {
  const groups = new Map<string, DeclaredObject | DeclaredObject[]>();
  for (const d of objs) {
    const m = d.obj.metadata;
    const ns = isNamespace(d) ? '' : (m.namespace ?? '');
    const k = `${groupOf(d.obj.apiVersion)}\0${d.obj.kind}\0${ns}\0${m.name}`;
    const g = groups.get(k);
    if (g === undefined) groups.set(k, d);
    else if (Array.isArray(g)) g.push(d);
    else groups.set(k, [g, d]);
  }
  const out: VetError[] = [];
  for (const g of groups.values()) {
    if (!Array.isArray(g)) continue;
    const d = g[0] as DeclaredObject;
    const ns = d.obj.metadata.namespace;
    const where = ns && !isNamespace(d) ? ` in namespace ${JSON.stringify(ns)}` : '';
    out.push(objectError('KNV1029', `Objects MUST have unique names: ${g.length} ${d.obj.kind} objects are named ${JSON.stringify(d.obj.metadata.name)}${where} (an inherited copy counts; use NamespaceSelectors or cluster selectors to keep them apart)`, ...g));
  }
  return out;
}

export function knv1056ManagedInUnmanagedNamespace(objs: readonly DeclaredObject[]): VetError[] {
  const disabled = new Set(objs.filter((d) => isNamespace(d) && d.obj.metadata.annotations?.[ANN_MANAGED] === 'disabled').map((d) => d.obj.metadata.name));
  if (disabled.size === 0) return [];
  return objs
    .filter((d) => !isNamespace(d) && disabled.has(d.obj.metadata.namespace ?? '') && d.obj.metadata.annotations?.[ANN_MANAGED] !== 'disabled')
    .map((d) => objectError('KNV1056', `Namespace ${JSON.stringify(d.obj.metadata.namespace)} is marked ${ANN_MANAGED}: disabled, so the objects in it MUST be marked disabled too`, d));
}

export function knv1070Threshold(count: number, threshold: number | undefined): VetError[] {
  return threshold !== undefined && count > threshold
    ? [{ code: 'KNV1070', message: `The repo declares ${count} objects for this cluster, more than the threshold of ${threshold}` }]
    : [];
}

const INVALID_DEPENDS_ON = `invalid ${JSON.stringify(ANN_DEPENDS_ON)} annotation`;

/**
 * A depends-on reference to an object this cluster does not get from the repo. cli-utils only
 * orders objects of one apply and fails the sync on such a reference (its
 * ExternalDependencyError); selectors decide what a cluster gets, so this is checked per cluster.
 * `declared` (every cluster's objects) only explains why a reference dangles.
 */
export function knv2009ExternalDependency(graph: DependencyGraph, declared: readonly DeclaredObject[]): VetError[] {
  const out: VetError[] = [];
  let elsewhere: Map<string, DeclaredObject> | undefined;
  for (const node of graph.nodes.values()) {
    for (const { to, explicit } of node.edges) {
      const key = dependencyKey(to);
      if (!explicit || graph.nodes.has(key)) continue;
      // Offline, a kind of unknown scope was placed by a guess; only the API server at apply
      // time knows whether a reference with or without a namespace names it.
      if (namesakes(graph, to).some((n) => n.d.obj.metadata.annotations?.[ANN_UNKNOWN_SCOPE] === 'true')) continue;
      elsewhere ??= new Map(declared.map((d) => [dependencyKey(refOfObject(d)), d]));
      const unselected = elsewhere.get(key);
      const why = graph.disabled.has(key)
        ? `it is declared with ${ANN_MANAGED}: disabled, so it is never applied`
        : unselected
          ? `it is declared in ${unselected.source.path}, but its cluster selection leaves it out of this cluster`
          : `no such object is declared for this cluster (an object may depend only on objects the repo applies to the same cluster)${didYouMean(graph, to)}`;
      out.push(objectError('KNV2009', `${INVALID_DEPENDS_ON}: external dependency: ${formatDependencyRef(node.ref)} -> ${formatDependencyRef(to)}: ${why}`, node.d));
    }
  }
  return out;
}

/** The objects of the graph that differ from `to` at most in their namespace. */
function namesakes(graph: DependencyGraph, to: DependencyRef): DependencyNode[] {
  return [...graph.nodes.values()].filter(({ ref }) => ref.group === to.group && ref.kind === to.kind && ref.name === to.name);
}

/** The usual slip: the cluster-scoped form for a namespaced object, or the wrong namespace. */
function didYouMean(graph: DependencyGraph, to: DependencyRef): string {
  const near = namesakes(graph, to).map((n) => formatDependencyRef(n.ref)).sort();
  return near.length > 0 ? `; did you mean ${near[0]}?` : '';
}

/**
 * Objects that (through depends-on and the implied edges: custom resource → its CRD,
 * namespaced object → its Namespace) must each be applied before the other: nothing in the
 * cycle can ever be applied (cli-utils' CyclicDependencyError). One error per cycle, its edges
 * printed as Config Sync prints them.
 */
export function knv2009CyclicDependency(graph: DependencyGraph): VetError[] {
  const out: VetError[] = [];
  for (const keys of dependencyCycles(graph)) {
    const members = new Set(keys);
    const nodes = keys.map((k) => graph.nodes.get(k)).filter((n) => n !== undefined);
    const edges: string[] = [];
    let implied = false;
    for (const n of nodes) {
      for (const e of n.edges) {
        if (!members.has(dependencyKey(e.to))) continue;
        edges.push(`${formatDependencyRef(n.ref)} -> ${formatDependencyRef(e.to)}`);
        if (!e.explicit) implied = true;
      }
    }
    const hint = implied ? ' (a namespaced object is always applied after its Namespace, and a custom resource after its CRD)' : '';
    const objs = nodes.map((n) => n.d).sort((a, b) => (a.source.path < b.source.path ? -1 : a.source.path > b.source.path ? 1 : a.source.line - b.source.line));
    out.push(objectError('KNV2009', `cyclic dependency: ${[...new Set(edges)].sort().join('; ')}${hint}`, ...objs));
  }
  return out;
}
