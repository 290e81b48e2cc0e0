/** The annotation/label keys and special kinds Config Sync gives meaning to (spec §3, §6). */
import type { DeclaredObject } from './types.ts';
import { CLUSTER_REGISTRY_API, CM_API, groupOf } from './gvk.ts';

export const ANN_NAMESPACE_SELECTOR = 'configmanagement.gke.io/namespace-selector';
export const ANN_CLUSTER_SELECTOR = 'configmanagement.gke.io/cluster-selector';
export const ANN_CLUSTER_NAME_SELECTOR = 'configsync.gke.io/cluster-name-selector';
export const ANN_MANAGED = 'configmanagement.gke.io/managed';
export const ANN_SOURCE_PATH = 'configmanagement.gke.io/source-path';
export const ANN_CLUSTER_NAME = 'configmanagement.gke.io/cluster-name';
export const ANN_UNKNOWN_SCOPE = 'configsync.gke.io/unknown-scope';
export const ANN_HNC_MANAGED_BY = 'hnc.x-k8s.io/managed-by';
export const ANN_ORIGINAL_HNC_MANAGED_BY = 'configsync.gke.io/original-hnc-managed-by-value';
export const ANN_DELETION = 'client.lifecycle.config.k8s.io/deletion';
export const LABEL_DECLARED_VERSION = 'configsync.gke.io/declared-version';
export const DEPTH_SUFFIX = '.tree.hnc.x-k8s.io/depth';
/** Apply-order dependencies on other objects of the same apply (§6.6); see depends-on.ts. */
export const ANN_DEPENDS_ON = 'config.kubernetes.io/depends-on';
/** pushsync's own record of where an object was declared (kept on the cluster). */
export const ANN_PUSHSYNC_SOURCE_PATH = 'pushsync.dev/source-path';

/** The only configmanagement.gke.io/ and configsync.gke.io/ annotations users may write (§6.1). */
export const USER_ANNOTATIONS = new Set([
  ANN_NAMESPACE_SELECTOR,
  ANN_CLUSTER_SELECTOR,
  ANN_CLUSTER_NAME_SELECTOR,
  ANN_MANAGED,
  'configsync.gke.io/deletion-propagation-policy',
]);

export const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'gatekeeper-system']);

const is = (apiVersion: string, kind: string) => (d: DeclaredObject) => d.obj.apiVersion === apiVersion && d.obj.kind === kind;
const isGk = (group: string, kind: string) => (d: DeclaredObject) => d.obj.kind === kind && groupOf(d.obj.apiVersion) === group;

export const isNamespace = is('v1', 'Namespace');
export const isClusterKind = is(CLUSTER_REGISTRY_API, 'Cluster');
export const isClusterSelectorKind = is(CM_API, 'ClusterSelector');
export const isNamespaceSelectorKind = isGk('configmanagement.gke.io', 'NamespaceSelector');
export const isRepoKind = isGk('configmanagement.gke.io', 'Repo');
export const isHierarchyConfigKind = isGk('configmanagement.gke.io', 'HierarchyConfig');

export const annotation = (d: DeclaredObject, key: string): string | undefined => {
  const v = d.obj.metadata.annotations?.[key];
  return typeof v === 'string' ? v : undefined;
};
