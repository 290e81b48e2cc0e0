import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, inventoryRef, INVENTORY_KEYS, Keys, plan } from '../../lib/cluster/index.ts';
import { ObjectClient } from '../../lib/cluster/client.ts';
import { acquireLease } from '../../lib/cluster/lease.ts';
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

const leaseHolder = async (name: string): Promise<string | undefined> =>
  ((await raw(h.conn, 'GET', `/apis/coordination.k8s.io/v1/namespaces/pushsync-system/leases/${name}`)).body as { spec: { holderIdentity?: string } }).spec.holderIdentity;

async function parentAnnotations(inventory: string): Promise<Record<string, string>> {
  const res = await raw(h.conn, 'GET', `/api/v1/namespaces/pushsync-system/configmaps/${inventory}`);
  expect(res.status).toBe(200);
  return (res.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
}

describe('an apply with a deadline', () => {
  const NAMESPACES = ['deadline-0', 'deadline-1'];
  const objects: KubeObject[] = [
    ...NAMESPACES.map(namespace),
    ...Array.from({ length: 800 }, (_, i) => configMap(NAMESPACES[i % 2] as string, `cm-${String(i).padStart(3, '0')}`, { i: String(i) })),
  ];
  const inventory = 'deadline';

  it('stops before the deadline, says how far it got, keeps what exists in the inventory and releases the lease', async () => {
    // Warm up discovery and the connection so the deadline falls among the objects, not before them.
    expect((await apply(h.conn, [namespace('deadline-warmup')], { commit: 'w', inventory: 'deadline-warmup' })).status).toBe('applied');

    // Far too short for 802 objects one at a time, long enough for some: it falls mid-apply.
    const deadline = Date.now() + 1000;
    const r = await apply(h.conn, objects, { commit: 'd1', inventory, concurrency: 1, deadline });
    const returnedAt = Date.now();

    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ code: 'DEADLINE', retryable: true });
    const m = /^stopped before the deadline: (\d+) of 802 objects applied; will resume$/.exec(r.error?.message ?? '');
    expect(m, r.error?.message).not.toBeNull();
    const done = Number(m?.[1]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(802);
    expect(done).toBe(r.counts.created);
    // Returned in time: work stopped a reserve before the deadline, so the bookkeeping fit.
    expect(returnedAt).toBeLessThanOrEqual(deadline);
    // The rest is reported, not silently dropped.
    expect(r.objects).toHaveLength(802);
    expect(r.objects.filter((o) => o.action === 'failed').every((o) => o.error?.code === 'DEADLINE')).toBe(true);

    // Narrowed, not forgotten: every labelled object is findable from the parent, and the
    // parent records a failed attempt, not an applied commit.
    const a = await parentAnnotations(inventory);
    const id = inventoryRef(inventory).id;
    const cms = await listLabelled(h.conn, '/api/v1/configmaps', `${Keys.partOf}=${id}`);
    const nss = await listLabelled(h.conn, '/api/v1/namespaces', `${Keys.partOf}=${id}`);
    // At most the one request in flight at the deadline may have been carried out as well.
    const existing = cms.length + nss.length;
    expect(existing).toBeGreaterThanOrEqual(done);
    expect(existing).toBeLessThanOrEqual(done + 1);
    const namespaces = new Set((a[Keys.additionalNamespaces] ?? '').split(','));
    for (const cm of cms) expect(namespaces.has(cm.metadata.namespace ?? '')).toBe(true);
    expect(a[Keys.containsGroupKinds]).toBe(cms.length > 0 ? 'ConfigMap,Namespace' : 'Namespace');
    expect(a[INVENTORY_KEYS.lastStatus]).toBe('failed');
    expect(a[INVENTORY_KEYS.lastCommit]).toBe('d1');
    expect(a[INVENTORY_KEYS.appliedCommit]).toBeUndefined();

    // Released: the next apply gets the lease without waiting, and completes the commit.
    expect(await leaseHolder(inventory)).toBeUndefined();
    const again = await apply(h.conn, objects, { commit: 'd1', inventory, lease: { waitMs: 0 } });
    expect(again.status).toBe('applied');
    expect(again.counts).toMatchObject({ created: 802 - existing, unchanged: existing, failed: 0 });
    expect((await parentAnnotations(inventory))[INVENTORY_KEYS.appliedCommit]).toBe('d1');
  });

  it('stops waiting for a lease another apply holds when the deadline comes, instead of waiting its full time', async () => {
    const held = await acquireLease(new ObjectClient(h.conn.http), { name: 'deadline-held', holder: 'someone-else', ttlSeconds: 60 });
    try {
      const started = Date.now();
      const r = await apply(h.conn, [namespace('deadline-held')], { commit: 'h1', inventory: 'deadline-held', deadline: started + 800, lease: { waitMs: 60_000, pollMs: 50 } });
      expect(Date.now() - started).toBeLessThan(800);
      expect(r.status).toBe('failed');
      expect(r.error).toEqual({ code: 'DEADLINE', message: 'stopped before the deadline: 0 of 1 objects applied; will resume', retryable: true });
      expect(await leaseHolder('deadline-held')).toBe('someone-else');
    } finally {
      await held.release();
    }
  });

  it('a deadline far away changes nothing', async () => {
    const r = await apply(h.conn, [namespace('deadline-far'), configMap('deadline-far', 'c')], { commit: 'f1', inventory: 'deadline-far', deadline: Date.now() + 60_000 });
    expect(r.status).toBe('applied');
    expect(r.error).toBeUndefined();
  });
});

describe('a plan with a deadline', () => {
  it('stops starting dry-runs before the deadline and says how far it got', async () => {
    const objects = [namespace('plan-deadline'), ...Array.from({ length: 600 }, (_, i) => configMap('default', `plan-deadline-${i}`))];
    await plan(h.conn, [namespace('plan-deadline-warmup')], { inventory: 'plan-deadline-warmup' });
    const deadline = Date.now() + 300;
    const r = await plan(h.conn, objects, { inventory: 'plan-deadline', concurrency: 1, deadline });
    expect(Date.now()).toBeLessThanOrEqual(deadline);
    expect(r.error).toMatchObject({ code: 'DEADLINE', retryable: true });
    const m = /^stopped before the deadline: (\d+) of 601 objects planned$/.exec(r.error?.message ?? '');
    expect(m, r.error?.message).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThan(0);
    expect(Number(m?.[1])).toBeLessThan(601);
    expect(r.counts.create).toBe(Number(m?.[1]));
    expect(r.objects.filter((o) => o.action === 'failed').every((o) => o.error?.code === 'DEADLINE')).toBe(true);
  });
});
