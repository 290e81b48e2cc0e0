/**
 * The bytes a server holds for request bodies, across every request at once. A request reserves
 * its Content-Length before a byte of its body is read; when the budget is spent it waits (not
 * reading: the socket's own buffers hold what the client sends) for a short while, first come
 * first served, and is refused (503) if room does not free up in time. So eight 24 MB bodies
 * sent at once are read one or two at a time, and the memory they cost is bounded by the
 * budget, not by what senders choose to send.
 */

export interface ByteBudgetOptions {
  /** Bytes held at once, all requests together. */
  readonly maxBytes: number;
  /** How long a request may wait for room before it is refused. */
  readonly maxWaitMs: number;
  /** Requests that may wait at once; more are refused at once. */
  readonly maxWaiting: number;
}

export const BYTE_BUDGET_DEFAULTS: ByteBudgetOptions = {
  // One delivery at GitHub's 25 MB cap fits, with room for small ones beside it.
  maxBytes: 32 * 1024 * 1024,
  // GitHub waits 10 s for an answer; a delivery let in after 8 s still has time to be read.
  maxWaitMs: 8_000,
  maxWaiting: 64,
};

/** Give back what a reservation holds. Idempotent. */
export type Release = () => void;

export type Reservation = { readonly ok: true; readonly release: Release } | { readonly ok: false; readonly reason: 'too-large' | 'queue-full' | 'timeout' };

export interface ByteBudget {
  /** Reserve `bytes`, waiting up to maxWaitMs for room. */
  reserve(bytes: number): Promise<Reservation>;
  /** Bytes reserved now, and requests waiting. */
  stats(): { readonly reserved: number; readonly waiting: number; readonly maxBytes: number };
}

interface Waiter {
  readonly bytes: number;
  readonly grant: (release: Release) => void;
}

export function createByteBudget(options: Partial<ByteBudgetOptions> = {}): ByteBudget {
  const { maxBytes, maxWaitMs, maxWaiting } = { ...BYTE_BUDGET_DEFAULTS, ...options };
  let reserved = 0;
  const queue: Waiter[] = [];

  const take = (bytes: number): Release => {
    reserved += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      reserved -= bytes;
      drain();
    };
  };
  // First come, first served: a large request at the head is not overtaken by small ones.
  const drain = (): void => {
    while (queue.length > 0 && reserved + (queue[0]?.bytes ?? 0) <= maxBytes) {
      const next = queue.shift() as Waiter;
      next.grant(take(next.bytes));
    }
  };

  return {
    reserve(bytes) {
      if (bytes > maxBytes) return Promise.resolve({ ok: false, reason: 'too-large' });
      if (queue.length === 0 && reserved + bytes <= maxBytes) return Promise.resolve({ ok: true, release: take(bytes) });
      if (queue.length >= maxWaiting) return Promise.resolve({ ok: false, reason: 'queue-full' });
      return new Promise<Reservation>((resolve) => {
        const waiter: Waiter = {
          bytes,
          grant: (release) => {
            clearTimeout(timer);
            resolve({ ok: true, release });
          },
        };
        const timer = setTimeout(() => {
          const at = queue.indexOf(waiter);
          if (at >= 0) queue.splice(at, 1);
          resolve({ ok: false, reason: 'timeout' });
          // Those behind a large request that gave up may fit now.
          drain();
        }, maxWaitMs);
        queue.push(waiter);
      });
    },
    stats: () => ({ reserved, waiting: queue.length, maxBytes }),
  };
}
