import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, plan } from '../../lib/cluster/index.ts';
import type { PlanResult } from '../../lib/cluster/index.ts';
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

const byId = (r: PlanResult, id: string) => r.objects.find((o) => o.id === id);
const actions = (r: PlanResult) => Object.fromEntries(Object.entries(r.counts).filter(([, n]) => n > 0));

/** Writes sent = every non-GET request that is not a dry-run. */
function writesDuring(h: Harness, before: Harness['conn']['http']['stats']): number {
  const s = h.conn.http.stats;
  return s.byVerb.POST - before.byVerb.POST + (s.byVerb.PUT - before.byVerb.PUT) + (s.byVerb.DELETE - before.byVerb.DELETE);
}

describe('plan', () => {
  const ns = 'planned';
  const objects = boutique(ns);

  it('on an empty cluster: everything is a create, nothing is written, not even pushsync-system', async () => {
    const stats = structuredClone(h.conn.http.stats);
    const r = await plan(h.conn, objects, { inventory: 'plan' });
    expect(r.error).toBeUndefined();
    expect(actions(r)).toEqual({ create: 25 });
    // Objects in a Namespace this commit creates cannot be dry-run yet: said so, not hidden.
    expect(byId(r, `Service/${ns}/frontend`)?.reason).toMatch(/not validated/);
    expect(writesDuring(h, stats)).toBe(0);
    expect(await getLive(h.conn, namespace(ns))).toBeUndefined();
    expect((await raw(h.conn, 'GET', '/api/v1/namespaces/pushsync-system')).status).toBe(404);
  });

  it('reports create, configure with the changed fields, unchanged and prune — and changes no resourceVersion', async () => {
    expect((await apply(h.conn, objects, { commit: 'p1', inventory: 'plan' })).status).toBe('applied');

    const dep = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'frontend') as KubeObject;
    const changed = structuredClone(dep) as KubeObject & { spec: { template: { spec: { containers: { name: string; image: string }[] } } } };
    const server = changed.spec.template.spec.containers.find((c) => c.name === 'server');
    if (!server) throw new Error('fixture changed: frontend has no container "server"');
    server.image = 'example.com/frontend:v2';
    const next = [
      ...objects.filter((o) => o !== dep && !(o.kind === 'Service' && o.metadata.name === 'redis-cart')),
      changed,
      configMap(ns, 'new-config'),
    ];

    const before = await resourceVersions(h.conn, objects);
    const parentBefore = await raw(h.conn, 'GET', '/api/v1/namespaces/pushsync-system/configmaps/plan');
    const stats = structuredClone(h.conn.http.stats);
    const r = await plan(h.conn, next, { inventory: 'plan' });

    expect(r.error).toBeUndefined();
    expect(actions(r)).toEqual({ create: 1, configure: 1, unchanged: 23, prune: 1 });
    expect(byId(r, `Deployment.apps/${ns}/frontend`)).toMatchObject({ action: 'configure', fields: ['.spec.template.spec.containers[name=server].image'] });
    expect(byId(r, `Service/${ns}/redis-cart`)?.action).toBe('prune');
    // A new object in an existing namespace is validated by a dry-run: no "not validated" note.
    expect(byId(r, `ConfigMap/${ns}/new-config`)).toEqual({ id: `ConfigMap/${ns}/new-config`, group: '', kind: 'ConfigMap', namespace: ns, name: 'new-config', action: 'create' });

    expect(writesDuring(h, stats)).toBe(0);
    expect(await resourceVersions(h.conn, objects)).toEqual(before);
    expect(await getLive(h.conn, configMap(ns, 'new-config'))).toBeUndefined();
    const parentAfter = await raw(h.conn, 'GET', '/api/v1/namespaces/pushsync-system/configmaps/plan');
    expect(parentAfter.body).toEqual(parentBefore.body);
  });

  it('reports an invalid object with the API message, and the safety refusal', async () => {
    const bad: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bad', namespace: ns }, spec: { ports: [{ port: 0 }] } };
    const r = await plan(h.conn, [...objects, bad], { inventory: 'plan' });
    expect(byId(r, `Service/${ns}/bad`)).toMatchObject({ action: 'failed', error: { code: 'KNV2010' } });
    expect(byId(r, `Service/${ns}/bad`)?.error?.message).toMatch(/spec\.ports\[0\]\.port: Invalid value: 0/);

    const empty = await plan(h.conn, [], { inventory: 'plan' });
    expect(empty.error?.code).toBe('KNV2006');
    expect(actions(empty)).toEqual({ prune: 25 });
  });
});

describe('plan and apply make one survey', () => {
  it('a plan names the objects, actions and reasons that the apply of the same commit then reports', async () => {
    const ns = 'agree';
    const inventory = 'agree';
    const annotated = (o: KubeObject, annotations: Record<string, string>): KubeObject => ({ ...o, metadata: { ...o.metadata, annotations } });
    const first = [
      namespace(ns),
      configMap(ns, 'same'),
      configMap(ns, 'change', { v: '1' }),
      configMap(ns, 'gone'),
      annotated(configMap(ns, 'detached'), { 'client.lifecycle.config.k8s.io/deletion': 'detach' }),
      configMap(ns, 'disable-me'),
    ];
    expect((await apply(h.conn, first, { commit: 'a1', inventory })).status).toBe('applied');
    // On the cluster but not ours: the commit adopts it.
    expect((await raw(h.conn, 'POST', `/api/v1/namespaces/${ns}/configmaps`, configMap(ns, 'foreign', { owner: 'someone' }))).status).toBe(201);

    const second = [
      namespace(ns),
      configMap(ns, 'same'),
      configMap(ns, 'change', { v: '2' }),
      configMap(ns, 'new'),
      configMap(ns, 'foreign', { owner: 'git' }),
      annotated(configMap(ns, 'disable-me'), { 'configmanagement.gke.io/managed': 'disabled' }),
      annotated(configMap(ns, 'never-managed'), { 'configmanagement.gke.io/managed': 'disabled' }),
      annotated(configMap(ns, 'seed'), { 'client.lifecycle.config.k8s.io/mutation': 'ignore' }),
      { apiVersion: 'example.com/v1', kind: 'NoSuchKind', metadata: { name: 'x', namespace: ns } },
    ];
    const p = await plan(h.conn, second, { inventory });
    const a = await apply(h.conn, second, { commit: 'a2', inventory });
    const past = { create: 'created', configure: 'configured', prune: 'pruned', unchanged: 'unchanged', skipped: 'skipped', failed: 'failed' } as const;
    const view = (entries: readonly { id: string; action: string; reason?: string; error?: { code: string } }[]) =>
      entries.map((e) => [e.id, e.action, e.reason ?? '', e.error?.code ?? '']).sort((x, y) => ((x[0] as string) < (y[0] as string) ? -1 : 1));
    expect(view(a.objects)).toEqual(view(p.objects.map((e) => ({ ...e, action: past[e.action] }))));
    // Every kind of decision is in there, so the comparison means something.
    expect(new Set(a.objects.map((o) => o.action))).toEqual(new Set(['created', 'configured', 'unchanged', 'pruned', 'skipped', 'failed']));
    expect(a.objects.find((o) => o.id === `ConfigMap/${ns}/foreign`)?.reason).toBe('adopt: found without the ApplySet label');
  });
});
