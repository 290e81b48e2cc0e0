/**
 * `pushsync apply --wait` on the control plane that runs workloads (test/helpers/workload-plane.ts):
 * it waits until the Deployments are Available and says so, exits 1 naming the object and the
 * pod's reason when a rollout fails, and exits 1 with what is still in progress when the
 * duration passes first. An unstructured policy dir with --commit: no git needed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/commands/dispatch.ts';
import { startWorkloadPlane, type WorkloadPlane } from '../helpers/workload-plane.ts';

const BIN = fileURLToPath(new URL('../../bin/pushsync.js', import.meta.url));
const NS = 'waiting';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let wp: WorkloadPlane;
let scratch: string;
let kubeconfig: string;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'pushsync-wait-'));
  wp = await startWorkloadPlane({ nodes: 2 });
  kubeconfig = path.join(scratch, 'kubeconfig');
  writeFileSync(kubeconfig, wp.kubeconfig, { mode: 0o600 });
}, 180_000);

afterAll(async () => {
  await wp?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function inProcess(args: readonly string[]): Promise<Run> {
  const out = { stdout: '', stderr: '' };
  const code = await runCli(args, { stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t) });
  return { code, ...out };
}

/** The real CLI, as users run it. */
function pushsync(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: scratch, env: { ...process.env, PUSHSYNC_DEBUG: '' } }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
}

function deployment(namespace: string, name: string, image: string, extra: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 2,
      ...extra,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

/** An unstructured policy dir holding `objects`, one file. */
function policyDir(name: string, objects: readonly object[]): string {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'all.yaml'), objects.map((o) => dump(o)).join('---\n'));
  return dir;
}

const target = (inventory: string, commit: string): string[] => [
  '--kubeconfig',
  kubeconfig,
  '--cluster',
  'test',
  '--source-format',
  'unstructured',
  '--inventory',
  inventory,
  '--commit',
  commit,
];

const namespace = (name: string): object => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const settings = (ns: string): object => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { k: 'v' } });

describe('pushsync apply --wait', () => {
  const good = (): string => policyDir('good', [namespace(NS), settings(NS), deployment(NS, 'web', 'registry.example/web:1.0')]);

  it('waits until the Deployment is Available, printing progress, then "N objects healthy in X s" (exit 0)', async () => {
    const r = await pushsync(['apply', good(), ...target('wait', 'w1'), '--wait']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(r.stdout).toMatch(/^Applied commit w1 to cluster test: 3 created, 0 configured, 0 pruned, 0 unchanged \(\d+\.\d s\)\.$/m);
    expect(lines).toContain('rolling out: 0/1 Deployment available');
    expect(lines.at(-1)).toMatch(/^3 objects healthy in \d+ s$/);
    const d = await wp.kubectl(['-n', NS, 'get', 'deployment', 'web', '-o', 'jsonpath={.status.availableReplicas}']);
    expect(d.stdout).toBe('2');
  }, 60_000);

  it('--json --wait: one JSON document on stdout with the outcome, progress on stderr', async () => {
    const r = await inProcess(['apply', good(), ...target('wait', 'w1'), '--wait=30s', '--json']);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as { status: string; rollout: string; wait: { kind: string; check: { state: string; objects: unknown[] } } };
    expect(parsed.status).toBe('applied');
    expect(parsed.rollout).toMatch(/^[0-9a-f]{16}$/);
    expect(parsed.wait.kind).toBe('healthy');
    expect(parsed.wait.check).toMatchObject({ state: 'healthy' });
    expect(parsed.wait.check.objects).toHaveLength(3);
  });

  it('a rollout that fails: exit 1 naming the Deployment, ProgressDeadlineExceeded and the pod\'s ImagePullBackOff', async () => {
    const bad = policyDir('bad', [namespace(NS), settings(NS), deployment(NS, 'web', 'registry.invalid/web:2.0', { progressDeadlineSeconds: 5 })]);
    const r = await inProcess(['apply', bad, ...target('wait', 'w2'), '--wait=60s']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^deployment\.apps\/web -n waiting configured/m);
    expect(r.stdout).toMatch(/^Rollout failed after \d+ s: Deployment waiting\/web: ProgressDeadlineExceeded; pod web-[a-z0-9]+-[a-z0-9]+: ImagePullBackOff$/m);
    expect(r.stdout).toMatch(/^KIND +NAMESPACE +NAME +HEALTH +REASON +CAUSE$/m);
    expect(r.stdout).toMatch(/^Deployment +waiting +web +Failed +ProgressDeadlineExceeded +pod web-\S+: ImagePullBackOff$/m);
  }, 60_000);

  it('a rollout still in progress when the duration passes: exit 1 with what is in progress', async () => {
    const slow = policyDir('slow', [namespace('waiting-slow'), deployment('waiting-slow', 'stuck', 'registry.invalid/stuck:1.0')]);
    const t0 = Date.now();
    const r = await inProcess(['apply', slow, ...target('wait-slow', 's1'), '--wait=3s']);
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.stdout).toMatch(/^Rollout not healthy after 3s: rolling out: 0\/1 Deployment available$/m);
    expect(r.stdout).toMatch(/^Deployment +waiting-slow +stuck +InProgress +/m);
    expect(r.stdout).not.toMatch(/^Namespace /m);
  }, 30_000);
});
