/**
 * The GitHub webhook endpoint as one StreamingHandler over plain request/response values
 * (lib/http/types.ts); lib/http/lambda.ts and lib/http/node.ts adapt it to a runtime, and both
 * go through the same checks.
 *
 * Before a byte of the body is read, the head is judged, cheapest and least trusting first:
 * method → content type → declared size → a secret to verify with → the signature header's
 * form → the event and delivery headers. Then the body streams through one HMAC per secret
 * (rotation: two may be valid), compared in constant time at its end; a mismatch re-reads the
 * secrets once (rate-limited by the source) in case they were rotated. Only an authentic body
 * is parsed. A push is checked field by field against the rules its job will meet later (the
 * registry's for repo and branch, git's for ref names, commit ids), turned into a small PushJob
 * and handed to `enqueue`; the answer (202) goes back as soon as the job is handed over.
 *
 * Answers to requests not yet authenticated are logged through a sampler (a few a minute, then
 * a count): anyone can send them, so they must not be able to fill the logs.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EmitterWebhookEvent } from '@octokit/webhooks';
import { FanoutCodes } from '../fanout/types.ts';
import type { PushChanges, PushJob } from '../jobs.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { holdBody } from '../http/held-body.ts';
import { createLogSampler, type LogSampler } from '../http/log-sampler.ts';
import { declaredLength, DEFAULT_MAX_BODY_BYTES, header, jsonResponse, streamingHandler } from '../http/types.ts';
import type { BodySink, HeadDecision, HttpResponse, JsonBody, RequestHead, StreamingHandler } from '../http/types.ts';
import { branchProblem, repoProblem } from '../registry/index.ts';

export type { PushChanges, PushJob } from '../jobs.ts';
export type PushPayload = EmitterWebhookEvent<'push'>['payload'];
export type PingPayload = EmitterWebhookEvent<'ping'>['payload'];

/** More paths than this are not carried (the job stays small); the tree is listed instead. */
export const MAX_PUSH_CHANGED_PATHS = 256;
/** Nor more than this many bytes of paths: a job is an async invocation payload (256 KB at most). */
export const MAX_PUSH_CHANGED_PATH_BYTES = 32 * 1024;
/**
 * Longest branch name a push may carry. Git sets none of its own; this keeps a job, its status
 * texts and its logs small, and is far beyond any branch a person names.
 */
export const MAX_BRANCH_BYTES = 1024;

/** Where a handler gets its webhook secrets, and re-reads them after a signature fails. */
export interface WebhookSecretSource {
  /** The secrets to verify with, the current one first. */
  get(): Promise<readonly string[]>;
  /** Re-read them (the source decides how often it really does); true when they changed. */
  refresh(): Promise<boolean>;
}

export interface WebhookHandlerOptions {
  /**
   * Webhook secrets: the first is the current one; the others are still accepted (rotation:
   * add the new secret first, change it on GitHub, then drop the old one). A fixed list must
   * hold at least one; a source is asked on each request (and may be empty: answered 500).
   */
  readonly secrets: readonly string[] | WebhookSecretSource;
  /** Hand a push to the sync function. Resolves once it is handed over, not when it is done. */
  readonly enqueue: (job: PushJob) => Promise<void>;
  readonly logger?: Logger;
  /** Default 25 MB, GitHub's cap. */
  readonly maxBodyBytes?: number;
  /** How long `enqueue` may take before the answer is 503 (GitHub gives up after 10 s). */
  readonly enqueueTimeoutMs?: number;
  readonly now?: () => Date;
  /** How refusals of unauthenticated requests are logged; default 10 a minute on `logger`, then a count. */
  readonly sampler?: LogSampler;
}

export const WEBHOOK_DEFAULTS = {
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  enqueueTimeoutMs: 5_000,
} as const;

