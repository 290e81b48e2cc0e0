/**
 * Webhook pipeline benchmark (issue 5, acceptance 8): `npx tsx bench/webhook.ts`.
 *
 * Everything is wired as `pushsync serve` wires it (lib/local), with the GitHub stand-in over a
 * real git repository holding the seed policy repo (examples/online-boutique), and real
 * kube-apiservers.
 *
 *   (a) Webhook answer latency, p50/p99/max over BENCH_DELIVERIES (2,000) signed push deliveries:
 *       in-process (the handler called directly) and through the node:http server. The accepted
 *       pushes' sync jobs run after each answer, in the same process (no cluster follows the
 *       repo, so each ends after reading the registry). Target p99 < 100 ms in-process.
 *   (b) GitHub API calls per push, sync + apply for one cluster: cold (new wiring, empty blob
 *       cache: what a new process does) and warm (same wiring, a commit changing one file).
 *       Target warm ≤ 3 calls + changed files, counting every call (reads and status writes) but
 *       the cluster's GitHub Deployment's (issue 11: 5 per cluster and commit, printed apart);
 *       the breakdown by call is printed either way.
 *   (c) Push → all green for the Online Boutique on 1 and on BENCH_CLUSTERS (10) registered
 *       clusters, each its own kube-apiserver + etcd (they share nothing; ~250 MB each) behind
 *       its own proxy of one Toxiproxy server with a BENCH_LATENCY_MS (50) round trip (0: no
 *       Toxiproxy): wall time from the webhook POST to the last `success` status, medians of
 *       BENCH_FLEET_ROUNDS (3) rounds of fresh API servers. The control planes' own work on this
 *       machine's cores is printed as a floor. Target (issue 13 §2): N clusters ≤ 1.5 × one + floor.
 *
 *   (d) A cluster far away (issue 13 §2): Toxiproxy (test/helpers/toxiproxy.ts) between pushsync
 *       and the API server with a BENCH_LATENCY_MS (50) round trip, against the same with none.
 *       For the first apply of Online Boutique (fresh API server, new wiring) and for a no-op
 *       redelivery (same wiring): wall time, the sequential round trips measured from outside
 *       ((wall at L − wall at 0) / L, medians of BENCH_FAR_ROUNDS (5) rounds) and counted
 *       inside (the longest chain of requests, RequestStats.depth). Targets ≤ 8 and ≤ 4.
 *
 * GitHub writes are not spaced (writeSpacingMs 0): the stand-in has no secondary rate limit.
 * Exit status 1 when a target is missed. BENCH_SKIP_CLUSTERS=1 runs (a) only; BENCH_ONLY=far runs
 * (d) only, BENCH_ONLY=fleet (c) only (after a warm-up push, since (b) does not warm the process);
 * BENCH_CPU_PROFILE writes a CPU profile of the first round's N-cluster push.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Agent } from 'node:http';
import { request } from 'node:http';
import { ClusterCache } from '../lib/cluster/index.ts';
import { ApiCallCounter } from '../lib/github/index.ts';
import type { HttpRequest } from '../lib/http/types.ts';
import { refuseWithoutSecret, startLocalServer, wireLocal, type LocalServer, type Wired } from '../lib/local/index.ts';
import { createLogger } from '../lib/log.ts';
import { FileSecretStore, registerCluster, removeCluster, setGitHubToken, setWebhookSecrets } from '../lib/registry/index.ts';
import { startControlPlane, type ControlPlane } from '../test/helpers/control-plane.ts';
import { buildPushPayload, startGitHubServer, webhookDelivery, type GitHubServer } from '../test/helpers/github-server.ts';
import { startToxiproxy, type Toxiproxy } from '../test/helpers/toxiproxy.ts';

const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 2000);
const WARMUP = 100;
const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 10);
const SKIP_CLUSTERS = process.env.BENCH_SKIP_CLUSTERS === '1';
const ONLY_FAR = process.env.BENCH_ONLY === 'far';
const ONLY_FLEET = process.env.BENCH_ONLY === 'fleet';
const FLEET_ROUNDS = Math.max(1, Number(process.env.BENCH_FLEET_ROUNDS ?? 3));
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
const FAR_ROUNDS = Math.max(1, Number(process.env.BENCH_FAR_ROUNDS ?? 5));
/**
 * Sequential round trips before issue 13's changes, measured from outside as in (d) (issue 13:
 * `pushsync apply` of Online Boutique on a fresh API server at 50 ms vs 0 ms); BENCH_BEFORE=first,noop
 * replaces them with figures measured on an older checkout by this same bench.
 */
