/**
 * The apply function (one invocation per cluster per commit, asynchronous): hydrate, apply or
 * plan, report `pushsync/<cluster>`. Logic: lib/sync/apply.ts. A transient failure throws so
 * Lambda retries it (and its on-failure destination keeps what still fails).
 */
import type { JsonValue } from '../lib/fanout/index.ts';
import { handlersFor, type SyncDeps } from '../lib/sync/index.ts';
import { functionFromEnv } from '../lib/aws/index.ts';

export function createApplyFunction(deps: SyncDeps): (event: JsonValue) => Promise<void> {
  const { apply } = handlersFor(deps);
  return (event) => apply(event, { functionName: 'apply', invocationId: '', attempt: 0 });
}

let entry: ((event: JsonValue) => Promise<void>) | undefined;
/** The deployed entry point: dependencies from the environment, built on the first event of a container. */
export const handler = async (event: JsonValue): Promise<void> => (entry ??= functionFromEnv('apply', createApplyFunction))(event);
