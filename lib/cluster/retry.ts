/**
 * Bounded retries with exponential backoff and full jitter, cancellable through an AbortSignal.
 * Used around single API requests: the caller decides what a whole run does when they still fail.
 */
import { ApiError, isTransient } from './errors.ts';

export interface RetryOptions {
  /** Total tries including the first. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly signal?: AbortSignal;
  readonly isRetryable?: (e: unknown) => boolean;
  /** Injected in tests to make jitter deterministic. */
  readonly random?: () => number;
}

export const defaultRetryOptions: RetryOptions = { attempts: 6, baseDelayMs: 200, maxDelayMs: 5_000 };

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The delay before retry number `retry` (0-based): uniform in [0, min(max, base·2^retry)]. */
export function backoffDelay(retry: number, opts: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const cap = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** retry);
  return Math.floor((opts.random ?? Math.random)() * cap);
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = defaultRetryOptions): Promise<T> {
  const retryable = opts.isRetryable ?? isTransient;
  for (let attempt = 0; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt + 1 >= opts.attempts || !retryable(e) || opts.signal?.aborted) throw e;
      let delay = backoffDelay(attempt, opts);
      // The server said when to come back (429 / 503 with Retry-After): never sooner.
      if (e instanceof ApiError && e.retryAfterSeconds !== undefined) {
        delay = Math.max(delay, Math.min(e.retryAfterSeconds * 1000, opts.maxDelayMs * 4));
      }
      await sleep(delay, opts.signal);
    }
  }
}
