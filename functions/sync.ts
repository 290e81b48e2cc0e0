/**
 * The sync function (one invocation per push, asynchronous): vet the pushed commit, report
 * `pushsync/vet`, fan out one apply per cluster. Logic: lib/sync/sync.ts.
 * Throwing makes Lambda retry the invocation (a GitHub outage); reported failures return.
 */
import type { JsonValue } from '../lib/fanout/index.ts';
import { handlersFor, type SyncDeps } from '../lib/sync/index.ts';
import { functionFromEnv } from '../lib/aws/index.ts';

export function createSyncFunction(deps: SyncDeps): (event: JsonValue) => Promise<void> {
  const { sync } = handlersFor(deps);
  return (event) => sync(event, { functionName: 'sync', invocationId: '', attempt: 0 });
}

let entry: ((event: JsonValue) => Promise<void>) | undefined;
/** The deployed entry point: dependencies from the environment, built on the first event of a container. */
export const handler = async (event: JsonValue): Promise<void> => (entry ??= functionFromEnv('sync', createSyncFunction))(event);
