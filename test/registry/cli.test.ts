import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClustersCommand, createSecretsCommand } from '../../bin/commands/clusters.ts';
import type { Io } from '../../bin/commands/common.ts';
import { runCli } from '../../bin/commands/dispatch.ts';
import { FileSecretStore, getGitHubCredentials, getHelmRepos, getWebhookSecrets } from '../../lib/registry/index.ts';
import { KUBECONFIG, KUBE_TOKEN } from './support.ts';

const BIN = fileURLToPath(new URL('../../bin/pushsync.js', import.meta.url));

let dir: string;
let home: string;
let kubeconfigFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pushsync-cli-'));
  home = path.join(dir, 'home');
  kubeconfigFile = path.join(dir, 'kubeconfig.yaml');
  await writeFile(kubeconfigFile, KUBECONFIG);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process, with its own PUSHSYNC_HOME. */
function pushsync(args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [BIN, ...args], { env: { ...process.env, PUSHSYNC_HOME: home }, cwd: dir }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      if (code === -1) reject(err ?? new Error('no exit code'));
      else resolve({ code, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

describe('pushsync clusters (end to end, a child process)', () => {
  it('register → list → list --json → remove', async () => {
    const reg = await pushsync(['clusters', 'register', 'mycluster', '--kubeconfig', kubeconfigFile, '--repo', 'acme/policy', '--branch', 'main', '--dir', 'policy']);
    expect(reg.stderr).toBe('');
    expect(reg.code).toBe(0);
    expect(reg.stdout).toContain('Registered cluster mycluster: follows acme/policy branch main, dir policy (hierarchy); status context pushsync/mycluster');

    // The kubeconfig comes from stdin with "-".
    const second = await pushsync(
      ['clusters', 'register', 'edge', '--kubeconfig', '-', '--context', 'other', '--repo', 'acme/policy', '--branch', 'edge', '--source-format', 'unstructured'],
      KUBECONFIG,
    );
    expect(second.code).toBe(0);

    const list = await pushsync(['clusters', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n').filter((l) => l !== '')).toEqual([
      'NAME       REPO         BRANCH  DIR     FORMAT        CONTEXT    HEALTH  ENVIRONMENT  FLAGS',
      'edge       acme/policy  edge    .       unstructured  other      5m      edge         -',
      'mycluster  acme/policy  main    policy  hierarchy     (current)  5m      mycluster    -',
    ]);
    expect(list.stdout).not.toContain(KUBE_TOKEN);

    const json = await pushsync(['clusters', 'list', '--json', '--repo', 'ACME/policy', '--branch', 'main']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(parsed.map((c) => c.name)).toEqual(['mycluster']);
    expect(parsed[0]).not.toHaveProperty('kubeconfig');
    expect(json.stdout).not.toContain(KUBE_TOKEN);

    const secretsDir = path.join(home, 'secrets');
    for (const f of await readdir(secretsDir)) expect((await stat(path.join(secretsDir, f))).mode & 0o777).toBe(0o600);

    const removed = await pushsync(['clusters', 'remove', 'edge']);
    expect(removed).toMatchObject({ code: 0 });
    const again = await pushsync(['clusters', 'remove', 'edge']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no cluster named "edge" is registered');
  });

  it('an invalid registration exits 2 and names every bad flag', async () => {
    const r = await pushsync(['clusters', 'register', 'Bad_Name', '--kubeconfig', kubeconfigFile, '--repo', 'acme', '--branch', 'main', '--context', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('3 invalid values');
    expect(r.stderr).toMatch(/NAME: name "Bad_Name" must be a DNS-1123 label/);
    expect(r.stderr).toMatch(/--repo: repo "acme" must be owner\/name/);
    expect(r.stderr).toMatch(/--context: context "nope" is not in the kubeconfig/);
    expect(r.stderr).not.toContain(KUBE_TOKEN);
  });
});

/** The same commands in-process, for the cases that need no child process. */
function io(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
}

describe('pushsync clusters / secrets (in-process)', () => {
  const store = () => new FileSecretStore(path.join(dir, 'inproc'));
  const stdinWith = (text: string) => ({ stdin: async () => text, store });
  const run = (args: string[], stdin = '') => {
    const streams = io();
    const commands = [createClustersCommand(stdinWith(stdin)), createSecretsCommand(stdinWith(stdin))];
    return runCli(args, streams, { commands }).then((code) => ({ code, stdout: streams.out.join(''), stderr: streams.err.join('') }));
  };

  it('--help has usage and an example for each subcommand', async () => {
    const clusters = await run(['clusters', '--help']);
    expect(clusters.code).toBe(0);
    for (const s of ['pushsync clusters register mycluster', 'pushsync clusters list', 'pushsync clusters remove mycluster']) expect(clusters.stdout).toContain(s);
    for (const s of [
      '--allow-insecure',
      '--allow-exec',
      '--exec-allow <cmds>',
      '--no-plans',
      'aws, gke-gcloud-auth-plugin, kubelogin',
      '$PUSHSYNC_EXEC_ALLOWLIST',
      '--allow-exec --exec-allow aws --no-plans',
      '--health-timeout <dur>',
      '(default: 5m)',
      '--environment <name>',
      '--production',
      'show NAME',
      '--health-timeout 10m --environment production --production',
      'pushsync clusters show prod',
    ]) {
      expect(clusters.stdout).toContain(s);
    }
    const secrets = await run(['help', 'secrets']);
    for (const s of ['secrets set github-token', 'secrets set github-app', 'secrets set webhook-secret', 'secrets list', 'secrets remove']) expect(secrets.stdout).toContain(s);
  });

  it('usage errors exit 2 with a hint', async () => {
    expect(await run(['clusters', 'frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining("Run 'pushsync clusters --help'") });
    expect(await run(['clusters', 'register', 'x', '--repo', 'a/b', '--branch', 'main'])).toMatchObject({ code: 2, stderr: expect.stringContaining('register needs --kubeconfig') });
    expect(await run(['clusters', 'register', 'x', '--kubeconfig', path.join(dir, 'missing.yaml'), '--repo', 'a/b', '--branch', 'main'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('cannot read --kubeconfig'),
    });
    expect(await run(['clusters', 'list', '--branch', 'main'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--branch needs --repo') });
  });

  it('register refuses an existing name unless --replace', async () => {
    const args = ['clusters', 'register', 'dup', '--kubeconfig', kubeconfigFile, '--repo', 'a/b', '--branch', 'main'];
    expect((await run(args)).code).toBe(0);
    const again = await run(args);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already registered; remove it first or register with --replace');
    const replaced = await run([...args, '--replace']);
    expect(replaced).toMatchObject({ code: 0, stdout: expect.stringContaining('Updated cluster dup') });
  });

  it('register: weakened TLS and exec plugins are refused unless allowed; list shows what each registration allows', async () => {
    const insecure = KUBECONFIG.replace('certificate-authority-data: TUlJQ0FBQUFBQUFB', 'insecure-skip-tls-verify: true');
    const exec = KUBECONFIG.replace(`token: ${KUBE_TOKEN}`, 'exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}');
    const args = (name: string) => ['clusters', 'register', name, '--kubeconfig', '-', '--repo', 'flags/policy', '--branch', 'main'];

    const refused = await run(args('lax'), insecure);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--kubeconfig: kubeconfig: cluster "mycluster" sets insecure-skip-tls-verify.*register with --allow-insecure/);
    expect(await run([...args('lax'), '--allow-insecure'], insecure)).toMatchObject({ code: 0, stdout: expect.stringContaining('Flags: insecure') });

    expect((await run(args('eks'), exec)).stderr).toMatch(/runs the exec plugin "aws", and running commands is not allowed for this cluster; register with --allow-exec/);
    expect(await run([...args('eks'), '--exec-allow', 'aws'], exec)).toMatchObject({ code: 2, stderr: expect.stringMatching(/--exec-allow: execAllow \(--exec-allow\) needs allowExec \(--allow-exec\)/) });
    expect((await run([...args('eks'), '--allow-exec', '--exec-allow', 'kubelogin'], exec)).stderr).toMatch(/not on the allowlist \(kubelogin\); put the command on the list with --exec-allow/);
    expect(await run([...args('eks'), '--allow-exec', '--exec-allow', 'aws, kubelogin', '--no-plans'], exec)).toMatchObject({ code: 0, stdout: expect.stringContaining('Flags: exec:aws,kubelogin no-plans') });
    expect((await run([...args('gke'), '--allow-exec'], exec)).code).toBe(0);

    const list = await run(['clusters', 'list', '--repo', 'flags/policy']);
    expect(list.stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(/\s+/g, ' '))).toEqual([
      'NAME REPO BRANCH DIR FORMAT CONTEXT HEALTH ENVIRONMENT FLAGS',
      'eks flags/policy main . hierarchy (current) 5m eks exec:aws,kubelogin no-plans',
      'gke flags/policy main . hierarchy (current) 5m gke exec:aws,gke-gcloud-auth-plugin,kubelogin',
      'lax flags/policy main . hierarchy (current) 5m lax insecure',
    ]);
    const json = JSON.parse((await run(['clusters', 'list', '--json', '--repo', 'flags/policy'])).stdout) as Record<string, unknown>[];
    expect(json.map((c) => [c.name, c.allowInsecure, c.allowExec, c.execAllow, c.plans])).toEqual([
      ['eks', undefined, true, ['aws', 'kubelogin'], false],
      ['gke', undefined, true, undefined, undefined],
      ['lax', true, undefined, undefined, undefined],
    ]);
  });

  it('register: the rollout settings (health timeout, GitHub environment, production), shown by list and show', async () => {
    const args = (name: string) => ['clusters', 'register', name, '--kubeconfig', kubeconfigFile, '--repo', 'rollout/policy', '--branch', 'main'];
    const prod = await run([...args('prod'), '--health-timeout', '90s', '--environment', 'production eu', '--production']);
    expect(prod).toMatchObject({ code: 0, stderr: '' });
    expect(prod.stdout).toContain('Rollout: waits up to 1m30s for health; GitHub environment production eu (production)\n');
    const nowait = await run([...args('fast'), '--health-timeout', '0']);
    expect(nowait.stdout).toContain('Rollout: does not wait for health; GitHub environment fast\n');
    expect((await run([...args('hour'), '--health-timeout', '1h'])).code).toBe(0);

    const list = await run(['clusters', 'list', '--repo', 'rollout/policy']);
    expect(list.stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(/\s+/g, ' '))).toEqual([
      'NAME REPO BRANCH DIR FORMAT CONTEXT HEALTH ENVIRONMENT FLAGS',
      'fast rollout/policy main . hierarchy (current) no wait fast -',
      'hour rollout/policy main . hierarchy (current) 1h hour -',
      'prod rollout/policy main . hierarchy (current) 1m30s production eu (production) -',
    ]);
    const json = JSON.parse((await run(['clusters', 'list', '--json', '--repo', 'rollout/policy'])).stdout) as Record<string, unknown>[];
    expect(json.map((c) => [c.name, c.healthTimeout, c.environment, c.production])).toEqual([
      ['fast', 0, undefined, undefined],
      ['hour', 3600, undefined, undefined],
      ['prod', 90, 'production eu', true],
    ]);

    const show = await run(['clusters', 'show', 'prod']);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^Health timeout: +1m30s$/m);
    expect(show.stdout).toMatch(/^Environment: +production eu \(production\)$/m);
    expect(show.stdout).toMatch(/^Status context: +pushsync\/prod$/m);
    expect(show.stdout).not.toContain(KUBE_TOKEN);
    expect((await run(['clusters', 'show', 'fast'])).stdout).toMatch(/^Health timeout: +0 \(does not wait for health\)$/m);
    expect(JSON.parse((await run(['clusters', 'show', 'prod', '--json'])).stdout)).toMatchObject({ name: 'prod', healthTimeout: 90, environment: 'production eu', production: true });
    expect(await run(['clusters', 'show', 'nope'])).toMatchObject({ code: 1, stderr: 'pushsync clusters show: no cluster named "nope" is registered\n' });
  });

  it('register: a bad --health-timeout or --environment exits 2 naming the flag and the value', async () => {
    const args = ['clusters', 'register', 'bad', '--kubeconfig', kubeconfigFile, '--repo', 'rollout/policy', '--branch', 'main'];
    expect(await run([...args, '--health-timeout', '5x'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('pushsync clusters: invalid --health-timeout "5x": use a duration such as 90s, 5m or 1h (or 0)'),
    });
    expect(await run([...args, '--health-timeout', '2h'])).toMatchObject({ code: 2, stderr: expect.stringContaining('invalid --health-timeout "2h": at most 1h') });
    expect(await run([...args, '--environment', ''])).toMatchObject({ code: 2, stderr: expect.stringContaining('  --environment: environment "" must not be empty') });
    expect(await run([...args, '--environment', 'a\tb'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--environment: environment "a\\tb" contains a control character') });
    expect((await run(['clusters', 'show', 'bad'])).code).toBe(1);
  });

  it('list marks registrations in the previous release\'s format and says how to split them', async () => {
    await store().put('clusters/legacy', JSON.stringify({ version: 1, name: 'legacy', kubeconfig: KUBECONFIG, repo: 'old/policy', branch: 'main', dir: '.', sourceFormat: 'hierarchy', registeredAt: '2025-01-01T00:00:00.000Z' }));
    const list = await run(['clusters', 'list', '--repo', 'old/policy']);
    expect(list.stdout).toMatch(/legacy .*\(current\) +5m +legacy +old-format\n/);
    expect(list.stdout).toContain('Register each again with --replace (and its kubeconfig) to store the kubeconfig apart, in kubeconfigs/<name>.');
    expect(list.stdout).not.toContain(KUBE_TOKEN);
  });

  it('secrets set github-token reads stdin (never argv), and list shows names only', async () => {
    const set = await run(['secrets', 'set', 'github-token'], 'ghp_from_stdin_0123456789\n');
    expect(set).toMatchObject({ code: 0, stdout: expect.stringContaining('Stored github-token') });
    expect(await getGitHubCredentials(store())).toEqual({ kind: 'token', token: 'ghp_from_stdin_0123456789' });
    const list = await run(['secrets', 'list']);
    expect(list.stdout).toMatch(/github-token\s+set/);
    expect(list.stdout).toMatch(/webhook-secret\s+not set/);
    expect(list.stdout).not.toContain('ghp_from_stdin');
    // A value on the command line is not accepted.
    expect(await run(['secrets', 'set', 'github-token', 'ghp_on_argv'])).toMatchObject({ code: 2 });
    expect(await run(['secrets', 'set', 'github-token', '--token', 'ghp_on_argv'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown flag --token') });
  });

  it('secrets set github-app reads the key from a file; the App id is a flag', async () => {
    const pem = path.join(dir, 'app.pem');
    await writeFile(pem, '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAabcdefghijklmnop\n-----END RSA PRIVATE KEY-----\n');
    expect((await run(['secrets', 'set', 'github-app', '--app-id', '4242', '--private-key-file', pem])).code).toBe(0);
    expect(await getGitHubCredentials(store())).toMatchObject({ kind: 'app', appId: '4242' });
    const bad = await run(['secrets', 'set', 'github-app', '--app-id', 'x', '--private-key-file', kubeconfigFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/appId: the App ID must be a positive integer/);
    expect(bad.stderr).toMatch(/privateKey: the private key is not a PEM private key/);
    expect(bad.stderr).not.toContain(KUBE_TOKEN);
  });

  it('secrets set webhook-secret: one per line; --keep-previous rotates', async () => {
    expect((await run(['secrets', 'set', 'webhook-secret'], 'first\n')).code).toBe(0);
    expect((await run(['secrets', 'set', 'webhook-secret', '--keep-previous'], 'second\n')).code).toBe(0);
    expect(await getWebhookSecrets(store())).toEqual(['second', 'first']);
    expect(await run(['secrets', 'set', 'webhook-secret', '--app-id', '1'], 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('--app-id does not apply to webhook-secret') });
    expect((await run(['secrets', 'remove', 'webhook-secret'])).code).toBe(0);
    expect((await run(['secrets', 'remove', 'webhook-secret'])).code).toBe(1);
  });

  it('secrets set helm-repo: URL and user as flags, the password from stdin; list shows the URL and user, never the password', async () => {
    const set = await run(['secrets', 'set', 'helm-repo', '--url', 'https://charts.acme.example/', '--username', 'ci'], 's3cr3t-chart-pass\n');
    expect(set).toMatchObject({ code: 0, stdout: expect.stringContaining('Stored helm-repo for https://charts.acme.example') });
    expect((await run(['secrets', 'set', 'helm-repo', '--url', 'oci://registry.acme.example/charts', '--username', 'robot'], 'another-pass')).code).toBe(0);
    // The same URL again replaces its entry.
    expect((await run(['secrets', 'set', 'helm-repo', '--url', 'https://charts.acme.example', '--username', 'ci2'], 'rotated-pass')).code).toBe(0);
    expect(await getHelmRepos(store())).toEqual([
      { url: 'https://charts.acme.example', username: 'ci2', password: 'rotated-pass' },
      { url: 'oci://registry.acme.example/charts', username: 'robot', password: 'another-pass' },
    ]);
    const list = await run(['secrets', 'list']);
    expect(list.stdout).toMatch(/helm-repo https:\/\/charts\.acme\.example\s+set \(user ci2\)/);
    expect(list.stdout).toMatch(/helm-repo oci:\/\/registry\.acme\.example\/charts\s+set \(user robot\)/);
    expect(list.stdout).not.toMatch(/pass/);
    // Bad input names the flag and the rule.
    expect(await run(['secrets', 'set', 'helm-repo', '--username', 'ci'], 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('needs --url') });
    expect(await run(['secrets', 'set', 'helm-repo', '--url', 'ftp://x', '--username', 'ci'], 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('--url: ftp: is not a chart repository scheme') });
    expect(await run(['secrets', 'set', 'helm-repo', '--url', 'https://u:p@x.example', '--username', 'ci'], 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('not in the URL') });
    expect(await run(['secrets', 'set', 'helm-repo', '--url', 'https://x.example', '--username', 'ci'], '')).toMatchObject({ code: 2, stderr: expect.stringContaining('the password is empty') });
    expect(await run(['secrets', 'set', 'github-token', '--url', 'https://x.example'], 'tok')).toMatchObject({ code: 2, stderr: expect.stringContaining('--url does not apply to github-token') });
    // Removing needs the URL; an unknown one is "not found".
    expect(await run(['secrets', 'remove', 'helm-repo'])).toMatchObject({ code: 2, stderr: expect.stringContaining('needs --url') });
    expect((await run(['secrets', 'remove', 'helm-repo', '--url', 'https://charts.acme.example/'])).code).toBe(0);
    expect((await run(['secrets', 'remove', 'helm-repo', '--url', 'https://charts.acme.example'])).code).toBe(1);
    expect((await getHelmRepos(store())).map((r) => r.url)).toEqual(['oci://registry.acme.example/charts']);
  });
});
