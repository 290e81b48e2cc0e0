/**
 * No-op detection and field-level diffs between a live object and what a server-side apply
 * (dry-run) says it would become. Both sides come from the API server, so defaulting is
 * already identical on both; what differs on every call is bookkeeping, which we drop:
 * resourceVersion, generation, timestamps, status, and managedFields — except our own
 * manager's field set, since a change there (we stop declaring a field someone else also
 * sets) must still be sent or we would keep owning a field we no longer declare.
 */
import type { LiveObject, ManagedFieldsEntry } from './objects.ts';

const VOLATILE_METADATA = ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid', 'selfLink'];

export function normalize(obj: LiveObject): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = obj;
  const meta: Record<string, unknown> = { ...metadata };
  for (const k of VOLATILE_METADATA) delete meta[k];
  return { ...rest, metadata: meta };
}

/** The field set our manager owns through Apply, or undefined when it owns nothing. */
export function ownedFields(obj: LiveObject, manager: string): unknown {
  const entries: ManagedFieldsEntry[] = obj.metadata.managedFields ?? [];
  return entries.find((e) => e.manager === manager && e.operation === 'Apply' && !e.subresource)?.fieldsV1;
}

/** Paths whose values differ, e.g. `.spec.replicas`, `.spec.template.spec.containers[name=server].image`. */
export function changedPaths(before: unknown, after: unknown): string[] {
  const out: string[] = [];
  walk(before, after, '', out);
  return [...new Set(out)].sort();
}

/** True when applying would change nothing we care about: send no PATCH at all. */
export function isNoop(live: LiveObject, dryRun: LiveObject, manager: string): boolean {
  return changedPaths(normalize(live), normalize(dryRun)).length === 0 && deepEqual(ownedFields(live, manager), ownedFields(dryRun, manager));
}

/** Fields that change, plus a marker when only our field ownership changes. */
export function describeChange(live: LiveObject, next: LiveObject, manager: string): string[] {
  const fields = changedPaths(normalize(live), normalize(next));
  if (fields.length === 0 && !deepEqual(ownedFields(live, manager), ownedFields(next, manager))) {
    return [`.metadata.managedFields[manager=${manager}]`];
  }
  return fields;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && deepEqual(ra[k], rb[k]));
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function keyPath(path: string, key: string): string {
  return SIMPLE_KEY.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Lists of named items (containers, ports, env) are matched by name, like the merge keys do. */
function namedItems(a: unknown[]): Map<string, unknown> | undefined {
  const m = new Map<string, unknown>();
  for (const item of a) {
    if (!isPlainObject(item) || typeof item.name !== 'string' || m.has(item.name)) return undefined;
    m.set(item.name, item);
  }
  return m;
}

function walk(a: unknown, b: unknown, path: string, out: string[]): void {
  if (deepEqual(a, b)) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], keyPath(path, k), out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const na = namedItems(a);
    const nb = namedItems(b);
    if (na && nb) {
      for (const n of new Set([...na.keys(), ...nb.keys()])) walk(na.get(n), nb.get(n), `${path}[name=${n}]`, out);
      return;
    }
    if (a.length === b.length) {
      a.forEach((v, i) => walk(v, b[i], `${path}[${i}]`, out));
      return;
    }
  }
  out.push(path || '.');
}