const BEFORE = (() => {
  const [first, noop] = (process.env.BENCH_BEFORE ?? '13,10').split(',').map(Number);
  return { first: first ?? 13, noop: noop ?? 10 };
})();
const SECRET = 'bench-webhook-secret-0123456789';
const OWNER = 'acme';
const REPO = 'policy';
const SEED = new URL('../examples/online-boutique/', import.meta.url);
const MANIFESTS = 'namespaces/onlineboutique/kubernetes-manifests.yaml';

const say = (text = ''): void => void process.stdout.write(`${text}\n`);
const note = (text: string): void => void process.stderr.write(`${text}\n`);
const ms = (n: number): string => `${n.toFixed(n < 10 ? 2 : 1)} ms`;
const verdict = (ok: boolean): string => (ok ? 'OK' : 'MISSED');
const missed: string[] = [];

function seedFiles(): Record<string, string> {
  const root = SEED.pathname;
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files[path.relative(root, full).split(path.sep).join('/')] = readFileSync(full, 'utf8');
    }
  };
  walk(root);
  return files;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

interface Product {
  readonly wired: Wired;
  readonly server: LocalServer;
  readonly counter: ApiCallCounter;
}

/** The local server's wiring, with its own blob cache and call counter (a new process, as far as caches go). */
async function product(store: FileSecretStore, github: GitHubServer, concurrency: number, clusterCache?: ClusterCache): Promise<Product> {
  const counter = new ApiCallCounter();
  const logger = createLogger({ sink: () => undefined, level: 'info' });
  const wired = wireLocal({ store, logger, githubBaseUrl: github.url, counter, writeSpacingMs: 0, concurrency, ...(clusterCache ? { clusterCache } : {}) });
  const server = await startLocalServer({ webhook: refuseWithoutSecret(wired.webhook, 'pushsync secrets set webhook-secret'), host: '127.0.0.1', port: 0, logger });
  return { wired, server, counter };
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** POST over a kept-alive connection, as GitHub's deliveries arrive; resolves with status and elapsed ms. */
function postHttp(server: LocalServer, d: HttpRequest): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(`${server.url}/webhook`, { method: 'POST', agent, headers: d.headers as Record<string, string> }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.once('error', reject);
    req.end(d.body);
  });
}

// ---- (a) ------------------------------------------------------------------------------------

async function latency(store: FileSecretStore, github: GitHubServer, sha: string): Promise<void> {
  const payload = await buildPushPayload({ git: github.git, owner: OWNER, repo: REPO, ref: 'main', after: sha, apiUrl: github.url });
  const deliveries = (n: number): HttpRequest[] => Array.from({ length: n }, () => webhookDelivery(payload, SECRET, { deliveryId: randomUUID() }));
  const p = await product(store, github, 8);
  const report = (label: string, times: number[]): number => {
    const sorted = [...times].sort((a, b) => a - b);
    const p99 = percentile(sorted, 99);
    say(`   ${label.padEnd(34)} p50 ${ms(percentile(sorted, 50)).padStart(9)}   p99 ${ms(p99).padStart(9)}   max ${ms(sorted.at(-1) ?? NaN).padStart(9)}`);
    return p99;
  };
  try {
    say(`(a) webhook answer latency, ${DELIVERIES} signed push deliveries (${Buffer.byteLength(webhookDelivery(payload, SECRET).body)} bytes each) after ${WARMUP} warm-up, one at a time`);
    for (const d of deliveries(WARMUP)) await p.wired.webhook(d);
    await p.wired.invoker.idle();
    const inProcess: number[] = [];
    for (const d of deliveries(DELIVERIES)) {
      const t0 = performance.now();
      const res = await p.wired.webhook(d);
      inProcess.push(performance.now() - t0);
      if (res.status !== 202) throw new Error(`in-process delivery answered ${res.status}: ${res.body}`);
    }
    await p.wired.invoker.idle();
    const p99 = report('in-process (handler called)', inProcess);

    for (const d of deliveries(WARMUP)) await postHttp(p.server, d);
    await p.wired.invoker.idle();
    const overHttp: number[] = [];
    for (const d of deliveries(DELIVERIES)) {
      const r = await postHttp(p.server, d);
      if (r.status !== 202) throw new Error(`HTTP delivery answered ${r.status}`);
      overHttp.push(r.ms);
    }
    await p.wired.invoker.idle();
    report('node:http server (keep-alive)', overHttp);
    const stats = p.wired.invoker.stats();
    say(`   sync jobs run after the answers: ${stats.succeeded} (none retried: ${stats.retried === 0})`);
    say(`   target p99 < 100 ms in-process: ${verdict(p99 < 100)}`);
    if (p99 >= 100) missed.push(`(a) in-process p99 ${ms(p99)}`);
  } finally {
    await p.server.close(5_000);
  }
}

