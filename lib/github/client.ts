/**
 * The one way pushsync talks to GitHub: an Octokit with retry (5xx) and throttling (rate limits)
 * plugins, App-installation or token auth, the delivery id on every request, and a counter of the
 * HTTP requests actually sent (the benchmarks report "GitHub API calls per push").
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import type { ThrottlingOptions } from '@octokit/plugin-throttling';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { PUSHSYNC_VERSION } from '../version.ts';
import { createLogger, registerSecret } from '../log.ts';
import type { Logger } from '../log.ts';
import { describeCall, toGitHubError } from './errors.ts';

export { PUSHSYNC_VERSION };
export const USER_AGENT = `pushsync/${PUSHSYNC_VERSION}`;
/** Sent on every request made for one webhook delivery, so it can be traced end to end. */
export const DELIVERY_HEADER = 'x-pushsync-delivery';
/** The REST API version our calls are written against. */
export const GITHUB_API_VERSION = '2022-11-28';
export const DEFAULT_BASE_URL = 'https://api.github.com';

export type GitHubAuth =
  | { readonly kind: 'token'; readonly token: string }
  | {
      readonly kind: 'app';
      readonly appId: number | string;
      /** PEM (PKCS#1 or PKCS#8). */
      readonly privateKey: string;
      /** From the push payload's `installation.id`. */
      readonly installationId: number;
    };

/** What the client logs through (retries, rate limits); lib/log.ts's Logger fits. */
export type GitHubLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface CreateOctokitOptions {
  readonly auth: GitHubAuth;
  /** GitHub Enterprise (`https://ghe.example.com/api/v3`) or a test stand-in. Default api.github.com. */
  readonly baseUrl?: string;
  /** The webhook delivery this client works for: sent as `x-pushsync-delivery`, named in errors and logs. */
  readonly deliveryId?: string;
  /** Counts every HTTP request sent (retries and token exchanges included). Share one across clients to count a whole push. */
  readonly counter?: ApiCallCounter;
  /** Retries of a 5xx / network failure (plugin-retry). Default 3. */
  readonly retries?: number;
  /** Retries after a rate-limit answer (plugin-throttling). Default 2. */
  readonly rateLimitRetries?: number;
  /** A rate limit that resets later than this is not waited for: fail at once. Default 60 s. */
  readonly maxRateLimitWaitSeconds?: number;
  /** Milliseconds per "second" of the plugins' delays. Default 1000; tests pass 1. */
  readonly retryBaseDelayMs?: number;
  /**
   * Minimum time between two writes (statuses, check runs) of one identity. GitHub asks for one
   * second between content-creating requests (secondary rate limits). Default 1000; 0 disables.
   */
  readonly writeSpacingMs?: number;
  /** Per HTTP request. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /**
   * Epoch ms past which no rate-limit wait may end: a limit whose retry-after would take a call
   * past it fails at once (GITHUB_RATE_LIMITED, retryable: the job concludes "will retry"). Default:
   * the deadline of the job the call is made for (runWithDeadline), else none.
   */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /** Default: a lib/log.ts logger carrying the delivery id. */
  readonly log?: GitHubLog;
}

export const CLIENT_DEFAULTS = {
  baseUrl: DEFAULT_BASE_URL,
  retries: 3,
  rateLimitRetries: 2,
  maxRateLimitWaitSeconds: 60,
  retryBaseDelayMs: 1000,
  writeSpacingMs: 1000,
  requestTimeoutMs: 30_000,
} as const;

const PushsyncOctokit = Octokit.plugin(retry, throttling);

const jobDeadline = new AsyncLocalStorage<number>();

/**
 * Run `fn` with `deadline` (epoch ms) as the limit of every GitHub rate-limit wait started inside
 * it, by any client: the jobs' handler wraps each job in it, so a client made for the job (which
 * knows nothing of the job) never sleeps past the job's time.
 */
