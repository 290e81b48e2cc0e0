/**
 * Push webhook deliveries for commits of a GitRepo: a real example payload from
 * @octokit/webhooks-examples with repository, ref, before/after, commits and installation
 * filled in from git, signed the way GitHub signs (HMAC of the raw body bytes).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { EmitterWebhookEvent } from '@octokit/webhooks';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import type { GitRepo } from './git-repo.ts';

export type PushPayload = EmitterWebhookEvent<'push'>['payload'];

export const ZERO_SHA = '0000000000000000000000000000000000000000';

export interface PushPayloadInput {
  readonly git: GitRepo;
  readonly owner: string;
  readonly repo: string;
  /** `main` or `refs/heads/main`. */
  readonly ref: string;
  /** Previous head; ZERO_SHA (default) for a new branch. */
  readonly before?: string;
  /** New head; ZERO_SHA for a deletion. */
  readonly after: string;
  readonly installationId?: number;
  readonly forced?: boolean;
  /** Where the repository's URLs point (the stand-in's address). Default github.com's. */
  readonly apiUrl?: string;
}

let examplePush: Record<string, unknown> | undefined;

function realExample(): Record<string, unknown> {
  if (examplePush === undefined) {
    let defs: WebhookDefinition[];
    try {
      defs = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];
    } catch {
      throw new Error('real webhook payloads are missing: install the dev dependency @octokit/webhooks-examples');
    }
    const push = defs.find((d) => d.name === 'push')?.examples as unknown as Record<string, unknown>[] | undefined;
    const found = push?.find((p) => String(p.ref).startsWith('refs/heads/') && p.installation !== undefined && p.head_commit !== null);
    if (found === undefined) throw new Error('@octokit/webhooks-examples has no branch push example with an installation');
    examplePush = found;
  }
  return structuredClone(examplePush);
}

/** A push payload for `before..after` on `ref`, as GitHub would send it. */
export async function buildPushPayload(input: PushPayloadInput): Promise<PushPayload> {
  const ref = input.ref.startsWith('refs/') ? input.ref : `refs/heads/${input.ref}`;
  const before = input.before ?? ZERO_SHA;
  const deleted = input.after === ZERO_SHA;
  const created = before === ZERO_SHA;
  const full = `${input.owner}/${input.repo}`;
  // Every URL and name of the example's repository points at ours.
  const example = JSON.parse(
    JSON.stringify(realExample())
      .replaceAll('Codertocat/Hello-World', full)
      .replaceAll('https://api.github.com', input.apiUrl?.replace(/\/$/, '') ?? 'https://api.github.com'),
  ) as Record<string, unknown>;
  const repository = example.repository as Record<string, unknown>;
  repository.name = input.repo;
  repository.full_name = full;
  repository.default_branch = input.git.defaultBranch;
  repository.master_branch = input.git.defaultBranch;
  const owner = repository.owner as Record<string, unknown>;
  owner.login = input.owner;
  owner.name = input.owner;

  const commits = deleted ? [] : await commitsOf(input.git, created ? undefined : before, input.after, full);
  const payload: Record<string, unknown> = {
    ...example,
    ref,
    before,
    after: input.after,
    created,
    deleted,
    forced: input.forced ?? false,
    base_ref: null,
    compare: `https://github.com/${full}/compare/${before.slice(0, 12)}...${input.after.slice(0, 12)}`,
    // GitHub lists at most 20 commits in a push payload.
    commits: commits.slice(-20),
    head_commit: deleted ? null : (commits[commits.length - 1] ?? null),
  };
  if (input.installationId === undefined) delete payload.installation;
  else payload.installation = { id: input.installationId, node_id: Buffer.from(`Installation${input.installationId}`).toString('base64') };
  // The example is a real payload of this event; the fields we set keep its shape.
  return payload as unknown as PushPayload;
}

async function commitsOf(git: GitRepo, before: string | undefined, after: string, full: string): Promise<Record<string, unknown>[]> {
  const range = before === undefined ? [after] : [`${before}..${after}`];
  const log = await git.git(['log', '--reverse', '--format=%H%x00%T%x00%s%x00%cI%x00%an%x00%ae%x01', ...range, '--']);
  const out: Record<string, unknown>[] = [];
  for (const rec of log.split('\x01')) {
    const [sha, tree, message, timestamp, name, email] = rec.trim().split('\x00');
    if (!sha) continue;
    const changes = await git.git(['diff-tree', '--no-commit-id', '--name-status', '-r', '--root', '-z', sha]);
    const parts = changes.split('\0').filter((s) => s !== '');
    const added: string[] = [];
    const removed: string[] = [];
    const modified: string[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const status = parts[i] ?? '';
      const p = parts[i + 1] ?? '';
      (status.startsWith('A') ? added : status.startsWith('D') ? removed : modified).push(p);
    }
    const person = { name, email, username: name?.replace(/\s+/g, '') };
    out.push({
      id: sha,
      tree_id: tree,
      distinct: true,
      message,
      timestamp,
      url: `https://github.com/${full}/commit/${sha}`,
      author: person,
      committer: person,
      added,
      removed,
      modified,
    });
  }
  return out;
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes, as in X-Hub-Signature-256. */
export function signWebhook(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface WebhookDelivery {
  readonly method: 'POST';
  /** Lower-case names, as GitHub sends them. */
  readonly headers: Record<string, string>;
  /** The raw body that was signed. */
  readonly body: string;
  readonly deliveryId: string;
}

/** A signed delivery of `payload` (fits lib/http's HttpRequest). */
export function webhookDelivery(
  payload: unknown,
  secret: string,
  options: { event?: string; deliveryId?: string; hookId?: number } = {},
): WebhookDelivery {
  const body = JSON.stringify(payload);
  const deliveryId = options.deliveryId ?? randomUUID();
  const installation = (payload as { installation?: { id?: number } }).installation?.id;
  return {
    method: 'POST',
    deliveryId,
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/7a4b1c2',
      'x-github-event': options.event ?? 'push',
      'x-github-delivery': deliveryId,
      'x-github-hook-id': String(options.hookId ?? 4242),
      'x-github-hook-installation-target-type': installation === undefined ? 'repository' : 'integration',
      'x-github-hook-installation-target-id': String(installation ?? 1),
      'x-hub-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
      'x-hub-signature-256': signWebhook(body, secret),
    },
  };
}
