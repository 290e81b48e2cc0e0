import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectClient } from '../../lib/cluster/client.ts';
import { ApiError } from '../../lib/cluster/errors.ts';
import { KubeHttp, NetworkError } from '../../lib/cluster/http.ts';
import { backoffDelay, withRetry } from '../../lib/cluster/retry.ts';

// A real HTTP server that answers with scripted statuses: the HTTP boundary, nothing mocked inside.
let server: http.Server;
let url = '';
const script: { status: number; headers?: Record<string, string>; body?: unknown; delayMs?: number }[] = [];
let hits = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits++;
    const next = script.shift() ?? { status: 200, body: { kind: 'ConfigMap' } };
    setTimeout(() => {
      res.writeHead(next.status, { 'content-type': 'application/json', ...(next.headers ?? {}) });
      res.end(JSON.stringify(next.body ?? { kind: 'Status', reason: 'X', message: `status ${next.status}` }));
    }, next.delayMs ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const client = (timeoutMs = 2000): ObjectClient =>
  new ObjectClient(new KubeHttp({ server: url, agentOptions: {}, headers: async () => ({}), timeoutMs }), {
    retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 },
  });

describe('retries', () => {
  it('retries 503 and 429 and then succeeds, counting every request', async () => {
    hits = 0;
    script.push({ status: 503 }, { status: 429, headers: { 'retry-after': '0' } }, { status: 200, body: { ok: true } });
    const c = client();
    const res = await c.call('test', { method: 'GET', path: '/x' });
    expect(res.body).toEqual({ ok: true });
    expect(hits).toBe(3);
    expect(c.http.stats.total).toBe(3);
  });

  it('does not retry a permanent error and keeps the API message', async () => {
    hits = 0;
    script.push({ status: 422, body: { kind: 'Status', reason: 'Invalid', message: 'Service "s" is invalid: spec.ports[0].port: Invalid value: 0' } });
    const err = await client().call('Service ns/s', { method: 'PATCH', path: '/x', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(422);
    expect((err as ApiError).message).toBe('Service ns/s: Service "s" is invalid: spec.ports[0].port: Invalid value: 0');
    expect(hits).toBe(1);
  });

  it('gives up after the bounded number of attempts', async () => {
    hits = 0;
    script.push({ status: 500 }, { status: 502 }, { status: 503 }, { status: 504 }, { status: 200 });
    const err = await client().call('x', { method: 'GET', path: '/x' }).catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(504);
    expect(hits).toBe(4);
    script.length = 0;
  });

  it('turns a request that outlives its timeout into a retryable NetworkError', async () => {
    hits = 0;
    script.push({ status: 200, delayMs: 300 }, { status: 200, delayMs: 300 }, { status: 200, delayMs: 300 }, { status: 200, delayMs: 300 });
    const err = await client(50).call('x', { method: 'GET', path: '/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('ETIMEDOUT');
    expect(hits).toBe(4);
    await new Promise((r) => setTimeout(r, 400));
    script.length = 0;
  });

  it('stops waiting when the signal aborts', async () => {
    const ctl = new AbortController();
    const started = Date.now();
    const p = withRetry(
      async () => {
        throw new NetworkError('ECONNREFUSED', 'refused');
      },
      { attempts: 10, baseDelayMs: 10_000, maxDelayMs: 10_000, signal: ctl.signal, random: () => 1 },
    );
    setTimeout(() => ctl.abort(new Error('stop')), 20);
    await expect(p).rejects.toThrow('stop');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, scaled by jitter', () => {
    const o = { baseDelayMs: 100, maxDelayMs: 1000, random: () => 1 };
    expect([0, 1, 2, 3, 4, 5].map((i) => backoffDelay(i, o))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(3, { ...o, random: () => 0.5 })).toBe(400);
  });
});
