/** Failures of a whole job. `retryable` decides between "throw, so Lambda retries" and "report and stop". */
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

/** GitHubError, ClusterError and SyncError all carry `retryable`; anything else is treated as transient. */
export function isRetryable(e: unknown): boolean {
  if (typeof e === 'object' && e !== null && 'retryable' in e) return (e as { retryable?: unknown }).retryable === true;
  return true;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
