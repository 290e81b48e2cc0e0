/**
 * The deployed entry points (`handler` of functions/*.ts) as Lambda runs them: configuration
 * from the environment, Secrets Manager and Lambda stubbed at the SDK boundary, GitHub played
 * by the stand-in over a real git repository. A push goes webhook → (Lambda Event) → sync →
 * (Lambda Event) → apply; health checks come from SQS and go back to it (SQS stubbed too);
 * every payload and every log line is checked for the secrets.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readFunctionConfig, syncDepsFromEnv, webhookDepsFromEnv } from '../../lib/aws/index.ts';
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
  PUSHSYNC_HEALTH_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/pushsync-test-health',
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

  it('reaches health through its SQS queue, and reads the health interval', () => {
    const queue = 'https://sqs.eu-west-1.amazonaws.com/123456789012/pushsync-prod-health';
    expect(readFunctionConfig({ PUSHSYNC_HEALTH_QUEUE_URL: queue, PUSHSYNC_HEALTH_INTERVAL: '15' }, ['health'])).toEqual({
      store: { kind: 'aws', prefix: 'pushsync/', cacheTtlMs: 60_000 },
      invoker: { kind: 'lambda', functions: {}, queues: { health: queue } },
      healthIntervalMs: 15_000,
    });
    expect(readFunctionConfig({ PUSHSYNC_APPLY_FUNCTION: 'x-apply', PUSHSYNC_HEALTH_QUEUE_URL: queue, PUSHSYNC_HEALTH_INTERVAL: '' }, ['apply', 'health']).invoker).toEqual({
      kind: 'lambda',
      functions: { apply: 'x-apply' },
      queues: { health: queue },
    });
    // In-process, health runs in the function itself: no queue needed.
    expect(readFunctionConfig({ PUSHSYNC_INVOKER: 'in-process', PUSHSYNC_HEALTH_INTERVAL: '900' }, ['health'])).toMatchObject({ invoker: { kind: 'in-process' }, healthIntervalMs: 900_000 });
    expect(readFunctionConfig({ PUSHSYNC_HEALTH_INTERVAL: '1' }, []).healthIntervalMs).toBe(1_000);
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
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_HEALTH_INTERVAL: '0' }, 'PUSHSYNC_HEALTH_INTERVAL', /PUSHSYNC_HEALTH_INTERVAL="0" is not a whole number of seconds from 1 to 900/],
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_HEALTH_INTERVAL: '901' }, 'PUSHSYNC_HEALTH_INTERVAL', /from 1 to 900/],
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_HEALTH_INTERVAL: '2.5' }, 'PUSHSYNC_HEALTH_INTERVAL', /whole number/],
      [{ PUSHSYNC_SYNC_FUNCTION: 's', PUSHSYNC_HEALTH_INTERVAL: '10s' }, 'PUSHSYNC_HEALTH_INTERVAL', /whole number/],
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
    // The functions that schedule health checks need the queue, named as the function names are.
    const queue: [Record<string, string>, RegExp][] = [
      [{}, /PUSHSYNC_HEALTH_QUEUE_URL is not set: it is the URL of the SQS queue that runs "health"/],
      [{ PUSHSYNC_HEALTH_QUEUE_URL: 'pushsync-prod-health' }, /PUSHSYNC_HEALTH_QUEUE_URL="pushsync-prod-health" is not a URL/],
      [{ PUSHSYNC_HEALTH_QUEUE_URL: 'arn:aws:sqs:eu-west-1:1:q' }, /must be an http\(s\) URL/],
    ];
    for (const [env, message] of queue) {
      expect(() => readFunctionConfig(env, ['health'])).toThrow(expect.objectContaining({ code: 'AWS_ENV_INVALID', variable: 'PUSHSYNC_HEALTH_QUEUE_URL', message: expect.stringMatching(message) }));
    }
  });
});

describe('syncDepsFromEnv with the in-process fan-out (PUSHSYNC_INVOKER=in-process)', () => {
  it('runs health in-process too, and settle() drops delayed checks due after the function\'s cut-off instead of outliving it', async () => {
    const { deps, settle, setHostDeadline } = syncDepsFromEnv('apply', { PUSHSYNC_STORE: 'file', PUSHSYNC_HOME: 'pushsync-test-unused-home', PUSHSYNC_INVOKER: 'in-process', PUSHSYNC_LOG_LEVEL: 'error' });
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      // Accepted: 'health' has a handler here (no queue is needed in-process).
      await deps.invoker.invoke('health', { check: 2 }, { delayMs: 60_000 });
      // 20.3 s left: the delayed check (due in 60 s) would keep the function past its timeout.
      setHostDeadline(Date.now() + 20_300);
      const started = Date.now();
      await settle();
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      write.mockRestore();
    }
  });
});

/** What API Gateway (HTTP API, payload 2.0) hands the webhook function. */
function apiEvent(delivery: { method: string; headers: Record<string, string>; body: string }): ApiGatewayV2Event {
  return { version: '2.0', headers: delivery.headers, body: delivery.body, isBase64Encoded: false, requestContext: { http: { method: delivery.method }, requestId: 'api-req-1' } };
}

