/**
 * The scheduled resync: every registered cluster gets the head of its branch applied again, so
 * drift (someone's kubectl edit) is corrected without a push. Quiet: a cluster whose head is
 * unchanged and that needed no change gets no new status.
 */
import { getBranchHead } from '../github/index.ts';
import { listClusters } from '../registry/index.ts';
import type { SyncDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import { toPayload, type ApplyJob } from '../jobs.ts';

export interface ResyncOptions {
  /** For the delivery id on every log line and API call. */
  readonly runId: string;
  /** App installations per repository (owner/name, lower-case); without one, token auth is used. */
  readonly installations?: ReadonlyMap<string, number>;
}

export async function runResync(deps: SyncDeps, options: ResyncOptions): Promise<{ dispatched: string[]; failed: string[] }> {
  const log = deps.logger.child({ deliveryId: options.runId });
  const dispatched: string[] = [];
  const failed: string[] = [];
  for (const c of await listClusters(deps.store)) {
    const [owner = '', name = ''] = c.repo.split('/');
    const installationId = options.installations?.get(c.repo.toLowerCase());
    try {
      const { octokit } = await deps.github({ deliveryId: options.runId, installationId });
      const head = await getBranchHead(octokit, { owner, repo: name, branch: c.branch });
      if (!head) {
        log.warn('branch not found; skipping', { cluster: c.name, repo: c.repo, branch: c.branch });
        failed.push(c.name);
        continue;
      }
      const job: ApplyJob = { deliveryId: options.runId, owner, name, sha: head, cluster: c.name, mode: 'apply', quiet: true, ...(installationId !== undefined ? { installationId } : {}) };
      await deps.invoker.invoke('apply', toPayload(job));
      dispatched.push(c.name);
    } catch (e) {
      log.error('resync of a cluster failed', { cluster: c.name, error: messageOf(e) });
      failed.push(c.name);
    }
  }
  return { dispatched, failed };
}
