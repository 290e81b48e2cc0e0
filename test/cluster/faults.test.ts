/**
 * Network faults between pushsync and the API server, made by Toxiproxy (test/helpers/toxiproxy.ts):
 * every connection reset in the middle of an apply, and a connection that stalls (no bytes for
 * longer than the request timeout). As with the SIGKILL of crash.test.ts, the run fails
 * retryably, keeps every object it may have created in the inventory, and the next apply
 * converges with nothing lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, connect, inventoryRef, Keys } from '../../lib/cluster/index.ts';
import type { Connection } from '../../lib/cluster/index.ts';
import type { KubeObject } from '../../lib/repo/index.ts';
import { startToxiproxy } from '../helpers/toxiproxy.ts';
import type { Proxy, Toxiproxy } from '../helpers/toxiproxy.ts';
import { configMap, listLabelled, namespace, raw, startHarness } from './support.ts';
import type { Harness } from './support.ts';

let h: Harness;
let tp: Toxiproxy;
let proxy: Proxy;
beforeAll(async () => {
  h = await startHarness();
  tp = await startToxiproxy();
  proxy = await tp.proxy('apiserver', h.cp.server);
});
afterAll(async () => {
  await tp?.stop();
  await h?.close();
});

function workload(prefix: string): KubeObject[] {
  const namespaces = Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
  return [...namespaces.map(namespace), ...Array.from({ length: 495 }, (_, i) => configMap(namespaces[i % 5] as string, `cm-${String(i).padStart(3, '0')}`, { i: String(i) }))];
}

/** The KEP's promise, read directly (not through the proxy): every labelled object is findable from the parent. */
async function expectInventoryCoversCluster(inventory: string): Promise<number> {
  const res = await raw(h.conn, 'GET', `/api/v1/namespaces/pushsync-system/configmaps/${inventory}`);
  expect(res.status).toBe(200);
  const a = (res.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
  const gks = new Set((a[Keys.containsGroupKinds] ?? '').split(','));
  const namespaces = new Set([...(a[Keys.additionalNamespaces] ?? '').split(','), 'pushsync-system']);
  const id = inventoryRef(inventory).id;
  const cms = await listLabelled(h.conn, '/api/v1/configmaps', `${Keys.partOf}=${id}`);
  const nss = await listLabelled(h.conn, '/api/v1/namespaces', `${Keys.partOf}=${id}`);
  if (cms.length > 0) expect(gks.has('ConfigMap')).toBe(true);
  if (nss.length > 0) expect(gks.has('Namespace')).toBe(true);
  for (const cm of cms) expect(namespaces.has(cm.metadata.namespace ?? '')).toBe(true);
  return cms.length + nss.length;
}

/** Start an apply through the proxy, let it write `after` objects, then break the network with `fault`. */
async function faultedThenRetried(inventory: string, conn: Connection, fault: () => Promise<string>): Promise<void> {
  const objects = workload(inventory);
  const run = apply(conn, objects, { commit: 'f1', inventory, lease: { ttlSeconds: 3 }, retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 400 } });
  const deadline = Date.now() + 60_000;
  while (conn.http.stats.byVerb.PATCH < 150 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(conn.http.stats.byVerb.PATCH).toBeGreaterThanOrEqual(150);
  const toxic = await fault();

  const failed = await run;
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatchObject({ code: 'KNV2016', retryable: true });
  expect(failed.counts.created).toBeGreaterThan(0);
  expect(failed.counts.created).toBeLessThan(500);
  // Whatever the broken run created is reachable from the inventory.
  expect(await expectInventoryCoversCluster(inventory)).toBeGreaterThanOrEqual(failed.counts.created);

  await proxy.removeToxic(toxic);
  const again = await apply(conn, objects, { commit: 'f1', inventory, lease: { ttlSeconds: 3, waitMs: 30_000 } });
  expect(again.status).toBe('applied');
  expect(again.counts.failed).toBe(0);
  expect(again.counts.created + again.counts.unchanged + again.counts.configured).toBe(500);
  expect(await expectInventoryCoversCluster(inventory)).toBe(500);
}

describe('network faults through Toxiproxy', () => {
  it('every connection reset in the middle of an apply: fails retryably, nothing lost, the retry converges', async () => {
    const conn = await connect(proxy.kubeconfig(h.cp.kubeconfig));
    try {
      await faultedThenRetried('reset', conn, () => proxy.toxic({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 } }));
    } finally {
      conn.close();
    }
  });

  it('a stalled connection (no bytes for longer than the request timeout): fails retryably, nothing lost, the retry converges', async () => {
    const conn = await connect(proxy.kubeconfig(h.cp.kubeconfig), { timeoutMs: 1_500 });
    try {
      // timeout 0: the data stops and the connection stays open, saying nothing, for good.
      await faultedThenRetried('stall', conn, () => proxy.toxic({ type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } }));
    } finally {
      conn.close();
    }
  });
});
