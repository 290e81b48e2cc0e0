/**
 * SyncDeps for the sync, apply and resync Lambda functions, from the environment (env.ts).
 * Kept apart from env.ts so the webhook's bundle never pulls in the sync engine.
 *
 * With PUSHSYNC_INVOKER=in-process the apply jobs run inside the invoking function instead of
 * their own Lambda invocations: `settle()` waits for them, so the handler does not return (and
 * Lambda does not freeze the container) while they still run.
 */
import { createInProcessInvoker, type FunctionName, type Invoker } from '../fanout/index.ts';
import { createLogger } from '../log.ts';
import { githubFromStore, handlersFor, type SyncDeps } from '../sync/index.ts';
import { lambdaInvokerFromConfig, readFunctionConfig, storeFromConfig, type Env } from './env.ts';
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

/** What each function invokes (so its function-name variables are required). */
const INVOKES: Readonly<Record<'sync' | 'apply' | 'resync', readonly FunctionName[]>> = { sync: ['apply'], apply: [], resync: ['apply'] };

export function syncDepsFromEnv(fn: 'sync' | 'apply' | 'resync', env: Env = process.env): SyncEnvDeps {
  const config = readFunctionConfig(env, INVOKES[fn]);
  const logger = createLogger({ fields: { function: fn }, env });
  const store = storeFromConfig(config.store, logger);
  const github = githubFromStore({ store, logger, ...(config.githubBaseUrl ? { baseUrl: config.githubBaseUrl } : {}) });
  const common = { store, logger, github, ...(config.targetUrl ? { targetUrl: config.targetUrl } : {}) };
  if (config.invoker.kind === 'lambda') {
    const invoker: Invoker = lambdaInvokerFromConfig(config.invoker, logger);
    return { deps: { ...common, invoker }, settle: () => Promise.resolve(), setHostDeadline: () => undefined };
  }
  let hostDeadline: number | undefined;
  const local = createInProcessInvoker({ logger, hostDeadline: () => hostDeadline });
  const deps: SyncDeps = { ...common, invoker: local };
  const handlers = handlersFor(deps);
  local.register('sync', handlers.sync);
  local.register('apply', handlers.apply);
  return {
    deps,
    settle: () => local.idle(),
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
  fn: 'sync' | 'apply' | 'resync',
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
