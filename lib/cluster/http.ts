/**
 * The one door to the API server: plain HTTP(S) requests with a keep-alive agent.
 *
 * We talk HTTP directly instead of through the generated client so that we control exactly
 * which requests are sent (no hidden GETs), see the real status codes (201 vs 200 tells
 * created from configured), send `application/apply-patch+yaml` with dryRun/force, and can
 * count every request for the benchmark.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import tls from 'node:tls';

export type Verb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface KubeRequest {
  readonly method: Verb;
  /** Absolute path on the server, e.g. `/api/v1/namespaces/x/configmaps/y`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** JSON-serialisable body. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  readonly signal?: AbortSignal;
  /** Per-request timeout; default from the client. */
  readonly timeoutMs?: number;
}

export interface KubeResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** Parsed JSON when the server sent JSON, else the raw text. */
  readonly body: unknown;
}

/** The request never produced an HTTP status: refused, reset, timed out, aborted. */
export class NetworkError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'NetworkError';
    this.code = code;
  }
}

export interface TransportOptions {
  readonly server: string;
  readonly agentOptions: https.AgentOptions;
  /** Returns the auth headers for the next request (tokens may rotate). */
  readonly headers: () => Promise<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly maxSockets?: number;
}

/** What was sent, for the benchmark and tests ("0 writes" is checked against real counts). */
export interface RequestStats {
  total: number;
  byVerb: Record<Verb, number>;
  /**
   * The longest chain of requests each sent after the one before it was answered: the
   * sequential round trips a run costs on a cluster far away (connection set-up not counted).
   */
  depth: number;
}

export class KubeHttp {
  readonly server: URL;
  readonly stats: RequestStats = { total: 0, byVerb: { GET: 0, POST: 0, PUT: 0, PATCH: 0, DELETE: 0 }, depth: 0 };
  private readonly agent: http.Agent;
  private readonly maxSockets: number;
  /** Sockets opened ahead of need (prewarm), handed to the next requests that need a new one. */
  private readonly warm: Socket[] = [];
  private readonly mod: typeof http | typeof https;
  private readonly headers: () => Promise<Record<string, string>>;
  private readonly timeoutMs: number;

  constructor(opts: TransportOptions) {
    this.server = new URL(opts.server);
    const secure = this.server.protocol === 'https:';
    this.mod = secure ? https : http;
    this.maxSockets = opts.maxSockets ?? 32;
    const common = { keepAlive: true, maxSockets: this.maxSockets };
    const warm = this.warm;
    // A new connection takes a pre-opened one when there is one (its TLS handshake already done).
    const take = <A extends http.Agent>(agent: A): A => {
      const create = (agent as unknown as { createConnection: (o: object, cb?: unknown) => unknown }).createConnection.bind(agent);
      (agent as unknown as { createConnection: (o: object, cb?: unknown) => unknown }).createConnection = (o: object, cb?: unknown) => {
        for (let s = warm.pop(); s; s = warm.pop()) if (!s.destroyed) return s.ref();
        return create(o, cb);
      };
      return agent;
    };
    this.agent = take(secure ? new https.Agent({ ...withSecureContext(opts.agentOptions), ...common }) : new http.Agent(common));
    this.headers = opts.headers;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  close(): void {
    for (const s of this.warm.splice(0)) s.destroy();
    this.agent.destroy();
  }

  /**
   * Open connections now so that up to `n` requests can run at once later without each
   * waiting for its own TCP and TLS handshake then (a round trip each on a far cluster).
   * Best effort: a socket that fails is dropped.
   */
  prewarm(n: number): void {
    const agent = this.agent as unknown as { sockets: Record<string, unknown[]>; freeSockets: Record<string, unknown[]>; createConnection: (o: object) => Socket };
    const open = [agent.sockets, agent.freeSockets].reduce((sum, m) => sum + Object.values(m).reduce((k, l) => k + l.length, 0), 0);
    const want = Math.min(n, this.maxSockets) - open - this.warm.filter((s) => !s.destroyed).length;
    const host = this.server.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.server.port || (this.server.protocol === 'https:' ? 443 : 80));
    const isIp = /^[\d.]+$|:/.test(host);
    for (let i = 0; i < want; i++) {
      const s = (Object.getPrototypeOf(this.agent) as { createConnection: (this: unknown, o: object) => Socket }).createConnection.call(this.agent, {
        ...(this.agent as unknown as { options: object }).options,
        host,
        port,
        ...(isIp ? {} : { servername: host }),
      });
      s.once('error', () => s.destroy());
      // Waiting to be used must not keep the process alive.
      s.unref();
      this.warm.push(s);
    }
  }

  async request(req: KubeRequest): Promise<KubeResponse> {
    req.signal?.throwIfAborted();
    const auth = await this.headers();
    const base = this.server.pathname.replace(/\/$/, '');
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) qs.set(k, v);
    const path = base + req.path + (qs.size > 0 ? `?${qs.toString()}` : '');
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = {
      ...auth,
      Accept: req.accept ?? 'application/json',
      'User-Agent': 'pushsync',
    };
    if (payload) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    this.stats.total++;
    this.stats.byVerb[req.method]++;
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    // Every request answered so far could have been waited for: this one is one step after them.
    const depth = this.stats.depth + 1;
    const deepen = (): void => {
      if (depth > this.stats.depth) this.stats.depth = depth;
    };

    return new Promise<KubeResponse>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        deepen();
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const r = this.mod.request(
        {
          protocol: this.server.protocol,
          hostname: this.server.hostname,
          port: this.server.port,
          method: req.method,
          path,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => finish(() => reject(toNetworkError(e))));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const type = String(res.headers['content-type'] ?? '');
            let body: unknown = text;
            if (type.includes('json') && text.length > 0) {
              try {
                body = JSON.parse(text);
              } catch {
                body = text;
              }
            }
            finish(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          });
        },
      );
      const timer = setTimeout(() => {
        r.destroy(new NetworkError('ETIMEDOUT', `${req.method} ${req.path}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const onAbort = (): void => {
        r.destroy(new NetworkError('ABORTED', `${req.method} ${req.path}: aborted`));
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      r.on('error', (e) => finish(() => reject(toNetworkError(e))));
      // Headers and body in one write.
      r.end(payload);
    });
  }
}

/**
 * One TLS context (CA, client certificate and key, parsed once) for every socket of the agent.
 * Without it Node builds a new context per connection, re-parsing the CA bundle each time: with
 * eight sockets per cluster and ten clusters, that was a tenth of pushsync's CPU in a fan-out.
 */
function withSecureContext(options: https.AgentOptions): https.AgentOptions {
  if (options.secureContext !== undefined) return options;
  const { ca, cert, key, ...rest } = options;
  if (ca === undefined && cert === undefined && key === undefined) return options;
  return { ...rest, secureContext: tls.createSecureContext({ ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) }) };
}

function toNetworkError(e: unknown): NetworkError {
  if (e instanceof NetworkError) return e;
  const err = e as NodeJS.ErrnoException;
  return new NetworkError(err.code ?? 'ENETWORK', err.message);
}
