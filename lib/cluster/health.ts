/**
 * Health of one live object, from its own status: kstatus' five states (sigs.k8s.io/cli-utils
 * pkg/kstatus/status), so a green check can mean "the commit runs on the cluster", not only
 * "the API server accepted it". Pure: no I/O and no clock, so a status read once always gives
 * the same answer, and the tests run on captured objects (test/fixtures/health/).
 *
 *   health(obj)    → { status, reason, message }   obj as read from the API server; undefined = NotFound
 *   podCause(pods) → the first pod-level problem (pod, container, waiting reason), for a
 *                    Deployment's or ReplicaSet's failure text
 *
 * The order of the rules is kstatus': the opt-out annotation, deletion, an unobserved
 * generation, the standard `Stalled`/`Reconciling` conditions, then the rule of the object's
 * kind, then a `Ready` condition, else Current ("applied is all it takes").
 *
 * `reason` is short and stable: the controller's own CamelCase reason when the status has one
 * (`ProgressDeadlineExceeded`, `ImagePullBackOff`, `DeadlineExceeded`), else a short phrase
 * with counts (`1 of 2 replicas available`). `message` is the longer text, for humans only.
 *
 * Where pushsync decides differently from kstatus (each said again at its rule):
 * - a running Job is InProgress, not Current: a migration Job is what a commit waits for, and
 *   one that fails a minute in must turn the check red (opt out with the annotation);
 * - a Pod in phase Failed is Failed (kstatus: Current, "completed"): pushsync only asks about
 *   Pods the repo declares, and a declared Pod that died is a failure;
 * - a Pod waiting in ImagePullBackOff / ErrImagePull stays InProgress, its waiting reason the
 *   `reason`: a registry outage or an image pushed a minute late recovers by itself, and the
 *   Deployment's progress deadline (or the cluster's health timeout) bounds the wait. Waiting
 *   reasons that never recover without a new spec (CrashLoopBackOff, as kstatus, and
 *   InvalidImageName, ErrImageNeverPull) are Failed;
 * - an Unschedulable Pod stays InProgress (kstatus fails it after 15 s by the clock; here the
 *   health timeout decides, which keeps this module clock-free);
 * - a Deployment's ProgressDeadlineExceeded written before its spec last changed (a revert,
 *   read a moment after the apply) is the earlier spec's: InProgress (deploymentHealth);
 * - a PersistentVolumeClaim that is Lost is Failed; a LoadBalancer Service waits for
 *   `status.loadBalancer.ingress` (kstatus only checks for a cluster IP);
 * - the Deployment, ReplicaSet, StatefulSet and DaemonSet controllers always write
 *   `status.observedGeneration`, so until they have (a status of `{}` just after a create),
 *   those are InProgress, as kstatus does for DaemonSets;
 * - Namespaces (Active / Terminating) and any `Ready` condition are read; kstatus reads neither.
 *   `Ready=False` is InProgress with the condition's reason, not Failed: controllers set it
 *   while they work, and `Stalled` is the standard way to say they gave up.
 */
import type { Keys } from './metadata.ts';
import type { LiveObject } from './objects.ts';

export type HealthStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound';

export interface Health {
  readonly status: HealthStatus;
  /** Short and stable: a controller's CamelCase reason or a phrase with counts. */
  readonly reason: string;
  /** The longer human text (a condition's message, or a sentence). */
  readonly message: string;
}

/**
 * `pushsync.dev/health: ignore` on an object: never wait for it (Current at once). Typed as
 * metadata.ts's `Keys.health` so the two spellings cannot drift apart (this module imports
 * types only).
 */
export const HEALTH_ANNOTATION: (typeof Keys)['health'] = 'pushsync.dev/health';
export const HEALTH_IGNORE = 'ignore';

/** What a rule returns: a verdict, or undefined to let the next rule decide. */
type Rule = (o: LiveObject) => Health | undefined;

const result = (status: HealthStatus, reason: string, message = reason): Health => ({ status, reason, message });
const current = (reason: string, message?: string): Health => result('Current', reason, message);
const inProgress = (reason: string, message?: string): Health => result('InProgress', reason, message);
const failed = (reason: string, message?: string): Health => result('Failed', reason, message);

