/**
 * The sync function (one invocation per push, asynchronous): vet the pushed commit, report
 * `pushsync/vet`, fan out one apply per cluster. Logic: lib/sync/sync.ts.
 * Throws only for a `retry` outcome (a GitHub outage), so Lambda retries it; every other
 * outcome was reported on GitHub and is returned.
 */
import type { JsonValue } from '../lib/fanout/index.ts';
import { handlersFor, type HandlerOutcome, type SyncDeps } from '../lib/sync/index.ts';
import { functionFromEnv, invocationContext, type LambdaContext } from '../lib/aws/index.ts';

export function createSyncFunction(deps: SyncDeps): (event: JsonValue, context?: LambdaContext) => Promise<HandlerOutcome> {
  const { sync } = handlersFor(deps);
  return (event, context) => sync(event, invocationContext('sync', context));
}

let entry: ((event: JsonValue, context?: LambdaContext) => Promise<HandlerOutcome>) | undefined;
/** The deployed entry point: dependencies from the environment, built on the first event of a container. */
export const handler = async (event: JsonValue, context?: LambdaContext): Promise<HandlerOutcome> => (entry ??= functionFromEnv('sync', createSyncFunction))(event, context);
