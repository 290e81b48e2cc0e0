/**
 * Captures the status objects test/cluster/health.test.ts reads: starts the workload plane
 * (test/helpers/workload-plane.ts: controllers, scheduler, KWOK with two fake nodes), creates
 * objects in the states the health rules tell apart, and writes each as it is on the control
 * plane to test/fixtures/health/<name>.json, smaller: no managedFields, no uids or
 * resourceVersions, every timestamp the same fixed value (so a refresh only shows real changes).
 *
 *   PUSHSYNC_WORKLOAD_ASSETS=$(bash scripts/ensure-workloads.sh --no-build | tail -1) \
 *   KUBEBUILDER_ASSETS=$(bash scripts/ensure-apiserver.sh --no-build | tail -1) \
 *   npx tsx scripts/capture-health-fixtures.ts [name …]     # only the named captures
 *
 * A few states are moments (a Deployment whose new generation the controller has not seen yet):
 * the script polls for them and says so when it missed one, leaving that file as it was.
 * The table test then still runs on the previous capture.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { startWorkloadPlane, type WorkloadPlane } from '../test/helpers/workload-plane.ts';

const OUT = fileURLToPath(new URL('../test/fixtures/health/', import.meta.url));
const NS = 'health';
const FIXED_TIME = '2026-01-01T00:00:00Z';
const FAILING_IMAGE = 'registry.invalid/app:1';
const GOOD_IMAGE = 'registry.example/app:1';

type Json = Record<string, unknown>;

// --- a small API client (kubectl's process start is too slow to catch a moment) -----------

interface Api {
  call(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; json: Json }>;
  /** Streams a watch: `onObject` gets each changed object; resolves when `onObject` returns true or after `timeoutMs`. */
  watch(path: string, onObject: (o: Json) => boolean, timeoutMs: number): Promise<void>;
}

function apiFor(wp: WorkloadPlane): Api {
  const kc = load(wp.kubeconfig) as { users: { user: { token: string } }[] };
  const token = kc.users[0]?.user.token ?? '';
  return {
    call: (method, path, body, contentType = 'application/json') =>
      new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = request(
          `${wp.server}${path}`,
          {
            method,
            ca: wp.caPem,
            headers: {
              Authorization: `Bearer ${token}`,
              Accept: 'application/json',
              ...(data === undefined ? {} : { 'Content-Type': contentType }),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text || '{}') as Json }));
          },
        );
        req.on('error', reject);
        req.end(data);
      }),
    watch: (path, onObject, timeoutMs) =>
      new Promise((resolve, reject) => {
        const req = request(`${wp.server}${path}`, { ca: wp.caPem, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } }, (res) => {
          let buffered = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            buffered += c;
            let nl: number;
            while ((nl = buffered.indexOf('\n')) >= 0) {
              const line = buffered.slice(0, nl);
              buffered = buffered.slice(nl + 1);
              const event = JSON.parse(line) as { object?: Json };
              if (event.object && onObject(event.object)) {
                req.destroy();
                resolve();
              }
            }
          });
          res.on('end', () => resolve());
        });
        const timer = setTimeout(() => {
          req.destroy();
          resolve();
        }, timeoutMs);
        req.on('close', () => clearTimeout(timer));
        req.on('error', (e) => (req.destroyed ? resolve() : reject(e)));
        req.end();
      }),
  };
}

