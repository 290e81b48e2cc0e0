/** Real GitHub payloads (@octokit/webhooks-examples), signed the way GitHub signs them. */
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import type { HttpRequest } from '../../lib/http/types.ts';

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as WebhookDefinition[];

export const SECRET = 'It\'s a Secret to Everybody';

/** A deep copy of a real example payload of `event`, chosen by `pick`. */
export function example(event: string, pick: (payload: Record<string, unknown>) => boolean = () => true): Record<string, unknown> {
  const def = definitions.find((d) => d.name === event);
  if (def === undefined) throw new Error(`@octokit/webhooks-examples has no "${event}" examples: is the package installed?`);
  const found = (def.examples as unknown as Record<string, unknown>[]).find(pick);
  if (found === undefined) throw new Error(`no "${event}" example matches the filter`);
  return structuredClone(found);
}

/** A real branch push (refs/heads/…, not deleted) from the installation-bearing examples. */
export function branchPush(): Record<string, unknown> {
  return example('push', (p) => typeof p.ref === 'string' && p.ref.startsWith('refs/heads/') && p.deleted === false && p.installation !== undefined);
}

/** X-Hub-Signature-256 exactly as GitHub computes it: HMAC-SHA256 of the raw body bytes. */
export function signature(body: string | Uint8Array, secret: string = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface DeliveryOptions {
  readonly event?: string;
  readonly secret?: string | null;
  readonly deliveryId?: string;
  readonly contentType?: string;
  readonly method?: string;
  readonly asBytes?: boolean;
  readonly headers?: Record<string, string | undefined>;
}

/** A request as GitHub would deliver `payload` (header names lower-case, as the adapters give them). */
export function delivery(payload: unknown, options: DeliveryOptions = {}): HttpRequest {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const secret = options.secret === undefined ? SECRET : options.secret;
  return {
    method: options.method ?? 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'user-agent': 'GitHub-Hookshot/abc1234',
      'x-github-event': options.event ?? 'push',
      'x-github-delivery': options.deliveryId ?? randomUUID(),
      'x-github-hook-id': '123',
      ...(secret === null ? {} : { 'x-hub-signature-256': signature(text, secret) }),
      ...options.headers,
    },
    body: options.asBytes === true ? new TextEncoder().encode(text) : text,
  };
}
