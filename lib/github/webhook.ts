/**
 * The GitHub webhook endpoint as one function over plain request/response values
 * (lib/http/types.ts); lib/http/lambda.ts and lib/http/node.ts adapt it to a runtime.
 *
 * Order of checks, cheapest and least trusting first: method → size → content type →
 * signature (over the raw bytes, before anything is parsed) → headers → JSON → event.
 * A push is turned into a small PushJob and handed to `enqueue`; the answer (202) goes back
 * as soon as the job is handed over, and the sync runs after it, never inside the request.
 */
import type { EmitterWebhookEvent } from '@octokit/webhooks';
import { verifyWithFallback } from '@octokit/webhooks-methods';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { bodyByteLength, DEFAULT_MAX_BODY_BYTES, header, jsonResponse } from '../http/types.ts';
import type { HttpHandler, HttpRequest, HttpResponse, JsonBody } from '../http/types.ts';

export type PushPayload = EmitterWebhookEvent<'push'>['payload'];
export type PingPayload = EmitterWebhookEvent<'ping'>['payload'];

/**
 * What the sync function needs to know about one push. Serialisable, small, and free of
 * secrets: it travels as an async invocation payload.
 */
export interface PushJob {
  /** X-GitHub-Delivery; the same on a redelivery (which must run again, so never a dedup key). */
  readonly deliveryId: string;
  /** `owner/name`, as GitHub spells it. */
  readonly repo: string;
  readonly owner: string;
  readonly name: string;
  /** `refs/heads/<branch>`. */
  readonly ref: string;
  readonly branch: string;
  /** The pushed commit. */
  readonly after: string;
  /** The previous head of the branch; all zeros when the push created the branch. */
  readonly before: string;
  /** A force push: `before` may not be an ancestor of `after`. */
  readonly forced?: boolean;
  /**
   * What the push's commits touched and the new root tree, from the payload: lets a warm
   * function rebuild the new tree from `before`'s instead of listing it (lib/source/github.ts).
   * Absent when the payload cannot tell (a new branch, too many paths).
   */
  readonly changes?: PushChanges;
  /** Present when the webhook belongs to a GitHub App installation. */
  readonly installationId?: number;
  readonly defaultBranch: string;
  /** ISO 8601; when GitHub recorded the push (the receive time if the payload lacks it). */
  readonly pushedAt: string;
}

export interface PushChanges {
  /** `head_commit.tree_id`. */
  readonly treeId: string;
  /** Every path a pushed commit added, modified or removed (repository root relative). */
  readonly paths: readonly string[];
}

/** More paths than this are not carried (the job stays small); the tree is listed instead. */
export const MAX_PUSH_CHANGED_PATHS = 256;

export interface WebhookHandlerOptions {
  /**
   * Webhook secrets: the first is the current one; the others are still accepted (rotation:
   * add the new secret first, change it on GitHub, then drop the old one). At least one.
   */
  readonly secrets: readonly string[];
  /** Hand a push to the sync function. Resolves once it is handed over, not when it is done. */
  readonly enqueue: (job: PushJob) => Promise<void>;
  readonly logger?: Logger;
  /** Default 25 MB, GitHub's cap. */
  readonly maxBodyBytes?: number;
  /** How long `enqueue` may take before the answer is 503 (GitHub gives up after 10 s). */
  readonly enqueueTimeoutMs?: number;
  readonly now?: () => Date;
}

export const WEBHOOK_DEFAULTS = {
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  enqueueTimeoutMs: 5_000,
} as const;

