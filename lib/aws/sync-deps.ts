/**
 * SyncDeps for the sync, apply, resync and health Lambda functions, from the environment (env.ts).
 * Kept apart from env.ts so the webhook's bundle never pulls in the sync engine (nor the SQS SDK).
 *
 * On AWS each function reaches the others through its backend: sync and resync invoke apply
 * (Lambda Event); apply and health schedule health checks on the health queue (SQS, delayed).
 * With PUSHSYNC_INVOKER=in-process the jobs run inside the invoking function instead of their
 * own Lambda invocations: `settle()` waits for them, so the handler does not return (and
 * Lambda does not freeze the container) while they still run.
 */
import { createInProcessInvoker, createLambdaInvoker, createSqsInvoker, routeInvoker, type FunctionName, type Invoker } from '../fanout/index.ts';
import { createLogger, type Logger } from '../log.ts';
import { ClusterCache } from '../cluster/index.ts';
import { RenderCache } from '../render/index.ts';
import { githubFromStore, handlersFor, type SyncDeps } from '../sync/index.ts';
import { readFunctionConfig, storeFromConfig, type Env, type InvokerConfig } from './env.ts';
import { isLambdaContext } from './invocation.ts';

export interface SyncEnvDeps {
  readonly deps: SyncDeps;
  /** Resolves when every job this invocation started in-process is done (at once with Lambda fan-out). */
  settle(): Promise<void>;
  /**
   * The invocation's own cut-off (epoch ms, from Lambda's context): jobs run in-process get no
   * later deadline, since they die with the function that runs them.
   */
  setHostDeadline(deadline: number | undefined): void;
}

/** The Lambda functions built from SyncDeps. */
export type SyncFunction = 'sync' | 'apply' | 'resync' | 'health';

/** What each function invokes (so the variables naming their targets are required). */
const INVOKES: Readonly<Record<SyncFunction, readonly FunctionName[]>> = { sync: ['apply', 'health'], apply: ['health'], resync: ['apply'], health: ['health'] };

/**
 * With the in-process fan-out, delayed health checks still pending this long before the
 * function's own cut-off are dropped: Lambda would kill the function waiting for them, and
 * then retry the whole invocation (an apply run again). Their status stays pending; the
 * in-process fan-out on Lambda is for trials, the SQS queue is what follows rollouts.
 */
const DELAYED_CUTOFF_MS = 20_000;

/** On AWS: each function to its backend, Lambda Event invokes and SQS queues. */
export function awsInvokerFromConfig(config: Extract<InvokerConfig, { kind: 'lambda' }>, logger?: Logger): Invoker {
  const routes: Partial<Record<FunctionName, Invoker>> = {};
  const withLogger = logger ? { logger } : {};
  if (Object.keys(config.functions).length > 0) {
    const lambda = createLambdaInvoker({ functions: config.functions, ...withLogger });
    for (const fn of Object.keys(config.functions) as FunctionName[]) routes[fn] = lambda;
  }
  if (config.queues && Object.keys(config.queues).length > 0) {
    const sqs = createSqsInvoker({ queues: config.queues, ...withLogger });
    for (const fn of Object.keys(config.queues) as FunctionName[]) routes[fn] = sqs;
  }
  return routeInvoker(routes);
}

export function syncDepsFromEnv(fn: SyncFunction, env: Env = process.env): SyncEnvDeps {
  const config = readFunctionConfig(env, INVOKES[fn]);
  const logger = createLogger({ fields: { function: fn }, env });
  const store = storeFromConfig(config.store, logger);
  const github = githubFromStore({ store, logger, ...(config.githubBaseUrl ? { baseUrl: config.githubBaseUrl } : {}) });
  const common = {
    store,
    logger,
    github,
    // Kept for the container's life: a warm function does not render an unchanged directory again.
    renderCache: new RenderCache(),
    // Likewise each cluster's discovery and Lease: a warm apply skips those round trips.
    clusterCache: new ClusterCache(),
    ...(config.targetUrl ? { targetUrl: config.targetUrl } : {}),
    ...(config.healthIntervalMs !== undefined ? { healthIntervalMs: config.healthIntervalMs } : {}),
  };
  if (config.invoker.kind === 'lambda') {
    const invoker: Invoker = awsInvokerFromConfig(config.invoker, logger);
    return { deps: { ...common, invoker }, settle: () => Promise.resolve(), setHostDeadline: () => undefined };
  }
  let hostDeadline: number | undefined;
  const local = createInProcessInvoker({ logger, hostDeadline: () => hostDeadline });
  const deps: SyncDeps = { ...common, invoker: local };
  const handlers = handlersFor(deps);
  local.register('sync', handlers.sync);
  local.register('apply', handlers.apply);
  local.register('health', handlers.health);
  return {
    deps,
    settle: async () => {
      let timer: NodeJS.Timeout | undefined;
      // Past the cut-off, and every second after it: a check still running may schedule another.
      const drop = (): void => {
        const dropped = local.cancelDelayed();
        if (dropped > 0) logger.warn('delayed health checks dropped: the function ends before they are due (use the SQS fan-out to follow rollouts)', { dropped });
        timer = setTimeout(drop, 1_000);
      };
      if (hostDeadline !== undefined) timer = setTimeout(drop, Math.max(0, hostDeadline - DELAYED_CUTOFF_MS - Date.now()));
      try {
        await local.idle();
      } finally {
        clearTimeout(timer);
      }
    },
    setHostDeadline: (deadline) => {
      hostDeadline = deadline;
    },
  };
}

/**
 * A function's Lambda entry: `create(deps)` over dependencies from the environment, each call
 * followed by settle(). Meant to be built lazily, once per warm container, by the handler.
 */
export function functionFromEnv<A extends unknown[], R>(
  fn: SyncFunction,
  create: (deps: SyncDeps) => (...args: A) => Promise<R>,
  env: Env = process.env,
): (...args: A) => Promise<R> {
  const { deps, settle, setHostDeadline } = syncDepsFromEnv(fn, env);
  const run = create(deps);
  return async (...args) => {
    // Lambda passes its context after the event; the jobs this invocation runs in-process must end before it does.
    const lambda = args.find(isLambdaContext);
    setHostDeadline(lambda === undefined ? undefined : Date.now() + lambda.getRemainingTimeInMillis());
    try {
      return await run(...args);
    } finally {
      await settle();
    }
  };
}
