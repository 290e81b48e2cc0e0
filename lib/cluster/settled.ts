/**
 * Is an object already exactly as declared, decided from the LISTed live object alone?
 *
 * A no-op apply (the scheduled resync, every cluster, every 10 minutes) used to send one
 * server-side-apply dry-run per object to learn that nothing would change. Here the answer
 * comes from what the LIST already returned: the live values and the field set that our
 * manager owns through Apply (managedFields, fieldsV1). Applying a body changes nothing when
 *
 *   1. every field it declares has the same value live (the server's defaults and other
 *      managers' fields may add to the live object, never change a declared value), and
 *   2. the fields our manager owns are exactly the fields it declares: none would be given
 *      up (a field removed from Git) and none taken over (a field another manager set).
 *
 * Anything this module is not sure about answers `false`, and the caller dry-runs as before:
 * a list whose items cannot be matched to owned keys one for one, a live list longer than
 * the declared one, a null, a value the server would canonicalise (`cpu: 0.1` → `100m`),
 * another version's field set, an Update entry of our own manager, an object being deleted.
 * So a wrong `true` needs a declared value that equals the live one and a field set that
 * equals ours, while the server would still change something: that is what the dry-run's
 * own no-op rule (diff.ts isNoop) would have called unchanged as well.
 */
import type { KubeObject } from '../repo/index.ts';
import { deepEqual } from './diff.ts';
import type { LiveObject } from './objects.ts';

/** Fields the API server never records in managedFields (identity and bookkeeping). */
const UNTRACKED_TOP = new Set(['apiVersion', 'kind']);
const UNTRACKED_META = new Set(['name', 'namespace']);

type Node = Record<string, unknown>;

const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isSettled(declared: KubeObject, live: LiveObject, manager: string): boolean {
  if (live.apiVersion !== declared.apiVersion || live.metadata.deletionTimestamp) return false;
  const ours = (live.metadata.managedFields ?? []).filter((e) => e.manager === manager && !e.subresource);
  // Exactly one Apply entry of ours, in the declared version; an Update entry of our own
  // (a JSON patch) owns fields this rule cannot see through.
  if (ours.length !== 1) return false;
  const entry = ours[0];
  if (!entry || entry.operation !== 'Apply' || entry.apiVersion !== declared.apiVersion || entry.fieldsType !== 'FieldsV1') return false;
  if (!isObject(entry.fieldsV1)) return false;
  if ('status' in declared) return false;

  const top: Node = {};
  for (const [k, v] of Object.entries(declared)) if (!UNTRACKED_TOP.has(k)) top[k] = v;
  const meta: Node = {};
  for (const [k, v] of Object.entries(declared.metadata ?? {})) if (!UNTRACKED_META.has(k)) meta[k] = v;
  if (Object.keys(meta).length > 0) top.metadata = meta;
  else delete top.metadata;
  return matches(top, live as unknown as Node, entry.fieldsV1);
}

/**
 * `declared` equals `live` wherever it declares something, and `owned` (a fieldsV1 node) names
 * exactly the fields `declared` has, no more and no fewer.
 */
function matches(declared: unknown, live: unknown, owned: unknown): boolean {
  if (!isObject(owned)) return false;
  const children = Object.keys(owned).filter((k) => k !== '.');
  if (declared === null || declared === undefined) return false;
  if (Array.isArray(declared)) return matchList(declared, live, owned, children);
  if (isObject(declared)) {
    if (!isObject(live)) return false;
    const keys = Object.keys(declared);
    // A struct or map owned as a whole (atomic): the whole value is ours, so it must be equal.
    if (children.length === 0) return deepEqual(declared, live);
    if (children.length !== keys.length) return false;
    return keys.every((k) => children.includes(`f:${k}`) && matches(declared[k], live[k], owned[`f:${k}`]));
  }
  // A scalar: owned as a leaf, and the same value live.
  return children.length === 0 && deepEqual(declared, live);
}

function matchList(declared: unknown[], live: unknown, owned: Node, children: string[]): boolean {
  if (!Array.isArray(live) || live.length !== declared.length) return false;
  // Atomic list: ours as a whole.
  if (children.length === 0) return deepEqual(declared, live);
  if (children.length !== declared.length) return false;
  if (children.every((c) => c.startsWith('v:'))) {
    // A set of scalars: the same values in the same order, each owned.
    return deepEqual(declared, live) && declared.every((v) => children.includes(`v:${JSON.stringify(v)}`));
  }
  if (!children.every((c) => c.startsWith('k:'))) return false;
  const keys = children.map((c) => ({ name: c, key: parseKey(c) }));
  const used = new Set<string>();
  return declared.every((item, i) => {
    const liveItem = live[i];
    if (!isObject(liveItem)) return false;
    // The item's key as the server computed it (with defaults such as a port's protocol).
    const found = keys.filter((k) => k.key !== undefined && Object.entries(k.key).every(([f, v]) => deepEqual(liveItem[f], v)));
    if (found.length !== 1) return false;
    const hit = found[0] as { name: string };
    if (used.has(hit.name)) return false;
    used.add(hit.name);
    return matches(item, liveItem, owned[hit.name]);
  });
}

function parseKey(child: string): Node | undefined {
  try {
    const v: unknown = JSON.parse(child.slice(2));
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