// --- reading a status ------------------------------------------------------------------

interface Condition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly observedGeneration?: number;
}

type Json = Readonly<Record<string, unknown>>;

const asObject = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
/** `obj.a.b.c` for a path 'a.b.c'; undefined where any step is missing. */
function at(o: unknown, path: string): unknown {
  let v: unknown = o;
  for (const k of path.split('.')) v = asObject(v)[k];
  return v;
}
const int = (o: unknown, path: string, fallback: number): number => {
  const v = at(o, path);
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
};
const str = (o: unknown, path: string): string | undefined => {
  const v = at(o, path);
  return typeof v === 'string' ? v : undefined;
};
const conditions = (o: unknown): readonly Condition[] => {
  const v = at(o, 'status.conditions');
  return Array.isArray(v) ? (v.filter((c) => c !== null && typeof c === 'object') as Condition[]) : [];
};
const condition = (o: unknown, type: string): Condition | undefined => conditions(o).find((c) => c.type === type);
const isTrue = (c: Condition | undefined): boolean => c?.status === 'True';
/** A condition's message, ours where it has none. */
const messageOf = (c: Condition | undefined, fallback: string): string => c?.message || fallback;
/** A verdict in a condition's own words (reason and message), ours where it has none. */
const said = (status: HealthStatus, c: Condition | undefined, reason: string, message: string): Health =>
  result(status, c?.reason || reason, messageOf(c, message));

/** `1 replica` / `2 replicas`. */
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
/** `1 of 2 replicas available`: the count phrase every workload rule uses. */
const ofPhrase = (have: number, want: number, noun: string, state: string): string => `${have} of ${plural(want, noun)} ${state}`;

/** `Kind` for the core group, `group/Kind` otherwise (kstatus' key; the version never matters). */
function groupKindOf(o: LiveObject): string {
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? o.kind : `${apiVersion.slice(0, slash)}/${o.kind}`;
}

// --- rules for every object ------------------------------------------------------------

/** The user said not to wait for this object (a long-running Job, a claim bound on first use). */
const ignoredByAnnotation: Rule = (o) =>
  o.metadata.annotations?.[HEALTH_ANNOTATION] === HEALTH_IGNORE
    ? current('health ignored by annotation', `${HEALTH_ANNOTATION}: ${HEALTH_IGNORE}`)
    : undefined;

/** Deletion requested: it goes when its finalizers are done, whatever its status says. */
const beingDeleted: Rule = (o) => {
  if (!o.metadata.deletionTimestamp) return undefined;
  const finalizers = Array.isArray(o.metadata.finalizers) ? (o.metadata.finalizers as unknown[]).filter((f) => typeof f === 'string') : [];
  return result('Terminating', 'being deleted', finalizers.length > 0 ? `waiting for finalizers: ${finalizers.join(', ')}` : 'deletion requested');
};

/** Kinds whose controller always writes status.observedGeneration: without it, it has not looked yet. */
const OBSERVED_GENERATION_REQUIRED = new Set(['apps/Deployment', 'apps/ReplicaSet', 'apps/StatefulSet', 'apps/DaemonSet']);

/**
 * The status describes an older spec: whatever it says, the controller has not acted on what
 * was just applied. Objects without observedGeneration cannot be checked this way (kstatus).
 */
const generationUnobserved: Rule = (o) => {
  const generation = o.metadata.generation;
  if (typeof generation !== 'number') return undefined;
  const observed = at(o, 'status.observedGeneration');
  const missing = observed === undefined && OBSERVED_GENERATION_REQUIRED.has(groupKindOf(o));
  if (!missing && !(typeof observed === 'number' && observed < generation)) return undefined;
  return inProgress(
    `generation ${generation} not yet observed`,
    missing ? `${o.kind} has no status.observedGeneration yet` : `${o.kind} generation is ${generation}, its controller has observed ${String(observed)}`,
  );
};

/**
 * kstatus' standard conditions, "abnormal-true": Stalled = the controller gave up (Failed),
 * Reconciling = it is working (InProgress). Stalled first: it is the more useful answer.
 */
