/**
 * AwsSecretStore at the SDK boundary: the requests it sends (names, filters, recovery window),
 * how it reads Secrets Manager's answers, its cache, and that no value reaches a log line.
 * The last block runs the same store against moto_server, a real local endpoint.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearRegisteredSecrets } from '../../lib/log.ts';
import {
  AwsSecretStore,
  getCluster,
  getGitHubCredentials,
  getWebhookSecrets,
  listClusters,
  registerCluster,
  removeCluster,
  SecretStoreError,
  setGitHubToken,
  setWebhookSecrets,
} from '../../lib/registry/index.ts';
import { KUBE_TOKEN, registration } from '../registry/support.ts';
import { awsException, captureLogs, fakeSecretsManager, startMoto, type Moto } from './support.ts';

const GITHUB_TOKEN = 'ghp_aws0store0token0123456789abcdef';
const WEBHOOK_SECRET = 'aws-store-webhook-secret-0123456789';

let fake: ReturnType<typeof fakeSecretsManager>;
/** Every SecretsManagerClient of the test talks to a fresh fake (two results per ListSecrets page). */
function withFake(): void {
  beforeEach(() => {
    fake = fakeSecretsManager({ pageSize: 2 });
  });
  afterEach(() => {
    fake.mock.restore();
    clearRegisteredSecrets();
  });
}

function store(options: ConstructorParameters<typeof AwsSecretStore>[0] = {}) {
  return new AwsSecretStore({ region: 'eu-west-1', ...options });
}

