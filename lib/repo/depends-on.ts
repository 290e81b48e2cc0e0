/**
 * `config.kubernetes.io/depends-on` (repo-format §6.6): the one parser of the annotation, used
 * by vet (the rules below) and by the apply order (lib/cluster/order.ts), and the dependency
 * graph of one cluster's objects that vet checks for dangling references and cycles.
 *
 * Config Sync reads the annotation only when it applies (cli-utils
 * `pkg/object/dependson/strings.go` parses it, `pkg/object/graph/depends.go` builds the graph)
 * and reports what is wrong as KNV2009 on every sync; vet reports the same problems, with the
 * same code and message shapes, before anything reaches a cluster.
 */
import type { DeclaredObject } from './types.ts';
import { groupOf } from './gvk.ts';
import { ANN_DEPENDS_ON, ANN_MANAGED, isNamespace } from './keys.ts';
import { isMap } from './parse.ts';

/** One object the annotation names. Structurally a lib/cluster ObjectId. */
export interface DependencyRef {
  readonly group: string;
  readonly kind: string;
  /** Absent for the cluster-scoped form `<group>/<Kind>/<name>`. */
  readonly namespace?: string;
  readonly name: string;
}

export type DependsOnParse =
  | { readonly ok: true; readonly refs: readonly DependencyRef[] }
  | { readonly ok: false; readonly error: string };

const FORMS = '<group>/<Kind>/<name> or <group>/namespaces/<namespace>/<Kind>/<name>';

/**
 * `<group>/namespaces/<namespace>/<Kind>/<name>` or `<group>/<Kind>/<name>`, comma-separated,
 * the core group empty. As in cli-utils every entry must parse, so an empty entry (a trailing
 * comma) is an error; stricter than cli-utils, kind, name and a namespace that is spelled out
 * must not be empty, since such a reference can never name an object.
 */
export function parseDependsOn(value: string): DependsOnParse {
  const refs: DependencyRef[] = [];
  for (const [index, raw] of value.split(',').entries()) {
    const ref = raw.trim();
    const fields = ref.split('/');
    const fail = (why: string): DependsOnParse => ({ ok: false, error: `failed to parse object reference (index: ${index}): ${JSON.stringify(ref)} is not ${FORMS} (${why})` });
    if (fields.length === 3) {
      const [group = '', kind = '', name = ''] = fields;
      if (kind === '' || name === '') return fail('kind and name must not be empty');
      refs.push({ group, kind, name });
    } else if (fields.length === 5) {
      const [group = '', namespaces, namespace = '', kind = '', name = ''] = fields;
      if (namespaces !== 'namespaces') return fail(`the second of 5 fields must be "namespaces", not ${JSON.stringify(namespaces)}`);
      if (namespace === '' || kind === '' || name === '') return fail('namespace, kind and name must not be empty');
      refs.push({ group, namespace, kind, name });
    } else {
      return fail(`expected 3 or 5 fields, found ${fields.length}`);
    }
  }
  return { ok: true, refs };
}

/** The annotation's own spelling of a reference, as cli-utils prints it in its errors. */
export function formatDependencyRef(ref: DependencyRef): string {
  return ref.namespace ? `${ref.group}/namespaces/${ref.namespace}/${ref.kind}/${ref.name}` : `${ref.group}/${ref.kind}/${ref.name}`;
}

export function dependencyKey(ref: DependencyRef): string {
  return `${ref.group}\u0000${ref.kind}\u0000${ref.namespace ?? ''}\u0000${ref.name}`;
}

export function refOfObject(d: DeclaredObject): DependencyRef {
  const m = d.obj.metadata;
  const ns = !isNamespace(d) && typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : undefined;
  return { group: groupOf(d.obj.apiVersion), kind: d.obj.kind, ...(ns ? { namespace: ns } : {}), name: m.name };
}

export const isManagementDisabled = (d: DeclaredObject): boolean => d.obj.metadata.annotations?.[ANN_MANAGED] === 'disabled';

/** The annotation's value when the object has one that is a string (KNV1054 covers the rest). */
export function dependsOnValue(d: DeclaredObject): string | undefined {
  const v: unknown = d.obj.metadata.annotations?.[ANN_DEPENDS_ON];
  return typeof v === 'string' ? v : undefined;
}

/** An edge of the graph: `explicit` ones come from the annotation, the rest are implied. */
export interface DependencyEdge {
  readonly to: DependencyRef;
  readonly explicit: boolean;
}

export interface DependencyNode {
  readonly d: DeclaredObject;
  readonly ref: DependencyRef;
  readonly edges: readonly DependencyEdge[];
}