/** Stable codes in every error response body (`code`) and in the logs. */
export const WebhookCodes = {
  noSecret: 'WEBHOOK_NO_SECRET',
  method: 'WEBHOOK_METHOD',
  tooLarge: 'WEBHOOK_TOO_LARGE',
  contentType: 'WEBHOOK_CONTENT_TYPE',
  signatureMissing: 'WEBHOOK_SIGNATURE_MISSING',
  signatureMismatch: 'WEBHOOK_SIGNATURE_MISMATCH',
  headerMissing: 'WEBHOOK_HEADER_MISSING',
  badBody: 'WEBHOOK_BAD_BODY',
  badPayload: 'WEBHOOK_BAD_PAYLOAD',
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

const ZERO_SHA = /^0+$/;
const APPLICATION_JSON = /^\s*application\/json\s*(;|$)/i;
const FORM_ENCODED = /^\s*application\/x-www-form-urlencoded\s*(;|$)/i;
const SHA256_PREFIX = 'sha256=';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function createWebhookHandler(options: WebhookHandlerOptions): HttpHandler {
  const secrets = options.secrets.filter((s) => typeof s === 'string' && s !== '');
  if (secrets.length === 0) {
    throw new WebhookConfigError(
      'no webhook secret configured: set one with `pushsync secrets set webhook-secret` and the same value in the GitHub webhook settings',
    );
  }
  const [current = '', ...previous] = secrets;
  const log = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? WEBHOOK_DEFAULTS.maxBodyBytes;
  const enqueueTimeoutMs = options.enqueueTimeoutMs ?? WEBHOOK_DEFAULTS.enqueueTimeoutMs;
  const now = options.now ?? (() => new Date());

  return async function handleWebhook(request: HttpRequest): Promise<HttpResponse> {
    const deliveryId = header(request, 'x-github-delivery');
    const event = header(request, 'x-github-event');
    const reqLog = log.child({ deliveryId, event });
    const answer = (status: number, body: JsonBody, headers?: Record<string, string>): HttpResponse => {
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      const { ok: _ok, message, ...details } = body;
      reqLog[level]('webhook answered', { status, reason: message, ...details });
      return jsonResponse(status, { ...body, ...(deliveryId === undefined ? {} : { deliveryId }) }, headers);
    };
    const fail = (status: number, code: string, message: string, headers?: Record<string, string>): HttpResponse =>
      answer(status, { ok: false, code, message }, headers);

    if (request.method.toUpperCase() !== 'POST') {
      return fail(405, WebhookCodes.method, `method ${request.method} not allowed: GitHub delivers webhooks with POST`, { allow: 'POST' });
    }
    const declared = Number(header(request, 'content-length'));
    const size = bodyByteLength(request.body);
    if (size > maxBodyBytes || (Number.isFinite(declared) && declared > maxBodyBytes)) {
      return fail(413, WebhookCodes.tooLarge, `body of ${Math.max(size, declared || 0)} bytes is over the ${maxBodyBytes}-byte limit`);
    }
    const contentType = header(request, 'content-type') ?? '';
    if (!APPLICATION_JSON.test(contentType)) {
      const hint = FORM_ENCODED.test(contentType)
        ? 'the webhook sends application/x-www-form-urlencoded; set "Content type" to application/json in the webhook settings on GitHub'
        : 'webhooks must be sent as application/json (the "Content type" setting of the webhook on GitHub)';
      return fail(415, WebhookCodes.contentType, `unsupported content type ${JSON.stringify(contentType)}: ${hint}`, {
        accept: 'application/json',
      });
    }

    const signature = header(request, 'x-hub-signature-256');
    if (signature === undefined || signature === '') {
      return fail(
        401,
        WebhookCodes.signatureMissing,
        'missing X-Hub-Signature-256 header: set the secret in the webhook settings on GitHub (pushsync accepts only signed deliveries)',
      );
    }
    const text = decodeBody(request.body);
    if (!signature.startsWith(SHA256_PREFIX) || text === undefined || text === '' || !(await verifyWithFallback(current, text, signature, previous))) {
      return fail(401, WebhookCodes.signatureMismatch, 'X-Hub-Signature-256 does not match the body: check that the webhook secret on GitHub matches pushsync\'s');
    }

    // Authentic from here on.
    if (event === undefined || event === '') return fail(400, WebhookCodes.headerMissing, 'missing X-GitHub-Event header');
    if (deliveryId === undefined || deliveryId === '') return fail(400, WebhookCodes.headerMissing, 'missing X-GitHub-Delivery header');
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (err) {
      return fail(400, WebhookCodes.badBody, `body is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return fail(400, WebhookCodes.badBody, 'body is JSON but not an object');
    }

    if (event === 'ping') {
      const zen = (payload as Partial<PingPayload>).zen;
      return answer(200, { ok: true, message: 'pong: pushsync received the ping', zen: typeof zen === 'string' ? zen : null });
    }
    if (event !== 'push') {
      return answer(202, { ok: true, message: `ignored: pushsync acts on push events only, this is "${event}"` });
    }

    const push = payload as PushPayload;
    const problem = pushPayloadProblem(push);
    if (problem !== undefined) return fail(400, WebhookCodes.badPayload, `push payload: ${problem}`);
    const repo = push.repository.full_name;
    if (push.ref.startsWith('refs/tags/')) {
      return answer(202, { ok: true, message: `ignored: tag push (${push.ref}) to ${repo}; pushsync follows branches` });
    }
    if (!push.ref.startsWith('refs/heads/')) {
      return answer(202, { ok: true, message: `ignored: ${push.ref} is not a branch` });
    }
    if (push.deleted || ZERO_SHA.test(push.after)) {
      return answer(202, { ok: true, message: `branch deleted, nothing to apply (${push.ref} in ${repo})` });
    }

    const job = pushJob(deliveryId, push, now);
    try {
      await withTimeout(options.enqueue(job), enqueueTimeoutMs);
    } catch (err) {
      reqLog.error('enqueue failed', { repo, commit: job.after, error: err });
      return fail(
        503,
        WebhookCodes.enqueueFailed,
        `could not start the sync for ${repo}@${job.after.slice(0, 12)}: ${(err as Error).message}; redeliver this webhook to retry`,
      );
    }
    return answer(202, {
      ok: true,
      message: `accepted: syncing ${repo} ${job.branch}@${job.after.slice(0, 12)}`,
      repo,
      branch: job.branch,
      commit: job.after,
    });
  };
}

/** UTF-8 text exactly as received; undefined when the bytes are not UTF-8 (a GitHub body always is). */
function decodeBody(body: string | Uint8Array): string | undefined {
  if (typeof body === 'string') return body;
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

/** The fields the job is built from, checked at runtime: the types describe GitHub, not the sender. */
function pushPayloadProblem(p: PushPayload): string | undefined {
  if (typeof p.ref !== 'string' || p.ref === '') return '"ref" is missing';
  if (typeof p.after !== 'string' || !/^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(p.after)) return `"after" is not a commit id: ${JSON.stringify(p.after)}`;
  if (typeof p.before !== 'string') return '"before" is missing';
  const r = (p as { repository?: unknown }).repository;
  if (typeof r !== 'object' || r === null) return '"repository" is missing';
  const fullName = (r as { full_name?: unknown }).full_name;
  if (typeof fullName !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(fullName)) return `"repository.full_name" is not owner/name: ${JSON.stringify(fullName)}`;
  return undefined;
}

function pushJob(deliveryId: string, p: PushPayload, now: () => Date): PushJob {
  const repo = p.repository.full_name;
  const slash = repo.indexOf('/');
  const installationId = p.installation?.id;
  const defaultBranch = p.repository.default_branch;
  return {
    deliveryId,
    repo,
    owner: repo.slice(0, slash),
    name: repo.slice(slash + 1),
    ref: p.ref,
    branch: p.ref.slice('refs/heads/'.length),
    after: p.after.toLowerCase(),
    before: p.before.toLowerCase(),
    ...(p.forced === true ? { forced: true } : {}),
    ...changesOf(p),
    ...(typeof installationId === 'number' ? { installationId } : {}),
    defaultBranch: typeof defaultBranch === 'string' && defaultBranch !== '' ? defaultBranch : 'main',
    pushedAt: pushedAt(p.repository.pushed_at, now),
  };
}

function changesOf(p: PushPayload): { changes?: PushChanges } {
  const treeId = p.head_commit?.tree_id;
  if (ZERO_SHA.test(p.before) || typeof treeId !== 'string' || !/^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(treeId) || !Array.isArray(p.commits) || p.commits.length === 0) return {};
  const paths = new Set<string>();
  for (const c of p.commits) {
    for (const list of [c.added, c.removed, c.modified]) {
      if (!Array.isArray(list)) return {};
      for (const path of list) if (typeof path === 'string' && path !== '') paths.add(path);
    }
    if (paths.size > MAX_PUSH_CHANGED_PATHS) return {};
  }
  return { changes: { treeId: treeId.toLowerCase(), paths: [...paths] } };
}

/** `repository.pushed_at` is epoch seconds in push payloads and an ISO string elsewhere. */
function pushedAt(value: unknown, now: () => Date): string {
  const d = typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : undefined;
  return d !== undefined && !Number.isNaN(d.getTime()) ? d.toISOString() : now().toISOString();
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