export function runWithDeadline<T>(deadline: number | undefined, fn: () => T): T {
  return deadline === undefined ? fn() : jobDeadline.run(deadline, fn);
}

/** The deadline runWithDeadline set for the current job, if any. */
export function currentDeadline(): number | undefined {
  return jobDeadline.getStore();
}

/**
 * An Octokit for one delivery. Cheap to create per invocation: App installation tokens are cached
 * per process (per base URL and App), so a warm function does not mint a token per delivery.
 */
export function createOctokit(options: CreateOctokitOptions): Octokit {
  const o = { ...CLIENT_DEFAULTS, ...definedOnly(options) };
  const baseUrl = o.baseUrl.replace(/\/+$/, '');
  const log = options.log ?? createLogger({ fields: { component: 'github', ...(options.deliveryId ? { deliveryId: options.deliveryId } : {}) } });
  // Masked in every log line from here on, whoever logs what.
  if (options.auth.kind === 'token') registerSecret(options.auth.token);
  else registerSecret(options.auth.privateKey);
  const identity = identityOf(options.auth);

  const spacer = writeSpacer(`${baseUrl}|${identity}`, o.writeSpacingMs);
  /**
   * The throttling plugin asks, for a 403/429 rate-limit answer, whether to wait `retryAfter`
   * seconds (GitHub's retry-after for a secondary limit, its x-ratelimit-reset for the primary one)
   * and try again. Yes while retries are left, the wait is within maxRateLimitWaitSeconds, and it
   * ends before the call's deadline; else the call fails GITHUB_RATE_LIMITED. A secondary limit
   * also holds back this identity's other writes in this process for that long: sent meanwhile,
   * each would only meet the limit again.
   */
  const onLimit = (kind: 'rate limit' | 'secondary rate limit') => (retryAfter: number, req: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
    const call = describeCall({ method: req.method, url: req.url, baseUrl });
    const waitMs = retryAfter * o.retryBaseDelayMs;
    const deadline = options.deadline ?? (req as { request?: { pushsyncDeadline?: number } }).request?.pushsyncDeadline;
    const pastDeadline = deadline !== undefined && Date.now() + waitMs > deadline;
    const again = retryCount < o.rateLimitRetries && retryAfter <= o.maxRateLimitWaitSeconds && !pastDeadline;
    if (again && kind === 'secondary rate limit') spacer.pause(Date.now() + waitMs);
    log.warn(
      again
        ? `GitHub ${kind} on ${call}: retry ${retryCount + 1} of ${o.rateLimitRetries} in ${retryAfter} s`
        : pastDeadline && retryCount < o.rateLimitRetries && retryAfter <= o.maxRateLimitWaitSeconds
          ? `GitHub ${kind} on ${call}: giving up (the limit resets in ${retryAfter} s, after the job's deadline)`
          : `GitHub ${kind} on ${call}: giving up (${retryCount} retries done, limit resets in ${retryAfter} s)`,
    );
    return again;
  };

  const fetchFn = instrumentedFetch({
    baseUrl,
    deliveryId: options.deliveryId,
    counter: options.counter,
    timeoutMs: o.requestTimeoutMs,
    signal: options.signal,
  });
  const common = {
    baseUrl,
    userAgent: USER_AGENT,
    // Octokit logs every request at info and every non-2xx (a 404 we expect included) at error;
    // failures reach the caller as GitHubErrors, so those lines are debug detail here.
    log: { debug: (m: string) => log.debug(m), info: (m: string) => log.debug(m), warn: (m: string) => log.warn(m), error: (m: string) => log.debug(m) },
    request: { fetch: fetchFn },
    retry: {
      retries: o.retries,
      retryAfterBaseValue: o.retryBaseDelayMs,
      // 409 is "Git repository is empty" / conflicts: retrying does not help. 429 is a rate limit:
      // the throttling plugin waits for its retry-after (a retry here would ignore it).
      doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451],
    },
    throttle: {
      onRateLimit: onLimit('rate limit'),
      onSecondaryRateLimit: onLimit('secondary rate limit'),
      retryAfterBaseValue: o.retryBaseDelayMs,
      // The plugin's own write group is a process-wide singleton with a fixed 1 s spacing;
      // ours has the same contract with the spacing as an option.
      write: spacer as unknown as NonNullable<ThrottlingOptions['write']>,
    },
  };

  const octokit =
    options.auth.kind === 'token'
      ? new PushsyncOctokit({ ...common, auth: options.auth.token })
      : new PushsyncOctokit({
          ...common,
          authStrategy: createAppAuth,
          auth: {
            appId: options.auth.appId,
            privateKey: options.auth.privateKey,
            installationId: options.auth.installationId,
            cache: tokenCache(`${baseUrl}|${identity}`),
          },
        });

  // Registered after the plugins, so it wraps them: it sees each call once, counts the attempts
  // the plugins make (through a per-call fetch), and turns the final failure into a GitHubError.
  octokit.hook.wrap('request', async (request, req) => {
    let attempts = 0;
    const inner = req.request?.fetch ?? fetchFn;
    const counted: typeof fetch = (input, init) => {
      attempts++;
      return inner(input, init);
    };
    // before-after-hook hands every hook the same options object (not what an outer hook passes
    // on), so the per-call fetch is set on it, as the plugins set their retry counts.
    // The job's deadline rides along for onLimit (the plugins hand it these same options).
    const deadline = options.deadline ?? currentDeadline();
    req.request = { ...req.request, fetch: counted, ...(deadline !== undefined ? { pushsyncDeadline: deadline } : {}) } as typeof req.request;
    try {
      // Awaited only when paused: an unpaused write goes out in the same tick, as before.
      const pausedMs = req.method !== 'GET' && req.method !== 'HEAD' ? spacer.pausedFor(deadline) : 0;
      if (pausedMs > 0) await new Promise((resolve) => setTimeout(resolve, pausedMs));
      return await request(req);
    } catch (err) {
      throw toGitHubError(err, { method: req.method, url: req.url, baseUrl, deliveryId: options.deliveryId, retries: attempts - 1 });
    }
  });
  return octokit;
}