const standardConditions: Rule = (o) => {
  const stalled = condition(o, 'Stalled');
  if (isTrue(stalled)) return said('Failed', stalled, 'Stalled', 'the controller reports Stalled');
  const reconciling = condition(o, 'Reconciling');
  if (isTrue(reconciling)) return said('InProgress', reconciling, 'Reconciling', 'the controller reports Reconciling');
  return undefined;
};

/**
 * A `Ready` condition on a kind without its own rule (most custom resources). One whose
 * observedGeneration is older than the object's describes the previous spec.
 */
const readyCondition: Rule = (o) => {
  const ready = condition(o, 'Ready');
  if (!ready) return undefined;
  const generation = o.metadata.generation;
  if (typeof generation === 'number' && typeof ready.observedGeneration === 'number' && ready.observedGeneration < generation) {
    return inProgress(`generation ${generation} not yet observed`, `the Ready condition is for generation ${ready.observedGeneration}`);
  }
  return isTrue(ready) ? said('Current', ready, 'Ready', 'Ready') : said('InProgress', ready, 'not Ready', 'the Ready condition is not True');
};

// --- workloads -------------------------------------------------------------------------

/** The controllers' default for an unset spec.replicas. */
const specReplicas = (o: LiveObject): number => int(o, 'spec.replicas', 1);
/** What the Deployment controller writes for "no progress deadline" (it then sets no Progressing reason). */
const NO_PROGRESS_DEADLINE = 2147483647;

/**
 * kstatus' order: the deadline first (Failed is final), then the counts, then the conditions
 * that say the controller itself considers the rollout done. An available pod is a ready one
 * (ready for minReadySeconds), so "available" covers "ready".
 */
/**
 * A ProgressDeadlineExceeded written before the object's spec last changed is about an earlier
 * spec: the Deployment controller leaves the old verdict in place for a moment when a revert
 * goes back to an existing ReplicaSet (it clears it once the bad ReplicaSet has scaled down), and
 * a look right after the apply must not read it as this commit's failure. Both times are the
 * API server's (one clock): the condition's lastUpdateTime against the newest write of the
 * object itself (a managedFields entry of the main resource, not its status). A deadline this
 * spec really exceeded is written at least progressDeadlineSeconds after that write. Without
 * managedFields (or times) nothing can be told apart: the verdict stands.
 */
function predatesSpec(o: LiveObject, c: Condition): boolean {
  const at = Date.parse(typeof (c as { lastUpdateTime?: unknown }).lastUpdateTime === 'string' ? (c as { lastUpdateTime: string }).lastUpdateTime : '');
  const writes = (o.metadata.managedFields ?? []).filter((m) => !m.subresource && typeof m.time === 'string').map((m) => Date.parse(m.time as string));
  const lastWrite = Math.max(...writes.filter((t) => !Number.isNaN(t)));
  return !Number.isNaN(at) && Number.isFinite(lastWrite) && at <= lastWrite;
}

const deploymentHealth: Rule = (o) => {
  const progressing = condition(o, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    if (predatesSpec(o, progressing)) return inProgress('ReplicaSetUpdated', 'the previous rollout exceeded its progress deadline; this one has just started');
    return failed('ProgressDeadlineExceeded', messageOf(progressing, 'the rollout exceeded its progress deadline'));
  }
  const want = specReplicas(o);
  const replicas = int(o, 'status.replicas', 0);
  const updated = int(o, 'status.updatedReplicas', 0);
  const available = int(o, 'status.availableReplicas', 0);
  if (replicas < want) return inProgress(ofPhrase(replicas, want, 'replica', 'created'));
  if (updated < want) return inProgress(ofPhrase(updated, want, 'replica', 'updated'));
  if (replicas > want) return inProgress(`${plural(replicas - want, 'replica')} pending termination`);
  if (available < want) return inProgress(ofPhrase(available, want, 'replica', 'available'));
  // Counts can lag a moment behind the controller's own verdict: wait for it too.
  const deadline = int(o, 'spec.progressDeadlineSeconds', NO_PROGRESS_DEADLINE);
  if (deadline !== NO_PROGRESS_DEADLINE && !(isTrue(progressing) && progressing?.reason === 'NewReplicaSetAvailable')) {
    return inProgress('ReplicaSetNotAvailable', messageOf(progressing, 'the new ReplicaSet is not available yet'));
  }
  const availableCondition = condition(o, 'Available');
  if (!isTrue(availableCondition)) return said('InProgress', availableCondition, 'DeploymentNotAvailable', 'the Deployment is not Available');
  return current(ofPhrase(available, want, 'replica', 'available'));
};

