/**
 * checkRollout on the control plane that runs workloads (test/helpers/workload-plane.ts): a
 * commit applied with apply() becomes healthy as its Deployments become Available, an image
 * that never pulls fails with ProgressDeadlineExceeded and the pod's ImagePullBackOff, a later
 * apply supersedes the wait, and what cannot be read is an error value. One plane for the file.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, checkRollout, connect, describeObjectHealth, describeProgress, HEALTH_ANNOTATION, renderHealthTable } from '../../lib/cluster/index.ts';
import type { ApplyResult, Connection, ObjectHealth, RolloutCheck, RolloutOptions } from '../../lib/cluster/index.ts';
import { selectorOf } from '../../lib/cluster/rollout.ts';
import { describeHealthLine, describeRolloutProgress } from '../../lib/github/index.ts';
import type { KubeObject } from '../../lib/repo/index.ts';
import { startWorkloadPlane, type WorkloadPlane } from '../helpers/workload-plane.ts';

let wp: WorkloadPlane;
let conn: Connection;

const ns = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const configMap = (namespace: string, name: string, data: Record<string, string> = { k: 'v' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
});
const service = (namespace: string, name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
});
function deployment(namespace: string, name: string, o: { image?: string; replicas?: number; progressDeadlineSeconds?: number; annotations?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      replicas: o.replicas ?? 1,
      ...(o.progressDeadlineSeconds === undefined ? {} : { progressDeadlineSeconds: o.progressDeadlineSeconds }),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'app', image: o.image ?? `registry.example/${name}:1.0` },
            { name: 'sidecar', image: 'registry.example/proxy:2.1' },
          ],
        },
      },
    },
  };
}

/** A commit: a Namespace, a ConfigMap, a Service and two Deployments. */
const shop = (namespace: string, data: Record<string, string> = { k: 'v' }): KubeObject[] => [
  ns(namespace),
  configMap(namespace, 'settings', data),
  service(namespace, 'web'),
  deployment(namespace, 'web', { replicas: 2 }),
  deployment(namespace, 'api'),
];

/** A commit whose Deployment `broken` never becomes ready (its image matches the plane's failing pattern). */
const brokenCommit: KubeObject[] = [
  ns('ro-broken'),
  deployment('ro-broken', 'fine'),
  deployment('ro-broken', 'broken', { image: 'registry.invalid/broken:1.0', progressDeadlineSeconds: 10 }),
];

/** Applied first thing, so its progress deadline runs while the other tests do. */
let brokenApplied: Promise<ApplyResult>;

beforeAll(async () => {
  wp = await startWorkloadPlane({ nodes: 2 });
  conn = await connect(wp.kubeconfig);
  brokenApplied = apply(conn, brokenCommit, { commit: 'b1', inventory: 'ro-broken' });
}, 180_000);

afterAll(async () => {
  conn?.close();
  await wp?.stop();
});

