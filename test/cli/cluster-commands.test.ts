/**
 * `pushsync plan|apply|status` end to end: the real CLI as a subprocess, a real kube-apiserver,
 * the seed repo in a real git repository. kubectl (built with the control plane) is the
 * independent witness of what is on the cluster.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump, loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/commands/dispatch.ts';
import { inventoryRef, Keys } from '../../lib/cluster/index.ts';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'pushsync.js');
const SEED = path.join(ROOT, 'test', 'fixtures', 'repos', 'seed');
const NS = 'onlineboutique';
const MANIFESTS = path.join('namespaces', NS, 'kubernetes-manifests.yaml');
const PART_OF = `${Keys.partOf}=${inventoryRef('pushsync').id}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let cp: ControlPlane;
let scratch: string;
/** The seed repo as a git repository: the policy dir is its root. */
let repo: string;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'pushsync-cluster-cli-'));
  repo = path.join(scratch, 'repo');
  cpSync(SEED, repo, { recursive: true });
  git(['init', '-q']);
  commitAll('seed');
  cp = await startControlPlane();
});

afterAll(async () => {
  await cp?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function git(args: readonly string[]): string {
  return execFileSync('git', ['-C', repo, '-c', 'user.name=pushsync test', '-c', 'user.email=test@pushsync.invalid', '-c', 'commit.gpgsign=false', ...args], {
    encoding: 'utf8',
  }).trim();
}

function commitAll(message: string): string {
  git(['add', '-A']);
  git(['commit', '-q', '-m', message]);
  return git(['rev-parse', 'HEAD']);
}

/** The real CLI, as users run it (the bundle test/global-setup.ts built; bin/pushsync.js never runs a stale one). */
function pushsync(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: scratch, env: { ...process.env, PUSHSYNC_DEBUG: '' }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
}

/** The same dispatcher in this process: for checks that need no process boundary. */
async function inProcess(args: readonly string[]): Promise<Run> {
  const out = { stdout: '', stderr: '' };
  const code = await runCli(args, { stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t) });
  return { code, ...out };
}

const target = (): string[] => ['--kubeconfig', cp.kubeconfigPath, '--cluster', 'test'];
const noStackTrace = (text: string): void => expect(text).not.toMatch(/\n\s+at /);

interface Listed {
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion: string; labels?: Record<string, string> };
  spec?: { template?: { spec?: { containers?: { name: string; image: string }[] } } };
}

