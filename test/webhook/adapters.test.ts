import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookHandler } from '../../lib/github/webhook.ts';
import type { PushJob } from '../../lib/github/webhook.ts';
import { fromLambdaEvent, lambdaHandler, toLambdaResult } from '../../lib/http/lambda.ts';
import type { ApiGatewayV2Event } from '../../lib/http/lambda.ts';
import { nodeListener } from '../../lib/http/node.ts';
import type { HttpRequest } from '../../lib/http/types.ts';
import { createLogger } from '../../lib/log.ts';
import { branchPush, delivery, SECRET } from './support.ts';

/** An API Gateway HTTP API (payload 2.0) event for a request, the way API Gateway builds it. */
function apiGatewayEvent(request: HttpRequest, base64: boolean): ApiGatewayV2Event {
  const bytes = typeof request.body === 'string' ? Buffer.from(request.body) : Buffer.from(request.body);
  const event = {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    headers: Object.fromEntries(Object.entries(request.headers).filter(([, v]) => v !== undefined)) as Record<string, string>,
    requestContext: { http: { method: request.method, path: '/webhook', protocol: 'HTTP/1.1', sourceIp: '140.82.115.1', userAgent: 'GitHub-Hookshot/1' }, requestId: 'req-1', stage: '$default' },
    body: base64 ? bytes.toString('base64') : bytes.toString('utf8'),
    isBase64Encoded: base64,
  };
  return event;
}

function pushHandler() {
  const jobs: PushJob[] = [];
  const handler = createWebhookHandler({ secrets: [SECRET], enqueue: async (job) => void jobs.push(job), maxBodyBytes: 64 * 1024 });
  return { handler, jobs };
}

describe('Lambda adapter (API Gateway HTTP API, payload 2.0)', () => {
  it('decodes a base64 body to the exact bytes that were signed', async () => {
    const { handler, jobs } = pushHandler();
    const payload = branchPush();
    (payload.head_commit as Record<string, unknown>).message = 'Ünïcödé ✓';
    const lambda = lambdaHandler(handler);
    const result = await lambda(apiGatewayEvent(delivery(payload), true));
    expect(result.statusCode).toBe(202);
    expect(result.isBase64Encoded).toBe(false);
    expect(result.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(result.body)).toMatchObject({ ok: true, commit: payload.after });
    expect(jobs).toHaveLength(1);
  });

  it('passes a plain-text body through', async () => {
    const { handler, jobs } = pushHandler();
    const result = await lambdaHandler(handler)(apiGatewayEvent(delivery(branchPush()), false));
    expect(result.statusCode).toBe(202);
    expect(jobs).toHaveLength(1);
  });

  it('lower-cases header names and joins repeated ones', () => {
    const request = fromLambdaEvent({ requestContext: { http: { method: 'POST' } }, headers: { 'X-GitHub-Event': 'push', 'x-github-event': 'ping', 'Content-Type': 'application/json' }, body: '{}' });
    expect(request.headers['x-github-event']).toBe('push, ping');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.body).toBe('{}');
  });

  it('a tampered base64 body fails the signature', async () => {
    const { handler, jobs } = pushHandler();
    const event = apiGatewayEvent(delivery(branchPush()), true);
    const bytes = Buffer.from(event.body ?? '', 'base64');
    bytes[10] = (bytes[10] ?? 0) ^ 1;
    const result = await lambdaHandler(handler)({ ...event, body: bytes.toString('base64') });
    expect(result.statusCode).toBe(401);
    expect(jobs).toHaveLength(0);
  });

  it('an event that is not payload 2.0 is a logged 500 that says how to route it', async () => {
    const lines: string[] = [];
    const { handler } = pushHandler();
    const lambda = lambdaHandler(handler, createLogger({ sink: (l) => lines.push(l) }));
    const result = await lambda({ httpMethod: 'POST', body: '{}' } as unknown as ApiGatewayV2Event);
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body).message).toMatch(/payload format 2\.0/);
    expect(lines.join('\n')).toContain('HTTP_NOT_API_GATEWAY_V2');
  });

  it('a handler that throws becomes a 500 without internals', async () => {
    const lambda = lambdaHandler(async () => {
      throw new Error('secret internals');
    });
    const result = await lambda(apiGatewayEvent(delivery('{}'), false));
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('secret internals');
  });

  it('maps the response back', () => {
    expect(toLambdaResult({ status: 405, headers: { allow: 'POST' }, body: '{}' })).toEqual({ statusCode: 405, headers: { allow: 'POST' }, body: '{}', isBase64Encoded: false });
  });
});

describe('node:http adapter (a real server on 127.0.0.1)', () => {
  let server: Server;
  let url: string;
  const state = pushHandler();

  beforeAll(async () => {
    server = createServer(nodeListener(state.handler, { maxBodyBytes: 64 * 1024 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const post = (request: HttpRequest, init: RequestInit = {}) =>
    fetch(url, { method: request.method, headers: request.headers as Record<string, string>, body: request.method === 'GET' ? null : (request.body as string), ...init });

  it('a signed push over HTTP is 202 and enqueued', async () => {
    const before = state.jobs.length;
    const payload = branchPush();
    const res = await post(delivery(payload, { deliveryId: 'http-1' }));
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ ok: true, deliveryId: 'http-1' });
    expect(state.jobs.slice(before).map((j) => j.deliveryId)).toEqual(['http-1']);
  });

  it('a bad signature over HTTP is 401', async () => {
    const before = state.jobs.length;
    const res = await post(delivery(branchPush(), { secret: 'wrong' }));
    expect(res.status).toBe(401);
    expect(state.jobs.length).toBe(before);
  });

  it('GET is 405', async () => {
    const res = await fetch(url);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('a body over the limit with a Content-Length is refused with 413', async () => {
    const request = delivery('x'.repeat(200 * 1024));
    const res = await post(request);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toMatch(/65536-byte limit/);
  });

  it('an endless streamed (chunked) body is cut off with 413 at the limit', async () => {
    const chunk = new TextEncoder().encode('y'.repeat(16 * 1024));
    // Never ends: a 413 can only come back if the server stopped reading at the limit.
    const stream = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(chunk),
    });
    const request = delivery('{}');
    const res = await fetch(url, { method: 'POST', headers: request.headers as Record<string, string>, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(((await res.json()) as { code: string }).code).toBe('HTTP_TOO_LARGE');
  });

  it('the server still answers after refusing a large body', async () => {
    const res = await post(delivery(branchPush()));
    expect(res.status).toBe(202);
  });
});
