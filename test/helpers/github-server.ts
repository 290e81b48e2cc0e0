/**
 * A local stand-in for the parts of GitHub's REST API pushsync uses, backed by a real git
 * repository on disk (tests push by committing to it). node:http on 127.0.0.1, random port.
 *
 *   startGitHubServer(options)  → GitHubServer: url (an Octokit baseUrl), token, git, records
 *
 * Endpoints: GET /repos/{o}/{r}; git/trees/{sha}[?recursive=1] (truncation threshold
 * configurable); git/blobs/{sha}; contents/{path}?ref= (files, directories, symlinks as GitHub
 * answers them); git/ref/heads/{branch}; commits/{ref}; compare/{base}...{head};
 * POST statuses/{sha} and GET commits/{ref}/statuses; POST/PATCH/GET check-runs (App
 * installations only, as on GitHub); POST /app/installations/{id}/access_tokens (JWT verified
 * with the test's public key); deployments (below).
 *
 * Deployments, as GitHub answers them: POST deployments (ref resolved to a SHA, 422 for an
 * unknown ref; `required_contexts` omitted means every status context of the commit must be
 * `success`, else 409, as GitHub checks; environment default `production`,
 * `production_environment` default true only there; 201 with the deployment), GET deployments
 * (newest first, filtered by sha, ref, task, environment), GET deployments/{id}, POST
 * deployments/{id}/statuses (state, description ≤ 140, log_url also sets target_url,
 * environment_url, environment; `auto_inactive` (default true): a `success` adds an `inactive`
 * status to the environment's earlier successful, non-transient, non-production deployments)
 * and GET deployments/{id}/statuses (newest first). `server.deployments({environment, sha})`
 * lists them with their statuses oldest first; `deploymentsPermission: 'none'` (or
 * setDeploymentsPermission) makes every deployments call answer 403 "Resource not accessible by
 * integration" (by personal access token, for a token), as GitHub does without "Deployments:
 * read and write". Auto-merge (`auto_merge`, 202) is not modelled: fail() injects such answers.
 *
 * GitHub's secondary rate limits, when asked (`secondaryLimits`): content-creating requests
 * (POST, PATCH, PUT, DELETE on repository endpoints; not the App's token exchange) beyond
 * `perMinute` in any 60 s, or `perHour` in any hour, and any request beyond `concurrency` in
 * flight, are answered 403 (or `status: 429`) with `retry-after` and GitHub's documented message
 * ("You have exceeded a secondary rate limit…"), without being carried out; `limitErrors` counts
 * them and `writeTimes` holds when each accepted write arrived. `latencyMs` answers every request
 * that much later (a GitHub that is 50 ms away).
 *
 * It records every request (method, path, headers, body, answer), can fail the next N requests
 * to a path (5xx, primary or secondary rate limit) or answer them slowly (`delay`), and with `contract: true` checks every
 * request and response against GitHub's OpenAPI description, collecting `violations`.
 */
import { createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import path from 'node:path';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GitRepo } from './github-server/git-repo.ts';
import * as gh from './github-server/objects.ts';
import type { AnnotationRecord, CheckRunRecord, CommitInfo, DeploymentRecord, DeploymentStatusRecord, Site, StatusRecord } from './github-server/objects.ts';
import { findOperation, validateRequestBody, validateResponse } from './github-server/openapi.ts';

export { GitRepo } from './github-server/git-repo.ts';
export type { CommitOptions, FileChange } from './github-server/git-repo.ts';
export { buildPushPayload, signWebhook, webhookDelivery, ZERO_SHA } from './github-server/payloads.ts';
export type { PushPayload, PushPayloadInput, WebhookDelivery } from './github-server/payloads.ts';
export type { AnnotationRecord, CheckRunRecord, DeploymentRecord, DeploymentStatusRecord, DeploymentStatusState, StatusRecord } from './github-server/objects.ts';

export interface AppConfig {
  readonly appId: number;
  /** PEM or KeyObject: the public half of the key the client signs its JWTs with. */
  readonly publicKey: string | KeyObject;
  readonly installationId: number;
}

/** A tree entry as the stand-in answers it (rewriteTree may craft others). */
export interface TreeEntryOut {
  path: string;
  mode: string;
  type: string;
  sha: string;
  size?: number;
  url?: string;
}

export interface GitHubServerOptions {
  readonly owner?: string;
  readonly repo?: string;
  readonly defaultBranch?: string;
  /** An existing repository; default a new empty one (removed on close). */
  readonly git?: GitRepo;
  /** Recursive trees with more entries than this answer the first N and `truncated: true`. */
  readonly truncateTreesOver?: number;
  readonly app?: AppConfig;
  /** Check every request and response against GitHub's OpenAPI description. */
  readonly contract?: boolean;
  /** Rewrite the entries of a tree answer (crafted paths for validation tests). */
  readonly rewriteTree?: (entries: TreeEntryOut[], recursive: boolean) => TreeEntryOut[];
  /** The credentials' "Deployments" permission; `none` refuses every deployments call with 403. Default `write`. */
  readonly deploymentsPermission?: 'write' | 'none';
  /** Enforce GitHub's secondary rate limits (see the header); absent = none enforced. */
  readonly secondaryLimits?: SecondaryLimits;
  /** Every answer this much later (ms): the round trip to a GitHub far away. Default 0. */
  readonly latencyMs?: number;
}

/** GitHub's secondary rate limits (docs.github.com "Rate limits for the REST API"). */
export interface SecondaryLimits {
  /** Content-creating requests in any 60 s. GitHub: 80. */
  readonly perMinute?: number;
  /** Content-creating requests in any hour. GitHub: 500. */
  readonly perHour?: number;
  /** Requests in flight at once. GitHub: 100. */
  readonly concurrency?: number;
  /** The answer's status: GitHub sends 403 or 429. Default 403. */
  readonly status?: 403 | 429;
}

export const GITHUB_SECONDARY_LIMITS = { perMinute: 80, perHour: 500, concurrency: 100 } as const;

/** GitHub's words for a secondary limit (the throttling plugin recognises "secondary rate"). */
export const SECONDARY_LIMIT_MESSAGE = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID';

