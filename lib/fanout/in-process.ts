/**
 * The in-process Invoker: the embedded mode and the tests. It behaves like Lambda's async
 * invocation where that matters: invoke() returns once the work is queued, the payload is a
 * JSON copy, a handler that throws is retried twice with backoff, and what still fails is
 * logged and handed to `onDeadLetter`. An error marked `retryable: false` goes to the dead
 * letters at once: its thrower already knows another attempt fails the same way. Concurrency is
 * bounded; a retry waiting for its backoff does not hold a slot. Each attempt gets a deadline,
 * `jobTimeoutMs` after it starts (Lambda's function timeout, here).
 *
 * A delayed invocation (`delayMs`, SQS's DelaySeconds on AWS) waits on a timer before it is
 * queued: nothing runs and no slot is held meanwhile. The timer keeps the process alive, as a
 * message waiting in a queue outlives nothing: `serve` must run the rollout's next health check
 * even when nothing else is going on. `cancelDelayed()` drops the pending ones (shutdown, tests).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { checkPayload } from './payload.ts';
import { checkDelay, FanoutCodes, FanoutError } from './types.ts';
import type { FunctionHandler, FunctionName, InvocationContext, Invoker, JsonValue } from './types.ts';

export interface InProcessOptions {
  readonly handlers?: Partial<Record<FunctionName, FunctionHandler>>;
  /** Handlers running at once (default 4). */
  readonly concurrency?: number;
  /** Delay before each retry; its length is the number of retries (default [1000, 2000]: two, like Lambda). */
  readonly retryDelaysMs?: readonly number[];
  readonly logger?: Logger;
  /** Called with an invocation that failed every attempt (Lambda's dead-letter queue). */
  readonly onDeadLetter?: (failure: DeadLetter) => void;
  /** Time an attempt is given, as its context's deadline (default 10 min). Not enforced: jobs stop themselves. */
  readonly jobTimeoutMs?: number;
  /**
   * The cut-off of the process the jobs run in, if it has one (a Lambda function running its
   * apply jobs in-process): an attempt's deadline is never later than it.
   */
  readonly hostDeadline?: () => number | undefined;
}

export interface DeadLetter {
  readonly functionName: FunctionName;
  readonly invocationId: string;
  readonly payload: JsonValue;
  readonly attempts: number;
  readonly error: unknown;
}

export interface InProcessInvoker extends Invoker {
  /** Set (or replace) the handler for a function: the functions can be wired after creation. */
  register(functionName: FunctionName, handler: FunctionHandler): void;
  /** Resolves when nothing is queued, running, waiting to be retried or delayed. */
  idle(): Promise<void>;
  /**
   * Drops every delayed invocation not yet queued (they never run) and returns how many: a
   * shutdown, or a test, that must not wait up to 15 minutes. Running ones and retries are left.
   */
  cancelDelayed(): number;
  /** Counters, for tests and the benchmark. */
  stats(): InProcessStats;
}

export interface InProcessStats {
  readonly invoked: number;
  readonly running: number;
  readonly queued: number;
  readonly waitingRetry: number;
  /** Delayed invocations whose delay has not passed yet. */
  readonly delayed: number;
  /** Delayed invocations ever accepted (a delay of 0 is not one). */
  readonly scheduled: number;
  readonly succeeded: number;
  readonly retried: number;
  readonly deadLettered: number;
  /** The most handlers that ever ran at once. */
  readonly maxRunning: number;
}

export const IN_PROCESS_DEFAULTS = {
  concurrency: 4,
  retryDelaysMs: [1_000, 2_000] as readonly number[],
  jobTimeoutMs: 10 * 60_000,
} as const;

interface Task {
  readonly context: Omit<InvocationContext, 'deadline'>;
  readonly payload: JsonValue;
}

/** Marked by its thrower as not worth another attempt (SyncError, GitHubError, ClusterError, …). */
const markedPermanent = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false;