/** Stable codes in every error response body (`code`) and in the logs. */
export const WebhookCodes = {
  noSecret: 'WEBHOOK_NO_SECRET',
  secretUnavailable: 'WEBHOOK_SECRET_UNAVAILABLE',
  method: 'WEBHOOK_METHOD',
  tooLarge: 'WEBHOOK_TOO_LARGE',
  contentType: 'WEBHOOK_CONTENT_TYPE',
  signatureMissing: 'WEBHOOK_SIGNATURE_MISSING',
  signatureMalformed: 'WEBHOOK_SIGNATURE_MALFORMED',
  signatureMismatch: 'WEBHOOK_SIGNATURE_MISMATCH',
  headerMissing: 'WEBHOOK_HEADER_MISSING',
  headerInvalid: 'WEBHOOK_HEADER_INVALID',
  badBody: 'WEBHOOK_BAD_BODY',
  badPayload: 'WEBHOOK_BAD_PAYLOAD',
  jobRefused: 'WEBHOOK_JOB_REFUSED',
  enqueueFailed: 'WEBHOOK_ENQUEUE_FAILED',
} as const;

/** Thrown at construction: the endpoint has no unsigned mode. */
export class WebhookConfigError extends Error {
  readonly code = WebhookCodes.noSecret;
  constructor(message: string) {
    super(message);
    this.name = 'WebhookConfigError';
  }
}

