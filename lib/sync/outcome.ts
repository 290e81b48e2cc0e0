/**
 * What the jobs share about ending: the options that bound a job in time, the three ways a job
 * ends without a result (retry, failed, error), and the one place a thrown value becomes one
 * of them with its commit-status text.
 */
import type { CheckConclusion, ContextConclusion } from '../github/index.ts';
import { DEADLINE, classify } from './errors.ts';

export interface JobOptions {
  /**
   * Epoch ms by which the job must have stopped, with time left to report. Past it, a job does
   * not start work it cannot finish; the apply engine stops at it cleanly (Lease released).
   */
  readonly deadline?: number;
  /** Aborts what is still in flight (the backstop behind `deadline`). */
  readonly signal?: AbortSignal;
}

/** A transient failure: reported `error` "will retry: …"; the handler throws so the invocation is retried. */
export interface Retry {
  readonly kind: 'retry';
  readonly code: string;
  readonly message: string;
}

/** A permanent failure with a stable code: reported `failure`; retrying cannot help. */
export interface Failed {
  readonly kind: 'failed';
  readonly code: string;
  readonly message: string;
}

/** A bug in pushsync (an exception with no code): reported `error`, never retried. */
export interface Bug {
  readonly kind: 'error';
  readonly code: string;
  readonly message: string;
}

export type Unfinished = Retry | Failed | Bug;

export function fromThrown(e: unknown): Unfinished {
  const c = classify(e);
  switch (c.kind) {
    case 'transient':
      return { kind: 'retry', code: c.code, message: c.message };
    case 'permanent':
      return { kind: 'failed', code: c.code, message: c.message };
    case 'bug':
      return { kind: 'error', code: c.code, message: c.message };
    default: {
      const never: never = c.kind;
      throw new Error(`unknown failure kind ${String(never)}`);
    }
  }
}

export function deadlineReached(what: string): Retry {
  return { kind: 'retry', code: DEADLINE, message: `deadline: ${what}` };
}

export function isPastDeadline(options: JobOptions, now = Date.now()): boolean {
  return (options.deadline !== undefined && now >= options.deadline) || options.signal?.aborted === true;
}

/** The final state of a context for an unfinished job (`prefix` says what was not done). */
export function concluding(name: string, o: Unfinished, prefix = ''): ContextConclusion {
  switch (o.kind) {
    case 'retry': {
      const conclusion: CheckConclusion = o.code === DEADLINE ? 'timed_out' : 'failure';
      return { name, state: 'error', description: `will retry: ${prefix}${o.message}`, conclusion };
    }
    case 'failed':
      return { name, state: 'failure', description: `${prefix}${o.message}` };
    case 'error':
      return { name, state: 'error', description: `${prefix}internal error (a bug in pushsync; not retried): ${o.message}` };
    default: {
      const never: never = o;
      throw new Error(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}
