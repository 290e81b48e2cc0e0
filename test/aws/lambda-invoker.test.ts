/**
 * The Lambda Invoker at the SDK boundary (aws-sdk-client-mock): the InvokeCommand it sends,
 * payloads checked for secrets before anything leaves, errors as values; then over HTTP to a
 * local stand-in of the Lambda Invoke API (what `serverless offline` serves), reached through
 * AWS_ENDPOINT_URL_LAMBDA as a deployment would configure it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLambdaInvoker, FanoutError, LambdaInvokeError } from '../../lib/fanout/index.ts';
import { clearRegisteredSecrets, registerSecret } from '../../lib/log.ts';
import { awsException, captureLogs } from './support.ts';

const KUBE_TOKEN = 'kube-token-lambda-0123456789abcdef';
const JOB = { deliveryId: 'd-1', owner: 'acme', name: 'policy', sha: 'a'.repeat(40), cluster: 'prod', mode: 'apply' };

afterEach(() => clearRegisteredSecrets());

const decode = (payload: Uint8Array | undefined): unknown => JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString('utf8'));

describe('createLambdaInvoker', () => {
  let lambda: AwsClientStub<LambdaClient>;
  beforeEach(() => {
    lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolves({ StatusCode: 202, $metadata: { requestId: 'req-1' } });
  });
  afterEach(() => lambda.restore());

  it('sends an asynchronous (Event) invocation to the configured function with the JSON payload', async () => {
    const { logger, lines } = captureLogs();
    const invoker = createLambdaInvoker({ functions: { sync: 'pushsync-test-sync', apply: 'pushsync-test-apply' }, logger });
    await invoker.invoke('apply', JOB);
    await invoker.invoke('sync', { deliveryId: 'd-2', repo: 'acme/policy' });
    const calls = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => [c.FunctionName, c.InvocationType])).toEqual([
      ['pushsync-test-apply', 'Event'],
      ['pushsync-test-sync', 'Event'],
    ]);
    expect(decode(calls[0]?.Payload as Uint8Array)).toEqual(JOB);
    expect(decode(calls[1]?.Payload as Uint8Array)).toEqual({ deliveryId: 'd-2', repo: 'acme/policy' });
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ msg: 'invoked', function: 'apply', lambda: 'pushsync-test-apply', requestId: 'req-1' }));
  });

  it('refuses a payload carrying a secret, and sends nothing', async () => {
    const { logger, lines } = captureLogs();
    const invoker = createLambdaInvoker({ functions: { apply: 'pushsync-test-apply' }, logger });
    registerSecret(KUBE_TOKEN);
    await expect(invoker.invoke('apply', { ...JOB, note: `server says ${KUBE_TOKEN}` })).rejects.toMatchObject({ code: 'FANOUT_SECRET_IN_PAYLOAD' });
    await expect(invoker.invoke('apply', { ...JOB, kubeconfig: 'apiVersion: v1' })).rejects.toMatchObject({ code: 'FANOUT_SECRET_IN_PAYLOAD', message: expect.stringContaining('$.kubeconfig') });
    await expect(invoker.invoke('apply', { ...JOB, big: 'x'.repeat(300 * 1024) })).rejects.toMatchObject({ code: 'FANOUT_TOO_LARGE' });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(lines.join('\n')).not.toContain(KUBE_TOKEN);
  });

  it('refuses a function with no Lambda configured', async () => {
    const invoker = createLambdaInvoker({ functions: { sync: 'pushsync-test-sync' } });
    const err = await invoker.invoke('apply', JOB).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FanoutError);
    expect(err).toMatchObject({ code: 'FANOUT_UNKNOWN_FUNCTION', message: expect.stringContaining('"apply"') });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('reports what Lambda refused as LambdaInvokeError, retryable or not', async () => {
    const invoker = createLambdaInvoker({ functions: { apply: 'pushsync-test-apply' } });
    lambda
      .on(InvokeCommand)
      .rejectsOnce(awsException('ResourceNotFoundException', 'Function not found: arn:aws:lambda:eu-west-1:1:function:pushsync-test-apply'))
      .rejectsOnce(awsException('TooManyRequestsException', 'Rate exceeded'))
      .resolvesOnce({ StatusCode: 200 });
    const missing = await invoker.invoke('apply', JOB).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(LambdaInvokeError);
    expect(missing).toMatchObject({ code: 'FANOUT_LAMBDA_INVOKE_FAILED', retryable: false, functionName: 'pushsync-test-apply', message: expect.stringContaining('ResourceNotFoundException: Function not found') });

    await expect(invoker.invoke('apply', JOB)).rejects.toMatchObject({ retryable: true, message: expect.stringContaining('TooManyRequestsException') });

    await expect(invoker.invoke('apply', JOB)).rejects.toMatchObject({ retryable: true, message: expect.stringContaining('HTTP 200 instead of 202') });
  });
});

describe('createLambdaInvoker over HTTP (a local Lambda endpoint, as serverless offline serves)', () => {
  interface Seen {
    method: string;
    url: string;
    headers: IncomingHttpHeaders;
    body: string;
  }

  async function lambdaStandIn(): Promise<{ server: Server; url: string; seen: Seen[] }> {
    const seen: Seen[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        // The Invoke API's answer to InvocationType Event: 202, empty body.
        res.writeHead(202, { 'x-amzn-requestid': 'local-1' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  it('posts to /2015-03-31/functions/<name>/invocations with X-Amz-Invocation-Type: Event at AWS_ENDPOINT_URL_LAMBDA', async () => {
    const standIn = await lambdaStandIn();
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_LAMBDA: standIn.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    try {
      const invoker = createLambdaInvoker({ functions: { apply: 'pushsync-local-apply' } });
      await invoker.invoke('apply', JOB);
    } finally {
      for (const k of ['AWS_ENDPOINT_URL_LAMBDA', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      await new Promise<void>((resolve) => standIn.server.close(() => resolve()));
    }
    expect(standIn.seen).toHaveLength(1);
    const [req] = standIn.seen;
    expect(req).toMatchObject({ method: 'POST', url: '/2015-03-31/functions/pushsync-local-apply/invocations' });
    expect(req?.headers['x-amz-invocation-type']).toBe('Event');
    expect(JSON.parse(req?.body ?? '')).toEqual(JOB);
  });
});
