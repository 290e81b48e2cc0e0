/**
 * `npm run demo`, end to end, as a newcomer runs it: its own process group (as in a terminal),
 * a control plane that runs workloads (API server, controllers, scheduler, KWOK nodes), the
 * GitHub stand-in, the local server. Asserts what it prints (green only once the rollout runs,
 * red naming the Deployment that does not, the revert green again, the GitHub Deployments),
 * that it exits 0, and that it leaves nothing running and no temporary directory behind — also
 * after Ctrl-C in the middle of a rollout.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findControlPlaneBinaries } from '../helpers/control-plane.ts';
import { findWorkloadBinaries } from '../helpers/workload-plane.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(path.join(tmpdir(), 'pushsync-demo-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface DemoRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** About a minute on an idle 2-core machine; room for a loaded one. */
const RUN_GUARD_MS = 240_000;

/** What `npm run demo` runs, in one node process: npm itself dies of a Ctrl-C and would hide the demo's exit code. */
const DIRECT = [process.execPath, '--import', 'tsx', 'scripts/demo.ts'] as const;

/**
 * The demo in a new process group, by default as `npm run demo`. `interruptWhen`: send SIGINT
 * to the whole group (what Ctrl-C in a terminal does) once stdout matches it.
 */
function runDemo(logPath: string, options: { command?: readonly string[]; interruptWhen?: RegExp } = {}): Promise<DemoRun> {
  const [command = 'npm', ...args] = options.command ?? ['npm', 'run', '--silent', 'demo'];
  const interruptWhen = options.interruptWhen;
  // Never let a test start the quarter-hour Go builds: fail here, with the reason, instead.
  const assets = findControlPlaneBinaries();
  const workloadAssets = findWorkloadBinaries();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, KUBEBUILDER_ASSETS: assets, PUSHSYNC_WORKLOAD_ASSETS: workloadAssets, PUSHSYNC_DEMO_LOG: logPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const guard = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`the demo did not finish in ${RUN_GUARD_MS / 1000} s.\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, RUN_GUARD_MS);
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      if (interruptWhen && !interrupted && interruptWhen.test(stdout) && child.pid !== undefined) {
        interrupted = true;
        process.kill(-child.pid, 'SIGINT');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

/** True when something accepts TCP connections at host:port. */
function listening(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(u.port), u.hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function leftovers(stdout: string): { apiServer: string; github: string; home: string; gitDir: string } {
  const apiServer = /Kubernetes API server at (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
  const github = /GitHub stand-in for repository acme\/policy at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
  const home = /\(secrets in (\/\S+)\)/.exec(stdout)?.[1];
  const gitDir = /over the git repository (\/\S+)\)/.exec(stdout)?.[1];
  if (!apiServer || !github || !home || !gitDir) throw new Error(`the demo did not print where things run:\n${stdout}`);
  return { apiServer, github, home, gitDir };
}

/** The lines of `text` from the one starting with `from` up to (not including) the one starting with `to`. */
function section(text: string, from: string, to: string): string {
  const start = text.indexOf(`\n${from}`);
  const end = text.indexOf(`\n${to}`, start + 1);
  if (start < 0 || end < 0) throw new Error(`no section "${from}" … "${to}" in:\n${text}`);
  return text.slice(start, end);
}

describe('npm run demo', () => {
  it('green means running: the Online Boutique rolls out, a change, a bad image turns red, its revert green, a broken commit; exits 0 and cleans up', async () => {
    const logPath = path.join(scratch, 'demo.log');
    const run = await runDemo(logPath);
    const out = run.stdout;
    // On failure, show what it printed: its own list of what did not go as expected is there.
    expect(run.code, `the demo exited ${run.code}:\n${out}\nstderr:\n${run.stderr}`).toBe(0);
    expect(out).toMatch(/with kube-controller-manager, kube-scheduler and 2 KWOK nodes\n +\(kwok-node-0, kwok-node-1; started in/);
    expect(out).toContain('pushsync clusters register mycluster --repo acme/policy --branch main --dir . --health-timeout 180s');

    // 1. The Online Boutique: pending while it rolls out, then green, and at that moment twelve 1/1.
    const push1 = section(out, '1. Push the Online Boutique', '2. Push a change');
    expect(push1).toMatch(/pushsync\/vet +success +vet passed: 25 objects/);
    expect(push1).toMatch(
      /pushsync\/mycluster +pending +applying [0-9a-f]{7}…\n(?: .*\n)*? +[\d.]+ s +pushsync\/mycluster +pending +applied 25 \(25 created\); rolling out: \d+\/12 Deployments available(?:, \d+ other objects? in progress)?\n(?: .*\n)*? +[\d.]+ s +pushsync\/mycluster +success +25 objects healthy in \d+ s\n/,
    );
    expect(push1.match(/pushsync\/mycluster +success/g)).toHaveLength(1);
    expect(push1).toMatch(/GitHub Deployment of [0-9a-f]{7} \(environment mycluster\): queued → in_progress → success\n/);
    expect(push1).toMatch(/\$ kubectl get deploy -n onlineboutique\n +NAME +READY +UP-TO-DATE +AVAILABLE +AGE\n/);
    const deployRows = [...push1.matchAll(/^ +([a-z-]+) +(\d+\/\d+) +\d+ +\d+ +\S+$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(deployRows).toHaveLength(12);
    expect(deployRows.every((r) => r.endsWith(' 1/1'))).toBe(true);
    expect(deployRows).toContain('frontend 1/1');
    expect(push1).toMatch(/12 Pods Running and Ready \(\d+ on kwok-node-[01](?:, \d+ on kwok-node-[01])?\)/);
    expect(push1).toMatch(/^ +frontend-external +LoadBalancer +10\.0\.0\.\d+ +127\.0\.0\.\d+ +80:\d+\/TCP$/m);
    expect(push1).toMatch(/^ +redis-cart +ClusterIP +10\.0\.0\.\d+ +<none> +6379\/TCP$/m);
    expect(push1).toContain('(namespaces: default, kube-node-lease, kube-public, kube-system, onlineboutique, pushsync-system)');

    // 2. The change: green once frontend runs 3/3, and exactly what changed.
    const push2 = section(out, '2. Push a change', '3. Push a bad image');
    expect(push2).toMatch(/pushsync\/mycluster +success +24 objects healthy in \d+ s\n/);
    expect(push2).toMatch(/GitHub Deployment of [0-9a-f]{7} \(environment mycluster\): queued → in_progress → success\n/);
    expect(push2).toMatch(/What changed on the cluster:\n +deployment\/frontend: replicas 1 → 3\n +service\/redis-cart: deleted \(pruned: it is no longer in Git\)\n/);
    expect(push2).toContain('frontend: 3/3 ready when the check turned green.');

    // 3. The bad image: red naming the Deployment, the controller's reason and the pod's; the old Pod serves on.
    const push3 = section(out, '3. Push a bad image', '4. Push the fix');
    expect(push3).toMatch(/pushsync\/vet +success +vet passed: 24 objects/);
    expect(push3).toMatch(/pushsync\/mycluster +failure +Deployment onlineboutique\/cartservice: ProgressDeadlineExceeded; pod cartservice-[a-z0-9]+-[a-z0-9]+: ImagePullBackOff\n/);
    expect(push3).not.toMatch(/pushsync\/mycluster +success/);
    expect(push3).toMatch(/GitHub Deployment of [0-9a-f]{7} \(environment mycluster\): queued → in_progress → failure\n/);
    expect(push3).toMatch(/^ +cartservice +1\/1 +1 +1 +\S+$/m);
    expect(push3).toMatch(/^ +cartservice-[a-z0-9]+-[a-z0-9]+ +gcr\.io\/google-samples\/microservices-demo\/cartservice:v0\.2\.0 +true +<none>$/m);
    expect(push3).toMatch(/^ +cartservice-[a-z0-9]+-[a-z0-9]+ +registry\.invalid\/cartservice:v0\.2\.0 +false +ImagePullBackOff$/m);

    // 4. The revert: green again, everything running.
    const push4 = section(out, '4. Push the fix', '5. Push a broken commit');
    expect(push4).toMatch(/git revert [0-9a-f]{7} /);
    expect(push4).toMatch(/pushsync\/mycluster +success +24 objects healthy in \d+ s\n/);
    expect(push4).not.toMatch(/pushsync\/mycluster +failure/);
    expect(push4).toMatch(/GitHub Deployment of [0-9a-f]{7} \(environment mycluster\): queued → in_progress → success\n/);
    const fixedRows = [...push4.matchAll(/^ +([a-z-]+) +(\d+\/\d+) +\d+ +\d+ +\S+$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(fixedRows).toHaveLength(12);
    expect(fixedRows.filter((r) => !r.endsWith(' 1/1'))).toEqual(['frontend 3/3']);

    // 5. The broken commit: vet fails naming file and line; the cluster is not touched; no Deployment.
    const push5 = section(out, '5. Push a broken commit', 'Summary');
    expect(push5).toMatch(/pushsync\/vet +failure +1 error\. KNV2001 namespaces\/onlineboutique\/settings\.yaml:5/);
    expect(push5).toMatch(/pushsync\/mycluster +failure +not applied: the commit fails validation/);
    expect(push5).toContain('The cluster is unchanged: still 12 Deployments and 11 Services');

    const summary = section(out, 'Summary', 'The Environments page');
    expect(summary).toMatch(/Online Boutique +✓ success +✓ success\n/);
    expect(summary).toMatch(/Scale frontend to 3, drop redis-cart +✓ success +✓ success\n/);
    expect(summary).toMatch(/\n +[0-9a-f]{7} +Move cartservice to our own registry +✓ success +✗ failure\n/);
    expect(summary).toMatch(/Revert "Move cartservice to our own registry" +✓ success +✓ success\n/);
    expect(summary).toMatch(/Add settings \(broken\) +✗ failure +✗ failure\n/);

    // The Environments view, newest first: a later success made the earlier ones inactive (auto_inactive).
    const environments = section(out, 'The Environments page', 'Every check came out as expected');
    const rows = [...environments.matchAll(/^ +[0-9a-f]{7} +(.+?) {3,}(\(none: not applied\)|queued → .*)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
    expect(rows).toEqual([
      'Add settings (broken): (none: not applied)',
      'Revert "Move cartservice to our own registry": queued → in_progress → success',
      'Move cartservice to our own registry: queued → in_progress → failure',
      'Scale frontend to 3, drop redis-cart: queued → in_progress → success → inactive',
      'Online Boutique: queued → in_progress → success → inactive',
    ]);

    expect(out).toContain(`Every check came out as expected. pushsync's JSON logs of this run: ${logPath}`);
    expect(out.trimEnd().endsWith('Done.')).toBe(true);

    // No log spam on the terminal: the logs are JSON lines in the file it named.
    expect(out).not.toMatch(/^\{"time"/m);
    const lines = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.msg === 'webhook answered').map((l) => l.status)).toEqual([202, 202, 202, 202, 202]);
    expect(lines.filter((l) => l.msg === 'applied')).toHaveLength(4);

    const left = leftovers(out);
    expect(await listening(left.apiServer)).toBe(false);
    expect(await listening(left.github)).toBe(false);
    expect(existsSync(left.home)).toBe(false);
    expect(existsSync(left.gitDir)).toBe(false);
  }, RUN_GUARD_MS + 10_000);

  it('Ctrl-C while a rollout is followed stops everything, removes the temporary directories, and exits 130', async () => {
    // The progress line comes once the apply has scheduled its next health check (a timer).
    const run = await runDemo(path.join(scratch, 'interrupted.log'), { command: DIRECT, interruptWhen: /rolling out: |2\. Push a change/ });
    expect(run.code).toBe(130);
    expect(run.stdout).toContain('Interrupted: stopping everything and removing the temporary files…');
    expect(run.stdout.trimEnd().endsWith('Done.')).toBe(true);
    expect(run.stdout).not.toContain('The demo stopped');
    expect(run.stdout).not.toContain('5. Push a broken commit');
    const left = leftovers(run.stdout);
    expect(await listening(left.apiServer)).toBe(false);
    expect(await listening(left.github)).toBe(false);
    expect(existsSync(left.home)).toBe(false);
    expect(existsSync(left.gitDir)).toBe(false);
  }, RUN_GUARD_MS + 10_000);
});
