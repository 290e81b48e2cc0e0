/**
 * The plain HTTP values the request handlers work on. Runtime adapters (Lambda, node:http)
 * translate to and from these, so the handlers are tested by calling them directly
 * (the model of octokit/webhooks.js `create-middleware`).
 */

export interface HttpRequest {
  readonly method: string;
  /** Lower-case names. A header sent several times is joined with ", ". */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body: bytes as received, or a string when the runtime already decoded it. */
  readonly body: string | Uint8Array;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type HttpHandler = (request: HttpRequest) => Promise<HttpResponse>;

/** GitHub caps webhook payloads at 25 MB; anything larger cannot be a delivery. */
export const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024;

/** Every answer is JSON with a human `message`. */
export interface JsonBody {
  readonly ok: boolean;
  readonly message: string;
  readonly [key: string]: unknown;
}

export function jsonResponse(status: number, body: JsonBody, headers: Readonly<Record<string, string>> = {}): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: `${JSON.stringify(body)}\n`,
  };
}

/** Byte length of a body without copying it. */
export function bodyByteLength(body: string | Uint8Array): number {
  return typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
}

/** Header lookup that tolerates callers that did not lower-case names. */
export function header(request: HttpRequest, name: string): string | undefined {
  const direct = request.headers[name];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(request.headers)) {
    if (k.toLowerCase() === name) return v;
  }
  return undefined;
}
