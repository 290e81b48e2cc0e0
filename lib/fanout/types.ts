/**
 * Fan-out: start another function asynchronously, fire-and-forget, like Lambda's
 * `InvocationType: Event`. The functions never know which backend runs them.
 */

export type FunctionName = 'sync' | 'apply' | 'health';

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface InvokeOptions {
  /**
   * Run the function no sooner than this many milliseconds from now (0 to MAX_DELAY_MS): a
   * follow-up that must wait (a rollout's next health check) without a function waiting for it.
   */
  readonly delayMs?: number;
}

/** SQS's longest per-message delivery delay (15 min), the longest any backend can honour. */
export const MAX_DELAY_MS = 900_000;

export interface Invoker {
  /**
   * Hand `payload` to the function. Resolves once the invocation is queued, not when it has
   * run; rejects when it could not be queued (unknown function, bad payload, a delay the
   * backend cannot honour, backend down).
   */
  invoke(functionName: FunctionName, payload: JsonValue, options?: InvokeOptions): Promise<void>;
}

/** What a handler learns about its invocation (Lambda's context, reduced). */
export interface InvocationContext {
  readonly functionName: FunctionName;
  /** Unique per invocation; the same across its retries. */
  readonly invocationId: string;
  /** 0 for the first run, 1 and 2 for the retries. */
  readonly attempt: number;
  /**
   * When the invocation will be cut off (epoch ms): Lambda's timeout, or the in-process job
   * timeout. A job must stop and report before it, or it dies holding its cluster's Lease.
   */
  readonly deadline: number;
}

/**
 * Throw to have the invocation retried (a transient failure); return normally — with the
 * job's outcome, for logs and tests — for anything retrying cannot fix, after reporting it.
 */
export type FunctionHandler = (payload: JsonValue, context: InvocationContext) => Promise<unknown>;

export const FanoutCodes = {
  secretInPayload: 'FANOUT_SECRET_IN_PAYLOAD',
  notSerialisable: 'FANOUT_NOT_SERIALISABLE',
  tooLarge: 'FANOUT_TOO_LARGE',
  unknownFunction: 'FANOUT_UNKNOWN_FUNCTION',
  /** delayMs is not a finite number from 0 to MAX_DELAY_MS. */
  badDelay: 'FANOUT_BAD_DELAY',
  /** The backend cannot delay an invocation (Lambda's Event invoke runs it as soon as it can). */
  delayUnsupported: 'FANOUT_DELAY_UNSUPPORTED',
} as const;
export type FanoutCode = (typeof FanoutCodes)[keyof typeof FanoutCodes];

export class FanoutError extends Error {
  constructor(
    readonly code: FanoutCode,
    message: string,
  ) {
    super(message);
    this.name = 'FanoutError';
  }
}

/**
 * The delay asked for, in ms (0 = none), or a FanoutError: checked by every backend before it
 * queues anything, so a bad delay fails the same way in-process and on AWS.
 */
export function checkDelay(options: InvokeOptions | undefined): number {
  const delayMs = options?.delayMs;
  if (delayMs === undefined) return 0;
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
    throw new FanoutError(FanoutCodes.badDelay, `delayMs must be a number of milliseconds from 0 to ${MAX_DELAY_MS} (SQS's 15-minute maximum), got ${String(delayMs)}`);
  }
  return delayMs;
}
