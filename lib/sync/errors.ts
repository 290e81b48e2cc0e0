/** Failures of a whole job, and how a job tells an outage from a refusal from a bug. */
export class SyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

/** Code of a failure nothing explained: an exception that carried no code of its own. */
export const INTERNAL_ERROR = 'SYNC_INTERNAL';
/** Code of a job stopped because its function was about to run out of time (lib/cluster's Codes.deadline). */
export const DEADLINE = 'DEADLINE';

/**
 * What a thrown value means for the job:
 * - `transient`: an outage; the same job later should succeed (retry it).
 * - `permanent`: a refusal with a stable code (404, 403, a bad kubeconfig); retrying cannot help.
 * - `bug`: an exception with no code (TypeError, RangeError, a bare Error): pushsync itself is
 *   wrong; retrying would only run the bug again, and the status must not blame the user's commit.
 */
export type FailureKind = 'transient' | 'permanent' | 'bug';

export interface Classified {
  readonly kind: FailureKind;
  readonly code: string;
  readonly message: string;
}

/**
 * Node's socket-level failures (ECONNRESET and friends, and undici's UND_ERR_* for fetch): the
 * network, not the request, failed. A wrapper (fetch's `TypeError: fetch failed`) keeps the
 * errno on its `cause`, so the chain is walked.
 */
const NETWORK_CODES = new Set([
  'ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
]);

export function classify(e: unknown): Classified {
  const message = messageOf(e);
  const own = typeof e === 'object' && e !== null ? (e as { code?: unknown; retryable?: unknown }) : undefined;
  const code = typeof own?.code === 'string' && own.code !== '' ? own.code : undefined;
  // An explicit mark is the thrower's decision: it knows more than any guess made here.
  if (own?.retryable === true) return { kind: 'transient', code: code ?? 'SYNC_TRANSIENT', message };
  if (own?.retryable === false) return { kind: 'permanent', code: code ?? 'SYNC_FAILED', message };
  const network = networkCode(e);
  if (network !== undefined) return { kind: 'transient', code: network, message };
  if (code !== undefined) return { kind: 'permanent', code, message };
  return { kind: 'bug', code: INTERNAL_ERROR, message: e instanceof Error ? `${e.name}: ${e.message}` : message };
}

/** Only what is marked retryable, or a socket-level failure, is transient; everything else is not. */
export function isRetryable(e: unknown): boolean {
  return classify(e).kind === 'transient';
}

function networkCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && typeof cur === 'object' && cur !== null; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