/** ReplicaFailure (e.g. FailedCreate: a quota) is InProgress, as kstatus: it clears when the cause does. */
const replicaSetHealth: Rule = (o) => {
  const failure = condition(o, 'ReplicaFailure');
  if (isTrue(failure)) return said('InProgress', failure, 'ReplicaFailure', 'the ReplicaSet cannot create its pods');
  const want = specReplicas(o);
  const replicas = int(o, 'status.replicas', 0);
  const available = int(o, 'status.availableReplicas', 0);
  if (available < want) return inProgress(ofPhrase(available, want, 'replica', 'available'));
  if (replicas > want) return inProgress(`${plural(replicas - want, 'replica')} pending termination`);
  return current(ofPhrase(available, want, 'replica', 'available'));
};

/**
 * StatefulSets set no conditions: only counts and revisions say anything. OnDelete means the
 * user replaces pods by hand, so there is nothing to wait for; a partition > 0 holds the
 * ordinals below it on the old revision on purpose, so the rollout is done once the rest is
 * updated (the revisions then differ by design).
 */
const statefulSetHealth: Rule = (o) => {
  if (str(o, 'spec.updateStrategy.type') === 'OnDelete') return current('OnDelete update strategy', 'pods are replaced by hand (updateStrategy OnDelete)');
  const want = specReplicas(o);
  const replicas = int(o, 'status.replicas', 0);
  const ready = int(o, 'status.readyReplicas', 0);
  const updated = int(o, 'status.updatedReplicas', 0);
  if (replicas < want) return inProgress(ofPhrase(replicas, want, 'replica', 'created'));
  if (ready < want) return inProgress(ofPhrase(ready, want, 'replica', 'ready'));
  if (replicas > want) return inProgress(`${plural(replicas - want, 'replica')} pending termination`);
  const partition = int(o, 'spec.updateStrategy.rollingUpdate.partition', 0);
  if (partition > 0) {
    const toUpdate = Math.max(0, want - partition);
    const phrase = `${ofPhrase(Math.min(updated, toUpdate), toUpdate, 'replica', 'updated')} above partition ${partition}`;
    return updated < toUpdate ? inProgress(phrase) : current(phrase);
  }
  if (str(o, 'status.currentRevision') !== str(o, 'status.updateRevision')) return inProgress(ofPhrase(updated, want, 'replica', 'updated'));
  const currentReplicas = int(o, 'status.currentReplicas', 0);
  if (currentReplicas < want) return inProgress(ofPhrase(currentReplicas, want, 'replica', 'updated'));
  return current(ofPhrase(ready, want, 'replica', 'ready'));
};

/** One pod per eligible node: the controller says how many that is (desiredNumberScheduled). */
const daemonSetHealth: Rule = (o) => {
  const desired = at(o, 'status.desiredNumberScheduled');
  if (typeof desired !== 'number') return inProgress('not yet scheduled', 'the DaemonSet controller has not counted its nodes yet');
  const scheduled = int(o, 'status.currentNumberScheduled', 0);
  const updated = int(o, 'status.updatedNumberScheduled', 0);
  const available = int(o, 'status.numberAvailable', 0);
  if (scheduled < desired) return inProgress(ofPhrase(scheduled, desired, 'pod', 'scheduled'));
  if (updated < desired) return inProgress(ofPhrase(updated, desired, 'pod', 'updated'));
  if (available < desired) return inProgress(ofPhrase(available, desired, 'pod', 'available'));
  return current(ofPhrase(available, desired, 'pod', 'available'));
};

/**
 * Complete or Failed are final. Unlike kstatus (Current once started), a running Job is
 * InProgress: see the module comment.
 */
