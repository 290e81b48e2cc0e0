import { afterEach, describe, expect, it } from 'vitest';
import { checkPayload, createInProcessInvoker, FanoutError } from '../../lib/fanout/index.ts';
import type { DeadLetter, JsonValue } from '../../lib/fanout/index.ts';
import { clearRegisteredSecrets, createLogger, registerSecret } from '../../lib/log.ts';

afterEach(() => clearRegisteredSecrets());

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('in-process invoker', () => {
  it('invoke resolves once queued, before the handler has run', async () => {
    const ran: JsonValue[] = [];
    const invoker = createInProcessInvoker({
      handlers: {
        apply: async (payload) => {
          await sleep(20);
          ran.push(payload);
        },
      },
    });
    await invoker.invoke('apply', { cluster: 'a' });
    expect(ran).toEqual([]);
    await invoker.idle();
    expect(ran).toEqual([{ cluster: 'a' }]);
  });

  it('never runs more handlers at once than the concurrency bound', async () => {
    let running = 0;
    let peak = 0;
    const invoker = createInProcessInvoker({
      concurrency: 3,
      handlers: {
        apply: async () => {
          running++;
          peak = Math.max(peak, running);
          await sleep(10);
          running--;
        },
      },
    });
    await Promise.all(Array.from({ length: 12 }, (_, i) => invoker.invoke('apply', { i })));
    await invoker.idle();
    expect(peak).toBe(3);
    expect(invoker.stats()).toMatchObject({ invoked: 12, succeeded: 12, maxRunning: 3, running: 0, queued: 0 });
  });

  it('the default bound is 4', async () => {
    const invoker = createInProcessInvoker({ handlers: { apply: () => sleep(5) } });
    await Promise.all(Array.from({ length: 10 }, () => invoker.invoke('apply', {})));
    await invoker.idle();
    expect(invoker.stats().maxRunning).toBe(4);
  });

  it('the handler gets a JSON copy: later changes by the caller do not leak in', async () => {
    const seen: JsonValue[] = [];
    const invoker = createInProcessInvoker({ handlers: { sync: async (p) => void seen.push(p) } });
    const payload = { list: [1], at: new Date('2026-01-01T00:00:00Z') as unknown as JsonValue };
    await invoker.invoke('sync', payload);
    payload.list.push(2);
    await invoker.idle();
    expect(seen).toEqual([{ list: [1], at: '2026-01-01T00:00:00.000Z' }]);
  });

  it('retries a failing handler twice with backoff, then succeeds', async () => {
    const attempts: { attempt: number; at: number }[] = [];
    const start = Date.now();
    const invoker = createInProcessInvoker({
      retryDelaysMs: [30, 60],
      handlers: {
        apply: async (_p, ctx) => {
          attempts.push({ attempt: ctx.attempt, at: Date.now() - start });
          if (ctx.attempt < 2) throw new Error('API server 503');
        },
      },
    });
    await invoker.invoke('apply', { cluster: 'x' });
    await invoker.idle();
    expect(attempts.map((a) => a.attempt)).toEqual([0, 1, 2]);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(25);
    expect((attempts[2]?.at ?? 0) - (attempts[1]?.at ?? 0)).toBeGreaterThanOrEqual(55);
    expect(invoker.stats()).toMatchObject({ succeeded: 1, retried: 2, deadLettered: 0 });
  });

  it('after the last retry the failure is logged and dead-lettered; the invocation id is stable', async () => {
    const lines: string[] = [];
    const dead: DeadLetter[] = [];
    const ids = new Set<string>();
    const invoker = createInProcessInvoker({
      retryDelaysMs: [1, 1],
      logger: createLogger({ sink: (l) => lines.push(l) }),
      onDeadLetter: (d) => dead.push(d),
      handlers: {
        apply: async (_p, ctx) => {
          ids.add(ctx.invocationId);
          throw Object.assign(new Error('still down'), { code: 'KNV2016' });
        },
      },
    });
    await invoker.invoke('apply', { cluster: 'x' });
    await invoker.idle();
    expect(ids.size).toBe(1);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ functionName: 'apply', attempts: 3, payload: { cluster: 'x' } });
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((l) => l.level)).toEqual(['warn', 'warn', 'error']);
    expect(parsed[2]).toMatchObject({ msg: 'invocation failed; no retries left', function: 'apply', attempt: 2, error: { message: 'still down', code: 'KNV2016' } });
  });

  it('an error marked retryable: false is dead-lettered at once, never retried', async () => {
    const dead: DeadLetter[] = [];
    let attempts = 0;
    const invoker = createInProcessInvoker({
      retryDelaysMs: [1, 1],
      onDeadLetter: (d) => dead.push(d),
      handlers: {
        apply: async () => {
          attempts++;
          throw Object.assign(new Error('apply payload is malformed'), { code: 'SYNC_BAD_PAYLOAD', retryable: false });
        },
      },
    });
    await invoker.invoke('apply', { cluster: 'x' });
    await invoker.idle();
    expect(attempts).toBe(1);
    expect(dead).toEqual([expect.objectContaining({ attempts: 1, error: expect.objectContaining({ code: 'SYNC_BAD_PAYLOAD' }) })]);
    expect(invoker.stats()).toMatchObject({ retried: 0, deadLettered: 1 });
  });

  it('each attempt gets a deadline jobTimeoutMs after it starts (default 10 min)', async () => {
    const seen: number[] = [];
    const started: number[] = [];
    const handler = async (_p: JsonValue, ctx: { deadline: number }) => {
      started.push(Date.now());
      seen.push(ctx.deadline);
    };
    const custom = createInProcessInvoker({ jobTimeoutMs: 5_000, handlers: { apply: handler } });
    await custom.invoke('apply', {});
    await custom.idle();
    const byDefault = createInProcessInvoker({ handlers: { apply: handler } });
    await byDefault.invoke('apply', {});
    await byDefault.idle();
    expect((seen[0] ?? 0) - (started[0] ?? 0)).toBeGreaterThanOrEqual(4_990);
    expect((seen[0] ?? 0) - (started[0] ?? 0)).toBeLessThanOrEqual(5_010);
    expect((seen[1] ?? 0) - (started[1] ?? 0)).toBeGreaterThanOrEqual(600_000 - 10);
    expect(() => createInProcessInvoker({ jobTimeoutMs: 0 })).toThrow(RangeError);
  });

  it('never gives an attempt a deadline past its host\'s (a Lambda running its jobs in-process)', async () => {
    const seen: number[] = [];
    let host: number | undefined = Date.now() + 1_000;
    const invoker = createInProcessInvoker({ hostDeadline: () => host, handlers: { apply: async (_p, ctx) => void seen.push(ctx.deadline) } });
    await invoker.invoke('apply', {});
    await invoker.idle();
    host = undefined;
    await invoker.invoke('apply', {});
    await invoker.idle();
    expect(seen[0]).toBeLessThanOrEqual(Date.now() + 1_000);
    expect((seen[1] ?? 0) - Date.now()).toBeGreaterThan(500_000);
  });

  it('a retry waiting for its backoff does not hold a slot', async () => {
    const order: string[] = [];
    const invoker = createInProcessInvoker({
      concurrency: 1,
      retryDelaysMs: [40],
      handlers: {
        apply: async (p, ctx) => {
          order.push(`${String((p as { n: number }).n)}#${ctx.attempt}`);
          if ((p as { n: number }).n === 1 && ctx.attempt === 0) throw new Error('transient');
        },
      },
    });
    await invoker.invoke('apply', { n: 1 });
    await invoker.invoke('apply', { n: 2 });
    await invoker.idle();
    expect(order).toEqual(['1#0', '2#0', '1#1']);
  });

  it('idle() resolves at once when nothing was invoked, and waits for retries', async () => {
    const invoker = createInProcessInvoker({ retryDelaysMs: [30], handlers: {} });
    await invoker.idle();
    let calls = 0;
    invoker.register('sync', async () => {
      calls++;
      if (calls === 1) throw new Error('once');
    });
    await invoker.invoke('sync', {});
    await invoker.idle();
    expect(calls).toBe(2);
  });

  it('invoking a function with no handler is refused at once', async () => {
    const invoker = createInProcessInvoker();
    await expect(invoker.invoke('apply', {})).rejects.toMatchObject({ code: 'FANOUT_UNKNOWN_FUNCTION' });
  });

  it('a payload carrying a secret is refused before anything runs', async () => {
    let ran = false;
    const invoker = createInProcessInvoker({ handlers: { apply: async () => void (ran = true) } });
    await expect(invoker.invoke('apply', { cluster: 'a', kubeconfig: 'apiVersion: v1' })).rejects.toMatchObject({ code: 'FANOUT_SECRET_IN_PAYLOAD' });
    await invoker.idle();
    expect(ran).toBe(false);
    expect(invoker.stats().invoked).toBe(0);
  });
});

