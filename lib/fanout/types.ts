/**
 * Fan-out: start another function asynchronously, fire-and-forget, like Lambda's
 * `InvocationType: Event`. The functions never know which backend runs them.
 */

export type FunctionName = 'sync' | 'apply';

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface Invoker {
  /**
   * Hand `payload` to the function. Resolves once the invocation is queued, not when it has
   * run; rejects when it could not be queued (unknown function, bad payload, backend down).
   */
  invoke(functionName: FunctionName, payload: JsonValue): Promise<void>;
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