const PATHS: Record<string, (name: string) => string> = {
  Deployment: (n) => `/apis/apps/v1/namespaces/${NS}/deployments/${n}`,
  StatefulSet: (n) => `/apis/apps/v1/namespaces/${NS}/statefulsets/${n}`,
  DaemonSet: (n) => `/apis/apps/v1/namespaces/${NS}/daemonsets/${n}`,
  ReplicaSet: (n) => `/apis/apps/v1/namespaces/${NS}/replicasets/${n}`,
  Job: (n) => `/apis/batch/v1/namespaces/${NS}/jobs/${n}`,
  Pod: (n) => `/api/v1/namespaces/${NS}/pods/${n}`,
  PersistentVolumeClaim: (n) => `/api/v1/namespaces/${NS}/persistentvolumeclaims/${n}`,
  PersistentVolume: (n) => `/api/v1/persistentvolumes/${n}`,
  Service: (n) => `/api/v1/namespaces/${NS}/services/${n}`,
  ConfigMap: (n) => `/api/v1/namespaces/${NS}/configmaps/${n}`,
  Namespace: (n) => `/api/v1/namespaces/${n}`,
  CustomResourceDefinition: (n) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${n}`,
};

function pathOf(kind: string, name: string): string {
  const p = PATHS[kind];
  if (!p) throw new Error(`no path for ${kind}`);
  return p(name);
}

/** The collection a kind is created in: its object path without the name. */
const collectionOf = (kind: string): string => pathOf(kind, '').replace(/\/$/, '');

async function create(api: Api, obj: Json): Promise<void> {
  const r = await api.call('POST', collectionOf(obj.kind as string), obj);
  if (r.status !== 201) throw new Error(`creating ${String(obj.kind)}: ${r.status} ${JSON.stringify(r.json).slice(0, 500)}`);
}

async function patch(api: Api, kind: string, name: string, body: unknown): Promise<void> {
  const r = await api.call('PATCH', pathOf(kind, name), body, 'application/merge-patch+json');
  if (r.status !== 200) throw new Error(`patching ${kind} ${name}: ${r.status} ${JSON.stringify(r.json).slice(0, 500)}`);
}

const get = async (api: Api, kind: string, name: string): Promise<Json> => (await api.call('GET', pathOf(kind, name))).json;

/**
 * Patches an object and returns, for each predicate, the first state the object passed
 * through that satisfies it. A watch from the resourceVersion before the patch sees every
 * write the controllers make, where polling can miss a state that lasts a few milliseconds.
 */
async function patchAndCatch(
  api: Api,
  kind: string,
  name: string,
  body: unknown,
  wanted: Record<string, (o: Json) => boolean>,
  timeoutMs: number,
): Promise<Record<string, Json | undefined>> {
  const before = meta(await get(api, kind, name)).resourceVersion as string;
  await patch(api, kind, name, body);
  const caught: Record<string, Json | undefined> = {};
  const selector = `fieldSelector=metadata.name%3D${encodeURIComponent(name)}`;
  await api.watch(
    `${collectionOf(kind)}?watch=1&${selector}&resourceVersion=${before}`,
    (o) => {
      for (const [key, match] of Object.entries(wanted)) if (!caught[key] && match(o)) caught[key] = o;
      return Object.keys(wanted).every((k) => caught[k]);
    },
    timeoutMs,
  );
  return caught;
}

/** Polls every 50 ms until `done` holds; undefined when it did not within `timeoutMs`. */
async function poll(read: () => Promise<Json>, done: (o: Json) => boolean, timeoutMs: number): Promise<Json | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const o = await read();
    if (done(o)) return o;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

// --- reading a status ----------------------------------------------------------------------

type Cond = { type: string; status: string; reason?: string };
const st = (o: Json): Json => (o.status as Json | undefined) ?? {};
const num = (o: Json, k: string): number => (st(o)[k] as number | undefined) ?? 0;
const cond = (o: Json, type: string): Cond | undefined => ((st(o).conditions as Cond[] | undefined) ?? []).find((c) => c.type === type);
const meta = (o: Json): Json => o.metadata as Json;

// --- making fixtures small and stable ------------------------------------------------------

const TIME_KEYS = /(Time|Timestamp|startedAt|finishedAt)$/;

/** Drops what changes on every capture or says nothing about health; keeps the shape. */
function scrub(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => scrub(x));
  if (v && typeof v === 'object') {
    const out: Json = {};
    for (const [k, x] of Object.entries(v as Json)) {
      if (['managedFields', 'uid', 'resourceVersion', 'selfLink'].includes(k)) continue;
      // A Job's labels carry its uid too (controller-uid, batch.kubernetes.io/controller-uid).
      if (k === 'kubectl.kubernetes.io/last-applied-configuration' || k.endsWith('controller-uid')) continue;
      out[k] = scrub(x, k);
    }
    return out;
  }
  if (typeof v === 'string' && TIME_KEYS.test(key)) return FIXED_TIME;
  return v;
}

/** A Pod's spec is long and the rules read none of it but nodeName: keep containers' names and images. */
function slimPod(o: Json): Json {
  const spec = o.spec as Json;
  const containers = (spec.containers as Json[]).map((c) => ({ name: c.name, image: c.image }));
  return { ...o, spec: { containers, ...(spec.nodeName ? { nodeName: spec.nodeName } : {}), ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}) } };
}

/** Workload templates: only the containers (the pod template's defaults are noise here). */
function slimTemplate(o: Json): Json {
  const spec = o.spec as Json | undefined;
  const tpl = spec?.template as Json | undefined;
  if (!spec || !tpl) return o;
  const podSpec = tpl.spec as Json;
  const containers = (podSpec.containers as Json[]).map((c) => ({ name: c.name, image: c.image }));
  return { ...o, spec: { ...spec, template: { metadata: tpl.metadata, spec: { containers } } } };
}

const saved: string[] = [];
const missed: string[] = [];

function save(name: string, obj: Json | undefined, what: string): void {
  if (!obj) {
    missed.push(`${name} (${what})`);
    console.log(`  missed ${name}: ${what}`);
    return;
  }
  const slim = obj.kind === 'Pod' ? slimPod(obj) : slimTemplate(obj);
  writeFileSync(join(OUT, `${name}.json`), JSON.stringify(scrub(slim), null, 2) + '\n');
  saved.push(name);
  console.log(`  saved ${name}`);
}

// --- the objects -----------------------------------------------------------------------

const labels = (app: string): Json => ({ app });
const podTemplate = (app: string, image: string): Json => ({
  metadata: { labels: labels(app) },
  spec: { containers: [{ name: 'app', image }], terminationGracePeriodSeconds: 0 },
});

function deployment(name: string, replicas: number, image: string, extra: Json = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: { replicas, selector: { matchLabels: labels(name) }, template: podTemplate(name, image), ...extra },
  };
}

function workload(kind: 'StatefulSet' | 'DaemonSet' | 'ReplicaSet', name: string, image: string, spec: Json = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: NS },
    spec: { selector: { matchLabels: labels(name) }, template: podTemplate(name, image), ...spec },
  };
}

function job(name: string, image: string, spec: Json = {}): Json {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NS },
    spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'run', image }] } }, ...spec },
  };
}

function pod(name: string, image: string, spec: Json = {}): Json {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { containers: [{ name: 'app', image }], ...spec } };
}

function crd(plural: string, kind: string, group = 'health.example.com'): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: plural.replace(/s$/, ''), kind, listKind: `${kind}List` },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
}

async function podsOf(api: Api, app: string): Promise<Json[]> {
  return listPods(api, `app%3D${app}`);
}

/** A list's items carry no kind or apiVersion: put them back, as a GET of one pod has them. */
async function listPods(api: Api, selector: string): Promise<Json[]> {
  const r = await api.call('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=${selector}`);
  return ((r.json.items as Json[] | undefined) ?? []).map((p) => ({ kind: 'Pod', apiVersion: 'v1', ...p }));
}