describe('in-process invoker: delayed invocations', () => {
  it('queues each delayed invocation when its delay is over, in the order they fall due, holding no slot meanwhile', async () => {
    const ran: { n: number; at: number }[] = [];
    const start = Date.now();
    const invoker = createInProcessInvoker({ concurrency: 1, handlers: { health: async (p) => void ran.push({ n: (p as { n: number }).n, at: Date.now() - start }) } });
    await invoker.invoke('health', { n: 1 }, { delayMs: 80 });
    await invoker.invoke('health', { n: 2 }, { delayMs: 20 });
    // Not delayed: runs at once, though the single slot's other invocations were invoked first.
    await invoker.invoke('health', { n: 3 });
    expect(invoker.stats()).toMatchObject({ invoked: 3, delayed: 2, scheduled: 2 });
    await invoker.idle();
    expect(ran.map((r) => r.n)).toEqual([3, 2, 1]);
    expect(ran[1]?.at).toBeGreaterThanOrEqual(19);
    expect(ran[2]?.at).toBeGreaterThanOrEqual(79);
    expect(invoker.stats()).toMatchObject({ delayed: 0, scheduled: 2, succeeded: 3 });
  });

  it('idle() waits for a delayed invocation, and for the one it schedules in turn (a health check scheduling the next)', async () => {
    const checks: number[] = [];
    const invoker = createInProcessInvoker();
    invoker.register('health', async (p) => {
      const check = (p as { check: number }).check;
      checks.push(check);
      if (check < 3) await invoker.invoke('health', { check: check + 1 }, { delayMs: 15 });
    });
    await invoker.invoke('health', { check: 1 }, { delayMs: 15 });
    let idle = false;
    const waiting = invoker.idle().then(() => (idle = true));
    await sleep(5);
    expect(idle).toBe(false);
    await waiting;
    expect(checks).toEqual([1, 2, 3]);
    expect(invoker.stats()).toMatchObject({ scheduled: 3, delayed: 0, running: 0 });
  });

  it('cancelDelayed() drops the pending ones, says how many, and lets idle() resolve; they never run', async () => {
    const ran: JsonValue[] = [];
    const invoker = createInProcessInvoker({ handlers: { health: async (p) => void ran.push(p) } });
    await invoker.invoke('health', { n: 1 }, { delayMs: 60_000 });
    await invoker.invoke('health', { n: 2 }, { delayMs: 900_000 });
    await invoker.invoke('health', { n: 3 }, { delayMs: 0 });
    const idle = invoker.idle();
    expect(invoker.stats().delayed).toBe(2);
    expect(invoker.cancelDelayed()).toBe(2);
    await idle;
    expect(ran).toEqual([{ n: 3 }]);
    expect(invoker.stats()).toMatchObject({ delayed: 0, scheduled: 2, invoked: 3, succeeded: 1 });
    expect(invoker.cancelDelayed()).toBe(0);
  });

  it('a delay of 0 (or none) is no delay; a delayed invocation keeps the retries of any other', async () => {
    let attempts = 0;
    const invoker = createInProcessInvoker({
      retryDelaysMs: [5],
      handlers: {
        health: async () => {
          attempts++;
          if (attempts === 1) throw new Error('cluster briefly away');
        },
      },
    });
    await invoker.invoke('health', {}, { delayMs: 0 });
    const now = invoker.stats();
    expect(now).toMatchObject({ delayed: 0, scheduled: 0 });
    expect(now.queued + now.running).toBe(1);
    await invoker.idle();
    await invoker.invoke('health', {}, { delayMs: 10 });
    await invoker.idle();
    expect(attempts).toBe(3);
    expect(invoker.stats()).toMatchObject({ scheduled: 1, retried: 1, succeeded: 2 });
  });

  it.each([[-1], [900_001], [Number.NaN], [Number.POSITIVE_INFINITY], ['5' as unknown as number]])('refuses delayMs %s with FANOUT_BAD_DELAY, scheduling nothing', async (delayMs) => {
    const invoker = createInProcessInvoker({ handlers: { health: async () => undefined } });
    const err = await invoker.invoke('health', {}, { delayMs }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FanoutError);
    expect(err).toMatchObject({ code: 'FANOUT_BAD_DELAY', message: expect.stringContaining('0 to 900000') });
    expect(invoker.stats()).toMatchObject({ invoked: 0, delayed: 0, scheduled: 0 });
  });

  it('checks the function and the payload when invoked, not when the delay is over', async () => {
    const invoker = createInProcessInvoker({ handlers: { health: async () => undefined } });
    await expect(invoker.invoke('apply', {}, { delayMs: 10 })).rejects.toMatchObject({ code: 'FANOUT_UNKNOWN_FUNCTION' });
    await expect(invoker.invoke('health', { kubeconfig: 'apiVersion: v1' }, { delayMs: 10 })).rejects.toMatchObject({ code: 'FANOUT_SECRET_IN_PAYLOAD' });
    expect(invoker.stats()).toMatchObject({ delayed: 0, scheduled: 0 });
  });

  it('the payload is copied when invoked: changes made during the delay do not reach the handler', async () => {
    const seen: JsonValue[] = [];
    const invoker = createInProcessInvoker({ handlers: { health: async (p) => void seen.push(p) } });
    const payload = { check: 1 };
    await invoker.invoke('health', payload, { delayMs: 10 });
    payload.check = 2;
    await invoker.idle();
    expect(seen).toEqual([{ check: 1 }]);
  });
});

