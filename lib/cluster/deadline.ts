/**
 * A run's deadline (epoch ms), e.g. a Lambda's remaining time: the instant by which `apply` or
 * `plan` must have returned. Work stops at the cutoff, a reserve before it, so what must follow
 * the work still fits: narrowing the inventory and releasing the Lease. Dying at the deadline
 * instead would hold the Lease until its TTL and leave the next delivery waiting.
 */
import { ClusterError, Codes } from './errors.ts';
import type { ErrorInfo } from './errors.ts';

/** At most this much before the deadline is kept for finishing (one write and one release). */
export const DEADLINE_RESERVE_MS = 5_000;
/** A finishing request gets at least this long even when the deadline has already passed. */
const FINISH_FLOOR_MS = 1_000;

export interface RunClock {
  /** Aborts at the cutoff; undefined without a deadline. */
  readonly signal: AbortSignal | undefined;
  /** True once the cutoff has passed: start nothing new. */
  reached(): boolean;
  /** A bound for the finishing requests (inventory narrow, Lease release): the deadline itself. */
  finishing(): AbortSignal | undefined;
  dispose(): void;
}

export function runClock(deadline: number | undefined, now = Date.now()): RunClock {
  if (deadline === undefined) return { signal: undefined, reached: () => false, finishing: () => undefined, dispose: () => undefined };
  // A quarter of the time left, up to the reserve: a short deadline still leaves room to work.
  const reserve = Math.min(DEADLINE_RESERVE_MS, Math.max(0, deadline - now) / 4);
  const cutoff = deadline - reserve;
  const ctl = new AbortController();
  const stop = (): void => ctl.abort(new ClusterError(Codes.deadline, 'stopped at the deadline', true));
  const timer = setTimeout(stop, Math.max(0, cutoff - now));
  return {
    signal: ctl.signal,
    reached: () => ctl.signal.aborted || Date.now() >= cutoff,
    finishing: () => AbortSignal.timeout(Math.max(FINISH_FLOOR_MS, deadline - Date.now())),
    dispose: () => clearTimeout(timer),
  };
}

/** Every signal that is set, as one (undefined when none is). */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const set = signals.filter((s): s is AbortSignal => s !== undefined);
  return set.length === 0 ? undefined : set.length === 1 ? set[0] : AbortSignal.any(set);
}

/** The run-level result of stopping for the deadline: retryable, and says how far it got. */
export function deadlineError(done: number, total: number, verb: 'applied' | 'planned'): ErrorInfo {
  const resume = verb === 'applied' ? '; will resume' : '';
  return { code: Codes.deadline, message: `stopped before the deadline: ${done} of ${total} objects ${verb}${resume}`, retryable: true };
}
