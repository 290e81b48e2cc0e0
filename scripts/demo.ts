/**
 * `npm run demo`: pushsync end to end on this machine, for a newcomer to watch: green means running.
 *
 * A Kubernetes control plane that runs workloads (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and two KWOK nodes standing in for kubelets: Pods are scheduled and become
 * Ready, no container runs), the GitHub stand-in from the tests over a real git repository, and
 * `pushsync serve` wired as `npm start` wires it, with pushes delivered to its /webhook signed
 * the way GitHub signs them. The cluster is registered with a health timeout, so
 * `pushsync/<cluster>` stays pending while the commit rolls out and turns green only once every
 * object is healthy. Five pushes:
 *
 *   1. the Online Boutique: pending with the rollout's progress, then `success: 25 objects
 *      healthy`, and `kubectl get deploy` lists twelve Deployments 1/1;
 *   2. a change (frontend scaled to 3, a Service removed): green once 3/3 run, the Service pruned;
 *   3. an image that never pulls (`registry.invalid/…`, progressDeadlineSeconds 10): `failure`
 *      naming the Deployment, ProgressDeadlineExceeded and the pod's ImagePullBackOff, and that
 *      commit's GitHub Deployment `failure`, while the old Pod keeps serving;
 *   4. its revert: green again;
 *   5. a commit that fails validation: red on pushsync/vet, nothing applied.
 *
 * Prints the status checks as GitHub would show them as they change, what is on the cluster, and
 * the Environments view (each commit's GitHub Deployment: queued → in_progress → success/failure);
 * checks each outcome and exits 1 if one is not what it should be.
 *
 *   npm run demo             run it, clean up everything, exit
 *   npm run demo -- --keep   leave everything running afterwards (kubectl it), Ctrl-C to clean up
 *
 * Binaries: scripts/ensure-apiserver.sh and scripts/ensure-workloads.sh (built once per machine,
 * or $KUBEBUILDER_ASSETS / $PUSHSYNC_WORKLOAD_ASSETS). Logs (JSON) go to a file whose path is
 * printed ($PUSHSYNC_DEMO_LOG to choose it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync, statSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { startServe, type RunningServe } from '../lib/local/index.ts';
import { FileSecretStore, registerCluster, setGitHubToken, setWebhookSecrets } from '../lib/registry/index.ts';
import { buildPushPayload, startGitHubServer, webhookDelivery, type GitHubServer, type StatusRecord } from '../test/helpers/github-server.ts';
import { startWorkloadPlane, type WorkloadPlane } from '../test/helpers/workload-plane.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SEED = path.join(ROOT, 'examples', 'online-boutique');
const MANIFESTS_PATH = 'namespaces/onlineboutique/kubernetes-manifests.yaml';
const OWNER = 'acme';
const REPO = 'policy';
const CLUSTER = 'mycluster';
const NAMESPACE = 'onlineboutique';
const CLUSTER_CONTEXT = `pushsync/${CLUSTER}`;
const CONTEXTS = ['pushsync/vet', CLUSTER_CONTEXT];
/** `clusters register --health-timeout`: how long a rollout may take before its status fails. */
const HEALTH_TIMEOUT_S = 180;
/** The bad image's Deployment gives up this soon (Kubernetes' default is 600 s: too long to watch). */
const PROGRESS_DEADLINE_S = 10;
const BAD_DEPLOYMENT = 'cartservice';
const BAD_IMAGE = `registry.invalid/${BAD_DEPLOYMENT}:v0.2.0`;
const JOB_TIMEOUT_MS = 180_000;
const keep = process.argv.includes('--keep');

const out = (text = ''): void => void process.stdout.write(`${text}\n`);
const short = (sha: string): string => sha.slice(0, 7);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

// ---- everything started, for cleanup --------------------------------------------------------