const jobHealth: Rule = (o) => {
  const failedCondition = condition(o, 'Failed');
  if (isTrue(failedCondition)) return said('Failed', failedCondition, 'JobFailed', 'the Job failed');
  const succeeded = int(o, 'status.succeeded', 0);
  const completions = at(o, 'spec.completions');
  const progress = typeof completions === 'number' ? `${succeeded} of ${completions} succeeded` : `${succeeded} succeeded`;
  if (isTrue(condition(o, 'Complete'))) return current('Complete', progress);
  if (isTrue(condition(o, 'Suspended'))) return current('Suspended', 'the Job is suspended (spec.suspend)');
  if (!str(o, 'status.startTime')) return inProgress('not started', 'the Job controller has not started it yet');
  return inProgress(progress, `${plural(int(o, 'status.active', 0), 'active pod')}, ${succeeded} succeeded, ${int(o, 'status.failed', 0)} failed`);
};

// --- pods ------------------------------------------------------------------------------

/** Waiting reasons of an ordinary start, not a problem. */
const NORMAL_WAITING = new Set(['ContainerCreating', 'PodInitializing']);
/** Waiting reasons that never clear without a new spec (or, CrashLoopBackOff, as kstatus). */
const FATAL_WAITING = new Set(['CrashLoopBackOff', 'InvalidImageName', 'ErrImageNeverPull']);

/** The part of a container status read here; `name` is required by the API. */
interface ContainerStatus {
  readonly name: string;
  readonly state?: { readonly waiting?: { readonly reason?: string; readonly message?: string } };
}

interface WaitingContainer {
  readonly container: string;
  readonly reason: string;
  /** The kubelet's message, else the reason again. */
  readonly message: string;
}

/** The first container (init containers first: they run first) waiting for a reason that is a problem. */
function waitingContainer(pod: unknown): WaitingContainer | undefined {
  for (const list of ['status.initContainerStatuses', 'status.containerStatuses']) {
    const statuses = at(pod, list);
    if (!Array.isArray(statuses)) continue;
    for (const cs of statuses as ContainerStatus[]) {
      const reason = cs.state?.waiting?.reason;
      if (reason && !NORMAL_WAITING.has(reason)) return { container: cs.name, reason, message: cs.state?.waiting?.message || reason };
    }
  }
  return undefined;
}

const describeWaiting = (w: WaitingContainer): string => `container ${w.container}: ${w.message}`;

const NO_NODE = 'no node fits the pod';

/** The scheduler's verdict, when it found no node. */
function unschedulable(pod: unknown): Condition | undefined {
  const scheduled = condition(pod, 'PodScheduled');
  return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' ? scheduled : undefined;
}

const podHealth: Rule = (o) => {
  const phase = str(o, 'status.phase') ?? '';
  if (phase === 'Succeeded') return current('Succeeded', 'the pod ran to completion');
  // A failed pod's status has a reason and message of its own (Evicted, DeadlineExceeded).
  if (phase === 'Failed') return said('Failed', at(o, 'status') as Condition, 'PodFailed', 'the pod failed');
  const waiting = waitingContainer(o);
  if (waiting && FATAL_WAITING.has(waiting.reason)) return failed(waiting.reason, describeWaiting(waiting));
  const ready = condition(o, 'Ready');
  if (phase === 'Running' && isTrue(ready)) return current('Ready');
  if (waiting) return inProgress(waiting.reason, describeWaiting(waiting));
  const noNode = unschedulable(o);
  if (noNode) return inProgress('Unschedulable', messageOf(noNode, NO_NODE));
  if (phase === '') return inProgress('not yet observed', 'the pod has no phase yet');
  return said('InProgress', ready, phase, `phase ${phase}, not Ready`);
};

export interface PodCause {
  readonly pod: string;
  /** Absent when the cause is the pod's, not a container's (Unschedulable). */
  readonly container?: string;
  readonly reason: string;
  readonly message: string;
}

/**
 * Why a Deployment's or ReplicaSet's pods do not become ready: the first pod (in the order
 * given) with a container waiting for a reason that is a problem (ImagePullBackOff,
 * CrashLoopBackOff, …), else the first the scheduler could not place. Pods being deleted are
 * skipped: they are the old rollout leaving, not the cause. Undefined when no pod says why.
 */
