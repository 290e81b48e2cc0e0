/**
 * API Gateway HTTP API (payload format 2.0) ↔ the plain request/response values.
 * Bodies arrive base64-encoded whenever API Gateway does not treat them as text, so the
 * decoded bytes are what the handler verifies; header names are lower-cased here. The body is
 * already whole, so a StreamingHandler is called whole: its head checks still run first, on the
 * same code path as behind node:http, and refuse before the body is hashed.
 */
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { jsonResponse } from './types.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.ts';

/** The fields of the 2.0 event this adapter reads (the rest of the event is ignored). */
export interface ApiGatewayV2Event {
  readonly version?: string;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: { readonly http?: { readonly method?: string }; readonly requestId?: string };
}

export interface ApiGatewayV2Result {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded: false;
}

export class LambdaEventError extends Error {
  readonly code = 'HTTP_NOT_API_GATEWAY_V2';
  constructor(message: string) {
    super(message);
    this.name = 'LambdaEventError';
  }
}

export function fromLambdaEvent(event: ApiGatewayV2Event): HttpRequest {
  const method = event.requestContext?.http?.method;
  if (typeof method !== 'string' || method === '') {
    throw new LambdaEventError(
      `not an API Gateway HTTP API payload 2.0 event (version ${JSON.stringify(event.version ?? null)}, no requestContext.http.method): route the webhook through an HTTP API with payload format 2.0`,
    );
  }
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const prior = headers[key];
    headers[key] = prior === undefined ? value : `${prior}, ${value}`;
  }
  const raw = event.body ?? '';
  const body: string | Uint8Array = event.isBase64Encoded === true ? Buffer.from(raw, 'base64') : raw;
  return { method, headers, body };
}

export function toLambdaResult(response: HttpResponse): ApiGatewayV2Result {
  return { statusCode: response.status, headers: { ...response.headers }, body: response.body, isBase64Encoded: false };
}

/** Wrap a handler as a Lambda function handler; an unexpected throw becomes a logged 500. */
export function lambdaHandler(handler: HttpHandler, logger: Logger = silentLogger): (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result> {
  return async (event) => {
    try {
      return toLambdaResult(await handler(fromLambdaEvent(event)));
    } catch (err) {
      const code = err instanceof LambdaEventError ? err.code : 'HTTP_INTERNAL';
      logger.error('request failed', { code, error: err, requestId: event.requestContext?.requestId });
      return toLambdaResult(jsonResponse(500, { ok: false, code, message: err instanceof LambdaEventError ? err.message : 'internal error; see the function logs' }));
    }
  };
}
