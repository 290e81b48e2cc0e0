/**
 * A connection to one cluster, from a kubeconfig *string* (credentials come from a secret
 * store, never from a file we choose) and an optional context.
 */
import type https from 'node:https';
import { Codes, ClusterError } from './errors.ts';
import { KubeHttp } from './http.ts';

export interface ConnectOptions {
  /** Context name; default: the kubeconfig's current-context. */
  readonly context?: string;
  /** Per-request timeout (ms). */
  readonly timeoutMs?: number;
  /** Sockets kept open to the server. */
  readonly maxSockets?: number;
}

export interface Connection {
  readonly http: KubeHttp;
  readonly server: string;
  readonly context: string;
  close(): void;
}

/** How long auth headers are reused before asking the kubeconfig's authenticator again. */
const HEADER_TTL_MS = 60_000;

export async function connect(kubeconfig: string, opts: ConnectOptions = {}): Promise<Connection> {
  // Loaded on first use: it is large (~1 s to import), and the CLI's vet/hydrate never need it.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    kc.loadFromString(kubeconfig);
  } catch (e) {
    throw new ClusterError(Codes.resource, `kubeconfig: cannot parse: ${(e as Error).message}`);
  }
  if (opts.context !== undefined) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
      throw new ClusterError(Codes.resource, `kubeconfig: no context "${opts.context}" (contexts: ${known})`);
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new ClusterError(Codes.resource, `kubeconfig: context "${kc.getCurrentContext() || '(none)'}" names no cluster with a server URL`);
  }

  // One read of the TLS material for the agent; auth headers are refreshed periodically
  // because exec/OIDC tokens expire.
  const tls: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  const agentOptions: https.AgentOptions = {
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
  let cached: { at: number; headers: Record<string, string> } | undefined = {
    at: Date.now(),
    headers: headersOf(tls),
  };
  const headers = async (): Promise<Record<string, string>> => {
    if (cached && Date.now() - cached.at < HEADER_TTL_MS) return cached.headers;
    const fresh: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(fresh);
    cached = { at: Date.now(), headers: headersOf(fresh) };
    return cached.headers;
  };

  const http = new KubeHttp({
    server: cluster.server,
    agentOptions,
    headers,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.maxSockets !== undefined ? { maxSockets: opts.maxSockets } : {}),
  });
  return { http, server: cluster.server, context: kc.getCurrentContext(), close: () => http.close() };
}

function headersOf(opts: https.RequestOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
  }
  if (opts.auth) out.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  return out;
}
