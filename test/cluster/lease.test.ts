import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, connect, INVENTORY_KEYS } from '../../lib/cluster/index.ts';
import type { Connection } from '../../lib/cluster/index.ts';
import { ObjectClient } from '../../lib/cluster/client.ts';
import { acquireLease, microTime } from '../../lib/cluster/lease.ts';
import type { KubeObject } from '../../lib/repo/index.ts';
import { configMap, getLive, linearHistory, namespace, raw, resourceVersions, startHarness } from './support.ts';
import type { Harness } from './support.ts';

let h: Harness;
let second: Connection;
beforeAll(async () => {
  h = await startHarness();
  second = await connect(h.cp.kubeconfig);
});
afterAll(async () => {
  second?.close();
  await h?.close();
});

const leaseOf = async (name: string) =>
  (await raw(h.conn, 'GET', `/apis/coordination.k8s.io/v1/namespaces/pushsync-system/leases/${name}`)).body as {
    spec: { holderIdentity?: string; leaseTransitions?: number; renewTime?: string };
  };

describe('one apply at a time', () => {
  it('a second apply waits for the lease, then fails with a retryable error when it is not freed in time', async () => {
    const client = new ObjectClient(h.conn.http);
    const held = await acquireLease(client, { name: 'blocked', holder: 'someone-else', ttlSeconds: 60 });
    const started = Date.now();
    const r = await apply(second, [namespace('blocked'), configMap('blocked', 'c')], {
      commit: 'b1',
      inventory: 'blocked',
      lease: { waitMs: 1500, pollMs: 100 },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ code: 'KNV2008', retryable: true });
    expect(r.error?.message).toMatch(/holder someone-else/);
    expect(await getLive(h.conn, namespace('blocked'))).toBeUndefined();

    // Freed while the next one waits: it proceeds.
    const waiting = apply(second, [namespace('blocked'), configMap('blocked', 'c')], { commit: 'b1', inventory: 'blocked', lease: { waitMs: 20_000, pollMs: 100 } });
    await new Promise((res) => setTimeout(res, 500));
    await held.release();
    expect((await waiting).status).toBe('applied');
    expect((await leaseOf('blocked')).spec.holderIdentity).toBeUndefined();
  });

  it('takes over a lease whose holder stopped renewing it once its TTL has passed', async () => {
    // A holder that crashed: its Lease stays, nobody renews it.
    await raw(h.conn, 'POST', '/api/v1/namespaces', namespace('pushsync-system'));
    const now = microTime(new Date());
    const created = await raw(h.conn, 'POST', '/apis/coordination.k8s.io/v1/namespaces/pushsync-system/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'stale' },
      spec: { holderIdentity: 'crashed', leaseDurationSeconds: 2, acquireTime: now, renewTime: now, leaseTransitions: 0 },
    });
    expect(created.status).toBe(201);
    const started = Date.now();
    const r = await apply(second, [namespace('stale'), configMap('stale', 'c')], { commit: 's1', inventory: 'stale', lease: { waitMs: 15_000, pollMs: 100 } });
    expect(r.status).toBe('applied');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    const lease = await leaseOf('stale');
    expect(lease.spec.leaseTransitions).toBe(1);
    expect(lease.spec.holderIdentity).toBeUndefined();
  });

  it('renews a held lease, so a run longer than the TTL keeps it and others keep waiting', async () => {
    const held = await acquireLease(new ObjectClient(h.conn.http), { name: 'renewed', holder: 'long-run', ttlSeconds: 1 });
    const first = (await leaseOf('renewed')).spec.renewTime;
    await new Promise((res) => setTimeout(res, 2500));
    const lease = await leaseOf('renewed');
    expect(lease.spec.holderIdentity).toBe('long-run');
    expect(lease.spec.renewTime).not.toBe(first);
    const other = acquireLease(new ObjectClient(second.http), { name: 'renewed', holder: 'other', ttlSeconds: 1, waitMs: 1500, pollMs: 100 });
    await expect(other).rejects.toMatchObject({ code: 'KNV2008', retryable: true });
    expect(held.signal.aborted).toBe(false);
    await held.release();
    expect((await leaseOf('renewed')).spec.holderIdentity).toBeUndefined();
  });

  it('aborts the holder (stop writing) when someone else takes the lease', async () => {
    const held = await acquireLease(new ObjectClient(h.conn.http), { name: 'stolen', holder: 'victim', ttlSeconds: 1 });
    const path = '/apis/coordination.k8s.io/v1/namespaces/pushsync-system/leases/stolen';
    const current = (await raw(h.conn, 'GET', path)).body as { spec: Record<string, unknown> };
    current.spec.holderIdentity = 'thief';
    expect((await raw(h.conn, 'PUT', path, current)).status).toBe(200);
    await new Promise((res) => setTimeout(res, 1200));
    expect(held.signal.aborted).toBe(true);
    expect(held.signal.reason).toMatchObject({ code: 'KNV2008' });
    await held.release();
    expect((await leaseOf('stolen')).spec.holderIdentity).toBe('thief');
  });

  it('two applies of different commits at once serialise; the newer commit wins; the older reports superseded', async () => {
    const ns = 'race';
    const history = linearHistory(['old', 'new']);
    const commitOld: KubeObject[] = [namespace(ns), configMap(ns, 'shared', { version: 'old' }), configMap(ns, 'only-old')];
    const commitNew: KubeObject[] = [namespace(ns), configMap(ns, 'shared', { version: 'new' }), configMap(ns, 'only-new')];

    const [a, b] = await Promise.all([
      apply(h.conn, commitOld, { commit: 'old', isAncestor: history, inventory: 'race', lease: { pollMs: 50 } }),
      apply(second, commitNew, { commit: 'new', isAncestor: history, inventory: 'race', lease: { pollMs: 50 } }),
    ]);
    expect(b.status).toBe('applied');
    // Either the old one ran first (then the new one applied over it), or it came second and was superseded.
    expect(['applied', 'superseded']).toContain(a.status);
    if (a.status === 'superseded') expect(a.supersededBy).toBe('new');
    // They ran one after the other: whoever came second took the lease after the first released it.
    expect((await leaseOf('race')).spec.leaseTransitions).toBeGreaterThanOrEqual(1);

    expect((await getLive(h.conn, configMap(ns, 'shared')))?.data?.version).toBe('new');
    expect(await getLive(h.conn, configMap(ns, 'only-new'))).toBeDefined();
    expect(await getLive(h.conn, configMap(ns, 'only-old'))).toBeUndefined();

    // The older commit after the newer one: superseded, nothing changes.
    const before = await resourceVersions(h.conn, commitNew);
    const late = await apply(h.conn, commitOld, { commit: 'old', isAncestor: history, inventory: 'race' });
    expect(late).toMatchObject({ status: 'superseded', supersededBy: 'new', objects: [] });
    expect(await resourceVersions(h.conn, commitNew)).toEqual(before);
    const parent = await raw(h.conn, 'GET', '/api/v1/namespaces/pushsync-system/configmaps/race');
    expect((parent.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations[INVENTORY_KEYS.appliedCommit]).toBe('new');
  });
});
