/**
 * The labels and annotations pushsync reads and writes on managed objects (repo-format §6).
 *
 * Deliberately NOT stamped on each object: the commit SHA. Config Sync stamps
 * `configmanagement.gke.io/token: <sha>` on every object, which makes every push rewrite every
 * object (one etcd write each, and a watch event for every controller) even when the object
 * did not change. pushsync keeps the commit on the inventory parent only: re-applying the
 * same commit writes nothing, and a commit that removes one Service changes exactly that
 * Service. The cluster's state is still traceable to one commit: the inventory records the
 * commit applied in full, and each object carries its source path, which is stable per commit.
 */
import type { KubeObject } from '../repo/index.ts';
import { clone } from './objects.ts';
import type { LiveObject } from './objects.ts';

export const SYSTEM_NAMESPACE = 'pushsync-system';
export const TOOLING = 'pushsync/v1';

export const Keys = {
  partOf: 'applyset.kubernetes.io/part-of',
  applysetId: 'applyset.kubernetes.io/id',
  tooling: 'applyset.kubernetes.io/tooling',
  containsGroupKinds: 'applyset.kubernetes.io/contains-group-kinds',
  additionalNamespaces: 'applyset.kubernetes.io/additional-namespaces',
  managedBy: 'app.kubernetes.io/managed-by',
  managed: 'configmanagement.gke.io/managed',
  mutation: 'client.lifecycle.config.k8s.io/mutation',
  deletion: 'client.lifecycle.config.k8s.io/deletion',
  onRemove: 'cli-utils.sigs.k8s.io/on-remove',
  dependsOn: 'config.kubernetes.io/depends-on',
  localConfig: 'config.kubernetes.io/local-config',
  /** `ignore`: the rollout does not wait for this object (health.ts, HEALTH_ANNOTATION). */
  health: 'pushsync.dev/health',
} as const;

export const MANAGED_BY_VALUE = 'pushsync';

/** Namespaces pushsync never deletes, even when they leave the repo: they are abandoned. */
export const NEVER_DELETED_NAMESPACES: ReadonlySet<string> = new Set([
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'gatekeeper-system',
  SYSTEM_NAMESPACE,
]);

/** Annotation prefixes that only exist because a sync tool put them there. */
const TOOL_ANNOTATION_PREFIXES = ['pushsync.dev/', 'configsync.gke.io/'];
const TOOL_ANNOTATIONS = ['configmanagement.gke.io/source-path', 'configmanagement.gke.io/cluster-name', 'configmanagement.gke.io/token'];

const annotation = (o: Pick<KubeObject, 'metadata'>, k: string): string | undefined => o.metadata.annotations?.[k];

export const hasManagementDisabled = (o: Pick<KubeObject, 'metadata'>): boolean => annotation(o, Keys.managed) === 'disabled';
export const isMutationIgnored = (o: Pick<KubeObject, 'metadata'>): boolean => annotation(o, Keys.mutation) === 'ignore';
export const isLocalConfig = (o: Pick<KubeObject, 'metadata'>): boolean => annotation(o, Keys.localConfig) === 'true';
/** Left on the cluster (abandoned) instead of deleted when it leaves the repo. */
export const isDetachOnRemove = (o: Pick<KubeObject, 'metadata'>): boolean =>
  annotation(o, Keys.deletion) === 'detach' || annotation(o, Keys.onRemove) === 'keep';

/**
 * The body we server-side apply: the declared object, minus anything only the server may set,
 * plus the ApplySet membership label and Config Sync's `managed: enabled` marker.
 */
export function stampForApply(declared: KubeObject, applysetId: string): KubeObject {
  const out = clone(declared);
  delete out.status;
  const meta = out.metadata as LiveObject['metadata'] & { creationTimestamp?: unknown; selfLink?: unknown };
  // A resourceVersion in an apply body is a precondition; exported objects carry stale ones.
  delete meta.resourceVersion;
  delete meta.uid;
  delete meta.generation;
  delete meta.managedFields;
  delete meta.creationTimestamp;
  delete meta.selfLink;
  meta.labels = { ...(meta.labels ?? {}), [Keys.partOf]: applysetId };
  if (!declared.metadata.labels?.[Keys.managedBy]) meta.labels[Keys.managedBy] = MANAGED_BY_VALUE;
  meta.annotations = { ...(meta.annotations ?? {}), [Keys.managed]: 'enabled' };
  return out;
}

/**
 * JSON-patch operations that remove what pushsync added, so an abandoned object no longer
 * looks managed (and leaves the ApplySet). Guarded by a UID test so a recreated object with
 * the same name is never touched. Returns [] when there is nothing of ours on it.
 */
export function stripOps(live: LiveObject): object[] {
  const ops: object[] = [];
  const labels = live.metadata.labels ?? {};
  const annotations = live.metadata.annotations ?? {};
  const esc = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');
  if (labels[Keys.partOf] !== undefined) ops.push({ op: 'remove', path: `/metadata/labels/${esc(Keys.partOf)}` });
  if (labels[Keys.managedBy] === MANAGED_BY_VALUE) ops.push({ op: 'remove', path: `/metadata/labels/${esc(Keys.managedBy)}` });
  for (const k of Object.keys(annotations)) {
    // `pushsync.dev/health` is the user's own (the health opt-out), not something pushsync added.
    const ours =
      k !== Keys.health &&
      ((k === Keys.managed && annotations[k] === 'enabled') ||
      TOOL_ANNOTATIONS.includes(k) ||
      TOOL_ANNOTATION_PREFIXES.some((p) => k.startsWith(p)));
    if (ours) ops.push({ op: 'remove', path: `/metadata/annotations/${esc(k)}` });
  }
  if (ops.length === 0) return [];
  return [{ op: 'test', path: '/metadata/uid', value: live.metadata.uid }, ...ops];
}
