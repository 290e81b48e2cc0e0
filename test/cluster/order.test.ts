import { describe, expect, it } from 'vitest';
import { ClusterError } from '../../lib/cluster/errors.ts';
import { idKey } from '../../lib/cluster/objects.ts';
import type { ObjectId } from '../../lib/cluster/objects.ts';
import { dependsOnIds, sortIntoWaves } from '../../lib/cluster/order.ts';

interface N {
  id: ObjectId;
  namespaced: boolean;
  deps: string[];
}
const node = (kind: string, name: string, opts: { group?: string; ns?: string; deps?: ObjectId[] } = {}): N => ({
  id: { group: opts.group ?? '', kind, name, ...(opts.ns ? { namespace: opts.ns } : {}) },
  namespaced: opts.ns !== undefined,
  deps: (opts.deps ?? []).map(idKey),
});
const names = (waves: N[][]): string[][] => waves.map((w) => w.map((n) => `${n.id.kind}/${n.id.name}`));

describe('sortIntoWaves', () => {
  it('puts CRDs, then Namespaces, then cluster-scoped, then namespaced objects, kinds in §6.6 order', () => {
    const ns = node('Namespace', 'shop');
    const waves = sortIntoWaves([
      node('Deployment', 'web', { group: 'apps', ns: 'shop', deps: [ns.id] }),
      node('Service', 'web', { ns: 'shop', deps: [ns.id] }),
      node('ClusterRole', 'reader', { group: 'rbac.authorization.k8s.io' }),
      ns,
      node('CustomResourceDefinition', 'widgets.example.com', { group: 'apiextensions.k8s.io' }),
      node('ConfigMap', 'cfg', { ns: 'shop', deps: [ns.id] }),
    ]);
    expect(names(waves)).toEqual([
      ['CustomResourceDefinition/widgets.example.com'],
      ['Namespace/shop'],
      ['ClusterRole/reader'],
      ['ConfigMap/cfg', 'Service/web', 'Deployment/web'],
    ]);
  });

  it('orders a custom resource after its CRD even when both are cluster-scoped', () => {
    const crd = node('CustomResourceDefinition', 'widgets.example.com', { group: 'apiextensions.k8s.io' });
    const cr = node('Widget', 'w1', { group: 'example.com', deps: [crd.id] });
    expect(names(sortIntoWaves([cr, crd]))).toEqual([['CustomResourceDefinition/widgets.example.com'], ['Widget/w1']]);
  });

  it('lets an explicit depends-on override the phase order', () => {
    const sa = node('ServiceAccount', 'bot', { ns: 'default' });
    const crb = node('ClusterRoleBinding', 'bot', { group: 'rbac.authorization.k8s.io', deps: [sa.id] });
    expect(names(sortIntoWaves([crb, sa]))).toEqual([['ServiceAccount/bot'], ['ClusterRoleBinding/bot']]);
  });

  it('ignores dependencies on objects outside the set', () => {
    const cm = node('ConfigMap', 'cfg', { ns: 'default', deps: [{ group: '', kind: 'Secret', namespace: 'default', name: 'elsewhere' }] });
    expect(names(sortIntoWaves([cm]))).toEqual([['ConfigMap/cfg']]);
  });

  it('sorts unknown kinds by group then kind, and ValidatingWebhookConfiguration last', () => {
    const waves = sortIntoWaves([
      node('ValidatingWebhookConfiguration', 'v', { group: 'admissionregistration.k8s.io' }),
      node('Zebra', 'z', { group: 'a.example.com' }),
      node('Apple', 'a', { group: 'b.example.com' }),
      node('PriorityClass', 'high', { group: 'scheduling.k8s.io' }),
    ]);
    expect(names(waves)).toEqual([['PriorityClass/high', 'Zebra/z', 'Apple/a', 'ValidatingWebhookConfiguration/v']]);
  });

  it('reports a dependency cycle as KNV2009 naming the objects', () => {
    const a = node('ConfigMap', 'a', { ns: 'x' });
    const b = node('ConfigMap', 'b', { ns: 'x', deps: [a.id] });
    a.deps.push(idKey(b.id));
    let err: unknown;
    try {
      sortIntoWaves([a, b]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as ClusterError).code).toBe('KNV2009');
    expect((err as ClusterError).message).toMatch(/dependency cycle: ConfigMap\/x\/a → ConfigMap\/x\/b → ConfigMap\/x\/a/);
  });
});

describe('dependsOnIds', () => {
  it('reads namespaced and cluster-scoped references, core group empty', () => {
    expect(dependsOnIds('apps/namespaces/shop/Deployment/web, /Namespace/shop')).toEqual([
      { group: 'apps', namespace: 'shop', kind: 'Deployment', name: 'web' },
      { group: '', kind: 'Namespace', name: 'shop' },
    ]);
  });

  it('rejects a malformed reference with KNV2010 quoting it', () => {
    expect(() => dependsOnIds('apps/Deployment')).toThrow(/"apps\/Deployment" is not/);
  });
});
