/**
 * A warm process (ClusterCache, lib/cluster/cache.ts): the second apply to a cluster reuses
 * discovery and takes the Lease with one conditional write, so a no-op costs two sequential
 * round trips; what another process changed meanwhile is still seen, and a kind installed
 * after discovery was cached is still found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, ClusterCache, connect } from '../../lib/cluster/index.ts';
import type { Connection } from '../../lib/cluster/index.ts';
import type { KubeObject } from '../../lib/repo/index.ts';
import { boutique, getLive, raw, startHarness } from './support.ts';
import type { Harness } from './support.ts';

let h: Harness;
let warm: Connection;
beforeAll(async () => {
  h = await startHarness();
  warm = await connect(h.cp.kubeconfig, { cache: new ClusterCache() });
});
afterAll(async () => {
  warm?.close();
  await h?.close();
});

const ns = 'warm';
const objects = boutique(ns);
const inventory = 'warm';

async function run(conn: Connection, objs: readonly KubeObject[], commit: string) {
  const before = structuredClone(conn.http.stats);
  const result = await apply(conn, objs, { commit, inventory });
  return { result, requests: conn.http.stats.total - before.total, depth: conn.http.stats.depth - before.depth };
}

describe('a warm process', () => {
  it('applies a no-op in 2 sequential round trips, sees what another process changed, and finds a kind installed since discovery was cached', async () => {
    const first = await run(warm, objects, 'c1');
    expect(first.result.status).toBe('applied');
    expect(first.result.counts.created).toBe(25);

    const noop = await run(warm, objects, 'c1');
    expect(noop.result.counts.unchanged).toBe(25);
    // Lease (one PUT), the inventory and 3 LISTs at once; then the release.
    expect(noop.depth).toBe(2);
    expect(noop.requests).toBe(6);

    // Another process (no cache) prunes a Service: the warm one's Lease hint is stale now.
    const next = objects.filter((o) => !(o.kind === 'Service' && o.metadata.name === 'adservice'));
    const other = await run(h.conn, next, 'c2');
    expect(other.result.counts.pruned).toBe(1);
    const again = await run(warm, next, 'c2');
    expect(again.result.status).toBe('applied');
    expect(again.result.counts).toMatchObject({ unchanged: 24, created: 0, pruned: 0 });
    expect(await getLive(h.conn, objects.find((o) => o.kind === 'Service' && o.metadata.name === 'adservice') as KubeObject)).toBeUndefined();

    // A CRD installed by someone else after discovery was cached: its kind is still found.
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.warm.example' },
      spec: {
        group: 'warm.example',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    expect((await raw(h.conn, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
    for (let i = 0; i < 100; i++) {
      const live = (await raw(h.conn, 'GET', '/apis/warm.example/v1')).status;
      if (live === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const widget: KubeObject = { apiVersion: 'warm.example/v1', kind: 'Widget', metadata: { name: 'w', namespace: ns } };
    const withWidget = await run(warm, [...next, widget], 'c3');
    expect(withWidget.result.status).toBe('applied');
    expect(withWidget.result.objects.find((o) => o.id === `Widget.warm.example/${ns}/w`)?.action).toBe('created');
  });
});
