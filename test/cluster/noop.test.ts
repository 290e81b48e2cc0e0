/**
 * A no-op apply of 1,035 objects (the bench's workload: 1,000 ConfigMaps in 10 namespaces and
 * Online Boutique) decides from the LISTed objects alone (settled.ts): no dry-run per object,
 * no write. And it still finds a one-field drift among them and fixes it, and still removes a
 * field that left Git.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply } from '../../lib/cluster/index.ts';
import type { KubeObject } from '../../lib/repo/index.ts';
import { boutique, configMap, getLive, namespace, raw, resourceVersions, startHarness } from './support.ts';
import type { Harness } from './support.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const NAMESPACES = Array.from({ length: 10 }, (_, i) => `noop-${i}`);
const configMaps = (): KubeObject[] =>
  Array.from({ length: 1000 }, (_, i) => configMap(NAMESPACES[i % 10] as string, `config-${String(i).padStart(4, '0')}`, { index: String(i), payload: `value-${i}-`.repeat(8) }));
const objects = (cms: KubeObject[] = configMaps()): KubeObject[] => [...NAMESPACES.map(namespace), ...cms, ...boutique('noop-shop')];
const inventory = 'noop';

/** Requests and writes of one apply. */
async function run(objs: readonly KubeObject[], commit: string): Promise<{ result: Awaited<ReturnType<typeof apply>>; requests: number; patches: number }> {
  const before = structuredClone(h.conn.http.stats);
  const result = await apply(h.conn, objs, { commit, inventory });
  const after = h.conn.http.stats;
  return { result, requests: after.total - before.total, patches: after.byVerb.PATCH - before.byVerb.PATCH };
}

describe('a no-op apply of 1,035 objects', () => {
  it('sends no dry-run and writes nothing; a one-field drift among them is found and fixed; a field removed from Git is removed', async () => {
    const all = objects();
    expect(all.length).toBe(1035);
    const first = await run(all, 'c1');
    expect(first.result.status).toBe('applied');
    expect(first.result.counts.created).toBe(1035);

    const versions = await resourceVersions(h.conn, all);
    const noop = await run(all, 'c1');
    expect(noop.result.status).toBe('applied');
    expect(noop.result.counts.unchanged).toBe(1035);
    expect(noop.patches).toBe(0);
    expect(noop.requests).toBeLessThanOrEqual(50);
    expect(await resourceVersions(h.conn, all)).toEqual(versions);

    // Drift: someone edits one value of one ConfigMap and one Deployment's image.
    const cm = all.find((o) => o.metadata.name === 'config-0421') as KubeObject;
    const edited = await raw(h.conn, 'PATCH', `/api/v1/namespaces/${cm.metadata.namespace}/configmaps/config-0421?fieldManager=kubectl-edit`, { data: { index: 'drifted' } }, 'application/merge-patch+json');
    expect(edited.status).toBe(200);
    const deploy = all.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cartservice') as KubeObject;
    const image = (deploy.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]?.image as string;
    const scaled = await raw(h.conn, 'PATCH', `/apis/apps/v1/namespaces/noop-shop/deployments/cartservice?fieldManager=kubectl-set`, { spec: { template: { spec: { containers: [{ name: 'server', image: 'registry.invalid/cart:evil' }] } } } }, 'application/strategic-merge-patch+json');
    expect(scaled.status).toBe(200);

    const fixed = await run(all, 'c1');
    expect(fixed.result.status).toBe('applied');
    expect(fixed.result.counts.configured).toBe(2);
    expect(fixed.result.counts.unchanged).toBe(1033);
    expect(fixed.result.objects.filter((o) => o.action === 'configured').map((o) => o.id).sort()).toEqual(['ConfigMap/noop-1/config-0421', 'Deployment.apps/noop-shop/cartservice']);
    expect(fixed.requests).toBeLessThanOrEqual(50);
    expect((await getLive(h.conn, cm))?.data?.index).toBe('421');
    const live = (await getLive(h.conn, deploy)) as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } };
    expect(live.spec.template.spec.containers[0]?.image).toBe(image);

    // A field removed from Git: the ConfigMap's `payload` goes, on the cluster too.
    const cms = configMaps();
    const target = cms.find((o) => o.metadata.name === 'config-0007') as KubeObject & { data: Record<string, string> };
    delete target.data.payload;
    const removed = await run(objects(cms), 'c2');
    expect(removed.result.status).toBe('applied');
    expect(removed.result.counts.configured).toBe(1);
    expect(removed.result.objects.find((o) => o.action === 'configured')?.id).toBe('ConfigMap/noop-7/config-0007');
    expect((await getLive(h.conn, target))?.data).toEqual({ index: '7' });
  });
});
