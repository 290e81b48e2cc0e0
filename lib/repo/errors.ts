import type { DeclaredObject, ObjectRef, VetError } from './types.ts';
import { groupOf, versionOf } from './gvk.ts';

/** Identity block of one object for an error, as nomos prints it. */
export function refOf(d: DeclaredObject): ObjectRef {
  const m = d.obj.metadata;
  const ref: ObjectRef = {
    group: groupOf(d.obj.apiVersion),
    version: versionOf(d.obj.apiVersion),
    kind: d.obj.kind,
    name: typeof m.name === 'string' ? m.name : '',
    source: d.source.path,
    line: d.source.line,
  };
  if (typeof m.namespace === 'string' && m.namespace !== '') ref.namespace = m.namespace;
  return ref;
}

/** An error about one or more objects; path and line come from the first. */
export function objectError(code: string, message: string, ...objs: DeclaredObject[]): VetError {
  const first = objs[0];
  return {
    code,
    message,
    ...(first ? { path: first.source.path, line: first.source.line } : {}),
    objects: objs.map(refOf),
  };
}

/** An error about a file or directory (directories end in `/`). */
export function pathError(code: string, message: string, path: string, line?: number, column?: number): VetError {
  return { code, message, path, ...(line !== undefined ? { line } : {}), ...(column !== undefined ? { column } : {}) };
}

function errorKey(e: VetError): string {
  const objs = (e.objects ?? [])
    .map((o) => `${o.source ?? ''}:${o.line ?? ''}:${o.group}/${o.kind}/${o.namespace ?? ''}/${o.name}`)
    .join('|');
  return `${e.code}\u0000${e.path ?? ''}\u0000${String(e.line ?? 0).padStart(9, '0')}\u0000${e.message}\u0000${objs}`;
}

/** Sorted by code, then path, line and message; exact duplicates removed. */
export function sortErrors(errors: readonly VetError[]): VetError[] {
  const byKey = new Map<string, VetError>();
  for (const e of errors) {
    const k = errorKey(e);
    if (!byKey.has(k)) byKey.set(k, e);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
}
