/**
 * lib/cluster/health.ts on status objects captured from the workload plane
 * (test/fixtures/health/, refreshed by `npx tsx scripts/capture-health-fixtures.ts`), plus
 * hand-written variants for states the control plane does not reach on its own (a crash loop,
 * a Lost claim, custom resources with the standard conditions). Reads only the fixtures: no
 * control plane, milliseconds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatPodCause, health, HEALTH_ANNOTATION, podCause } from '../../lib/cluster/health.ts';
import type { HealthStatus } from '../../lib/cluster/health.ts';
import { Keys } from '../../lib/cluster/metadata.ts';
import type { LiveObject } from '../../lib/cluster/objects.ts';

const DIR = fileURLToPath(new URL('../fixtures/health/', import.meta.url));

const fixture = (name: string): LiveObject => JSON.parse(readFileSync(`${DIR}${name}.json`, 'utf8')) as LiveObject;

type Mutable = Record<string, unknown>;
/** A fixture changed by `edit` (on a deep copy): the states a capture cannot reach. */
function variant(name: string, edit: (o: Mutable & { metadata: Mutable; spec: Mutable; status: Mutable }) => void): LiveObject {
  const o = fixture(name) as unknown as Mutable & { metadata: Mutable; spec: Mutable; status: Mutable };
  o.spec ??= {};
  o.status ??= {};
  edit(o);
  return o as unknown as LiveObject;
}

/** A custom resource with the given status. */
function widget(status: Record<string, unknown> | undefined, metadata: Record<string, unknown> = {}): LiveObject {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'shop', generation: 3, ...metadata },
    ...(status ? { status } : {}),
  } as LiveObject;
}

type Row = readonly [fixture: string, status: HealthStatus, reason: string];

/** Every captured fixture, as it is on the control plane. */
const CAPTURED: readonly Row[] = [
  ['configmap', 'Current', 'applied'],
  ['crd-established', 'Current', 'Established'],
  ['crd-names-not-accepted', 'Failed', 'ListKindConflict'],
  ['daemonset-ready', 'Current', '2 of 2 pods available'],
  ['daemonset-not-available', 'InProgress', '0 of 2 pods available'],
  ['deployment-new', 'InProgress', 'generation 1 not yet observed'],
  ['deployment-available', 'Current', '2 of 2 replicas available'],
  ['deployment-generation-not-observed', 'InProgress', 'generation 2 not yet observed'],
  ['deployment-scaling-up', 'InProgress', '2 of 4 replicas created'],
  ['deployment-scaling-down', 'InProgress', '3 replicas pending termination'],
  ['deployment-rollout-stuck', 'InProgress', '1 of 2 replicas updated'],
  ['deployment-progress-deadline-exceeded', 'Failed', 'ProgressDeadlineExceeded'],
  // The same deadline written after pushsync's last apply of the object: this spec's failure.
  ['deployment-progress-deadline-after-apply', 'Failed', 'ProgressDeadlineExceeded'],
  // A revert to an existing ReplicaSet, read a moment after the apply: the earlier spec's verdict is still there.
  ['deployment-progress-deadline-stale', 'InProgress', 'ReplicaSetUpdated'],
  ['job-complete', 'Current', 'Complete'],
  ['job-running', 'InProgress', '0 of 1 succeeded'],
  ['job-failed', 'Failed', 'DeadlineExceeded'],
  ['namespace-active', 'Current', 'Active'],
  ['namespace-terminating', 'Terminating', 'being deleted'],
  ['pod-ready', 'Current', 'Ready'],
  ['pod-succeeded', 'Current', 'Succeeded'],
  ['pod-image-pull-backoff', 'InProgress', 'ImagePullBackOff'],
  ['pod-of-deployment-image-pull-backoff', 'InProgress', 'ImagePullBackOff'],
  ['pod-unschedulable', 'InProgress', 'Unschedulable'],
  ['pvc-pending', 'InProgress', 'Pending'],
  ['pvc-bound', 'Current', 'Bound'],
  ['replicaset-ready', 'Current', '2 of 2 replicas available'],
  ['replicaset-not-ready', 'InProgress', '0 of 2 replicas available'],
  ['service-clusterip', 'Current', 'applied'],
  ['service-loadbalancer-pending', 'InProgress', 'no load balancer address yet'],
  ['service-loadbalancer-ready', 'Current', 'load balancer ready'],
  ['statefulset-ready', 'Current', '2 of 2 replicas ready'],
  ['statefulset-not-ready', 'InProgress', '1 of 2 replicas created'],
  ['statefulset-partitioned', 'Current', '1 of 1 replica updated above partition 1'],
];