// ---- (b) and (c) ------------------------------------------------------------------------------

/** Group call records by endpoint: SHAs and ids become placeholders. */
function breakdown(counter: ApiCallCounter): string {
  const by = new Map<string, number>();
  for (const c of counter.calls) {
    const key = `${c.method} ${c.path.replace(/[0-9a-f]{40}/g, '{sha}').replace(/\.\.\.\{sha\}/g, '...{sha}').replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  return [...by].sort((a, b) => b[1] - a[1]).map(([k, n]) => `       ${String(n).padStart(3)} × ${k}`).join('\n');
}

/**
 * Calls counted against the push budget of issue 5. The cluster's GitHub Deployment (issue 11:
 * find or create, then queued, in_progress, its verdict) is counted apart: 5 calls per cluster
 * and commit, the price of the Environments page.
 */
function countsOf(counter: ApiCallCounter): { total: number; reads: number; writes: number; blobs: number; deployments: number } {
  const all = counter.calls;
  const calls = all.filter((c) => !c.path.includes('/deployments'));
  return {
    deployments: all.length - calls.length,
    total: calls.length,
    reads: calls.filter((c) => c.method === 'GET').length,
    writes: calls.filter((c) => c.method !== 'GET').length,
    // A changed file is downloaded as a blob, or (warm, rebuilding the tree from the push) read
    // through the contents API: either way one call per changed file.
    blobs: calls.filter((c) => c.method === 'GET' && (c.path.includes('/git/blobs/') || c.path.includes('/contents/'))).length,
  };
}

/** CPU seconds a process has used (all threads), from /proc (Linux; clock ticks of 10 ms). */
function procCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, fields 14 and 15 of stat(5)
  } catch {
    return 0;
  }
}

interface CpuSplit {
  readonly pushsync: number;
  readonly apiServers: number;
  readonly etcds: number;
}

/** CPU seconds spent by this process (pushsync and the GitHub stand-in) and by the control planes. */
function cpuNow(planes: readonly ControlPlane[]): CpuSplit {
  const u = process.cpuUsage();
  return {
    pushsync: (u.user + u.system) / 1e6,
    apiServers: planes.reduce((n, p) => n + procCpuSeconds(p.pids().apiServer), 0),
    etcds: planes.reduce((n, p) => n + procCpuSeconds(p.pids().etcd), 0),
  };
}

const cpuSince = (a: CpuSplit, b: CpuSplit): CpuSplit => ({ pushsync: b.pushsync - a.pushsync, apiServers: b.apiServers - a.apiServers, etcds: b.etcds - a.etcds });
const cpuText = (c: CpuSplit): string => `pushsync + stand-in ${c.pushsync.toFixed(2)} s, kube-apiservers ${c.apiServers.toFixed(2)} s, etcds ${c.etcds.toFixed(2)} s`;

/**
 * BENCH_CPU_PROFILE=file.cpuprofile: a V8 CPU profile of this process during the N-cluster push
 * only (open it in Chrome DevTools), to see what pushsync spends its share of the CPU on.
 */
async function startProfile(): Promise<() => Promise<void>> {
  const out = process.env.BENCH_CPU_PROFILE;
  if (!out) return async () => undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(out, JSON.stringify(profile));
    session.disconnect();
    note(`   CPU profile of the ${CLUSTERS}-cluster push written to ${out}`);
  };
}

interface PushTiming {
  readonly answerMs: number;
  /** From the POST to the last `success` of each cluster context. */
  readonly allGreenMs: number;
  readonly perClusterMs: number[];
  /** From the POST to the last `pending` (posted just before the apply jobs are handed out). */
  readonly lastPendingMs: number;
}

/** Deliver a push over HTTP and time it until every `pushsync/<cluster>` context is success. */
async function pushUntilGreen(p: Product, github: GitHubServer, before: string | undefined, after: string, clusters: readonly string[]): Promise<PushTiming> {
  const payload = await buildPushPayload({ git: github.git, owner: OWNER, repo: REPO, ref: 'main', ...(before ? { before } : {}), after, apiUrl: github.url });
  const d = webhookDelivery(payload, SECRET);
  const greenAt = new Map<string, number>();
  let seen = github.statuses.length;
  let lastPending = NaN;
  const t0 = performance.now();
  const watch = setInterval(() => {
    const now = performance.now();
    for (const s of github.statuses.slice(seen)) {
      if (s.sha === after && s.state === 'success') greenAt.set(s.context, now);
      if (s.sha === after && s.state === 'pending') lastPending = now;
    }
    seen = github.statuses.length;
  }, 2);
  const answer = await postHttp(p.server, d);
  if (answer.status !== 202) throw new Error(`push answered ${answer.status}`);
  await p.wired.invoker.idle();
  clearInterval(watch);
  for (const s of github.statuses.slice(seen)) if (s.sha === after && s.state === 'success' && !greenAt.has(s.context)) greenAt.set(s.context, performance.now());
  const latest = github.latestStatuses(after);
  const notGreen = clusters.filter((c) => latest.get(`pushsync/${c}`)?.state !== 'success');
  if (notGreen.length > 0) {
    throw new Error(`not green: ${notGreen.map((c) => `pushsync/${c}: ${latest.get(`pushsync/${c}`)?.state} ${latest.get(`pushsync/${c}`)?.description}`).join('; ')}`);
  }
  const perClusterMs = clusters.map((c) => (greenAt.get(`pushsync/${c}`) ?? NaN) - t0);
  return { answerMs: answer.ms, allGreenMs: Math.max(...perClusterMs), perClusterMs, lastPendingMs: lastPending - t0 };
}

async function startPlanes(n: number): Promise<ControlPlane[]> {
  const planes: ControlPlane[] = [];
  try {
    for (let i = 0; i < n; i++) {
      planes.push(await startControlPlane());
      note(`   started kube-apiserver ${i + 1}/${n} (${((planes.at(-1)?.startupMs ?? 0) / 1000).toFixed(1)} s)`);
    }
  } catch (err) {
    await Promise.all(planes.map((p) => p.stop()));
    throw err;
  }
  return planes;
}

/**
 * Register a bare API server. Health timeout 0: no nodes, so no Deployment becomes Available;
 * push → healthy on a plane that runs workloads is bench/rollout.ts.
 */
async function register(store: FileSecretStore, name: string, kubeconfig: string): Promise<void> {
  const r = await registerCluster(store, { name, kubeconfig, repo: `${OWNER}/${REPO}`, branch: 'main', dir: '.', sourceFormat: 'hierarchy', healthTimeout: 0 }, { replace: true });
  if (!r.ok) throw new Error(`register ${name}: ${r.errors.map((e) => e.message).join('; ')}`);
}

/** (b) One cluster: a cold push (the seed), then a warm push changing one file. */
async function clusters(store: FileSecretStore, github: GitHubServer, seedSha: string): Promise<void> {
  const manifests = seedFiles()[MANIFESTS] ?? '';

  // This also warms the process (JIT, the Kubernetes client), so (c) compares like with like.
  note('(b) starting 1 kube-apiserver');
  const [solo] = await startPlanes(1);
  if (solo === undefined) throw new Error('no control plane');
  try {
    await register(store, 'solo', solo.kubeconfig);
    const p = await product(store, github, 8);
    try {
      await pushUntilGreen(p, github, undefined, seedSha, ['solo']);
      const cold = countsOf(p.counter);
      const coldBreakdown = breakdown(p.counter);
      p.counter.reset();
      const scaled = manifests.replace(/(kind: Deployment\nmetadata:\n {2}name: frontend\nspec:\n)/, '$1  replicas: 3\n');
      if (scaled === manifests) throw new Error(`${MANIFESTS} does not have the expected shape`);
      const warmSha = await github.git.commit({ [MANIFESTS]: scaled }, { message: 'scale frontend' });
      await pushUntilGreen(p, github, seedSha, warmSha, ['solo']);
      const warm = countsOf(p.counter);
      say();
      say('(b) GitHub API calls per push (sync + apply, 1 cluster, the seed repo: 3 files)');
      say(`   cold (new wiring, empty blob cache): ${cold.total} calls = ${cold.reads} reads (${cold.blobs} file downloads) + ${cold.writes} writes`);
      say(coldBreakdown);
      say(`   warm (same wiring, 1 file changed):  ${warm.total} calls = ${warm.reads} reads (${warm.blobs} file download) + ${warm.writes} writes`);
      say(breakdown(p.counter));
      const budget = 3 + warm.blobs;
      say(`   target warm ≤ 3 calls + changed files (${warm.blobs}) = ${budget}: all calls, status writes included, ${warm.total} ${verdict(warm.total <= budget)}; and ${warm.deployments} for the cluster's GitHub Deployment (not in the budget)`);
      if (warm.total > budget) missed.push(`(b) a warm push made ${warm.total} GitHub calls (${warm.reads} reads + ${warm.writes} status writes), budget ${budget}`);
    } finally {
      await p.server.close(5_000);
    }
  } finally {
    await solo.stop();
    await removeCluster(store, 'solo');
  }

}