const NO_SECRET_MESSAGE = 'no webhook secret configured: set one with `pushsync secrets set webhook-secret` and the same value in the GitHub webhook settings';
const ZERO_SHA = /^0+$/;
const COMMIT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/i;
const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;
/** GitHub's are GUIDs; anything printable and short is accepted, since it is only echoed and logged. */
const DELIVERY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const APPLICATION_JSON = /^\s*application\/json\s*(;|$)/i;
const FORM_ENCODED = /^\s*application\/x-www-form-urlencoded\s*(;|$)/i;
/** Fan-out refusals of the job itself: the same push can never be queued, so a redelivery cannot help. */
const PERMANENT_ENQUEUE_CODES: ReadonlySet<string> = new Set([FanoutCodes.secretInPayload, FanoutCodes.notSerialisable, FanoutCodes.tooLarge]);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function createWebhookHandler(options: WebhookHandlerOptions): StreamingHandler {
  const source = secretSource(options.secrets);
  const log = options.logger ?? silentLogger;
  const sampler = options.sampler ?? createLogSampler(log);
  const maxBodyBytes = options.maxBodyBytes ?? WEBHOOK_DEFAULTS.maxBodyBytes;
  const enqueueTimeoutMs = options.enqueueTimeoutMs ?? WEBHOOK_DEFAULTS.enqueueTimeoutMs;
  const now = options.now ?? (() => new Date());

  return streamingHandler(async (head: RequestHead): Promise<HeadDecision> => {
    const deliveryId = header(head, 'x-github-delivery');
    const event = header(head, 'x-github-event');
    // Clipped: these are the sender's words until the signature says otherwise.
    const reqLog = log.child({ deliveryId: clip(deliveryId), event: clip(event) });
    const respond = (status: number, body: JsonBody, headers?: Record<string, string>): HttpResponse =>
      jsonResponse(status, { ...body, ...(deliveryId === undefined || !DELIVERY_ID.test(deliveryId) ? {} : { deliveryId }) }, headers);
    /** Refuse a request not (yet) known to come from GitHub: sampled, so a flood writes a count. */
    const refuse = (status: number, code: string, message: string, headers?: Record<string, string>): HttpResponse => {
      sampler.log(status >= 500 ? 'error' : 'warn', reqLog, 'webhook answered', { status, reason: message, code });
      return respond(status, { ok: false, code, message }, headers);
    };
    const refuseHead = (status: number, code: string, message: string, headers?: Record<string, string>): HeadDecision => ({ refuse: refuse(status, code, message, headers) });

    if (head.method.toUpperCase() !== 'POST') {
      return refuseHead(405, WebhookCodes.method, `method ${clip(head.method)} not allowed: GitHub delivers webhooks with POST`, { allow: 'POST' });
    }
    const contentType = header(head, 'content-type') ?? '';
    if (!APPLICATION_JSON.test(contentType)) {
      const hint = FORM_ENCODED.test(contentType)
        ? 'the webhook sends application/x-www-form-urlencoded; set "Content type" to application/json in the webhook settings on GitHub'
        : 'webhooks must be sent as application/json (the "Content type" setting of the webhook on GitHub)';
      return refuseHead(415, WebhookCodes.contentType, `unsupported content type ${JSON.stringify(clip(contentType))}: ${hint}`, { accept: 'application/json' });
    }
    const declared = declaredLength(head);
    if (declared > maxBodyBytes) return refuseHead(413, WebhookCodes.tooLarge, tooLargeMessage(declared, maxBodyBytes));

    let secrets: readonly string[];
    try {
      secrets = await source.get();
      // Not set yet (a first run) or just set: look again, as often as the source allows.
      if (secrets.length === 0 && (await source.refresh())) secrets = await source.get();
    } catch (err) {
      sampler.log('error', reqLog, 'reading the webhook secret failed', { code: WebhookCodes.secretUnavailable, error: err });
      return refuseHead(503, WebhookCodes.secretUnavailable, 'could not read the webhook secret; redeliver this webhook to retry');
    }
    if (secrets.length === 0) return refuseHead(500, WebhookCodes.noSecret, NO_SECRET_MESSAGE);

    const signature = header(head, 'x-hub-signature-256');
    if (signature === undefined || signature === '') {
      return refuseHead(401, WebhookCodes.signatureMissing, 'missing X-Hub-Signature-256 header: set the secret in the webhook settings on GitHub (pushsync accepts only signed deliveries)');
    }
    const expected = SIGNATURE.exec(signature)?.[1];
    if (expected === undefined) {
      return refuseHead(401, WebhookCodes.signatureMalformed, `X-Hub-Signature-256 ${JSON.stringify(clip(signature))} is not "sha256=" and 64 hex digits, the form GitHub sends`);
    }
    if (event === undefined || event === '') return refuseHead(400, WebhookCodes.headerMissing, 'missing X-GitHub-Event header');
    if (deliveryId === undefined || deliveryId === '') return refuseHead(400, WebhookCodes.headerMissing, 'missing X-GitHub-Delivery header');
    if (!DELIVERY_ID.test(deliveryId)) {
      return refuseHead(400, WebhookCodes.headerInvalid, `X-GitHub-Delivery ${JSON.stringify(clip(deliveryId))} is not a delivery id (GitHub sends a GUID)`);
    }

    const verifier = signatureVerifier(secrets, Buffer.from(expected, 'hex'));
    const body = holdBody();
    const sink: BodySink = {
      maxBytes: maxBodyBytes,
      write(chunk) {
        const size = body.size + chunk.byteLength;
        if (size > maxBodyBytes) {
          body.release();
          return refuse(413, WebhookCodes.tooLarge, tooLargeMessage(size, maxBodyBytes));
        }
        verifier.update(chunk);
        body.append(chunk);
        return undefined;
      },
      async end() {
        try {
          let authentic = verifier.matches();
          // A rotated secret: verify the same bytes again with what the source holds now.
          if (!authentic && (await source.refresh().catch(() => false))) {
            const rotated = signatureVerifier(await source.get().catch(() => []), Buffer.from(expected, 'hex'));
            for (const piece of body.pieces()) rotated.update(piece);
            authentic = rotated.matches();
          }
          if (!authentic) {
            return refuse(401, WebhookCodes.signatureMismatch, "X-Hub-Signature-256 does not match the body: check that the webhook secret on GitHub matches pushsync's");
          }
          const bytes = body.bytes();
          body.release();
          return await authenticated(bytes, { deliveryId, event, reqLog, respond });
        } finally {
          body.release();
        }
      },
      abort: () => body.release(),
    };
    return { accept: sink };
  });

  /** From here on the request is GitHub's: every answer is logged. */
  async function authenticated(body: Buffer, ctx: { deliveryId: string; event: string; reqLog: Logger; respond: (status: number, body: JsonBody, headers?: Record<string, string>) => HttpResponse }): Promise<HttpResponse> {
    const { deliveryId, event, reqLog } = ctx;
    const answer = (status: number, json: JsonBody): HttpResponse => {
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      const { ok: _ok, message, ...details } = json;
      reqLog[level]('webhook answered', { status, reason: message, ...details });
      return ctx.respond(status, json);
    };
    const fail = (status: number, code: string, message: string, extra: Record<string, unknown> = {}): HttpResponse => answer(status, { ok: false, code, message, ...extra });

    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return fail(400, WebhookCodes.badBody, 'body is not UTF-8 text');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (err) {
      return fail(400, WebhookCodes.badBody, `body is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return fail(400, WebhookCodes.badBody, 'body is JSON but not an object');

    if (event === 'ping') {
      const zen = (payload as Partial<PingPayload>).zen;
      return answer(200, { ok: true, message: 'pong: pushsync received the ping', zen: typeof zen === 'string' ? zen : null });
    }
    if (event !== 'push') return answer(202, { ok: true, message: `ignored: pushsync acts on push events only, this is "${clip(event)}"` });

    const push = payload as PushPayload;
    const ref = push.ref as unknown;
    if (typeof ref !== 'string' || ref === '') return fail(400, WebhookCodes.badPayload, 'push payload: "ref" is missing', { field: 'ref' });
    if (ref.startsWith('refs/tags/')) return answer(202, { ok: true, message: `ignored: tag push (${clip(ref)}); pushsync follows branches` });
    if (!ref.startsWith('refs/heads/')) return answer(202, { ok: true, message: `ignored: ${clip(ref)} is not a branch` });
    if (push.deleted === true || (typeof push.after === 'string' && COMMIT_ID.test(push.after) && ZERO_SHA.test(push.after))) {
      return answer(202, { ok: true, message: `branch deleted, nothing to apply (${clip(ref)})` });
    }

    const built = pushJob(deliveryId, push, now);
    if (!built.ok) {
      const { field, value, problem } = built;
      return fail(400, WebhookCodes.badPayload, `push payload: "${field}" ${value === undefined ? '' : `${JSON.stringify(clip(value))} `}${problem}; pushsync cannot act on it, and a redelivery would fail the same way`, {
        field,
        ...(value === undefined ? {} : { value: clip(value) }),
      });
    }
    const job = built.job;
    try {
      await withTimeout(options.enqueue(job), enqueueTimeoutMs);
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      reqLog.error('enqueue failed', { repo: job.repo, commit: job.after, error: err });
      if (typeof code === 'string' && PERMANENT_ENQUEUE_CODES.has(code)) {
        return fail(400, WebhookCodes.jobRefused, `the sync job for ${job.repo}@${job.after.slice(0, 12)} cannot be queued: ${(err as Error).message}`, { cause: code });
      }
      return fail(503, WebhookCodes.enqueueFailed, `could not start the sync for ${job.repo}@${job.after.slice(0, 12)}: ${(err as Error).message}; redeliver this webhook to retry`);
    }
    return answer(202, {
      ok: true,
      message: `accepted: syncing ${job.repo} ${job.branch}@${job.after.slice(0, 12)}`,
      repo: job.repo,
      branch: job.branch,
      commit: job.after,
    });
  }
}

function secretSource(secrets: readonly string[] | WebhookSecretSource): WebhookSecretSource {
  if (!Array.isArray(secrets)) return secrets as WebhookSecretSource;
  const fixed = (secrets as readonly string[]).filter((s) => typeof s === 'string' && s !== '');
  if (fixed.length === 0) throw new WebhookConfigError(NO_SECRET_MESSAGE);
  return { get: () => Promise.resolve(fixed), refresh: () => Promise.resolve(false) };
}

/** One HMAC-SHA256 per secret, fed as the body streams; compared in constant time at its end. */
function signatureVerifier(secrets: readonly string[], expected: Buffer): { update(chunk: Uint8Array): void; matches(): boolean } {
  const hmacs = secrets.filter((s) => s !== '').map((s) => createHmac('sha256', s));
  return {
    update: (chunk) => {
      for (const h of hmacs) h.update(chunk);
    },
    matches: () => {
      // Every digest is compared, so the time taken does not say which secret matched.
      let matched = false;
      for (const h of hmacs) matched = timingSafeEqual(h.digest(), expected) || matched;
      return matched;
    },
  };
}

type Built = { readonly ok: true; readonly job: PushJob } | { readonly ok: false; readonly field: string; readonly value?: string; readonly problem: string };

/**
 * The job, or the first field that can never make one. Checked at runtime against the rules the
 * job meets later (a registration's repo and branch, git's ref names, commit ids): the types
 * describe GitHub, not the sender, and a bad value found only by the sync would leave a status
 * pending forever or a job in the dead-letter queue.
 */
function pushJob(deliveryId: string, p: PushPayload, now: () => Date): Built {
  const bad = (field: string, value: unknown, problem: string): Built => ({ ok: false, field, ...(typeof value === 'string' ? { value } : {}), problem: typeof value === 'string' || value === undefined ? problem : `${problem} (got ${typeof value === 'object' ? (value === null ? 'null' : 'an object') : typeof value})` });
  const ref = p.ref;
  const branch = ref.slice('refs/heads/'.length);
  if (branch === '') return bad('ref', ref, 'names no branch');
  const refProblem = branchNameProblem(branch);
  if (refProblem !== undefined) return bad('ref', ref, `is not a valid branch: its name ${refProblem}`);
  for (const field of ['after', 'before'] as const) {
    const v = p[field] as unknown;
    if (typeof v !== 'string' || !COMMIT_ID.test(v)) return bad(field, v, 'is not a commit id (40 or 64 hex digits)');
  }
  const r = (p as { repository?: unknown }).repository;
  if (typeof r !== 'object' || r === null) return bad('repository', undefined, 'is missing');
  const repository = r as Partial<PushPayload['repository']>;
  const repo = repository.full_name as unknown;
  if (typeof repo !== 'string') return bad('repository.full_name', repo, 'is not owner/name');
  const repoIssue = repoProblem(repo);
  if (repoIssue !== undefined) return bad('repository.full_name', repo, repoIssue);
  const defaultBranch = repository.default_branch as unknown;
  if (defaultBranch !== undefined && defaultBranch !== null && defaultBranch !== '') {
    if (typeof defaultBranch !== 'string') return bad('repository.default_branch', defaultBranch, 'is not a branch name');
    const problem = branchNameProblem(defaultBranch);
    if (problem !== undefined) return bad('repository.default_branch', defaultBranch, problem);
  }
  const installation = (p as { installation?: unknown }).installation;
  let installationId: number | undefined;
  if (installation !== undefined && installation !== null) {
    const id = (installation as { id?: unknown }).id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return bad('installation.id', typeof id === 'string' ? id : undefined, 'is not a GitHub App installation id (a positive integer)');
    installationId = id;
  }
  const slash = repo.indexOf('/');
  return {
    ok: true,
    job: {
      deliveryId,
      repo,
      owner: repo.slice(0, slash),
      name: repo.slice(slash + 1),
      ref,
      branch,
      after: p.after.toLowerCase(),
      before: p.before.toLowerCase(),
      ...(p.forced === true ? { forced: true } : {}),
      ...changesOf(p),
      ...(installationId !== undefined ? { installationId } : {}),
      defaultBranch: typeof defaultBranch === 'string' && defaultBranch !== '' ? defaultBranch : 'main',
      pushedAt: pushedAt(repository.pushed_at, now),
    },
  };
}

/** The registry's rule for a branch, and a length bound. */
function branchNameProblem(branch: string): string | undefined {
  if (Buffer.byteLength(branch, 'utf8') > MAX_BRANCH_BYTES) return `is longer than ${MAX_BRANCH_BYTES} bytes`;
  return branchProblem(branch);
}

function changesOf(p: PushPayload): { changes?: PushChanges } {
  const treeId = p.head_commit?.tree_id;
  if (ZERO_SHA.test(p.before) || typeof treeId !== 'string' || !COMMIT_ID.test(treeId) || !Array.isArray(p.commits) || p.commits.length === 0) return {};
  const paths = new Set<string>();
  let bytes = 0;
  for (const c of p.commits) {
    for (const list of [c.added, c.removed, c.modified]) {
      if (!Array.isArray(list)) return {};
      for (const path of list as unknown[]) {
        if (typeof path !== 'string' || path === '' || paths.has(path)) continue;
        paths.add(path);
        bytes += Buffer.byteLength(path, 'utf8');
      }
    }
    if (paths.size > MAX_PUSH_CHANGED_PATHS || bytes > MAX_PUSH_CHANGED_PATH_BYTES) return {};
  }
  return { changes: { treeId: treeId.toLowerCase(), paths: [...paths] } };
}

/** `repository.pushed_at` is epoch seconds in push payloads and an ISO string elsewhere. */
function pushedAt(value: unknown, now: () => Date): string {
  const d = typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : undefined;
  return d !== undefined && !Number.isNaN(d.getTime()) ? d.toISOString() : now().toISOString();
}

function tooLargeMessage(size: number, limit: number): string {
  return `body of ${size} bytes is over the ${limit}-byte limit (GitHub sends at most 25 MB)`;
}

/** A value the sender chose, short enough for a log line or a message. */
function clip(s: string | undefined): string | undefined {
  return s === undefined || s.length <= 100 ? s : `${s.slice(0, 97)}...`;
}

async function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`handing the job over took longer than ${ms} ms`)), ms);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
