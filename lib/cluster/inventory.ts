/**
 * The inventory: a KEP-3659 ApplySet whose parent is a ConfigMap in `pushsync-system`.
 *
 * Why a ConfigMap: the KEP allows ConfigMap, Secret or a labelled CRD; nothing in the
 * inventory is secret, and a ConfigMap is readable by people who may not read Secrets
 * (`kubectl get cm -n pushsync-system` is how an operator sees what is applied). kubectl
 * addresses it as `--applyset=configmaps/<name> -n pushsync-system`.
 *
 * Membership is the `applyset.kubernetes.io/part-of` label on each object (the KEP's source
 * of truth); the parent lists the group-kinds and extra namespaces to search, plus pushsync's
 * own record: the commit applied in full, when, and the last run's summary.
 */
import { createHash } from 'node:crypto';
import type { ObjectClient } from './client.ts';
import type { Mapping } from './discovery.ts';
import { ClusterError, Codes } from './errors.ts';
import { Keys, SYSTEM_NAMESPACE, TOOLING } from './metadata.ts';
import type { LiveObject } from './objects.ts';

export const INVENTORY_KEYS = {
  /** The last commit applied in full (every object applied, every prune done). */
  appliedCommit: 'pushsync.dev/applied-commit',
  appliedAt: 'pushsync.dev/applied-at',
  /** The newest commit an apply was started for (the never-backwards check reads it). */
  lastCommit: 'pushsync.dev/last-commit',
  lastStatus: 'pushsync.dev/last-status',
  lastAt: 'pushsync.dev/last-at',
  /**
   * A fresh random id per apply that changed something (or recorded a new result): what a
   * rollout wait checks, so a later apply of the same commit supersedes an earlier wait of it.
   */
  rollout: 'pushsync.dev/rollout',
} as const;

/** ConfigMap data key holding the last run's summary (counts and errors) as JSON. */
export const SUMMARY_KEY = 'summary.json';

/** Parent name when the caller names none (one sync source per cluster). */
export const DEFAULT_INVENTORY = 'pushsync';

export const CONFIGMAP_MAPPING: Mapping = { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true };

export interface InventoryRef {
  readonly namespace: string;
  readonly name: string;
  /** `applyset-<base64url(sha256(<name>.<namespace>.ConfigMap.))>-v1`. */
  readonly id: string;
}

export function inventoryRef(name: string): InventoryRef {
  return { namespace: SYSTEM_NAMESPACE, name, id: applysetId(name, SYSTEM_NAMESPACE, 'ConfigMap', '') };
}

export function applysetId(name: string, namespace: string, kind: string, group: string): string {
  const hash = createHash('sha256').update(`${name}.${namespace}.${kind}.${group}`).digest('base64url');
  return `applyset-${hash}-v1`;
}

export interface RunSummary {
  readonly commit: string;
  readonly status: string;
  readonly at: string;
  readonly counts: Readonly<Record<string, number>>;
  /** Up to 100 failed objects with their errors (the full list is in the run's result). */
  readonly errors: readonly { readonly id: string; readonly code: string; readonly message: string }[];
  readonly error?: { readonly code: string; readonly message: string };
}

export interface InventoryState {
  readonly exists: boolean;
  /** `Kind.group` strings, sorted. */
  readonly groupKinds: readonly string[];
  /** Namespaces of members other than the parent's own, sorted. */
  readonly namespaces: readonly string[];
  readonly appliedCommit?: string;
  readonly appliedAt?: string;
  readonly lastCommit?: string;
  readonly lastStatus?: string;
  readonly lastAt?: string;
  /** The rollout token of the last apply that was not a no-op (INVENTORY_KEYS.rollout). */
  readonly rollout?: string;
  readonly summary?: RunSummary;
  /** The parent's resourceVersion as read or written (never part of what is written). */
  readonly resourceVersion?: string;
}

const EMPTY: InventoryState = { exists: false, groupKinds: [], namespaces: [] };

const splitList = (s: string | undefined): string[] => (s ? s.split(',').filter(Boolean) : []);

/** Read the parent; refuse one that another tool manages or whose id does not match (KEP). */
export async function readInventory(client: ObjectClient, ref: InventoryRef): Promise<InventoryState> {
  const live = await client.get(CONFIGMAP_MAPPING, ref.namespace, ref.name);
  if (!live) return EMPTY;
  return parseInventory(live, ref);
}

