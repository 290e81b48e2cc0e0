/**
 * node:http ↔ the plain request/response values, for a StreamingHandler (a whole-body handler
 * is buffered in front of it). The order is what keeps an unauthenticated sender from costing
 * memory: the handler judges the head before a byte of the body is read; then the body's
 * Content-Length is reserved from the server-wide byte budget (waiting briefly if it is spent,
 * 503 if it stays spent); only then is the body streamed into the handler, chunk by chunk.
 * A request refused before its body was read is answered with `connection: close`, so the rest
 * of it is never read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { createByteBudget, type ByteBudget, type Reservation } from './budget.ts';
import { createLogSampler, type LogSampler } from './log-sampler.ts';
import { buffered, declaredLength, DEFAULT_MAX_BODY_BYTES, HttpCodes, jsonResponse } from './types.ts';
import type { BodySink, HttpHandler, HttpResponse, RequestHead } from './types.ts';

export interface NodeAdapterOptions {
  /** The body limit for a whole-body handler (default 25 MB); a streaming handler sets its own. */
  readonly maxBodyBytes?: number;
  /** Bytes of request bodies held at once; share one between listeners to bound them together. */
  readonly budget?: ByteBudget;
  readonly logger?: Logger;
  /** Where refusals the adapter makes itself (503 busy) are logged; default: sampled on `logger`. */
  readonly sampler?: LogSampler;
}

/** Seconds a sender is told to wait after a 503 for a spent budget. */
export const RETRY_AFTER_SECONDS = 10;

export function fromNodeHeaders(raw: IncomingMessage['headers']): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(raw)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

export function writeNodeResponse(res: ServerResponse, response: HttpResponse): void {
  res.writeHead(response.status, { ...response.headers, 'content-length': String(Buffer.byteLength(response.body)) });
  res.end(response.body);
}

/** A `request` listener for node:http. */
export function nodeListener(handler: HttpHandler, options: NodeAdapterOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const streaming = buffered(handler, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  const budget = options.budget ?? createByteBudget();
  const logger = options.logger ?? silentLogger;
  const sampler = options.sampler ?? createLogSampler(logger);

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head: RequestHead = { method: req.method ?? 'GET', headers: fromNodeHeaders(req.headers) };
    const decision = await streaming.head(head);
    if ('refuse' in decision) return answerUnread(req, res, decision.refuse);
    const sink = decision.accept;
    const declared = declaredLength(head);
    const reservation = await budget.reserve(Number.isNaN(declared) ? sink.maxBytes : declared);
    if (!reservation.ok) {
      const response = refusal(reservation.reason, declared, budget);
      sampler.log('warn', logger, 'request refused', { status: response.status, code: codeOf(response), reason: reservation.reason, bytes: Number.isNaN(declared) ? null : declared, ...budget.stats() });
      return answerUnread(req, res, response);
    }
    try {
      const read = await readInto(req, sink);
      if (read.kind !== 'complete') sink.abort();
      if (read.kind === 'aborted') return;
      if (read.kind === 'refused') return answerUnread(req, res, read.response);
      writeNodeResponse(res, await sink.end());
    } finally {
      // After end(): the sink holds the body until its answer is made.
      reservation.release();
    }
  };

  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      logger.error('request failed', { code: HttpCodes.internal, error: err });
      if (!res.headersSent) answerUnread(req, res, jsonResponse(500, { ok: false, code: HttpCodes.internal, message: 'internal error; see the server logs' }));
      else res.destroy();
    });
  };
}

type Read = { readonly kind: 'complete' } | { readonly kind: 'refused'; readonly response: HttpResponse } | { readonly kind: 'aborted' };

/**
 * Stream the body into the sink. Events rather than `for await`: leaving an async iterator early
 * destroys the request, and with it the socket the refusal has to go out on.
 */
function readInto(req: IncomingMessage, sink: BodySink): Promise<Read> {
  // Gone while it waited for room in the budget: its 'close' has been and gone.
  if (req.destroyed) return Promise.resolve({ kind: 'aborted' });
  return new Promise((resolve) => {
    const settle = (read: Read): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
      resolve(read);
    };
    const onData = (chunk: Buffer): void => {
      const early = sink.write(chunk);
      if (early === undefined) return;
      req.pause();
      settle({ kind: 'refused', response: early });
    };
    const onEnd = (): void => settle({ kind: 'complete' });
    // The sender went away (or the server cut it off at its request timeout): nobody to answer.
    const onAbort = (): void => settle({ kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

/**
 * Answer a request whose body was not (entirely) read. Keeping the connection would mean reading
 * the rest to find the next request; closing it after the answer reads nothing more.
 */
function answerUnread(req: IncomingMessage, res: ServerResponse, response: HttpResponse): void {
  if (req.complete) return writeNodeResponse(res, response);
  writeNodeResponse(res, { ...response, headers: { ...response.headers, connection: 'close' } });
}

function refusal(reason: Exclude<Reservation, { ok: true }>['reason'], declared: number, budget: ByteBudget): HttpResponse {
  if (reason === 'too-large') {
    return jsonResponse(413, { ok: false, code: HttpCodes.tooLarge, message: `request body of ${declared} bytes is over the ${budget.stats().maxBytes} bytes this server holds at once` });
  }
  return jsonResponse(
    503,
    { ok: false, code: HttpCodes.busy, message: `too many request bytes in flight (${reason === 'timeout' ? 'no room freed up in time' : 'too many requests waiting'}); retry later (GitHub: redeliver)` },
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );
}

function codeOf(response: HttpResponse): string | undefined {
  try {
    const code = (JSON.parse(response.body) as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
