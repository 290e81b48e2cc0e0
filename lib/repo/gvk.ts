/** apiVersion / group-kind helpers shared by every phase. */

export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

export function versionOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? apiVersion : apiVersion.slice(i + 1);
}

/** "Kind.group" (or "Kind" for the core group): the key scope tables use. */
export function gkKey(group: string, kind: string): string {
  return group === '' ? kind : `${kind}.${group}`;
}

export const CM_GROUP = 'configmanagement.gke.io';
export const CS_GROUP = 'configsync.gke.io';
export const CLUSTER_REGISTRY_API = 'clusterregistry.k8s.io/v1alpha1';
export const CM_API = 'configmanagement.gke.io/v1';
