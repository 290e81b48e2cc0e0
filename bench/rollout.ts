/**
 * Rollout benchmark (issue 11, acceptance 5 and 6): `npx tsx bench/rollout.ts`.
 *
 * On a control plane that runs workloads (kube-controller-manager, kube-scheduler, KWOK nodes:
 * test/helpers/workload-plane.ts), wired as `pushsync serve` wires it (lib/local), the GitHub
 * stand-in over a real git repository:
 *
 *   (a) Push → healthy for Online Boutique (12 Deployments, 12 Services, a Namespace): from the
 *       webhook POST to `pushsync/<cluster>` success, split into the apply (POST → the status
 *       after the apply) and the rollout (→ green). Baseline in the same process, on the same
 *       cluster: `kubectl apply` of the same manifests + `kubectl wait --for=condition=Available`.
 *       BENCH_RUNS (3) runs each, alternating, each in a fresh namespace; medians and the ratio.
 *   (b) A rollout that takes BENCH_ROLLOUT_SECONDS (120) on AWS Lambda (SDK stubs, health checks
 *       through SQS delays: test/helpers/lambda-rollout.ts): the invocations, the total billed
 *       time and the longest invocation, next to what one function waiting for the rollout
 *       would be billed (the rollout's wall time).
 *
 * Exit status 1 when (b)'s longest invocation reaches 30 s.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { wireLocal } from '../lib/local/index.ts';
import { createLogger } from '../lib/log.ts';
import { FileSecretStore, registerCluster, setGitHubToken, setWebhookSecrets } from '../lib/registry/index.ts';
import { runLambdaRollout } from '../test/helpers/lambda-rollout.ts';
import { buildPushPayload, startGitHubServer, webhookDelivery } from '../test/helpers/github-server.ts';
import { startWorkloadPlane, type WorkloadPlane } from '../test/helpers/workload-plane.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ROLLOUT_SECONDS = Number(process.env.BENCH_ROLLOUT_SECONDS ?? 120);
const SECRET = 'bench-rollout-secret-0123456789';
const OWNER = 'acme';
const REPO = 'policy';
const MANIFESTS = readFileSync(new URL('../examples/online-boutique/namespaces/onlineboutique/kubernetes-manifests.yaml', import.meta.url), 'utf8');
const REPO_YAML = 'apiVersion: configmanagement.gke.io/v1\nkind: Repo\nmetadata:\n  name: repo\nspec:\n  version: "1.0.0"\n';

const say = (text = ''): void => void process.stdout.write(`${text}\n`);
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: readonly number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};

interface PushRun {
  readonly totalMs: number;
  readonly applyMs: number;
  readonly rolloutMs: number;
}

async function pushsyncRuns(wp: WorkloadPlane): Promise<{ runs: PushRun[]; kubectl: number[] }> {
  const home = mkdtempSync(path.join(tmpdir(), 'pushsync-bench-rollout-'));
  const github = await startGitHubServer({ owner: OWNER, repo: REPO });
  try {
    const store = new FileSecretStore(home);
    await setGitHubToken(store, github.token);
    await setWebhookSecrets(store, [SECRET]);
    const reg = await registerCluster(store, { name: 'edge', kubeconfig: wp.kubeconfig, repo: `${OWNER}/${REPO}`, branch: 'main', dir: '.', sourceFormat: 'hierarchy' }, { replace: true });
    if (!reg.ok) throw new Error(JSON.stringify(reg.errors));
    // As `pushsync serve` runs, the health interval at its default.
    const wired = wireLocal({ store, logger: createLogger({ sink: () => undefined }), githubBaseUrl: github.url, writeSpacingMs: 0 });
    let before: string | undefined;
    const runs: PushRun[] = [];
    const kubectl: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // pushsync: one more Online Boutique, in namespace ob-<i>. The earlier copies stay (healthy
      // already): pruning them would have the controllers deleting 12 Deployments while this run's
      // roll out, which the kubectl baseline, run after, would not pay.
      const ns = `ob-${i}`;
      const after = await github.git.commit(
        { 'system/repo.yaml': REPO_YAML, [`namespaces/${ns}/namespace.yaml`]: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`, [`namespaces/${ns}/kubernetes-manifests.yaml`]: MANIFESTS },
        { message: `run ${i}` },
      );
      const payload = await buildPushPayload({ git: github.git, owner: OWNER, repo: REPO, ref: 'main', ...(before ? { before } : {}), after, apiUrl: github.url });
      const d = webhookDelivery(payload, SECRET);
      // Status times are seen as they are posted (the stand-in's created_at has 1 s resolution).
      let appliedAt = NaN;
      let greenAt = NaN;
      let seen = github.statuses.length;
      const watch = setInterval(() => {
        for (const x of github.statuses.slice(seen)) {
          if (x.sha !== after || x.context !== 'pushsync/edge') continue;
          // The apply ends where the status first says what it applied (the rollout's progress, or green at once).
          if (Number.isNaN(appliedAt) && /^applied|objects healthy/.test(x.description ?? '')) appliedAt = Date.now();
          if (x.state === 'success') greenAt = Date.now();
        }
        seen = github.statuses.length;
      }, 2);
      const t0 = Date.now();
      const answer = await wired.webhook({ method: d.method, headers: d.headers, body: d.body });
      if (answer.status !== 202) throw new Error(`push answered ${answer.status}`);
      await wired.invoker.idle();
      clearInterval(watch);
      const last = github.latestStatuses(after).get('pushsync/edge');
      if (last?.state !== 'success' || Number.isNaN(greenAt)) throw new Error(`not green: ${JSON.stringify(last)}`);
      runs.push({ totalMs: greenAt - t0, applyMs: appliedAt - t0, rolloutMs: greenAt - appliedAt });
      before = after;

      // kubectl: the same manifests, apply then wait for every Deployment to be Available.
      const kns = `kb-${i}`;
      const k0 = Date.now();
      const created = await wp.kubectl(['create', 'namespace', kns]);
      const applyK = await wp.kubectl(['apply', '-n', kns, '-f', '-'], { input: MANIFESTS });
      const waited = await wp.kubectl(['wait', '-n', kns, '--for=condition=Available', 'deployment', '--all', '--timeout=300s']);
      if (created.code !== 0 || applyK.code !== 0 || waited.code !== 0) throw new Error(`kubectl: ${created.stderr}${applyK.stderr}${waited.stderr}`);
      kubectl.push(Date.now() - k0);
      say(`  run ${i + 1}: pushsync push → healthy ${s(runs[i]?.totalMs ?? NaN)} (apply ${s(runs[i]?.applyMs ?? NaN)}, rollout ${s(runs[i]?.rolloutMs ?? NaN)}); kubectl apply + wait ${s(kubectl[i] ?? NaN)}`);
    }
    return { runs, kubectl };
  } finally {
    await github.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  say(`bench/rollout.ts: ${RUNS} run(s) of push → healthy, then a ${ROLLOUT_SECONDS} s rollout on Lambda (SDK stubs)`);
  let wp = await startWorkloadPlane({ nodes: 2 });
  let failed = false;
  try {
    say(`workload plane ready in ${s(wp.startupMs)} (${wp.nodeNames.length} KWOK nodes)`);
    say('\n(a) Online Boutique: push → healthy');
    const { runs, kubectl } = await pushsyncRuns(wp);
    const total = median(runs.map((r) => r.totalMs));
    const rollout = median(runs.map((r) => r.rolloutMs));
    const k = median(kubectl);
    say(`  median: pushsync ${s(total)} (apply ${s(median(runs.map((r) => r.applyMs)))}, rollout ${s(rollout)} = ${((100 * rollout) / total).toFixed(0)}%), kubectl apply + wait ${s(k)}; ratio pushsync/kubectl ${(total / k).toFixed(2)}`);

    say(`\n(b) a ${ROLLOUT_SECONDS} s rollout on Lambda: apply function + health checks through SQS delays`);
    // A cluster of its own: another repository follows it (its own inventory and commits).
    await wp.stop();
    wp = await startWorkloadPlane({ nodes: 1 });
    const r = await runLambdaRollout({ kubeconfig: wp.kubeconfig, namespace: 'billing', rolloutSeconds: ROLLOUT_SECONDS });
    const health = r.invocations.filter((i) => i.fn === 'health');
    say(`  invocations: 1 apply (${s(r.invocations.find((i) => i.fn === 'apply')?.durationMs ?? NaN)}), ${health.length} health checks (median ${(median(health.map((i) => i.durationMs)) / 1000).toFixed(2)} s), delays ${r.delays.join(',')} s`);
    say(`  billed: ${s(r.billedMs)} in all, longest invocation ${s(r.longestMs)} (limit 30 s); one function waiting for the rollout: ${s(r.wallMs)} (ratio ${(r.billedMs / r.wallMs).toFixed(3)})`);
    say(`  status: ${r.statuses.at(-1) ?? 'none'}`);
    if (r.longestMs >= 30_000) failed = true;
  } finally {
    await wp.stop();
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
