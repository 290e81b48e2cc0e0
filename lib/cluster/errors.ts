/**
 * Errors as values with stable codes. Codes reuse Config Sync's runtime KNV numbers
 * (repo-format §5.3) so users can look them up in the same place.
 */
import { NetworkError } from './http.ts';
import type { KubeResponse } from './http.ts';

export const Codes = {
  /** The API server answered with an error we have no better code for. */
  apiServer: 'KNV2002',
  /** Safety: the commit would delete every Namespace / every managed object (§6.4). */
  deleteAll: 'KNV2006',
  /** Conflict: stale resourceVersion, already exists, lease taken. */
  conflict: 'KNV2008',
  /** The applier itself: dependency cycle, dependency failed, CRD never established. */
  applier: 'KNV2009',
  /** A specific resource is wrong: invalid (422), unknown kind, bad identity. */
  resource: 'KNV2010',
  /** Forbidden / unauthorized. */
  permission: 'KNV2013',
  /** Transient: timeouts, 429, 5xx, connection refused; retrying later should work. */
  transient: 'KNV2016',
  /**
   * The run stopped itself before its deadline (e.g. the Lambda's remaining time) and will
   * resume on the next delivery. Config Sync's reconciler never stops mid-way, so no KNV number.
   */
  deadline: 'DEADLINE',
  /** A bug or impossible state. */
  internal: 'KNV9998',
} as const;

export type ErrorCode = (typeof Codes)[keyof typeof Codes];

/** Serialisable error: what ends up in results, statuses and reports. */
export interface ErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
  /** True when running the same apply again later may succeed without any change to Git. */
  readonly retryable?: boolean;
}

/** One cause from a Kubernetes Status (e.g. a field-manager conflict or an invalid field). */
export interface StatusCause {
  /** Kubernetes serialises StatusCause.Type as `reason` (e.g. FieldManagerConflict, FieldValueInvalid). */
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** A non-2xx answer from the API server, with the parts of its Status object we use. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly causes: readonly StatusCause[];
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, reason: string, message: string, causes: readonly StatusCause[], retryAfterSeconds?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
    this.causes = causes;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  static from(what: string, res: KubeResponse): ApiError {
    const body = res.body as { reason?: unknown; message?: unknown; details?: { causes?: unknown; retryAfterSeconds?: unknown } } | string;
    let reason = '';
    let message = '';
    let causes: StatusCause[] = [];
    let retryAfter: number | undefined;
    if (body && typeof body === 'object') {
      reason = typeof body.reason === 'string' ? body.reason : '';
      message = typeof body.message === 'string' ? body.message : '';
      if (Array.isArray(body.details?.causes)) causes = body.details.causes as StatusCause[];
      if (typeof body.details?.retryAfterSeconds === 'number') retryAfter = body.details.retryAfterSeconds;
    } else if (typeof body === 'string') {
      message = body.trim().slice(0, 500);
    }
    const header = res.headers['retry-after'];
    if (retryAfter === undefined && typeof header === 'string' && /^\d+$/.test(header)) retryAfter = Number(header);
    return new ApiError(res.status, reason, `${what}: ${message || `HTTP ${res.status}`}`, causes, retryAfter);
  }

  /** Server-side apply conflicts with other field managers (409 with FieldManagerConflict causes). */
  get fieldConflicts(): readonly StatusCause[] {
    return this.status === 409 ? this.causes.filter((c) => c.reason === 'FieldManagerConflict') : [];
  }
}

/** A run- or object-level failure carrying its code; thrown inside lib/cluster, caught at the edges. */
export class ClusterError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, retryable = false) {
    super(message);
    this.name = 'ClusterError';
    this.code = code;
    this.retryable = retryable;
  }
}

/** Worth retrying in place (same request, a little later)? */
export function isTransient(e: unknown): boolean {
  if (e instanceof NetworkError) return e.code !== 'ABORTED';
  if (e instanceof ApiError) {
    if (e.status === 429 || e.status === 500 || e.status === 502 || e.status === 503 || e.status === 504) return true;
    // 409 without field-manager causes is an optimistic-concurrency clash ("the object has
    // been modified"): the same request a moment later normally goes through.
    if (e.status === 409 && e.reason === 'Conflict' && e.fieldConflicts.length === 0) return true;
  }
  return false;
}

/** Turn anything thrown while handling one object into the value we report. */
export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof ClusterError) return { code: e.code, message: e.message, ...(e.retryable ? { retryable: true } : {}) };
  if (e instanceof NetworkError) return { code: Codes.transient, message: e.message, retryable: true };
  if (e instanceof ApiError) {
    if (e.status === 401 || e.status === 403) return { code: Codes.permission, message: e.message };
    if (e.status === 400 || e.status === 404 || e.status === 422 || e.status === 415) return { code: Codes.resource, message: e.message };
    if (e.status === 409) return { code: Codes.conflict, message: e.message, retryable: true };
    if (isTransient(e)) return { code: Codes.transient, message: e.message, retryable: true };
    return { code: Codes.apiServer, message: e.message };
  }
  const err = e as Error;
  return { code: Codes.internal, message: err?.message ?? String(e) };
}