export interface RecordedRequest {
  readonly method: string;
  /** Raw path, still percent-encoded, without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  /** OpenAPI operationId, when contract checking is on and the request matched one. */
  operation?: string;
  status?: number;
  /** True when an injected fault answered. */
  faulted?: boolean;
  /** True when the client went away (an aborted call) before the answer was sent. */
  aborted?: boolean;
}

export interface Fault {
  readonly method?: string;
  /** Matched against the raw path (string: exact or prefix ending in `*`). */
  readonly path: string | RegExp;
  times: number;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** A slow GitHub: matching requests are answered only after `ms`. */
export interface Delay {
  readonly method?: string;
  /** As for Fault. */
  readonly path: string | RegExp;
  readonly ms: number;
  /** How many requests to slow down; default all. */
  times: number;
}

export interface RateLimitFault {
  readonly method?: string;
  readonly path: string | RegExp;
  readonly times: number;
  /** When the primary limit resets; default now (so a client may retry at once). */
  readonly resetInSeconds?: number;
  /** A secondary limit (403 + retry-after) instead of the primary one. */
  readonly secondary?: boolean;
  readonly retryAfterSeconds?: number;
}

export interface GitHubServer {
  /** The API root: pass as Octokit's baseUrl. */
  readonly url: string;
  readonly owner: string;
  readonly repo: string;
  readonly git: GitRepo;
  /** A personal access token the server accepts. */
  readonly token: string;
  readonly requests: RecordedRequest[];
  readonly statuses: StatusRecord[];
  readonly checkRuns: CheckRunRecord[];
  /** Contract problems seen (only with `contract: true`). */
  readonly violations: string[];
  /** Installation tokens issued so far. */
  readonly issuedTokens: readonly string[];
  /** Most requests in progress at once since the last clearRequests(). */
  readonly peakConcurrency: number;
  /** Requests refused by the secondary limits (`secondaryLimits`) since the last clearRequests(). */
  readonly limitErrors: number;
  /** When each accepted content-creating request arrived (epoch ms), since the last clearRequests(). */
  readonly writeTimes: readonly number[];
  /** The most accepted content-creating requests in any 60 s window of writeTimes. */
  maxWritesPerMinute(): number;
  /** Requests to repository and app endpoints (the "API calls" a client made). */
  apiCalls(filter?: { method?: string; path?: string | RegExp }): RecordedRequest[];
  /** The newest status per context for a commit. */
  latestStatuses(sha: string): Map<string, StatusRecord>;
  /** Deployments in creation order, each with its statuses oldest first; optionally one environment's or one commit's. */
  deployments(filter?: { environment?: string; sha?: string }): readonly DeploymentRecord[];
  /** Grant or take away the "Deployments" permission from here on (installation tokens and the token alike). */
  setDeploymentsPermission(permission: 'write' | 'none'): void;
  fail(fault: Omit<Fault, 'times'> & { times?: number }): void;
  rateLimit(fault: RateLimitFault): void;
  delay(delay: Omit<Delay, 'times'> & { times?: number }): void;
  setTruncateTreesOver(n: number | undefined): void;
  /** Forget recorded requests (statuses and check runs stay). */
  clearRequests(): void;
  /** Drop the faults and delays not yet used up. */
  clearFaults(): void;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Principal = { kind: 'token' } | { kind: 'installation'; id: number } | { kind: 'app' };

interface Ctx {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly body: unknown;
  readonly principal: Principal;
}

class StandIn implements GitHubServer {
  url = '';
  readonly owner: string;
  readonly repo: string;
  readonly git: GitRepo;
  readonly token = `ghp_${randomBytes(18).toString('hex')}`;
  readonly requests: RecordedRequest[] = [];
  readonly statuses: StatusRecord[] = [];
  readonly checkRuns: CheckRunRecord[] = [];
  readonly violations: string[] = [];
  readonly issuedTokens: string[] = [];
  readonly #deployments: DeploymentRecord[] = [];
  #deploymentsPermission: 'write' | 'none';
  readonly #resolved = new Map<string, string>();
  readonly #faults: Fault[] = [];
  readonly #delays: Delay[] = [];
  readonly #installationTokens = new Map<string, { installationId: number; expires: number }>();
  readonly #options: GitHubServerOptions;
  readonly #ownsGit: boolean;
  readonly #publicKey: KeyObject | undefined;
  #truncateOver: number | undefined;
  #server: Server | undefined;
  #nextId = 1;
  #remaining = 5000;
  #inflight = 0;
  peakConcurrency = 0;
  limitErrors = 0;
  readonly writeTimes: number[] = [];

  constructor(git: GitRepo, ownsGit: boolean, options: GitHubServerOptions) {
    this.git = git;
    this.#ownsGit = ownsGit;
    this.#options = options;
    this.owner = options.owner ?? 'acme';
    this.repo = options.repo ?? 'policy';
    this.#truncateOver = options.truncateTreesOver;
    this.#deploymentsPermission = options.deploymentsPermission ?? 'write';
    this.#publicKey = options.app === undefined ? undefined : typeof options.app.publicKey === 'string' ? createPublicKey(options.app.publicKey) : options.app.publicKey;
  }

