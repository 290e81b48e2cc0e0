/**
 * A world for the jobs: the GitHub stand-in as a GitHub App installation (check runs, OpenAPI
 * contract checks on), a file secret store with the App's key, clusters registered in it, and
 * SyncDeps whose fan-out records what it was handed instead of running it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Invoker, JsonValue } from '../../lib/fanout/index.ts';
import { createOctokit } from '../../lib/github/index.ts';
import { createLogger } from '../../lib/log.ts';
import { FileSecretStore, registerCluster, setGitHubApp } from '../../lib/registry/index.ts';
import type { BlobCache } from '../../lib/source/index.ts';
import type { SyncDeps } from '../../lib/sync/index.ts';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.ts';

export const OWNER = 'acme';
export const REPO = 'policy';
export const APP_ID = 31;
export const INSTALLATION = 7;
export const REPO_YAML = 'apiVersion: configmanagement.gke.io/v1\nkind: Repo\nmetadata:\n  name: repo\nspec:\n  version: "1.0.0"\n';
export const NAMESPACE_YAML = (name: string): string => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
/** Does not parse: a vet error (file and line), so nothing may be applied. */
export const BROKEN_YAML = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: [unclosed\n';

/** A kubeconfig for an API server that is not there: a closed port on this machine. */
export function unreachableKubeconfig(port: number): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: gone
    cluster:
      server: https://127.0.0.1:${port}
users:
  - name: admin
    user:
      token: unreachable-token-0123456789
contexts:
  - name: gone
    context:
      cluster: gone
      user: admin
current-context: gone
`;
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** The start most job tests share: cluster `east` (an API server nobody answers at) and a commit with one Namespace. */
export async function startEastWorld(): Promise<{ world: World; sha: string }> {
  const world = await startWorld();
  await world.register('east', unreachableKubeconfig(await closedPort()));
  const sha = await world.github.git.commit({ 'system/repo.yaml': REPO_YAML, 'namespaces/shop/namespace.yaml': NAMESPACE_YAML('shop') });
  return { world, sha };
}

/** After each test: every call was one GitHub documents, and no fault set by the test reaches the next. */
export function checkStandIn(world: World): void {
  expect(world.github.violations).toEqual([]);
  world.github.clearFaults();
}

/**
 * Registers a test file's hooks around one east world: started before all its tests (handed to
 * `ready`), closed after them, the stand-in checked after each (then `alsoAfterEach`).
 */
export function useEastWorld(ready: (started: { world: World; sha: string }) => void, alsoAfterEach?: () => void): void {
  let world: World | undefined;
  beforeAll(async () => {
    const started = await startEastWorld();
    world = started.world;
    ready(started);
  });
  afterAll(async () => {
    await world?.close();
  });
  afterEach(() => {
    if (world) checkStandIn(world);
    alsoAfterEach?.();
  });
}

export interface World {
  readonly github: GitHubServer;
  /** The file store's directory ($PUSHSYNC_HOME for functions built from the environment). */
  readonly home: string;
  readonly store: FileSecretStore;
  readonly deps: SyncDeps;
  /** Apply payloads handed to the fan-out, in order. */
  readonly invoked: JsonValue[];
  readonly logLines: string[];
  /** Replace the fan-out's invoke (to make it fail). */
  setInvoke(invoke: Invoker['invoke'] | undefined): void;
  register(name: string, kubeconfig: string, extra?: { branch?: string; plans?: boolean; dir?: string; healthTimeout?: number }): Promise<void>;
  /** Every pushsync check run, and every latest status, on `sha`. */
  checkRuns(sha: string): { name: string; status: string; conclusion: string | null; summary: string | null }[];
  statuses(sha: string): Record<string, string>;
  close(): Promise<void>;
}

export async function startWorld(options: { blobCache?: BlobCache } = {}): Promise<World> {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const github = await startGitHubServer({ owner: OWNER, repo: REPO, contract: true, app: { appId: APP_ID, installationId: INSTALLATION, publicKey: keys.publicKey } });
  const home = await mkdtemp(join(tmpdir(), 'pushsync-sync-'));
  const store = new FileSecretStore(home);
  const errors = await setGitHubApp(store, { appId: String(APP_ID), privateKey });
  if (errors.length > 0) throw new Error(`setGitHubApp: ${JSON.stringify(errors)}`);
  const invoked: JsonValue[] = [];
  let invoke: Invoker['invoke'] | undefined;
  const logLines: string[] = [];
  const deps: SyncDeps = {
    store,
    logger: createLogger({ sink: (l) => logLines.push(l), level: 'debug' }),
    invoker: {
      invoke: async (fn, payload) => {
        if (invoke) return invoke(fn, payload);
        invoked.push(payload);
      },
    },
    // The App, with the stand-in's fast retries: a fault injected for N requests costs milliseconds.
    github: async ({ deliveryId, installationId }) => ({
      octokit: createOctokit({
        auth: { kind: 'app', appId: APP_ID, privateKey, installationId: installationId ?? INSTALLATION },
        baseUrl: github.url,
        deliveryId,
        retryBaseDelayMs: 1,
        writeSpacingMs: 0,
        log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      }),
      checkRuns: true,
    }),
    ...(options.blobCache ? { blobCache: options.blobCache } : {}),
  };
  return {
    github, home, store, deps, invoked, logLines,
    setInvoke: (f) => {
      invoke = f;
    },
    async register(name, kubeconfig, extra = {}) {
      const r = await registerCluster(
        store,
        // Health timeout 0 unless given: these jobs run on the bare control plane (or none), where no rollout ever finishes.
        { name, kubeconfig, repo: `${OWNER}/${REPO}`, branch: extra.branch ?? 'main', dir: extra.dir ?? '.', sourceFormat: 'hierarchy', healthTimeout: extra.healthTimeout ?? 0, ...(extra.plans !== undefined ? { plans: extra.plans } : {}) },
        { replace: true },
      );
      if (!r.ok) throw new Error(`register ${name}: ${JSON.stringify(r.errors)}`);
    },
    checkRuns: (sha) => github.checkRuns.filter((r) => r.head_sha === sha).map((r) => ({ name: r.name, status: r.status, conclusion: r.conclusion, summary: r.output.summary })),
    statuses: (sha) => Object.fromEntries([...github.latestStatuses(sha)].map(([context, s]) => [context, `${s.state}: ${s.description ?? ''}`])),
    async close() {
      await github.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** A blob cache whose every method throws a TypeError: a bug planted inside the job. */
export function buggyCache(): BlobCache {
  return new Proxy({}, {
    get: () => () => {
      throw new TypeError("Cannot read properties of undefined (reading 'sha')");
    },
  }) as BlobCache;
}
