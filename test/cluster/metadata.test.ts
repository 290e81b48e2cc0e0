import { describe, expect, it } from 'vitest';
import { applysetId, INVENTORY_KEYS, inventoryRef, parentBody, parseInventory } from '../../lib/cluster/inventory.ts';
import type { InventoryState } from '../../lib/cluster/inventory.ts';
import { Keys, stampForApply, stripOps } from '../../lib/cluster/metadata.ts';
import type { LiveObject } from '../../lib/cluster/objects.ts';

describe('stampForApply', () => {
  it('adds the ApplySet label and managed marker, and drops what only the server may set', () => {
    const out = stampForApply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c', namespace: 'x', resourceVersion: '5', uid: 'u', labels: { app: 'a' }, managedFields: [] },
        data: { k: 'v' },
        status: { x: 1 },
      },
      'applyset-abc-v1',
    );
    expect(out).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'c',
        namespace: 'x',
        labels: { app: 'a', [Keys.partOf]: 'applyset-abc-v1', 'app.kubernetes.io/managed-by': 'pushsync' },
        annotations: { 'configmanagement.gke.io/managed': 'enabled' },
      },
      data: { k: 'v' },
    });
  });

  it("keeps the user's own managed-by label", () => {
    const out = stampForApply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { 'app.kubernetes.io/managed-by': 'Helm' } } }, 'id');
    expect(out.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
  });
});

describe('stripOps', () => {
  it('removes only what pushsync added, guarded by the UID', () => {
    const live: LiveObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'c',
        uid: 'u-1',
        labels: { [Keys.partOf]: 'id', 'app.kubernetes.io/managed-by': 'pushsync', app: 'a' },
        annotations: {
          'configmanagement.gke.io/managed': 'enabled',
          'pushsync.dev/source-path': 'x.yaml',
          'client.lifecycle.config.k8s.io/mutation': 'ignore',
          // The user's own opt-out from health waits: kept on an abandoned object.
          'pushsync.dev/health': 'ignore',
          team: 'blue',
        },
      },
    };
    expect(stripOps(live)).toEqual([
      { op: 'test', path: '/metadata/uid', value: 'u-1' },
      { op: 'remove', path: '/metadata/labels/applyset.kubernetes.io~1part-of' },
      { op: 'remove', path: '/metadata/labels/app.kubernetes.io~1managed-by' },
      { op: 'remove', path: '/metadata/annotations/configmanagement.gke.io~1managed' },
      { op: 'remove', path: '/metadata/annotations/pushsync.dev~1source-path' },
    ]);
  });

  it('sends nothing for an object without our metadata', () => {
    expect(stripOps({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', uid: 'u', labels: { app: 'a' } } })).toEqual([]);
  });
});

describe('inventory parent', () => {
  it('has a KEP-3659 id: applyset-<base64url sha256 of name.namespace.Kind.group, unpadded>-v1', () => {
    const id = applysetId('pushsync', 'pushsync-system', 'ConfigMap', '');
    expect(id).toMatch(/^applyset-[A-Za-z0-9_-]{43}-v1$/);
    expect(inventoryRef('pushsync').id).toBe(id);
    expect(applysetId('other', 'pushsync-system', 'ConfigMap', '')).not.toBe(id);
  });

  it('round-trips its state through the ConfigMap, sorted and without the parent namespace', () => {
    const ref = inventoryRef('root');
    const state: InventoryState = {
      exists: true,
      groupKinds: ['Service', 'Deployment.apps', 'Namespace', 'Service'],
      namespaces: ['shop', 'pushsync-system', 'alpha'],
      appliedCommit: 'abc',
      appliedAt: '2024-01-01T00:00:00.000Z',
      lastCommit: 'abc',
      lastStatus: 'applied',
      lastAt: '2024-01-01T00:00:00.000Z',
      rollout: '0123456789abcdef',
      summary: { commit: 'abc', status: 'applied', at: '2024-01-01T00:00:00.000Z', counts: { created: 1 }, errors: [] },
    };
    const body = parentBody(ref, state) as LiveObject;
    expect(body.metadata.annotations?.[Keys.containsGroupKinds]).toBe('Deployment.apps,Namespace,Service');
    expect(body.metadata.annotations?.[Keys.additionalNamespaces]).toBe('alpha,shop');
    expect(body.metadata.labels?.[Keys.applysetId]).toBe(ref.id);
    expect(body.metadata.annotations?.[INVENTORY_KEYS.rollout]).toBe('0123456789abcdef');
    expect(parseInventory(body, ref)).toEqual({ ...state, groupKinds: ['Deployment.apps', 'Namespace', 'Service'], namespaces: ['alpha', 'shop'] });
  });

  it("refuses a parent managed by another tool, or with someone else's id", () => {
    const ref = inventoryRef('root');
    const other = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'root', annotations: { [Keys.tooling]: 'kubectl/v1.30' } } };
    expect(() => parseInventory(other, ref)).toThrow(/managed by tooling "kubectl\/v1.30"/);
    const wrongId = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'root', labels: { [Keys.applysetId]: 'applyset-x-v1' } } };
    expect(() => parseInventory(wrongId, ref)).toThrow(/expected applyset-/);
  });
});
