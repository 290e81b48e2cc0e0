/** apiVersion / group-kind helpers shared by every phase. */

// A repo has a handful of apiVersions and asks for their group once per object per phase.
const groups = new Map<string, string>();

export function groupOf(apiVersion: string): string {
  let g = groups.get(apiVersion);
  if (g === undefined) {
    const i = apiVersion.indexOf('/');
    g = i < 0 ? '' : apiVersion.slice(0, i);
    if (groups.size > 10_000) groups.clear();
    groups.set(apiVersion, g);
  }
  return g;
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