const newStore = (): AwsSecretStore => new AwsSecretStore({ prefix: ENV.PUSHSYNC_SECRET_PREFIX });

describe('the Lambda handlers, wired from the environment', () => {
  let github: GitHubServer;
  let fake: ReturnType<typeof fakeSecretsManager>;
  let lambda: AwsClientStub<LambdaClient>;
  let sqs: AwsClientStub<SQSClient>;
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
    sqs = mockClient(SQSClient);
    sqs.on(SendMessageCommand).resolves({ MessageId: 'msg-next' });
    // What the CLI does before a deploy: `pushsync clusters register … --store aws`, `secrets set …`.
    const store = newStore();
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
    sqs.restore();
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

  it('health: an SQS batch, each look run, the next one queued with its delay; a look that throws is the only batch item failure', async () => {
    // A cluster whose API server refuses connections: its look fails transiently, and is scheduled again.
    const unreachable = KUBECONFIG.replace('https://127.0.0.1:6443', 'https://127.0.0.1:1');
    await registerCluster(newStore(), { name: 'stuck', kubeconfig: unreachable, repo: 'acme/policy', branch: 'main', dir: '.' });
    vi.stubEnv('PUSHSYNC_HEALTH_INTERVAL', '7');
    const sha = await github.git.commit({ 'system/repo.yaml': REPO_YAML }, { message: 'rolling out' });
    const now = Date.now();
    const job = (cluster: string) => ({ deliveryId: 'd-h', owner: 'acme', name: 'policy', sha, cluster, rollout: 'r-1', startedAt: now, timeoutAt: now + 300_000, check: 9, applied: 'applied 1 (1 created)' });
    const rec = (messageId: string, body: string) => ({ messageId, receiptHandle: `rh-${messageId}`, body, attributes: { ApproximateReceiveCount: '1' }, eventSource: 'aws:sqs' });
    const health = (await import('../../functions/health.ts')).handler;
    const context = { awsRequestId: 'req-h', getRemainingTimeInMillis: () => 60_000 };

    const first = await health({ Records: [rec('m-gone', JSON.stringify(job('gone'))), rec('m-stuck', JSON.stringify(job('stuck'))), rec('m-junk', 'not json')] }, context);
    expect(first).toEqual({ batchItemFailures: [] });
    // The unregistered cluster's look concluded; the unreachable one's next look went to the queue, delayed by the interval.
    expect(github.latestStatuses(sha).get('pushsync/gone')?.state).toBe('failure');
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ QueueUrl: ENV.PUSHSYNC_HEALTH_QUEUE_URL, DelaySeconds: 7 });
    expect(JSON.parse(sent[0]?.MessageBody ?? '')).toMatchObject({ cluster: 'stuck', sha, rollout: 'r-1', check: 10 });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);

    // SQS down as well: the look can be neither made nor scheduled, so it returns to the queue.
    sqs.on(SendMessageCommand).rejects(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $fault: 'server' }));
    const second = await health({ Records: [rec('m-stuck-2', JSON.stringify(job('stuck'))), rec('m-gone-2', JSON.stringify(job('gone')))] }, context);
    expect(second).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-stuck-2' }] });
    expect(stdout.join('')).toContain('"function":"health"');
    expectNoSecrets(stdout.join('') + JSON.stringify(sent));
  }, 60_000);

  it('a function whose environment is incomplete fails its cold start naming the variable', async () => {
    vi.stubEnv('PUSHSYNC_APPLY_FUNCTION', '');
    const sync = (await import('../../functions/sync.ts')).handler;
    await expect(sync({} as never)).rejects.toMatchObject({ code: 'AWS_ENV_INVALID', variable: 'PUSHSYNC_APPLY_FUNCTION' });
    vi.stubEnv('PUSHSYNC_HEALTH_QUEUE_URL', '');
    const apply = (await import('../../functions/apply.ts')).handler;
    await expect(apply({} as never)).rejects.toMatchObject({ code: 'AWS_ENV_INVALID', variable: 'PUSHSYNC_HEALTH_QUEUE_URL' });
    const health = (await import('../../functions/health.ts')).handler;
    await expect(health({ Records: [] })).rejects.toMatchObject({ code: 'AWS_ENV_INVALID', variable: 'PUSHSYNC_HEALTH_QUEUE_URL' });
  });
});
