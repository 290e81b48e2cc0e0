import { describe, expect, it } from 'vitest';
import { changedPaths, describeChange, isNoop } from '../../lib/cluster/diff.ts';
import type { LiveObject } from '../../lib/cluster/objects.ts';

const deployment = (over: { replicas?: number; image?: string; rv?: string; fields?: unknown; time?: string } = {}): LiveObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u1',
    resourceVersion: over.rv ?? '10',
    generation: 3,
    labels: { 'applyset.kubernetes.io/part-of': 'applyset-x-v1' },
    managedFields: [
      { manager: 'pushsync', operation: 'Apply', time: over.time ?? '2024-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: over.fields ?? { 'f:spec': { 'f:replicas': {} } } },
      { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': {} } },
    ],
  },
  spec: {
    replicas: over.replicas ?? 1,
    template: { spec: { containers: [{ name: 'server', image: over.image ?? 'web:1' }, { name: 'proxy', image: 'envoy:1' }] } },
  },
  status: { observedGeneration: 3 },
});

describe('isNoop', () => {
  it('ignores resourceVersion, generation, status and managedFields timestamps', () => {
    const live = deployment();
    const dry = deployment({ rv: '11', time: '2025-01-01T00:00:00Z' });
    dry.status = { observedGeneration: 4 };
    expect(isNoop(live, dry, 'pushsync')).toBe(true);
  });

  it('sees a changed value', () => {
    expect(isNoop(deployment(), deployment({ replicas: 2 }), 'pushsync')).toBe(false);
  });

  it('sees a change in the fields our manager owns even when values are equal', () => {
    const dry = deployment({ fields: { 'f:spec': {} } });
    expect(isNoop(deployment(), dry, 'pushsync')).toBe(false);
    expect(describeChange(deployment(), dry, 'pushsync')).toEqual(['.metadata.managedFields[manager=pushsync]']);
  });
});

describe('changedPaths', () => {
  it('names list items by their name and quotes keys that are not identifiers', () => {
    const a = deployment();
    const b = deployment({ image: 'web:2', replicas: 3 });
    b.metadata.labels = { ...b.metadata.labels, 'app.kubernetes.io/name': 'web' };
    expect(changedPaths(a, b)).toEqual([
      '.metadata.labels["app.kubernetes.io/name"]',
      '.spec.replicas',
      '.spec.template.spec.containers[name=server].image',
    ]);
  });

  it('reports a list whose length changed as one path', () => {
    expect(changedPaths({ ports: [80] }, { ports: [80, 443] })).toEqual(['.ports']);
  });
});
