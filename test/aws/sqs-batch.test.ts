/**
 * The SQS event as the health function gets it (parseSqsEvent, batchResponse) and the batch
 * runner: records one after another, a thrown one in batchItemFailures, a body that is not JSON
 * dropped, and the batch's time budget (a record left without time is sent again, not failed).
 */
import { describe, expect, it } from 'vitest';
import { batchResponse, parseSqsEvent, runSqsBatch, SQS_BATCH_DEFAULTS, SqsEventError } from '../../lib/aws/index.ts';
import type { InvocationContext, JsonValue } from '../../lib/fanout/index.ts';
import { captureLogs } from './support.ts';

/** A record as Lambda's SQS event source mapping delivers it (the fields pushsync does not read included). */
const record = (messageId: string, body: string, receiveCount = '1') => ({
  messageId,
  receiptHandle: `AQEB${messageId}`,
  body,
  attributes: { ApproximateReceiveCount: receiveCount, SentTimestamp: '1700000000000', SenderId: 'AROA', ApproximateFirstReceiveTimestamp: '1700000000001' },
  messageAttributes: {},
  md5OfBody: '0',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:pushsync-test-health',
  awsRegion: 'eu-west-1',
});

describe('parseSqsEvent and batchResponse', () => {
  it('gives each record\'s payload in order, its attempt from the receive count, and marks a body that is not JSON', () => {
    const messages = parseSqsEvent({ Records: [record('m1', '{"check":1}'), record('m2', '[1,2]', '3'), record('m3', 'not json'), record('m4', '"x"', 'junk')] });
    expect(messages).toEqual([
      { kind: 'payload', messageId: 'm1', payload: { check: 1 }, attempt: 0 },
      { kind: 'payload', messageId: 'm2', payload: [1, 2], attempt: 2 },
      { kind: 'malformed', messageId: 'm3', bytes: 8, reason: expect.stringContaining('JSON') },
      { kind: 'payload', messageId: 'm4', payload: 'x', attempt: 0 },
    ]);
    expect(parseSqsEvent({ Records: [] })).toEqual([]);
  });

  it('refuses what is no SQS event (SqsEventError, AWS_SQS_EVENT_INVALID)', () => {
    for (const event of [undefined, null, {}, { Records: 'x' }, { Records: [{ body: '{}' }] }, { Records: [{ messageId: '', body: '{}' }] }, { Records: [{ messageId: 'm', body: 1 }] }]) {
      let err: unknown;
      try {
        parseSqsEvent(event);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(event)).toBeInstanceOf(SqsEventError);
      expect(err).toMatchObject({ code: 'AWS_SQS_EVENT_INVALID' });
    }
  });

  it('builds the partial batch response Lambda reads', () => {
    expect(batchResponse([])).toEqual({ batchItemFailures: [] });
    expect(batchResponse(['a', 'b'])).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }, { itemIdentifier: 'b' }] });
  });
});