// ---- (c) ------------------------------------------------------------------------------------

interface FleetRound {
  readonly single: PushTiming;
  readonly fleet: PushTiming;
  readonly singleCpu: CpuSplit;
  readonly fleetCpu: CpuSplit;
  /** What the control planes burn doing nothing, CPU-s per s, measured for 2 s before the N-cluster push. */
  readonly idlePerSecond: number;
  /** The N-cluster push's own work on the control planes (their CPU minus their idle burn), CPU-s. */
  readonly pushWork: number;
  /** pushWork spread over every core: no run here can end sooner. */
  readonly floorMs: number;
  readonly calls: ReturnType<typeof countsOf>;
  readonly maxRunning: number;
}

/**
 * One round: 1 + N fresh API servers, each behind its own Toxiproxy proxy (when latencyMs > 0),
 * all running during both measurements (same machine load): the first apply of the same tree to
 * 1 cluster and to N, each with a new wiring (cold caches); which goes first alternates.
 */
async function fleetRound(store: FileSecretStore, github: GitHubServer, tp: Toxiproxy | undefined, latencyMs: number, round: number): Promise<FleetRound> {
  note(`(c) round ${round}: starting ${CLUSTERS + 1} kube-apiservers, one at a time${tp ? `, each behind Toxiproxy at ${latencyMs} ms` : ''}`);
  const planes = await startPlanes(CLUSTERS + 1);
  try {
    const kubeconfigs: string[] = [];
    for (const [i, cp] of planes.entries()) {
      if (!tp) {
        kubeconfigs.push(cp.kubeconfig);
        continue;
      }
      const proxy = await tp.proxy(`r${round}-apiserver-${i}`, cp.server);
      await proxy.latency(latencyMs);
      kubeconfigs.push(proxy.kubeconfig(cp.kubeconfig));
    }
    const [aloneConfig, ...fleetConfigs] = kubeconfigs as [string, ...string[]];
    const names = fleetConfigs.map((_, i) => `fleet-${String(i + 1).padStart(2, '0')}`);
    const concurrency = Math.max(8, CLUSTERS + 1);

    const runSingle = async (): Promise<{ t: PushTiming; cpu: CpuSplit }> => {
      await register(store, 'one', aloneConfig);
      const sha = await github.git.commit({}, { message: `round ${round}: deploy to one` });
      const p1 = await product(store, github, concurrency);
      try {
        const c0 = cpuNow(planes);
        const t = await pushUntilGreen(p1, github, undefined, sha, ['one']);
        return { t, cpu: cpuSince(c0, cpuNow(planes)) };
      } finally {
        await p1.server.close(5_000);
        await removeCluster(store, 'one');
      }
    };
    const runFleet = async (): Promise<Omit<FleetRound, 'single' | 'singleCpu'>> => {
      for (const [i, kc] of fleetConfigs.entries()) await register(store, names[i] as string, kc);
      // Same tree again, as a new commit: every fleet cluster gets the same first apply as `one`.
      const sha = await github.git.commit({}, { message: `round ${round}: deploy to the fleet` });
      const p = await product(store, github, concurrency);
      try {
        // What the control planes burn doing nothing (their own loops), so the floor counts
        // only the work the push gave them.
        const idle0 = cpuNow(planes);
        const idleStart = performance.now();
        await new Promise((r) => setTimeout(r, 2_000));
        const idle = cpuSince(idle0, cpuNow(planes));
        const idlePerSecond = (idle.apiServers + idle.etcds) / ((performance.now() - idleStart) / 1000);
        const c0 = cpuNow(planes);
        const stopProfile = round === 1 ? await startProfile() : async () => undefined;
        const t = await pushUntilGreen(p, github, undefined, sha, names);
        await stopProfile();
        const cpu = cpuSince(c0, cpuNow(planes));
        const idleCpu = idlePerSecond * (t.allGreenMs / 1000);
        const pushWork = Math.max(0, cpu.apiServers + cpu.etcds - idleCpu);
        return { fleet: t, fleetCpu: cpu, idlePerSecond, pushWork, floorMs: (pushWork / availableParallelism()) * 1000, calls: countsOf(p.counter), maxRunning: p.wired.invoker.stats().maxRunning };
      } finally {
        await p.server.close(5_000);
        for (const n of names) await removeCluster(store, n);
      }
    };

    // Alternate which goes first, so drifting machine load hits both alike.
    if (round % 2 === 1) {
      const s = await runSingle();
      const f = await runFleet();
      return { single: s.t, singleCpu: s.cpu, ...f };
    }
    const f = await runFleet();
    const s = await runSingle();
    return { single: s.t, singleCpu: s.cpu, ...f };
  } finally {
    await Promise.all(planes.map((cp) => cp.stop()));
  }
}

