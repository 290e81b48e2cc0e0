/**
 * The local HTTP server: `POST /webhook` (the webhook endpoint through lib/http's node
 * adapter: refused on its headers before its body is read, its body verified as it streams,
 * at most 32 MB of bodies held at once) and `GET /healthz`. Anything else is a JSON 404 that
 * says what is served.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createByteBudget, type ByteBudgetOptions } from '../http/budget.ts';
import { nodeListener, writeNodeResponse } from '../http/node.ts';
import { jsonResponse, type HttpHandler } from '../http/types.ts';
import type { Logger } from '../log.ts';

export interface LocalServerOptions {
  /** A StreamingHandler refuses a request before its body is read; a plain one gets it buffered. */
  readonly webhook: HttpHandler;
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly logger: Logger;
  /** Extra fields for the /healthz answer (e.g. job counters). */
  readonly health?: () => Readonly<Record<string, unknown>>;
  readonly maxBodyBytes?: number;
  /** Request bodies held at once, all requests together (default 32 MB; lib/http/budget.ts). */
  readonly bodyBudget?: Partial<ByteBudgetOptions>;
}

export interface LocalServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, IPv6 hosts in brackets. */
  readonly url: string;
  /**
   * Stop accepting connections and wait for the requests in progress to be answered; after
   * `timeoutMs` the remaining connections are cut. True when everything was answered in time.
   */
  close(timeoutMs: number): Promise<boolean>;
}

export const LocalServerCodes = { listen: 'LOCAL_LISTEN' } as const;

export class LocalServerError extends Error {
  readonly code = LocalServerCodes.listen;
  constructor(message: string) {
    super(message);
    this.name = 'LocalServerError';
  }
}

export const WEBHOOK_PATH = '/webhook';
export const HEALTH_PATH = '/healthz';

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const webhook = nodeListener(options.webhook, {
    logger: options.logger,
    budget: createByteBudget(options.bodyBudget),
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
  });
  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const pathname = pathOf(req.url);
    if (pathname === WEBHOOK_PATH) return webhook(req, res);
    if (pathname === HEALTH_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      writeNodeResponse(res, jsonResponse(200, { ok: true, message: 'pushsync is serving', ...options.health?.() }));
      return;
    }
    // Drain what was sent so the connection can be reused.
    req.resume();
    writeNodeResponse(res, jsonResponse(404, { ok: false, code: 'LOCAL_NOT_FOUND', message: `no such endpoint: ${req.method} ${pathname}; pushsync serves POST ${WEBHOOK_PATH} and GET ${HEALTH_PATH}` }));
  };

  const server = createServer(route);
  // A request that stalls must not hold a shutdown forever; GitHub sends its body at once.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'EADDRINUSE' ? 'the address is already in use (another pushsync?); choose another with --port or PORT' : err.code === 'EADDRNOTAVAIL' ? 'no interface of this machine has that address; see --host' : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : err.message;
      reject(new LocalServerError(`cannot listen on ${options.host}:${options.port}: ${why}`));
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => options.logger.error('http server error', { error: err }));
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    host: address.address,
    port: address.port,
    url: `http://${hostForUrl}:${address.port}`,
    async close(timeoutMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const deadline = Date.now() + timeoutMs;
      // Keep-alive connections go idle once their answer is out; close them as they do.
      while (Date.now() < deadline) {
        server.closeIdleConnections();
        const done = await Promise.race([closed.then(() => true), sleep(50).then(() => false)]);
        if (done) return true;
      }
      server.closeAllConnections();
      await closed;
      return false;
    },
  };
}

function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://local').pathname;
  } catch {
    return url ?? '/';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
