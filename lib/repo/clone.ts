import type { DeclaredObject, KubeObject, ObjectMeta } from './types.ts';

/**
 * A copy with some metadata fields replaced. Nothing is ever changed in place: declared
 * objects are shared by every cluster pass (and every inherited copy), and copying a whole
 * object per namespace per cluster would dominate vet time, so only the metadata level is new.
 */
export function withMeta(d: DeclaredObject, patch: Partial<ObjectMeta>): DeclaredObject {
  return { obj: { ...d.obj, metadata: { ...d.obj.metadata, ...patch } } as KubeObject, source: d.source };
}

export function withAnnotations(d: DeclaredObject, add: Record<string, string>): DeclaredObject {
  return withMeta(d, { annotations: { ...d.obj.metadata.annotations, ...add } });
}

export function withLabels(d: DeclaredObject, add: Record<string, string>): DeclaredObject {
  return withMeta(d, { labels: { ...d.obj.metadata.labels, ...add } });
}
