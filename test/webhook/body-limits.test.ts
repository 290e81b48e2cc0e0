/** The pieces that bound what an unauthenticated request can cost: the byte budget, the held body, the log sampler. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createByteBudget } from '../../lib/http/budget.ts';
import { holdBody } from '../../lib/http/held-body.ts';
import { createLogSampler, SUPPRESSED_MSG } from '../../lib/http/log-sampler.ts';
import { createLogger } from '../../lib/log.ts';

describe('byte budget', () => {
  it('lets requests in while they fit, then first come first served as room frees up', async () => {
    const budget = createByteBudget({ maxBytes: 100, maxWaitMs: 1_000, maxWaiting: 10 });
    const a = await budget.reserve(60);
    expect(a.ok).toBe(true);
    const order: string[] = [];
    const big = budget.reserve(70).then((r) => (order.push('big'), r));
    // Small enough to fit now, but behind a waiting request: it does not overtake it.
    const small = budget.reserve(10).then((r) => (order.push('small'), r));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(budget.stats()).toEqual({ reserved: 60, waiting: 2, maxBytes: 100 });
    if (a.ok) a.release();
    const [b, s] = await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
    expect(budget.stats().reserved).toBe(80);
    if (b.ok) b.release();
    if (s.ok) {
      s.release();
      s.release();
    }
    expect(budget.stats().reserved).toBe(0);
  });

  it('refuses what never fits, what waits too long, and what finds the queue full', async () => {
    const budget = createByteBudget({ maxBytes: 100, maxWaitMs: 50, maxWaiting: 1 });
    expect(await budget.reserve(101)).toEqual({ ok: false, reason: 'too-large' });
    const held = await budget.reserve(100);
    const waiting = budget.reserve(1);
    expect(await budget.reserve(1)).toEqual({ ok: false, reason: 'queue-full' });
    expect(await waiting).toEqual({ ok: false, reason: 'timeout' });
    expect(budget.stats()).toEqual({ reserved: 100, waiting: 0, maxBytes: 100 });
    if (held.ok) held.release();
  });

  it('a large request that gives up lets the small ones behind it in', async () => {
    const budget = createByteBudget({ maxBytes: 100, maxWaitMs: 50, maxWaiting: 5 });
    const held = await budget.reserve(60);
    const big = budget.reserve(90);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const small = budget.reserve(30);
    expect((await big).ok).toBe(false);
    expect((await small).ok).toBe(true);
    if (held.ok) held.release();
  });
});

describe('held body', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pushsync-held-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000, i));
  const whole = Buffer.concat(chunks);

  it('keeps a small body in memory and gives it back whole and piece by piece', () => {
    const body = holdBody({ memoryBytes: 100_000, dir });
    for (const c of chunks) body.append(c);
    expect(body.size).toBe(40_000);
    expect(body.bytes().equals(whole)).toBe(true);
    expect(Buffer.concat([...body.pieces()]).equals(whole)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    body.release();
    expect(body.size).toBe(0);
  });

  it('moves a body past the memory limit to a file that is already unlinked, and reads it back exactly', () => {
    const body = holdBody({ memoryBytes: 10_000, dir });
    for (const c of chunks) body.append(c);
    expect(body.size).toBe(40_000);
    // Unlinked as soon as it was opened: nothing is left behind, whatever happens to the process.
    expect(readdirSync(dir)).toEqual([]);
    expect(body.bytes().equals(whole)).toBe(true);
    expect(Buffer.concat([...body.pieces()].map((p) => Buffer.from(p))).equals(whole)).toBe(true);
    body.release();
    body.release();
    expect(body.size).toBe(0);
  });
});

describe('log sampler', () => {
  it('writes the first N of a window, counts the rest, and writes the count when the window ends', () => {
    let clock = 0;
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const sampler = createLogSampler(logger, { perWindow: 3, windowMs: 1_000, now: () => clock, flushOnTimer: false });
    for (let i = 0; i < 10; i++) sampler.log('warn', logger, 'refused', { code: i % 2 === 0 ? 'A' : 'B' });
    expect(lines).toHaveLength(3);
    clock = 999;
    sampler.log('warn', logger, 'refused', { code: 'A' });
    expect(lines).toHaveLength(3);
    clock = 1_000;
    sampler.log('warn', logger, 'refused', { code: 'A' });
    expect(lines.slice(3).map((l) => l.msg)).toEqual([SUPPRESSED_MSG, 'refused']);
    expect(lines[3]).toMatchObject({ suppressed: 8, byCode: [{ code: 'B', count: 4 }, { code: 'A', count: 4 }], perWindow: 3, windowMs: 1_000 });
    // Nothing left out, nothing to say.
    sampler.flush();
    sampler.flush();
    expect(lines).toHaveLength(5);
  });

  it('writes the count on its own when the window ends, even if nothing else is refused', async () => {
    const lines: string[] = [];
    const logger = createLogger({ sink: (l) => lines.push(l) });
    const sampler = createLogSampler(logger, { perWindow: 1, windowMs: 50 });
    sampler.log('warn', logger, 'refused', { code: 'A' });
    sampler.log('warn', logger, 'refused', { code: 'A' });
    expect(lines).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ msg: SUPPRESSED_MSG, suppressed: 1 });
  });
});
