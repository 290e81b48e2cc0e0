/**
 * The scheduled resync (drift correction): one quiet apply per registered cluster at the head
 * of its branch. Logic: lib/sync/resync.ts.
 */
import { randomUUID } from 'node:crypto';
import { runResync, type SyncDeps } from '../lib/sync/index.ts';
import { functionFromEnv } from '../lib/aws/index.ts';

export function createResyncFunction(deps: SyncDeps): () => Promise<{ dispatched: string[]; failed: string[] }> {
  return () => runResync(deps, { runId: `resync-${randomUUID()}` });
}

let entry: (() => Promise<{ dispatched: string[]; failed: string[] }>) | undefined;
/** The deployed entry point (the schedule's event carries nothing pushsync needs). */
export const handler = async (): Promise<{ dispatched: string[]; failed: string[] }> => (entry ??= functionFromEnv('resync', createResyncFunction))();
