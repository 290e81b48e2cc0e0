/** Final phase (spec §5.1): checks over the hydrated set of one cluster. */
import type { DeclaredObject, VetError } from '../types.ts';
import { objectError } from '../errors.ts';
import { groupOf } from '../gvk.ts';
import { ANN_MANAGED, isNamespace } from '../keys.ts';

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