interface Started {
  build?: ChildProcess;
  cp?: WorkloadPlane;
  github?: GitHubServer;
  serve?: RunningServe;
  home?: string;
  log?: WriteStream;
}
const started: Started = {};
let cleaning: Promise<void> | undefined;
let stopRequested = false;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const steps: [string, () => Promise<unknown> | undefined][] = [
      ['the Go build', async () => started.build?.exitCode === null && started.build.kill('SIGTERM')],
      // A git write or a request cut off by Ctrl-C still runs: removing its directory under it
      // would let git recreate part of it.
      ['what was in flight', () => Promise.race([Promise.allSettled([...inflight]), new Promise((resolve) => setTimeout(resolve, 5_000))])],
      // Also drops the rollout's pending health checks (timers): nothing is left to wait for.
      ['pushsync serve', () => started.serve?.shutdown('demo over')],
      ['the GitHub stand-in', () => started.github?.close()],
      ['the control plane', () => started.cp?.stop()],
      ['the pushsync home', () => (started.home ? rm(started.home, { recursive: true, force: true }) : undefined)],
      ['the log file', () => (started.log ? new Promise((resolve) => started.log?.end(resolve)) : undefined)],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (err) {
        process.stderr.write(`demo: could not stop ${what}: ${(err as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

/** Rejected by Ctrl-C: every wait of the demo races it, so the demo stops where it is. */
class Interrupted extends Error {
  constructor(readonly exitCode: number) {
    super('interrupted');
  }
}
let interrupt: ((err: Interrupted) => void) | undefined;
const interrupted = new Promise<never>((_, reject) => (interrupt = reject));
interrupted.catch(() => undefined);
const inflight = new Set<Promise<unknown>>();
const wait = <T>(work: Promise<T>): Promise<T> => {
  inflight.add(work);
  work.then(
    () => inflight.delete(work),
    () => inflight.delete(work),
  );
  return Promise.race([work, interrupted]);
};

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    if (cleaning !== undefined || stopRequested) return;
    stopRequested = true;
    out(`\n${signal === 'SIGINT' ? 'Interrupted' : 'Terminated'}: stopping everything and removing the temporary files…`);
    // What was in flight when the demo stopped (a git write, a request) may fail as its
    // server goes away; that is expected now and must not cut the cleanup short.
    process.on('uncaughtException', (err) => void started.log?.write(`${JSON.stringify({ level: 'warn', msg: 'after interrupt', error: String(err) })}\n`));
    interrupt?.(new Interrupted(code));
  });
}

// ---- set-up ---------------------------------------------------------------------------------

/**
 * scripts/<script>: finds the binaries, or builds them once (progress on stderr); resolves to
 * the directory it prints last. One at a time: the second build reuses the first's compiled
 * packages, and the machine may have only two cores.
 */
function ensureBinaries(script: 'ensure-apiserver.sh' | 'ensure-workloads.sh'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(ROOT, 'scripts', script)], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.build = child;
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.once('error', reject);
    child.once('close', (code) => {
      const dir = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && dir !== '') resolve(dir);
      else reject(new Error(`scripts/${script} failed (exit ${code}); see its messages above`));
    });
  });
}

/** The seed policy repo: every file under examples/online-boutique, path → text. */
function seedFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files[path.relative(SEED, full).split(path.sep).join('/')] = readFileSync(full, 'utf8');
    }
  };
  walk(SEED);
  return files;
}

/** `manifests` with one Deployment's (first) container image replaced and a short progress deadline. */
function withImage(manifests: string, deployment: string, image: string, progressDeadlineSeconds: number): string {
  const docs = manifests.split(/^---$/m);
  const i = docs.findIndex((d) => /^kind: Deployment$/m.test(d) && new RegExp(`^  name: ${deployment}$`, 'm').test(d));
  if (i < 0) throw new Error(`no Deployment ${deployment} in ${MANIFESTS_PATH}`);
  docs[i] = (docs[i] as string).replace(/^(\s+image: ).*$/m, `$1${image}`).replace(/^spec:$/m, `spec:\n  progressDeadlineSeconds: ${progressDeadlineSeconds}`);
  return docs.join('---');
}

// ---- the cluster, as kubectl would list it ----------------------------------------------------

interface DeploymentView {
  readonly replicas: number;
  readonly ready: number;
  readonly image: string;
  readonly rv: string;
}

interface ClusterView {
  readonly namespaces: readonly string[];
  readonly deployments: ReadonlyMap<string, DeploymentView>;
  readonly services: ReadonlyMap<string, { type: string; clusterIP: string; externalIP: string; ports: string; rv: string }>;
  /** Pods Running and Ready, per node. */
  readonly runningPods: ReadonlyMap<string, number>;
}

async function readCluster(kc: k8s.KubeConfig): Promise<ClusterView> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const [ns, deploys, svcs, pods] = await Promise.all([
    core.listNamespace(),
    apps.listNamespacedDeployment({ namespace: NAMESPACE }),
    core.listNamespacedService({ namespace: NAMESPACE }),
    core.listNamespacedPod({ namespace: NAMESPACE }),
  ]);
  const deployments = new Map<string, DeploymentView>();
  for (const d of deploys.items) {
    deployments.set(d.metadata?.name ?? '?', {
      replicas: d.spec?.replicas ?? 1,
      ready: d.status?.readyReplicas ?? 0,
      image: d.spec?.template.spec?.containers[0]?.image ?? '',
      rv: d.metadata?.resourceVersion ?? '',
    });
  }
  const services = new Map<string, { type: string; clusterIP: string; externalIP: string; ports: string; rv: string }>();
  for (const s of svcs.items) {
    const ports = (s.spec?.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
    const externalIP = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').join(',') || (s.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>');
    services.set(s.metadata?.name ?? '?', { type: s.spec?.type ?? '', clusterIP: s.spec?.clusterIP ?? '', externalIP, ports, rv: s.metadata?.resourceVersion ?? '' });
  }
  const runningPods = new Map<string, number>();
  for (const p of pods.items) {
    const ready = p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    const node = p.spec?.nodeName;
    if (ready && node) runningPods.set(node, (runningPods.get(node) ?? 0) + 1);
  }
  return { namespaces: ns.items.map((n) => n.metadata?.name ?? '?').sort(), deployments, services, runningPods };
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => `     ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('')}`);
}

/** Runs kubectl against the demo's cluster and prints the command and what it printed. */
async function kubectl(cp: WorkloadPlane, args: readonly string[]): Promise<string> {
  const r = await wait(cp.kubectl(args));
  out(`   $ kubectl ${args.join(' ')}`);
  for (const line of (r.code === 0 ? r.stdout : r.stderr).trimEnd().split('\n')) out(`     ${line}`);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The Deployments that are not fully ready, as `name ready/replicas`. */
function notReady(view: ClusterView): string[] {
  return [...view.deployments].filter(([, d]) => d.ready !== d.replicas).map(([n, d]) => `${n} ${d.ready}/${d.replicas}`);
}

function podsLine(view: ClusterView): string {
  const total = [...view.runningPods.values()].reduce((a, b) => a + b, 0);
  const perNode = [...view.runningPods].sort().map(([node, n]) => `${n} on ${node}`).join(', ');
  return `${total} Pods Running and Ready (${perNode || 'none'}): KWOK plays their kubelet, so no container runs, but the scheduler, the controllers and the status are the real ones.`;
}

function printServices(view: ClusterView): void {
  out(`   $ kubectl get svc -n ${NAMESPACE}   (as a table)`);
  for (const line of table([['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)'], ...[...view.services].sort().map(([n, s]) => [n, s.type, s.clusterIP, s.externalIP, s.ports])])) out(line);
}

function clusterChanges(before: ClusterView, after: ClusterView): string[] {
  const lines: string[] = [];
  for (const ns of after.namespaces) if (!before.namespaces.includes(ns)) lines.push(`namespace/${ns}: created`);
  for (const [kind, b, a] of [['deployment', before.deployments, after.deployments], ['service', before.services, after.services]] as const) {
    for (const [name, obj] of a) {
      const old = b.get(name);
      if (old === undefined) lines.push(`${kind}/${name}: created`);
      else if (old.rv !== obj.rv) {
        // A Deployment's status changes its resourceVersion too: say only what Git changed.
        if ('replicas' in old && 'replicas' in obj) {
          if (old.replicas !== obj.replicas) lines.push(`${kind}/${name}: replicas ${old.replicas} → ${obj.replicas}`);
          if (old.image !== obj.image) lines.push(`${kind}/${name}: image ${old.image} → ${obj.image}`);
        } else lines.push(`${kind}/${name}: updated`);
      }
    }
    for (const name of b.keys()) if (!a.has(name)) lines.push(`${kind}/${name}: deleted (pruned: it is no longer in Git)`);
  }
  return lines;
}

// ---- a push, as GitHub would deliver it ------------------------------------------------------

const STATE_WIDTH = 8;

async function pushAndWatch(serve: RunningServe, github: GitHubServer, secret: string, before: string | undefined, after: string): Promise<Map<string, StatusRecord>> {
  const payload = await wait(buildPushPayload({ git: github.git, owner: OWNER, repo: REPO, ref: 'main', ...(before ? { before } : {}), after, apiUrl: github.url }));
  const delivery = webhookDelivery(payload, secret);
  const t0 = Date.now();
  const res = await wait(fetch(`${serve.url}/webhook`, { method: 'POST', headers: delivery.headers, body: delivery.body }));
  const answer = (await wait(res.json())) as { message?: string };
  out(`   git push → GitHub delivers the push webhook → pushsync answers ${res.status} in ${Date.now() - t0} ms: ${answer.message ?? ''}`);
  if (res.status !== 202) throw new Error(`the webhook was not accepted (${res.status}): ${answer.message ?? ''}`);

  out(`   Status checks on ${short(after)}, as they change:`);
  let seen = 0;
  const printNew = (): void => {
    const mine = github.statuses.filter((s) => s.sha === after);
    for (const s of mine.slice(seen)) out(`     ${seconds(Date.now() - t0).padStart(6)}  ${s.context.padEnd(20)}${s.state.padEnd(STATE_WIDTH)}  ${s.description ?? ''}`);
    seen = mine.length;
  };
  const timer = setInterval(printNew, 50);
  let timeout: NodeJS.Timeout | undefined;
  try {
    // Idle includes the delayed health checks: it comes once the rollout has its verdict.
    const finished = await Promise.race([
      interrupted,
      serve.wired.invoker.idle().then(() => true),
      new Promise<boolean>((resolve) => (timeout = setTimeout(() => resolve(false), JOB_TIMEOUT_MS))),
    ]);
    if (!finished) throw new Error(`the jobs for ${short(after)} did not finish within ${JOB_TIMEOUT_MS / 1000} s; see the log`);
  } finally {
    clearInterval(timer);
    clearTimeout(timeout);
  }
  printNew();
  return github.latestStatuses(after);
}

/** The states of the GitHub Deployments of `sha` (one per cluster; here one), oldest first. */
function deploymentStates(github: GitHubServer, sha: string): string[][] {
  return github.deployments({ sha }).map((d) => d.statuses.map((s) => s.state));
}

function printDeployment(github: GitHubServer, sha: string): string[] {
  const states = deploymentStates(github, sha)[0] ?? [];
  out(`   GitHub Deployment of ${short(sha)} (environment ${CLUSTER}): ${states.length > 0 ? states.join(' → ') : 'none'}`);
  return states;
}

// ---- the demo -----------------------------------------------------------------------------

async function main(): Promise<number> {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string): void => void (ok || problems.push(what));
  const logPath = process.env.PUSHSYNC_DEMO_LOG ?? path.join(tmpdir(), `pushsync-demo-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);

  out('pushsync demo: a push to a GitHub repo, checked, reported on the commit, applied to a Kubernetes');
  out('cluster, and green only once it runs there. Everything runs on this machine; nothing here touches github.com.');
  out();
  out('Setting up');
  out('   Kubernetes binaries (kube-apiserver, etcd, kubectl; kube-controller-manager, kube-scheduler, KWOK):');
  out('   the first run builds them from source with Go, which takes 30-45 minutes on 2 cores; later runs');
  out('   reuse ~/.cache/pushsync.');
  const t0 = Date.now();
  process.env.KUBEBUILDER_ASSETS = await wait(ensureBinaries('ensure-apiserver.sh'));
  process.env.PUSHSYNC_WORKLOAD_ASSETS = await wait(ensureBinaries('ensure-workloads.sh'));
  out(`   ✓ binaries in ${process.env.KUBEBUILDER_ASSETS} and ${process.env.PUSHSYNC_WORKLOAD_ASSETS}`);
  started.cp = await wait(startWorkloadPlane({ nodes: 2 }));
  const cp = started.cp;
  out(`   ✓ Kubernetes API server at ${cp.server}, with kube-controller-manager, kube-scheduler and ${cp.nodeNames.length} KWOK nodes`);
  out(`     (${cp.nodeNames.join(', ')}; started in ${seconds(cp.startupMs)})`);
  started.github = await wait(startGitHubServer({ owner: OWNER, repo: REPO }));
  const github = started.github;
  out(`   ✓ GitHub stand-in for repository ${OWNER}/${REPO} at ${github.url} (GitHub's REST API over the git repository ${github.git.dir})`);

  started.home = await mkdtemp(path.join(tmpdir(), 'pushsync-demo-home-'));
  const home = started.home;
  const secret = randomBytes(32).toString('hex');
  const log = createWriteStream(logPath, { flags: 'a' });
  started.log = log;
  const store = new FileSecretStore(home);
  await setWebhookSecrets(store, [secret]);
  await setGitHubToken(store, github.token);
  const reg = await registerCluster(store, {
    name: CLUSTER,
    kubeconfig: cp.kubeconfig,
    repo: `${OWNER}/${REPO}`,
    branch: 'main',
    dir: '.',
    sourceFormat: 'hierarchy',
    healthTimeout: HEALTH_TIMEOUT_S,
  });
  if (!reg.ok) throw new Error(`registering ${CLUSTER}: ${reg.errors.map((e) => e.message).join('; ')}`);
  out(`   ✓ pushsync clusters register ${CLUSTER} --repo ${OWNER}/${REPO} --branch main --dir . --health-timeout ${HEALTH_TIMEOUT_S}s   (secrets in ${home})`);

  // `pushsync serve`, as `npm start` runs it, pointed at the stand-in instead of api.github.com.
  // Its health checks follow a rollout 2 s, 4 s, 8 s, then every 10 s after the apply.
  started.serve = await wait(startServe({
    config: { host: '127.0.0.1', port: 0, home, homeEnv: home, githubBaseUrl: github.url, concurrency: 8, jobTimeoutMs: 300_000, shutdownTimeoutMs: 3_000 },
    logSink: (line) => void log.write(`${line}\n`),
    // The demo prints its own account; the server's notes for a person would only repeat it.
    say: () => undefined,
  }));
  const serve = started.serve;
  out(`   ✓ pushsync serve: webhook at ${serve.url}/webhook; its logs go to ${logPath}`);
  out(`   (set up in ${seconds(Date.now() - t0)})`);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cp.kubeconfig);
  const clusterStatus = (sha: string): string[] =>
    github.statuses.filter((s) => s.sha === sha && s.context === CLUSTER_CONTEXT).map((s) => `${s.state}: ${s.description ?? ''}`);

  // 1. The Online Boutique.
  out();
  out('1. Push the Online Boutique: system/repo.yaml and namespaces/onlineboutique/ (12 Deployments, 12 Services)');
  const seed = seedFiles();
  const boutique = await wait(github.git.commit(seed, { message: 'Online Boutique' }));
  const s1 = await pushAndWatch(serve, github, secret, undefined, boutique);
  const d1 = printDeployment(github, boutique);
  out();
  out('   At that moment, on the cluster:');
  const kubectl1 = await kubectl(cp, ['get', 'deploy', '-n', NAMESPACE]);
  const v1 = await wait(readCluster(kc));
  out(`     ${podsLine(v1)}`);
  out();
  printServices(v1);
  out(`     (namespaces: ${v1.namespaces.join(', ')})`);
  const ready1 = kubectl1.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1]);
  expect(s1.get('pushsync/vet')?.state === 'success', `push 1: pushsync/vet should be success, got ${describe(s1)}`);
  expect(s1.get(CLUSTER_CONTEXT)?.state === 'success' && /^25 objects healthy in \d+ s$/.test(s1.get(CLUSTER_CONTEXT)?.description ?? ''), `push 1: ${CLUSTER_CONTEXT} should be success: 25 objects healthy, got ${describe(s1)}`);
  expect(clusterStatus(boutique).some((s) => /^pending: applied 25 .*rolling out: \d+\/12 Deployments available/.test(s)), `push 1: ${CLUSTER_CONTEXT} should have been pending with the rollout's progress first, got ${JSON.stringify(clusterStatus(boutique))}`);
  expect(ready1.length === 12 && ready1.every((r) => r === '1/1'), `push 1: kubectl should list twelve Deployments 1/1, got ${JSON.stringify(ready1)}`);
  expect(v1.namespaces.includes(NAMESPACE) && v1.services.size === 12, `push 1: expected namespace ${NAMESPACE} and 12 Services`);
  expect(d1.join(' ') === 'queued in_progress success', `push 1: the GitHub Deployment should go queued → in_progress → success, got ${d1.join(' → ') || 'none'}`);

  // 2. A change.
  out();
  out('2. Push a change: scale the frontend Deployment to 3 replicas and remove the redis-cart Service');
  const manifests = seed[MANIFESTS_PATH] ?? '';
  const changed = manifests
    .replace(/(kind: Deployment\nmetadata:\n {2}name: frontend\nspec:\n)/, '$1  replicas: 3\n')
    .replace(/---\napiVersion: v1\nkind: Service\nmetadata:\n {2}name: redis-cart\n[\s\S]*?(?=\n---)/, '');
  if (changed === manifests) throw new Error(`${MANIFESTS_PATH} does not have the expected shape for the demo's edit`);
  const change = await wait(github.git.commit({ [MANIFESTS_PATH]: changed }, { message: 'Scale frontend to 3, drop the redis-cart Service' }));
  const s2 = await pushAndWatch(serve, github, secret, boutique, change);
  const d2 = printDeployment(github, change);
  const v2 = await wait(readCluster(kc));
  const diff = clusterChanges(v1, v2);
  out('   What changed on the cluster:');
  for (const line of diff) out(`     ${line}`);
  out(`   frontend: ${v2.deployments.get('frontend')?.ready ?? 0}/${v2.deployments.get('frontend')?.replicas ?? 0} ready when the check turned green.`);
  expect(CONTEXTS.every((c) => s2.get(c)?.state === 'success') && /^24 objects healthy in \d+ s$/.test(s2.get(CLUSTER_CONTEXT)?.description ?? ''), `push 2: every status should be success (24 objects healthy), got ${describe(s2)}`);
  expect(v2.deployments.get('frontend')?.replicas === 3 && v2.deployments.get('frontend')?.ready === 3 && !v2.services.has('redis-cart'), 'push 2: frontend should have 3 ready replicas and redis-cart should be gone');
  expect(d2.join(' ') === 'queued in_progress success', `push 2: the GitHub Deployment should go queued → in_progress → success, got ${d2.join(' → ') || 'none'}`);

  // 3. An image that never pulls.
  out();
  out(`3. Push a bad image: ${BAD_DEPLOYMENT} gets image ${BAD_IMAGE}, which never pulls,`);
  out(`   and progressDeadlineSeconds: ${PROGRESS_DEADLINE_S} (so its Deployment gives up soon)`);
  const badMessage = `Move ${BAD_DEPLOYMENT} to our own registry`;
  const bad = await wait(github.git.commit({ [MANIFESTS_PATH]: withImage(changed, BAD_DEPLOYMENT, BAD_IMAGE, PROGRESS_DEADLINE_S) }, { message: badMessage }));
  const s3 = await pushAndWatch(serve, github, secret, change, bad);
  const d3 = printDeployment(github, bad);
  out();
  out('   On the cluster, the old Pod still serves: a rolling update keeps it until its successor is Ready, which never happens.');
  await kubectl(cp, ['get', 'deploy', BAD_DEPLOYMENT, '-n', NAMESPACE]);
  await kubectl(cp, ['get', 'pods', '-n', NAMESPACE, '-l', `app=${BAD_DEPLOYMENT}`, '-o', 'custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image,READY:.status.containerStatuses[0].ready,REASON:.status.containerStatuses[0].state.waiting.reason']);
  const v3 = await wait(readCluster(kc));
  const failed = s3.get(CLUSTER_CONTEXT);
  expect(s3.get('pushsync/vet')?.state === 'success', `push 3: pushsync/vet should be success (the commit is valid), got ${describe(s3)}`);
  expect(
    failed?.state === 'failure' && new RegExp(`^Deployment ${NAMESPACE}/${BAD_DEPLOYMENT}: ProgressDeadlineExceeded; pod ${BAD_DEPLOYMENT}-\\S+: ImagePullBackOff`).test(failed.description ?? ''),
    `push 3: ${CLUSTER_CONTEXT} should fail naming ${BAD_DEPLOYMENT}, ProgressDeadlineExceeded and ImagePullBackOff, got ${failed?.state ?? 'none'}: ${failed?.description ?? ''}`,
  );
  expect(d3.join(' ') === 'queued in_progress failure', `push 3: the GitHub Deployment should go queued → in_progress → failure, got ${d3.join(' → ') || 'none'}`);
  expect(v3.deployments.get(BAD_DEPLOYMENT)?.ready === 1, `push 3: the old ${BAD_DEPLOYMENT} Pod should still be ready`);

  // 4. The fix: a revert.
  out();
  out(`4. Push the fix: git revert ${short(bad)} (${BAD_DEPLOYMENT} back to its image, no short deadline)`);
  const fix = await wait(github.git.commit({ [MANIFESTS_PATH]: changed }, { message: `Revert "${badMessage}"` }));
  const s4 = await pushAndWatch(serve, github, secret, bad, fix);
  const d4 = printDeployment(github, fix);
  out();
  const kubectl4 = await kubectl(cp, ['get', 'deploy', '-n', NAMESPACE]);
  const v4 = await wait(readCluster(kc));
  const stillDown = notReady(v4);
  expect(CONTEXTS.every((c) => s4.get(c)?.state === 'success') && /^24 objects healthy in \d+ s$/.test(s4.get(CLUSTER_CONTEXT)?.description ?? ''), `push 4: every status should be success (24 objects healthy), got ${describe(s4)}`);
  expect(d4.join(' ') === 'queued in_progress success', `push 4: the GitHub Deployment should go queued → in_progress → success, got ${d4.join(' → ') || 'none'}`);
  expect(v4.deployments.size === 12 && stillDown.length === 0 && v4.deployments.get(BAD_DEPLOYMENT)?.image !== BAD_IMAGE, `push 4: all 12 Deployments should be ready on their images, not ready: ${stillDown.join(', ')}`);
  expect(kubectl4.includes(' 3/3 '), 'push 4: kubectl should list frontend 3/3');

  // 5. A broken commit.
  out();
  out('5. Push a broken commit: a ConfigMap with a YAML indentation mistake on line 5 of namespaces/onlineboutique/settings.yaml');
  const broken = await wait(github.git.commit(
    { 'namespaces/onlineboutique/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n data:\n  color: blue\n' },
    { message: 'Add settings (broken)' },
  ));
  const s5 = await pushAndWatch(serve, github, secret, fix, broken);
  const v5 = await wait(readCluster(kc));
  const untouched = clusterChanges(v4, v5).length === 0;
  out(untouched ? `   The cluster is unchanged: still ${v5.deployments.size} Deployments and ${v5.services.size} Services, not one object rewritten.` : '   The cluster CHANGED (it should not have).');
  expect(s5.get('pushsync/vet')?.state === 'failure' && /settings\.yaml:5\b/.test(s5.get('pushsync/vet')?.description ?? ''), `push 5: pushsync/vet should fail naming settings.yaml line 5, got ${describe(s5)}`);
  expect(s5.get(CLUSTER_CONTEXT)?.state === 'failure', 'push 5: the cluster status should say the commit was not applied');
  expect(untouched, 'push 5: the cluster should be unchanged');
  expect(deploymentStates(github, broken).length === 0, 'push 5: a commit that was not applied should get no GitHub Deployment');

  // Summary.
  const history: readonly (readonly [string, string])[] = [
    [boutique, 'Online Boutique'],
    [change, 'Scale frontend to 3, drop redis-cart'],
    [bad, badMessage],
    [fix, `Revert "${badMessage}"`],
    [broken, 'Add settings (broken)'],
  ];
  out();
  out('Summary: the commits of main and their checks, as GitHub shows them');
  const summary: string[][] = [['COMMIT', 'MESSAGE', ...CONTEXTS]];
  for (const [sha, message] of history) {
    const st = github.latestStatuses(sha);
    summary.push([short(sha), message, ...CONTEXTS.map((c) => mark(st.get(c)?.state))]);
  }
  for (const line of table(summary)) out(line);
  out();
  out(`The Environments page (environment ${CLUSTER}): each applied commit's GitHub Deployment and its states, newest first`);
  const environments: string[][] = [['COMMIT', 'MESSAGE', 'DEPLOYMENT STATES']];
  for (const [sha, message] of [...history].reverse()) {
    const states = deploymentStates(github, sha)[0];
    environments.push([short(sha), message, states ? states.join(' → ') : '(none: not applied)']);
  }
  for (const line of table(environments)) out(line);
  out('   Green means running: a commit is green once every object it applied is healthy on the cluster. A');
  out('   commit that does not run turns red with the reason; `git revert` it and push, and the revert goes green.');
  out('   (A later success marks the earlier successful Deployments inactive, as GitHub does with auto_inactive.)');

  if (problems.length > 0) {
    out();
    out('The demo did NOT go as expected:');
    for (const p of problems) out(`   ✗ ${p}`);
    out(`See the log: ${logPath}`);
    return 1;
  }
  out();
  out(`Every check came out as expected. pushsync's JSON logs of this run: ${logPath}`);
  if (keep) {
    out();
    out('Everything is still running (--keep). Try:');
    out(`   KUBECONFIG=${cp.kubeconfigPath} ${path.join(process.env.KUBEBUILDER_ASSETS, 'kubectl')} get deploy,pods -n ${NAMESPACE}`);
    out(`   curl ${serve.url}/healthz`);
    out('Press Ctrl-C to stop it all and remove the temporary files.');
    // Ctrl-C is how this run ends: not a failure.
    await interrupted.catch(() => undefined);
  }
  return 0;
}

function describe(statuses: ReadonlyMap<string, StatusRecord>): string {
  return CONTEXTS.map((c) => `${c}=${statuses.get(c)?.state ?? 'none'}${statuses.get(c)?.description ? ` (${statuses.get(c)?.description ?? ''})` : ''}`).join(', ');
}

function mark(state: string | undefined): string {
  return state === 'success' ? '✓ success' : state === 'failure' || state === 'error' ? `✗ ${state}` : (state ?? '-');
}

let code = 1;
try {
  code = await main();
} catch (err) {
  if (err instanceof Interrupted) code = err.exitCode;
  else {
    out();
    out(`The demo stopped: ${err instanceof Error ? err.message : String(err)}`);
  }
} finally {
  out('Cleaning up: stopping pushsync, the GitHub stand-in and the control plane; removing temporary directories…');
  await cleanup();
  out('Done.');
}
process.exit(code);
