/**
 * The webhook function: the GitHub endpoint behind API Gateway (HTTP API, payload 2.0). Wiring
 * only: the endpoint (lib/github/webhook-endpoint.ts) verifies and answers; the sync itself runs
 * in the `sync` function, invoked asynchronously.
 */
// The leaf modules, not lib/github's or lib/aws's index: those also reach Octokit and the sync
// engine, which this bundle must not carry.
import { createWebhookEndpoint, type WebhookEndpointDeps } from '../lib/github/webhook-endpoint.ts';
import { webhookDepsFromEnv } from '../lib/aws/env.ts';
import { lambdaHandler } from '../lib/http/lambda.ts';
import type { ApiGatewayV2Event, ApiGatewayV2Result } from '../lib/http/lambda.ts';

/** The Lambda entry point for given dependencies. */
export function createLambdaWebhook(deps: WebhookEndpointDeps): (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result> {
  return lambdaHandler(createWebhookEndpoint(deps), deps.logger);
}

let entry: ((event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result>) | undefined;
/** The deployed entry point: dependencies from the environment, built on the first request of a container. */
export const handler = async (event: ApiGatewayV2Event): Promise<ApiGatewayV2Result> => (entry ??= createLambdaWebhook(webhookDepsFromEnv()))(event);