async function kubectlJson(args: readonly string[]): Promise<Listed[]> {
  const r = await cp.kubectl([...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as { items?: Listed[] } & Listed;
  return parsed.items ?? [parsed];
}

/** kind/name → resourceVersion of everything in the namespace plus the Namespace itself. */
async function versions(): Promise<Record<string, string>> {
  const items = [...(await kubectlJson(['get', 'deployments,services,configmaps', '-n', NS])), ...(await kubectlJson(['get', 'namespace', NS]))];
  return Object.fromEntries(items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
}

async function namespaces(): Promise<string[]> {
  return (await kubectlJson(['get', 'namespaces'])).map((n) => n.metadata.name);
}

/** The summary line a run ends with. */
const lastLine = (text: string): string => text.trimEnd().split('\n').pop() ?? '';

describe('help and usage', () => {
  it.each(['plan', 'apply', 'status'])('%s --help: description, every flag with its default, exit codes, examples', async (name) => {
    const r = await inProcess([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: pushsync ${name} `));
    for (const text of ['--kubeconfig <file>', '--context <name>', '--inventory <name>', '(default: "pushsync")', '--json', '-h, --help', 'Exit status:', `Examples:\n  pushsync ${name} `]) {
      expect(r.stdout).toContain(text);
    }
    if (name !== 'status') {
      for (const text of ['--cluster <name>', '--source-format <format>', '(default: "hierarchy")', '--allow-delete-all', '--show-unchanged']) expect(r.stdout).toContain(text);
    }
    expect((await inProcess(['help', name])).stdout).toBe(r.stdout);
  });

  it('apply --help from the real binary documents the commit, never-backwards and exit 4', async () => {
    const r = await pushsync(['apply', '--help']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('--commit <sha>');
    expect(r.stdout).toContain('(default: HEAD of DIR\'s git repo)');
    expect(r.stdout).toContain('--commit is required');
    expect(r.stdout).toContain('"superseded" (exit 0)');
    expect(r.stdout).toContain('--lease-timeout <seconds>');
    expect(r.stdout).toMatch(/4 try again later/);
    expect(r.stdout).toContain('--wait[=<duration>]');
    expect(r.stdout).toContain('default when\n                             given: 5m');
    expect(r.stdout).toContain('pushsync.dev/health: ignore');
  });

  it('the top-level help lists the three commands', async () => {
    const r = await inProcess(['--help']);
    expect(r.stdout).toMatch(/^ {2}plan +Show what apply would change/m);
    expect(r.stdout).toMatch(/^ {2}apply +Make a cluster match/m);
    expect(r.stdout).toMatch(/^ {2}status +Show the last commit applied/m);
  });

  it('missing or bad flags exit 2 with a hint and no stack trace, before anything is read', async () => {
    const cases: [string[], string][] = [
      [['plan', repo, '--cluster', 'x'], 'pushsync plan: --kubeconfig is required\n'],
      [['apply', repo, '--kubeconfig', 'k'], 'pushsync apply: --cluster is required\n'],
      [['status'], 'pushsync status: --kubeconfig is required\n'],
      [['status', repo, '--kubeconfig', 'k'], 'pushsync status: status reads the cluster, not a policy dir'],
      [['apply', repo, ...target(), '--lease-timeout', 'soon'], 'pushsync apply: invalid --lease-timeout "soon"'],
      [['apply', repo, ...target(), '--commit', 'two words'], 'pushsync apply: invalid --commit "two words"'],
      [['apply', repo, ...target(), '--wait=soon'], 'pushsync apply: invalid --wait "soon": use a duration such as 90s, 5m or 1h'],
      [['apply', repo, ...target(), '--wait=0'], 'pushsync apply: invalid --wait "0": give a duration above 0'],
      [['apply', repo, ...target(), '--wait', '5m'], 'pushsync apply: give --wait its duration after "=": --wait=5m'],
      [['plan', repo, ...target(), '--inventory', 'Not_Valid'], 'pushsync plan: invalid --inventory "Not_Valid"'],
      [['plan', repo, '--cluster', 'x', '--kubeconfig', path.join(scratch, 'missing')], 'pushsync plan: cannot read --kubeconfig'],
    ];
    for (const [args, message] of cases) {
      const r = await inProcess(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(r.stderr).toContain('--help\' for usage.');
      noStackTrace(r.stderr);
    }
  });
});

describe('the seed repo on a real API server', () => {
  let first: string;
  let second: string;

  it('an invalid repo: exit 1 with the KNV errors, and the cluster is not contacted', async () => {
    const bad = path.join(scratch, 'bad');
    cpSync(SEED, bad, { recursive: true });
    writeFileSync(path.join(bad, 'namespaces', NS, 'extra.yaml'), 'apiVersion: v1\nkind: Service\nmetadata:\n  name: frontend\nspec:\n  ports:\n  - port: 80\n');
    const before = await namespaces();

    const p = await pushsync(['plan', bad, ...target()]);
    expect(p.code).toBe(1);
    expect(p.stdout).toBe('');
    expect(p.stderr).toMatch(/^Error: errors for cluster "test":\nKNV1029: /);
    expect(p.stderr).toContain(`source: ${bad}/namespaces/${NS}/extra.yaml\nline: 1\n`);

    // A kubeconfig whose server does not exist: the same answer, so nothing was sent anywhere.
    const nowhere = path.join(scratch, 'nowhere.kubeconfig');
    writeFileSync(nowhere, cp.kubeconfig.replace(/server: .*/, 'server: https://127.0.0.1:1'));
    const a = await pushsync(['apply', bad, '--kubeconfig', nowhere, '--cluster', 'test', '--commit', 'abc1234']);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/^Error: errors for cluster "test":\nKNV1029: /);
    expect(a.stderr).not.toMatch(/unreachable|ECONNREFUSED/);
    noStackTrace(a.stderr);

    expect(await namespaces()).toEqual(before);
    expect(before).not.toContain(NS);
    expect(before).not.toContain('pushsync-system');
  });

  it('plan on an empty cluster: 25 to create, nothing written', async () => {
    const r = await pushsync(['plan', repo, ...target()]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('+ '))).toHaveLength(25);
    expect(lines).toContain(`+ namespace/${NS}`);
    expect(lines).toContain(`+ deployment.apps/frontend -n ${NS}`);
    expect(lines).toContain(`+ service/cartservice -n ${NS}`);
    expect(r.stdout).toContain('Note: 24 objects were not checked by a dry-run');
    expect(lastLine(r.stdout)).toBe('Plan: 25 to create, 0 to configure, 0 to prune, 0 unchanged.');

    const ns = await namespaces();
    expect(ns).not.toContain(NS);
    expect(ns).not.toContain('pushsync-system');
  });

  it('plan --json prints the PlanResult', async () => {
    const r = await inProcess(['plan', repo, ...target(), '--json']);
    expect(r.code).toBe(0);
    const planned = JSON.parse(r.stdout) as { counts: Record<string, number>; objects: { id: string; action: string }[]; inventory: { name: string } };
    expect(planned.counts).toMatchObject({ create: 25, configure: 0, prune: 0, unchanged: 0, failed: 0 });
    expect(planned.inventory.name).toBe('pushsync');
    expect(planned.objects.find((o) => o.id === `Deployment.apps/${NS}/frontend`)?.action).toBe('create');
  });

  it('apply: 25 created with the ApplySet label, the HEAD commit recorded', async () => {
    first = git(['rev-parse', 'HEAD']);
    const r = await pushsync(['apply', repo, ...target()]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => l.endsWith(' created'))).toHaveLength(25);
    expect(lines).toContain(`deployment.apps/frontend -n ${NS} created`);
    expect(lines[0]).toBe(`namespace/${NS} created`);
    expect(lastLine(r.stdout)).toMatch(new RegExp(`^Applied commit ${first.slice(0, 7)} to cluster test: 25 created, 0 configured, 0 pruned, 0 unchanged \\(\\d+\\.\\d s\\)\\.$`));

    expect(await kubectlJson(['get', 'deployments', '-n', NS, '-l', PART_OF])).toHaveLength(12);
    expect(await kubectlJson(['get', 'services', '-n', NS, '-l', PART_OF])).toHaveLength(12);
    const [parent] = await kubectlJson(['get', 'configmap', 'pushsync', '-n', 'pushsync-system']);
    expect((parent as unknown as { metadata: { annotations: Record<string, string> } }).metadata.annotations['pushsync.dev/applied-commit']).toBe(first);
  });

  it('apply again: only the summary, 0 changed, no resourceVersion moves', async () => {
    const before = await versions();
    const r = await pushsync(['apply', repo, ...target()]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^Applied commit ${first.slice(0, 7)} to cluster test: 0 created, 0 configured, 0 pruned, 25 unchanged \\(\\d+\\.\\d s\\)\\.\\n$`));
    expect(await versions()).toEqual(before);
  });

  it('drift: plan names the field and its other manager; apply restores it and reports the takeover', async () => {
    const patch = await cp.kubectl(['patch', 'deployment', 'frontend', '-n', NS, '--field-manager', 'kubectl-edit', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"server","image":"example.com/hotfix:1"}]}}}}']);
    expect(patch.code, patch.stderr).toBe(0);
    const field = '.spec.template.spec.containers[name=server].image';

    const p = await pushsync(['plan', repo, ...target()]);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain(`~ deployment.apps/frontend -n ${NS}\n    ${field}\n    fields taken over from kubectl-edit: `);
    expect(lastLine(p.stdout)).toBe('Plan: 0 to create, 1 to configure, 0 to prune, 24 unchanged.');
    const [still] = await kubectlJson(['get', 'deployment', 'frontend', '-n', NS]);
    expect(still?.spec?.template?.spec?.containers?.[0]?.image).toBe('example.com/hotfix:1');

    const a = await pushsync(['apply', repo, ...target()]);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain(`deployment.apps/frontend -n ${NS} configured (${field})\n  fields taken over from kubectl-edit: `);
    expect(lastLine(a.stdout)).toMatch(/: 0 created, 1 configured, 0 pruned, 24 unchanged \(/);
    const [restored] = await kubectlJson(['get', 'deployment', 'frontend', '-n', NS]);
    expect(restored?.spec?.template?.spec?.containers?.[0]?.image).not.toBe('example.com/hotfix:1');
  });

  it('a Service removed from the repo: plan shows "- service/…", apply prunes it and nothing else', async () => {
    const file = path.join(repo, MANIFESTS);
    const docs = (loadAll(readFileSync(file, 'utf8')) as (Listed | null)[]).filter((d): d is Listed => d !== null && !(d.kind === 'Service' && d.metadata.name === 'adservice'));
    writeFileSync(file, docs.map((d) => dump(d)).join('---\n'));
    second = commitAll('remove the adservice Service');

    const p = await pushsync(['plan', repo, ...target()]);
    expect(p).toMatchObject({ code: 0, stderr: '' });
    expect(p.stdout).toBe(`- service/adservice -n ${NS}\n\nPlan: 0 to create, 0 to configure, 1 to prune, 24 unchanged.\n`);

    const before = await versions();
    const a = await pushsync(['apply', repo, ...target()]);
    expect(a).toMatchObject({ code: 0, stderr: '' });
    expect(a.stdout).toMatch(new RegExp(`^service/adservice -n ${NS} pruned\\nApplied commit ${second.slice(0, 7)} to cluster test: 0 created, 0 configured, 1 pruned, 24 unchanged \\(`));
    const after = await versions();
    expect(after['Service/adservice']).toBeUndefined();
    delete before['Service/adservice'];
    expect(after).toEqual(before);
  });

  it('status shows the new commit, when, the last run and how many objects the inventory holds', async () => {
    const r = await pushsync(['status', '--kubeconfig', cp.kubeconfigPath]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^Applied in full: +commit ${second} at \\d{4}-\\d\\d-\\d\\dT`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^Last attempt: +commit ${second} at .*: applied$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^Last run: +0 created, 0 configured, 1 pruned, 24 unchanged \\(commit ${second.slice(0, 7)}\\)$`, 'm'));
    expect(r.stdout).toMatch(/^Objects: +24 objects; kinds Deployment\.apps, Namespace, Service in 1 namespace \(onlineboutique\)$/m);

    // Then every object's health, kubectl-like. No controllers run on this bare API server, so
    // no Deployment is ever observed, and nothing gives the LoadBalancer Service an address.
    const table = r.stdout.slice(r.stdout.indexOf('\nKIND'));
    const rows = table.trim().split('\n');
    expect(rows[0]).toMatch(/^KIND +NAMESPACE +NAME +HEALTH +REASON$/);
    expect(rows[1]).toMatch(/^Namespace +- +onlineboutique +Current +Active$/);
    expect(rows.filter((l) => /^Service +onlineboutique +\S+ +Current +applied$/.test(l))).toHaveLength(10);
    expect(table).toMatch(/^Service +onlineboutique +frontend-external +InProgress +no load balancer address yet$/m);
    expect(rows.filter((l) => /^Deployment +onlineboutique +\S+ +InProgress +generation \d+ not yet observed$/.test(l))).toHaveLength(12);
    expect(rows.at(-1)).toBe('Rollout: progressing: rolling out: 0/12 Deployments available, 1 other object in progress');

    const j = await inProcess(['status', '--kubeconfig', cp.kubeconfigPath, '--json']);
    expect(j.code).toBe(0);
    const parsed = JSON.parse(j.stdout) as {
      objects: number;
      state: { appliedCommit: string; summary: { counts: Record<string, number> } };
      health: { state: string; counts: Record<string, number>; objects: { id: string; health: { status: string; reason: string } }[] };
    };
    expect(parsed.objects).toBe(24);
    expect(parsed.state.appliedCommit).toBe(second);
    expect(parsed.state.summary.counts.pruned).toBe(1);
    expect(parsed.health.state).toBe('progressing');
    expect(parsed.health.counts).toEqual({ Current: 11, InProgress: 13, Failed: 0, Terminating: 0, NotFound: 0 });
    expect(parsed.health.objects).toHaveLength(24);
    expect(parsed.health.objects[0]).toMatchObject({ id: `Namespace/${NS}`, health: { status: 'Current', reason: 'Active' } });

    const none = await inProcess(['status', '--kubeconfig', cp.kubeconfigPath, '--inventory', 'never-used']);
    expect(none).toMatchObject({ code: 1, stdout: 'No pushsync inventory pushsync-system/never-used on this cluster: nothing has been applied with it.\n' });
  });

  it('your own kubeconfig is used as kubectl would: an exec plugin runs (the registry\'s checks guard only registrations)', async () => {
    const token = /token: (\S+)/.exec(cp.kubeconfig)?.[1] ?? '';
    const plugin = path.join(scratch, 'token-plugin');
    writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"${token}"}}'\n`, { mode: 0o755 });
    const viaExec = path.join(scratch, 'exec.kubeconfig');
    writeFileSync(viaExec, cp.kubeconfig.replace(/token: \S+/, `exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ${JSON.stringify(plugin)}}`));
    const r = await inProcess(['status', '--kubeconfig', viaExec]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^Applied in full: +commit ${second}`, 'm'));
  });

  it('an older commit after a newer one: superseded, exit 0, nothing changed', async () => {
    const before = await versions();
    const r = await pushsync(['apply', repo, ...target(), '--commit', first]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`Nothing applied: cluster test already has commit ${second.slice(0, 7)}, which is newer than ${first.slice(0, 7)} (superseded).\n`);
    expect(await versions()).toEqual(before);
  });

  it('a commit this repo does not have is refused rather than guessed about', async () => {
    const r = await inProcess(['apply', repo, ...target(), '--commit', 'f'.repeat(40)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: KNV2008: commit f{40} is not in the git repository at .*, so pushsync cannot tell whether it is newer/);
  });

  it('uncommitted changes are applied with a warning naming the HEAD commit they are recorded as', async () => {
    writeFileSync(path.join(repo, 'namespaces', NS, 'notes.txt'), 'not a policy file\n');
    try {
      const r = await inProcess(['apply', repo, ...target()]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`warning: ${repo} has changes that are not committed; they are applied and recorded as commit ${second.slice(0, 7)}\n`);
    } finally {
      rmSync(path.join(repo, 'namespaces', NS, 'notes.txt'));
    }
  });

  it('outside a git work tree without --commit: refused with what to do', async () => {
    const plain = path.join(scratch, 'plain');
    cpSync(SEED, plain, { recursive: true });
    const r = await inProcess(['apply', plain, ...target()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`is not in a git work tree with a commit, so there is no commit to record: pass --commit <sha>`);
  });

  it('another apply holding the lease: a retryable message and exit 4, nothing changed', async () => {
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'pushsync', namespace: 'pushsync-system' },
      spec: { holderIdentity: 'ci-runner/42/abcd', leaseDurationSeconds: 3600, acquireTime: now, renewTime: now },
    };
    const held = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'someone-else', '-f', '-'], { input: JSON.stringify(lease) });
    expect(held.code, held.stderr).toBe(0);
    try {
      const before = await versions();
      const r = await pushsync(['apply', repo, ...target(), '--lease-timeout', '1']);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('Error: KNV2008: another apply holds Lease pushsync-system/pushsync (holder ci-runner/42/abcd');
      expect(r.stderr).toContain('This is temporary: the same command should succeed when run again later.\n');
      expect(lastLine(r.stdout)).toMatch(/^Failed to apply commit [0-9a-f]{7} to cluster test: 0 created, 0 configured, 0 pruned, 0 unchanged \(/);
      noStackTrace(r.stderr);
      expect(await versions()).toEqual(before);
    } finally {
      await cp.kubectl(['delete', 'lease', 'pushsync', '-n', 'pushsync-system']);
    }
  });

  it('a commit that deletes every object: plan and apply both refuse with KNV2006 and the opt-in flag', async () => {
    rmSync(path.join(repo, 'namespaces'), { recursive: true });
    const third = commitAll('remove everything');
    const before = await versions();

    const p = await pushsync(['plan', repo, ...target()]);
    expect(p.code).toBe(1);
    expect(lastLine(p.stdout)).toBe('Plan: 0 to create, 0 to configure, 24 to prune, 0 unchanged.');
    expect(p.stderr).toMatch(/^Error: KNV2006: /);
    expect(p.stderr).toContain('run again with --allow-delete-all');

    const a = await pushsync(['apply', repo, ...target()]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/^Error: KNV2006: /);
    expect(lastLine(a.stdout)).toMatch(new RegExp(`^Failed to apply commit ${third.slice(0, 7)} to cluster test: 0 created, 0 configured, 0 pruned, 0 unchanged`));
    expect(await versions()).toEqual(before);

    // The opt-in lifts the refusal in the plan (applying it would leave a Terminating namespace
    // behind: no namespace controller runs here).
    const allowed = await inProcess(['plan', repo, ...target(), '--allow-delete-all']);
    expect(allowed).toMatchObject({ code: 0, stderr: '' });
  });
});
