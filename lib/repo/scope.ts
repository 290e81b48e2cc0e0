/**
 * Which kinds are namespaced (spec §2.3): built-in kinds, CRDs declared in the repo, and
 * `api-resources.txt` at the policy root. Offline (pushsync's vet is always offline, like
 * `nomos vet --no-api-server-check`) an unknown kind is accepted and placed by directory.
 */
import type { DeclaredObject, SourceFile, VetError } from './types.ts';
import { gkKey, groupOf } from './gvk.ts';
import { isMap } from './parse.ts';
import { pathError } from './errors.ts';

export type Scope = 'Namespaced' | 'Cluster';

const CLUSTER_KINDS: Record<string, string[]> = {
  '': ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus'],
  'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding'],
  'apiextensions.k8s.io': ['CustomResourceDefinition'],
  'admissionregistration.k8s.io': [
    'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
    'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
    'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding',
  ],
  'scheduling.k8s.io': ['PriorityClass'],
  'storage.k8s.io': ['StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'VolumeAttributesClass'],
  'policy': ['PodSecurityPolicy'],
  'extensions': ['PodSecurityPolicy'],
  'certificates.k8s.io': ['CertificateSigningRequest', 'ClusterTrustBundle'],
  'apiregistration.k8s.io': ['APIService'],
  'node.k8s.io': ['RuntimeClass'],
  'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
  'networking.k8s.io': ['IngressClass', 'IPAddress', 'ServiceCIDR'],
  'resource.k8s.io': ['DeviceClass', 'ResourceSlice'],
  'configmanagement.gke.io': ['ClusterSelector', 'NamespaceSelector', 'Repo', 'HierarchyConfig', 'Sync', 'ClusterConfig', 'NamespaceConfig'],
  'clusterregistry.k8s.io': ['Cluster'],
};

const NAMESPACED_KINDS: Record<string, string[]> = {
  '': [
    'ConfigMap', 'Secret', 'Service', 'ServiceAccount', 'Pod', 'PodTemplate', 'PersistentVolumeClaim',
    'Endpoints', 'LimitRange', 'ResourceQuota', 'ReplicationController', 'Event', 'Binding',
  ],
  'apps': ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ControllerRevision'],
  'batch': ['Job', 'CronJob'],
  'autoscaling': ['HorizontalPodAutoscaler'],
  'networking.k8s.io': ['NetworkPolicy', 'Ingress'],
  'rbac.authorization.k8s.io': ['Role', 'RoleBinding'],
  'policy': ['PodDisruptionBudget'],
  'extensions': ['Deployment', 'DaemonSet', 'ReplicaSet', 'Ingress', 'NetworkPolicy', 'StatefulSet'],
  'coordination.k8s.io': ['Lease'],
  'discovery.k8s.io': ['EndpointSlice'],
  'events.k8s.io': ['Event'],
  'storage.k8s.io': ['CSIStorageCapacity'],
  'resource.k8s.io': ['ResourceClaim', 'ResourceClaimTemplate'],
  'configsync.gke.io': ['RootSync', 'RepoSync'],
  'kpt.dev': ['ResourceGroup'],
};

function table(): Map<string, Scope> {
  const m = new Map<string, Scope>();
  for (const [g, kinds] of Object.entries(CLUSTER_KINDS)) for (const k of kinds) m.set(gkKey(g, k), 'Cluster');
  for (const [g, kinds] of Object.entries(NAMESPACED_KINDS)) for (const k of kinds) m.set(gkKey(g, k), 'Namespaced');
  return m;
}
const BUILTIN = table();

export interface ScopeTable {
  /** Scope of a group-kind, or undefined when nothing declares it. */
  lookup(group: string, kind: string): Scope | undefined;
}

/** Builtins, then CRDs of the repo, then api-resources.txt. CRD decode errors are KNV1065. */
export function buildScopes(objects: readonly DeclaredObject[], apiResources: SourceFile | undefined): { scopes: ScopeTable; errors: VetError[] } {
  const errors: VetError[] = [];
  const declared = new Map<string, Scope>();
  if (apiResources) {
    const r = parseApiResources(apiResources);
    errors.push(...r.errors);
    for (const [k, v] of r.scopes) declared.set(k, v);
  }
  for (const d of objects) {
    const crd = crdScope(d);
    if (crd) declared.set(gkKey(crd.group, crd.kind), crd.scope);
  }
  // Asked once per object per cluster, for a handful of kinds: remember the answers.
  const known = new Map<string, Map<string, Scope | undefined>>();
  const lookup = (group: string, kind: string): Scope | undefined => {
    let byKind = known.get(group);
    if (byKind === undefined) known.set(group, (byKind = new Map()));
    if (byKind.has(kind)) return byKind.get(kind);
    const key = gkKey(group, kind);
    const scope = BUILTIN.get(key) ?? declared.get(key);
    byKind.set(kind, scope);
    return scope;
  };
  return { scopes: { lookup }, errors };
}

export function isCrd(d: DeclaredObject): boolean {
  return d.obj.kind === 'CustomResourceDefinition' && groupOf(d.obj.apiVersion) === 'apiextensions.k8s.io';
}

/** The group/kind/scope a CRD declares, or undefined when it does not decode (KNV1065 elsewhere). */
export function crdScope(d: DeclaredObject): { group: string; kind: string; scope: Scope; plural: string } | undefined {
  if (!isCrd(d)) return undefined;
  const spec = d.obj.spec;
  if (!isMap(spec) || !isMap(spec.names)) return undefined;
  const { group, scope } = spec;
  const { kind, plural } = spec.names;
  if (typeof group !== 'string' || typeof kind !== 'string' || typeof plural !== 'string') return undefined;
  if (scope !== 'Namespaced' && scope !== 'Cluster') return undefined;
  return { group, kind, scope, plural };
}

/** `kubectl api-resources` output: columns NAME SHORTNAMES APIVERSION NAMESPACED KIND. */
export function parseApiResources(file: SourceFile): { scopes: Map<string, Scope>; errors: VetError[] } {
  const scopes = new Map<string, Scope>();
  const text = typeof file.content === 'string' ? file.content : new TextDecoder().decode(file.content);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0] ?? '';
  const col = (name: string) => header.indexOf(name);
  const av = col('APIVERSION');
  const ns = col('NAMESPACED');
  const kind = col('KIND');
  if (av < 0 || ns < 0 || kind < 0) {
    return { scopes, errors: [pathError('KNV1064', 'api-resources.txt has no APIVERSION, NAMESPACED and KIND columns; generate it with `kubectl api-resources > api-resources.txt`', file.path, 1)] };
  }
  const errors: VetError[] = [];
  lines.slice(1).forEach((l, i) => {
    const fields = (start: number) => l.slice(start).trim().split(/\s+/)[0] ?? '';
    const apiVersion = fields(av);
    const namespaced = fields(ns);
    const k = fields(kind);
    if (namespaced !== 'true' && namespaced !== 'false') {
      errors.push(pathError('KNV1064', `api-resources.txt line ${i + 2}: NAMESPACED is ${JSON.stringify(namespaced)}, want true or false`, file.path, i + 2));
      return;
    }
    scopes.set(gkKey(groupOf(apiVersion), k), namespaced === 'true' ? 'Namespaced' : 'Cluster');
  });
  return { scopes, errors };
}
