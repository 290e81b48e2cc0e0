import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearRegisteredSecrets, createLogger } from '../../lib/log.ts';
import {
  clustersFollowing,
  clustersFollowingRepo,
  FileSecretStore,
  getCluster,
  getGitHubCredentials,
  getWebhookSecrets,
  listClusters,
  registerCluster,
  RegistryError,
  removeCluster,
  setGitHubApp,
  setGitHubToken,
  setWebhookSecrets,
} from '../../lib/registry/index.ts';
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
    await expect(clustersFollowing(store, 'acme/policy', 'main')).rejects.toThrow(/registration clusters\/broken is not a version-1 registration \(missing kubeconfig/);
  });

  it('kubeconfigs read from the registry are masked in logs from then on', async () => {
    await registerCluster(store, registration());
    await getCluster(store, 'mycluster');
    const lines: string[] = [];
    createLogger({ sink: (l) => lines.push(l) }).error('failed', { detail: KUBECONFIG });
    expect(lines[0]).not.toContain(KUBE_TOKEN);
  });

  it('the stored file holds the registration as JSON, one file per cluster', async () => {
    await registerCluster(store, registration());
    expect(await readdir(store.dir)).toEqual(['clusters%2Fmycluster.secret']);
    const stored = JSON.parse(await readFile(path.join(store.dir, 'clusters%2Fmycluster.secret'), 'utf8'));
    expect(stored).toMatchObject({ version: 1, name: 'mycluster', kubeconfig: KUBECONFIG });
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