describe('runSqsBatch', () => {
  const lambda = (remainingMs: number) => ({ awsRequestId: 'req-1', getRemainingTimeInMillis: () => remainingMs });

  it('runs the records one after another and returns exactly the ones whose handler threw', async () => {
    const { logger, lines } = captureLogs();
    const order: string[] = [];
    let running = 0;
    const handler = async (payload: JsonValue): Promise<unknown> => {
      running++;
      expect(running).toBe(1);
      const { n } = payload as { n: string };
      order.push(n);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (n === 'bad') throw Object.assign(new Error('cluster unreachable'), { code: 'CLUSTER_UNREACHABLE', retryable: true });
      return { kind: 'waiting' };
    };
    const event = { Records: [record('m1', '{"n":"a"}'), record('m2', '{"n":"bad"}', '2'), record('m3', '{"n":"b"'), record('m4', '{"n":"c"}')] };
    const out = await runSqsBatch(event, { functionName: 'health', handler, lambda: lambda(60_000), logger });
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
    expect(order).toEqual(['a', 'bad', 'c']);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'error', msg: 'message body is not JSON: dropped, not retried', messageId: 'm3', bytes: 8 }));
    expect(logged).toContainEqual(expect.objectContaining({ level: 'warn', messageId: 'm2', attempt: 1, error: expect.objectContaining({ code: 'CLUSTER_UNREACHABLE' }) }));
    // The malformed body's content is not logged: it is not ours, and could be anything.
    expect(lines.join('\n')).not.toContain('{\\"n\\":\\"b\\"');
  });

  it('gives each record the message id as invocation id, the receive count as attempt, and the batch\'s deadline', async () => {
    const seen: InvocationContext[] = [];
    let now = 1_000_000;
    const handler = async (_p: JsonValue, context: InvocationContext): Promise<unknown> => {
      seen.push(context);
      now += 1_000;
      return undefined;
    };
    const event = { Records: [record('m1', '{}', '1'), record('m2', '{}', '4')] };
    // Lambda has 60 s left; the batch's budget (30 s) is the nearer cut-off.
    await runSqsBatch(event, { functionName: 'health', handler, lambda: lambda(60_000), logger: captureLogs().logger, now: () => now });
    expect(seen).toEqual([
      { functionName: 'health', invocationId: 'm1', attempt: 0, deadline: 1_000_000 + SQS_BATCH_DEFAULTS.budgetMs },
      { functionName: 'health', invocationId: 'm2', attempt: 3, deadline: 1_000_000 + SQS_BATCH_DEFAULTS.budgetMs },
    ]);
    // Lambda's own cut-off when it is nearer.
    seen.length = 0;
    await runSqsBatch({ Records: [record('m5', '{}')] }, { functionName: 'health', handler, lambda: lambda(25_000), logger: captureLogs().logger, now: () => now, minStartMs: 1_000 });
    expect(seen[0]?.deadline).toBe(now - 1_000 + 25_000);
  });

  it('sends a record it has no time left for to the queue again, rather than failing it; fails it when that is impossible', async () => {
    const { logger, lines } = captureLogs();
    let now = 0;
    const ran: string[] = [];
    const handler = async (payload: JsonValue): Promise<unknown> => {
      ran.push((payload as { n: string }).n);
      // Each look takes 6 s of the batch's 30.
      now += 6_000;
      return undefined;
    };
    const requeued: JsonValue[] = [];
    const event = { Records: ['a', 'b', 'c', 'd'].map((n, i) => record(`m${i}`, JSON.stringify({ n }))) };
    const out = await runSqsBatch(event, { functionName: 'health', handler, lambda: lambda(60_000), logger, now: () => now, requeue: async (p) => void requeued.push(p) });
    // 30 s budget, 20 s needed to start: a at 0 s, b at 6 s; c at 12 s would have 18 s.
    expect(ran).toEqual(['a', 'b']);
    expect(requeued).toEqual([{ n: 'c' }, { n: 'd' }]);
    expect(out).toEqual({ batchItemFailures: [] });
    expect(lines.filter((l) => l.includes('sent to the queue again'))).toHaveLength(2);

    now = 0;
    ran.length = 0;
    const failing = await runSqsBatch(event, {
      functionName: 'health',
      handler,
      lambda: lambda(60_000),
      logger,
      now: () => now,
      requeue: () => Promise.reject(new Error('SQS down')),
    });
    expect(failing).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }] });
    // Without a requeue at all, the same.
    now = 0;
    expect(await runSqsBatch(event, { functionName: 'health', handler, lambda: lambda(60_000), logger, now: () => now })).toEqual(failing);
  });

  it('throws for an event that is not SQS\'s, running nothing', async () => {
    let ran = false;
    await expect(runSqsBatch({ body: '{}' }, { functionName: 'health', handler: async () => void (ran = true), logger: captureLogs().logger })).rejects.toMatchObject({ code: 'AWS_SQS_EVENT_INVALID' });
    expect(ran).toBe(false);
  });
});
