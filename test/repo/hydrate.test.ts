/** Hydration of the realistic fixtures: the seed walkthrough and the multi-cluster platform repo. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { compile, vet, type CompileResult, type DeclaredObject } from '../../lib/repo/index.ts';
import { readFixture } from '../helpers/repo-files.ts';

const REPOS = join(import.meta.dirname, '../fixtures/repos');

const id = (d: DeclaredObject) => `${d.obj.kind}/${d.obj.metadata.namespace ?? ''}/${d.obj.metadata.name}`;

/**
 * What is applied, without the metadata that says where it came from or how it was selected
 * (source paths and selector annotations differ by format by design; nomos hydrate strips them too).
 */
function applied(r: CompileResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of r.objects) {
    const meta = { ...d.obj.metadata };
    const annotations = Object.fromEntries(Object.entries(meta.annotations ?? {}).filter(([k]) => !/source-path$|^hnc\.x-k8s\.io\/|selector$/.test(k)));
    const labels = Object.fromEntries(Object.entries(meta.labels ?? {}).filter(([k]) => !k.endsWith('.tree.hnc.x-k8s.io/depth')));
    out[id(d)] = { ...d.obj, metadata: { ...meta, annotations, labels } };
  }
  return out;
}

describe('seed: the Online Boutique walkthrough repo', () => {
  const results = vet(readFixture(join(REPOS, 'seed')), { sourceFormat: 'hierarchy' });

  it('vets clean, for the placeholder cluster only', () => {
    expect(results.map((r) => [r.cluster, r.errors])).toEqual([['defaultcluster', []]]);
  });

  it('hydrates to 1 Namespace + 12 Deployments + 12 Services, all in onlineboutique', () => {
    const objs = results[0]?.objects ?? [];
    const count = (k: string) => objs.filter((d) => d.obj.kind === k).length;
    expect([count('Namespace'), count('Deployment'), count('Service'), objs.length]).toEqual([1, 12, 12, 25]);
    for (const d of objs.filter((o) => o.obj.kind !== 'Namespace')) expect(d.obj.metadata.namespace).toBe('onlineboutique');
    const ns = objs.find((d) => d.obj.kind === 'Namespace');
    expect(ns?.obj.metadata.labels).toEqual({
      'istio-injection': 'enabled',
      'onlineboutique.tree.hnc.x-k8s.io/depth': '0',
      'configsync.gke.io/declared-version': 'v1',
    });
  });

  it('stamps where each object came from, with the line of its document', () => {
    const fe = results[0]?.objects.find((d) => id(d) === 'Deployment/onlineboutique/frontend');
    expect(fe?.obj.metadata.annotations?.['pushsync.dev/source-path']).toBe('namespaces/onlineboutique/kubernetes-manifests.yaml');
    expect(fe?.source.line).toBeGreaterThan(1);
  });

  it('is stable: compiling twice gives the same objects in the same order', () => {
    const again = compile(readFixture(join(REPOS, 'seed')), { sourceFormat: 'hierarchy', clusterName: 'defaultcluster' });
    expect(again.objects.map(id)).toEqual(results[0]?.objects.map(id));
    expect(JSON.stringify(again.objects)).toBe(JSON.stringify(results[0]?.objects));
  });
});

describe('multi-cluster platform repo', () => {
  const h = vet(readFixture(join(REPOS, 'multi-cluster-hierarchy')), { sourceFormat: 'hierarchy' });
  const u = vet(readFixture(join(REPOS, 'multi-cluster-unstructured')), { sourceFormat: 'unstructured' });

  it('vets clean for every cluster, in both formats', () => {
    expect(h.map((r) => [r.cluster, r.errors.length])).toEqual([['defaultcluster', 0], ['prod-eu', 0], ['prod-us', 0], ['staging', 0]]);
    expect(u.map((r) => [r.cluster, r.errors.length])).toEqual(h.map((r) => [r.cluster, 0]));
  });

  it('the unstructured rewrite hydrates identically for every cluster', () => {
    for (const [i, r] of h.entries()) {
      expect(applied(u[i] as CompileResult), r.cluster).toEqual(applied(r));
    }
  });
});
