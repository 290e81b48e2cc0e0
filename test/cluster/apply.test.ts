import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, Keys, inventoryRef, INVENTORY_KEYS, status, SUMMARY_KEY } from '../../lib/cluster/index.ts';
import type { ApplyResult } from '../../lib/cluster/index.ts';
import type { KubeObject } from '../../lib/repo/index.ts';
import { boutique, configMap, finalizeNamespace, getLive, listLabelled, namespace, raw, resourceVersions, startHarness } from './support.ts';
import type { Harness } from './support.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const byId = (r: ApplyResult, id: string) => r.objects.find((o) => o.id === id);
const actions = (r: ApplyResult) => Object.fromEntries(Object.entries(r.counts).filter(([, n]) => n > 0));

describe('seed scenario: Online Boutique', () => {
  const ns = 'onlineboutique';
  const inventory = 'boutique';
  const objects = boutique(ns);
  let firstRollout: string | undefined;

  it('creates 1 Namespace, 12 Deployments and 12 Services carrying the ApplySet label', async () => {
    const r = await apply(h.conn, objects, { commit: 'c1', inventory });
    expect(r.status).toBe('applied');
    expect(actions(r)).toEqual({ created: 25 });
    // A new rollout token, recorded on the parent: what a rollout wait checks it is still current.
    expect(r.rollout).toMatch(/^[0-9a-f]{16}$/);
    firstRollout = r.rollout;
    const id = inventoryRef(inventory).id;
    const deployments = await listLabelled(h.conn, `/apis/apps/v1/namespaces/${ns}/deployments`, `${Keys.partOf}=${id}`);
    const services = await listLabelled(h.conn, `/api/v1/namespaces/${ns}/services`, `${Keys.partOf}=${id}`);
    const nsLive = await getLive(h.conn, namespace(ns));
    expect(deployments).toHaveLength(12);
    expect(services).toHaveLength(12);
    expect(nsLive?.metadata.labels?.[Keys.partOf]).toBe(id);
    // Traceable to its file; the commit lives on the inventory, not on each object.
    expect(deployments[0]?.metadata.annotations?.['pushsync.dev/source-path']).toBe(`namespaces/${ns}/boutique.yaml`);
    expect(deployments[0]?.metadata.annotations?.['pushsync.dev/commit']).toBeUndefined();

    const parent = await raw(h.conn, 'GET', `/api/v1/namespaces/pushsync-system/configmaps/${inventory}`);
    const meta = (parent.body as { metadata: { labels: Record<string, string>; annotations: Record<string, string> } }).metadata;
    expect(meta.labels[Keys.applysetId]).toBe(id);
    expect(meta.annotations[Keys.tooling]).toBe('pushsync/v1');
    expect(meta.annotations[Keys.containsGroupKinds]).toBe('Deployment.apps,Namespace,Service');
    expect(meta.annotations[Keys.additionalNamespaces]).toBe(ns);
    expect(meta.annotations[INVENTORY_KEYS.appliedCommit]).toBe('c1');
    expect(meta.annotations[INVENTORY_KEYS.rollout]).toBe(r.rollout);
  });

  it('applies again with 0 changes and no write: every resourceVersion stays', async () => {
    const before = await resourceVersions(h.conn, objects);
    const parentBefore = await raw(h.conn, 'GET', `/api/v1/namespaces/pushsync-system/configmaps/${inventory}`);
    const patchesBefore = h.conn.http.stats.byVerb.PATCH;
    const r = await apply(h.conn, objects, { commit: 'c1', inventory });
    expect(r.status).toBe('applied');
    expect(actions(r)).toEqual({ unchanged: 25 });
    // A no-op keeps the rollout that is running: a wait for it is not superseded.
    expect(r.rollout).toBe(firstRollout);
    expect(await resourceVersions(h.conn, objects)).toEqual(before);
    // Decided from the LISTed objects (settled.ts): not even a dry-run.
    expect(h.conn.http.stats.byVerb.PATCH - patchesBefore).toBe(0);
    const parentAfter = await raw(h.conn, 'GET', `/api/v1/namespaces/pushsync-system/configmaps/${inventory}`);
    expect((parentAfter.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion).toBe(
      (parentBefore.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
    );
  });

  it('prunes a Service removed from the repo and changes nothing else', async () => {
    const removed = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'adservice') as KubeObject;
    const next = objects.filter((o) => o !== removed);
    const before = await resourceVersions(h.conn, next);
    const r = await apply(h.conn, next, { commit: 'c2', inventory });
    expect(r.status).toBe('applied');
    expect(actions(r)).toEqual({ unchanged: 24, pruned: 1 });
    expect(r.rollout).toMatch(/^[0-9a-f]{16}$/);
    expect(r.rollout).not.toBe(firstRollout);
    expect(byId(r, `Service/${ns}/adservice`)?.action).toBe('pruned');
    expect(await getLive(h.conn, removed)).toBeUndefined();
    expect(await resourceVersions(h.conn, next)).toEqual(before);
  });

  it('leaves a Deployment marked managed: disabled alone and drops it from the inventory', async () => {
    const current = objects.filter((o) => !(o.kind === 'Service' && o.metadata.name === 'adservice'));
    const target = current.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cartservice') as KubeObject;
    const disabled: KubeObject = { ...target, metadata: { ...target.metadata, annotations: { ...target.metadata.annotations, 'configmanagement.gke.io/managed': 'disabled' } } };
    // Change its spec in Git too: a managed object would be updated, this one must not be.
    disabled.spec = { ...(target.spec as object), replicas: 7 };
    const next = current.map((o) => (o === target ? disabled : o));
    const others = current.filter((o) => o !== target);
    const before = await resourceVersions(h.conn, others);
    const liveBefore = await getLive(h.conn, target);

    const r = await apply(h.conn, next, { commit: 'c3', inventory });
    expect(r.status).toBe('applied');
    expect(byId(r, `Deployment.apps/${ns}/cartservice`)).toMatchObject({ action: 'skipped' });
    expect(actions(r)).toEqual({ unchanged: 23, skipped: 1 });

    const live = await getLive(h.conn, target);
    expect(live?.metadata.uid).toBe(liveBefore?.metadata.uid);
    expect(live?.spec?.replicas).toBe(liveBefore?.spec?.replicas);
    expect(live?.metadata.labels?.[Keys.partOf]).toBeUndefined();
    expect(live?.metadata.annotations?.['pushsync.dev/source-path']).toBeUndefined();
    expect(await resourceVersions(h.conn, others)).toEqual(before);

    // Next run: not a member any more, so it is neither pruned nor touched.
    const again = await apply(h.conn, next, { commit: 'c3', inventory });
    expect(actions(again)).toEqual({ unchanged: 23, skipped: 1 });
    expect((await getLive(h.conn, target))?.metadata.resourceVersion).toBe(live?.metadata.resourceVersion);
  });
});

describe('status', () => {
  it('reads what the inventory records without writing', async () => {
    const s = await status(h.conn, { inventory: 'boutique' });
    expect(s.inventory).toEqual(inventoryRef('boutique'));
    expect(s.state).toMatchObject({
      exists: true,
      appliedCommit: 'c3',
      lastCommit: 'c3',
      lastStatus: 'applied',
      groupKinds: ['Deployment.apps', 'Namespace', 'Service'],
      namespaces: ['onlineboutique'],
      summary: { commit: 'c3', status: 'applied', errors: [] },
    });
    expect(s.state.summary?.counts).toMatchObject({ unchanged: 23, skipped: 1 });
    const none = await status(h.conn, { inventory: 'never-applied' });
    expect(none.state).toEqual({ exists: false, groupKinds: [], namespaces: [] });
  });
});

describe('CRD and custom resource in one commit', () => {
  it('applies the CR after its CRD is Established, in one run', async () => {
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.test.pushsync.dev' },
      spec: {
        group: 'test.pushsync.dev',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
          },
        ],
      },
    };
    const cr: KubeObject = { apiVersion: 'test.pushsync.dev/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'widgets' }, spec: { size: 3 } };
    const r = await apply(h.conn, [cr, namespace('widgets'), crd], { commit: 'crd1', inventory: 'widgets' });
    expect(r.status).toBe('applied');
    expect(r.objects.map((o) => [o.id, o.action])).toEqual([
      ['CustomResourceDefinition.apiextensions.k8s.io/widgets.test.pushsync.dev', 'created'],
      ['Namespace/widgets', 'created'],
      ['Widget.test.pushsync.dev/widgets/w1', 'created'],
    ]);
    const live = await raw(h.conn, 'GET', '/apis/test.pushsync.dev/v1/namespaces/widgets/widgets/w1');
    expect(live.status).toBe(200);
    expect((live.body as { spec: { size: number } }).spec.size).toBe(3);

    const again = await apply(h.conn, [cr, namespace('widgets'), crd], { commit: 'crd1', inventory: 'widgets' });
    expect(actions(again)).toEqual({ unchanged: 3 });
  });
});

