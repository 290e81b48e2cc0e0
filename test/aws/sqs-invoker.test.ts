/**
 * The SQS Invoker (health checks on AWS) at the SDK boundary (aws-sdk-client-mock): the
 * SendMessageCommand it sends, checked against SQS's contract (body characters and size,
 * DelaySeconds 0-900, a queue URL), payloads checked for secrets before anything leaves, errors
 * as values; then against moto's SQS, a real queue that holds a delayed message back; and the
 * router that sends each function to its backend (Lambda refusing a delay).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type SendMessageCommandInput } from '@aws-sdk/client-sqs';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLambdaInvoker, createSqsInvoker, delaySeconds, FanoutError, routeInvoker, SqsSendError, type FunctionName, type Invoker, type JsonValue } from '../../lib/fanout/index.ts';
import { clearRegisteredSecrets, registerSecret } from '../../lib/log.ts';
import { awsException, captureLogs, startMoto, type Moto } from './support.ts';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/pushsync-test-health';
const JOB = { deliveryId: 'd-1', owner: 'acme', name: 'policy', sha: 'a'.repeat(40), cluster: 'prod', rollout: 'r-1', startedAt: 1, timeoutAt: 2, check: 1, applied: 'applied 3' };

afterEach(() => clearRegisteredSecrets());

/**
 * SendMessage's contract (SQS API reference): a queue URL, a body of 1 byte to 256 KiB of the
 * allowed characters (#x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF), DelaySeconds
 * an integer 0-900. A request outside it would be refused by SQS: the stub refuses it too.
 */
function checkSendMessage(input: SendMessageCommandInput): void {
  expect(input.QueueUrl).toMatch(/^https?:\/\/.+\/\d+\/[\w-]+$/);
  const body = input.MessageBody ?? '';
  expect(Buffer.byteLength(body)).toBeGreaterThanOrEqual(1);
  expect(Buffer.byteLength(body)).toBeLessThanOrEqual(256 * 1024);
  expect(/^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u.test(body)).toBe(true);
  expect(Number.isInteger(input.DelaySeconds)).toBe(true);
  expect(input.DelaySeconds).toBeGreaterThanOrEqual(0);
  expect(input.DelaySeconds).toBeLessThanOrEqual(900);
}

