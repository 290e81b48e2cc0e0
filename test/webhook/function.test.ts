import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLambdaWebhook } from '../../functions/webhook.ts';
import { createWebhookEndpoint } from '../../lib/github/webhook-endpoint.ts';
import { createInProcessInvoker } from '../../lib/fanout/index.ts';
import type { JsonValue } from '../../lib/fanout/index.ts';
import { createLogger, clearRegisteredSecrets } from '../../lib/log.ts';
import { FileSecretStore, setWebhookSecrets } from '../../lib/registry/index.ts';
import { branchPush, delivery, SECRET } from './support.ts';

let home: string;
let store: FileSecretStore;
let lines: string[];
const logger = () => createLogger({ sink: (l) => lines.push(l) });

beforeEach(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'pushsync-fn-'));
  store = new FileSecretStore(home);
  lines = [];
});
afterEach(async () => {
  clearRegisteredSecrets();
  await rm(home, { recursive: true, force: true });
});

function invokerCapturing() {
  const synced: JsonValue[] = [];
  const invoker = createInProcessInvoker({ handlers: { sync: async (payload) => void synced.push(payload) }, retryDelaysMs: [] });
  return { invoker, synced };
}

describe('the webhook endpoint (lib/github/webhook-endpoint.ts) and its Lambda function', () => {
  it('a signed push invokes the sync function with the job, after answering', async () => {
    await setWebhookSecrets(store, [SECRET]);
    const { invoker, synced } = invokerCapturing();
    const handler = createWebhookEndpoint({ secrets: store, invoker, logger: logger() });
    const payload = branchPush();
    const res = await handler(delivery(payload, { deliveryId: 'fn-1' }));
    expect(res.status).toBe(202);
    await invoker.idle();
    expect(synced).toEqual([expect.objectContaining({ deliveryId: 'fn-1', repo: 'Codertocat/Hello-World', after: payload.after, branch: 'master' })]);
  });

  it('without a webhook secret in the store every delivery is a 500 that says how to set one', async () => {
    const { invoker, synced } = invokerCapturing();
    const handler = createWebhookEndpoint({ secrets: store, invoker, logger: logger() });
    const res = await handler(delivery(branchPush()));
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'WEBHOOK_NO_SECRET' });
    expect(JSON.parse(res.body).message).toMatch(/pushsync secrets set webhook-secret/);
    await invoker.idle();
    expect(synced).toHaveLength(0);
  });

  it('picks up a rotated secret on the first delivery that fails with the cached one', async () => {
    await setWebhookSecrets(store, ['old-secret']);
    const { invoker, synced } = invokerCapturing();
    let clock = 0;
    const handler = createWebhookEndpoint({ secrets: store, invoker, logger: logger(), secretCache: { now: () => clock } });
    expect((await handler(delivery(branchPush(), { secret: 'old-secret' }))).status).toBe(202);
    // Rotation on a warm container: the store changes, GitHub signs with the new secret.
    await setWebhookSecrets(store, ['new-secret'], { keepPrevious: true });
    // Within 30 s of the last read the store is not read again (a flood of forged requests
    // cannot turn into a flood of store reads).
    clock = 10_000;
    expect((await handler(delivery(branchPush(), { secret: 'new-secret' }))).status).toBe(401);
    clock = 31_000;
    expect((await handler(delivery(branchPush(), { secret: 'new-secret' }))).status).toBe(202);
    expect((await handler(delivery(branchPush(), { secret: 'old-secret' }))).status).toBe(202);
    // Immediately after a refresh, a wrong secret does not re-read the store again.
    expect((await handler(delivery(branchPush(), { secret: 'forged' }))).status).toBe(401);
    await invoker.idle();
    expect(synced).toHaveLength(3);
  });

  it('a push the invoker refuses is a 503 (GitHub shows it failed; redeliver retries)', async () => {
    await setWebhookSecrets(store, [SECRET]);
    const invoker = createInProcessInvoker({ handlers: {} });
    const handler = createWebhookEndpoint({ secrets: store, invoker, logger: logger() });
    const res = await handler(delivery(branchPush()));
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).message).toMatch(/redeliver/);
  });

  it('a secret store that cannot be read is a 503 (redeliver), and the next request reads it again', async () => {
    await setWebhookSecrets(store, [SECRET]);
    const { invoker, synced } = invokerCapturing();
    let down = true;
    const flaky = { get: (name: string) => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : store.get(name)), put: store.put.bind(store), delete: store.delete.bind(store), list: store.list.bind(store) };
    const handler = createWebhookEndpoint({ secrets: flaky, invoker, logger: logger() });
    const res = await handler(delivery(branchPush()));
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'WEBHOOK_SECRET_UNAVAILABLE', message: expect.stringMatching(/redeliver/) });
    down = false;
    expect((await handler(delivery(branchPush()))).status).toBe(202);
    await invoker.idle();
    expect(synced).toHaveLength(1);
  });

  it('a flood of unsigned and forged requests reads the secret store once', async () => {
    await setWebhookSecrets(store, [SECRET]);
    const { invoker } = invokerCapturing();
    let reads = 0;
    const counting = { get: (name: string) => (reads++, store.get(name)), put: store.put.bind(store), delete: store.delete.bind(store), list: store.list.bind(store) };
    const handler = createWebhookEndpoint({ secrets: counting, invoker, logger: logger() });
    for (let i = 0; i < 50; i++) expect((await handler(delivery(branchPush(), { secret: null }))).status).toBe(401);
    for (let i = 0; i < 50; i++) expect((await handler(delivery(branchPush(), { secret: 'forged' }))).status).toBe(401);
    // The read that learnt the secret; a failed signature re-reads at most every 30 s after it.
    expect(reads).toBe(1);
  });

  it('runs behind the Lambda adapter', async () => {
    await setWebhookSecrets(store, [SECRET]);
    const { invoker, synced } = invokerCapturing();
    const lambda = createLambdaWebhook({ secrets: store, invoker, logger: logger() });
    const request = delivery(branchPush());
    const result = await lambda({
      version: '2.0',
      headers: request.headers,
      body: Buffer.from(request.body as string).toString('base64'),
      isBase64Encoded: true,
      requestContext: { http: { method: 'POST' } },
    });
    expect(result.statusCode).toBe(202);
    await invoker.idle();
    expect(synced).toHaveLength(1);
    expect(lines.join('\n')).not.toContain(SECRET);
  });
});
