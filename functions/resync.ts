/**
 * The scheduled resync (drift correction): one quiet apply per registered cluster at the head
 * of its branch. Logic: lib/sync/resync.ts. Lambda's context is passed on so that, with the
 * in-process fan-out, the applies it runs get the function's own deadline.
 */
import { randomUUID } from 'node:crypto';
import { runResync, type SyncDeps } from '../lib/sync/index.ts';
import { functionFromEnv, type LambdaContext } from '../lib/aws/index.ts';

type Resync = (context?: LambdaContext) => Promise<{ dispatched: string[]; failed: string[] }>;

export function createResyncFunction(deps: SyncDeps): Resync {
  return () => runResync(deps, { runId: `resync-${randomUUID()}` });
}

let entry: Resync | undefined;
/** The deployed entry point (the schedule's event carries nothing pushsync needs; its context does). */
export const handler = async (_event?: unknown, context?: LambdaContext): Promise<{ dispatched: string[]; failed: string[] }> =>
  (entry ??= functionFromEnv('resync', createResyncFunction))(context);
