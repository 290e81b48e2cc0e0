/**
 * `npm run demo`, end to end, as a newcomer runs it: its own process group (as in a terminal),
 * a real API server, the GitHub stand-in, the local server. Asserts what it prints, that it
 * exits 0, and that it leaves nothing running and no temporary directory behind — also after
 * Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findControlPlaneBinaries } from '../helpers/control-plane.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(path.join(tmpdir(), 'pushsync-demo-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface DemoRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What `npm run demo` runs, in one node process: npm itself dies of a Ctrl-C and would hide the demo's exit code. */
const DIRECT = [process.execPath, '--import', 'tsx', 'scripts/demo.ts'] as const;

/**
 * The demo in a new process group, by default as `npm run demo`. `interruptWhen`: send SIGINT
 * to the whole group (what Ctrl-C in a terminal does) once stdout matches it.
 */
function runDemo(logPath: string, options: { command?: readonly string[]; interruptWhen?: RegExp } = {}): Promise<DemoRun> {
  const [command = 'npm', ...args] = options.command ?? ['npm', 'run', '--silent', 'demo'];
  const interruptWhen = options.interruptWhen;
  // Never let a test start the quarter-hour Go build: fail here, with the reason, instead.
  const assets = findControlPlaneBinaries();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, KUBEBUILDER_ASSETS: assets, PUSHSYNC_DEMO_LOG: logPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const guard = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`the demo did not finish in 150 s.\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, 150_000);
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

describe('npm run demo', () => {
  it('pushes the Online Boutique, a change and a broken commit; prints the checks and the cluster; exits 0 and cleans up', async () => {
    const logPath = path.join(scratch, 'demo.log');
    const run = await runDemo(logPath);
    const out = run.stdout;
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });

    // 1. The Online Boutique: vet passes, the cluster goes pending → success, the objects are listed.
    const push1 = out.slice(out.indexOf('1. Push the Online Boutique'), out.indexOf('2. Push a change'));
    expect(push1).toMatch(/pushsync\/vet +success +vet passed: 25 objects/);
    expect(push1).toMatch(/pushsync\/mycluster +pending +applying [0-9a-f]{7}…[\s\S]*pushsync\/mycluster +success +applied: 25 created/);
    expect(push1).toContain('namespaces: default, kube-node-lease, kube-public, kube-system, onlineboutique, pushsync-system');
    expect(push1).toMatch(/^ +frontend +1 +gcr\.io\/google-samples\/microservices-demo\/frontend:v0\.2\.0$/m);
    expect(push1).toMatch(/^ +frontend-external +LoadBalancer +10\.0\.0\.\d+ +80:\d+\/TCP$/m);
    expect(push1).toContain('(12 Deployments, 12 Services.');

    // 2. The change: statuses green, and exactly what changed.
    const push2 = out.slice(out.indexOf('2. Push a change'), out.indexOf('3. Push a broken commit'));
    expect(push2).toMatch(/pushsync\/mycluster +success +applied: 0 created, 1 configured, 23 unchanged, 1 pruned/);
    expect(push2).toMatch(/What changed on the cluster:\n +deployment\/frontend: replicas 1 → 3\n +service\/redis-cart: deleted \(pruned: it is no longer in Git\)\n/);

    // 3. The broken commit: vet fails naming file and line; the cluster is not touched.
    const push3 = out.slice(out.indexOf('3. Push a broken commit'), out.indexOf('Summary'));
    expect(push3).toMatch(/pushsync\/vet +failure +1 error\. KNV2001 namespaces\/onlineboutique\/settings\.yaml:5/);
    expect(push3).toMatch(/pushsync\/mycluster +failure +not applied: the commit fails validation/);
    expect(push3).toContain('The cluster is unchanged: still 12 Deployments and 11 Services');

    expect(out).toMatch(/Online Boutique +✓ success +✓ success/);
    expect(out).toMatch(/Scale frontend to 3, drop redis-cart +✓ success +✓ success/);
    expect(out).toMatch(/Add settings \(broken\) +✗ failure +✗ failure/);
    expect(out).toContain(`Every check came out as expected. pushsync's JSON logs of this run: ${logPath}`);
    expect(out.trimEnd().endsWith('Done.')).toBe(true);

    // No log spam on the terminal: the logs are JSON lines in the file it named.
    expect(out).not.toMatch(/^\{"time"/m);
    const lines = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.msg === 'webhook answered').map((l) => l.status)).toEqual([202, 202, 202]);
    expect(lines.filter((l) => l.msg === 'applied')).toHaveLength(2);

    const left = leftovers(out);
    expect(await listening(left.apiServer)).toBe(false);
    expect(await listening(left.github)).toBe(false);
    expect(existsSync(left.home)).toBe(false);
    expect(existsSync(left.gitDir)).toBe(false);
  });

  it('Ctrl-C in the middle stops everything, removes the temporary directories, and exits 130', async () => {
    const run = await runDemo(path.join(scratch, 'interrupted.log'), { command: DIRECT, interruptWhen: /1\. Push the Online Boutique/ });
    expect(run.code).toBe(130);
    expect(run.stdout).toContain('Interrupted: stopping everything and removing the temporary files…');
    expect(run.stdout.trimEnd().endsWith('Done.')).toBe(true);
    expect(run.stdout).not.toContain('The demo stopped');
    const left = leftovers(run.stdout);
    expect(await listening(left.apiServer)).toBe(false);
    expect(await listening(left.github)).toBe(false);
    expect(existsSync(left.home)).toBe(false);
    expect(existsSync(left.gitDir)).toBe(false);
  });
});
