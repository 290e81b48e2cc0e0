/**
 * Unstructured format placement (spec §4): explicit namespace, NamespaceSelector copies over
 * the Namespaces declared in the repo, or the default namespace.
 */
import type { DeclaredObject, VetError } from './types.ts';
import { objectError } from './errors.ts';
import { withMeta } from './clone.ts';
import { matches } from './selector.ts';
import type { Scope } from './scope.ts';
import type { NamespaceSelectorDef } from './namespace-selectors.ts';
import { ANN_NAMESPACE_SELECTOR, isNamespace, isNamespaceSelectorKind } from './keys.ts';

export function placeUnstructured(
  scoped: readonly { d: DeclaredObject; scope: Scope }[],
  selectors: ReadonlyMap<string, NamespaceSelectorDef>,
  defaultNamespace: string,
): { objects: DeclaredObject[]; errors: VetError[] } {
  const errors: VetError[] = [];
  const objects: DeclaredObject[] = [];
  const namespaces = scoped.filter((s) => isNamespace(s.d)).map((s) => s.d);
  for (const { d, scope } of scoped) {
    if (isNamespaceSelectorKind(d)) continue;
    if (scope === 'Cluster') { objects.push(d); continue; }
    const ns = d.obj.metadata.namespace;
    if (typeof ns === 'string' && ns !== '') { objects.push(d); continue; }
    const ref = d.obj.metadata.annotations?.[ANN_NAMESPACE_SELECTOR];
    if (ref === undefined) {
      objects.push(withMeta(d, { namespace: defaultNamespace }));
      continue;
    }
    const def = selectors.get(ref);
    if (!def) {
      errors.push(objectError('KNV1013', `The object refers to NamespaceSelector ${JSON.stringify(ref)}, which is not declared`, d));
      continue;
    }
    // Static selection: only the Namespaces this repo declares for this cluster; zero
    // matches means the object applies nowhere, which is not an error.
    for (const n of namespaces) {
      if (!matches(def.selector, n.obj.metadata.labels ?? {})) continue;
      objects.push(withMeta(d, { namespace: n.obj.metadata.name }));
    }
  }
  return { objects, errors };
}
