import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, inventoryRef, Keys } from '../../lib/cluster/index.ts';
import type { KubeObject } from '../../lib/repo/index.ts';
import { configMap, listLabelled, namespace, raw, startHarness } from './support.ts';
import type { Harness } from './support.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const NAMESPACES = ['crash-0', 'crash-1', 'crash-2', 'crash-3', 'crash-4'];
const objects: KubeObject[] = [
  ...NAMESPACES.map(namespace),
  ...Array.from({ length: 495 }, (_, i) => configMap(NAMESPACES[i % NAMESPACES.length] as string, `cm-${String(i).padStart(3, '0')}`, { i: String(i) })),
];
const inventory = 'crash';
const id = inventoryRef(inventory).id;

async function parentAnnotations(): Promise<Record<string, string>> {
  const res = await raw(h.conn, 'GET', `/api/v1/namespaces/pushsync-system/configmaps/${inventory}`);
  expect(res.status).toBe(200);
  return (res.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
}

/** The KEP's promise: every labelled object is findable from the parent's group-kinds and namespaces. */
async function expectInventoryCoversCluster(): Promise<number> {
  const a = await parentAnnotations();
  const gks = new Set((a[Keys.containsGroupKinds] ?? '').split(','));
  const namespaces = new Set([...(a[Keys.additionalNamespaces] ?? '').split(','), 'pushsync-system']);
  const cms = await listLabelled(h.conn, '/api/v1/configmaps', `${Keys.partOf}=${id}`);
  const nss = await listLabelled(h.conn, '/api/v1/namespaces', `${Keys.partOf}=${id}`);
  if (cms.length > 0) expect(gks.has('ConfigMap')).toBe(true);
  if (nss.length > 0) expect(gks.has('Namespace')).toBe(true);
  for (const cm of cms) expect(namespaces.has(cm.metadata.namespace ?? '')).toBe(true);
  return cms.length + nss.length;
}

describe('the API server dies in the middle of an apply', () => {
  it('fails retryably, keeps every created object in the inventory, and converges on the next apply', async () => {
    const run = apply(h.conn, objects, {
      commit: 'k1',
      inventory,
      lease: { ttlSeconds: 3 },
      retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 500 },
    });
    // Kill it (SIGKILL: no graceful shutdown) once a good part of the objects were sent.
    const deadline = Date.now() + 60_000;
    while (h.conn.http.stats.byVerb.PATCH < 150 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(h.conn.http.stats.byVerb.PATCH).toBeGreaterThanOrEqual(150);
    await h.cp.stopApiServer({ signal: 'SIGKILL' });

    const failed = await run;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'KNV2016', retryable: true });
    expect(failed.counts.created).toBeGreaterThan(0);
    expect(failed.counts.created).toBeLessThan(500);
    expect(failed.counts.failed).toBeGreaterThan(0);

    await h.cp.startApiServer();
    // Before anything else runs: whatever the dead run created is reachable from the inventory.
    const existing = await expectInventoryCoversCluster();
    expect(existing).toBeGreaterThanOrEqual(failed.counts.created);

    const again = await apply(h.conn, objects, { commit: 'k1', inventory, lease: { ttlSeconds: 3, waitMs: 30_000 } });
    expect(again.status).toBe('applied');
    expect(again.counts.failed).toBe(0);
    expect(again.counts.created + again.counts.unchanged + again.counts.configured).toBe(500);
    expect(await expectInventoryCoversCluster()).toBe(500);
    expect((await parentAnnotations())[Keys.containsGroupKinds]).toBe('ConfigMap,Namespace');
    expect((await parentAnnotations())[Keys.additionalNamespaces]).toBe(NAMESPACES.join(','));
  });
});