describe('AwsSecretStore requests', () => {
  withFake();

  it('reads, creates, replaces and deletes one secret per name under the prefix', async () => {
    const s = store({ cacheTtlMs: 0 });
    expect(await s.get('clusters/prod')).toBeUndefined();
    await s.put('clusters/prod', 'v1');
    await s.put('clusters/prod', 'v2');
    expect(await s.get('clusters/prod')).toBe('v2');
    expect(await s.delete('clusters/prod')).toBe(true);
    expect(await s.delete('clusters/prod')).toBe(false);
    expect(await s.delete('clusters/never')).toBe(false);

    expect(fake.mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: 'pushsync/clusters/prod' }, { SecretId: 'pushsync/clusters/prod' }]);
    expect(fake.mock.commandCalls(CreateSecretCommand).map((c) => c.args[0].input)).toEqual([
      { Name: 'pushsync/clusters/prod', SecretString: 'v1', Description: 'pushsync clusters/prod' },
      { Name: 'pushsync/clusters/prod', SecretString: 'v2', Description: 'pushsync clusters/prod' },
    ]);
    // The second put found the secret there (ResourceExistsException), not being deleted, and wrote a new version.
    expect(fake.mock.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: 'pushsync/clusters/prod' }]);
    expect(fake.mock.commandCalls(RestoreSecretCommand)).toHaveLength(0);
    expect(fake.mock.commandCalls(PutSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: 'pushsync/clusters/prod', SecretString: 'v2' }]);
    expect(fake.mock.commandCalls(DeleteSecretCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: 'pushsync/clusters/prod', RecoveryWindowInDays: 7 },
      { SecretId: 'pushsync/clusters/prod', RecoveryWindowInDays: 7 },
      { SecretId: 'pushsync/clusters/never', RecoveryWindowInDays: 7 },
    ]);
    expect(fake.secrets.get('pushsync/clusters/prod')).toMatchObject({ value: 'v2', deleted: true, versions: 2 });
  });

  it('a secret scheduled for deletion reads as absent, and a put restores it first', async () => {
    const s = store({ cacheTtlMs: 0 });
    await s.put('github/token', 'old');
    await s.delete('github/token');
    expect(await s.get('github/token')).toBeUndefined();
    expect(await s.list('github/')).toEqual([]);
    await s.put('github/token', 'new');
    expect(await s.get('github/token')).toBe('new');
    expect(fake.mock.commandCalls(RestoreSecretCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: 'pushsync/github/token' }]);
    expect(fake.secrets.get('pushsync/github/token')).toMatchObject({ value: 'new', deleted: false });
  });

  it('lists with a name filter on the full prefix, every page, and returns store names sorted', async () => {
    for (const id of ['pushsync/clusters/b', 'pushsync/clusters/a', 'pushsync/clusters/c', 'pushsync/clustersx', 'pushsync/clusters/Bad_Name', 'other/pushsync/clusters/z', 'pushsync/github/token']) {
      fake.secrets.set(id, { value: 'x', deleted: false, versions: 1 });
    }
    const s = store();
    expect(await s.list('clusters/')).toEqual(['clusters/a', 'clusters/b', 'clusters/c']);
    const calls = fake.mock.commandCalls(ListSecretsCommand).map((c) => c.args[0].input);
    // Four matches at two per page: two requests, the second with the first one's NextToken.
    expect(calls).toEqual([
      { Filters: [{ Key: 'name', Values: ['pushsync/clusters/'] }], MaxResults: 100 },
      { Filters: [{ Key: 'name', Values: ['pushsync/clusters/'] }], MaxResults: 100, NextToken: '2' },
    ]);
    expect(await s.list('')).toEqual(['clusters/a', 'clusters/b', 'clusters/c', 'clustersx', 'github/token']);
    expect(fake.mock.commandCalls(ListSecretsCommand).at(-1)?.args[0].input.Filters).toEqual([{ Key: 'name', Values: ['pushsync/'] }]);
  });

  it('uses another prefix when told, and refuses one Secrets Manager would', async () => {
    const s = store({ prefix: 'acme/prod/pushsync/' });
    await s.put('github/token', 't');
    expect(fake.secrets.has('acme/prod/pushsync/github/token')).toBe(true);
    expect(await s.list('')).toEqual(['github/token']);
    expect(() => store({ prefix: 'bad prefix!' })).toThrow(/invalid secret prefix "bad prefix!"/);
    // Without the trailing "/", "pushsync" would also cover "pushsync-staging/…" (IAM and listing).
    for (const prefix of ['pushsync', '', 'acme/pushsync', '/pushsync/', 'a//b/']) {
      expect(() => store({ prefix }), prefix).toThrow(/it must end with "\/"/);
    }
    expect(() => store({ recoveryWindowDays: 0 })).toThrow(RangeError);
  });

  it('rejects a bad name before any request', async () => {
    const s = store();
    await expect(s.get('../etc/passwd')).rejects.toMatchObject({ code: 'SECRET_BAD_NAME' });
    await expect(s.put('Clusters/X', 'v')).rejects.toMatchObject({ code: 'SECRET_BAD_NAME' });
    await expect(s.delete('')).rejects.toMatchObject({ code: 'SECRET_BAD_NAME' });
    expect(fake.mock.calls()).toHaveLength(0);
  });

  it('reports an AWS failure as SECRET_IO naming the operation and the secret, with an IAM hint for AccessDenied', async () => {
    fake.faults.set('GetSecretValue', awsException('AccessDeniedException', 'User: arn:aws:sts::1:assumed-role/x is not authorized to perform: secretsmanager:GetSecretValue'));
    fake.faults.set('ListSecrets', awsException('InternalServiceError', 'try again'));
    const s = store();
    const err = await s.get('clusters/prod').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretStoreError);
    expect(err).toMatchObject({ code: 'SECRET_IO' });
    expect((err as Error).message).toMatch(/^Secrets Manager GetSecretValue on "pushsync\/clusters\/prod" failed: AccessDeniedException: .*not authorized.*IAM policy must allow/);
    await expect(s.list('clusters/')).rejects.toThrow(/ListSecrets on "pushsync\/clusters\/\*" failed: InternalServiceError: try again/);
  });

  it('marks an outage of Secrets Manager retryable and a refusal not, so a job retries the one and reports the other', async () => {
    const s = store();
    const outcome = async (fault: Error) => {
      fake.faults.set('GetSecretValue', fault);
      return s.get('clusters/prod').catch((e: unknown) => e);
    };
    expect(await outcome(awsException('AccessDeniedException', 'no'))).toMatchObject({ code: 'SECRET_IO', retryable: false });
    expect(await outcome(awsException('InternalServiceError', 'blip', 'server'))).toMatchObject({ code: 'SECRET_IO', retryable: true });
    expect(await outcome(awsException('ThrottlingException', 'Rate exceeded', 'throttling'))).toMatchObject({ code: 'SECRET_IO', retryable: true });
    expect(await outcome(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toMatchObject({ code: 'SECRET_IO', retryable: true });
  });
});