/** checkRollout until `done`, or fail with the last answer. */
async function pollRollout(opts: RolloutOptions, done: (c: RolloutCheck) => boolean, timeoutMs: number): Promise<RolloutCheck> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await checkRollout(conn, opts);
    if (done(c)) return c;
    if (Date.now() > deadline) throw new Error(`rollout not as expected within ${timeoutMs} ms; last: ${JSON.stringify(c, null, 1).slice(0, 4000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const checked = (c: RolloutCheck): Extract<RolloutCheck, { kind: 'checked' }> => {
  if (c.kind !== 'checked') throw new Error(`expected a checked rollout, got ${JSON.stringify(c)}`);
  return c;
};

describe('checkRollout on a cluster that runs workloads', () => {
  let first: ApplyResult;

  it('follows a commit from applied to healthy: progress while the Deployments roll out, then every object Current', async () => {
    first = await apply(conn, shop('ro-shop'), { commit: 'c1', inventory: 'ro-shop' });
    expect(first.status).toBe('applied');
    expect(first.rollout).toBeDefined();
    const opts = { commit: 'c1', rollout: first.rollout ?? '', inventory: 'ro-shop' };

    const atOnce = checked(await checkRollout(conn, opts));
    expect(atOnce.state).toBe('progressing');
    expect(atOnce.commit).toBe('c1');
    expect(describeProgress(atOnce.objects)).toMatch(/^rolling out: [01]\/2 Deployments available$/);

    const healthy = checked(await pollRollout(opts, (c) => c.kind === 'checked' && c.state === 'healthy', 60_000));
    // Apply order, then id: Namespace, ConfigMap, Service, Deployments by name.
    expect(healthy.objects.map((o) => o.id)).toEqual([
      'Namespace/ro-shop',
      'ConfigMap/ro-shop/settings',
      'Service/ro-shop/web',
      'Deployment.apps/ro-shop/api',
      'Deployment.apps/ro-shop/web',
    ]);
    expect(healthy.counts).toEqual({ Current: 5, InProgress: 0, Failed: 0, Terminating: 0, NotFound: 0 });
    expect(healthy.failed).toBeUndefined();
    const web = healthy.objects.find((o) => o.id === 'Deployment.apps/ro-shop/web');
    expect(web?.health).toMatchObject({ status: 'Current', reason: '2 of 2 replicas available' });
    expect(web?.cause).toBeUndefined();
    expect(describeProgress(healthy.objects)).toBe('rolling out: 2/2 Deployments available');

    // A healthy check is bounded: the inventory, discovery (2) and one LIST per group-kind (4), no pod lists.
    const start = conn.http.stats.total;
    expect(checked(await checkRollout(conn, opts)).state).toBe('healthy');
    expect(conn.http.stats.total - start).toBe(7);
  }, 70_000);

  it('fails a Deployment whose image never pulls with ProgressDeadlineExceeded, naming the pod and its ImagePullBackOff', async () => {
    const r = await brokenApplied;
    expect(r.status).toBe('applied');
    const opts = { commit: 'b1', rollout: r.rollout ?? '', inventory: 'ro-broken' };
    const c = checked(await pollRollout(opts, (x) => x.kind === 'checked' && x.state === 'failed', 45_000));
    expect(c.failed?.id).toBe('Deployment.apps/ro-broken/broken');
    expect(c.failed?.health).toMatchObject({ status: 'Failed', reason: 'ProgressDeadlineExceeded' });
    expect(c.failed?.cause).toMatchObject({ container: 'app', reason: 'ImagePullBackOff' });
    expect(c.failed?.cause?.pod).toMatch(/^broken-[a-z0-9]+-[a-z0-9]+$/);
    expect(describeObjectHealth(c.failed as ObjectHealth)).toMatch(/^Deployment ro-broken\/broken: ProgressDeadlineExceeded; pod broken-[a-z0-9-]+: ImagePullBackOff$/);
    expect(c.counts.Failed).toBe(1);
    // The good Deployment next to it is judged on its own.
    expect(c.objects.find((o) => o.name === 'fine')?.health.status).toMatch(/^(Current|InProgress)$/);
  }, 60_000);

  it('is superseded by another commit, and by the same commit applied again; a no-op apply supersedes nothing', async () => {
    const c2 = await apply(conn, shop('ro-shop', { k: 'v2' }), { commit: 'c2', inventory: 'ro-shop' });
    expect(c2.status).toBe('applied');
    expect(await checkRollout(conn, { commit: 'c1', rollout: first.rollout ?? '', inventory: 'ro-shop' })).toEqual({ kind: 'superseded', by: 'c2', sameCommit: false });

    // The same commit again with nothing to change: the rollout running is still the one to wait for.
    const quiet = await apply(conn, shop('ro-shop', { k: 'v2' }), { commit: 'c2', inventory: 'ro-shop' });
    expect(quiet.counts.unchanged).toBe(5);
    expect(quiet.rollout).toBe(c2.rollout);
    expect((await checkRollout(conn, { commit: 'c2', rollout: c2.rollout ?? '', inventory: 'ro-shop' })).kind).toBe('checked');

    // Someone edits the ConfigMap: applying c2 again restores it, a new rollout of the same commit.
    const edit = await wp.kubectl(['-n', 'ro-shop', 'patch', 'configmap', 'settings', '--field-manager', 'kubectl-edit', '-p', '{"data":{"k":"hand-edited"}}']);
    expect(edit.code, edit.stderr).toBe(0);
    const again = await apply(conn, shop('ro-shop', { k: 'v2' }), { commit: 'c2', inventory: 'ro-shop' });
    expect(again.counts.configured).toBe(1);
    expect(again.rollout).not.toBe(c2.rollout);
    expect(await checkRollout(conn, { commit: 'c2', rollout: c2.rollout ?? '', inventory: 'ro-shop' })).toEqual({ kind: 'superseded', by: 'c2', sameCommit: true });
    expect((await checkRollout(conn, { commit: 'c2', rollout: again.rollout ?? '', inventory: 'ro-shop' })).kind).toBe('checked');
  }, 30_000);

  it(`does not wait for an object annotated ${HEALTH_ANNOTATION}: ignore`, async () => {
    const objs = [
      ns('ro-ignore'),
      configMap('ro-ignore', 'settings'),
      deployment('ro-ignore', 'batchy', { image: 'registry.invalid/never:1', annotations: { [HEALTH_ANNOTATION]: 'ignore' } }),
    ];
    const r = await apply(conn, objs, { commit: 'i1', inventory: 'ro-ignore' });
    expect(r.status).toBe('applied');
    const c = checked(await checkRollout(conn, { commit: 'i1', rollout: r.rollout ?? '', inventory: 'ro-ignore' }));
    expect(c.state).toBe('healthy');
    const ignored = c.objects.find((o) => o.name === 'batchy');
    expect(ignored?.health).toMatchObject({ status: 'Current', reason: 'health ignored by annotation' });
    expect(ignored?.cause).toBeUndefined();
  });

  it('answers an unreachable API server, a missing inventory and a deadline with error values', async () => {
    const nowhere = await connect(wp.kubeconfig.replace(/server: .*/, 'server: https://127.0.0.1:1'));
    try {
      const c = await checkRollout(nowhere, { commit: 'c1', retry: { attempts: 2, baseDelayMs: 10 } });
      expect(c).toMatchObject({ kind: 'error', error: { code: 'KNV2016', retryable: true } });
      expect(c.kind === 'error' && c.error.message).toMatch(/^API server unreachable: /);
    } finally {
      nowhere.close();
    }

    expect(await checkRollout(conn, { inventory: 'never-applied' })).toMatchObject({
      kind: 'error',
      error: { code: 'KNV2010', message: 'no pushsync inventory pushsync-system/never-applied on the cluster: nothing to check' },
    });

    // A server that accepts connections and never answers: the deadline ends the check.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const stuck = await connect(wp.kubeconfig.replace(/server: .*/, `server: https://127.0.0.1:${port}`));
    try {
      const t0 = Date.now();
      const c = await checkRollout(stuck, { deadline: Date.now() + 800 });
      expect(c).toMatchObject({ kind: 'error', error: { code: 'DEADLINE', retryable: true } });
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      stuck.close();
      silent.close();
    }
  });
});

