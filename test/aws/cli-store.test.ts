/**
 * `pushsync clusters … --store aws` and `pushsync secrets … --store aws`: the same commands on
 * Secrets Manager, first in-process against the SDK-boundary fake (requests asserted), then the
 * real CLI in a child process against moto_server, configured only by the AWS environment.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateSecretCommand, DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClustersCommand, createSecretsCommand } from '../../bin/commands/clusters.ts';
import type { Io } from '../../bin/commands/common.ts';
import { runCli } from '../../bin/commands/dispatch.ts';
import { clearRegisteredSecrets } from '../../lib/log.ts';
import { AwsSecretStore, FileSecretStore } from '../../lib/registry/index.ts';
import { KUBE_TOKEN, KUBECONFIG } from '../registry/support.ts';
import { fakeSecretsManager, startMoto, type Moto } from './support.ts';

const TOKEN = 'ghp_cli0store0token0123456789abcdef';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pushsync-cli-aws-'));
  await writeFile(path.join(dir, 'kubeconfig.yaml'), KUBECONFIG);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--store aws, in-process', () => {
  let fake: ReturnType<typeof fakeSecretsManager>;
  beforeEach(() => {
    fake = fakeSecretsManager();
  });
  afterEach(() => {
    fake.mock.restore();
    clearRegisteredSecrets();
  });

  const run = async (args: string[], stdin = '') => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
    const sources = {
      stdin: async () => stdin,
      store: () => new FileSecretStore(path.join(dir, 'home')),
      awsStore: () => new AwsSecretStore({ prefix: 'team/pushsync/', region: 'eu-west-1' }),
    };
    const code = await runCli(args, io, { commands: [createClustersCommand(sources), createSecretsCommand(sources)] });
    return { code, stdout: out.join(''), stderr: err.join('') };
  };

  it('registers, lists and removes clusters, and sets and lists secrets, in Secrets Manager', async () => {
    const reg = await run(['clusters', 'register', 'prod', '--store', 'aws', '--kubeconfig', path.join(dir, 'kubeconfig.yaml'), '--repo', 'acme/policy', '--branch', 'main']);
    expect(reg).toMatchObject({ code: 0, stderr: '' });
    expect(reg.stdout).toContain('Registered cluster prod');
    expect(reg.stdout).toContain('Stored in AWS Secrets Manager (eu-west-1), names under "team/pushsync/"');
    // The kubeconfig first, then the registration that points at it.
    expect(fake.mock.commandCalls(CreateSecretCommand).map((c) => c.args[0].input.Name)).toEqual(['team/pushsync/kubeconfigs/prod', 'team/pushsync/clusters/prod']);

    expect(await run(['secrets', 'set', 'github-token', '--store=aws'], `${TOKEN}\n`)).toMatchObject({ code: 0 });
    expect(fake.secrets.get('team/pushsync/github/token')?.value).toBe(TOKEN);

    const list = await run(['clusters', 'list', '--store', 'aws']);
    expect(list.stdout).toMatch(/^prod\s+acme\/policy\s+main/m);
    const secrets = await run(['secrets', 'list', '--store', 'aws']);
    expect(secrets.stdout).toMatch(/github-token\s+set/);
    expect(secrets.stdout).toContain('1 cluster registration(s)');

    expect(await run(['clusters', 'remove', '--store', 'aws', 'prod'])).toMatchObject({ code: 0 });
    expect(fake.mock.commandCalls(DeleteSecretCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: 'team/pushsync/clusters/prod', RecoveryWindowInDays: 7 },
      { SecretId: 'team/pushsync/kubeconfigs/prod', RecoveryWindowInDays: 7 },
    ]);
    expect((await run(['clusters', 'list', '--store', 'aws'])).stdout).toContain('No clusters registered');

    // Nothing went to the local file store, and no secret was printed.
    expect(await new FileSecretStore(path.join(dir, 'home')).list('')).toEqual([]);
    for (const r of [reg, list, secrets]) expect(r.stdout + r.stderr).not.toContain(KUBE_TOKEN);
  });

  it('the file store stays the default, and a bad --store is a usage error', async () => {
    expect(await run(['clusters', 'list'])).toMatchObject({ code: 0, stdout: expect.stringContaining(path.join(dir, 'home')) });
    expect(await run(['clusters', 'list', '--store', 's3'])).toMatchObject({ code: 2, stderr: expect.stringContaining('invalid --store "s3": use file or aws') });
    expect(await run(['secrets', 'list', '--store'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--store needs a value') });
    expect(fake.mock.calls()).toHaveLength(0);
    expect((await run(['clusters', '--help'])).stdout).toContain('--store <file|aws>');
  });
});

describe('--store aws, the real CLI against moto_server', () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startMoto();
  }, 60_000);
  afterAll(async () => {
    await moto?.close();
  });

  const BIN = path.resolve(import.meta.dirname, '../../bin/pushsync.js');
  const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        PUSHSYNC_HOME: path.join(dir, 'unused-home'),
        PUSHSYNC_SECRET_PREFIX: 'cli-test/',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.url,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      execFile(process.execPath, [BIN, ...args], { env, cwd: dir }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        if (code === -1) reject(err ?? new Error('no exit code'));
        else resolve({ code, stdout, stderr });
      });
    });

  it('register → list --json → remove, with the prefix and endpoint from the environment', async () => {
    const reg = await cli(['clusters', 'register', 'edge', '--store', 'aws', '--kubeconfig', path.join(dir, 'kubeconfig.yaml'), '--repo', 'acme/policy', '--branch', 'edge']);
    expect(reg.stderr).toBe('');
    expect(reg.code).toBe(0);
    expect(reg.stdout).toContain('names under "cli-test/"');
    const list = await cli(['clusters', 'list', '--json', '--store', 'aws']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'edge', repo: 'acme/policy', branch: 'edge' })]);
    expect(list.stdout).not.toContain(KUBE_TOKEN);
    expect(await cli(['clusters', 'remove', 'edge', '--store', 'aws'])).toMatchObject({ code: 0 });
    expect(JSON.parse((await cli(['clusters', 'list', '--json', '--store', 'aws'])).stdout)).toEqual([]);
  }, 60_000);
});