describe('health of captured objects', () => {
  it.each(CAPTURED)('%s → %s (%s)', (name, status, reason) => {
    expect(health(fixture(name))).toMatchObject({ status, reason });
  });

  it('has a row for every fixture (a new capture needs its expectation)', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
    expect(files.sort()).toEqual(CAPTURED.map(([name]) => name).sort());
  });

  it('keeps the controller’s message for a failure', () => {
    expect(health(fixture('deployment-progress-deadline-exceeded')).message).toMatch(/has timed out progressing/);
    expect(health(fixture('job-failed')).message).toBe('Job was active longer than specified deadline');
    expect(health(fixture('pod-image-pull-backoff')).message).toBe('container app: Back-off pulling image "registry.invalid/app:1"');
  });
});

type Case = readonly [what: string, obj: LiveObject | undefined, status: HealthStatus, reason: string];

const EDGE_CASES: readonly Case[] = [
  ['an object not on the cluster', undefined, 'NotFound', 'not found'],

  // The opt-out annotation wins over everything, even a failure.
  [
    'a failed Deployment annotated pushsync.dev/health: ignore',
    variant('deployment-progress-deadline-exceeded', (o) => (o.metadata.annotations = { [HEALTH_ANNOTATION]: 'ignore' })),
    'Current',
    'health ignored by annotation',
  ],
  [
    'another value of the annotation is not an opt-out',
    variant('deployment-progress-deadline-exceeded', (o) => (o.metadata.annotations = { [HEALTH_ANNOTATION]: 'wait' })),
    'Failed',
    'ProgressDeadlineExceeded',
  ],

  // Rules for every kind.
  ['a custom resource being deleted, with finalizers', widget({}, { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['example.com/x'] }), 'Terminating', 'being deleted'],
  ['a custom resource whose status is for an older generation', widget({ observedGeneration: 2 }), 'InProgress', 'generation 3 not yet observed'],
  ['Stalled=True', widget({ observedGeneration: 3, conditions: [{ type: 'Stalled', status: 'True', reason: 'InvalidSpec' }] }), 'Failed', 'InvalidSpec'],
  ['Stalled=True without a reason', widget({ conditions: [{ type: 'Stalled', status: 'True' }] }), 'Failed', 'Stalled'],
  [
    'Stalled wins over Reconciling',
    widget({ conditions: [{ type: 'Reconciling', status: 'True', reason: 'Working' }, { type: 'Stalled', status: 'True', reason: 'Gave up' }] }),
    'Failed',
    'Gave up',
  ],
  ['Reconciling=True', widget({ conditions: [{ type: 'Reconciling', status: 'True', reason: 'Progressing' }] }), 'InProgress', 'Progressing'],
  ['Reconciling=True without a reason', widget({ conditions: [{ type: 'Reconciling', status: 'True' }] }), 'InProgress', 'Reconciling'],
  ['Stalled=False and Reconciling=False', widget({ conditions: [{ type: 'Stalled', status: 'False' }, { type: 'Reconciling', status: 'False' }] }), 'Current', 'applied'],
  ['Ready=True', widget({ conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded' }] }), 'Current', 'Succeeded'],
  ['Ready=True without a reason', widget({ conditions: [{ type: 'Ready', status: 'True' }] }), 'Current', 'Ready'],
  ['Ready=False', widget({ conditions: [{ type: 'Ready', status: 'False', reason: 'IssuerNotReady' }] }), 'InProgress', 'IssuerNotReady'],
  ['Ready=Unknown without a reason', widget({ conditions: [{ type: 'Ready', status: 'Unknown' }] }), 'InProgress', 'not Ready'],
  [
    'Ready=True but for an older generation',
    widget({ conditions: [{ type: 'Ready', status: 'True', observedGeneration: 2 }] }),
    'InProgress',
    'generation 3 not yet observed',
  ],
  ['a custom resource without status', widget(undefined), 'Current', 'applied'],
  [
    'an object without apiVersion (a list item) is read as of the core group',
    { kind: 'Namespace', metadata: { name: 'x' }, status: { phase: 'Terminating' } } as unknown as LiveObject,
    'Terminating',
    'being deleted',
  ],

  // Deployment.
  ['a Deployment 1 of 2 available', variant('deployment-available', (o) => (o.status.availableReplicas = 1)), 'InProgress', '1 of 2 replicas available'],
  [
    'a Deployment whose counts are done but not its Progressing condition',
    variant('deployment-available', (o) => ((o.status.conditions as Mutable[])[1]!.reason = 'ReplicaSetUpdated')),
    'InProgress',
    'ReplicaSetNotAvailable',
  ],
  [
    'a Deployment with counts done, Available=False',
    variant('deployment-available', (o) => Object.assign((o.status.conditions as Mutable[])[0]!, { status: 'False', reason: 'MinimumReplicasUnavailable' })),
    'InProgress',
    'MinimumReplicasUnavailable',
  ],
  [
    'a Deployment without progress deadline nor conditions',
    variant('deployment-available', (o) => {
      o.spec.progressDeadlineSeconds = 2147483647;
      o.status.conditions = [];
    }),
    'InProgress',
    'DeploymentNotAvailable',
  ],
  [
    'a Deployment without progress deadline, Available',
    variant('deployment-available', (o) => {
      o.spec.progressDeadlineSeconds = 2147483647;
      o.status.conditions = [{ type: 'Available', status: 'True' }];
    }),
    'Current',
    '2 of 2 replicas available',
  ],
  [
    'a Deployment without spec.replicas counts 1',
    variant('deployment-available', (o) => {
      delete o.spec.replicas;
      o.status.replicas = 1;
      o.status.availableReplicas = 1;
      o.status.updatedReplicas = 1;
    }),
    'Current',
    '1 of 1 replica available',
  ],

  // ReplicaSet.
  [
    'a ReplicaSet that cannot create pods',
    variant('replicaset-not-ready', (o) => (o.status.conditions = [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'exceeded quota' }])),
    'InProgress',
    'FailedCreate',
  ],
  ['a ReplicaSet scaled down', variant('replicaset-ready', (o) => (o.spec.replicas = 1)), 'InProgress', '1 replica pending termination'],

  // StatefulSet.
  [
    'a StatefulSet with the OnDelete strategy',
    variant('statefulset-not-ready', (o) => (o.spec.updateStrategy = { type: 'OnDelete' })),
    'Current',
    'OnDelete update strategy',
  ],
  ['a StatefulSet 1 of 2 ready', variant('statefulset-ready', (o) => (o.status.readyReplicas = 1)), 'InProgress', '1 of 2 replicas ready'],
  [
    'a StatefulSet scaled down',
    variant('statefulset-ready', (o) => {
      o.spec.replicas = 1;
    }),
    'InProgress',
    '1 replica pending termination',
  ],
  [
    'a partitioned StatefulSet not yet updated above its partition',
    variant('statefulset-partitioned', (o) => (o.status.updatedReplicas = 0)),
    'InProgress',
    '0 of 1 replica updated above partition 1',
  ],
  [
    'a StatefulSet rolling out (revisions differ, no partition)',
    variant('statefulset-partitioned', (o) => (o.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } })),
    'InProgress',
    '1 of 2 replicas updated',
  ],
  [
    'a StatefulSet at one revision, one replica not yet current',
    variant('statefulset-ready', (o) => (o.status.currentReplicas = 1)),
    'InProgress',
    '1 of 2 replicas updated',
  ],

  // DaemonSet.
  [
    'a DaemonSet whose controller has not counted nodes',
    variant('daemonset-ready', (o) => (o.status = { observedGeneration: 1 })),
    'InProgress',
    'not yet scheduled',
  ],
  ['a DaemonSet 1 of 2 scheduled', variant('daemonset-ready', (o) => (o.status.currentNumberScheduled = 1)), 'InProgress', '1 of 2 pods scheduled'],
  ['a DaemonSet 1 of 2 updated', variant('daemonset-ready', (o) => (o.status.updatedNumberScheduled = 1)), 'InProgress', '1 of 2 pods updated'],

  // Job.
  ['a suspended Job', variant('job-running', (o) => (o.status.conditions = [{ type: 'Suspended', status: 'True' }])), 'Current', 'Suspended'],
  ['a Job not started', variant('job-running', (o) => (o.status = {})), 'InProgress', 'not started'],
  ['a work-queue Job (no completions)', variant('job-running', (o) => delete o.spec.completions), 'InProgress', '0 succeeded'],
  [
    'a Job failed without a reason',
    variant('job-failed', (o) => (o.status.conditions = [{ type: 'Failed', status: 'True' }])),
    'Failed',
    'JobFailed',
  ],

  // Pod.
  [
    'an evicted Pod',
    variant('pod-ready', (o) => Object.assign(o.status, { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' })),
    'Failed',
    'Evicted',
  ],
  ['a Pod failed without a reason', variant('pod-ready', (o) => (o.status.phase = 'Failed')), 'Failed', 'PodFailed'],
  [
    'a Pod in CrashLoopBackOff',
    variant('pod-ready', (o) => {
      (o.status.conditions as Mutable[]).find((c) => c.type === 'Ready')!.status = 'False';
      (o.status.containerStatuses as Mutable[])[0]!.state = { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' } };
    }),
    'Failed',
    'CrashLoopBackOff',
  ],
  [
    'a Pod whose init container cannot pull its image',
    variant('pod-image-pull-backoff', (o) => {
      o.status.initContainerStatuses = [{ name: 'init', state: { waiting: { reason: 'ErrImagePull' } } }];
      o.status.containerStatuses = [{ name: 'app', state: { waiting: { reason: 'PodInitializing' } } }];
    }),
    'InProgress',
    'ErrImagePull',
  ],
  [
    'a Pod whose containers are still being created',
    variant('pod-image-pull-backoff', (o) => (o.status.containerStatuses = [{ name: 'app', state: { waiting: { reason: 'ContainerCreating' } } }])),
    'InProgress',
    'ContainersNotReady',
  ],
  [
    'a running Pod, not Ready, no waiting container',
    variant('pod-ready', (o) => {
      (o.status.conditions as Mutable[]).find((c) => c.type === 'Ready')!.status = 'False';
    }),
    'InProgress',
    'Running',
  ],
  [
    'an unschedulable Pod without the scheduler’s message',
    variant('pod-unschedulable', (o) => delete (o.status.conditions as Mutable[])[0]!.message),
    'InProgress',
    'Unschedulable',
  ],
  ['a Pod without a phase yet', variant('pod-ready', (o) => (o.status = {})), 'InProgress', 'not yet observed'],

  // PersistentVolumeClaim, Service, CRD, Namespace.
  ['a PersistentVolumeClaim that lost its volume', variant('pvc-bound', (o) => (o.status.phase = 'Lost')), 'Failed', 'Lost'],
  ['a PersistentVolumeClaim without status', variant('pvc-pending', (o) => delete (o as Mutable).status), 'InProgress', 'Pending'],
  [
    'a LoadBalancer Service with a host name',
    variant('service-loadbalancer-ready', (o) => (o.status.loadBalancer = { ingress: [{ hostname: 'lb.example.com' }] })),
    'Current',
    'load balancer ready',
  ],
  [
    'a LoadBalancer Service whose ingress names no address',
    variant('service-loadbalancer-ready', (o) => (o.status.loadBalancer = { ingress: [{}] })),
    'Current',
    'load balancer ready',
  ],
  [
    'a CRD not Established for another reason than Installing',
    variant('crd-established', (o) => (o.status.conditions = [{ type: 'Established', status: 'False', reason: 'NotAccepted' }])),
    'Failed',
    'NotAccepted',
  ],
  [
    'a CRD whose names were refused without a reason',
    variant('crd-established', (o) => (o.status.conditions = [{ type: 'NamesAccepted', status: 'False' }])),
    'Failed',
    'NamesNotAccepted',
  ],
  ['a CRD just created', variant('crd-established', (o) => (o.status = {})), 'InProgress', 'Installing'],
  [
    'a CRD still Installing',
    variant('crd-established', (o) => (o.status.conditions = [{ type: 'Established', status: 'False', reason: 'Installing', message: 'the initial names are being accepted' }])),
    'InProgress',
    'Installing',
  ],
  [
    'a Namespace Terminating without deletionTimestamp',
    variant('namespace-terminating', (o) => delete o.metadata.deletionTimestamp),
    'Terminating',
    'being deleted',
  ],
];

describe('health edge cases', () => {
  // The object last, so the test's name is only what, status and reason.
  it.each(EDGE_CASES.map(([what, obj, status, reason]) => [what, status, reason, obj] as const))('%s → %s (%s)', (_what, status, reason, obj) => {
    expect(health(obj)).toMatchObject({ status, reason });
  });

  it('says which finalizers a deletion waits for', () => {
    expect(health(widget({}, { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['example.com/x'] })).message).toBe('waiting for finalizers: example.com/x');
    expect(health(widget({}, { deletionTimestamp: '2026-01-01T00:00:00Z' })).message).toBe('deletion requested');
  });

  it('reads the group, not the version, of a kind: a Deployment of another group is no Deployment', () => {
    const other = { ...fixture('deployment-progress-deadline-exceeded'), apiVersion: 'example.com/v1' } as LiveObject;
    expect(health(other).status).toBe('Current');
  });

  it('spells the annotation as metadata.ts’s Keys.health', () => {
    expect(HEALTH_ANNOTATION).toBe(Keys.health);
  });
});

describe('podCause', () => {
  it('names the first pod with a container waiting for a problem, and that container', () => {
    const cause = podCause([fixture('pod-ready'), fixture('pod-of-deployment-image-pull-backoff')]);
    const pod = fixture('pod-of-deployment-image-pull-backoff').metadata.name;
    expect(cause).toEqual({ pod, container: 'app', reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry.invalid/app:1"' });
    expect(formatPodCause(cause!)).toBe(`pod ${pod}: ImagePullBackOff`);
  });

  it('prefers a waiting container to an unschedulable pod, and falls back to it', () => {
    expect(podCause([fixture('pod-unschedulable'), fixture('pod-image-pull-backoff')])?.reason).toBe('ImagePullBackOff');
    expect(podCause([fixture('pod-ready'), fixture('pod-unschedulable')])).toMatchObject({ pod: 'nowhere', reason: 'Unschedulable' });
    expect(podCause([fixture('pod-unschedulable')])?.container).toBeUndefined();
    const silent = variant('pod-unschedulable', (o) => delete (o.status.conditions as Mutable[])[0]!.message);
    expect(podCause([silent])?.message).toBe('no node fits the pod');
  });

  it('skips pods being deleted, and finds nothing in healthy pods', () => {
    const leaving = variant('pod-image-pull-backoff', (o) => (o.metadata.deletionTimestamp = '2026-01-01T00:00:00Z'));
    expect(podCause([leaving, fixture('pod-ready')])).toBeUndefined();
    expect(podCause([fixture('pod-ready'), fixture('pod-succeeded')])).toBeUndefined();
    expect(podCause([])).toBeUndefined();
  });
});
