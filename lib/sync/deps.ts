/**
 * What the sync/apply/resync jobs need from the outside world, injected so the same code runs
 * in Lambda, in the local server and in tests. Nothing here is a secret itself: credentials
 * are read from the SecretStore when a client is made, and never travel in a job payload.
 */
import type { Octokit } from '@octokit/rest';
import { createOctokit, type ApiCallCounter } from '../github/index.ts';
import { getGitHubCredentials, type SecretStore } from '../registry/index.ts';
import type { Invoker } from '../fanout/index.ts';
import type { Logger } from '../log.ts';
import type { BlobCache } from '../source/index.ts';
import type { RenderCache } from '../render/index.ts';
import type { ClusterCache } from '../cluster/index.ts';
import { SyncError } from './errors.ts';

export interface SyncDeps {
  readonly store: SecretStore;
  readonly invoker: Invoker;
  readonly logger: Logger;
  /** A GitHub client for one delivery (App installation token or a plain token). */
  readonly github: (request: { deliveryId: string; installationId?: number | undefined }) => Promise<GitHubSession>;
  /** Shared by every job of a warm process: unchanged blobs are never downloaded twice. */
  readonly blobCache?: BlobCache;
  /** Shared likewise: a sync directory whose inputs did not change is not rendered again (lib/render). */
  readonly renderCache?: RenderCache;
  /** Shared likewise: each cluster's discovery and Lease, so a warm apply skips those round trips (lib/cluster cache.ts). */
  readonly clusterCache?: ClusterCache;
  /** Link on every status (e.g. a dashboard or the function's logs). */
  readonly targetUrl?: string;
  /**
   * The longest wait between two health checks of a rollout (default HEALTH_DEFAULTS.intervalMs);
   * the first checks come sooner (rollout.ts nextDelay). Tests set it short.
   */
  readonly healthIntervalMs?: number;
}

export interface GitHubSession {
  readonly octokit: Octokit;
  /** Check runs need an App installation; a token can only write statuses. */
  readonly checkRuns: boolean;
}

export interface GitHubFactoryOptions {
  readonly store: SecretStore;
  /** GitHub Enterprise, or the local stand-in in tests and the demo. */
  readonly baseUrl?: string;
  readonly counter?: ApiCallCounter;
  readonly logger?: Logger;
  /** Minimum gap between writes (GitHub asks for 1 s; the stand-in needs none). */
  readonly writeSpacingMs?: number;
}

/** Clients from the credentials in the store: the App when configured, else the token. */
export function githubFromStore(options: GitHubFactoryOptions): SyncDeps['github'] {
  return async ({ deliveryId, installationId }) => {
    const creds = await getGitHubCredentials(options.store);
    if (!creds) {
      throw new SyncError('SYNC_NO_GITHUB_CREDENTIALS', 'no GitHub credentials are stored: run `pushsync secrets set github-token` or `pushsync secrets set github-app`', false);
    }
    const common = {
      deliveryId,
      ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
      ...(options.counter ? { counter: options.counter } : {}),
      ...(options.logger ? { log: options.logger } : {}),
      ...(options.writeSpacingMs !== undefined ? { writeSpacingMs: options.writeSpacingMs } : {}),
    };
    if (creds.kind === 'app') {
      if (installationId === undefined) {
        throw new SyncError('SYNC_NO_INSTALLATION', 'pushsync is configured as a GitHub App, but the delivery names no installation: install the App on the repository', false);
      }
      return { octokit: createOctokit({ ...common, auth: { kind: 'app', appId: creds.appId, privateKey: creds.privateKey, installationId } }), checkRuns: true };
    }
    return { octokit: createOctokit({ ...common, auth: { kind: 'token', token: creds.token } }), checkRuns: false };
  };
}
