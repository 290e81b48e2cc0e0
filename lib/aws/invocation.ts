/**
 * What a Lambda function learns about its own invocation, reduced to what the jobs need: its
 * deadline. Lambda kills a function at its timeout, mid-write if need be; the jobs stop and
 * report before that only if they know when it is.
 */
import type { FunctionName, InvocationContext } from '../fanout/index.ts';

/** The part of Lambda's context object pushsync reads (aws-lambda's `Context`). */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  /** The same on Lambda's retries of an async invocation. */
  readonly awsRequestId?: string;
}

/** Without a Lambda context (a direct call, a local run): the in-process invoker's default job time. */
export const DEFAULT_JOB_TIMEOUT_MS = 10 * 60_000;

export function invocationContext(functionName: FunctionName, lambda: LambdaContext | undefined, now = Date.now()): InvocationContext {
  const remaining = lambda?.getRemainingTimeInMillis();
  return {
    functionName,
    invocationId: lambda?.awsRequestId ?? '',
    // Lambda does not tell an async invocation which attempt it is.
    attempt: 0,
    deadline: now + (typeof remaining === 'number' && Number.isFinite(remaining) ? remaining : DEFAULT_JOB_TIMEOUT_MS),
  };
}

export function isLambdaContext(v: unknown): v is LambdaContext {
  return typeof v === 'object' && v !== null && typeof (v as { getRemainingTimeInMillis?: unknown }).getRemainingTimeInMillis === 'function';
}
