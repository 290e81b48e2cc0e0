/** NamespaceSelector objects (spec §2.4, §4): parsed once per compile. */
import type { DeclaredObject, SourceFormat, VetError } from './types.ts';
import { objectError } from './errors.ts';
import { isMap } from './parse.ts';
import { parseSelector, type Selector } from './selector.ts';
import { dirOf } from './paths.ts';
import { isNamespaceSelectorKind } from './keys.ts';

export interface NamespaceSelectorDef {
  readonly name: string;
  readonly dir: string;
  readonly selector: Selector;
  readonly decl: DeclaredObject;
}

export function namespaceSelectors(objs: readonly DeclaredObject[], format: SourceFormat): { defs: Map<string, NamespaceSelectorDef>; errors: VetError[] } {
  const defs = new Map<string, NamespaceSelectorDef>();
  const errors: VetError[] = [];
  for (const d of objs) {
    if (!isNamespaceSelectorKind(d)) continue;
    const spec = isMap(d.obj.spec) ? d.obj.spec : {};
    const mode = spec.mode ?? '';
    const name = d.obj.metadata.name;
    if (mode === 'dynamic' && format === 'hierarchy') {
      errors.push(objectError('KNV1014', `NamespaceSelector ${JSON.stringify(name)} uses spec.mode "dynamic", which only unstructured repos support`, d));
      continue;
    }
    if (mode !== '' && mode !== 'static' && mode !== 'dynamic') {
      errors.push(objectError('KNV1014', `NamespaceSelector ${JSON.stringify(name)} has spec.mode ${JSON.stringify(mode)}; use "static" (the default) or "dynamic"`, d));
      continue;
    }
    const sel = parseSelector(spec.selector);
    if (typeof sel === 'string') {
      errors.push(objectError('KNV1014', `NamespaceSelector ${JSON.stringify(name)} is invalid: ${sel}`, d));
      continue;
    }
    defs.set(name, { name, dir: dirOf(d.source.path), selector: sel, decl: d });
  }
  return { defs, errors };
}