describe('drift', () => {
  it('restores a field another manager changed and reports the takeover', async () => {
    const ns = 'drift';
    const dep: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
      },
    };
    const objs = [namespace(ns), dep];
    expect((await apply(h.conn, objs, { commit: 'd1', inventory: 'drift' })).status).toBe('applied');

    const edit = await h.conn.http.request({
      method: 'PATCH',
      path: `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      query: { fieldManager: 'kubectl-edit' },
      body: { spec: { replicas: 5 } },
      contentType: 'application/merge-patch+json',
    });
    expect(edit.status).toBe(200);

    const r = await apply(h.conn, objs, { commit: 'd1', inventory: 'drift' });
    expect(r.status, JSON.stringify(r.objects)).toBe('applied');
    expect(byId(r, `Deployment.apps/${ns}/web`)).toMatchObject({
      action: 'configured',
      fields: ['.spec.replicas'],
      takenOverFrom: [{ manager: 'kubectl-edit', fields: ['.spec.replicas'] }],
    });
    expect(byId(r, `Namespace/${ns}`)?.action).toBe('unchanged');
    expect((await getLive(h.conn, dep))?.spec?.replicas).toBe(2);
  });
});

describe('permanent per-object errors', () => {
  it('applies everything else and names the invalid object with the API message', async () => {
    const ns = 'invalid';
    const bad: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'bad', namespace: ns, annotations: { 'pushsync.dev/source-path': 'namespaces/invalid/bad.yaml' } },
      spec: { selector: { app: 'x' }, ports: [{ port: 70000, targetPort: 80 }] },
    };
    const objs = [namespace(ns), configMap(ns, 'a'), bad, configMap(ns, 'b'), { ...configMap(ns, 'c'), kind: 'NoSuchKind' }];
    const r = await apply(h.conn, objs, { commit: 'i1', inventory: 'invalid' });
    expect(r.status).toBe('partial');
    expect(actions(r)).toEqual({ created: 3, failed: 2 });
    const failed = byId(r, `Service/${ns}/bad`);
    expect(failed?.action).toBe('failed');
    expect(failed?.error?.code).toBe('KNV2010');
    expect(failed?.error?.message).toContain('spec.ports[0].port: Invalid value: 70000');
    expect(byId(r, `NoSuchKind/${ns}/c`)?.error?.message).toMatch(/unknown kind NoSuchKind/);
    // The result is plain JSON: it survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);

    const parent = await raw(h.conn, 'GET', '/api/v1/namespaces/pushsync-system/configmaps/invalid');
    const body = parent.body as { metadata: { annotations: Record<string, string> }; data: Record<string, string> };
    expect(body.metadata.annotations[INVENTORY_KEYS.lastStatus]).toBe('partial');
    expect(body.metadata.annotations[INVENTORY_KEYS.appliedCommit]).toBeUndefined();
    // A partial run starts a rollout too: what it did apply may still be rolling out.
    expect(r.rollout).toMatch(/^[0-9a-f]{16}$/);
    expect(body.metadata.annotations[INVENTORY_KEYS.rollout]).toBe(r.rollout);
    const summary = JSON.parse(body.data[SUMMARY_KEY] as string) as { errors: { id: string; message: string }[] };
    expect(summary.errors.map((e) => e.id)).toEqual(['NoSuchKind/invalid/c', 'Service/invalid/bad']);
  });
});

describe('opt-outs and safety', () => {
  it('creates a mutation: ignore object once and never updates it', async () => {
    const ns = 'mutation';
    const cm = { ...configMap(ns, 'seed', { v: '1' }), metadata: { name: 'seed', namespace: ns, annotations: { 'client.lifecycle.config.k8s.io/mutation': 'ignore' } } };
    expect((await apply(h.conn, [namespace(ns), cm], { commit: 'm1', inventory: 'mutation' })).status).toBe('applied');
    const r = await apply(h.conn, [namespace(ns), { ...cm, data: { v: '2' } }], { commit: 'm2', inventory: 'mutation' });
    expect(byId(r, `ConfigMap/${ns}/seed`)?.action).toBe('unchanged');
    expect((await getLive(h.conn, cm))?.data?.v).toBe('1');
  });

  it('abandons a removed object marked deletion: detach instead of deleting it', async () => {
    const ns = 'detach';
    const keep = { ...configMap(ns, 'keep'), metadata: { name: 'keep', namespace: ns, annotations: { 'client.lifecycle.config.k8s.io/deletion': 'detach' } } };
    const gone = configMap(ns, 'gone');
    expect((await apply(h.conn, [namespace(ns), keep, gone, configMap(ns, 'stay')], { commit: 'x1', inventory: 'detach' })).status).toBe('applied');
    const r = await apply(h.conn, [namespace(ns), configMap(ns, 'stay')], { commit: 'x2', inventory: 'detach' });
    expect(r.status).toBe('applied');
    expect(byId(r, `ConfigMap/${ns}/keep`)?.action).toBe('skipped');
    expect(byId(r, `ConfigMap/${ns}/gone`)?.action).toBe('pruned');
    const kept = await getLive(h.conn, keep);
    expect(kept).toBeDefined();
    expect(kept?.metadata.labels?.[Keys.partOf]).toBeUndefined();
    expect(kept?.metadata.annotations?.['client.lifecycle.config.k8s.io/deletion']).toBe('detach');
  });

  it('refuses (KNV2006) a commit that deletes every managed Namespace, and deletes them when the repo opts in', async () => {
    const objs = [namespace('safe-a'), namespace('safe-b'), configMap('safe-a', 'x')];
    expect((await apply(h.conn, objs, { commit: 's1', inventory: 'safety' })).status).toBe('applied');
    const other = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'safety-reader' }, rules: [] };

    const refused = await apply(h.conn, [other], { commit: 's2', inventory: 'safety' });
    expect(refused.status).toBe('failed');
    expect(refused.error?.code).toBe('KNV2006');
    expect(refused.objects).toEqual([]);
    expect(await getLive(h.conn, namespace('safe-a'))).toBeDefined();
    expect(await getLive(h.conn, configMap('safe-a', 'x'))).toBeDefined();
    // Nothing was applied either.
    expect((await raw(h.conn, 'GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/safety-reader')).status).toBe(404);

    const allowed = await apply(h.conn, [other], { commit: 's2', inventory: 'safety', allowDeleteAll: true });
    expect(allowed.status).toBe('applied');
    expect(actions(allowed)).toEqual({ created: 1, pruned: 3 });
    // Prune order: namespaced objects first, Namespaces last.
    expect(allowed.objects.filter((o) => o.action === 'pruned').map((o) => o.id)).toEqual(['ConfigMap/safe-a/x', 'Namespace/safe-a', 'Namespace/safe-b']);
    for (const n of ['safe-a', 'safe-b']) {
      expect((await getLive(h.conn, namespace(n)))?.metadata.deletionTimestamp).toBeDefined();
      await finalizeNamespace(h.conn, n);
      expect(await getLive(h.conn, namespace(n))).toBeUndefined();
    }
  });

  it('refuses to delete every managed object at once', async () => {
    const objs = [namespace('lonely'), configMap('lonely', 'only')];
    expect((await apply(h.conn, objs, { commit: 'l1', inventory: 'lonely' })).status).toBe('applied');
    const r = await apply(h.conn, [], { commit: 'l2', inventory: 'lonely' });
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ code: 'KNV2006' });
    expect(r.error?.message).toMatch(/would delete all 2 managed objects/);
  });
});

describe('kubectl understands the inventory', () => {
  it('finds the ApplySet parent and its members (kubectl apply --prune --applyset)', async () => {
    const ns = 'kubectl-set';
    const inventory = 'kubectl-set';
    const objs = [namespace(ns), configMap(ns, 'a'), configMap(ns, 'b')];
    expect((await apply(h.conn, objs, { commit: 'k1', inventory })).status).toBe('applied');
    process.env.KUBECTL_APPLYSET = 'true';
    // Only the cluster-scoped Namespace as input: kubectl insists that namespaced input
    // objects live in the parent's namespace, but it prunes across additional-namespaces.
    const input = JSON.stringify(namespace(ns));
    const args = ['apply', '--server-side', '--dry-run=server', '--prune', `--applyset=configmaps/${inventory}`, '-n', 'pushsync-system', '-f', '-'];

    // As the KEP asks, kubectl refuses to change a set another tool manages: it read our tooling annotation.
    const refused = await h.cp.kubectl(args, { input });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('is managed by tooling "pushsync" instead of "kubectl"');

    // Pretend kubectl owns it: it then accepts our id, group-kinds and namespaces, and finds the members.
    const path = `/api/v1/namespaces/pushsync-system/configmaps/${inventory}`;
    const setTooling = async (v: string) =>
      expect((await raw(h.conn, 'PATCH', path, { metadata: { annotations: { [Keys.tooling]: v } } }, 'application/merge-patch+json')).status).toBe(200);
    await setTooling('kubectl/v1.37.2');
    try {
      const read = await h.cp.kubectl(args, { input });
      expect(read.code, read.stderr).toBe(0);
      expect(read.stdout).toContain('configmap/a pruned (server dry run)');
      expect(read.stdout).toContain('configmap/b pruned (server dry run)');
    } finally {
      await setTooling('pushsync/v1');
    }
  });
});
