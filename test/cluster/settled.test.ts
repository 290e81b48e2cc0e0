/** settled.ts: when a LISTed object needs no dry-run, and every way it must still get one. */
import { describe, expect, it } from 'vitest';
import type { LiveObject } from '../../lib/cluster/objects.ts';
import { isSettled } from '../../lib/cluster/settled.ts';
import type { KubeObject } from '../../lib/repo/index.ts';

const declared: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: {
    replicas: 2,
    template: { spec: { containers: [{ name: 'server', image: 'web:1', ports: [{ containerPort: 8080 }] }] } },
  },
};

const owned = {
  'f:metadata': { 'f:labels': { 'f:app': {} } },
  'f:spec': {
    'f:replicas': {},
    'f:template': {
      'f:spec': {
        'f:containers': {
          'k:{"name":"server"}': {
            '.': {},
            'f:name': {},
            'f:image': {},
            'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
          },
        },
      },
    },
  },
};

function live(over: { spec?: unknown; fields?: unknown; manager?: string; extra?: LiveObject['metadata']['managedFields']; apiVersion?: string } = {}): LiveObject {
  return {
    apiVersion: over.apiVersion ?? 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'u1',
      resourceVersion: '7',
      labels: { app: 'web' },
      managedFields: [
        { manager: over.manager ?? 'pushsync', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: over.fields ?? owned },
        { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} }, subresource: 'status' },
        ...(over.extra ?? []),
      ],
    },
    spec: over.spec ?? {
      replicas: 2,
      revisionHistoryLimit: 10,
      template: {
        spec: {
          restartPolicy: 'Always',
          containers: [{ name: 'server', image: 'web:1', imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 8080, protocol: 'TCP' }] }],
        },
      },
    },
    status: { replicas: 2 },
  } as LiveObject;
}

describe('isSettled', () => {
  it('is true when every declared value is live (server defaults beside them) and our field set is exactly the declared one', () => {
    expect(isSettled(declared, live(), 'pushsync')).toBe(true);
  });

  it('is false when one declared value differs live (drift)', () => {
    const drifted = live({ spec: { replicas: 3, template: { spec: { containers: [{ name: 'server', image: 'web:1', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] } } } });
    expect(isSettled(declared, drifted, 'pushsync')).toBe(false);
  });

  it('is false when we own a field Git no longer declares (it must be removed)', () => {
    const fields = structuredClone(owned) as Record<string, Record<string, unknown>>;
    (fields['f:spec'] as Record<string, unknown>)['f:minReadySeconds'] = {};
    expect(isSettled(declared, live({ fields }), 'pushsync')).toBe(false);
  });

  it('is false when Git declares a field we do not own yet (taken over, or new)', () => {
    const more = { ...declared, spec: { ...(declared.spec as object), paused: false } };
    expect(isSettled(more, live(), 'pushsync')).toBe(false);
  });

  it('is false when a live list has an item more than the declared one (another manager added a container)', () => {
    const spec = { replicas: 2, template: { spec: { containers: [{ name: 'server', image: 'web:1', ports: [{ containerPort: 8080, protocol: 'TCP' }] }, { name: 'sidecar', image: 'x' }] } } };
    expect(isSettled(declared, live({ spec }), 'pushsync')).toBe(false);
  });

  it('is false when we own nothing through Apply, own through another version, or also own through Update', () => {
    expect(isSettled(declared, live({ manager: 'kubectl' }), 'pushsync')).toBe(false);
    expect(isSettled(declared, live({ apiVersion: 'apps/v1beta1' }), 'pushsync')).toBe(false);
    expect(isSettled(declared, live({ extra: [{ manager: 'pushsync', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }] }), 'pushsync')).toBe(false);
  });

  it('is false for a value the server canonicalises, a null, a declared status, or an object being deleted', () => {
    const cm = (data: unknown): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data } as KubeObject);
    const liveCm = (data: unknown, extra: object = {}): LiveObject =>
      ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n', ...extra, managedFields: [{ manager: 'pushsync', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } }] }, data }) as LiveObject;
    expect(isSettled(cm({ a: '1' }), liveCm({ a: '1' }), 'pushsync')).toBe(true);
    expect(isSettled(cm({ a: 1 }), liveCm({ a: '1' }), 'pushsync')).toBe(false);
    expect(isSettled(cm({ a: null }), liveCm({ a: '1' }), 'pushsync')).toBe(false);
    expect(isSettled({ ...cm({ a: '1' }), status: {} }, liveCm({ a: '1' }), 'pushsync')).toBe(false);
    expect(isSettled(cm({ a: '1' }), liveCm({ a: '1' }, { deletionTimestamp: '2026-01-01T00:00:00Z' }), 'pushsync')).toBe(false);
    // Someone else's key beside ours in a granular map changes nothing we apply.
    expect(isSettled(cm({ a: '1' }), liveCm({ a: '1', b: '2' }), 'pushsync')).toBe(true);
  });
});
