import type { DeclaredObject, KubeObject } from './types.ts';

/**
 * A copy whose metadata (and label/annotation maps) can be changed freely. Everything below
 * `metadata` stays shared: the engine never writes there, and deep copies of 10,000 objects
 * per cluster would dominate vet time.
 */
export function cloneMeta(d: DeclaredObject): DeclaredObject {
  const m = d.obj.metadata;
  const metadata = { ...m };
  if (m.labels) metadata.labels = { ...m.labels };
  if (m.annotations) metadata.annotations = { ...m.annotations };
  return { obj: { ...d.obj, metadata } as KubeObject, source: d.source };
}

export function setAnnotation(d: DeclaredObject, key: string, value: string): void {
  (d.obj.metadata.annotations ??= {})[key] = value;
}

export function setLabel(d: DeclaredObject, key: string, value: string): void {
  (d.obj.metadata.labels ??= {})[key] = value;
}
