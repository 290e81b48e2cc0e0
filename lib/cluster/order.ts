/**
 * Apply order as data (repo-format §6.6): a dependency graph (CR → its CRD, namespaced
 * object → its Namespace, `config.kubernetes.io/depends-on`) sorted into waves.
 *
 * A wave is (depth in the graph, phase), phases being CRDs → Namespaces → other
 * cluster-scoped → namespaced. Every edge raises the depth, so explicit dependencies always
 * win, and without them the order is the familiar CRDs, wait, Namespaces, cluster objects,
 * namespaced objects. Inside a wave: the fixed kind order, then namespace, then name.
 */
import { ClusterError, Codes } from './errors.ts';
import { formatId, idKey } from './objects.ts';
import type { ObjectId } from './objects.ts';
import { parseDependsOn as parseDependsOnAnnotation } from '../repo/index.ts';

const KIND_ORDER = [
  'Namespace',
  'ResourceQuota',
  'StorageClass',
  'CustomResourceDefinition',
  'MutatingWebhookConfiguration',
  'ServiceAccount',
  'PodSecurityPolicy',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'LimitRange',
  'PriorityClass',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
const LAST_KIND = 'ValidatingWebhookConfiguration';

export const Phase = { Crd: 0, Namespace: 1, Cluster: 2, Namespaced: 3 } as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** What ordering needs to know about one object. */
export interface OrderNode {
  readonly id: ObjectId;
  readonly namespaced: boolean;
  /** Keys (objects.idKey) of the objects this one must follow. */
  readonly deps: readonly string[];
}

export function phaseOf(n: Pick<OrderNode, 'id' | 'namespaced'>): Phase {
  if (n.id.kind === 'CustomResourceDefinition' && n.id.group === 'apiextensions.k8s.io') return Phase.Crd;
  if (n.id.kind === 'Namespace' && n.id.group === '') return Phase.Namespace;
  return n.namespaced ? Phase.Namespaced : Phase.Cluster;
}

/** Sort key of the kind order: known kinds by position, others by group then kind, VWC last. */
function kindKey(id: ObjectId): [number, string, string] {
  if (id.kind === LAST_KIND) return [KIND_ORDER.length + 1, '', ''];
  const i = KIND_ORDER.indexOf(id.kind);
  return i >= 0 ? [i, '', ''] : [KIND_ORDER.length, id.group, id.kind];
}

export function compareForApply(a: ObjectId, b: ObjectId): number {
  const ka = kindKey(a);
  const kb = kindKey(b);
  return ka[0] - kb[0] || cmp(ka[1], kb[1]) || cmp(ka[2], kb[2]) || cmp(a.namespace ?? '', b.namespace ?? '') || cmp(a.name, b.name);
}

/** Deletion order inside a wave: kinds in reverse, names still in order (stable, readable output). */
export function compareForPrune(a: ObjectId, b: ObjectId): number {
  const ka = kindKey(a);
  const kb = kindKey(b);
  return kb[0] - ka[0] || cmp(kb[1], ka[1]) || cmp(kb[2], ka[2]) || cmp(a.namespace ?? '', b.namespace ?? '') || cmp(a.name, b.name);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Group nodes into waves. Dependencies on objects outside the set are ignored (they are
 * either on the cluster already or the API server will say what is missing). A cycle throws
 * ClusterError(KNV2009) naming one cycle.
 */
export function sortIntoWaves<T extends OrderNode>(nodes: readonly T[]): T[][] {
  const byKey = new Map(nodes.map((n) => [idKey(n.id), n]));
  const depth = new Map<string, number>();
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (key: string): number => {
    const known = depth.get(key);
    if (known !== undefined) return known;
    if (state.get(key) === 'visiting') {
      const cycle = stack.slice(stack.indexOf(key)).concat(key);
      throw new ClusterError(
        Codes.applier,
        `dependency cycle: ${cycle.map((k) => formatId((byKey.get(k) as T).id)).join(' → ')}`,
      );
    }
    state.set(key, 'visiting');
    stack.push(key);
    let d = 0;
    for (const dep of (byKey.get(key) as T).deps) if (dep !== key && byKey.has(dep)) d = Math.max(d, visit(dep) + 1);
    stack.pop();
    state.set(key, 'done');
    depth.set(key, d);
    return d;
  };
  for (const key of byKey.keys()) visit(key);

  const waves = new Map<string, T[]>();
  for (const n of nodes) {
    const wk = `${String(depth.get(idKey(n.id))).padStart(6, '0')}:${phaseOf(n)}`;
    const list = waves.get(wk) ?? [];
    list.push(n);
    waves.set(wk, list);
  }
  return [...waves.keys()].sort().map((k) => (waves.get(k) as T[]).sort((a, b) => compareForApply(a.id, b.id)));
}

/**
 * `config.kubernetes.io/depends-on`, read by the repo engine's parser (the one vet checks the
 * annotation with, so apply and vet never disagree on it). Throws KNV2010 on a malformed one.
 */
export function dependsOnIds(value: string): ObjectId[] {
  const parsed = parseDependsOnAnnotation(value);
  if (!parsed.ok) throw new ClusterError(Codes.resource, `config.kubernetes.io/depends-on: ${parsed.error}`);
  return [...parsed.refs];
}
