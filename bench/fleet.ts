/**
 * A fleet of 100 clusters within GitHub's limits (issue 13 §3, acceptance 5): `npx tsx bench/fleet.ts`.
 *
 * BENCH_CLUSTERS (100) clusters registered (file store), all following `main`; the GitHub
 * stand-in 50 ms away (BENCH_GITHUB_MS) enforcing GitHub's secondary limits (80 content-creating
 * requests a minute, 500 an hour, 100 concurrent); a Lambda stand-in for the fan-out whose every
 * invocation takes 30 ms (BENCH_LAMBDA_MS) to be accepted. One push, token auth, the client as
 * deployed (a second between writes). Measured: sync's time from the delivery to the last
 * invocation it makes (the apply jobs and, for a fleet, the fleet look), its GitHub writes, the
 * limit errors, and the most writes in any minute.
 *
 *   before  today's behaviour: one context per cluster (the fleet threshold out of reach), once
 *           with the write spacing as deployed, once without (a burst, as bench/webhook.ts sends)
 *   after   the fleet (`pushsync/fleet`, threshold 10), median of BENCH_RUNS (5)
 *
 * The before runs are one each: they are bound by the spacing (1 s a write) or by the limit's
 * retry-after (up to 60 s), not by the machine. A fresh stand-in per run: the limits' windows
 * start empty. Exit status 1 when an after run meets a limit or passes the per-minute budget.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Invoker } from '../lib/fanout/index.ts';
import { createOctokit } from '../lib/github/index.ts';
import type { PushJob } from '../lib/jobs.ts';
import { createLogger } from '../lib/log.ts';
import { FileSecretStore, registerCluster } from '../lib/registry/index.ts';
import { runSync, type SyncDeps, type SyncOutcome } from '../lib/sync/index.ts';
import { GITHUB_SECONDARY_LIMITS, startGitHubServer, type GitHubServer } from '../test/helpers/github-server.ts';

const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const GITHUB_MS = Number(process.env.BENCH_GITHUB_MS ?? 50);
const LAMBDA_MS = Number(process.env.BENCH_LAMBDA_MS ?? 30);
const SKIP_BEFORE = process.env.BENCH_SKIP_BEFORE === '1';
const OWNER = 'acme';
const REPO = 'policy';
const FILES = {
  'system/repo.yaml': 'apiVersion: configmanagement.gke.io/v1\nkind: Repo\nmetadata:\n  name: repo\nspec:\n  version: "1.0.0"\n',
  'namespaces/shop/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n',
  'namespaces/shop/config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config\n  namespace: shop\ndata:\n  a: "1"\n',
};
const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster:
      server: https://127.0.0.1:1
users:
  - name: u
    user:
      token: bench-token-0123456789
contexts:
  - name: c
    context:
      cluster: c
      user: u
current-context: c
`;

const say = (text = ''): void => void process.stdout.write(`${text}\n`);
const s = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

interface Run {
  readonly ms: number;
  readonly writes: number;
  readonly limitErrors: number;
  readonly perMinute: number;
  readonly invocations: number;
  readonly outcome: SyncOutcome;
}

async function once(store: FileSecretStore, variant: { fleetThreshold: number; writeSpacingMs: number }): Promise<Run> {
  const github: GitHubServer = await startGitHubServer({ owner: OWNER, repo: REPO, latencyMs: GITHUB_MS, secondaryLimits: GITHUB_SECONDARY_LIMITS });
  try {
    const sha = await github.git.commit(FILES);
    let invocations = 0;
    let last = 0;
    // The Lambda stand-in: an Event invoke is accepted after its round trip, and runs nothing here.
    const invoker: Invoker = {
      invoke: async () => {
        await new Promise((resolve) => setTimeout(resolve, LAMBDA_MS));
        invocations++;
        last = performance.now();
      },
    };
    const deps: SyncDeps & { fleetThreshold: number } = {
      store,
      invoker,
      logger: createLogger({ sink: () => undefined, level: 'error' }),
      github: async ({ deliveryId }) => ({
        octokit: createOctokit({ auth: { kind: 'token', token: github.token }, baseUrl: github.url, deliveryId, writeSpacingMs: variant.writeSpacingMs, log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } }),
        checkRuns: false,
      }),
      fleetThreshold: variant.fleetThreshold,
    };
    const job: PushJob = {
      deliveryId: `bench-${Date.now()}`, repo: `${OWNER}/${REPO}`, owner: OWNER, name: REPO, ref: 'refs/heads/main', branch: 'main',
      after: sha, before: '0'.repeat(40), defaultBranch: 'main', pushedAt: new Date().toISOString(),
    };
    github.clearRequests();
    const t0 = performance.now();
    const outcome = await runSync(job, deps);
    const writes = github.requests.filter((r) => r.method !== 'GET' && !r.faulted).length;
    return { ms: last - t0, writes, limitErrors: github.limitErrors, perMinute: github.maxWritesPerMinute(), invocations, outcome };
  } finally {
    await github.close();
  }
}

function line(label: string, r: Run): string {
  return `   ${label.padEnd(42)} ${s(r.ms).padStart(8)}   writes ${String(r.writes).padStart(4)}   limit errors ${String(r.limitErrors).padStart(3)}   most writes in a minute ${String(r.perMinute).padStart(3)}   invocations ${r.invocations}   (${r.outcome.kind})`;
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

async function main(): Promise<void> {
  const home = await mkdtemp(path.join(tmpdir(), 'pushsync-bench-fleet-'));
  const store = new FileSecretStore(home);
  try {
    for (let i = 0; i < CLUSTERS; i++) {
      const r = await registerCluster(store, { name: `cluster-${String(i).padStart(3, '0')}`, kubeconfig: KUBECONFIG, repo: `${OWNER}/${REPO}`, branch: 'main', dir: '.', sourceFormat: 'hierarchy' });
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
    }
    say(`fleet of ${CLUSTERS} clusters, one push: GitHub ${GITHUB_MS} ms away with its secondary limits (${GITHUB_SECONDARY_LIMITS.perMinute}/min, ${GITHUB_SECONDARY_LIMITS.perHour}/h, ${GITHUB_SECONDARY_LIMITS.concurrency} concurrent), Lambda invoke ${LAMBDA_MS} ms`);
    say(`   sync: delivery → last invocation; GitHub writes (sync's); secondary-limit errors; most writes in any 60 s`);
    if (!SKIP_BEFORE) {
      say('before (one context per cluster):');
      say(line('spaced 1 s a write (as deployed)', await once(store, { fleetThreshold: Number.MAX_SAFE_INTEGER, writeSpacingMs: 1000 })));
      say(line('unspaced (a burst)', await once(store, { fleetThreshold: Number.MAX_SAFE_INTEGER, writeSpacingMs: 0 })));
    }
    say(`after (pushsync/fleet above 10 clusters), ${RUNS} runs:`);
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await once(store, { fleetThreshold: 10, writeSpacingMs: 1000 });
      runs.push(r);
      say(line(`run ${i + 1}`, r));
    }
    const ok = runs.every((r) => r.limitErrors === 0 && r.perMinute <= GITHUB_SECONDARY_LIMITS.perMinute && r.outcome.kind === 'dispatched' && r.invocations === CLUSTERS + 1);
    say(`   median ${s(median(runs.map((r) => r.ms)))}, writes ${median(runs.map((r) => r.writes))}, limit errors ${Math.max(...runs.map((r) => r.limitErrors))}: ${ok ? 'OK' : 'MISSED'} (target: no limit error, ≤ ${GITHUB_SECONDARY_LIMITS.perMinute} writes a minute)`);
    if (!ok) process.exitCode = 1;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

await main();
