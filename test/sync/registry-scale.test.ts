/**
 * The registry of a fleet on Secrets Manager (issue 13 §3): sync's listing of 1,000 registered
 * clusters reads them in batches (ListSecrets pages of 100, BatchGetSecretValue of 20), not one
 * GetSecretValue each; against a stand-in speaking the service's HTTP protocol.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsSecretStore, clustersFollowingRepo, listClusters } from '../../lib/registry/index.ts';
import { startSecretsManager, type SecretsManagerStandIn } from './secrets-manager.ts';

const PREFIX = 'acme/pushsync/';
let sm: SecretsManagerStandIn;

const registration = (name: string, repo = 'acme/policy') =>
  JSON.stringify({ version: 2, name, repo, branch: 'main', dir: '.', sourceFormat: 'hierarchy', registeredAt: '2026-01-01T00:00:00.000Z' });

beforeAll(async () => {
  sm = await startSecretsManager();
  for (let i = 0; i < 1000; i++) sm.put(`${PREFIX}clusters/c${String(i).padStart(4, '0')}`, registration(`c${String(i).padStart(4, '0')}`, i % 10 === 0 ? 'acme/other' : 'acme/policy'));
});
afterAll(async () => sm?.close());

function store(): AwsSecretStore {
  const client = new SecretsManagerClient({ region: 'eu-west-1', endpoint: sm.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  return new AwsSecretStore({ client, prefix: PREFIX });
}

describe('1,000 registered clusters on Secrets Manager', () => {
  it('are listed with 10 ListSecrets pages and 50 BatchGetSecretValue calls, values cached', async () => {
    sm.calls.clear();
    const s = store();
    const all = await listClusters(s);
    expect(all).toHaveLength(1000);
    expect(all[999]?.name).toBe('c0999');
    expect(Object.fromEntries(sm.calls)).toEqual({ ListSecrets: 10, BatchGetSecretValue: 50 });
    // sync's second question within the cache's TTL: the listing again, no value read.
    sm.calls.clear();
    expect(await clustersFollowingRepo(s, 'ACME/Policy')).toHaveLength(900);
    expect(Object.fromEntries(sm.calls)).toEqual({ ListSecrets: 10 });
  });

  it('a name the batch does not find is absent, as get() says', async () => {
    const s = store();
    const got = await s.getMany(['clusters/c0001', 'clusters/nobody']);
    expect(got.get('clusters/nobody')).toBeUndefined();
    expect(JSON.parse(got.get('clusters/c0001') ?? '{}')).toMatchObject({ name: 'c0001' });
  });
});
