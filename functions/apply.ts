/**
 * The apply function (one invocation per cluster per commit, asynchronous): hydrate, apply or
 * plan, report `pushsync/<cluster>`. Logic: lib/sync/apply.ts. Lambda's remaining time becomes
 * the job's deadline; only a `retry` outcome (a transient failure, the deadline) throws, so
 * Lambda retries it (and its on-failure destination keeps what still fails).
 */
import type { JsonValue } from '../lib/fanout/index.ts';
import { handlersFor, type HandlerOutcome, type SyncDeps } from '../lib/sync/index.ts';
import { functionFromEnv, invocationContext, type LambdaContext } from '../lib/aws/index.ts';

export function createApplyFunction(deps: SyncDeps): (event: JsonValue, context?: LambdaContext) => Promise<HandlerOutcome> {
  const { apply } = handlersFor(deps);
  return (event, context) => apply(event, invocationContext('apply', context));
}

let entry: ((event: JsonValue, context?: LambdaContext) => Promise<HandlerOutcome>) | undefined;
/** The deployed entry point: dependencies from the environment, built on the first event of a container. */
export const handler = async (event: JsonValue, context?: LambdaContext): Promise<HandlerOutcome> => (entry ??= functionFromEnv('apply', createApplyFunction))(event, context);