// --- the captures ----------------------------------------------------------------------

type Capture = (api: Api) => Promise<void>;

const captures: Record<string, Capture> = {
  async deployment(api) {
    await create(api, deployment('web', 2, GOOD_IMAGE));
    // Right after the create: the controller has not written a status yet, or no pods exist.
    save('deployment-new', await get(api, 'Deployment', 'web'), 'just created');
    const ready = await poll(() => get(api, 'Deployment', 'web'), (d) => cond(d, 'Available')?.status === 'True' && num(d, 'readyReplicas') === 2, 60_000);
    save('deployment-available', ready, 'Available, 2/2 ready');
    // Scale up: first the new generation unobserved, then pods not there yet, then done.
    const up = await patchAndCatch(api, 'Deployment', 'web', { spec: { replicas: 4 } }, {
      unobserved: (d) => (st(d).observedGeneration as number) < (meta(d).generation as number),
      scaling: (d) => st(d).observedGeneration === meta(d).generation && num(d, 'replicas') < 4,
      done: (d) => num(d, 'availableReplicas') === 4 && num(d, 'replicas') === 4,
    }, 60_000);
    save('deployment-generation-not-observed', up.unobserved, 'generation 2 not observed');
    save('deployment-scaling-up', up.scaling, 'scaled to 4, not all created');
    // Scale down: the extra pods still counted.
    const down = await patchAndCatch(api, 'Deployment', 'web', { spec: { replicas: 1 } }, {
      scaling: (d) => st(d).observedGeneration === meta(d).generation && num(d, 'replicas') > 1,
      done: (d) => st(d).observedGeneration === meta(d).generation && num(d, 'replicas') === 1,
    }, 60_000);
    save('deployment-scaling-down', down.scaling, 'scaled to 1, pods still terminating');
  },

  async 'deployment-rollout'(api) {
    // A rollout to an image that never pulls, one surge pod at a time: stuck half-way for as
    // long as its (long) progress deadline lasts, old pods still serving.
    await create(api, deployment('rollout', 2, GOOD_IMAGE, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
    await poll(() => get(api, 'Deployment', 'rollout'), (d) => cond(d, 'Available')?.status === 'True' && num(d, 'readyReplicas') === 2, 60_000);
    await patch(api, 'Deployment', 'rollout', { spec: { template: { spec: { containers: [{ name: 'app', image: FAILING_IMAGE }] } } } });
    save('deployment-rollout-stuck', await poll(() => get(api, 'Deployment', 'rollout'), (d) => st(d).observedGeneration === 2 && num(d, 'updatedReplicas') === 1 && num(d, 'replicas') === 3, 30_000), 'mid-rollout, 1 of 2 updated');
  },

  async 'deployment-deadline'(api) {
    await create(api, deployment('broken', 1, FAILING_IMAGE, { progressDeadlineSeconds: 5 }));
    save('deployment-progress-deadline-exceeded', await poll(() => get(api, 'Deployment', 'broken'), (d) => cond(d, 'Progressing')?.reason === 'ProgressDeadlineExceeded', 60_000), 'ProgressDeadlineExceeded');
    const pods = await podsOf(api, 'broken');
    save('pod-of-deployment-image-pull-backoff', pods[0], 'the failing Deployment’s pod');
  },

  async statefulset(api) {
    await create(api, workload('StatefulSet', 'db', GOOD_IMAGE, { replicas: 2, serviceName: 'db' }));
    save('statefulset-ready', await poll(() => get(api, 'StatefulSet', 'db'), (s) => num(s, 'readyReplicas') === 2 && num(s, 'currentReplicas') === 2 && st(s).currentRevision === st(s).updateRevision, 60_000), '2/2 ready');
    // A partitioned rollout: only ordinals ≥ 1 move to the new revision, by design.
    await patch(api, 'StatefulSet', 'db', { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }, template: { metadata: { annotations: { rev: '2' } } } } });
    save('statefulset-partitioned', await poll(() => get(api, 'StatefulSet', 'db'), (s) => st(s).observedGeneration === meta(s).generation && num(s, 'updatedReplicas') === 1 && num(s, 'readyReplicas') === 2, 60_000), 'partition 1 rolled out');
    await create(api, workload('StatefulSet', 'db-broken', FAILING_IMAGE, { replicas: 2, serviceName: 'db-broken' }));
    save('statefulset-not-ready', await poll(() => get(api, 'StatefulSet', 'db-broken'), (s) => st(s).observedGeneration === meta(s).generation && num(s, 'replicas') === 1, 30_000), 'first pod never ready');
  },

  async daemonset(api) {
    await create(api, workload('DaemonSet', 'agent', GOOD_IMAGE));
    save('daemonset-ready', await poll(() => get(api, 'DaemonSet', 'agent'), (s) => num(s, 'desiredNumberScheduled') === 2 && num(s, 'numberAvailable') === 2, 60_000), '2/2 available');
    await create(api, workload('DaemonSet', 'agent-broken', FAILING_IMAGE));
    save('daemonset-not-available', await poll(() => get(api, 'DaemonSet', 'agent-broken'), (s) => num(s, 'desiredNumberScheduled') === 2 && num(s, 'updatedNumberScheduled') === 2, 30_000), 'pods never available');
  },

  async replicaset(api) {
    await create(api, workload('ReplicaSet', 'rs', GOOD_IMAGE, { replicas: 2 }));
    save('replicaset-ready', await poll(() => get(api, 'ReplicaSet', 'rs'), (s) => num(s, 'readyReplicas') === 2 && num(s, 'availableReplicas') === 2, 60_000), '2/2 available');
    await create(api, workload('ReplicaSet', 'rs-broken', FAILING_IMAGE, { replicas: 2 }));
    save('replicaset-not-ready', await poll(() => get(api, 'ReplicaSet', 'rs-broken'), (s) => num(s, 'replicas') === 2, 30_000), 'pods never ready');
  },

  async job(api) {
    await create(api, job('once', GOOD_IMAGE));
    save('job-complete', await poll(() => get(api, 'Job', 'once'), (j) => cond(j, 'Complete')?.status === 'True', 60_000), 'Complete');
    save('pod-succeeded', (await listPods(api, 'job-name%3Donce'))[0], 'the Job’s pod, Succeeded');
    await create(api, job('stuck', FAILING_IMAGE));
    save('job-running', await poll(() => get(api, 'Job', 'stuck'), (j) => num(j, 'active') === 1 && st(j).startTime !== undefined, 30_000), 'active');
    await create(api, job('deadline', FAILING_IMAGE, { activeDeadlineSeconds: 3 }));
    save('job-failed', await poll(() => get(api, 'Job', 'deadline'), (j) => cond(j, 'Failed')?.status === 'True', 60_000), 'Failed (DeadlineExceeded)');
  },

  async pod(api) {
    await create(api, pod('single', GOOD_IMAGE));
    save('pod-ready', await poll(() => get(api, 'Pod', 'single'), (p) => cond(p, 'Ready')?.status === 'True', 60_000), 'Running, Ready');
    await create(api, pod('pull', FAILING_IMAGE));
    save('pod-image-pull-backoff', await poll(() => get(api, 'Pod', 'pull'), (p) => JSON.stringify(st(p).containerStatuses ?? []).includes('ImagePullBackOff'), 30_000), 'ImagePullBackOff');
    await create(api, pod('nowhere', GOOD_IMAGE, { nodeSelector: { 'health.example.com/none': 'true' } }));
    save('pod-unschedulable', await poll(() => get(api, 'Pod', 'nowhere'), (p) => cond(p, 'PodScheduled')?.reason === 'Unschedulable', 30_000), 'Unschedulable');
  },

  async pvc(api) {
    const claim = (name: string, extra: Json = {}): Json => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: NS },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '', ...extra },
    });
    // No provisioner and no matching volume: Pending for ever.
    await create(api, claim('data-pending'));
    save('pvc-pending', await poll(() => get(api, 'PersistentVolumeClaim', 'data-pending'), (c) => st(c).phase === 'Pending', 10_000), 'Pending');
    // A volume made for it: the persistent-volume controller binds them.
    await create(api, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'health-pv' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: '', hostPath: { path: '/tmp/health-pv' }, claimRef: { namespace: NS, name: 'data-bound' } },
    });
    await create(api, claim('data-bound', { volumeName: 'health-pv' }));
    save('pvc-bound', await poll(() => get(api, 'PersistentVolumeClaim', 'data-bound'), (c) => st(c).phase === 'Bound', 30_000), 'Bound');
  },

  async service(api) {
    const svc = (name: string, spec: Json): Json => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: NS },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }], ...spec },
    });
    await create(api, svc('internal', {}));
    save('service-clusterip', await get(api, 'Service', 'internal'), 'ClusterIP');
    // A class nobody serves here (the harness's cloud ignores classed Services): no address, ever.
    await create(api, svc('front-pending', { type: 'LoadBalancer', loadBalancerClass: 'example.com/none' }));
    save('service-loadbalancer-pending', await get(api, 'Service', 'front-pending'), 'LoadBalancer without an address');
    await create(api, svc('front', { type: 'LoadBalancer' }));
    save('service-loadbalancer-ready', await poll(() => get(api, 'Service', 'front'), (s) => ((st(s).loadBalancer as Json | undefined)?.ingress as unknown[] | undefined)?.length === 1, 30_000), 'LoadBalancer with an address');
  },

  async crd(api) {
    await create(api, crd('widgets', 'Widget'));
    save('crd-established', await poll(() => get(api, 'CustomResourceDefinition', 'widgets.health.example.com'), (c) => cond(c, 'Established')?.status === 'True', 30_000), 'Established');
    // Another plural claiming the same kind in the group: its names are refused.
    await create(api, crd('gadgets', 'Widget'));
    save('crd-names-not-accepted', await poll(() => get(api, 'CustomResourceDefinition', 'gadgets.health.example.com'), (c) => cond(c, 'NamesAccepted')?.status === 'False', 30_000), 'NamesAccepted=False');
  },

  async namespace(api) {
    save('namespace-active', await get(api, 'Namespace', NS), 'Active');
    // A finalizer nobody removes keeps the namespace Terminating.
    await create(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'health-leaving' } });
    await api.call('POST', '/api/v1/namespaces/health-leaving/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', finalizers: ['health.example.com/hold'] } });
    await api.call('DELETE', pathOf('Namespace', 'health-leaving'));
    save('namespace-terminating', await poll(() => get(api, 'Namespace', 'health-leaving'), (n) => st(n).phase === 'Terminating', 10_000), 'Terminating');
  },

  async configmap(api) {
    await create(api, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: NS }, data: { level: 'info' } });
    save('configmap', await get(api, 'ConfigMap', 'settings'), 'a kind without status');
  },
};

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !(n in captures));
  if (unknown.length > 0) throw new Error(`unknown capture(s) ${unknown.join(', ')}; known: ${Object.keys(captures).join(', ')}`);
  mkdirSync(OUT, { recursive: true });
  const wp = await startWorkloadPlane({ nodes: 2 });
  console.log(`workload plane ready in ${wp.startupMs} ms`);
  try {
    const api = apiFor(wp);
    await create(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await poll(() => api.call('GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`).then((r) => ({ ok: r.status === 200 })), (r) => r.ok === true, 30_000);
    // One at a time: each is quick, and the captures then never compete for the two cores.
    for (const [name, capture] of Object.entries(captures)) {
      if (only.length > 0 && !only.includes(name)) continue;
      console.log(name);
      await capture(api);
    }
  } finally {
    await wp.stop();
  }
  console.log(`saved ${saved.length} fixtures in ${OUT}`);
  if (missed.length > 0) console.log(`missed (files left as they were): ${missed.join('; ')}`);
}

await main();
