/**
 * A connection to one cluster, from a kubeconfig *string* (credentials come from a secret
 * store, never from a file we choose) and an optional context.
 *
 * Before any credential is used, the chosen context is held to a CredentialPolicy
 * (kubeconfig-policy.ts): by default TLS verified over https and no exec plugin, whatever the
 * registration says, so a hand-edited store cannot get past the checks made at registration.
 * A credential that fails (an exec plugin exiting non-zero, a token file missing) is reported as
 * a summary naming the cluster and the plugin, never with the plugin's output: its stderr can
 * hold the very token it failed to hand over.
 */
import type https from 'node:https';
import yaml from 'js-yaml';
import { redactText, registerSecret } from '../log.ts';
import { Codes, ClusterError } from './errors.ts';
import { cacheKey } from './cache.ts';
import type { ClusterCache } from './cache.ts';
import { KubeHttp } from './http.ts';
import { checkCredentialUse, credentialUseOf, kubeconfigSecretValues, STRICT_POLICY } from './kubeconfig-policy.ts';
import type { CredentialPolicy, CredentialUse } from './kubeconfig-policy.ts';

export interface ConnectOptions {
  /** Context name; default: the kubeconfig's current-context. */
  readonly context?: string;
  /** Per-request timeout (ms). */
  readonly timeoutMs?: number;
  /** Sockets kept open to the server. */
  readonly maxSockets?: number;
  /** What the kubeconfig may do (TLS, exec plugins); default STRICT_POLICY. */
  readonly policy?: CredentialPolicy;
  /** The cluster's name in messages ("credentials for cluster prod failed: …"); default: the context's. */
  readonly cluster?: string;
  /** A warm process's memory of the clusters it applied to (cache.ts). */
  readonly cache?: ClusterCache;
}

export interface Connection {
  readonly http: KubeHttp;
  readonly server: string;
  readonly context: string;
  /** The warm cache and this cluster's key in it (server URL and CA), when the caller keeps one. */
  readonly cache?: { readonly cache: ClusterCache; readonly key: string };
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
    // A YAML error quotes the lines around it, which may hold a token: only the line number.
    const line = (e as { mark?: { line?: number } }).mark?.line;
    throw new ClusterError(Codes.resource, `kubeconfig: cannot parse${line === undefined ? `: ${(e as Error).message}` : ` (YAML error at line ${line + 1})`}`);
  }
  registerKubeconfigSecrets(kubeconfig);
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

  const who = opts.cluster ?? kc.getCurrentContext();
  // What client-node will act on, as it loaded it.
  const current = kc.getCurrentUser();
  const use = credentialUseOf(
    { name: cluster.name, server: cluster.server, insecureSkipTlsVerify: cluster.skipTLSVerify },
    { name: current?.name ?? '', exec: current?.exec, authProvider: current?.authProvider },
  );
  const problems = checkCredentialUse(use, opts.policy ?? STRICT_POLICY);
  if (problems.length > 0) {
    throw new ClusterError(
      Codes.permission,
      `credentials for cluster ${who} refused: kubeconfig ${problems.map((p) => p.message).join('; ')} (not allowed by the registration: see \`pushsync clusters register --help\`)`,
    );
  }

  if (/^http:/i.test(cluster.server) && !cluster.skipTLSVerify) {
    // client-node's own rule; said here, where it is not mistaken for a credential failure.
    throw new ClusterError(Codes.resource, `kubeconfig: cluster "${cluster.name}" has an http:// server, which is only used with insecure-skip-tls-verify: true as well`);
  }

  // One read of the TLS material for the agent; auth headers are refreshed periodically
  // because exec/OIDC tokens expire.
  const provider = (current?.authProvider as { name?: unknown } | undefined)?.name;
  const authenticate = async (into: https.RequestOptions): Promise<void> => {
    try {
      await kc.applyToHTTPSOptions(into);
    } catch (e) {
      throw credentialFailure(who, use, typeof provider === 'string' ? provider : undefined, e);
    }
  };
  const tls: https.RequestOptions = {};
  await authenticate(tls);
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
    await authenticate(fresh);
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
  return {
    http,
    server: cluster.server,
    context: kc.getCurrentContext(),
    ...(opts.cache ? { cache: { cache: opts.cache, key: cacheKey(cluster.server, tls.ca as string | Buffer | undefined) } } : {}),
    close: () => http.close(),
  };
}

function headersOf(opts: https.RequestOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
  }
  if (opts.auth) out.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  // A token an exec plugin or OIDC refresh handed over was never in the kubeconfig: masked from now on.
  const credential = /^\S+\s+(\S+)$/.exec(out.Authorization ?? '')?.[1];
  if (credential !== undefined) registerSecret(credential);
  return out;
}

function registerKubeconfigSecrets(text: string): void {
  try {
    for (const value of kubeconfigSecretValues(yaml.load(text))) registerSecret(value);
  } catch {
    // client-node parsed it; a second parse failing changes nothing about what it will use.
  }
}

/**
 * What went wrong getting credentials, without the text of what came from outside: an exec
 * plugin's stderr (client-node's message for a non-zero exit) and an auth provider's error (an
 * identity provider's answer) can both carry a token. Only client-node's own messages (a
 * malformed key, say) are kept, redacted all the same. A plugin or provider failing to answer
 * may pass; one that cannot run, or a file that is not there, will not.
 */
function credentialFailure(who: string, use: CredentialUse, provider: string | undefined, e: unknown): ClusterError {
  const code = (e as { code?: unknown } | null)?.code;
  const codeText = typeof code === 'string' ? code : undefined;
  const prefix = `credentials for cluster ${who} failed: `;
  if (use.exec !== undefined) {
    const plugin = `exec plugin ${JSON.stringify(use.exec.command)}`;
    if (codeText === 'ENOENT' || codeText === 'EACCES') return new ClusterError(Codes.permission, `${prefix}${plugin} could not be started (${codeText}): is it installed where pushsync runs?`);
    if (e instanceof SyntaxError) return new ClusterError(Codes.permission, `${prefix}${plugin} did not print an ExecCredential`);
    return new ClusterError(Codes.permission, `${prefix}${plugin} exited with an error (its output is withheld: it may hold credentials)`, true);
  }
  if (provider !== undefined) return new ClusterError(Codes.permission, `${prefix}auth-provider ${JSON.stringify(provider)} failed (its error is withheld: it may hold credentials)`, true);
  if (codeText !== undefined) return new ClusterError(Codes.permission, `${prefix}a certificate, key or token file could not be read (${codeText})`);
  return new ClusterError(Codes.permission, `${prefix}${redactText(e instanceof Error ? e.message : String(e))}`);
}