async function fleet(store: FileSecretStore, github: GitHubServer): Promise<void> {
  const latencyMs = LATENCY_MS;
  const tp = latencyMs > 0 ? await startToxiproxy() : undefined;
  try {
    // The seed tree ((b) scaled the frontend).
    await github.git.commit({ [MANIFESTS]: seedFiles()[MANIFESTS] ?? '' }, { message: 'unscale frontend' });
    if (ONLY_FLEET) {
      // (b) did not run: warm the process (JIT, the Kubernetes client) on a throw-away cluster,
      // so the first round compares like with like.
      note('(c) warm-up: 1 kube-apiserver');
      const [warm] = await startPlanes(1);
      if (warm === undefined) throw new Error('no control plane');
      try {
        const proxy = tp ? await tp.proxy('warm-up', warm.server) : undefined;
        await proxy?.latency(latencyMs);
        await register(store, 'warm', proxy ? proxy.kubeconfig(warm.kubeconfig) : warm.kubeconfig);
        const p = await product(store, github, 8);
        try {
          await pushUntilGreen(p, github, undefined, await github.git.commit({}, { message: 'warm-up' }), ['warm']);
        } finally {
          await p.server.close(5_000);
          await removeCluster(store, 'warm');
        }
      } finally {
        await warm.stop();
      }
    }

    const rounds: FleetRound[] = [];
    for (let round = 1; round <= FLEET_ROUNDS; round++) {
      const r = await fleetRound(store, github, tp, latencyMs, round);
      rounds.push(r);
      note(`   round ${round}: 1 cluster ${ms(r.single.allGreenMs)}, ${CLUSTERS} clusters ${ms(r.fleet.allGreenMs)}, floor ${ms(r.floorMs)} → ${ms(r.fleet.allGreenMs)} vs 1.5 × one + floor = ${ms(1.5 * r.single.allGreenMs + r.floorMs)}`);
    }
    const med = (f: (r: FleetRound) => number): number => percentile(rounds.map(f).sort((a, b) => a - b), 50);
    const single = med((r) => r.single.allGreenMs);
    const fleetMs = med((r) => r.fleet.allGreenMs);
    const floorMs = med((r) => r.floorMs);
    const pushWork = med((r) => r.pushWork);
    const idlePerSecond = med((r) => r.idlePerSecond);
    const cores = availableParallelism();
    const ratio = fleetMs / single;
    const bound = 1.5 * single + floorMs;
    // The round whose N-cluster push is the median one, for the detail lines.
    const mid = [...rounds].sort((a, b) => a.fleet.allGreenMs - b.fleet.allGreenMs)[Math.ceil(rounds.length / 2) - 1] as FleetRound;
    const sorted = [...mid.fleet.perClusterMs].sort((a, b) => a - b);
    const where = tp ? `each cluster ${latencyMs} ms away (its own Toxiproxy proxy, latency toxic half each way)` : 'no added latency';
    say();
    say(`(c) push → all green, Online Boutique (25 objects), first apply on fresh API servers, through the local HTTP server; ${where}; medians of ${rounds.length} rounds`);
    say(`   ${'1 cluster:'.padEnd(14)}all green after ${ms(single)} (rounds: ${rounds.map((r) => ms(r.single.allGreenMs)).join(', ')}); webhook answered in ${ms(med((r) => r.single.answerMs))}`);
    say(`   ${`${CLUSTERS} clusters:`.padEnd(14)}all green after ${ms(fleetMs)} (rounds: ${rounds.map((r) => ms(r.fleet.allGreenMs)).join(', ')}); webhook answered in ${ms(med((r) => r.fleet.answerMs))}`);
    say(`   ${''.padEnd(14)}median round, per cluster: first ${ms(sorted[0] ?? NaN)}, median ${ms(percentile(sorted, 50))}, last ${ms(sorted.at(-1) ?? NaN)}; every pending status ${ms(mid.fleet.lastPendingMs)} after the POST (1 cluster: ${ms(mid.single.lastPendingMs)})`);
    say(`   CPU used during the push (median round), 1 cluster:  ${cpuText(mid.singleCpu)}`);
    say(`   CPU used during the push (median round), ${CLUSTERS} clusters: ${cpuText(mid.fleetCpu)} (${cores} cores here: ${((cores * mid.fleet.allGreenMs) / 1000).toFixed(2)} CPU-s in that wall time)`);
    // The clusters' own work shares this machine's cores with pushsync; in production each
    // cluster brings its own. Whatever pushsync does, no run here can end sooner than that
    // work divided by the cores. With the latency in place, that is the only part the
    // machine's size adds.
    say(`   floor on this machine: the push's own work on the ${CLUSTERS + 1} control planes (their CPU minus their idle burn of ${idlePerSecond.toFixed(3)} CPU-s/s, measured for 2 s before each push), ${pushWork.toFixed(2)} CPU-s,`);
    say(`   takes ${ms(floorMs)} on ${cores} cores even with a client that costs nothing = ${(floorMs / single).toFixed(2)} × one cluster (rounds: ${rounds.map((r) => ms(r.floorMs)).join(', ')})`);
    say(`   ${CLUSTERS} clusters / 1 cluster = ${ratio.toFixed(2)} (no floor subtracted)`);
    const holds = fleetMs <= bound;
    say(`   ${CLUSTERS} clusters ≤ 1.5 × one + floor: ${ms(fleetMs)} ≤ 1.5 × ${ms(single)} + ${ms(floorMs)} = ${ms(bound)} ${verdict(holds)}${tp ? ` (at ${latencyMs} ms)` : ' (no latency: BENCH_LATENCY_MS=0)'}`);
    say(`   GitHub calls for the ${CLUSTERS}-cluster push: ${mid.calls.total} (${mid.calls.reads} reads, ${mid.calls.writes} writes); jobs at once, at most: ${mid.maxRunning}`);
    if (!holds) missed.push(`(c) ${CLUSTERS} clusters took ${ms(fleetMs)} > 1.5 × one (${ms(single)}) + floor (${ms(floorMs)}) = ${ms(bound)}`);
  } finally {
    await tp?.stop();
  }
}