describe('AwsSecretStore cache', () => {
  withFake();

  it('reuses a value for the TTL, coalesces concurrent reads, and reads again after it', async () => {
    let now = 1_000;
    fake.secrets.set('pushsync/github/token', { value: 'v1', deleted: false, versions: 1 });
    const s = store({ cacheTtlMs: 60_000, now: () => now });
    expect(await Promise.all([s.get('github/token'), s.get('github/token'), s.get('github/token')])).toEqual(['v1', 'v1', 'v1']);
    fake.secrets.set('pushsync/github/token', { value: 'v2', deleted: false, versions: 2 });
    now += 59_999;
    expect(await s.get('github/token')).toBe('v1');
    expect(fake.mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now += 1;
    expect(await s.get('github/token')).toBe('v2');
    expect(fake.mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('a write or delete through the store is seen at once; a failed read is not cached', async () => {
    const s = store({ cacheTtlMs: 60_000 });
    await s.put('clusters/a', 'one');
    expect(await s.get('clusters/a')).toBe('one');
    expect(fake.mock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    await s.delete('clusters/a');
    expect(await s.get('clusters/a')).toBeUndefined();

    fake.faults.set('GetSecretValue', awsException('InternalServiceError', 'blip'));
    fake.secrets.set('pushsync/clusters/b', { value: 'two', deleted: false, versions: 1 });
    await expect(s.get('clusters/b')).rejects.toThrow(/blip/);
    expect(await s.get('clusters/b')).toBe('two');
  });
});

describe('the registry on Secrets Manager', () => {
  withFake();

  it('registers, lists, reads and removes clusters, and the GitHub secrets, with no value in any log line', async () => {
    const { logger, lines } = captureLogs();
    const s = store({ logger, cacheTtlMs: 0 });
    const r = await registerCluster(s, registration());
    expect(r).toMatchObject({ ok: true });
    await registerCluster(s, registration({ name: 'staging', branch: 'staging' }));
    expect(await setGitHubToken(s, GITHUB_TOKEN)).toEqual([]);
    expect(await setWebhookSecrets(s, [WEBHOOK_SECRET])).toEqual([]);

    expect((await listClusters(s)).map((c) => [c.name, c.branch])).toEqual([
      ['mycluster', 'main'],
      ['staging', 'staging'],
    ]);
    expect((await getCluster(s, 'mycluster'))?.kubeconfig).toContain(KUBE_TOKEN);
    expect(await getGitHubCredentials(s)).toEqual({ kind: 'token', token: GITHUB_TOKEN });
    expect(await getWebhookSecrets(s)).toEqual([WEBHOOK_SECRET]);
    expect(await removeCluster(s, 'staging')).toBe(true);
    expect((await listClusters(s)).map((c) => c.name)).toEqual(['mycluster']);
    expect([...fake.secrets.keys()].sort()).toEqual([
      'pushsync/clusters/mycluster',
      'pushsync/clusters/staging',
      'pushsync/github/token',
      'pushsync/github/webhook-secret',
      'pushsync/kubeconfigs/mycluster',
      'pushsync/kubeconfigs/staging',
    ]);
    // The registration secret, which sync may read, holds no credential.
    expect(fake.secrets.get('pushsync/clusters/mycluster')?.value).not.toContain(KUBE_TOKEN);

    expect(lines.length).toBeGreaterThan(0);
    const log = lines.join('\n');
    for (const secret of [GITHUB_TOKEN, WEBHOOK_SECRET, KUBE_TOKEN]) expect(log).not.toContain(secret);
    expect(log).toContain('pushsync/clusters/mycluster');
  });
});

describe('AwsSecretStore against moto_server (a local Secrets Manager endpoint)', () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startMoto();
  }, 60_000);
  afterAll(async () => {
    await moto?.close();
    clearRegisteredSecrets();
  });

  it('round-trips, lists by prefix, and handles delete → re-register', async () => {
    const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: moto.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const s = new AwsSecretStore({ client, prefix: `moto-${Date.now()}/`, cacheTtlMs: 0 });
    expect(await s.get('clusters/prod')).toBeUndefined();
    expect(await registerCluster(s, registration({ name: 'prod' }))).toMatchObject({ ok: true });
    await registerCluster(s, registration({ name: 'dev' }));
    await setGitHubToken(s, GITHUB_TOKEN);
    expect(await s.list('clusters/')).toEqual(['clusters/dev', 'clusters/prod']);
    expect(await s.list('')).toEqual(['clusters/dev', 'clusters/prod', 'github/token', 'kubeconfigs/dev', 'kubeconfigs/prod']);
    expect((await getCluster(s, 'prod'))?.repo).toBe('acme/policy');
    expect(await registerCluster(s, registration({ name: 'prod', branch: 'release' }), { replace: true })).toMatchObject({ ok: true, replaced: true });
    expect((await getCluster(s, 'prod'))?.branch).toBe('release');

    expect(await removeCluster(s, 'prod')).toBe(true);
    expect(await removeCluster(s, 'prod')).toBe(false);
    expect(await getCluster(s, 'prod')).toBeUndefined();
    expect(await s.list('clusters/')).toEqual(['clusters/dev']);
    // Re-registering a name still in its recovery window restores it.
    expect(await registerCluster(s, registration({ name: 'prod', branch: 'again' }))).toMatchObject({ ok: true });
    expect((await getCluster(s, 'prod'))?.branch).toBe('again');
    expect(await s.list('clusters/')).toEqual(['clusters/dev', 'clusters/prod']);
  });
});
