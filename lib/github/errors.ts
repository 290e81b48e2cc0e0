/**
 * A failed GitHub API call as one error type with a stable code, so callers decide by code and
 * `retryable` (throw so Lambda retries, or end in a failure status) instead of parsing messages.
 * Messages name the call and GitHub's own words; they never carry request headers (tokens).
 */
export type GitHubErrorCode =
  /** Primary or secondary rate limit, still exhausted after the bounded retries. */
  | 'GITHUB_RATE_LIMITED'
  /** 5xx after the retries: GitHub is having an outage. */
  | 'GITHUB_UNAVAILABLE'
  /** No answer at all: DNS, connection refused, timeout. */
  | 'GITHUB_NETWORK'
  | 'GITHUB_UNAUTHORIZED'
  | 'GITHUB_FORBIDDEN'
  | 'GITHUB_NOT_FOUND'
  /** 400/409/410/422: the request itself was refused (e.g. empty repository, invalid field). */
  | 'GITHUB_REJECTED'
  /** GitHub answered 2xx with something we cannot use (bad base64, a blob whose hash is wrong). */
  | 'GITHUB_BAD_RESPONSE'
  /**
   * The token or App may not touch the repository's deployments (403, or 404 for a token that
   * cannot see them): it needs "Deployments: read and write" (deployments.ts).
   */
  | 'GITHUB_DEPLOYMENTS_FORBIDDEN'
  /** GitHub did not create the deployment: an auto-merge answer (202), a conflict (409), the environment's rules (422). */
  | 'GITHUB_DEPLOYMENT_REFUSED';

export interface GitHubErrorDetails {
  readonly code: GitHubErrorCode;
  /** `GET /repos/o/r/git/trees/abc`: method and path, never the query or headers. */
  readonly call?: string;
  readonly status?: number;
  readonly retryable: boolean;
  /** GitHub's x-github-request-id, for a support ticket. */
  readonly requestId?: string;
  readonly deliveryId?: string;
  /** When a rate limit resets (ISO 8601), if GitHub said. */
  readonly resetAt?: string;
  readonly retries?: number;
}

export class GitHubError extends Error {
  readonly code: GitHubErrorCode;
  readonly call: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly requestId: string | undefined;
  readonly deliveryId: string | undefined;
  readonly resetAt: string | undefined;
  readonly retries: number | undefined;

  constructor(message: string, details: GitHubErrorDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GitHubError';
    this.code = details.code;
    this.call = details.call;
    this.status = details.status;
    this.retryable = details.retryable;
    this.requestId = details.requestId;
    this.deliveryId = details.deliveryId;
    this.resetAt = details.resetAt;
    this.retries = details.retries;
  }
}

export function isGitHubError(err: unknown): err is GitHubError {
  return err instanceof GitHubError;
}

/** The shape of @octokit/request-error's RequestError that we read (it is not exported as a type we can narrow to). */
interface RequestErrorLike {
  readonly status: number;
  readonly message: string;
  readonly request?: RequestOptionsLike;
  readonly response?: { readonly headers?: Record<string, string | number | undefined>; readonly data?: unknown };
}

interface RequestOptionsLike {
  readonly method?: string;
  readonly url?: string;
  readonly baseUrl?: string;
}

/** What the caller knows about the failed call. */
export interface FailedCall {
  readonly method?: string;
  readonly url?: string;
  /** Stripped from the path shown, so GitHub Enterprise paths read like github.com's. */
  readonly baseUrl?: string;
  readonly deliveryId?: string;
  /** Attempts after the first. */
  readonly retries?: number;
  readonly now?: number;
}

const SECONDARY = /secondary rate limit/i;

