/**
 * The deployed entry points (`handler` of functions/*.ts) as Lambda runs them: configuration
 * from the environment, Secrets Manager and Lambda stubbed at the SDK boundary, GitHub played
 * by the stand-in over a real git repository. A push goes webhook → (Lambda Event) → sync →
 * (Lambda Event) → apply; every payload and every log line is checked for the secrets.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readFunctionConfig, webhookDepsFromEnv } from '../../lib/aws/index.ts';
import type { ApiGatewayV2Event, ApiGatewayV2Result } from '../../lib/http/lambda.ts';
import { clearRegisteredSecrets } from '../../lib/log.ts';
import { AwsSecretStore, registerCluster, setGitHubToken, setWebhookSecrets } from '../../lib/registry/index.ts';
import { buildPushPayload, startGitHubServer, webhookDelivery, type GitHubServer } from '../helpers/github-server.ts';
import { KUBE_TOKEN, KUBECONFIG } from '../registry/support.ts';
import { fakeSecretsManager } from './support.ts';

const WEBHOOK_SECRET = 'handler-webhook-secret-0123456789abcdef';
const REPO_YAML = 'apiVersion: configmanagement.gke.io/v1\nkind: Repo\nmetadata:\n  name: repo\nspec:\n  version: "1.0.0"\n';
const NAMESPACE_YAML = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n';

const ENV = {
  PUSHSYNC_STORE: 'aws',
  PUSHSYNC_SECRET_PREFIX: 'pushsync-test/',
  PUSHSYNC_SYNC_FUNCTION: 'pushsync-test-sync',
  PUSHSYNC_APPLY_FUNCTION: 'pushsync-test-apply',
  PUSHSYNC_LOG_LEVEL: 'debug',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};

describe('readFunctionConfig', () => {
  it('defaults to Secrets Manager under pushsync/ with a 60 s cache, and Lambda fan-out', () => {
    expect(readFunctionConfig({ PUSHSYNC_APPLY_FUNCTION: 'x-apply' }, ['apply'])).toEqual({
      store: { kind: 'aws', prefix: 'pushsync/', cacheTtlMs: 60_000 },
      invoker: { kind: 'lambda', functions: { apply: 'x-apply' } },
    });
    expect(
      readFunctionConfig(
        { PUSHSYNC_STORE: 'file', PUSHSYNC_HOME: '/data/ps', PUSHSYNC_INVOKER: 'in-process', PUSHSYNC_GITHUB_URL: 'https://ghe.example.com/api/v3/', PUSHSYNC_TARGET_URL: '', PUSHSYNC_SECRET_CACHE_SECONDS: '5' },
        ['apply'],
      ),
    ).toEqual({ store: { kind: 'file', home: '/data/ps' }, invoker: { kind: 'in-process' }, githubBaseUrl: 'https://ghe.example.com/api/v3' });
    expect(readFunctionConfig({ PUSHSYNC_SECRET_CACHE_SECONDS: '0.5', PUSHSYNC_SECRET_PREFIX: 'acme/ps/' }, []).store).toEqual({ kind: 'aws', prefix: 'acme/ps/', cacheTtlMs: 500 });
  });

  it('names the variable at fault', () => {
    const bad: [Record<string, string>, string, RegExp][] = [
      [{}, 'PUSHSYNC_SYNC_FUNCTION', /PUSHSYNC_SYNC_FUNCTION is not set: it names the Lambda function that runs "sync"/],
      [{ PUSHSYNC_SYNC_FUNCTION: 'has space' }, 'PUSHSYNC_SYNC_FUNCTION', /is not a Lambda function name or ARN/],
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_STORE: 'vault' }, 'PUSHSYNC_STORE', /PUSHSYNC_STORE="vault" is not one of aws, file/],
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_SECRET_PREFIX: 'no spaces/' }, 'PUSHSYNC_SECRET_PREFIX', /not a valid secret name prefix/],
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_SECRET_PREFIX: 'pushsync' }, 'PUSHSYNC_SECRET_PREFIX', /PUSHSYNC_SECRET_PREFIX="pushsync" is not a valid secret name prefix: it must end with "\/"/],
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_SECRET_CACHE_SECONDS: '-1' }, 'PUSHSYNC_SECRET_CACHE_SECONDS', /not a number of seconds/],
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_GITHUB_URL: 'ghe.example.com' }, 'PUSHSYNC_GITHUB_URL', /is not a URL/],
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_TARGET_URL: 'ftp://x' }, 'PUSHSYNC_TARGET_URL', /must be an http\(s\) URL/],
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_INVOKER: 'sqs' }, 'PUSHSYNC_INVOKER', /not one of lambda, in-process/],
    ];
    for (const [env, variable, message] of bad) {
      let err: unknown;
      try {
        readFunctionConfig(env, ['sync']);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toMatchObject({ code: 'AWS_ENV_INVALID', variable, message: expect.stringMatching(message) });
    }
    expect(() => webhookDepsFromEnv({ PUSHSYNC_INVOKER: 'in-process' })).toThrow(/not supported by the webhook function/);
  });
});

/** What API Gateway (HTTP API, payload 2.0) hands the webhook function. */
function apiEvent(delivery: { method: string; headers: Record<string, string>; body: string }): ApiGatewayV2Event {
  return { version: '2.0', headers: delivery.headers, body: delivery.body, isBase64Encoded: false, requestContext: { http: { method: delivery.method }, requestId: 'api-req-1' } };
}