describe('createSqsInvoker', () => {
  let sqs: AwsClientStub<SQSClient>;
  beforeEach(() => {
    sqs = mockClient(SQSClient);
    sqs.on(SendMessageCommand).callsFake((input: SendMessageCommandInput) => {
      checkSendMessage(input);
      return { MessageId: 'msg-1', MD5OfMessageBody: 'x' };
    });
  });
  afterEach(() => sqs.restore());

  const sent = (): SendMessageCommandInput[] => sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);

  it('sends the JSON payload to the function\'s queue, delayed by the whole seconds that cover delayMs', async () => {
    const { logger, lines } = captureLogs();
    const invoker = createSqsInvoker({ queues: { health: QUEUE }, logger });
    await invoker.invoke('health', JOB, { delayMs: 10_000 });
    await invoker.invoke('health', JOB, { delayMs: 1_500 });
    await invoker.invoke('health', JOB, { delayMs: 1 });
    await invoker.invoke('health', JOB);
    await invoker.invoke('health', JOB, { delayMs: 900_000 });
    expect(sent().map((m) => [m.QueueUrl, m.DelaySeconds])).toEqual([
      [QUEUE, 10],
      [QUEUE, 2],
      [QUEUE, 1],
      [QUEUE, 0],
      [QUEUE, 900],
    ]);
    for (const m of sent()) expect(JSON.parse(m.MessageBody ?? '')).toEqual(JOB);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ msg: 'queued', function: 'health', queue: QUEUE, delaySeconds: 10, messageId: 'msg-1' }));
  });

  it('rounds up, never down: a look is never due before its delay', () => {
    expect([0, 1, 999, 1000, 1001, 899_999, 900_000].map(delaySeconds)).toEqual([0, 1, 1, 1, 2, 900, 900]);
  });

  it('escapes the two characters SQS refuses in a body, which JSON.stringify leaves as they are; the function reads the same payload', async () => {
    const invoker = createSqsInvoker({ queues: { health: QUEUE } });
    const odd = { ...JOB, applied: 'a\uFFFEb\uFFFFc \u{1F680} \u0001' };
    await invoker.invoke('health', odd);
    const body = sent()[0]?.MessageBody ?? '';
    expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(JSON.parse(body)).toEqual(odd);
  });

  it('refuses a payload carrying a secret, a bad delay, and a function without a queue, sending nothing', async () => {
    const { logger, lines } = captureLogs();
    const invoker = createSqsInvoker({ queues: { health: QUEUE }, logger });
    registerSecret('ghs_health_token_0123456789abcdef');
    await expect(invoker.invoke('health', { ...JOB, note: 'ghs_health_token_0123456789abcdef' })).rejects.toMatchObject({ code: 'FANOUT_SECRET_IN_PAYLOAD' });
    await expect(invoker.invoke('health', { ...JOB, token: 'x' })).rejects.toMatchObject({ code: 'FANOUT_SECRET_IN_PAYLOAD', message: expect.stringContaining('$.token') });
    await expect(invoker.invoke('health', { ...JOB, big: 'x'.repeat(300 * 1024) })).rejects.toMatchObject({ code: 'FANOUT_TOO_LARGE' });
    for (const delayMs of [-1, 900_001, Number.NaN]) await expect(invoker.invoke('health', JOB, { delayMs })).rejects.toMatchObject({ code: 'FANOUT_BAD_DELAY' });
    const err = await invoker.invoke('apply', JOB).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FanoutError);
    expect(err).toMatchObject({ code: 'FANOUT_UNKNOWN_FUNCTION', message: expect.stringContaining('no SQS queue') });
    expect(sent()).toHaveLength(0);
    expect(lines.join('\n')).not.toContain('ghs_health_token_0123456789abcdef');
  });

  it('reports what SQS refused as SqsSendError: retryable when throttled or failing, not when the queue or the permission is missing', async () => {
    const invoker = createSqsInvoker({ queues: { health: QUEUE } });
    sqs
      .on(SendMessageCommand)
      .rejectsOnce(awsException('QueueDoesNotExist', 'The specified queue does not exist.'))
      .rejectsOnce(awsException('AccessDenied', 'not authorized to perform: sqs:SendMessage'))
      .rejectsOnce(awsException('KmsAccessDenied', 'KMS key access denied'))
      .rejectsOnce(awsException('RequestThrottled', 'Rate exceeded', 'throttling'))
      .rejectsOnce(awsException('InternalError', 'We encountered an internal error', 'server'))
      .rejectsOnce(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const outcomes: unknown[] = [];
    for (let i = 0; i < 6; i++) outcomes.push(await invoker.invoke('health', JOB).catch((e: unknown) => e));
    for (const e of outcomes) expect(e).toBeInstanceOf(SqsSendError);
    expect(outcomes.map((e) => (e as SqsSendError).retryable)).toEqual([false, false, false, true, true, true]);
    expect(outcomes[0]).toMatchObject({ code: 'FANOUT_SQS_SEND_FAILED', queueUrl: QUEUE, message: expect.stringContaining('QueueDoesNotExist: The specified queue does not exist.') });
    expect(outcomes[3]).toMatchObject({ message: expect.stringContaining('RequestThrottled') });
  });
});

describe('createLambdaInvoker and delays', () => {
  let lambda: AwsClientStub<LambdaClient>;
  beforeEach(() => {
    lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
  });
  afterEach(() => lambda.restore());

  it('refuses a delayed invocation (an Event invoke runs at once) and sends nothing; no delay, or 0, is sent', async () => {
    const invoker = createLambdaInvoker({ functions: { apply: 'pushsync-test-apply' } });
    await expect(invoker.invoke('apply', JOB, { delayMs: 1_000 })).rejects.toMatchObject({ code: 'FANOUT_DELAY_UNSUPPORTED', message: expect.stringContaining('SQS') });
    await expect(invoker.invoke('apply', JOB, { delayMs: -5 })).rejects.toMatchObject({ code: 'FANOUT_BAD_DELAY' });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    await invoker.invoke('apply', JOB, { delayMs: 0 });
    await invoker.invoke('apply', JOB);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
  });
});

