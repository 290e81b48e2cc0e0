/**
 * Identity of objects: group/kind/namespace/name, version-agnostic (a Deployment declared as
 * apps/v1 and listed as apps/v1 are the same object whatever version either side uses).
 */
import type { KubeObject } from '../repo/index.ts';

export interface ObjectId {
  readonly group: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function idOf(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): ObjectId {
  const { group } = splitApiVersion(obj.apiVersion);
  return {
    group,
    kind: obj.kind,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name,
  };
}

/** `Kind.group` as kubectl and the ApplySet annotation spell a group-kind (`Service`, `Deployment.apps`). */
export function groupKind(id: Pick<ObjectId, 'group' | 'kind'>): string {
  return id.group ? `${id.kind}.${id.group}` : id.kind;
}

export function parseGroupKind(s: string): { group: string; kind: string } {
  const i = s.indexOf('.');
  return i < 0 ? { group: '', kind: s } : { group: s.slice(i + 1), kind: s.slice(0, i) };
}

/** Human id used in results: `Deployment.apps/shop/web`, `Namespace/shop`. */
export function formatId(id: ObjectId): string {
  return `${groupKind(id)}/${id.namespace ? `${id.namespace}/` : ''}${id.name}`;
}

/** Map key: unambiguous even for odd names. */
export function idKey(id: ObjectId): string {
  return `${id.group}\u0000${id.kind}\u0000${id.namespace ?? ''}\u0000${id.name}`;
}

/** A live object as returned by the API server (only the parts we read). */
export interface LiveObject extends KubeObject {
  metadata: KubeObject['metadata'] & {
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    managedFields?: ManagedFieldsEntry[];
  };
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}
