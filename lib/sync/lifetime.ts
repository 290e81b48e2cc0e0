/**
 * A job's hold on its time, for a job whose work cannot all be interrupted: a secret-store read
 * takes no signal, and vetting a big repository is synchronous. At the deadline the job
 * concludes without waiting for that work; the work, if it ever goes on, may no longer write,
 * so nothing it does lands after the conclusion (one writer per context).
 *
 *   jobLifetime(options)  → signal: aborts at the deadline (or with the caller's signal), for the reads
 *                           expired: resolves then
 *                           stopped(): true from then on, also when a synchronous step ran past
 *                           the deadline before the timer could fire
 *                           write(fn): runs a write the job owns (a status, a handover) only while
 *                           not stopped, and keeps track of it until it settles
 *                           abandon(): stops, then waits for the writes in flight, so what they
 *                           started (a check run's id, a handed-over job) is known to the conclusion
 */
import { DEADLINE, SyncError } from './errors.ts';
import { isPastDeadline, type JobOptions } from './outcome.ts';

export interface JobLifetime {
  readonly signal: AbortSignal;
  readonly expired: Promise<void>;
  stopped(): boolean;
  write<T>(fn: () => Promise<T>): Promise<T>;
  abandon(): Promise<void>;
  dispose(): void;
}

export function jobLifetime(options: JobOptions, now = Date.now()): JobLifetime {
  const ctl = new AbortController();
  let expire: () => void = () => undefined;
  const expired = new Promise<void>((resolve) => (expire = resolve));
  const stop = (): void => {
    if (ctl.signal.aborted) return;
    // No reason given: fetch then rejects with an AbortError, which octokit's retry plugin passes
    // straight through instead of retrying an aborted call with backoff.
    ctl.abort();
    expire();
  };
  const timer = options.deadline === undefined ? undefined : setTimeout(stop, Math.max(0, options.deadline - now));
  // The timer must not keep `serve` or a test process alive once the job is done.
  timer?.unref();
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();

  const inflight = new Set<Promise<unknown>>();
  const stopped = (): boolean => {
    if (!ctl.signal.aborted && isPastDeadline(options)) stop();
    return ctl.signal.aborted;
  };
  return {
    signal: ctl.signal,
    expired,
    stopped,
    write<T>(fn: () => Promise<T>): Promise<T> {
      if (stopped()) return Promise.reject(new SyncError(DEADLINE, 'the job stopped at its deadline: it writes nothing more', true));
      const p = fn();
      inflight.add(p);
      const settled = (): void => void inflight.delete(p);
      void p.then(settled, settled);
      return p;
    },
    async abandon(): Promise<void> {
      stop();
      await Promise.allSettled([...inflight]);
    },
    dispose(): void {
      if (timer !== undefined) clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
    },
  };
}