describe('rollout texts (pure)', () => {
  const obj = (kind: string, name: string, status: ObjectHealth['health']['status'], extra: Partial<ObjectHealth> = {}): ObjectHealth => ({
    id: `${kind}/shop/${name}`,
    group: ['Deployment', 'StatefulSet', 'DaemonSet'].includes(kind) ? 'apps' : '',
    kind,
    namespace: 'shop',
    name,
    health: { status, reason: status === 'Current' ? 'ok' : 'waiting', message: '' },
    ...extra,
  });

  it('describeProgress counts Deployments (and the other workload kinds) by kind, then the other objects not ready', () => {
    const objects = [
      ...Array.from({ length: 9 }, (_, i) => obj('Deployment', `d${i}`, 'Current')),
      ...Array.from({ length: 3 }, (_, i) => obj('Deployment', `p${i}`, 'InProgress')),
      obj('Service', 'front', 'InProgress'),
      obj('PersistentVolumeClaim', 'data', 'Terminating'),
      obj('ConfigMap', 'settings', 'Current'),
    ];
    expect(describeProgress(objects)).toBe('rolling out: 9/12 Deployments available, 2 other objects in progress');
    expect(describeProgress([obj('StatefulSet', 'db', 'InProgress'), obj('Deployment', 'web', 'Current'), obj('Job', 'migrate', 'InProgress')])).toBe(
      'rolling out: 1/1 Deployment available, 0/1 StatefulSet ready, 1 other object in progress',
    );
    expect(describeProgress([obj('ConfigMap', 'a', 'Current')])).toBe('rolling out: 1/1 object healthy');
  });

  it('says it in the words the status says it (lib/github phrases it again, since it may not import lib/cluster)', () => {
    const sets: ObjectHealth[][] = [
      [...Array.from({ length: 9 }, (_, i) => obj('Deployment', `d${i}`, 'Current')), obj('Deployment', 'p', 'InProgress'), obj('Service', 'front', 'InProgress')],
      [obj('StatefulSet', 'db', 'InProgress'), obj('DaemonSet', 'agent', 'Current'), obj('Deployment', 'web', 'Current'), obj('Job', 'migrate', 'InProgress')],
      [obj('ConfigMap', 'a', 'Current'), obj('Namespace', 'n', 'Terminating')],
    ];
    for (const objects of sets) expect(describeRolloutProgress(objects)).toBe(describeProgress(objects));
    const failed = obj('Deployment', 'cartservice', 'Failed', {
      namespace: 'onlineboutique',
      health: { status: 'Failed', reason: 'ProgressDeadlineExceeded', message: '' },
      cause: { pod: 'cartservice-7d4b9-x2x', container: 'server', reason: 'ImagePullBackOff', message: '' },
    });
    expect(describeHealthLine(failed)).toBe(describeObjectHealth(failed));
  });

  it('describeObjectHealth names the object, its reason and the pod-level cause', () => {
    const failed = obj('Deployment', 'cartservice', 'Failed', {
      namespace: 'onlineboutique',
      health: { status: 'Failed', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet has timed out progressing.' },
      cause: { pod: 'cartservice-7d4b9-x2x', container: 'server', reason: 'ImagePullBackOff', message: 'Back-off pulling image' },
    });
    expect(describeObjectHealth(failed)).toBe('Deployment onlineboutique/cartservice: ProgressDeadlineExceeded; pod cartservice-7d4b9-x2x: ImagePullBackOff');
    const clusterScoped: ObjectHealth = { id: 'CustomResourceDefinition.apiextensions.k8s.io/widgets.x', group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition', name: 'widgets.x', health: { status: 'Failed', reason: 'NamesNotAccepted', message: '' } };
    expect(describeObjectHealth(clusterScoped)).toBe('CustomResourceDefinition widgets.x: NamesNotAccepted');
  });

  it('renderHealthTable: kubectl-like columns, "-" for an empty cell, CAUSE only when some object has one', () => {
    const ns: ObjectHealth = { id: 'Namespace/shop', group: '', kind: 'Namespace', name: 'shop', health: { status: 'Current', reason: 'Active', message: '' } };
    const web = obj('Deployment', 'web', 'InProgress', { health: { status: 'InProgress', reason: '1 of 2 replicas available', message: '' } });
    expect(renderHealthTable([ns, web])).toBe(
      ['KIND        NAMESPACE  NAME  HEALTH      REASON', 'Namespace   -          shop  Current     Active', 'Deployment  shop       web   InProgress  1 of 2 replicas available', ''].join('\n'),
    );
    const stuck = { ...web, cause: { pod: 'web-1', container: 'app', reason: 'ImagePullBackOff', message: '' } };
    expect(renderHealthTable([ns, stuck]).split('\n')).toEqual([
      'KIND        NAMESPACE  NAME  HEALTH      REASON                     CAUSE',
      'Namespace   -          shop  Current     Active                     -',
      'Deployment  shop       web   InProgress  1 of 2 replicas available  pod web-1: ImagePullBackOff',
      '',
    ]);
  });

  it('selectorOf turns spec.selector into the API\'s label-selector syntax, and refuses an empty one', () => {
    const workload = (selector: unknown): Parameters<typeof selectorOf>[0] => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { selector } });
    expect(selectorOf(workload({ matchLabels: { app: 'web', tier: 'front' } }))).toBe('app=web,tier=front');
    expect(
      selectorOf(
        workload({
          matchLabels: { app: 'web' },
          matchExpressions: [
            { key: 'env', operator: 'In', values: ['a', 'b'] },
            { key: 'track', operator: 'NotIn', values: ['canary'] },
            { key: 'owner', operator: 'Exists' },
            { key: 'legacy', operator: 'DoesNotExist' },
          ],
        }),
      ),
    ).toBe('app=web,env in (a,b),track notin (canary),owner,!legacy');
    expect(selectorOf(workload({}))).toBeUndefined();
    expect(selectorOf(workload(undefined))).toBeUndefined();
    expect(selectorOf(workload({ matchExpressions: [{ key: 'x', operator: 'Gt', values: ['1'] }] }))).toBeUndefined();
  });
});
