import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookHandler } from '../../lib/github/webhook.ts';
import type { PushJob } from '../../lib/github/webhook.ts';
import { fromLambdaEvent, lambdaHandler, toLambdaResult } from '../../lib/http/lambda.ts';
import type { ApiGatewayV2Event } from '../../lib/http/lambda.ts';
import { createByteBudget } from '../../lib/http/budget.ts';
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
    // The handler's own limit, counted as the body streams through it.
    expect(((await res.json()) as { code: string }).code).toBe('WEBHOOK_TOO_LARGE');
  });

  it('the server still answers after refusing a large body', async () => {
    const res = await post(delivery(branchPush()));
    expect(res.status).toBe(202);
  });
});

/** A POST whose body is never sent: only an answer made before reading the body can arrive. */
function headersOnly(url: string, headers: Record<string, string | undefined>, declared: number): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)), 'content-length': String(declared) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.flushHeaders();
    setTimeout(() => {
      req.destroy();
      reject(new Error('no answer within 3 s: the server is waiting for the body'));
    }, 3_000).unref();
  });
}

describe('node:http adapter: refusals before the body, and the bytes in flight', () => {
  let server: Server;
  let url: string;
  const state = pushHandler();

  beforeAll(async () => {
    server = createServer(nodeListener(state.handler, { budget: createByteBudget({ maxBytes: 100 * 1024, maxWaitMs: 300, maxWaiting: 1 }) }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const head = (headers: Record<string, string | undefined> = {}) => ({ ...delivery(branchPush()).headers, ...headers });

  it('answers on the headers alone, without reading the body, and closes the connection', async () => {
    const cases: [Record<string, string | undefined>, number, string][] = [
      [{ 'x-hub-signature-256': undefined }, 401, 'WEBHOOK_SIGNATURE_MISSING'],
      [{ 'x-hub-signature-256': 'sha256=abc' }, 401, 'WEBHOOK_SIGNATURE_MALFORMED'],
      [{ 'x-github-event': undefined }, 400, 'WEBHOOK_HEADER_MISSING'],
      [{ 'x-github-delivery': undefined }, 400, 'WEBHOOK_HEADER_MISSING'],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, 415, 'WEBHOOK_CONTENT_TYPE'],
    ];
    for (const [headers, status, code] of cases) {
      const res = await headersOnly(url, head(headers), 50 * 1024);
      expect({ status: res.status, code: res.body.code, connection: res.headers.connection }, JSON.stringify(headers)).toEqual({ status, code, connection: 'close' });
    }
    expect((await headersOnly(url, head(), 65 * 1024)).status).toBe(413);
  });

  it('beyond the bytes in flight: 503 with Retry-After, without reading; let in as soon as room frees up', async () => {
    // Over 50 KB of a 100 KB budget held by a delivery whose body has not all arrived yet.
    const slow = delivery({ ...branchPush(), padding: 'p'.repeat(50 * 1024) });
    const bytes = Buffer.from(slow.body as string);
    const held = httpRequest(url, { method: 'POST', headers: { ...(slow.headers as Record<string, string>), 'content-length': String(bytes.byteLength) } });
    const heldAnswer = new Promise<number>((resolve, reject) => {
      held.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      held.on('error', reject);
    });
    held.write(bytes.subarray(0, 1024));
    await new Promise((resolve) => setTimeout(resolve, 100));

    // Another 60 KB does not fit: it waits (300 ms here), then is refused unread.
    const refused = await headersOnly(url, head(), 60 * 1024);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('10');
    expect(refused.body).toMatchObject({ code: 'HTTP_BUSY' });

    // One that waits while the first finishes gets in.
    const signed = delivery({ ...branchPush(), padding: 'q'.repeat(50 * 1024) });
    const queued = fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body: signed.body as string });
    await new Promise((resolve) => setTimeout(resolve, 50));
    held.end(bytes.subarray(1024));
    expect(await heldAnswer).toBe(202);
    expect((await queued).status).toBe(202);
  });
});

describe('node:http adapter: a sender that goes away mid-body', () => {
  it('gives its bytes back to the budget', async () => {
    const state = pushHandler();
    const server = createServer(nodeListener(state.handler, { budget: createByteBudget({ maxBytes: 100 * 1024, maxWaitMs: 300, maxWaiting: 4 }) }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
    try {
      for (let i = 0; i < 3; i++) {
        const gone = httpRequest(url, { method: 'POST', headers: { ...(delivery(branchPush()).headers as Record<string, string>), 'content-length': String(60 * 1024) } });
        gone.on('error', () => undefined);
        gone.write(Buffer.alloc(1024, 'x'));
        await new Promise((resolve) => setTimeout(resolve, 50));
        gone.destroy();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // 60 KB would not fit beside a single leaked reservation.
      const signed = delivery({ ...branchPush(), padding: 'q'.repeat(55 * 1024) });
      const res = await fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body: signed.body as string });
      expect(res.status).toBe(202);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('node:http adapter: a sender that goes away while it waits for room', () => {
  it('is dropped when its turn comes, and its bytes are not held', async () => {
    const state = pushHandler();
    const server = createServer(nodeListener(state.handler, { budget: createByteBudget({ maxBytes: 100 * 1024, maxWaitMs: 1_000, maxWaiting: 4 }) }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
    const post = (padding: number) => {
      const d = delivery({ ...branchPush(), padding: 'p'.repeat(padding) });
      return fetch(url, { method: 'POST', headers: d.headers as Record<string, string>, body: d.body as string });
    };
    try {
      const first = delivery({ ...branchPush(), padding: 'a'.repeat(50 * 1024) });
      const bytes = Buffer.from(first.body as string);
      const held = httpRequest(url, { method: 'POST', headers: { ...(first.headers as Record<string, string>), 'content-length': String(bytes.byteLength) } });
      const heldStatus = new Promise<number>((resolve) => held.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0))));
      held.write(bytes.subarray(0, 1024));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const waiter = httpRequest(url, { method: 'POST', headers: { ...(delivery(branchPush()).headers as Record<string, string>), 'content-length': String(60 * 1024) } });
      waiter.on('error', () => undefined);
      waiter.flushHeaders();
      await new Promise((resolve) => setTimeout(resolve, 50));
      waiter.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      held.end(bytes.subarray(1024));
      expect(await heldStatus).toBe(202);
      // Had the one that left been let in and waited on, this would find no room.
      expect((await post(55 * 1024)).status).toBe(202);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('Lambda adapter: the same head checks, before the body is hashed', () => {
  it('an event without X-GitHub-Event and a well-formed but wrong signature is 400 from the head, not 401 from the body', async () => {
    const { handler, jobs } = pushHandler();
    const request = delivery(branchPush(), { secret: 'forged', headers: { 'x-github-event': undefined } });
    const result = await lambdaHandler(handler)(apiGatewayEvent(request, true));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toMatchObject({ code: 'WEBHOOK_HEADER_MISSING' });
    expect(jobs).toHaveLength(0);
  });

  it('a body over the limit is 413 whatever Content-Length the event claims', async () => {
    const { handler } = pushHandler();
    const request = delivery({ ...branchPush(), padding: 'x'.repeat(70 * 1024) }, { headers: { 'content-length': '10' } });
    expect((await lambdaHandler(handler)(apiGatewayEvent(request, false))).statusCode).toBe(413);
  });
});