describe('the Lambda handlers, wired from the environment', () => {
  let github: GitHubServer;
  let fake: ReturnType<typeof fakeSecretsManager>;
  let lambda: AwsClientStub<LambdaClient>;
  let stdout: string[];

  beforeAll(async () => {
    github = await startGitHubServer({ owner: 'acme', repo: 'policy' });
  });
  afterAll(async () => {
    await github?.close();
  });

  beforeEach(async () => {
    vi.resetModules();
    for (const [k, v] of Object.entries({ ...ENV, PUSHSYNC_GITHUB_URL: github.url })) vi.stubEnv(k, v);
    fake = fakeSecretsManager();
    lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    // What the CLI does before a deploy: `pushsync clusters register … --store aws`, `secrets set …`.
    const store = new AwsSecretStore({ prefix: ENV.PUSHSYNC_SECRET_PREFIX });
    await setWebhookSecrets(store, [WEBHOOK_SECRET]);
    await setGitHubToken(store, github.token);
    await registerCluster(store, { name: 'prod', kubeconfig: KUBECONFIG, repo: 'acme/policy', branch: 'main', dir: '.' });
    fake.mock.resetHistory();
    clearRegisteredSecrets();
    // The functions log to stdout, as Lambda collects it.
    stdout = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    fake.mock.restore();
    lambda.restore();
    clearRegisteredSecrets();
  });

  const invoked = (fn: string): unknown[] =>
    lambda.commandCalls(InvokeCommand, { FunctionName: fn }).map((c) => {
      expect(c.args[0].input.InvocationType).toBe('Event');
      return JSON.parse(Buffer.from(c.args[0].input.Payload as Uint8Array).toString('utf8'));
    });

  function expectNoSecrets(what: string): void {
    for (const secret of [WEBHOOK_SECRET, github.token, KUBE_TOKEN]) expect(what).not.toContain(secret);
  }

  it('webhook: 401 unsigned, 200 ping, 202 push with one Event invocation of sync; the secret read once per warm container', async () => {
    const { handler } = await import('../../functions/webhook.ts');
    const ping = webhookDelivery({ zen: 'Keep it logically awesome.', hook_id: 1 }, WEBHOOK_SECRET, { event: 'ping' });
    const unsigned: ApiGatewayV2Result = await handler(apiEvent({ ...ping, headers: Object.fromEntries(Object.entries(ping.headers).filter(([k]) => k !== 'x-hub-signature-256')) }));
    expect(unsigned.statusCode).toBe(401);
    expect((await handler(apiEvent(ping))).statusCode).toBe(200);

    const sha = await github.git.commit({ 'system/repo.yaml': REPO_YAML }, { message: 'Add the Repo' });
    const push = webhookDelivery(await buildPushPayload({ git: github.git, owner: 'acme', repo: 'policy', ref: 'main', after: sha, apiUrl: github.url }), WEBHOOK_SECRET);
    const res = await handler(apiEvent(push));
    expect(res.statusCode).toBe(202);

    expect(invoked('pushsync-test-sync')).toEqual([expect.objectContaining({ deliveryId: push.deliveryId, repo: 'acme/policy', branch: 'main', after: sha })]);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    // Three requests, one cold start: the webhook secret came from Secrets Manager once.
    expect(fake.mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual(['pushsync-test/github/webhook-secret']);
    expectNoSecrets(JSON.stringify(lambda.commandCalls(InvokeCommand).map((c) => Buffer.from(c.args[0].input.Payload as Uint8Array).toString('utf8'))));
    expect(stdout.length).toBeGreaterThan(0);
    expectNoSecrets(stdout.join(''));
  });

  it('sync: vets the commit on GitHub, posts pushsync/vet and pending, invokes apply per cluster with no credential in the payload', async () => {
    const sha = await github.git.commit({ 'system/repo.yaml': REPO_YAML, 'namespaces/shop/namespace.yaml': NAMESPACE_YAML }, { message: 'shop' });
    const push = webhookDelivery(await buildPushPayload({ git: github.git, owner: 'acme', repo: 'policy', ref: 'main', after: sha, apiUrl: github.url }), WEBHOOK_SECRET);
    const webhook = (await import('../../functions/webhook.ts')).handler;
    expect((await webhook(apiEvent(push))).statusCode).toBe(202);
    const [job] = invoked('pushsync-test-sync');

    const sync = (await import('../../functions/sync.ts')).handler;
    await sync(job as never);

    expect(github.latestStatuses(sha).get('pushsync/vet')?.state).toBe('success');
    expect(github.latestStatuses(sha).get('pushsync/prod')?.state).toBe('pending');
    const applies = invoked('pushsync-test-apply');
    expect(applies).toEqual([expect.objectContaining({ deliveryId: push.deliveryId, owner: 'acme', name: 'policy', sha, cluster: 'prod', mode: 'apply' })]);
    // The sync listed the clusters under the prefix and read their registrations.
    expect(fake.mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual(
      expect.arrayContaining(['pushsync-test/github/token', 'pushsync-test/clusters/prod']),
    );
    expectNoSecrets(JSON.stringify(lambda.commandCalls(InvokeCommand).map((c) => Buffer.from(c.args[0].input.Payload as Uint8Array).toString('utf8'))));
    expect(stdout.join('')).toContain('"function":"sync"');
    expectNoSecrets(stdout.join(''));
  });

  it('apply and resync: build from the environment and delegate (a malformed job is refused, resync dispatches one apply per cluster)', async () => {
    const apply = (await import('../../functions/apply.ts')).handler;
    await expect(apply({ cluster: 'prod' })).resolves.toMatchObject({ kind: 'rejected', code: 'SYNC_BAD_PAYLOAD' });

    const head = await github.git.commit({ 'system/repo.yaml': REPO_YAML }, { message: 'head' });
    const resync = (await import('../../functions/resync.ts')).handler;
    expect(await resync()).toEqual({ dispatched: ['prod'], failed: [] });
    expect(invoked('pushsync-test-apply')).toEqual([expect.objectContaining({ cluster: 'prod', sha: head, mode: 'apply', quiet: true })]);
    expectNoSecrets(stdout.join(''));
  });

  it('a function whose environment is incomplete fails its cold start naming the variable', async () => {
    vi.stubEnv('PUSHSYNC_APPLY_FUNCTION', '');
    const sync = (await import('../../functions/sync.ts')).handler;
    await expect(sync({} as never)).rejects.toMatchObject({ code: 'AWS_ENV_INVALID', variable: 'PUSHSYNC_APPLY_FUNCTION' });
  });
});
