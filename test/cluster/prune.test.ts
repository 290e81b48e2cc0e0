import { describe, expect, it } from 'vitest';
import type { LiveMember } from '../../lib/cluster/live.ts';
import { idKey } from '../../lib/cluster/objects.ts';
import type { ObjectId } from '../../lib/cluster/objects.ts';
import { checkDeleteAll, planPrune } from '../../lib/cluster/prune.ts';

const member = (kind: string, name: string, opts: { ns?: string; annotations?: Record<string, string>; deleting?: boolean } = {}): LiveMember => {
  const id: ObjectId = { group: '', kind, name, ...(opts.ns ? { namespace: opts.ns } : {}) };
  return {
    id,
    key: idKey(id),
    mapping: { group: '', version: 'v1', kind, resource: `${kind.toLowerCase()}s`, namespaced: opts.ns !== undefined },
    live: {
      apiVersion: 'v1',
      kind,
      metadata: {
        name,
        ...(opts.ns ? { namespace: opts.ns } : {}),
        uid: `uid-${name}`,
        ...(opts.annotations ? { annotations: opts.annotations } : {}),
        ...(opts.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
      },
    },
  };
};

const verdicts = (ds: ReturnType<typeof planPrune>) => ds.map((d) => `${d.member.id.kind}/${d.member.id.name}:${d.verdict}`);

describe('planPrune', () => {
  const declared = (...ms: LiveMember[]) => new Set(ms.map((m) => m.key));

  it('deletes members the commit no longer declares and leaves declared ones to the apply', () => {
    const a = member('ConfigMap', 'a', { ns: 'x' });
    const b = member('ConfigMap', 'b', { ns: 'x' });
    const ds = planPrune({ members: [a, b], declaredKeys: declared(a), disabledKeys: new Set(), usedNamespaces: new Set() });
    expect(verdicts(ds)).toEqual(['ConfigMap/b:delete']);
  });

  it('abandons instead of deleting: declared disabled, detach / on-remove keep, disabled on the cluster, protected namespaces', () => {
    const disabled = member('ConfigMap', 'disabled', { ns: 'x' });
    const ms = [
      disabled,
      member('ConfigMap', 'detach', { ns: 'x', annotations: { 'client.lifecycle.config.k8s.io/deletion': 'detach' } }),
      member('ConfigMap', 'keep', { ns: 'x', annotations: { 'cli-utils.sigs.k8s.io/on-remove': 'keep' } }),
      member('ConfigMap', 'off', { ns: 'x', annotations: { 'configmanagement.gke.io/managed': 'disabled' } }),
      member('Namespace', 'kube-system'),
      member('Namespace', 'default'),
    ];
    const ds = planPrune({ members: ms, declaredKeys: declared(disabled), disabledKeys: declared(disabled), usedNamespaces: new Set() });
    expect(verdicts(ds)).toEqual([
      'ConfigMap/disabled:abandon',
      'ConfigMap/detach:abandon',
      'ConfigMap/keep:abandon',
      'ConfigMap/off:abandon',
      'Namespace/kube-system:abandon',
      'Namespace/default:abandon',
    ]);
  });

  it('keeps a removed Namespace that still holds objects of the commit, and one already being deleted', () => {
    const ds = planPrune({
      members: [member('Namespace', 'used'), member('Namespace', 'terminating', { deleting: true })],
      declaredKeys: new Set(),
      disabledKeys: new Set(),
      usedNamespaces: new Set(['used']),
    });
    expect(verdicts(ds)).toEqual(['Namespace/used:keep', 'Namespace/terminating:keep']);
  });
});

describe('checkDeleteAll (KNV2006)', () => {
  const plan = (members: LiveMember[], keep: LiveMember[]) =>
    planPrune({ members, declaredKeys: new Set(keep.map((m) => m.key)), disabledKeys: new Set(), usedNamespaces: new Set() });

  it('refuses to delete every Namespace when there were two or more', () => {
    const a = member('Namespace', 'a');
    const b = member('Namespace', 'b');
    const cr = member('ClusterRole', 'r');
    const err = checkDeleteAll([a, b, cr], plan([a, b, cr], [cr]), false);
    expect(err?.code).toBe('KNV2006');
    expect(err?.message).toMatch(/delete all 2 Namespaces/);
  });

  it('allows deleting one of two Namespaces, or the only one while other objects stay', () => {
    const a = member('Namespace', 'a');
    const b = member('Namespace', 'b');
    const cr = member('ClusterRole', 'r');
    expect(checkDeleteAll([a, b], plan([a, b], [b]), false)).toBeUndefined();
    expect(checkDeleteAll([a, cr], plan([a, cr], [cr]), false)).toBeUndefined();
  });

  it('refuses to delete every managed object, unless the repo opts in', () => {
    const a = member('ConfigMap', 'a', { ns: 'x' });
    expect(checkDeleteAll([a], plan([a], []), false)?.message).toMatch(/would delete all 1 managed objects/);
    expect(checkDeleteAll([a], plan([a], []), true)).toBeUndefined();
  });

  it('does not count objects that are abandoned rather than deleted', () => {
    const a = member('ConfigMap', 'a', { ns: 'x', annotations: { 'client.lifecycle.config.k8s.io/deletion': 'detach' } });
    expect(checkDeleteAll([a], plan([a], []), false)).toBeUndefined();
  });
});
