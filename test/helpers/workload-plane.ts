/**
 * A control plane that runs workloads, for tests: the bare control plane of control-plane.ts
 * (etcd + kube-apiserver) plus kube-controller-manager, kube-scheduler and KWOK playing the
 * kubelet of N fake nodes. A Deployment goes ReplicaSet → Pods scheduled → Running/Ready →
 * Available as on a real cluster, only no container runs anywhere.
 *
 * - KWOK moves nodes and pods through Stages read from test/fixtures/kwok-stages/ (KWOK's
 *   standard node-initialize, node-heartbeat, pod-ready, pod-complete, pod-delete, and
 *   pushsync's pod-image-pull-backoff): a pod whose image matches `failingImagePattern`
 *   (default: a registry under `.invalid`, e.g. `registry.invalid/web:1`) stays Pending and
 *   not Ready, that container waiting in ImagePullBackOff (its others running), so its
 *   Deployment ends in ProgressDeadlineExceeded.
 * - The harness plays the cloud provider's load-balancer controller: a Service of type
 *   LoadBalancer (without a loadBalancerClass) gets `status.loadBalancer.ingress` with a
 *   loopback address 127.0.0.10, .11, … No traffic is sent anywhere.
 * - Service-account tokens: kube-controller-manager signs with the API server's key, and
 *   the ServiceAccount admission plugin is on (the bare plane turns it off), so a namespace
 *   gets its `default` ServiceAccount and Pods are admitted as on a real cluster.
 *
 * Binaries: kube-apiserver/etcd/kubectl as for the bare plane; kube-controller-manager,
 * kube-scheduler and kwok from whatever `scripts/ensure-workloads.sh --no-build` finds
 * ($PUSHSYNC_WORKLOAD_ASSETS, which scripts/test.sh exports, or its cache). It never builds.
 *
 * Startup is a few seconds more than the bare plane; tests that need no workloads keep
 * using startControlPlane.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import {
  binaryFinder,
  ControlPlaneError,
  freePorts,
  startControlPlane,
  type CompanionProcess,
  type ControlPlane,
  type ControlPlaneOptions,
} from './control-plane.ts';

export interface WorkloadPlaneOptions extends ControlPlaneOptions {
  /** How many fake nodes KWOK manages; default 2. */
  readonly nodes?: number;
  /**
   * A regular expression (RE2: KWOK's jq `test` and Go template `regexMatch` read it) for
   * container images that never pull; their pods stay in ImagePullBackOff. Default
   * `^[^/]+\.invalid(:[0-9]+)?/`.
   */
  readonly failingImagePattern?: string;
  /** Play the cloud provider for Services of type LoadBalancer; default true. */
  readonly loadBalancers?: boolean;
}

export interface WorkloadPlane extends ControlPlane {
  /** Directory holding kube-controller-manager, kube-scheduler and kwok. */
  readonly workloadBinDir: string;
  /** The fake nodes' names, `kwok-node-0` … */
  readonly nodeNames: readonly string[];
  /** Milliseconds from the call until controllers, scheduler and every node were ready. */
  readonly startupMs: number;
  pids(): {
    readonly etcd?: number;
    readonly apiServer?: number;
    readonly controllerManager?: number;
    readonly scheduler?: number;
    readonly kwok?: number;
  };
}

const STAGES_DIR = fileURLToPath(new URL('../fixtures/kwok-stages/', import.meta.url));
const STAGE_FILES = [
  'node-initialize.yaml',
  'node-heartbeat.yaml',
  'pod-ready.yaml',
  'pod-complete.yaml',
  'pod-delete.yaml',
  'pod-image-pull-backoff.yaml',
] as const;
const FAILING_STAGE = 'pod-image-pull-backoff.yaml';
/** What KWOK's node selector and the harness's Node objects agree on. */
const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';
const KWOK_ANNOTATION_VALUE = 'fake';
/** The failing stage's pattern, as the string literal written (twice) in its file. */
const DEFAULT_FAILING_IMAGE_LITERAL = String.raw`"^[^/]+\\.invalid(:[0-9]+)?/"`;