  get #site(): Site {
    return { api: this.url, web: this.url.replace(/\/api$/, ''), owner: this.owner, repo: this.repo };
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.violations.push(`stand-in crashed on ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'stand-in error' }));
      });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  }

  apiCalls(filter: { method?: string; path?: string | RegExp } = {}): RecordedRequest[] {
    return this.requests.filter((r) => (filter.method === undefined || r.method === filter.method) && (filter.path === undefined || matches(filter.path, r.path)));
  }

  latestStatuses(sha: string): Map<string, StatusRecord> {
    const out = new Map<string, StatusRecord>();
    for (const s of this.statuses) if (s.sha === sha) out.set(s.context.toLowerCase(), s);
    return out;
  }

  deployments(filter: { environment?: string; sha?: string } = {}): readonly DeploymentRecord[] {
    return this.#deployments.filter((d) => (filter.environment === undefined || d.environment === filter.environment) && (filter.sha === undefined || d.sha === filter.sha));
  }

  setDeploymentsPermission(permission: 'write' | 'none'): void {
    this.#deploymentsPermission = permission;
  }

  fail(fault: Omit<Fault, 'times'> & { times?: number }): void {
    this.#faults.push({ ...fault, times: fault.times ?? 1 });
  }

  rateLimit(f: RateLimitFault): void {
    const reset = Math.floor(Date.now() / 1000) + (f.resetInSeconds ?? 0);
    const base = { ...(f.method ? { method: f.method } : {}), path: f.path, times: f.times };
    if (f.secondary) {
      this.fail({
        ...base,
        status: 403,
        headers: { 'retry-after': String(f.retryAfterSeconds ?? 1) },
        body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: DOCS },
      });
    } else {
      this.fail({
        ...base,
        status: 403,
        headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '5000', 'x-ratelimit-reset': String(reset), 'x-ratelimit-resource': 'core' },
        body: { message: 'API rate limit exceeded for installation ID 1.', documentation_url: DOCS },
      });
    }
  }

  delay(d: Omit<Delay, 'times'> & { times?: number }): void {
    this.#delays.push({ ...d, times: d.times ?? Number.POSITIVE_INFINITY });
  }

  setTruncateTreesOver(n: number | undefined): void {
    this.#truncateOver = n;
  }

  clearRequests(): void {
    this.requests.length = 0;
    this.peakConcurrency = 0;
    this.limitErrors = 0;
    this.writeTimes.length = 0;
  }

  maxWritesPerMinute(): number {
    let most = 0;
    let start = 0;
    for (let end = 0; end < this.writeTimes.length; end++) {
      while ((this.writeTimes[end] ?? 0) - (this.writeTimes[start] ?? 0) >= 60_000) start++;
      most = Math.max(most, end - start + 1);
    }
    return most;
  }

  /**
   * The secondary limits' answer for this request, or undefined when it may go on (and, for a
   * write, is counted). Judged on arrival, as GitHub does, so a refused write costs nothing.
   */
  #secondaryLimit(record: RecordedRequest): Answer | undefined {
    const limits = this.#options.secondaryLimits;
    if (limits === undefined) return undefined;
    const refuse = (retryAfter: number): Answer => {
      this.limitErrors++;
      return {
        status: limits.status ?? 403,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfter))) },
        body: { message: `${SECONDARY_LIMIT_MESSAGE} ${randomBytes(8).toString('hex').toUpperCase()}.`, documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits` },
      };
    };
    if (limits.concurrency !== undefined && this.#inflight > limits.concurrency) return refuse(1);
    const creating = record.method !== 'GET' && record.method !== 'HEAD' && !record.path.startsWith('/app/');
    if (!creating) return undefined;
    const now = Date.now();
    const windowed = (ms: number, max: number | undefined): number | undefined => {
      if (max === undefined) return undefined;
      const inWindow = this.writeTimes.filter((t) => now - t < ms);
      if (inWindow.length < max) return undefined;
      // Free again once the oldest write of the window has left it.
      return ((inWindow[inWindow.length - max] ?? now) + ms - now) / 1000;
    };
    const wait = windowed(60_000, limits.perMinute) ?? windowed(3_600_000, limits.perHour);
    if (wait !== undefined) return refuse(wait);
    this.writeTimes.push(now);
    return undefined;
  }

  clearFaults(): void {
    this.#faults.length = 0;
    this.#delays.length = 0;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.#ownsGit) await this.git.remove();
  }

