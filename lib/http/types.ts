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

/** What arrives before the body: all a handler may judge a request on before reading it. */
export interface RequestHead {
  readonly method: string;
  /** Lower-case names, as in HttpRequest. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/**
 * Takes a body chunk by chunk, so a handler can check it while it streams (an HMAC) instead of
 * after buffering it.
 */
export interface BodySink {
  /** The most body bytes this sink takes: what a server reserves when no Content-Length is sent. */
  readonly maxBytes: number;
  /** Each chunk, in order. A response means: stop reading the body and answer this (e.g. 413). */
  write(chunk: Uint8Array): HttpResponse | undefined;
  /** The body is complete: the answer. */
  end(): Promise<HttpResponse>;
  /** The request went away before its end (or was refused by `write`): drop what is held. */
  abort(): void;
}

export type HeadDecision = { readonly refuse: HttpResponse } | { readonly accept: BodySink };

/**
 * A handler in two steps: the head first, which it may refuse before a byte of the body is read
 * (lib/http/node.ts reads nothing until it accepts), then the body. Callable as an HttpHandler
 * too (whole body at once, as the Lambda adapter has it): one code path for both runtimes.
 */
export interface StreamingHandler extends HttpHandler {
  head(head: RequestHead): Promise<HeadDecision>;
}

/**
 * `head` as a StreamingHandler. The whole-body call states the body's real length as its
 * Content-Length, so the size check up front sees what a streaming server would have been told.
 */
export function streamingHandler(head: (head: RequestHead) => Promise<HeadDecision>): StreamingHandler {
  const whole = async (request: HttpRequest): Promise<HttpResponse> => {
    const bytes = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    headers['content-length'] = String(bytes.byteLength);
    const decision = await head({ method: request.method, headers });
    if ('refuse' in decision) return decision.refuse;
    return decision.accept.write(bytes) ?? (await decision.accept.end());
  };
  return Object.assign(whole, { head });
}

/** True when `handler` can be given the head before the body. */
export function isStreaming(handler: HttpHandler): handler is StreamingHandler {
  return typeof (handler as Partial<StreamingHandler>).head === 'function';
}

/**
 * A whole-body handler as a StreamingHandler that buffers up to `maxBytes` (413 beyond): for
 * handlers with nothing to check before the body.
 */
export function buffered(handler: HttpHandler, maxBytes: number = DEFAULT_MAX_BODY_BYTES): StreamingHandler {
  if (isStreaming(handler)) return handler;
  return streamingHandler(async (head) => {
    if (declaredLength(head) > maxBytes) return { refuse: tooLarge(maxBytes) };
    const chunks: Uint8Array[] = [];
    let size = 0;
    return {
      accept: {
        maxBytes,
        write(chunk) {
          size += chunk.byteLength;
          if (size > maxBytes) return tooLarge(maxBytes);
          chunks.push(chunk);
          return undefined;
        },
        end: () => handler({ ...head, body: Buffer.concat(chunks, size) }),
        abort: () => void (chunks.length = 0),
      },
    };
  });
}

/**
 * `handler` with every answer passed through `map`, whichever way it is called (a wrapper that
 * must not cost a streaming handler its early refusals).
 */
export function mapResponses<H extends HttpHandler>(handler: H, map: (response: HttpResponse) => HttpResponse): H {
  if (!isStreaming(handler)) return (async (request: HttpRequest) => map(await handler(request))) as H;
  const inner = handler;
  return streamingHandler(async (head) => {
    const decision = await inner.head(head);
    if ('refuse' in decision) return { refuse: map(decision.refuse) };
    const sink = decision.accept;
    return {
      accept: {
        maxBytes: sink.maxBytes,
        write: (chunk) => {
          const early = sink.write(chunk);
          return early === undefined ? undefined : map(early);
        },
        end: async () => map(await sink.end()),
        abort: () => sink.abort(),
      },
    };
  }) as unknown as H;
}

/** The Content-Length a request declares; NaN when it declares none (or nonsense). */
export function declaredLength(head: RequestHead): number {
  const raw = head.headers['content-length'];
  return raw !== undefined && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
}

/** Codes of the answers the adapters give themselves, before or instead of a handler's. */
export const HttpCodes = {
  tooLarge: 'HTTP_TOO_LARGE',
  busy: 'HTTP_BUSY',
  readFailed: 'HTTP_READ_FAILED',
  internal: 'HTTP_INTERNAL',
} as const;

function tooLarge(limit: number): HttpResponse {
  return jsonResponse(413, { ok: false, code: HttpCodes.tooLarge, message: `request body is over the ${limit}-byte limit` });
}

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
export function header(request: RequestHead, name: string): string | undefined {
  const direct = request.headers[name];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(request.headers)) {
    if (k.toLowerCase() === name) return v;
  }
  return undefined;
}
