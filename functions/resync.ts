/**
 * The scheduled resync (drift correction): one quiet apply per registered cluster at the head
 * of its branch. Logic: lib/sync/resync.ts.
 */
import { randomUUID } from 'node:crypto';
import { runResync, type SyncDeps } from '../lib/sync/index.ts';

export function createResyncFunction(deps: SyncDeps): () => Promise<{ dispatched: string[]; failed: string[] }> {
  return () => runResync(deps, { runId: `resync-${randomUUID()}` });
}
