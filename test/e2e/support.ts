/**
 * The whole product on one machine: a real kube-apiserver per cluster, the GitHub stand-in over a
 * real git repository, the file secret store, the webhook function and in-process fan-out, wired
 * exactly as the local server wires them. Only GitHub.com itself is replaced.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InProcessInvoker } from '../../lib/fanout/index.ts';
import { ApiCallCounter } from '../../lib/github/index.ts';
import type { HttpHandler, HttpResponse } from '../../lib/http/types.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { wireLocal } from '../../lib/local/index.ts';
import { FileSecretStore, registerCluster, setGitHubToken, setWebhookSecrets } from '../../lib/registry/index.ts';
import type { SyncDeps } from '../../lib/sync/index.ts';
import { BOUTIQUE_MANIFESTS } from '../helpers/fixtures.ts';
import { startGitHubServer, buildPushPayload, webhookDelivery, type GitHubServer } from '../helpers/github-server.ts';

export const SECRET = 'e2e-webhook-secret-0123456789';
export const OWNER = 'acme';
export const REPO = 'policy';

export const REPO_YAML = 'apiVersion: configmanagement.gke.io/v1\nkind: Repo\nmetadata:\n  name: repo\nspec:\n  version: "1.0.0"\n';
export const NAMESPACE_YAML = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: onlineboutique\n  labels:\n    istio-injection: enabled\n';
export const MANIFESTS = readFileSync(BOUTIQUE_MANIFESTS, 'utf8');

export interface Product {
  readonly github: GitHubServer;
  readonly store: FileSecretStore;
  readonly invoker: InProcessInvoker;
  readonly webhook: HttpHandler;
  readonly counter: ApiCallCounter;
  readonly logLines: string[];
  readonly deps: SyncDeps;
  /** Deliver a push of `after` on `branch` (as GitHub would), wait until every job is done. */
  push(branch: string, before: string | undefined, after: string, options?: { deliveryId?: string; wait?: boolean }): Promise<HttpResponse>;
  /**
   * Register a cluster following `branch`. The health timeout defaults to 0 (no wait for
   * rollouts): these tests run on the bare control plane, where no Deployment ever becomes
   * Available. The rollout tests, on the workload plane, pass their own.
   */
  register(
    name: string,
    kubeconfig: string,
    branch?: string,
    extra?: { readonly healthTimeout?: number; readonly environment?: string; readonly production?: boolean; readonly dir?: string; readonly sourceFormat?: 'hierarchy' | 'unstructured' },
  ): Promise<void>;
  close(): Promise<void>;
}

export interface ProductOptions {
  /** Check every GitHub call against the OpenAPI description (the stand-in's contract mode). */
  readonly contract?: boolean;
  /** Longest gap between two health checks (default 1 s here: rollouts on the workload plane take seconds). */
  readonly healthIntervalMs?: number;
}

export async function startProduct(options: ProductOptions = {}): Promise<Product> {
  const home = await mkdtemp(join(tmpdir(), 'pushsync-e2e-'));
  const github = await startGitHubServer({ owner: OWNER, repo: REPO, ...(options.contract ? { contract: true } : {}) });
  const store = new FileSecretStore(home);
  await setGitHubToken(store, github.token);
  await setWebhookSecrets(store, [SECRET]);
  const logLines: string[] = [];
  const logger: Logger = createLogger({ sink: (l) => logLines.push(l), level: 'debug' });
  const counter = new ApiCallCounter();
  const { webhook, invoker, deps } = wireLocal({ store, logger, githubBaseUrl: github.url, counter, writeSpacingMs: 0, retryDelaysMs: [50, 100], healthIntervalMs: options.healthIntervalMs ?? 1_000 });

  return {
    github, store, invoker, webhook, counter, logLines, deps,
    async push(branch, before, after, options = {}) {
      const payload = await buildPushPayload({ git: github.git, owner: OWNER, repo: REPO, ref: branch, ...(before ? { before } : {}), after, apiUrl: github.url });
      const d = webhookDelivery(payload, SECRET, options.deliveryId ? { deliveryId: options.deliveryId } : {});
      const res = await webhook({ method: d.method, headers: d.headers, body: d.body });
      if (options.wait !== false) await invoker.idle();
      return res;
    },
    async register(name, kubeconfig, branch = 'main', extra = {}) {
      const r = await registerCluster(store, { name, kubeconfig, repo: `${OWNER}/${REPO}`, branch, dir: '.', sourceFormat: 'hierarchy', healthTimeout: 0, ...extra }, { replace: true });
      if (!r.ok) throw new Error(`register ${name}: ${JSON.stringify(r.errors)}`);
    },
    async close() {
      await invoker.idle();
      await github.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** The latest state and description of each pushsync context on a commit. */
export function checks(github: GitHubServer, sha: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [context, s] of github.latestStatuses(sha)) out[context] = `${s.state}: ${s.description ?? ''}`;
  return out;
}
