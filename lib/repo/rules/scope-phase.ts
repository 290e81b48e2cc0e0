/**
 * Scope phase (spec §5.1): decide each object's scope, then 1052 / 1004 / 1053 and the
 * repo-wide NamespaceSelector name check. Offline, an unknown kind is accepted, marked
 * `configsync.gke.io/unknown-scope: "true"` and placed by its directory (H) or by whether
 * it names a namespace (U).
 */
import type { DeclaredObject, SourceFormat, VetError } from '../types.ts';
import { objectError } from '../errors.ts';
import { groupOf } from '../gvk.ts';
import type { Scope, ScopeTable } from '../scope.ts';
import { topDir } from '../paths.ts';
import { withAnnotations } from '../clone.ts';
import { ANN_NAMESPACE_SELECTOR, ANN_UNKNOWN_SCOPE, isNamespaceSelectorKind, isRepoKind, isHierarchyConfigKind } from '../keys.ts';
import { duplicatesBy } from './raw.ts';

/** Config Sync's own kinds are consumed by the engine, never applied: scope rules skip them. */
export function isEngineKind(d: DeclaredObject): boolean {
  return isNamespaceSelectorKind(d) || isRepoKind(d) || isHierarchyConfigKind(d);
}

/** The object's scope; an unknown kind comes back as an annotated copy. */
export function resolveScope(orig: DeclaredObject, scopes: ScopeTable, format: SourceFormat): { d: DeclaredObject; scope: Scope } {
  const known = scopes.lookup(groupOf(orig.obj.apiVersion), orig.obj.kind);
  if (known) return { d: orig, scope: known };
  const d = withAnnotations(orig, { [ANN_UNKNOWN_SCOPE]: 'true' });
  if (format === 'hierarchy') return { d, scope: topDir(d.source.path) === 'namespaces' ? 'Namespaced' : 'Cluster' };
  const ns = d.obj.metadata.namespace;
  return { d, scope: typeof ns === 'string' && ns !== '' ? 'Namespaced' : 'Cluster' };
}

export function knv1052ClusterScopedWithNamespace(d: DeclaredObject, scope: Scope): VetError[] {
  const ns = d.obj.metadata.namespace;
  return scope === 'Cluster' && typeof ns === 'string' && ns !== ''
    ? [objectError('KNV1052', `${d.obj.kind} is cluster-scoped and MUST NOT have a namespace (it has metadata.namespace ${JSON.stringify(ns)}${explicitNote(d)})`, d)]
    : [];
}

const explicitNote = (d: DeclaredObject) => (topDir(d.source.path) === 'namespaces' ? ', from the namespace directory holding it' : '');

export function knv1004NamespaceSelectorOnClusterScoped(d: DeclaredObject, scope: Scope): VetError[] {
  return scope === 'Cluster' && d.obj.metadata.annotations?.[ANN_NAMESPACE_SELECTOR] !== undefined && !isNamespaceSelectorKind(d)
    ? [objectError('KNV1004', `${d.obj.kind} is cluster-scoped and MUST NOT use ${ANN_NAMESPACE_SELECTOR}`, d)]
    : [];
}

/** KNV1053 counts a namespace the directory gave too (nomos does): in H a namespace-selector only works from abstract directories. */
export function knv1053NamespaceAndSelector(d: DeclaredObject, scope: Scope): VetError[] {
  const ns = d.obj.metadata.namespace;
  return scope === 'Namespaced' && typeof ns === 'string' && ns !== '' && d.obj.metadata.annotations?.[ANN_NAMESPACE_SELECTOR] !== undefined
    ? [objectError('KNV1053', `An object MUST NOT set both metadata.namespace and ${ANN_NAMESPACE_SELECTOR}; drop one`, d)]
    : [];
}

export function knv1029DuplicateNamespaceSelector(objs: readonly DeclaredObject[]): VetError[] {
  return duplicatesBy(objs.filter(isNamespaceSelectorKind), (d) => d.obj.metadata.name, 'NamespaceSelector');
}

export function knv1058NamespaceRepo(d: DeclaredObject, scope: Scope, namespace: string): VetError[] {
  if (scope === 'Cluster') return [objectError('KNV1058', `A namespace repo (for namespace ${JSON.stringify(namespace)}) MUST NOT declare cluster-scoped objects like ${d.obj.kind}`, d)];
  const ns = d.obj.metadata.namespace;
  return typeof ns === 'string' && ns !== '' && ns !== namespace
    ? [objectError('KNV1058', `A namespace repo for ${JSON.stringify(namespace)} MUST NOT declare objects in namespace ${JSON.stringify(ns)}`, d)]
    : [];
}
