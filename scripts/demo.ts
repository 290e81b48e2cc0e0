/**
 * `npm run demo`: pushsync end to end on this machine, for a newcomer to watch.
 *
 * A real Kubernetes API server (etcd + kube-apiserver, no nodes), the GitHub stand-in from the
 * tests over a real git repository, and `pushsync serve` wired as `npm start` wires it, with
 * pushes delivered to its /webhook signed the way GitHub signs them. Three pushes: the Online
 * Boutique, a change, a broken commit. Prints the status checks as GitHub would show them and
 * what is on the cluster; checks each outcome and exits 1 if one is not what it should be.
 *
 *   npm run demo             run it, clean up everything, exit
 *   npm run demo -- --keep   leave everything running afterwards (kubectl it), Ctrl-C to clean up
 *
 * Logs (JSON) go to a file whose path is printed ($PUSHSYNC_DEMO_LOG to choose it).
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
import { startControlPlane, type ControlPlane } from '../test/helpers/control-plane.ts';
import { buildPushPayload, startGitHubServer, webhookDelivery, type GitHubServer, type StatusRecord } from '../test/helpers/github-server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SEED = path.join(ROOT, 'examples', 'online-boutique');
const OWNER = 'acme';
const REPO = 'policy';
const CLUSTER = 'mycluster';
const NAMESPACE = 'onlineboutique';
const CONTEXTS = ['pushsync/vet', `pushsync/${CLUSTER}`];
const JOB_TIMEOUT_MS = 180_000;
const keep = process.argv.includes('--keep');

const out = (text = ''): void => void process.stdout.write(`${text}\n`);
const short = (sha: string): string => sha.slice(0, 7);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

// ---- everything started, for cleanup --------------------------------------------------------

interface Started {
  build?: ChildProcess;
  cp?: ControlPlane;
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
      ['pushsync serve', () => started.serve?.shutdown('demo over')],
      ['the GitHub stand-in', () => started.github?.close()],
      ['the API server', () => started.cp?.stop()],
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

/** scripts/ensure-apiserver.sh: finds the binaries, or builds them once (progress on stderr). */
function ensureBinaries(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(ROOT, 'scripts', 'ensure-apiserver.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.build = child;
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.once('error', reject);
    child.once('close', (code) => {
      const dir = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && dir !== '') resolve(dir);
      else reject(new Error(`scripts/ensure-apiserver.sh failed (exit ${code}); see its messages above`));
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

// ---- the cluster, as kubectl would list it ----------------------------------------------------

interface ClusterView {
  readonly namespaces: readonly string[];
  readonly deployments: ReadonlyMap<string, { replicas: number; image: string; rv: string }>;
  readonly services: ReadonlyMap<string, { type: string; clusterIP: string; ports: string; rv: string }>;
}

async function readCluster(kc: k8s.KubeConfig): Promise<ClusterView> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const [ns, deploys, svcs] = await Promise.all([core.listNamespace(), apps.listNamespacedDeployment({ namespace: NAMESPACE }), core.listNamespacedService({ namespace: NAMESPACE })]);
  const deployments = new Map<string, { replicas: number; image: string; rv: string }>();
  for (const d of deploys.items) {
    deployments.set(d.metadata?.name ?? '?', { replicas: d.spec?.replicas ?? 1, image: d.spec?.template.spec?.containers[0]?.image ?? '', rv: d.metadata?.resourceVersion ?? '' });
  }
  const services = new Map<string, { type: string; clusterIP: string; ports: string; rv: string }>();
  for (const s of svcs.items) {
    const ports = (s.spec?.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
    services.set(s.metadata?.name ?? '?', { type: s.spec?.type ?? '', clusterIP: s.spec?.clusterIP ?? '', ports, rv: s.metadata?.resourceVersion ?? '' });
  }
  return { namespaces: ns.items.map((n) => n.metadata?.name ?? '?').sort(), deployments, services };
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => `     ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('')}`);
}

function printCluster(view: ClusterView): void {
  out(`   On the cluster, as \`kubectl get ns\` and \`kubectl get deploy,svc -n ${NAMESPACE}\` would list it:`);
  out(`     namespaces: ${view.namespaces.join(', ')}`);
  out();
  for (const line of table([['DEPLOYMENT', 'REPLICAS', 'IMAGE'], ...[...view.deployments].sort().map(([n, d]) => [n, String(d.replicas), d.image])])) out(line);
  out();
  for (const line of table([['SERVICE', 'TYPE', 'CLUSTER-IP', 'PORT(S)'], ...[...view.services].sort().map(([n, s]) => [n, s.type, s.clusterIP, s.ports])])) out(line);
  out(`     (${view.deployments.size} Deployments, ${view.services.size} Services. This API server has no nodes, so no Pod`);
  out('      runs: these are the objects pushsync applied, the desired state.)');
}

function clusterChanges(before: ClusterView, after: ClusterView): string[] {
  const lines: string[] = [];
  for (const ns of after.namespaces) if (!before.namespaces.includes(ns)) lines.push(`namespace/${ns}: created`);
  for (const [kind, b, a] of [['deployment', before.deployments, after.deployments], ['service', before.services, after.services]] as const) {
    for (const [name, obj] of a) {
      const old = b.get(name);
      if (old === undefined) lines.push(`${kind}/${name}: created`);
      else if (old.rv !== obj.rv) {
        const detail = 'replicas' in old && 'replicas' in obj && old.replicas !== obj.replicas ? `replicas ${old.replicas} → ${obj.replicas}` : 'updated';
        lines.push(`${kind}/${name}: ${detail}`);
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

// ---- the demo -----------------------------------------------------------------------------

async function main(): Promise<number> {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string): void => void (ok || problems.push(what));
  const logPath = process.env.PUSHSYNC_DEMO_LOG ?? path.join(tmpdir(), `pushsync-demo-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);

  out('pushsync demo: a push to a GitHub repo, checked, reported on the commit, and applied to a');
  out('Kubernetes cluster. Everything runs on this machine; nothing here touches github.com.');
  out();
  out('Setting up');
  out('   Kubernetes binaries (kube-apiserver, etcd, kubectl): the first run builds them from source');
  out('   with Go, which takes 15-25 minutes on 2 cores; later runs reuse ~/.cache/pushsync.');
  const t0 = Date.now();
  process.env.KUBEBUILDER_ASSETS = await wait(ensureBinaries());
  out(`   ✓ binaries in ${process.env.KUBEBUILDER_ASSETS}`);
  started.cp = await wait(startControlPlane());
  const cp = started.cp;
  out(`   ✓ Kubernetes API server at ${cp.server} (started in ${seconds(cp.startupMs)})`);
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
  const reg = await registerCluster(store, { name: CLUSTER, kubeconfig: cp.kubeconfig, repo: `${OWNER}/${REPO}`, branch: 'main', dir: '.', sourceFormat: 'hierarchy' });
  if (!reg.ok) throw new Error(`registering ${CLUSTER}: ${reg.errors.map((e) => e.message).join('; ')}`);
  out(`   ✓ pushsync clusters register ${CLUSTER} --repo ${OWNER}/${REPO} --branch main --dir .   (secrets in ${home})`);

  // `pushsync serve`, as `npm start` runs it, pointed at the stand-in instead of api.github.com.
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

  // 1. The Online Boutique.
  out();
  out('1. Push the Online Boutique: system/repo.yaml and namespaces/onlineboutique/ (12 Deployments, 12 Services)');
  const boutique = await wait(github.git.commit(seedFiles(), { message: 'Online Boutique' }));
  const s1 = await pushAndWatch(serve, github, secret, undefined, boutique);
  const v1 = await wait(readCluster(kc));
  out();
  printCluster(v1);
  expect(CONTEXTS.every((c) => s1.get(c)?.state === 'success'), `push 1: every status should be success, got ${describe(s1)}`);
  expect(github.statuses.some((s) => s.sha === boutique && s.context === `pushsync/${CLUSTER}` && s.state === 'pending'), 'push 1: the cluster status should have been pending first');
  expect(v1.namespaces.includes(NAMESPACE) && v1.deployments.size === 12 && v1.services.size === 12, `push 1: expected namespace ${NAMESPACE}, 12 Deployments, 12 Services`);

  // 2. A change.
  out();
  out('2. Push a change: scale the frontend Deployment to 3 replicas and remove the redis-cart Service');
  const manifestsPath = 'namespaces/onlineboutique/kubernetes-manifests.yaml';
  const manifests = seedFiles()[manifestsPath] ?? '';
  const changed = manifests
    .replace(/(kind: Deployment\nmetadata:\n {2}name: frontend\nspec:\n)/, '$1  replicas: 3\n')
    .replace(/---\napiVersion: v1\nkind: Service\nmetadata:\n {2}name: redis-cart\n[\s\S]*?(?=\n---)/, '');
  if (changed === manifests) throw new Error(`${manifestsPath} does not have the expected shape for the demo's edit`);
  const change = await wait(github.git.commit({ [manifestsPath]: changed }, { message: 'Scale frontend to 3, drop the redis-cart Service' }));
  const s2 = await pushAndWatch(serve, github, secret, boutique, change);
  const v2 = await wait(readCluster(kc));
  const diff = clusterChanges(v1, v2);
  out('   What changed on the cluster:');
  for (const line of diff) out(`     ${line}`);
  expect(CONTEXTS.every((c) => s2.get(c)?.state === 'success'), `push 2: every status should be success, got ${describe(s2)}`);
  expect(v2.deployments.get('frontend')?.replicas === 3 && !v2.services.has('redis-cart'), 'push 2: frontend should have 3 replicas and redis-cart should be gone');

  // 3. A broken commit.
  out();
  out('3. Push a broken commit: a ConfigMap with a YAML indentation mistake on line 5 of namespaces/onlineboutique/settings.yaml');
  const broken = await wait(github.git.commit(
    { 'namespaces/onlineboutique/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n data:\n  color: blue\n' },
    { message: 'Add settings (broken)' },
  ));
  const s3 = await pushAndWatch(serve, github, secret, change, broken);
  const v3 = await wait(readCluster(kc));
  const untouched = clusterChanges(v2, v3).length === 0;
  out(untouched ? `   The cluster is unchanged: still ${v3.deployments.size} Deployments and ${v3.services.size} Services, not one object rewritten.` : '   The cluster CHANGED (it should not have).');
  expect(s3.get('pushsync/vet')?.state === 'failure' && /settings\.yaml:5\b/.test(s3.get('pushsync/vet')?.description ?? ''), `push 3: pushsync/vet should fail naming settings.yaml line 5, got ${describe(s3)}`);
  expect(s3.get(`pushsync/${CLUSTER}`)?.state === 'failure', 'push 3: the cluster status should say the commit was not applied');
  expect(untouched, 'push 3: the cluster should be unchanged');

  // Summary.
  out();
  out('Summary: the commits of main and their checks, as GitHub shows them');
  const summary: string[][] = [['COMMIT', 'MESSAGE', ...CONTEXTS]];
  for (const [sha, message] of [[boutique, 'Online Boutique'], [change, 'Scale frontend to 3, drop redis-cart'], [broken, 'Add settings (broken)']] as const) {
    const st = github.latestStatuses(sha);
    summary.push([short(sha), message, ...CONTEXTS.map((c) => mark(st.get(c)?.state))]);
  }
  for (const line of table(summary)) out(line);
  out('   The good commits are green; the broken one is red and was not applied. To undo a bad change');
  out('   that did apply, `git revert` it and push: pushsync applies the revert like any commit.');

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
    out(`   KUBECONFIG=${cp.kubeconfigPath} ${path.join(process.env.KUBEBUILDER_ASSETS, 'kubectl')} get deploy -n ${NAMESPACE}`);
    out(`   curl ${serve.url}/healthz`);
    out('Press Ctrl-C to stop it all and remove the temporary files.');
    // Ctrl-C is how this run ends: not a failure.
    await interrupted.catch(() => undefined);
  }
  return 0;
}

function describe(statuses: ReadonlyMap<string, StatusRecord>): string {
  return CONTEXTS.map((c) => `${c}=${statuses.get(c)?.state ?? 'none'}`).join(', ');
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
  out('Cleaning up: stopping pushsync, the GitHub stand-in and the API server; removing temporary directories…');
  await cleanup();
  out('Done.');
}
process.exit(code);