describe('checkPayload', () => {
  it.each([
    [{ kubeconfig: 'x' }, '$.kubeconfig'],
    [{ auth: { token: 'x' } }, '$.auth.token'],
    [{ app: { privateKey: 'x' } }, '$.app.privateKey'],
    [{ clusters: [{ name: 'a' }, { name: 'b', password: 'x' }] }, '$.clusters[1].password'],
    [{ headers: { Authorization: 'Bearer x' } }, '$.headers.Authorization'],
    [{ webhookSecret: 'x' }, '$.webhookSecret'],
  ])('refuses credential keys: %j', (payload, at) => {
    expect(() => checkPayload(payload)).toThrow(FanoutError);
    expect(() => checkPayload(payload)).toThrow(at);
  });

  it('refuses a registered secret value under any key', () => {
    registerSecret('ghs_installation_token_0123456789');
    expect(() => checkPayload({ note: 'x ghs_installation_token_0123456789 y' })).toThrow(/\$\.note holds a registered secret value/);
  });

  it('refuses what is not JSON-serialisable, and oversized payloads', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => checkPayload(cyclic)).toThrow(expect.objectContaining({ code: 'FANOUT_NOT_SERIALISABLE' }));
    expect(() => checkPayload({ n: 1n })).toThrow(expect.objectContaining({ code: 'FANOUT_NOT_SERIALISABLE' }));
    expect(() => checkPayload(undefined)).toThrow(expect.objectContaining({ code: 'FANOUT_NOT_SERIALISABLE' }));
    expect(() => checkPayload({ blob: 'x'.repeat(300 * 1024) })).toThrow(expect.objectContaining({ code: 'FANOUT_TOO_LARGE' }));
  });

  it('passes a push job through unchanged', () => {
    const job = {
      deliveryId: 'd',
      repo: 'acme/policy',
      owner: 'acme',
      name: 'policy',
      ref: 'refs/heads/main',
      branch: 'main',
      after: 'a'.repeat(40),
      before: 'b'.repeat(40),
      installationId: 7,
      defaultBranch: 'main',
      pushedAt: '2026-01-01T00:00:00.000Z',
    };
    expect(checkPayload(job)).toEqual(job);
  });

  it('drops what JSON drops (functions, undefined)', () => {
    expect(checkPayload({ a: 1, f: () => 1, u: undefined })).toEqual({ a: 1 });
  });
});