  // ---- dispatch ------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.peakConcurrency = Math.max(this.peakConcurrency, ++this.#inflight);
    try {
      await this.#serve(req, res);
    } finally {
      this.#inflight--;
    }
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const u = new URL(req.url ?? '/', 'http://stand-in');
    const method = (req.method ?? 'GET').toUpperCase();
    // Requests arrive under /api (GitHub Enterprise style), so the base-URL handling is exercised.
    const path = u.pathname.startsWith('/api/') ? u.pathname.slice(4) : u.pathname;
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = raw.toString('utf8');
      }
    }
    const record: RecordedRequest = { method, path, query: Object.fromEntries(u.searchParams), headers: req.headers, body };
    this.requests.push(record);
    res.once('close', () => {
      if (!res.writableFinished) record.aborted = true;
    });
    const slow = this.#delays.find((d) => d.times > 0 && (d.method === undefined || d.method === record.method) && matches(d.path, record.path));
    if (slow) {
      slow.times--;
      await new Promise((resolve) => setTimeout(resolve, slow.ms));
    }

    const limited = this.#secondaryLimit(record);
    if (limited) record.faulted = true;
    const answer = limited ?? (await this.#answer(req, record));
    record.status = answer.status;
    const latency = this.#options.latencyMs ?? 0;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(Math.max(0, --this.#remaining)),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
      ...answer.headers,
    };
    const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
    res.writeHead(answer.status, headers);
    res.end(text);
  }

  async #answer(req: IncomingMessage, record: RecordedRequest): Promise<Answer> {
    const fault = this.#faults.find((f) => f.times > 0 && (f.method === undefined || f.method === record.method) && matches(f.path, record.path));
    if (fault) {
      fault.times--;
      record.faulted = true;
      return { status: fault.status, body: fault.body ?? { message: 'Server Error', documentation_url: DOCS }, ...(fault.headers ? { headers: { ...fault.headers } } : {}) };
    }

    const op = this.#options.contract ? findOperation(record.method, record.path) : undefined;
    if (this.#options.contract) {
      if (op === undefined) {
        this.violations.push(`${record.method} ${record.path}: no such operation in GitHub's OpenAPI description`);
        return notFound();
      }
      record.operation = op.operationId;
      const problems = typeof record.body === 'string' ? ['request body is not JSON'] : validateRequestBody(op, record.body);
      if (problems.length > 0) {
        this.violations.push(...problems.map((p) => `${op.operationId} ${p}`));
        return invalid(problems.join('; '));
      }
    }

    const auth = this.#authenticate(req, record.path);
    if ('status' in auth) return auth;
    const answer = await this.#route({ req, method: record.method, path: record.path, query: { ...record.query }, body: record.body, principal: auth });

    if (op !== undefined) {
      const problems = validateResponse(op, answer.status, answer.body);
      if (problems !== undefined && problems.length > 0) this.violations.push(...problems.map((p) => `${op.operationId} ${answer.status} ${p}`));
    }
    return answer;
  }

  #authenticate(req: IncomingMessage, path: string): Principal | Answer {
    const header = req.headers.authorization ?? '';
    const m = /^(token|bearer)\s+(\S+)$/i.exec(header);
    if (m?.[2] === undefined) return { status: 401, body: { message: 'Requires authentication', documentation_url: DOCS } };
    const credential = m[2];
    if (/^\/app\//.test(path)) {
      const problem = this.#verifyJwt(credential);
      return problem === undefined ? { kind: 'app' } : { status: 401, body: { message: problem, documentation_url: DOCS } };
    }
    if (credential === this.token) return { kind: 'token' };
    const inst = this.#installationTokens.get(credential);
    if (inst !== undefined && inst.expires > Date.now()) return { kind: 'installation', id: inst.installationId };
    return { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS } };
  }

  /** A GitHub App JWT: RS256 over header.payload with the App's key, iss = App id, ≤ 10 minutes. */
  #verifyJwt(jwt: string): string | undefined {
    if (this.#publicKey === undefined || this.#options.app === undefined) return 'no GitHub App is configured on this stand-in';
    const parts = jwt.split('.');
    if (parts.length !== 3) return 'A JSON web token could not be decoded';
    const [h, p, s] = parts as [string, string, string];
    let header: { alg?: string };
    let payload: { iat?: number; exp?: number; iss?: string | number };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
      payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as typeof payload;
    } catch {
      return 'A JSON web token could not be decoded';
    }
    if (header.alg !== 'RS256') return `JWT algorithm must be RS256, not ${header.alg}`;
    if (!verifySignature('sha256', Buffer.from(`${h}.${p}`), this.#publicKey, Buffer.from(s, 'base64url'))) return 'JWT signature does not verify';
    if (String(payload.iss) !== String(this.#options.app.appId)) return `'Issuer' claim ('iss') must be the App id`;
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat !== 'number' || payload.iat > now + 60) return `'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued`;
    if (typeof payload.exp !== 'number' || payload.exp <= now) return `'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires`;
    if (payload.exp - now > 600) return `'Expiration time' claim ('exp') is too far in the future`;
    return undefined;
  }

  async #route(c: Ctx): Promise<Answer> {
    if (c.method === 'POST') {
      const m = /^\/app\/installations\/([^/]+)\/access_tokens$/.exec(c.path);
      if (m) return this.#accessToken(Number(m[1]));
    }
    const repoPrefix = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(c.path);
    if (!repoPrefix || decodeURIComponent(repoPrefix[1] ?? '').toLowerCase() !== this.owner.toLowerCase() || decodeURIComponent(repoPrefix[2] ?? '').toLowerCase() !== this.repo.toLowerCase()) {
      return notFound();
    }
    if (c.principal.kind === 'app') return { status: 401, body: { message: 'A JSON web token cannot access repositories; use an installation token', documentation_url: DOCS } };
    const rest = repoPrefix[3] ?? '';
    let m: RegExpExecArray | null;
    if (c.method === 'GET' && rest === '') return { status: 200, body: gh.repository(this.#site, this.git.defaultBranch) };
    if (c.method === 'GET' && (m = /^\/git\/trees\/([^/]+)$/.exec(rest))) return this.#tree(decodeURIComponent(m[1] ?? ''), c.query.recursive !== undefined);
    if (c.method === 'GET' && (m = /^\/git\/blobs\/([^/]+)$/.exec(rest))) return this.#blob(decodeURIComponent(m[1] ?? ''));
    if (c.method === 'GET' && (m = /^\/git\/ref\/(.+)$/.exec(rest))) return this.#ref(decodeURIComponent(m[1] ?? ''));
    if (c.method === 'GET' && (m = /^\/contents\/(.+)$/.exec(rest))) return this.#contents(decodeURIComponent(m[1] ?? ''), c.query.ref ?? this.git.defaultBranch);
    if (c.method === 'GET' && (m = /^\/commits\/([^/]+)\/statuses$/.exec(rest))) return this.#listStatuses(decodeURIComponent(m[1] ?? ''), c.query);
    if (c.method === 'GET' && (m = /^\/commits\/([^/]+)$/.exec(rest))) return this.#commit(decodeURIComponent(m[1] ?? ''));
    if (c.method === 'GET' && (m = /^\/compare\/([^/]+)$/.exec(rest))) return this.#compare(decodeURIComponent(m[1] ?? ''), c.query);
    if (c.method === 'POST' && (m = /^\/statuses\/([^/]+)$/.exec(rest))) return this.#createStatus(decodeURIComponent(m[1] ?? ''), c);
    if (c.method === 'POST' && rest === '/check-runs') return this.#createCheckRun(c);
    if ((m = /^\/check-runs\/(\d+)$/.exec(rest))) {
      if (c.method === 'PATCH') return this.#updateCheckRun(Number(m[1]), c);
      if (c.method === 'GET') return this.#getCheckRun(Number(m[1]), c);
    }
    if ((m = /^\/deployments(?:\/([^/]+)(\/statuses)?)?$/.exec(rest))) {
      const denied = this.#deploymentsDenied(c);
      if (denied) return denied;
      if (m[1] === undefined) {
        if (c.method === 'POST') return this.#createDeployment(c);
        if (c.method === 'GET') return this.#listDeployments(c.query);
        return notFound();
      }
      const id = /^\d+$/.test(m[1]) ? Number(m[1]) : undefined;
      const d = this.#deployments.find((x) => x.id === id);
      if (d === undefined) return notFound();
      if (m[2] === undefined) return c.method === 'GET' ? { status: 200, body: gh.deployment(this.#site, d) } : notFound();
      if (c.method === 'POST') return this.#createDeploymentStatus(d, c);
      if (c.method === 'GET') return page(c.query, [...d.statuses].reverse(), (s) => gh.deploymentStatus(this.#site, d, s));
    }
    return notFound();
  }

  // ---- git data --------------------------------------------------------------------------------

  /** Resolve a SHA or ref name to an object of `type`, refusing anything git could read as an option. */
  async #resolve(name: string, type: 'tree' | 'commit'): Promise<string | undefined> {
    if (!/^[A-Za-z0-9._/-]+$/.test(name) || name.startsWith('-')) return undefined;
    // A full SHA names the same object forever: one `git rev-parse` each, not one per request
    // (the benchmarks run in this process, and a spawn per status write is CPU they measure).
    const immutable = /^[0-9a-f]{40}$/.test(name);
    const key = `${name}^{${type}}`;
    const known = immutable ? this.#resolved.get(key) : undefined;
    if (known !== undefined) return known;
    const sha = (await this.git.tryGit(['rev-parse', '--verify', '--quiet', key]))?.trim() || undefined;
    if (immutable && sha !== undefined) this.#resolved.set(key, sha);
    return sha;
  }

  async #tree(name: string, recursive: boolean): Promise<Answer> {
    const sha = await this.#resolve(name, 'tree');
    if (sha === undefined) return notFound();
    const out = await this.git.gitBytes(['ls-tree', '-l', '-z', ...(recursive ? ['-r', '-t'] : []), sha]);
    const api = `${this.#site.api}/repos/${this.owner}/${this.repo}`;
    let entries: TreeEntryOut[] = [];
    for (const rec of out.toString('utf8').split('\0')) {
      if (rec === '') continue;
      const tab = rec.indexOf('\t');
      const [mode = '', type = '', object = '', size = '-'] = rec.slice(0, tab).split(/ +/);
      const p = rec.slice(tab + 1);
      entries.push({
        path: p,
        mode,
        type,
        sha: object,
        ...(type === 'blob' ? { size: Number(size) } : {}),
        ...(type === 'commit' ? {} : { url: `${api}/git/${type}s/${object}` }),
      });
    }
    if (this.#options.rewriteTree) entries = this.#options.rewriteTree(entries, recursive);
    const limit = this.#truncateOver;
    const truncated = recursive && limit !== undefined && entries.length > limit;
    return { status: 200, body: { sha, url: `${api}/git/trees/${sha}`, tree: truncated ? entries.slice(0, limit) : entries, truncated } };
  }

  async #blob(sha: string): Promise<Answer> {
    if (!/^[0-9a-f]{40}$/.test(sha)) return invalid('The sha parameter must be exactly 40 characters and contain only [0-9a-f].');
    const type = (await this.git.tryGit(['cat-file', '-t', sha]))?.trim();
    if (type !== 'blob') return notFound();
    const bytes = await this.git.gitBytes(['cat-file', 'blob', sha]);
    // GitHub wraps base64 at 60 columns with a trailing newline.
    const content = (bytes.toString('base64').match(/.{1,60}/g) ?? []).map((l) => `${l}\n`).join('');
    return {
      status: 200,
      body: { sha, node_id: gh.nodeId('Blob', sha), size: bytes.byteLength, url: `${this.#site.api}/repos/${this.owner}/${this.repo}/git/blobs/${sha}`, content, encoding: 'base64' },
    };
  }

  /** One entry of `commit`'s tree at `p`, or undefined. */
  async #entryAt(commit: string, p: string): Promise<{ mode: string; type: string; sha: string; size: number } | undefined> {
    const slash = p.lastIndexOf('/');
    const parent = slash < 0 ? '' : p.slice(0, slash);
    const tree = await this.git.tryGit(['rev-parse', '--verify', '--quiet', `${commit}:${parent}`]);
    if (!tree) return undefined;
    const out = await this.git.tryGit(['ls-tree', '-l', '-z', tree.trim()]);
    for (const rec of (out ?? '').split('\0')) {
      const tab = rec.indexOf('\t');
      if (tab < 0 || rec.slice(tab + 1) !== p.slice(slash + 1)) continue;
      const [mode = '', type = '', sha = '', size = '-'] = rec.slice(0, tab).split(/ +/);
      return { mode, type, sha, size: size === '-' ? 0 : Number(size) };
    }
    return undefined;
  }

  /**
   * GET contents/{path}: a file's content (base64, empty with encoding "none" over 1 MB), a
   * directory's listing, a symlink answered with its target file's content when that is a
   * regular file in the repository (else the link itself), a submodule — as GitHub does.
   */
  async #contents(p: string, ref: string): Promise<Answer> {
    const commit = await this.#resolve(ref, 'commit');
    if (commit === undefined || p.split('/').some((s) => s === '' || s === '.' || s === '..')) return notFound();
    const entry = await this.#entryAt(commit, p);
    if (entry === undefined) return notFound();
    const api = `${this.#site.api}/repos/${this.owner}/${this.repo}`;
    const html = `${this.#site.web}/${this.owner}/${this.repo}`;
    const describe = (at: string, e: { type: string; sha: string; size: number }, type: string): Record<string, unknown> => {
      const self = `${api}/contents/${at.split('/').map(encodeURIComponent).join('/')}?ref=${ref}`;
      const git = e.type === 'commit' ? null : `${api}/git/${e.type}s/${e.sha}`;
      const htmlUrl = `${html}/${type === 'dir' ? 'tree' : 'blob'}/${ref}/${at}`;
      return {
        type, size: type === 'file' || type === 'symlink' ? e.size : 0, name: at.slice(at.lastIndexOf('/') + 1), path: at, sha: e.sha,
        url: self, git_url: git, html_url: htmlUrl, download_url: type === 'file' ? `${this.#site.web}/raw/${this.owner}/${this.repo}/${ref}/${at}` : null,
        _links: { self, git, html: htmlUrl },
      };
    };
    if (entry.type === 'tree') {
      const out = await this.git.gitBytes(['ls-tree', '-l', '-z', entry.sha]);
      const list: Record<string, unknown>[] = [];
      for (const rec of out.toString('utf8').split('\0')) {
        const tab = rec.indexOf('\t');
        if (tab < 0) continue;
        const [mode = '', type = '', sha = '', size = '-'] = rec.slice(0, tab).split(/ +/);
        const kind = type === 'tree' ? 'dir' : type === 'commit' ? 'submodule' : mode === '120000' ? 'symlink' : 'file';
        list.push(describe(`${p}/${rec.slice(tab + 1)}`, { type, sha, size: size === '-' ? 0 : Number(size) }, kind));
      }
      return { status: 200, body: list };
    }
    if (entry.type === 'commit') return { status: 200, body: { ...describe(p, entry, 'submodule'), submodule_git_url: 'https://example.invalid/submodule.git' } };
    const fileAnswer = async (at: string, e: { type: string; sha: string; size: number }): Promise<Answer> => {
      const bytes = await this.git.gitBytes(['cat-file', 'blob', e.sha]);
      const big = bytes.byteLength > 1024 * 1024;
      const content = big ? '' : (bytes.toString('base64').match(/.{1,60}/g) ?? []).map((l) => `${l}\n`).join('');
      return { status: 200, body: { ...describe(at, e, 'file'), content, encoding: big ? 'none' : 'base64' } };
    };
    if (entry.mode !== '120000') return fileAnswer(p, entry);
    const target = (await this.git.gitBytes(['cat-file', 'blob', entry.sha])).toString('utf8');
    const slash = p.lastIndexOf('/');
    const resolved = path.posix.normalize(path.posix.join(slash < 0 ? '' : p.slice(0, slash), target));
    const dest = target.startsWith('/') || resolved.startsWith('..') ? undefined : await this.#entryAt(commit, resolved);
    if (dest !== undefined && dest.type === 'blob' && dest.mode !== '120000') return fileAnswer(resolved, dest);
    return { status: 200, body: { ...describe(p, entry, 'symlink'), target } };
  }

  async #ref(ref: string): Promise<Answer> {
    if (!/^(heads|tags)\//.test(ref)) return notFound();
    const full = `refs/${ref}`;
    const sha = (await this.git.tryGit(['rev-parse', '--verify', '--quiet', full]))?.trim();
    if (!sha || !/^[A-Za-z0-9._/-]+$/.test(ref)) return notFound();
    const type = (await this.git.git(['cat-file', '-t', sha])).trim();
    const api = `${this.#site.api}/repos/${this.owner}/${this.repo}`;
    return {
      status: 200,
      body: { ref: full, node_id: gh.nodeId('Ref', full), url: `${api}/git/${full}`, object: { type, sha, url: `${api}/git/${type}s/${sha}` } },
    };
  }

  async #commitInfos(args: readonly string[]): Promise<CommitInfo[]> {
    const log = await this.git.git(['log', '--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x01', ...args]);
    const out: CommitInfo[] = [];
    for (const rec of log.split('\x01')) {
      const f = rec.replace(/^\n/, '').split('\x00');
      if (f.length < 10 || !f[0]) continue;
      out.push({
        sha: f[0],
        tree: f[1] ?? '',
        parents: (f[2] ?? '').split(' ').filter((s) => s !== ''),
        authorName: f[3] ?? '',
        authorEmail: f[4] ?? '',
        authorDate: f[5] ?? '',
        committerName: f[6] ?? '',
        committerEmail: f[7] ?? '',
        committerDate: f[8] ?? '',
        message: (f[9] ?? '').replace(/\n$/, ''),
      });
    }
    return out;
  }

  async #commitObject(sha: string): Promise<Record<string, unknown>> {
    const [info] = await this.#commitInfos(['--no-walk', sha]);
    if (info === undefined) throw new Error(`commit ${sha} vanished`);
    return gh.commit(this.#site, info);
  }

  async #commit(ref: string): Promise<Answer> {
    const sha = await this.#resolve(ref, 'commit');
    if (sha === undefined) return { status: 422, body: { message: `No commit found for SHA: ${ref}`, documentation_url: DOCS } };
    return { status: 200, body: { ...(await this.#commitObject(sha)), files: [], stats: { additions: 0, deletions: 0, total: 0 } } };
  }

  /** The ancestry oracle: status/ahead_by/behind_by from git merge-base and rev-list. */
  async #compare(basehead: string, query: Record<string, string>): Promise<Answer> {
    const m = /^(.+?)\.\.\.(.+)$/.exec(basehead);
    if (!m) return notFound();
    const base = await this.#resolve(m[1] ?? '', 'commit');
    const head = await this.#resolve(m[2] ?? '', 'commit');
    if (base === undefined || head === undefined) return notFound();
    const mergeBase = (await this.git.tryGit(['merge-base', base, head]))?.trim();
    if (!mergeBase) return { status: 404, body: { message: `No common ancestor between ${m[1]} and ${m[2]}.`, documentation_url: DOCS } };
    const aheadBy = Number((await this.git.git(['rev-list', '--count', `${base}..${head}`])).trim());
    const behindBy = Number((await this.git.git(['rev-list', '--count', `${head}..${base}`])).trim());
    const status = base === head ? 'identical' : behindBy === 0 ? 'ahead' : aheadBy === 0 ? 'behind' : 'diverged';
    const perPage = Math.min(Number(query.per_page ?? 250) || 250, 250);
    const page = Math.max(Number(query.page ?? 1) || 1, 1);
    const listed = aheadBy === 0 ? [] : await this.#commitInfos(['--reverse', `${base}..${head}`]);
    const site = this.#site;
    const api = `${site.api}/repos/${this.owner}/${this.repo}`;
    const html = `${site.web}/${this.owner}/${this.repo}`;
    return {
      status: 200,
      body: {
        url: `${api}/compare/${basehead}`,
        html_url: `${html}/compare/${basehead}`,
        permalink_url: `${html}/compare/${this.owner}:${base}...${this.owner}:${head}`,
        diff_url: `${html}/compare/${basehead}.diff`,
        patch_url: `${html}/compare/${basehead}.patch`,
        base_commit: await this.#commitObject(base),
        merge_base_commit: await this.#commitObject(mergeBase),
        status,
        ahead_by: aheadBy,
        behind_by: behindBy,
        total_commits: aheadBy,
        commits: listed.slice((page - 1) * perPage, page * perPage).map((c) => gh.commit(site, c)),
        files: [],
      },
    };
  }

  // ---- statuses and check runs --------------------------------------------------------------

  async #createStatus(shaIn: string, c: Ctx): Promise<Answer> {
    const b = (c.body ?? {}) as { state?: unknown; target_url?: unknown; description?: unknown; context?: unknown };
    const sha = /^[0-9a-f]{40}$/.test(shaIn) ? await this.#resolve(shaIn, 'commit') : undefined;
    if (sha === undefined) return invalid(`No commit found for SHA: ${shaIn}`);
    if (b.state !== 'error' && b.state !== 'failure' && b.state !== 'pending' && b.state !== 'success') return invalid('state is not included in the list');
    const context = typeof b.context === 'string' ? b.context : 'default';
    const description = typeof b.description === 'string' ? b.description : null;
    // GitHub's documented limits (not in the OpenAPI schema).
    if (context.length > 255) return invalid('context is too long (maximum is 255 characters)');
    if (description !== null && description.length > 140) return invalid('description is too long (maximum is 140 characters)');
    const sameContext = this.statuses.filter((s) => s.sha === sha && s.context.toLowerCase() === context.toLowerCase()).length;
    if (sameContext >= 1000) return invalid('This SHA and context has reached the maximum number of statuses.');
    const record: StatusRecord = {
      id: this.#nextId++,
      sha,
      state: b.state,
      description,
      target_url: typeof b.target_url === 'string' ? b.target_url : null,
      context,
      created_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      by: c.principal.kind === 'installation' ? `installation:${c.principal.id}` : 'token',
    };
    this.statuses.push(record);
    return { status: 201, body: gh.status(this.#site, record) };
  }

  async #listStatuses(ref: string, query: Record<string, string>): Promise<Answer> {
    const sha = await this.#resolve(ref, 'commit');
    if (sha === undefined) return { status: 200, body: [] };
    const perPage = Math.min(Number(query.per_page ?? 30) || 30, 100);
    const page = Math.max(Number(query.page ?? 1) || 1, 1);
    const all = this.statuses.filter((s) => s.sha === sha).reverse();
    return { status: 200, body: all.slice((page - 1) * perPage, page * perPage).map((s) => gh.status(this.#site, s)) };
  }

  #requireInstallation(c: Ctx): Answer | undefined {
    if (c.principal.kind === 'installation') return undefined;
    return { status: 403, body: { message: 'You must authenticate via a GitHub App.', documentation_url: DOCS } };
  }

  async #createCheckRun(c: Ctx): Promise<Answer> {
    const denied = this.#requireInstallation(c);
    if (denied) return denied;
    const b = (c.body ?? {}) as CheckRunBody & { head_sha?: unknown };
    if (typeof b.name !== 'string' || typeof b.head_sha !== 'string') return invalid('name and head_sha are required');
    const sha = /^[0-9a-f]{40}$/.test(b.head_sha) ? await this.#resolve(b.head_sha, 'commit') : undefined;
    if (sha === undefined) return invalid(`No commit found for SHA: ${b.head_sha}`);
    const problem = checkRunProblem(b);
    if (problem) return invalid(problem);
    const run: CheckRunRecord = {
      id: this.#nextId++,
      name: b.name,
      head_sha: sha,
      status: 'queued',
      conclusion: null,
      started_at: new Date().toISOString(),
      completed_at: null,
      details_url: null,
      external_id: null,
      output: { title: null, summary: null, text: null },
      annotations: [],
      requests: 0,
    };
    applyCheckRunBody(run, b);
    this.checkRuns.push(run);
    return { status: 201, body: gh.checkRun(this.#site, run, this.#options.app?.appId ?? 1) };
  }

  async #updateCheckRun(id: number, c: Ctx): Promise<Answer> {
    const denied = this.#requireInstallation(c);
    if (denied) return denied;
    const run = this.checkRuns.find((r) => r.id === id);
    if (run === undefined) return notFound();
    const b = (c.body ?? {}) as CheckRunBody;
    const problem = checkRunProblem(b);
    if (problem) return invalid(problem);
    applyCheckRunBody(run, b);
    return { status: 200, body: gh.checkRun(this.#site, run, this.#options.app?.appId ?? 1) };
  }

  async #getCheckRun(id: number, c: Ctx): Promise<Answer> {
    const denied = this.#requireInstallation(c);
    if (denied) return denied;
    const run = this.checkRuns.find((r) => r.id === id);
    return run === undefined ? notFound() : { status: 200, body: gh.checkRun(this.#site, run, this.#options.app?.appId ?? 1) };
  }

  // ---- deployments -----------------------------------------------------------------------------

  #deploymentsDenied(c: Ctx): Answer | undefined {
    if (this.#deploymentsPermission === 'write') return undefined;
    const by = c.principal.kind === 'installation' ? 'integration' : 'personal access token';
    return { status: 403, body: { message: `Resource not accessible by ${by}`, documentation_url: `${DOCS}/deployments/deployments`, status: '403' } };
  }

  async #createDeployment(c: Ctx): Promise<Answer> {
    const b = (c.body ?? {}) as {
      ref?: unknown; task?: unknown; required_contexts?: unknown; payload?: unknown; environment?: unknown;
      description?: unknown; transient_environment?: unknown; production_environment?: unknown;
    };
    if (typeof b.ref !== 'string') return invalid('ref is required');
    const sha = await this.#resolve(b.ref, 'commit');
    if (sha === undefined) return invalid(`No ref found for: ${b.ref}`);
    // GitHub checks every context of the commit unless told which (an empty list: none).
    const latest = this.latestStatuses(sha);
    const required = Array.isArray(b.required_contexts) ? b.required_contexts.map(String) : [...latest.values()].map((s) => s.context);
    const notGreen = required
      .map((context) => ({ context, state: latest.get(context.toLowerCase())?.state ?? 'missing' }))
      .filter((x) => x.state !== 'success');
    if (notGreen.length > 0) {
      return {
        status: 409,
        body: {
          message: `Conflict: Commit status checks failed for ${b.ref}.`,
          errors: [{ contexts: notGreen, resource: 'Deployment', field: 'required_contexts', code: 'invalid' }],
          documentation_url: `${DOCS}/deployments/deployments#create-a-deployment`,
          status: '409',
        },
      };
    }
    const environment = typeof b.environment === 'string' ? b.environment : 'production';
    const record: DeploymentRecord = {
      id: this.#nextId++,
      ref: b.ref,
      sha,
      task: typeof b.task === 'string' ? b.task : 'deploy',
      environment,
      original_environment: environment,
      description: typeof b.description === 'string' ? b.description : null,
      payload: typeof b.payload === 'object' && b.payload !== null ? (b.payload as Record<string, unknown>) : typeof b.payload === 'string' ? b.payload : {},
      transient_environment: b.transient_environment === true,
      production_environment: typeof b.production_environment === 'boolean' ? b.production_environment : environment === 'production',
      created_at: now(),
      appId: c.principal.kind === 'installation' ? (this.#options.app?.appId ?? 1) : undefined,
      statuses: [],
    };
    this.#deployments.push(record);
    return { status: 201, body: gh.deployment(this.#site, record) };
  }

  #listDeployments(query: Record<string, string>): Answer {
    const list = this.#deployments
      .filter((d) => ['sha', 'ref', 'task', 'environment'].every((k) => query[k] === undefined || query[k] === 'none' || query[k] === String(d[k as 'sha' | 'ref' | 'task' | 'environment'])))
      .reverse();
    return page(query, list, (d) => gh.deployment(this.#site, d));
  }

  #createDeploymentStatus(d: DeploymentRecord, c: Ctx): Answer {
    const b = (c.body ?? {}) as { state?: unknown; description?: unknown; target_url?: unknown; log_url?: unknown; environment?: unknown; environment_url?: unknown; auto_inactive?: unknown };
    const states = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'] as const;
    const state = states.find((s) => s === b.state);
    if (state === undefined) return invalid('state is not included in the list');
    const description = typeof b.description === 'string' ? b.description : '';
    if (description.length > 140) return invalid('description is too long (maximum is 140 characters)');
    const logUrl = typeof b.log_url === 'string' ? b.log_url : typeof b.target_url === 'string' ? b.target_url : '';
    const environment = typeof b.environment === 'string' ? b.environment : (d.statuses[d.statuses.length - 1]?.environment ?? d.environment);
    const status: DeploymentStatusRecord = {
      id: this.#nextId++,
      state,
      description,
      environment,
      target_url: logUrl,
      log_url: logUrl,
      environment_url: typeof b.environment_url === 'string' ? b.environment_url : '',
      created_at: now(),
      auto: false,
    };
    d.statuses.push(status);
    if (state === 'success' && b.auto_inactive !== false) {
      for (const other of this.#deployments) {
        const last = other.statuses[other.statuses.length - 1];
        if (other === d || other.transient_environment || other.production_environment || last?.state !== 'success' || last.environment !== environment) continue;
        other.statuses.push({ ...last, id: this.#nextId++, state: 'inactive', description: '', created_at: now(), auto: true });
      }
    }
    return { status: 201, body: gh.deploymentStatus(this.#site, d, status), headers: { location: `${this.#site.api}/repos/${this.owner}/${this.repo}/deployments/${d.id}/statuses/${status.id}` } };
  }

  #accessToken(installationId: number): Answer {
    if (this.#options.app === undefined || installationId !== this.#options.app.installationId) return notFound();
    const token = `ghs_${randomBytes(18).toString('hex')}`;
    const expires = Date.now() + 3600_000;
    this.#installationTokens.set(token, { installationId, expires });
    this.issuedTokens.push(token);
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(expires).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        permissions: {
          checks: 'write',
          statuses: 'write',
          contents: 'read',
          metadata: 'read',
          ...(this.#deploymentsPermission === 'write' ? { deployments: 'write' as const } : {}),
        },
        repository_selection: 'all',
      },
    };
  }
}

interface CheckRunBody {
  name?: unknown;
  status?: unknown;
  conclusion?: unknown;
  started_at?: unknown;
  completed_at?: unknown;
  details_url?: unknown;
  external_id?: unknown;
  output?: { title?: unknown; summary?: unknown; text?: unknown; annotations?: unknown };
}

/** GitHub's rules beyond the schema's types: 50 annotations a request, 65535-character texts. */
function checkRunProblem(b: CheckRunBody): string | undefined {
  const annotations = b.output?.annotations;
  if (Array.isArray(annotations) && annotations.length > 50) return `Only 50 annotations are allowed per request (got ${annotations.length})`;
  for (const k of ['summary', 'text'] as const) {
    const v = b.output?.[k];
    if (typeof v === 'string' && v.length > 65535) return `output.${k} is too long (maximum is 65535 characters)`;
  }
  if (b.status === 'completed' && b.conclusion === undefined) return 'conclusion is required when status is completed';
  return undefined;
}

function applyCheckRunBody(run: CheckRunRecord, b: CheckRunBody): void {
  run.requests++;
  if (typeof b.name === 'string') run.name = b.name;
  if (typeof b.status === 'string') run.status = b.status;
  if (typeof b.conclusion === 'string') {
    run.conclusion = b.conclusion;
    run.status = 'completed';
    run.completed_at = typeof b.completed_at === 'string' ? b.completed_at : new Date().toISOString();
  }
  if (typeof b.started_at === 'string') run.started_at = b.started_at;
  if (typeof b.details_url === 'string') run.details_url = b.details_url;
  if (typeof b.external_id === 'string') run.external_id = b.external_id;
  if (b.output !== undefined) {
    if (typeof b.output.title === 'string') run.output.title = b.output.title;
    if (typeof b.output.summary === 'string') run.output.summary = b.output.summary;
    if (typeof b.output.text === 'string') run.output.text = b.output.text;
    // Each update appends its annotations (GitHub's documented behaviour).
    if (Array.isArray(b.output.annotations)) run.annotations.push(...(b.output.annotations as AnnotationRecord[]));
  }
}

function matches(pattern: string | RegExp, path: string): boolean {
  if (typeof pattern !== 'string') return pattern.test(path);
  return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

/** One page of a list (`per_page` ≤ 100, default 30; `page` from 1), as GitHub pages. */
function page<T>(query: Record<string, string>, all: readonly T[], render: (x: T) => unknown): Answer {
  const perPage = Math.min(Number(query.per_page ?? 30) || 30, 100);
  const n = Math.max(Number(query.page ?? 1) || 1, 1);
  return { status: 200, body: all.slice((n - 1) * perPage, n * perPage).map(render) };
}

/** GitHub's timestamps: seconds, `Z`. */
function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function notFound(): Answer {
  return { status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } };
}

function invalid(message: string): Answer {
  return { status: 422, body: { message, documentation_url: DOCS, errors: [{ resource: 'Request', code: 'invalid', message }] } };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > 50 * 1024 * 1024) throw new Error('request body over 50 MB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Start a stand-in on 127.0.0.1 (random port). Close it in afterAll/afterEach. */
export async function startGitHubServer(options: GitHubServerOptions = {}): Promise<GitHubServer> {
  const git = options.git ?? (await GitRepo.create({ ...(options.defaultBranch ? { defaultBranch: options.defaultBranch } : {}) }));
  const server = new StandIn(git, options.git === undefined, options);
  await server.listen();
  return server;
}