// ---- (d) ------------------------------------------------------------------------------------

interface FarRun {
  readonly firstMs: number;
  readonly noopMs: number;
  /** RequestStats.depth and total of each apply (undefined on a checkout without them). */
  readonly firstDepth?: number;
  readonly noopDepth?: number;
  readonly firstRequests?: number;
  readonly noopRequests?: number;
}

/** One round at one latency: a fresh API server behind Toxiproxy, a new wiring, a first apply, then a redelivery. */
async function farRound(store: FileSecretStore, github: GitHubServer, latencyMs: number, round: number): Promise<FarRun> {
  const tp = await startToxiproxy();
  const cp = await startControlPlane();
  try {
    const proxy = await tp.proxy('apiserver', cp.server);
    await proxy.latency(latencyMs);
    const name = 'far';
    const r = await registerCluster(store, { name, kubeconfig: proxy.kubeconfig(cp.kubeconfig), repo: `${OWNER}/${REPO}`, branch: 'main', dir: '.', sourceFormat: 'hierarchy', healthTimeout: 0 }, { replace: true });
    if (!r.ok) throw new Error(`register ${name}: ${r.errors.map((e) => e.message).join('; ')}`);
    const cache = new ClusterCache();
    const p = await product(store, github, 8, cache);
    const stats = (): { depth?: number; total?: number } => {
      const s = cache.lastRun?.stats as { depth?: number; total?: number } | undefined;
      return { ...(s?.depth !== undefined ? { depth: s.depth } : {}), ...(s?.total !== undefined ? { total: s.total } : {}) };
    };
    try {
      const sha = await github.git.commit({}, { message: `far ${latencyMs} ms #${round}` });
      const first = await pushUntilGreen(p, github, undefined, sha, [name]);
      const f = stats();
      const noop = await pushUntilGreen(p, github, undefined, sha, [name]);
      const n = stats();
      return {
        firstMs: first.allGreenMs,
        noopMs: noop.allGreenMs,
        ...(f.depth !== undefined ? { firstDepth: f.depth } : {}),
        ...(n.depth !== undefined ? { noopDepth: n.depth } : {}),
        ...(f.total !== undefined ? { firstRequests: f.total } : {}),
        ...(n.total !== undefined ? { noopRequests: n.total } : {}),
      };
    } finally {
      await p.server.close(5_000);
      await removeCluster(store, name);
    }
  } finally {
    await cp.stop();
    await tp.stop();
  }
}