export interface DependencyGraph {
  /** The objects the cluster gets applied, by dependencyKey; empty when none has the annotation. */
  readonly nodes: ReadonlyMap<string, DependencyNode>;
  /** Declared objects that are never applied (`managed: disabled`), by dependencyKey. */
  readonly disabled: ReadonlyMap<string, DeclaredObject>;
}

/**
 * The graph cli-utils builds when it applies one cluster's objects: the objects Config Sync
 * applies (not those marked `managed: disabled`: its applier sets them aside first), with
 * edges for the annotation, custom resource → its CRD and namespaced object → its Namespace.
 * Without any depends-on annotation no cycle or dangling reference is possible, so the graph
 * is left empty and vet pays nothing for it.
 */
export function dependencyGraph(objs: readonly DeclaredObject[]): DependencyGraph {
  const nodes = new Map<string, DependencyNode>();
  const disabled = new Map<string, DeclaredObject>();
  if (!objs.some((d) => dependsOnValue(d) !== undefined)) return { nodes, disabled };
  const applied = objs.filter((d) => {
    if (!isManagementDisabled(d)) return true;
    disabled.set(dependencyKey(refOfObject(d)), d);
    return false;
  });
  const crds = new Map<string, DependencyRef>();
  const namespaces = new Set<string>();
  for (const d of applied) {
    const ref = refOfObject(d);
    const crdOf = definedKind(d);
    if (crdOf !== undefined) crds.set(crdOf, ref);
    if (isNamespace(d)) namespaces.add(d.obj.metadata.name);
  }
  for (const d of applied) {
    const ref = refOfObject(d);
    const edges: DependencyEdge[] = [];
    const crd = crds.get(`${ref.group}\u0000${ref.kind}`);
    if (crd !== undefined) edges.push({ to: crd, explicit: false });
    if (ref.namespace !== undefined && namespaces.has(ref.namespace)) edges.push({ to: { group: '', kind: 'Namespace', name: ref.namespace }, explicit: false });
    const value = dependsOnValue(d);
    const parsed = value === undefined ? undefined : parseDependsOn(value);
    // A malformed annotation stopped vet in the raw phase already.
    if (parsed?.ok) for (const to of parsed.refs) edges.push({ to, explicit: true });
    nodes.set(dependencyKey(ref), { d, ref, edges });
  }
  return { nodes, disabled };
}

/** `group\0Kind` a CustomResourceDefinition serves, if `d` is one. */
function definedKind(d: DeclaredObject): string | undefined {
  if (d.obj.kind !== 'CustomResourceDefinition' || groupOf(d.obj.apiVersion) !== 'apiextensions.k8s.io') return undefined;
  const spec = d.obj.spec;
  if (!isMap(spec) || typeof spec.group !== 'string' || !isMap(spec.names) || typeof spec.names.kind !== 'string') return undefined;
  return `${spec.group}\u0000${spec.names.kind}`;
}

/**
 * Strongly connected components that are cycles (more than one node, or a node depending on
 * itself), each as its node keys. Tarjan's algorithm over node numbers, iterative: a long
 * chain of dependencies must not exhaust the stack.
 */
export function dependencyCycles(graph: DependencyGraph): string[][] {
  const keys = [...graph.nodes.keys()];
  const number = new Map(keys.map((k, i) => [k, i]));
  const succ: number[][] = keys.map((k) => {
    const out: number[] = [];
    for (const e of graph.nodes.get(k)?.edges ?? []) {
      const j = number.get(dependencyKey(e.to));
      if (j !== undefined) out.push(j);
    }
    return out;
  });
  const n = keys.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const nextEdge = new Int32Array(n);
  const stack: number[] = [];
  const work: number[] = [];
  const cycles: string[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    work.push(root);
    while (work.length > 0) {
      const v = work[work.length - 1] as number;
      if (index[v] === -1) {
        index[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = 1;
      }
      const out = succ[v] as number[];
      const e = nextEdge[v] as number;
      if (e < out.length) {
        nextEdge[v] = e + 1;
        const w = out[e] as number;
        if (index[w] === -1) work.push(w);
        else if (onStack[w]) low[v] = Math.min(low[v] as number, index[w] as number);
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low[parent] = Math.min(low[parent] as number, low[v] as number);
      if (low[v] !== index[v]) continue;
      const component: number[] = [];
      let w: number;
      do {
        w = stack.pop() as number;
        onStack[w] = 0;
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || out.includes(v)) cycles.push(component.reverse().map((i) => keys[i] as string));
    }
  }
  return cycles;
}