export function parseInventory(live: LiveObject, ref: InventoryRef): InventoryState {
  const a = live.metadata.annotations ?? {};
  const tooling = a[Keys.tooling];
  if (tooling !== undefined && tooling.split('/')[0] !== TOOLING.split('/')[0]) {
    throw new ClusterError(
      Codes.conflict,
      `ApplySet parent configmaps/${ref.name} in ${ref.namespace} is managed by tooling "${tooling}", not pushsync: refusing to change it`,
    );
  }
  const id = live.metadata.labels?.[Keys.applysetId];
  if (id !== undefined && id !== ref.id) {
    throw new ClusterError(Codes.conflict, `ApplySet parent configmaps/${ref.name} has ${Keys.applysetId}=${id}, expected ${ref.id}`);
  }
  let summary: RunSummary | undefined;
  const raw = (live.data as Record<string, string> | undefined)?.[SUMMARY_KEY];
  if (raw) {
    try {
      summary = JSON.parse(raw) as RunSummary;
    } catch {
      summary = undefined;
    }
  }
  const K = INVENTORY_KEYS;
  const optional = (key: string, field: keyof InventoryState): Partial<InventoryState> => (a[key] ? { [field]: a[key] } : {});
  return {
    exists: true,
    groupKinds: splitList(a[Keys.containsGroupKinds]).sort(),
    namespaces: splitList(a[Keys.additionalNamespaces]).sort(),
    ...optional(K.appliedCommit, 'appliedCommit'),
    ...optional(K.appliedAt, 'appliedAt'),
    ...optional(K.lastCommit, 'lastCommit'),
    ...optional(K.lastStatus, 'lastStatus'),
    ...optional(K.lastAt, 'lastAt'),
    ...optional(K.rollout, 'rollout'),
    ...(summary ? { summary } : {}),
    ...(live.metadata.resourceVersion ? { resourceVersion: live.metadata.resourceVersion } : {}),
  };
}

/** The ConfigMap we server-side apply as the parent. Every key we own is always present. */
export function parentBody(ref: InventoryRef, state: InventoryState): object {
  const K = INVENTORY_KEYS;
  const annotations: Record<string, string> = {
    [Keys.tooling]: TOOLING,
    [Keys.containsGroupKinds]: [...new Set(state.groupKinds)].sort().join(','),
    [Keys.additionalNamespaces]: [...new Set(state.namespaces)].filter((n) => n !== ref.namespace).sort().join(','),
  };
  const put = (k: string, v: string | undefined): void => {
    if (v) annotations[k] = v;
  };
  put(K.appliedCommit, state.appliedCommit);
  put(K.appliedAt, state.appliedAt);
  put(K.lastCommit, state.lastCommit);
  put(K.lastStatus, state.lastStatus);
  put(K.lastAt, state.lastAt);
  put(K.rollout, state.rollout);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: ref.name,
      namespace: ref.namespace,
      labels: { [Keys.applysetId]: ref.id },
      annotations,
    },
    ...(state.summary ? { data: { [SUMMARY_KEY]: JSON.stringify(state.summary) } } : {}),
  };
}

export function sameInventory(a: InventoryState, b: InventoryState): boolean {
  const ref: InventoryRef = { namespace: '', name: '', id: '' };
  return a.exists && JSON.stringify(parentBody(ref, a)) === JSON.stringify(parentBody(ref, b));
}

/** Write the parent unless it already says exactly this (a no-op run writes nothing). */
export async function writeInventory(client: ObjectClient, ref: InventoryRef, prev: InventoryState, next: InventoryState): Promise<InventoryState> {
  const { resourceVersion: _rv, ...rest } = next;
  const merged: InventoryState = { ...rest, exists: true };
  if (sameInventory(prev, merged)) return prev;
  const res = await client.apply(CONFIGMAP_MAPPING, parentBody(ref, merged), ref.name, ref.namespace, { dryRun: false, force: true });
  const rv = res.object?.metadata?.resourceVersion;
  return { ...merged, ...(rv ? { resourceVersion: rv } : {}) };
}

/** What `pushsync status` shows: the inventory's record, read without the lease. */
export interface ClusterStatus {
  readonly inventory: InventoryRef;
  readonly state: InventoryState;
}
