import type { FunctionHandler, FunctionName } from '../fanout/index.ts';
import { runApply } from './apply.ts';
import type { SyncDeps } from './deps.ts';
import { parseApplyJob, parsePushJob } from './jobs.ts';
import { runSync } from './sync.ts';

/**
 * The handler of each function over a JSON payload: what Lambda's handlers and the in-process
 * fan-out both call. A thrown error means "retry"; a returned one was reported on GitHub.
 */
export function handlersFor(deps: SyncDeps): Record<FunctionName, FunctionHandler> {
  return {
    sync: async (payload) => {
      await runSync(parsePushJob(payload), deps);
    },
    apply: async (payload) => {
      await runApply(parseApplyJob(payload), deps);
    },
  };
}
