/**
 * node:http ↔ the plain request/response values. The body is streamed with a size limit:
 * a request over it is answered 413 without buffering the rest.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { DEFAULT_MAX_BODY_BYTES, jsonResponse } from './types.ts';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.ts';

export interface NodeAdapterOptions {
  /** Default 25 MB. */
  readonly maxBodyBytes?: number;
  readonly logger?: Logger;
}

export type ReadResult = { readonly ok: true; readonly request: HttpRequest } | { readonly ok: false; readonly response: HttpResponse };

function tooLarge(limit: number): HttpResponse {
  return jsonResponse(413, { ok: false, code: 'HTTP_TOO_LARGE', message: `request body is over the ${limit}-byte limit` }, { connection: 'close' });
}

export function fromNodeHeaders(raw: IncomingMessage['headers']): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(raw)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

export function readNodeRequest(req: IncomingMessage, maxBodyBytes: number = DEFAULT_MAX_BODY_BYTES): Promise<ReadResult> {
  const headers = fromNodeHeaders(req.headers);
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) return Promise.resolve({ ok: false, response: tooLarge(maxBodyBytes) });
  // Events rather than `for await`: leaving an async iterator early destroys the request, and
  // with it the socket the 413 answer has to go out on.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size > maxBodyBytes) {
        cleanup();
        req.pause();
        resolve({ ok: false, response: tooLarge(maxBodyBytes) });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ ok: true, request: { method: req.method ?? 'GET', headers, body: Buffer.concat(chunks, size) } });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

export function writeNodeResponse(res: ServerResponse, response: HttpResponse): void {
  res.writeHead(response.status, { ...response.headers, 'content-length': String(Buffer.byteLength(response.body)) });
  res.end(response.body);
}

/**
 * A `request` listener for node:http. A refused oversized body is not read further: the answer
 * is sent with `connection: close` and the socket is closed once it is flushed.
 */
export function nodeListener(handler: HttpHandler, options: NodeAdapterOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logger = options.logger ?? silentLogger;
  return (req, res) => {
    void (async () => {
      let read: ReadResult;
      try {
        read = await readNodeRequest(req, maxBodyBytes);
      } catch (err) {
        logger.warn('reading the request failed', { error: err });
        if (!res.headersSent) writeNodeResponse(res, jsonResponse(400, { ok: false, code: 'HTTP_READ_FAILED', message: 'could not read the request body' }));
        return;
      }
      if (!read.ok) {
        res.once('finish', () => req.socket.destroySoon());
        writeNodeResponse(res, read.response);
        return;
      }
      let response: HttpResponse;
      try {
        response = await handler(read.request);
      } catch (err) {
        logger.error('request failed', { code: 'HTTP_INTERNAL', error: err });
        response = jsonResponse(500, { ok: false, code: 'HTTP_INTERNAL', message: 'internal error; see the server logs' });
      }
      writeNodeResponse(res, response);
    })();
  };
}