describe('routeInvoker', () => {
  const recorder = (name: string, seen: [string, FunctionName, JsonValue, unknown][]): Invoker => ({
    invoke: async (fn, payload, options) => void seen.push([name, fn, payload, options]),
  });

  it('sends each function to its backend, with its payload and options', async () => {
    const seen: [string, FunctionName, JsonValue, unknown][] = [];
    const invoker = routeInvoker({ apply: recorder('lambda', seen), health: recorder('sqs', seen) });
    await invoker.invoke('apply', { a: 1 });
    await invoker.invoke('health', { h: 1 }, { delayMs: 2_000 });
    expect(seen).toEqual([
      ['lambda', 'apply', { a: 1 }, undefined],
      ['sqs', 'health', { h: 1 }, { delayMs: 2_000 }],
    ]);
  });

  it('refuses a function with no route (FANOUT_UNKNOWN_FUNCTION) and passes a backend\'s refusal on', async () => {
    const invoker = routeInvoker({ health: { invoke: () => Promise.reject(new SqsSendError('down', QUEUE, true)) } });
    const err = await invoker.invoke('sync', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FanoutError);
    expect(err).toMatchObject({ code: 'FANOUT_UNKNOWN_FUNCTION', message: expect.stringContaining('"sync"') });
    await expect(invoker.invoke('health', {})).rejects.toMatchObject({ code: 'FANOUT_SQS_SEND_FAILED', retryable: true });
  });
});

describe("createSqsInvoker against moto's SQS (a real queue)", () => {
  let moto: Moto;
  let client: SQSClient;
  beforeAll(async () => {
    moto = await startMoto();
    client = new SQSClient({ region: 'eu-west-1', endpoint: moto.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  }, 60_000);
  afterAll(async () => {
    client?.destroy();
    await moto?.close();
  });

  const receive = async (queueUrl: string): Promise<string[]> =>
    ((await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))).Messages ?? []).map((m) => m.Body ?? '');

  it('a message delayed 2 s is not received before its delay, and is received after it, with the payload as its body', async () => {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'pushsync-moto-health' }));
    const queueUrl = QueueUrl ?? '';
    const invoker = createSqsInvoker({ queues: { health: queueUrl }, client });
    const sentAt = Date.now();
    await invoker.invoke('health', JOB, { delayMs: 1_200 });
    await invoker.invoke('health', { ...JOB, check: 2 });
    // The undelayed one is there at once; the delayed one is not.
    expect((await receive(queueUrl)).map((b) => JSON.parse(b) as unknown)).toEqual([{ ...JOB, check: 2 }]);
    await new Promise((r) => setTimeout(r, 1_000));
    // 1.2 s rounds up to 2 s: still held back after 1 s.
    if (Date.now() - sentAt < 1_900) expect(await receive(queueUrl)).toEqual([]);
    let got: string[] = [];
    const until = Date.now() + 10_000;
    while (got.length === 0 && Date.now() < until) {
      got = await receive(queueUrl);
      if (got.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(2_000);
    expect(got.map((b) => JSON.parse(b) as unknown)).toEqual([JOB]);
  }, 30_000);

  it('sending to a queue that does not exist fails with a permanent SqsSendError', async () => {
    const invoker = createSqsInvoker({ queues: { health: `${moto.url}/123456789012/no-such-queue` }, client });
    const err = await invoker.invoke('health', JOB).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqsSendError);
    expect(err).toMatchObject({ retryable: false, message: expect.stringContaining('QueueDoesNotExist') });
  });
});