export function createInProcessInvoker(options: InProcessOptions = {}): InProcessInvoker {
  const concurrency = options.concurrency ?? IN_PROCESS_DEFAULTS.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const retryDelays = options.retryDelaysMs ?? IN_PROCESS_DEFAULTS.retryDelaysMs;
  const jobTimeoutMs = options.jobTimeoutMs ?? IN_PROCESS_DEFAULTS.jobTimeoutMs;
  if (!(jobTimeoutMs > 0)) throw new RangeError(`jobTimeoutMs must be positive, got ${jobTimeoutMs}`);
  const log = options.logger ?? silentLogger;
  const handlers = new Map<FunctionName, FunctionHandler>(Object.entries(options.handlers ?? {}) as [FunctionName, FunctionHandler][]);

  const queue: Task[] = [];
  let running = 0;
  let waitingRetry = 0;
  const delayed = new Set<NodeJS.Timeout>();
  const counts = { invoked: 0, scheduled: 0, succeeded: 0, retried: 0, deadLettered: 0, maxRunning: 0 };
  let idleWaiters: (() => void)[] = [];

  const busy = (): boolean => running > 0 || queue.length > 0 || waitingRetry > 0 || delayed.size > 0;
  const settleIdle = (): void => {
    if (busy()) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const pump = (): void => {
    while (running < concurrency && queue.length > 0) {
      const task = queue.shift() as Task;
      running++;
      counts.maxRunning = Math.max(counts.maxRunning, running);
      void run(task).finally(() => {
        running--;
        pump();
        settleIdle();
      });
    }
  };

  const run = async (task: Task): Promise<void> => {
    const { context } = task;
    const handler = handlers.get(context.functionName);
    const taskLog = log.child({ function: context.functionName, invocationId: context.invocationId, attempt: context.attempt });
    try {
      if (handler === undefined) throw new FanoutError(FanoutCodes.unknownFunction, `no handler registered for "${context.functionName}"`);
      const host = options.hostDeadline?.();
      const own = Date.now() + jobTimeoutMs;
      await handler(task.payload, { ...context, deadline: host === undefined ? own : Math.min(own, host) });
      counts.succeeded++;
    } catch (error) {
      const delay = markedPermanent(error) ? undefined : retryDelays[context.attempt];
      if (delay === undefined) {
        counts.deadLettered++;
        taskLog.error(markedPermanent(error) ? 'invocation failed; not retryable' : 'invocation failed; no retries left', { error, attempts: context.attempt + 1 });
        const failure: DeadLetter = {
          functionName: context.functionName,
          invocationId: context.invocationId,
          payload: task.payload,
          attempts: context.attempt + 1,
          error,
        };
        try {
          options.onDeadLetter?.(failure);
        } catch (dlqError) {
          taskLog.error('dead-letter callback threw', { error: dlqError });
        }
        return;
      }
      counts.retried++;
      taskLog.warn('invocation failed; will retry', { error, retryInMs: delay });
      waitingRetry++;
      setTimeout(() => {
        waitingRetry--;
        queue.push({ context: { ...context, attempt: context.attempt + 1 }, payload: task.payload });
        pump();
      }, delay);
    }
  };

  return {
    async invoke(functionName, payload, invokeOptions) {
      const delayMs = checkDelay(invokeOptions);
      if (!handlers.has(functionName)) {
        throw new FanoutError(FanoutCodes.unknownFunction, `cannot invoke "${functionName}": no handler registered for it`);
      }
      const copy = checkPayload(payload);
      counts.invoked++;
      const task: Task = { context: { functionName, invocationId: randomUUID(), attempt: 0 }, payload: copy };
      if (delayMs === 0) {
        queue.push(task);
        // Start on a later tick: the caller's "queued" must not depend on the handler's first await.
        queueMicrotask(pump);
        return;
      }
      counts.scheduled++;
      const timer = setTimeout(() => {
        delayed.delete(timer);
        queue.push(task);
        pump();
      }, delayMs);
      delayed.add(timer);
    },
    cancelDelayed() {
      const n = delayed.size;
      for (const timer of delayed) clearTimeout(timer);
      delayed.clear();
      if (n > 0) log.info('delayed invocations cancelled', { count: n });
      settleIdle();
      return n;
    },
    register(functionName, handler) {
      handlers.set(functionName, handler);
    },
    idle() {
      if (!busy()) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    stats: () => ({ ...counts, running, queued: queue.length, waitingRetry, delayed: delayed.size }),
  };
}
