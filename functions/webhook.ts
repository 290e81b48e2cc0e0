/**
 * The webhook function: the GitHub endpoint behind API Gateway (HTTP API, payload 2.0).
 * Verifies and answers; the sync itself runs in the `sync` function, invoked asynchronously.
 */
import { createWebhookHandler, WebhookConfigError } from '../lib/github/webhook.ts';
import type { PushJob } from '../lib/github/webhook.ts';
import type { Invoker, JsonValue } from '../lib/fanout/index.ts';
import { lambdaHandler } from '../lib/http/lambda.ts';
import type { ApiGatewayV2Event, ApiGatewayV2Result } from '../lib/http/lambda.ts';
import { jsonResponse } from '../lib/http/types.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from '../lib/http/types.ts';
import { createLogger } from '../lib/log.ts';
import type { Logger } from '../lib/log.ts';
import { webhookSecretCache } from '../lib/registry/index.ts';
import type { SecretStore } from '../lib/registry/index.ts';
// env.ts, not lib/aws/index.ts: the index also reaches the sync engine, which this bundle must not carry.
import { webhookDepsFromEnv } from '../lib/aws/env.ts';

export interface WebhookFunctionDeps {
  readonly secrets: SecretStore;
  readonly invoker: Invoker;
  readonly logger?: Logger;
  /** Secret caching (defaults: re-read every 5 min, or after a failed signature at most every 30 s). */
  readonly secretCache?: Parameters<typeof webhookSecretCache>[1];
}

/**
 * The HTTP handler with its secrets cached for the life of a warm container. A signature that
 * does not verify makes it re-read the secrets once (at most every 30 s), so a rotated secret
 * is picked up without a cold start.
 */
export function createWebhookFunction(deps: WebhookFunctionDeps): HttpHandler {
  const logger = deps.logger ?? createLogger({ fields: { function: 'webhook' } });
  const cache = webhookSecretCache(deps.secrets, deps.secretCache);
  const enqueue = (job: PushJob): Promise<void> => deps.invoker.invoke('sync', JSON.parse(JSON.stringify(job)) as JsonValue);
  let built: { secrets: string[]; handler: HttpHandler } | undefined;

  const handlerFor = async (): Promise<HttpHandler> => {
    const secrets = await cache.get();
    if (built === undefined || built.secrets !== secrets) built = { secrets, handler: createWebhookHandler({ secrets, enqueue, logger }) };
    return built.handler;
  };

  const attempt = async (request: HttpRequest): Promise<{ response: HttpResponse; unauthenticated: boolean }> => {
    try {
      const response = await (await handlerFor())(request);
      return { response, unauthenticated: response.status === 401 };
    } catch (err) {
      if (!(err instanceof WebhookConfigError)) throw err;
      logger.error('webhook secret not configured', { code: err.code });
      return { response: jsonResponse(500, { ok: false, code: err.code, message: err.message }), unauthenticated: true };
    }
  };

  return async (request: HttpRequest) => {
    const first = await attempt(request);
    if (!first.unauthenticated || !(await cache.refresh())) return first.response;
    return (await attempt(request)).response;
  };
}

/** The Lambda entry point for given dependencies. */
export function createLambdaWebhook(deps: WebhookFunctionDeps): (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result> {
  const logger = deps.logger ?? createLogger({ fields: { function: 'webhook' } });
  return lambdaHandler(createWebhookFunction({ ...deps, logger }), logger);
}

let entry: ((event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result>) | undefined;
/** The deployed entry point: dependencies from the environment, built on the first request of a container. */
export const handler = async (event: ApiGatewayV2Event): Promise<ApiGatewayV2Result> => (entry ??= createLambdaWebhook(webhookDepsFromEnv()))(event);
