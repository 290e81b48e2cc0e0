import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearRegisteredSecrets, createLogger } from '../../lib/log.ts';
import {
  clustersFollowing,
  clustersFollowingRepo,
  DEFAULT_HEALTH_TIMEOUT_SECONDS,
  environmentOf,
  FileSecretStore,
  getCluster,
  getGitHubCredentials,
  getWebhookSecrets,
  healthTimeoutMs,
  listClusters,
  listRegistrations,
  registerCluster,
  RegistryError,
  removeCluster,
  setGitHubApp,
  setGitHubToken,
  setWebhookSecrets,
} from '../../lib/registry/index.ts';
import type { SecretStore } from '../../lib/registry/index.ts';
import { KUBECONFIG, KUBE_TOKEN, registration } from './support.ts';

let home: string;
let store: FileSecretStore;

beforeEach(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'pushsync-reg-'));
  store = new FileSecretStore(home);
});
afterEach(async () => {
  clearRegisteredSecrets();
  await rm(home, { recursive: true, force: true });
});

const now = () => new Date('2026-03-04T05:06:07.000Z');

describe('cluster registry', () => {
  it('registers, gets (with kubeconfig) and lists (without)', async () => {
    const r = await registerCluster(store, registration(), { now });
    expect(r).toEqual({
      ok: true,
      replaced: false,
      warnings: [],
      cluster: { name: 'mycluster', repo: 'acme/policy', branch: 'main', dir: 'policy', sourceFormat: 'hierarchy', registeredAt: '2026-03-04T05:06:07.000Z' },
    });
    expect(await getCluster(store, 'mycluster')).toEqual({
      name: 'mycluster',
      kubeconfig: KUBECONFIG,
      repo: 'acme/policy',
      branch: 'main',
      dir: 'policy',
      sourceFormat: 'hierarchy',
      registeredAt: '2026-03-04T05:06:07.000Z',
    });
    const listed = await listClusters(store);
    expect(listed).toHaveLength(1);
    expect(listed[0]).not.toHaveProperty('kubeconfig');
    expect(JSON.stringify(listed)).not.toContain(KUBE_TOKEN);
  });

  it('an invalid registration stores nothing', async () => {
    const r = await registerCluster(store, registration({ name: 'Bad' }));
    expect(r.ok).toBe(false);
    expect(await store.list('')).toEqual([]);
  });

  it('refuses to overwrite an existing name unless asked to replace', async () => {
    await registerCluster(store, registration());
    const again = await registerCluster(store, registration({ branch: 'prod' }));
    expect(again).toMatchObject({ ok: false, errors: [{ code: 'REGISTRY_EXISTS', field: 'name', value: 'mycluster' }] });
    expect((await getCluster(store, 'mycluster'))?.branch).toBe('main');
    const replaced = await registerCluster(store, registration({ branch: 'prod' }), { replace: true });
    expect(replaced).toMatchObject({ ok: true, replaced: true, cluster: { branch: 'prod' } });
  });

  it('removes', async () => {
    await registerCluster(store, registration());
    expect(await removeCluster(store, 'mycluster')).toBe(true);
    expect(await removeCluster(store, 'mycluster')).toBe(false);
    expect(await getCluster(store, 'mycluster')).toBeUndefined();
    expect(await listClusters(store)).toEqual([]);
  });

  it('getCluster/removeCluster with a name that is not a label find nothing (no path tricks)', async () => {
    expect(await getCluster(store, '../secrets')).toBeUndefined();
    expect(await removeCluster(store, '../secrets')).toBe(false);
  });

  it('finds the clusters following a repo and branch, repo compared case-insensitively, sorted by name', async () => {
    await registerCluster(store, registration({ name: 'prod-b', repo: 'Acme/Policy', branch: 'main' }));
    await registerCluster(store, registration({ name: 'prod-a', repo: 'acme/policy', branch: 'main' }));
    await registerCluster(store, registration({ name: 'staging', repo: 'acme/policy', branch: 'staging' }));
    await registerCluster(store, registration({ name: 'other', repo: 'acme/other', branch: 'main' }));
    expect((await clustersFollowing(store, 'ACME/policy', 'main')).map((c) => c.name)).toEqual(['prod-a', 'prod-b']);
    expect((await clustersFollowing(store, 'acme/policy', 'Main')).map((c) => c.name)).toEqual([]);
    expect((await clustersFollowing(store, 'acme/policy', 'feature')).map((c) => c.name)).toEqual([]);
    expect((await clustersFollowingRepo(store, 'acme/POLICY')).map((c) => c.name)).toEqual(['prod-a', 'prod-b', 'staging']);
    expect(await clustersFollowingRepo(store, 'nobody/nothing')).toEqual([]);
  });

  it('a corrupt registration is a loud error naming it, not a silently missing cluster', async () => {
    await registerCluster(store, registration());
    await writeFile(path.join(store.dir, 'clusters%2Fbroken.secret'), '{"version": 1, "name": "broken"}');
    await expect(listClusters(store)).rejects.toBeInstanceOf(RegistryError);
    await expect(clustersFollowing(store, 'acme/policy', 'main')).rejects.toThrow(/registration clusters\/broken is not a valid version-1 registration \(missing kubeconfig/);
    await writeFile(path.join(store.dir, 'clusters%2Fbroken.secret'), '{"version": 3, "name": "broken"}');
    await expect(listClusters(store)).rejects.toThrow(/registration clusters\/broken has version 3, not 2 \(or 1, the previous release's\)/);
  });

  it('kubeconfigs read from the registry are masked in logs from then on', async () => {
    await registerCluster(store, registration());
    await getCluster(store, 'mycluster');
    const lines: string[] = [];
    createLogger({ sink: (l) => lines.push(l) }).error('failed', { detail: KUBECONFIG });
    expect(lines[0]).not.toContain(KUBE_TOKEN);
  });

  it('each credential value of a kubeconfig read is masked on its own, wherever it appears', async () => {
    const kubeconfig = KUBECONFIG.replace(`token: ${KUBE_TOKEN}`, 'client-key-data: S0VZREFUQS0wMTIzNDU2Nzg5\n      exec: {command: aws, env: [{name: AWS_SECRET_ACCESS_KEY, value: wJalrXUtnFEMI-K7MDENG}]}');
    await registerCluster(store, registration({ kubeconfig, allowExec: true }));
    await getCluster(store, 'mycluster');
    const lines: string[] = [];
    createLogger({ sink: (l) => lines.push(l) }).error('plugin said S0VZREFUQS0wMTIzNDU2Nzg5 and wJalrXUtnFEMI-K7MDENG');
    expect(lines[0]).not.toMatch(/S0VZREFUQS0wMTIzNDU2Nzg5|wJalrXUtnFEMI/);
  });

  it('stores two secrets per cluster: the registration (JSON, no credential) and the kubeconfig', async () => {
    await registerCluster(store, registration({ allowInsecure: true, plans: false }));
    expect(await readdir(store.dir)).toEqual(['clusters%2Fmycluster.secret', 'kubeconfigs%2Fmycluster.secret']);
    const text = await readFile(path.join(store.dir, 'clusters%2Fmycluster.secret'), 'utf8');
    expect(text).not.toContain(KUBE_TOKEN);
    expect(JSON.parse(text)).toEqual({
      version: 2,
      name: 'mycluster',
      repo: 'acme/policy',
      branch: 'main',
      dir: 'policy',
      sourceFormat: 'hierarchy',
      allowInsecure: true,
      plans: false,
      registeredAt: expect.any(String),
    });
    expect(await readFile(path.join(store.dir, 'kubeconfigs%2Fmycluster.secret'), 'utf8')).toBe(KUBECONFIG);
    expect(await getCluster(store, 'mycluster')).toMatchObject({ kubeconfig: KUBECONFIG, allowInsecure: true, plans: false });
    expect(await removeCluster(store, 'mycluster')).toBe(true);
    expect(await readdir(store.dir)).toEqual([]);
  });

  it('who follows what is read from registrations only: listing never reads a kubeconfig; getCluster reads both', async () => {
    await registerCluster(store, registration({ name: 'a' }));
    await registerCluster(store, registration({ name: 'b', branch: 'dev' }));
    const read: string[] = [];
    const spy: SecretStore = { ...store, get: (name) => (read.push(name), store.get(name)), put: (n, v) => store.put(n, v), delete: (n) => store.delete(n), list: (p) => store.list(p) };
    await listClusters(spy);
    await clustersFollowing(spy, 'acme/policy', 'main');
    await clustersFollowingRepo(spy, 'acme/policy');
    expect(read.length).toBeGreaterThan(0);
    expect(read.filter((n) => !n.startsWith('clusters/'))).toEqual([]);
    read.length = 0;
    expect((await getCluster(spy, 'b'))?.kubeconfig).toBe(KUBECONFIG);
    expect(read).toEqual(['clusters/b', 'kubeconfigs/b']);
  });

  it('a registration whose kubeconfig is missing is a loud error at getCluster', async () => {
    await registerCluster(store, registration());
    await store.delete('kubeconfigs/mycluster');
    await expect(getCluster(store, 'mycluster')).rejects.toThrow(/registration clusters\/mycluster has no kubeconfig \(kubeconfigs\/mycluster is missing\)/);
  });

  describe('the previous release\'s combined format (version 1: the kubeconfig inside clusters/<name>)', () => {
    const v1 = { version: 1, name: 'old', kubeconfig: KUBECONFIG, repo: 'acme/policy', branch: 'main', dir: '.', sourceFormat: 'hierarchy', registeredAt: '2025-01-01T00:00:00.000Z' };

    it('is still listed, followed and connected with, and is marked for re-registration', async () => {
      await store.put('clusters/old', JSON.stringify(v1));
      await registerCluster(store, registration({ name: 'new' }));
      expect((await clustersFollowing(store, 'acme/policy', 'main')).map((c) => c.name)).toEqual(['new', 'old']);
      expect((await listClusters(store)).find((c) => c.name === 'old')).toEqual({ name: 'old', repo: 'acme/policy', branch: 'main', dir: '.', sourceFormat: 'hierarchy', registeredAt: '2025-01-01T00:00:00.000Z' });
      expect((await getCluster(store, 'old'))?.kubeconfig).toBe(KUBECONFIG);
      expect((await listRegistrations(store)).map((r) => [r.cluster.name, r.combined])).toEqual([
        ['new', false],
        ['old', true],
      ]);
    });

    it('register --replace rewrites it as a registration and a kubeconfig; remove deletes it', async () => {
      await store.put('clusters/old', JSON.stringify(v1));
      expect(await registerCluster(store, registration({ name: 'old', dir: '.' }), { replace: true })).toMatchObject({ ok: true, replaced: true });
      expect(await store.get('clusters/old')).not.toContain(KUBE_TOKEN);
      expect(await store.get('kubeconfigs/old')).toBe(KUBECONFIG);
      expect((await listRegistrations(store)).map((r) => r.combined)).toEqual([false]);
      await store.put('clusters/gone', JSON.stringify({ ...v1, name: 'gone' }));
      expect(await removeCluster(store, 'gone')).toBe(true);
      expect(await store.list('')).toEqual(['clusters/old', 'kubeconfigs/old']);
    });
  });

  it('keeps the rollout settings, and healthTimeoutMs / environmentOf fill in the defaults', async () => {
    await registerCluster(store, registration({ name: 'prod', healthTimeout: 0, environment: 'production', production: true }), { now });
    await registerCluster(store, registration({ name: 'edge', healthTimeout: 90 }), { now });
    await registerCluster(store, registration({ name: 'plain' }), { now });
    const [edge, plain, prod] = await listClusters(store);
    expect(prod).toMatchObject({ name: 'prod', healthTimeout: 0, environment: 'production', production: true });
    expect(await getCluster(store, 'prod')).toMatchObject({ healthTimeout: 0, environment: 'production', production: true });
    expect([healthTimeoutMs(prod!), healthTimeoutMs(edge!), healthTimeoutMs(plain!)]).toEqual([0, 90_000, DEFAULT_HEALTH_TIMEOUT_SECONDS * 1000]);
    expect(DEFAULT_HEALTH_TIMEOUT_SECONDS).toBe(300);
    expect([environmentOf(prod!), environmentOf(edge!), environmentOf(plain!)]).toEqual(['production', 'edge', 'plain']);
    expect(plain).not.toHaveProperty('production');
  });

  it('a stored registration with an unusable health timeout or environment is corrupt, named as such', async () => {
    await registerCluster(store, registration({ name: 'hand' }));
    const stored = JSON.parse((await store.get('clusters/hand')) ?? '{}') as Record<string, unknown>;
    await store.put('clusters/hand', JSON.stringify({ ...stored, healthTimeout: '5m', environment: '' }));
    await expect(getCluster(store, 'hand')).rejects.toThrow(/\(healthTimeout is not a number of seconds from 0 to 3600, environment is not a valid environment name\)/);
  });

  it('a registration naming another cluster than its key is corrupt, not silently another cluster', async () => {
    await registerCluster(store, registration({ name: 'real' }));
    await store.put('clusters/fake', (await store.get('clusters/real')) ?? '');
    await expect(getCluster(store, 'fake')).rejects.toThrow(/registration clusters\/fake is not a valid version-2 registration \(it names cluster "real"\)/);
  });
});

describe('GitHub credentials and webhook secrets', () => {
  const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0123456789abcdefghijklmnopqrstuv\n-----END RSA PRIVATE KEY-----';

  it('a token', async () => {
    expect(await getGitHubCredentials(store)).toBeUndefined();
    expect(await setGitHubToken(store, '  ghp_0123456789abcdef\n')).toEqual([]);
    expect(await getGitHubCredentials(store)).toEqual({ kind: 'token', token: 'ghp_0123456789abcdef' });
    expect(await store.get('github/token')).toBe('ghp_0123456789abcdef');
  });

  it('an App wins over a token (only an App can write check runs)', async () => {
    await setGitHubToken(store, 'ghp_x');
    expect(await setGitHubApp(store, { appId: '12345', privateKey: PEM })).toEqual([]);
    expect(await getGitHubCredentials(store)).toEqual({ kind: 'app', appId: '12345', privateKey: `${PEM}\n` });
  });

  it('refuses a bad App id or a key that is not PEM, naming the field', async () => {
    const errors = await setGitHubApp(store, { appId: 'my-app', privateKey: 'ssh-rsa AAAA' });
    expect(errors.map((e) => e.field)).toEqual(['appId', 'privateKey']);
    expect(await store.get('github/app')).toBeUndefined();
  });

  it('webhook secrets: current first, previous kept on rotation, duplicates dropped', async () => {
    expect(await getWebhookSecrets(store)).toEqual([]);
    await setWebhookSecrets(store, ['one']);
    expect(await getWebhookSecrets(store)).toEqual(['one']);
    await setWebhookSecrets(store, ['two'], { keepPrevious: true });
    expect(await getWebhookSecrets(store)).toEqual(['two', 'one']);
    await setWebhookSecrets(store, ['two']);
    expect(await getWebhookSecrets(store)).toEqual(['two']);
    expect(await setWebhookSecrets(store, ['', '  '])).toMatchObject([{ field: 'webhookSecret' }]);
  });

  it('a hand-written webhook secret file with one plain secret works', async () => {
    await store.put('github/webhook-secret', 'plain-secret\n');
    expect(await getWebhookSecrets(store)).toEqual(['plain-secret']);
  });

  it('secret values read are masked in logs', async () => {
    await setGitHubToken(store, 'ghp_mask_me_0123456789');
    await setWebhookSecrets(store, ['whsec_mask_me_0123']);
    await getGitHubCredentials(store);
    await getWebhookSecrets(store);
    const lines: string[] = [];
    createLogger({ sink: (l) => lines.push(l) }).info('debugging ghp_mask_me_0123456789 and whsec_mask_me_0123');
    expect(lines[0]).not.toMatch(/mask_me/);
  });
});
