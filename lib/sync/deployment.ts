/**
 * The GitHub Deployment of one commit on one cluster's environment, as the jobs see it: the
 * apply job opens it `queued` (or continues the one an earlier attempt or delivery of the same
 * commit opened), moves it `in_progress` as it starts on the cluster, and the rollout's verdict
 * ends it (success, failure, inactive when superseded, error when the job itself failed).
 *
 * Opened by the apply job, not by sync: sync runs once for the whole fleet and spaces its
 * GitHub writes a second apart, so two more writes per cluster there would cost a 100-cluster
 * push minutes before the last apply starts; each apply job writes for its own cluster.
 *
 * Best effort on purpose: the Deployment mirrors `pushsync/<cluster>` for the repository's
 * Environments page, it decides nothing. A refused or failed write is logged (once per job,
 * with the permission hint) and never changes a job's outcome, so an installation without the
 * Deployments permission keeps working exactly as before.
 */
import type { Octokit } from '@octokit/rest';
import { createDeployment, findDeployment, setDeploymentState, type CommitRef, type DeploymentState } from '../github/index.ts';
import type { Logger } from '../log.ts';
import type { ClusterSummary } from '../registry/index.ts';
import { environmentOf } from '../registry/index.ts';
import { messageOf } from './errors.ts';

export interface DeploymentTracker {
  readonly id: number | undefined;
  /** Post a state; resolves whatever happens (a failure is logged). */
  set(state: DeploymentState, description: string): Promise<void>;
}

const NONE: DeploymentTracker = { id: undefined, set: () => Promise.resolve() };

const PERMISSION_HINT = 'the GitHub App (or token) needs "Deployments: read and write" for the Environments page; statuses and check runs are unaffected';

/** The Deployment a job was handed (none: every set is a no-op). */
export function trackDeployment(octokit: Octokit, commit: CommitRef, id: number | undefined, log: Logger, targetUrl?: string): DeploymentTracker {
  if (id === undefined) return NONE;
  let warned = false;
  return {
    id,
    async set(state, description) {
      try {
        await setDeploymentState(octokit, { owner: commit.owner, repo: commit.repo }, id, state, {
          description,
          ...(targetUrl ? { logUrl: targetUrl, environmentUrl: targetUrl } : {}),
        });
      } catch (e) {
        if (!warned) log.warn('could not update the GitHub Deployment', { deploymentId: id, state, error: messageOf(e), hint: PERMISSION_HINT });
        warned = true;
      }
    },
  };
}

/**
 * The commit's Deployment to `cluster`'s environment, queued: the one already made for this
 * commit there (a retry, a redelivery), else a new one. Undefined when GitHub refused (logged).
 */
export async function openDeployment(octokit: Octokit, commit: CommitRef, cluster: ClusterSummary, log: Logger, targetUrl?: string): Promise<number | undefined> {
  let id: number;
  try {
    const environment = environmentOf(cluster);
    id =
      (await findDeployment(octokit, commit, environment)) ??
      (await createDeployment(octokit, commit, {
        environment,
        production: cluster.production === true,
        cluster: cluster.name,
        description: `pushsync: ${commit.sha.slice(0, 7)} to ${cluster.name}`,
      }));
  } catch (e) {
    log.warn('could not create the GitHub Deployment: applying without it', { cluster: cluster.name, error: messageOf(e), hint: PERMISSION_HINT });
    return undefined;
  }
  await trackDeployment(octokit, commit, id, log, targetUrl).set('queued', `queued: ${cluster.name} will apply ${commit.sha.slice(0, 7)}`);
  return id;
}
