/**
 * The apply function (one invocation per cluster per commit, asynchronous): hydrate, apply or
 * plan, report `pushsync/<cluster>`. Logic: lib/sync/apply.ts. A transient failure throws so
 * Lambda retries it (and its on-failure destination keeps what still fails).
 */
import type { JsonValue } from '../lib/fanout/index.ts';
import { handlersFor, type SyncDeps } from '../lib/sync/index.ts';

export function createApplyFunction(deps: SyncDeps): (event: JsonValue) => Promise<void> {
  const { apply } = handlersFor(deps);
  return (event) => apply(event, { functionName: 'apply', invocationId: '', attempt: 0 });
}