export function podCause(pods: readonly LiveObject[]): PodCause | undefined {
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  for (const p of live) {
    const waiting = waitingContainer(p);
    if (waiting) return { pod: p.metadata.name, container: waiting.container, reason: waiting.reason, message: waiting.message };
  }
  for (const p of live) {
    const noNode = unschedulable(p);
    if (noNode) return { pod: p.metadata.name, reason: 'Unschedulable', message: messageOf(noNode, NO_NODE) };
  }
  return undefined;
}

/** `pod web-7d4b9-x2x: ImagePullBackOff`, the form a failure text appends (issue 11 §3). */
export const formatPodCause = (c: PodCause): string => `pod ${c.pod}: ${c.reason}`;

// --- other kinds -----------------------------------------------------------------------

/** Lost means its volume is gone: nothing brings it back. Pending waits (a provisioner, or a first consumer). */
const pvcHealth: Rule = (o) => {
  const phase = str(o, 'status.phase') ?? 'Pending';
  if (phase === 'Bound') return current('Bound');
  if (phase === 'Lost') return failed('Lost', 'the claim lost its volume');
  return inProgress(phase, `the claim is ${phase}, not Bound`);
};

/** A LoadBalancer is usable once its controller published an address; other types at once. */
const serviceHealth: Rule = (o) => {
  if (str(o, 'spec.type') !== 'LoadBalancer') return undefined;
  const ingress = at(o, 'status.loadBalancer.ingress');
  if (!Array.isArray(ingress) || ingress.length === 0) return inProgress('no load balancer address yet', 'waiting for status.loadBalancer.ingress');
  const first = ingress[0] as unknown;
  return current('load balancer ready', `address ${str(first, 'ip') ?? str(first, 'hostname') ?? '(unnamed)'}`);
};

/** A name conflict, or Established=False for any reason but Installing, never resolves itself. */
const crdHealth: Rule = (o) => {
  const names = condition(o, 'NamesAccepted');
  if (names?.status === 'False') return said('Failed', names, 'NamesNotAccepted', 'the names are not accepted');
  const established = condition(o, 'Established');
  if (isTrue(established)) return current('Established');
  if (established?.status === 'False' && established.reason !== 'Installing') {
    return said('Failed', established, 'NotEstablished', 'the CRD is not Established');
  }
  return inProgress('Installing', messageOf(established, 'the CRD is not Established yet'));
};

/** Terminating without a deletionTimestamp cannot happen on a real cluster; read the phase anyway. */
const namespaceHealth: Rule = (o) =>
  str(o, 'status.phase') === 'Terminating' ? result('Terminating', 'being deleted', 'the namespace is Terminating') : current('Active');

/** Keyed like kstatus' table: `group/Kind`, the core group without a prefix. */
const KIND_RULES: Readonly<Record<string, Rule>> = {
  'apps/Deployment': deploymentHealth,
  'apps/ReplicaSet': replicaSetHealth,
  'apps/StatefulSet': statefulSetHealth,
  'apps/DaemonSet': daemonSetHealth,
  'batch/Job': jobHealth,
  Pod: podHealth,
  PersistentVolumeClaim: pvcHealth,
  Service: serviceHealth,
  'apiextensions.k8s.io/CustomResourceDefinition': crdHealth,
  Namespace: namespaceHealth,
};

const kindRule: Rule = (o) => KIND_RULES[groupKindOf(o)]?.(o);

const RULES: readonly Rule[] = [ignoredByAnnotation, beingDeleted, generationUnobserved, standardConditions, kindRule, readyCondition];

/** The health of `obj` as read from the API server; `undefined` (not on the cluster) is NotFound. */
export function health(obj: LiveObject | undefined): Health {
  if (!obj) return result('NotFound', 'not found', 'the object is not on the cluster');
  for (const rule of RULES) {
    const verdict = rule(obj);
    if (verdict) return verdict;
  }
  return current('applied', `${obj.kind} has no status that tells its health`);
}
