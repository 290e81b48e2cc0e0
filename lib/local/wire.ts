/**
 * The product on one machine: the webhook function, the sync, apply and health handlers, and the
 * in-process fan-out between them (delayed health checks on its timers), over one SecretStore. `pushsync serve`, the demo, the
 * benchmark and the end-to-end tests all wire through here, so they run the same thing.
 * The webhook is the same endpoint the Lambda function serves (lib/github/webhook-endpoint.ts),
 * secret caching and the re-read after a rotation included.
 */
import { createInProcessInvoker, type DeadLetter, type InProcessInvoker } from '../fanout/index.ts';
import { createWebhookEndpoint, type ApiCallCounter, type WebhookEndpointDeps } from '../github/index.ts';
import type { StreamingHandler } from '../http/types.ts';
import type { Logger } from '../log.ts';
import type { SecretStore } from '../registry/index.ts';
import { BlobCache } from '../source/index.ts';
import { ClusterCache } from '../cluster/index.ts';
import { RenderCache } from '../render/index.ts';
import { githubFromStore, handlersFor, type SyncDeps } from '../sync/index.ts';

export interface WireOptions {
  readonly store: SecretStore;
  readonly logger: Logger;
  /** GitHub's REST API root; default api.github.com. GitHub Enterprise, or the stand-in. */
  readonly githubBaseUrl?: string;
  readonly counter?: ApiCallCounter;
  /** Minimum gap between GitHub writes (default: the client's 1 s; the stand-in needs 0). */
  readonly writeSpacingMs?: number;
  /** Jobs running at once (default LOCAL_DEFAULTS.concurrency). */
  readonly concurrency?: number;
  /** How long one job may run before apply stops cleanly for a retry (default: the in-process invoker's). */
  readonly jobTimeoutMs?: number;
  /** Backoff before each retry of a failed job (default: the in-process invoker's, like Lambda). */
  readonly retryDelaysMs?: readonly number[];
  /** Default: a new cache for this wiring (a process's worth of warm blobs). */
  readonly blobCache?: BlobCache;
  /** Default: a new cache for this wiring (each cluster's discovery and Lease, lib/cluster cache.ts). */
  readonly clusterCache?: ClusterCache;
  readonly targetUrl?: string;
  readonly secretCache?: WebhookEndpointDeps['secretCache'];
  readonly onDeadLetter?: (failure: DeadLetter) => void;
  /** Longest gap between two health checks of a rollout (default: lib/sync's HEALTH_DEFAULTS). */
  readonly healthIntervalMs?: number;
}

export interface Wired {
  /** POST /webhook: callable with a whole request, or head first and then the body as it streams. */
  readonly webhook: StreamingHandler;
  /** The fan-out: `idle()` is "every job of every delivery so far is done". */
  readonly invoker: InProcessInvoker;
  readonly deps: SyncDeps;
}

export const LOCAL_DEFAULTS = {
  /** Apply jobs mostly wait on API servers; 8 lets a small fleet sync side by side. */
  concurrency: 8,
} as const;

export function wireLocal(options: WireOptions): Wired {
  const { store, logger } = options;
  const invoker = createInProcessInvoker({
    logger,
    concurrency: options.concurrency ?? LOCAL_DEFAULTS.concurrency,
    ...(options.jobTimeoutMs !== undefined ? { jobTimeoutMs: options.jobTimeoutMs } : {}),
    ...(options.retryDelaysMs ? { retryDelaysMs: options.retryDelaysMs } : {}),
    ...(options.onDeadLetter ? { onDeadLetter: options.onDeadLetter } : {}),
  });
  const deps: SyncDeps = {
    store,
    invoker,
    logger,
    github: githubFromStore({
      store,
      logger,
      ...(options.githubBaseUrl ? { baseUrl: options.githubBaseUrl } : {}),
      ...(options.counter ? { counter: options.counter } : {}),
      ...(options.writeSpacingMs !== undefined ? { writeSpacingMs: options.writeSpacingMs } : {}),
    }),
    blobCache: options.blobCache ?? new BlobCache(),
    renderCache: new RenderCache(),
    clusterCache: options.clusterCache ?? new ClusterCache(),
    ...(options.targetUrl ? { targetUrl: options.targetUrl } : {}),
    ...(options.healthIntervalMs !== undefined ? { healthIntervalMs: options.healthIntervalMs } : {}),
  };
  const handlers = handlersFor(deps);
  invoker.register('sync', handlers.sync);
  invoker.register('apply', handlers.apply);
  // Follow-up health checks: the same handler as the Lambda function, on the invoker's timers.
  invoker.register('health', handlers.health);
  const webhook = createWebhookEndpoint({ secrets: store, invoker, logger, ...(options.secretCache ? { secretCache: options.secretCache } : {}) });
  return { webhook, invoker, deps };
}