/** Turn whatever a request threw into a GitHubError (idempotent: a GitHubError passes through). */
export function toGitHubError(err: unknown, failed: FailedCall): GitHubError {
  if (err instanceof GitHubError) return err;
  const now = failed.now ?? Date.now();
  // The error's own request is the one sent last: its URL is expanded (the caller's may be a template).
  const sent = isRequestError(err) && err.request !== undefined ? err.request : failed;
  const call = describeCall({ ...sent, baseUrl: failed.baseUrl });
  const retries = failed.retries !== undefined && failed.retries > 0 ? failed.retries : undefined;
  const base = { call, deliveryId: failed.deliveryId, ...(retries ? { retries } : {}) };
  const after = retries ? ` after ${retries} ${retries === 1 ? 'retry' : 'retries'}` : '';
  if (!isRequestError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new GitHubError(`GitHub call ${call} failed${after}: ${message}${trail(base)}`, { ...base, code: 'GITHUB_NETWORK', retryable: true }, { cause: err });
  }
  const headers = err.response?.headers ?? {};
  const requestId = header(headers, 'x-github-request-id');
  const ghMessage = githubMessage(err);
  const withIds = { ...base, status: err.status, ...(requestId ? { requestId } : {}) };

  if (err.response === undefined) {
    // @octokit/request reports "no response" (fetch failed, aborted, timed out) as status 500.
    return new GitHubError(
      `GitHub call ${call} got no answer${after}: ${err.message}${trail(withIds)}`,
      { ...base, code: 'GITHUB_NETWORK', retryable: true },
      { cause: err },
    );
  }
  if (isRateLimited(err.status, headers, ghMessage)) {
    const reset = Number(header(headers, 'x-ratelimit-reset'));
    const retryAfter = Number(header(headers, 'retry-after'));
    const resetMs = Number.isFinite(reset) && reset > 0 ? reset * 1000 : Number.isFinite(retryAfter) && retryAfter > 0 ? now + retryAfter * 1000 : undefined;
    const resetAt = resetMs === undefined ? undefined : new Date(resetMs).toISOString();
    const kind = SECONDARY.test(ghMessage) ? 'secondary rate limit' : 'rate limit';
    const when = resetMs === undefined ? '' : `; it resets at ${resetAt} (in ${Math.max(0, Math.ceil((resetMs - now) / 1000))} s)`;
    return new GitHubError(
      `GitHub API ${kind} exhausted: ${call} answered ${err.status}${after}${when}. GitHub said: ${ghMessage}${trail(withIds)}`,
      { ...withIds, code: 'GITHUB_RATE_LIMITED', retryable: true, ...(resetAt ? { resetAt } : {}) },
      { cause: err },
    );
  }
  const code = codeFor(err.status);
  const retryable = code === 'GITHUB_UNAVAILABLE';
  return new GitHubError(`GitHub call ${call} failed with ${err.status}${after}: ${ghMessage}${trail(withIds)}`, { ...withIds, code, retryable }, { cause: err });
}

function codeFor(status: number): GitHubErrorCode {
  if (status >= 500) return 'GITHUB_UNAVAILABLE';
  if (status === 401) return 'GITHUB_UNAUTHORIZED';
  if (status === 403) return 'GITHUB_FORBIDDEN';
  if (status === 404) return 'GITHUB_NOT_FOUND';
  return 'GITHUB_REJECTED';
}

function isRateLimited(status: number, headers: Record<string, string | number | undefined>, message: string): boolean {
  if (status !== 403 && status !== 429) return false;
  return status === 429 || header(headers, 'x-ratelimit-remaining') === '0' || SECONDARY.test(message) || header(headers, 'retry-after') !== undefined;
}

function isRequestError(err: unknown): err is RequestErrorLike {
  return err instanceof Error && typeof (err as { status?: unknown }).status === 'number';
}

function githubMessage(err: RequestErrorLike): string {
  const data = err.response?.data;
  if (typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string') {
    return (data as { message: string }).message;
  }
  if (typeof data === 'string' && data.trim() !== '') return data.trim().slice(0, 200);
  return err.message;
}

function header(headers: Record<string, string | number | undefined>, name: string): string | undefined {
  const v = headers[name];
  return v === undefined ? undefined : String(v);
}

/** `GET /repos/o/r/git/trees/abc` — the path relative to the API root, without the query. */
export function describeCall(options: RequestOptionsLike): string {
  const method = (options.method ?? 'GET').toUpperCase();
  let url = options.url ?? '';
  try {
    const parsed = new URL(url, 'http://api.invalid');
    url = parsed.pathname;
    if (options.baseUrl) {
      const basePath = new URL(options.baseUrl).pathname.replace(/\/$/, '');
      if (basePath !== '' && url.startsWith(basePath + '/')) url = url.slice(basePath.length);
    }
  } catch {
    url = url.split('?')[0] ?? url;
  }
  return `${method} ${url}`;
}

function trail(ids: { requestId?: string; deliveryId?: string | undefined }): string {
  const parts: string[] = [];
  if (ids.requestId) parts.push(`request ${ids.requestId}`);
  if (ids.deliveryId) parts.push(`delivery ${ids.deliveryId}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}
