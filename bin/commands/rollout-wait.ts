/**
 * `pushsync apply --wait`: after the apply, ask checkRollout every couple of seconds until the
 * rollout is healthy, fails, is superseded or the time is up, as `kubectl rollout status` does
 * for one Deployment. The loop only decides; apply.ts prints.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { checkRollout, describeProgress } from '../../lib/cluster/index.ts';
import type { Connection, ErrorInfo, RolloutCheck } from '../../lib/cluster/index.ts';

export type Checked = Extract<RolloutCheck, { kind: 'checked' }>;

export interface WaitOptions {
  readonly inventory: string;
  readonly commit: string;
  /** The apply's rollout token: another apply of the same commit ends the wait. */
  readonly rollout?: string;
  readonly timeoutMs: number;
  /** Between checks; default 2 s. */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

export type WaitOutcome =
  | { readonly kind: 'healthy'; readonly ms: number; readonly check: Checked }
  | { readonly kind: 'failed'; readonly ms: number; readonly check: Checked & { readonly failed: NonNullable<Checked['failed']> } }
  /** The time is up; `last` is the last check that answered, `error` set when the last one did not. */
  | { readonly kind: 'timeout'; readonly ms: number; readonly last?: Checked; readonly error?: ErrorInfo }
  | { readonly kind: 'superseded'; readonly by: string; readonly sameCommit: boolean }
  /** A check failed in a way waiting will not fix (403, the inventory gone). */
  | { readonly kind: 'error'; readonly error: ErrorInfo }
  | { readonly kind: 'interrupted' };

export const DEFAULT_WAIT_INTERVAL_MS = 2_000;
/** A check started just before the deadline still gets this long to answer. */
const MIN_CHECK_MS = 5_000;

/**
 * `progress` is called with each new progress text (describeProgress's, or the retryable error
 * a check met), not again while it stays the same.
 */
export async function waitForRollout(conn: Connection, opts: WaitOptions, progress: (text: string) => void): Promise<WaitOutcome> {
  const t0 = Date.now();
  const deadline = t0 + opts.timeoutMs;
  const interval = opts.intervalMs ?? DEFAULT_WAIT_INTERVAL_MS;
  let said: string | undefined;
  let last: Checked | undefined;
  let error: ErrorInfo | undefined;
  const say = (text: string): void => {
    if (text !== said) progress(text);
    said = text;
  };
  for (;;) {
    const c = await checkRollout(conn, {
      inventory: opts.inventory,
      commit: opts.commit,
      ...(opts.rollout ? { rollout: opts.rollout } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      deadline: Math.max(deadline, Date.now() + MIN_CHECK_MS),
    });
    if (opts.signal?.aborted) return { kind: 'interrupted' };
    const ms = Date.now() - t0;
    switch (c.kind) {
      case 'superseded':
        return { kind: 'superseded', by: c.by, sameCommit: c.sameCommit };
      case 'error':
        if (!c.error.retryable) return { kind: 'error', error: c.error };
        // A blip (API server restarting, a timeout): the next check may get through.
        error = c.error;
        say(`waiting: ${c.error.message}`);
        break;
      case 'checked':
        last = c;
        error = undefined;
        if (c.state === 'healthy') return { kind: 'healthy', ms, check: c };
        if (c.state === 'failed' && c.failed) return { kind: 'failed', ms, check: { ...c, failed: c.failed } };
        say(describeProgress(c.objects));
        break;
    }
    const left = deadline - Date.now();
    if (left <= 0) return { kind: 'timeout', ms, ...(last ? { last } : {}), ...(error ? { error } : {}) };
    try {
      await sleep(Math.min(interval, left), undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      return { kind: 'interrupted' };
    }
  }
}
