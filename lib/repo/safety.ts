/**
 * Checks that compare two declared sets (previous commit → this one). Pure: the applier
 * gives the previous set from the cluster's inventory.
 */
import type { KubeObject, VetError } from './types.ts';
import { groupOf, gkKey } from './gvk.ts';
import { isMap } from './parse.ts';

export interface ObjectKey {
  readonly group: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export const keyOf = (o: KubeObject): ObjectKey => ({
  group: groupOf(o.apiVersion),
  kind: o.kind,
  name: o.metadata.name,
  ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
});

const isNs = (k: ObjectKey) => k.group === '' && k.kind === 'Namespace';

/**
 * KNV2006 (spec §6.4): refuse a commit that drops every Namespace when the previous one had two
 * or more, or that drops every object when the previous one had any, unless allowDeleteAll.
 */
export function checkDeletionSafety(previous: readonly ObjectKey[], next: readonly ObjectKey[], options: { allowDeleteAll?: boolean } = {}): VetError | undefined {
  if (options.allowDeleteAll) return undefined;
  const prevNs = previous.filter(isNs).length;
  if (prevNs >= 2 && !next.some(isNs)) {
    return {
      code: 'KNV2006',
      message: `This commit would delete all ${prevNs} Namespaces the cluster has from the repo, and everything in them; refusing. To delete them on purpose, first commit a state with at most one Namespace, then remove the last one (or sync with allowDeleteAll)`,
    };
  }
  if (previous.length > 0 && next.length === 0) {
    return {
      code: 'KNV2006',
      message: `The source declares no objects for this cluster, which would delete all ${previous.length} managed objects; refusing (a wrong policy dir or branch looks exactly like this). To delete everything on purpose, sync with allowDeleteAll`,
    };
  }
  return undefined;
}

function crdKey(o: KubeObject): string | undefined {
  if (o.kind !== 'CustomResourceDefinition' || groupOf(o.apiVersion) !== 'apiextensions.k8s.io') return undefined;
  const spec = o.spec;
  if (!isMap(spec) || typeof spec.group !== 'string' || !isMap(spec.names) || typeof spec.names.kind !== 'string') return undefined;
  return gkKey(spec.group, spec.names.kind);
}

/** KNV1047: a CRD the previous commit declared is gone while this commit still declares its CRs. */
export function checkCrdRemoval(previous: readonly KubeObject[], next: readonly KubeObject[]): VetError[] {
  const nextCrds = new Set(next.map(crdKey).filter((k): k is string => k !== undefined));
  const removed = new Set(previous.map(crdKey).filter((k): k is string => k !== undefined && !nextCrds.has(k)));
  if (removed.size === 0) return [];
  const errors: VetError[] = [];
  for (const o of next) {
    const gk = gkKey(groupOf(o.apiVersion), o.kind);
    if (!removed.has(gk)) continue;
    const source = o.metadata.annotations?.['pushsync.dev/source-path'];
    errors.push({
      code: 'KNV1047',
      message: `The CustomResourceDefinition for ${gk} was removed, but ${o.kind} ${JSON.stringify(o.metadata.name)} still uses it; remove the custom resources in the same commit, or keep the CRD`,
      ...(source ? { path: source } : {}),
      objects: [{ group: groupOf(o.apiVersion), version: o.apiVersion.split('/').pop() ?? '', kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}), ...(source ? { source } : {}) }],
    });
  }
  return errors;
}