/** One HTTP request as sent. */
export interface ApiCallRecord {
  readonly method: string;
  /** Path relative to the API root (`/repos/o/r/git/trees/abc`), no query. */
  readonly path: string;
  /** Undefined when no answer arrived. */
  readonly status: number | undefined;
  readonly ms: number;
}

/** Counts HTTP requests to GitHub. Keeps the last `keep` records; counts everything. */
export class ApiCallCounter {
  #total = 0;
  #records: ApiCallRecord[] = [];
  readonly #keep: number;

  constructor(keep = 10_000) {
    this.#keep = keep;
  }

  record(call: ApiCallRecord): void {
    this.#total++;
    this.#records.push(call);
    if (this.#records.length > this.#keep) this.#records.splice(0, this.#records.length - this.#keep);
  }

  get total(): number {
    return this.#total;
  }

  get calls(): readonly ApiCallRecord[] {
    return this.#records;
  }

  /** `{"GET /repos/o/r/git/trees/abc": 1, …}` over the kept records. */
  byCall(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.#records) out[`${c.method} ${c.path}`] = (out[`${c.method} ${c.path}`] ?? 0) + 1;
    return out;
  }

  reset(): void {
    this.#total = 0;
    this.#records = [];
  }
}

interface FetchOptions {
  readonly baseUrl: string;
  readonly deliveryId: string | undefined;
  readonly counter: ApiCallCounter | undefined;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/** Every physical request passes here (token exchanges too), so headers and counts cannot be missed. */
function instrumentedFetch(o: FetchOptions): typeof fetch {
  const basePath = new URL(o.baseUrl).pathname.replace(/\/$/, '');
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('x-github-api-version', GITHUB_API_VERSION);
    if (o.deliveryId !== undefined) headers.set(DELIVERY_HEADER, o.deliveryId);
    const signals = [AbortSignal.timeout(o.timeoutMs)];
    if (init?.signal) signals.push(init.signal);
    if (o.signal) signals.push(o.signal);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const path = basePath !== '' && url.pathname.startsWith(basePath + '/') ? url.pathname.slice(basePath.length) : url.pathname;
    const method = (init?.method ?? 'GET').toUpperCase();
    const started = performance.now();
    let status: number | undefined;
    try {
      const res = await fetch(input, { ...init, headers, signal: AbortSignal.any(signals) });
      status = res.status;
      return res;
    } finally {
      o.counter?.record({ method, path, status, ms: Math.round(performance.now() - started) });
    }
  };
}

/** Distinguishes rate-limit identities without keeping a token in a map key. */
function identityOf(auth: GitHubAuth): string {
  return auth.kind === 'app' ? `app:${auth.appId}` : `token:${createHash('sha256').update(auth.token).digest('hex').slice(0, 16)}`;
}

interface Spacer {
  key(id: string): Spacer;
  schedule<T>(jobOptions: unknown, fn: (...args: unknown[]) => T | Promise<T>, ...args: unknown[]): Promise<T>;
  /** No write starts before `untilMs` (epoch ms): GitHub asked this identity to wait. */
  pause(untilMs: number): void;
  /** Milliseconds until the pause is over, or until `deadline` if sooner (0: not paused). */
  pausedFor(deadline: number | undefined): number;
}

const spacers = new Map<string, Spacer>();

/** The subset of Bottleneck.Group that plugin-throttling uses for writes: `key(id).schedule(opts, fn)`. */
function writeSpacer(key: string, spacingMs: number): Spacer {
  const mapKey = `${key}|${spacingMs}`;
  const existing = spacers.get(mapKey);
  if (existing) return existing;
  let next = 0;
  let pausedUntil = 0;
  const spacer: Spacer = {
    key: () => spacer,
    async schedule(_jobOptions, fn, ...args) {
      if (spacingMs > 0) {
        const now = Date.now();
        const at = Math.max(now, next);
        next = at + spacingMs;
        if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
      }
      return fn(...args);
    },
    pause(untilMs) {
      pausedUntil = Math.max(pausedUntil, untilMs);
    },
    pausedFor(deadline) {
      // Never held past the call's deadline: sent then, it meets the limit and fails at once.
      return Math.max(0, Math.min(pausedUntil, deadline ?? Number.POSITIVE_INFINITY) - Date.now());
    },
  };
  spacers.set(mapKey, spacer);
  return spacer;
}

/** Tokens live one hour; keep them 50 minutes so one is never used in its last minutes. */
const TOKEN_TTL_MS = 50 * 60 * 1000;
const MAX_TOKENS = 1000;
const tokenCaches = new Map<string, { get(key: string): string; set(key: string, value: string): void }>();

/**
 * @octokit/auth-app keeps installation tokens in the `cache` it is given (its documented
 * extension point); by default a new one per Octokit, which would mint a token per delivery in a
 * warm function. This store lives as long as the process. Its keys are auth-app's (installation
 * id + permissions), hence one store per base URL and App.
 */
function tokenCache(key: string) {
  const existing = tokenCaches.get(key);
  if (existing) return existing;
  const entries = new Map<string, { value: string; expires: number }>();
  const store = {
    get(k: string): string {
      const e = entries.get(k);
      if (e === undefined) return '';
      if (e.expires <= Date.now()) {
        entries.delete(k);
        return '';
      }
      return e.value;
    },
    set(k: string, value: string): void {
      entries.delete(k);
      entries.set(k, { value, expires: Date.now() + TOKEN_TTL_MS });
      if (entries.size > MAX_TOKENS) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
    },
  };
  tokenCaches.set(key, store);
  return store;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