const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';
const SCHEDULER_USER = 'system:kube-scheduler';
const KWOK_USER = 'pushsync:kwok';

// --- binaries --------------------------------------------------------------------------

/** kube-controller-manager, kube-scheduler and kwok, from scripts/ensure-workloads.sh's cache or PUSHSYNC_WORKLOAD_ASSETS. */
export const findWorkloadBinaries = binaryFinder({ script: 'ensure-workloads.sh', envVar: 'PUSHSYNC_WORKLOAD_ASSETS', binaries: ['kube-controller-manager', 'kube-scheduler', 'kwok'] });

// --- API calls -------------------------------------------------------------------------

interface ApiClient {
  call(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; json: unknown }>;
}

function apiClient(server: string, caPem: string, token: string): ApiClient {
  return {
    call: (method, path, body, contentType = 'application/json') =>
      new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = request(
          `${server}${path}`,
          {
            method,
            ca: caPem,
            timeout: 10_000,
            headers: {
              Authorization: `Bearer ${token}`,
              Accept: 'application/json',
              ...(data === undefined ? {} : { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(data) }),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => {
              let json: unknown;
              try {
                json = JSON.parse(text);
              } catch {
                json = text;
              }
              resolve({ status: res.statusCode ?? 0, json });
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(data);
      }),
  };
}

/** GET https://127.0.0.1:<port>/healthz of a controller's self-signed endpoint. */
function healthz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

function tokenOf(kubeconfig: string): string {
  const kc = load(kubeconfig) as { users: { user: { token: string } }[] };
  const token = kc.users[0]?.user.token;
  if (!token) throw new Error('kubeconfig without a token');
  return token;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- the cloud provider's part ---------------------------------------------------------

interface ServiceItem {
  readonly metadata: { readonly name: string; readonly namespace: string; readonly uid: string };
  readonly spec?: { readonly type?: string; readonly loadBalancerClass?: string };
  readonly status?: { readonly loadBalancer?: { readonly ingress?: readonly unknown[] } };
}

/**
 * Gives every Service of type LoadBalancer without a loadBalancerClass (those belong to
 * another controller, as on a cloud) an ingress IP on the loopback network, as the cloud
 * provider's service controller would. Polls; a Service keeps its address for its lifetime.
 */
function runLoadBalancerController(api: ApiClient, signal: AbortSignal): Promise<void> {
  const assigned = new Map<string, string>();
  let next = 10;
  const addressFor = (uid: string): string => {
    let ip = assigned.get(uid);
    if (!ip) {
      if (next > 254) next = 10;
      ip = `127.0.0.${next++}`;
      assigned.set(uid, ip);
    }
    return ip;
  };
  return (async () => {
    while (!signal.aborted) {
      try {
        const r = await api.call('GET', '/api/v1/services');
        const items = r.status === 200 ? ((r.json as { items?: ServiceItem[] }).items ?? []) : [];
        for (const svc of items) {
          if (svc.spec?.type !== 'LoadBalancer' || svc.spec.loadBalancerClass) continue;
          if ((svc.status?.loadBalancer?.ingress?.length ?? 0) > 0) continue;
          const { namespace, name, uid } = svc.metadata;
          await api.call(
            'PATCH',
            `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}/status`,
            { status: { loadBalancer: { ingress: [{ ip: addressFor(uid), ipMode: 'VIP' }] } } },
            'application/merge-patch+json',
          );
        }
      } catch {
        // The API server may be restarting (restartApiServer); try again on the next round.
      }
      await sleep(300);
    }
  })();
}

// --- the workload plane ----------------------------------------------------------------

function stageFiles(dir: string, failingImagePattern: string | undefined): string[] {
  return STAGE_FILES.map((f) => {
    const path = join(STAGES_DIR, f);
    if (f !== FAILING_STAGE || failingImagePattern === undefined) return path;
    // A JSON string literal is also a valid jq and Go-template string literal.
    const text = readFileSync(path, 'utf8');
    const parts = text.split(DEFAULT_FAILING_IMAGE_LITERAL);
    if (parts.length !== 3) throw new Error(`${path}: expected the pattern ${DEFAULT_FAILING_IMAGE_LITERAL} twice (selector and template)`);
    const out = join(dir, f);
    writeFileSync(out, parts.join(JSON.stringify(failingImagePattern)));
    return out;
  });
}

/**
 * The CA certificates of the API server's serving chain, as a file: what a controller's
 * --root-ca-file wants (kube-root-ca.crt ConfigMaps, the apiserver-serving ClusterTrustBundle,
 * which refuses a bundle whose first entry is the leaf).
 */
function rootCaFile(chainPem: string, path: string): string {
  const blocks = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const cas = blocks.filter((b) => new X509Certificate(b).ca);
  writeFileSync(path, (cas.length > 0 ? cas : blocks).join('\n') + '\n');
  return path;
}

function nodeObject(name: string, index: number): unknown {
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_ANNOTATION]: KWOK_ANNOTATION_VALUE, 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
    },
    // KWOK's node-initialize keeps what is there and fills in the rest (conditions, nodeInfo).
    status: {
      allocatable: resources,
      capacity: resources,
      addresses: [
        { type: 'InternalIP', address: `10.240.${Math.floor(index / 250)}.${(index % 250) + 1}` },
        { type: 'Hostname', address: name },
      ],
    },
  };
}

