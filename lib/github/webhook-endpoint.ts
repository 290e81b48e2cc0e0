/**
 * The webhook endpoint as deployed and as served locally: the webhook handler over a
 * SecretStore's webhook secrets and an Invoker that starts the sync function. The secrets are
 * cached for the life of a process (a warm Lambda container, `pushsync serve`) and re-read when
 * a signature fails to verify — at most every so often, so a flood of forged deliveries is not a
 * flood of store reads — which is how a rotated secret is picked up without a restart.
 */
import type { Invoker } from '../fanout/types.ts';
import { toPayload } from '../jobs.ts';
import type { Logger } from '../log.ts';
import type { LogSampler } from '../http/log-sampler.ts';
import type { StreamingHandler } from '../http/types.ts';
import { webhookSecretCache, type SecretStore } from '../registry/index.ts';
import { createWebhookHandler } from './webhook.ts';

export interface WebhookEndpointDeps {
  /** Holds the webhook secret(s) (`pushsync secrets set webhook-secret`). */
  readonly secrets: SecretStore;
  readonly invoker: Invoker;
  readonly logger: Logger;
  /** Secret caching (defaults: re-read every 5 min, or after a failed signature at most every 30 s). */
  readonly secretCache?: Parameters<typeof webhookSecretCache>[1];
  readonly sampler?: LogSampler;
}

export function createWebhookEndpoint(deps: WebhookEndpointDeps): StreamingHandler {
  return createWebhookHandler({
    secrets: webhookSecretCache(deps.secrets, deps.secretCache),
    enqueue: (job) => deps.invoker.invoke('sync', toPayload(job)),
    logger: deps.logger,
    ...(deps.sampler ? { sampler: deps.sampler } : {}),
  });
}