async function far(store: FileSecretStore, github: GitHubServer): Promise<void> {
  note(`(d) ${FAR_ROUNDS} rounds × 2 latencies (0 and ${LATENCY_MS} ms), a fresh kube-apiserver behind Toxiproxy each`);
  const at: Record<'zero' | 'far', FarRun[]> = { zero: [], far: [] };
  for (let round = 1; round <= FAR_ROUNDS; round++) {
    // Alternate which goes first, so drifting machine load hits both alike.
    const order: ('zero' | 'far')[] = round % 2 === 1 ? ['zero', 'far'] : ['far', 'zero'];
    for (const which of order) {
      const run = await farRound(store, github, which === 'far' ? LATENCY_MS : 0, round);
      at[which].push(run);
      note(`   round ${round}, ${which === 'far' ? LATENCY_MS : 0} ms: first apply ${ms(run.firstMs)} (depth ${run.firstDepth ?? '?'}, ${run.firstRequests ?? '?'} requests), no-op ${ms(run.noopMs)} (depth ${run.noopDepth ?? '?'}, ${run.noopRequests ?? '?'} requests)`);
    }
  }
  const med = (xs: readonly (number | undefined)[]): number => percentile([...xs.filter((x): x is number => x !== undefined)].sort((a, b) => a - b), 50);
  say();
  say(`(d) a cluster ${LATENCY_MS} ms away (Toxiproxy latency toxic, half each way) vs 0 ms, Online Boutique, medians of ${FAR_ROUNDS} rounds`);
  const line = (label: string, key: 'first' | 'noop', target: number): void => {
    const w0 = med(at.zero.map((r) => r[`${key}Ms`]));
    const w1 = med(at.far.map((r) => r[`${key}Ms`]));
    const trips = LATENCY_MS > 0 ? (w1 - w0) / LATENCY_MS : NaN;
    const depth = med(at.far.map((r) => r[`${key}Depth`]));
    const requests = med(at.far.map((r) => r[`${key}Requests`]));
    say(`   ${label.padEnd(44)} wall ${ms(w0)} at 0 ms, ${ms(w1)} at ${LATENCY_MS} ms → ${trips.toFixed(1)} sequential round trips (before: ≈${BEFORE[key]}; target ≤ ${target}) ${verdict(trips <= target + 0.5)}`);
    say(`   ${''.padEnd(44)} counted inside: the longest chain of requests ${Number.isNaN(depth) ? 'n/a' : depth} (of ${Number.isNaN(requests) ? 'n/a' : requests} requests; TLS handshakes are not requests)`);
    if (!(trips <= target + 0.5)) missed.push(`(d) ${label}: ${trips.toFixed(1)} round trips at ${LATENCY_MS} ms (target ≤ ${target})`);
  };
  line('first apply (fresh API server, new wiring):', 'first', 8);
  line('no-op redelivery (same wiring, warm):', 'noop', 4);
}

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(tmpdir(), 'pushsync-bench-webhook-'));
  const github = await startGitHubServer({ owner: OWNER, repo: REPO });
  try {
    say(`pushsync webhook benchmark; node ${process.version}; load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    say();
    const store = new FileSecretStore(home);
    await setWebhookSecrets(store, [SECRET]);
    await setGitHubToken(store, github.token);
    const seedSha = await github.git.commit(seedFiles(), { message: 'Online Boutique' });
    const only = ONLY_FAR || ONLY_FLEET;
    if (!only) await latency(store, github, seedSha);
    if (!SKIP_CLUSTERS && !only) await clusters(store, github, seedSha);
    if (!SKIP_CLUSTERS && !ONLY_FAR) await fleet(store, github);
    if (!SKIP_CLUSTERS && !ONLY_FLEET) await far(store, github);
  } finally {
    agent.destroy();
    await github.close();
    rmSync(home, { recursive: true, force: true });
  }
  say();
  if (missed.length === 0) say('every target met');
  else {
    say(`targets missed: ${missed.join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