export async function startWorkloadPlane(options: WorkloadPlaneOptions = {}): Promise<WorkloadPlane> {
  const t0 = Date.now();
  const workloadBinDir = findWorkloadBinaries();
  const nodeCount = options.nodes ?? 2;
  if (!Number.isInteger(nodeCount) || nodeCount < 0) throw new Error(`nodes must be a whole number ≥ 0, not ${nodeCount}`);
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;

  const cp = await startControlPlane({
    ...options,
    users: [
      ...(options.users ?? []),
      // --use-service-account-credentials=false: one identity for every controller.
      { name: CONTROLLER_MANAGER_USER, groups: ['system:masters'] },
      // The scheduler runs with exactly the bootstrap RBAC a real one has.
      { name: SCHEDULER_USER },
      { name: KWOK_USER, groups: ['system:masters'] },
    ],
    // A real cluster's admission: the bare plane turns ServiceAccount and ResourceQuota off
    // because their controllers do not run there; here they do.
    disabledAdmissionPlugins: options.disabledAdmissionPlugins ?? [],
  });

  const abort = new AbortController();
  let lbLoop: Promise<void> | undefined;
  const stopAll = async (): Promise<void> => {
    abort.abort();
    await lbLoop;
    await cp.stop();
  };

  try {
    const dir = join(cp.dir, 'workloads');
    mkdirSync(dir);
    const kubeconfigFile = (user: string): string => {
      const p = join(dir, `${user.replace(/[^a-z0-9-]/gi, '_')}.kubeconfig`);
      writeFileSync(p, cp.kubeconfigFor(user), { mode: 0o600 });
      return p;
    };
    const api = apiClient(cp.server, cp.caPem, tokenOf(cp.kubeconfig));
    const [kcmPort, schedulerPort] = (await freePorts(2)) as [number, number];
    const bin = (b: 'kube-controller-manager' | 'kube-scheduler' | 'kwok'): string => join(workloadBinDir, b);

    const controllerManager = cp.startCompanion('kube-controller-manager', bin('kube-controller-manager'), [
      `--kubeconfig=${kubeconfigFile(CONTROLLER_MANAGER_USER)}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--cert-dir=${join(dir, 'kcm-certs')}`,
      '--leader-elect=false',
      // Every controller that is on by default (deployment, replicaset, serviceaccount and
      // serviceaccount-token, namespace, garbage-collector, node-lifecycle, endpointslice, …);
      // node-ipam idles (--allocate-node-cidrs is false: KWOK assigns pod IPs). There is no
      // cloud provider: the harness gives LoadBalancer Services their address (below).
      '--controllers=*',
      '--use-service-account-credentials=false',
      `--service-account-private-key-file=${cp.serviceAccountKeyPath}`,
      `--root-ca-file=${rootCaFile(cp.caPem, join(dir, 'root-ca.crt'))}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--profiling=false',
    ]);
    const scheduler = cp.startCompanion('kube-scheduler', bin('kube-scheduler'), [
      `--kubeconfig=${kubeconfigFile(SCHEDULER_USER)}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
      `--cert-dir=${join(dir, 'scheduler-certs')}`,
      '--leader-elect=false',
    ]);

    const nodeNames = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);
    for (const name of nodeNames) {
      const r = await api.call('POST', '/api/v1/nodes', nodeObject(name, nodeNames.indexOf(name)));
      if (r.status !== 201) throw new Error(`creating Node ${name}: ${r.status} ${JSON.stringify(r.json)}`);
    }

    const kwokHome = join(dir, 'kwok-home');
    mkdirSync(kwokHome);
    const kwok = cp.startCompanion(
      'kwok',
      bin('kwok'),
      [
        `--kubeconfig=${kubeconfigFile(KWOK_USER)}`,
        `--manage-nodes-with-annotation-selector=${KWOK_ANNOTATION}=${KWOK_ANNOTATION_VALUE}`,
        // Pod IPs outside the Service range (KWOK's default, 10.0.0.0/24, is the same).
        '--cidr=10.244.0.0/16',
        // KWOK renews each node's Lease, the heartbeat the node lifecycle controller watches.
        '--node-lease-duration-seconds=40',
        ...stageFiles(dir, options.failingImagePattern).flatMap((f) => ['--config', f]),
      ],
      // Its default configuration file is ~/.kwok/kwok.yaml: never read this machine's.
      { env: { ...process.env, HOME: kwokHome } },
    );

    // Ready: both controllers answer /healthz, every node is Ready (KWOK runs and the
    // stages load), and `default` has its ServiceAccount (the controllers work).
    const companions: readonly CompanionProcess[] = [controllerManager, scheduler, kwok];
    const deadline = Date.now() + startTimeoutMs;
    let waitingFor = 'the controllers';
    for (;;) {
      for (const c of companions) {
        const report = c.exitReport();
        if (report) throw new ControlPlaneError('PROCESS_EXITED', report);
      }
      if (Date.now() > deadline) {
        throw new ControlPlaneError('START_TIMEOUT', `workload plane not ready after ${startTimeoutMs} ms: waiting for ${waitingFor} (logs in ${cp.dir})`);
      }
      const [kcm, sched] = await Promise.all([healthz(kcmPort), healthz(schedulerPort)]);
      if (kcm !== 200 || sched !== 200) {
        waitingFor = `kube-controller-manager /healthz (${kcm || 'no answer'}) and kube-scheduler /healthz (${sched || 'no answer'})`;
      } else {
        const nodes = await api.call('GET', '/api/v1/nodes');
        const items = (nodes.json as { items?: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }).items ?? [];
        const ready = new Set(
          items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name),
        );
        const notReady = nodeNames.filter((n) => !ready.has(n));
        if (notReady.length > 0) {
          waitingFor = `KWOK to make nodes Ready: ${notReady.join(', ')}`;
        } else {
          const sa = await api.call('GET', '/api/v1/namespaces/default/serviceaccounts/default');
          if (sa.status === 200) break;
          waitingFor = 'the ServiceAccount controller (default/default)';
        }
      }
      await sleep(200);
    }

    if (options.loadBalancers ?? true) lbLoop = runLoadBalancerController(api, abort.signal);

    return {
      ...cp,
      workloadBinDir,
      nodeNames,
      startupMs: Date.now() - t0,
      pids: () => ({
        ...cp.pids(),
        ...(controllerManager.pid() ? { controllerManager: controllerManager.pid() } : {}),
        ...(scheduler.pid() ? { scheduler: scheduler.pid() } : {}),
        ...(kwok.pid() ? { kwok: kwok.pid() } : {}),
      }),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
