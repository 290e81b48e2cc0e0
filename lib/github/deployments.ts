/**
 * A GitHub Deployment per cluster and commit (issue 11 §5), so the repository's Environments
 * page shows which commit runs on which cluster, with its history:
 *
 *   createDeployment(octokit, commit, {environment, production, cluster})  → deployment id
 *   findDeployment(octokit, commit, environment)                           → the newest one's id, if any
 *   setDeploymentState(octokit, repo, id, 'queued' | 'in_progress' | 'success' | …, {description, logUrl})
 *
 * The deployment records what pushsync does; it never asks GitHub to gate or merge anything:
 * `required_contexts: []` (pushsync's own pending statuses would otherwise block it: GitHub
 * checks every context of the commit by default), `auto_merge: false` (GitHub would merge the
 * default branch into the ref, a commit nobody pushed), the exact SHA as ref.
 *
 * Failures are GitHubErrors with stable codes: GITHUB_DEPLOYMENTS_FORBIDDEN when the token or App
 * lacks "Deployments: read and write", GITHUB_DEPLOYMENT_REFUSED when GitHub answered without
 * creating one; neither is retryable (the same request gets the same answer).
 */
import type { Octokit } from '@octokit/rest';
import { redactText } from '../log.ts';
import { GitHubError, isGitHubError } from './errors.ts';
import type { CommitRef } from './report.ts';
import { fitDescription } from './summary.ts';

/** GitHub's deployment status states that pushsync writes (`pending` is GitHub's legacy synonym of queued). */
export type DeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

export interface DeploymentRequest {
  /** The GitHub environment: the registration's `environment`, else the cluster's name. */
  readonly environment: string;
  /** GitHub's `production_environment`: end users reach it (and GitHub never auto-inactivates it). */
  readonly production: boolean;
  /** The cluster's name, in the deployment's payload (an environment may be renamed, the payload says where it ran). */
  readonly cluster: string;
  /** Fitted to 140 characters and redacted, as statuses are. */
  readonly description?: string;
}

/** What to grant, said in every permission failure (the words of GitHub's settings pages). */
export const DEPLOYMENTS_PERMISSION = 'Deployments: read and write';

/** Create the commit's deployment to `d.environment`; returns its id for setDeploymentState. */
export async function createDeployment(octokit: Octokit, commit: CommitRef, d: DeploymentRequest): Promise<number> {
  let res: Awaited<ReturnType<Octokit['rest']['repos']['createDeployment']>>;
  try {
    res = await octokit.rest.repos.createDeployment({
      owner: commit.owner,
      repo: commit.repo,
      ref: commit.sha,
      task: 'deploy',
      environment: d.environment,
      required_contexts: [],
      auto_merge: false,
      transient_environment: false,
      production_environment: d.production,
      payload: { cluster: d.cluster },
      ...(d.description !== undefined ? { description: fitDescription(redactText(d.description)) } : {}),
    });
  } catch (err) {
    throw deploymentError(err, `create a deployment of ${short(commit.sha)} to environment ${JSON.stringify(d.environment)}`);
  }
  const data: unknown = res.data;
  if (res.status === 201 && typeof data === 'object' && data !== null && typeof (data as { id?: unknown }).id === 'number') return (data as { id: number }).id;
  // 202 is GitHub's "merged the default branch into the ref instead" answer: no deployment exists.
  const said = typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string' ? (data as { message: string }).message : 'no deployment in the answer';
  throw new GitHubError(
    `GitHub did not create a deployment of ${short(commit.sha)} to environment ${JSON.stringify(d.environment)}: it answered ${res.status} (${said})`,
    { code: 'GITHUB_DEPLOYMENT_REFUSED', call: `POST /repos/${commit.owner}/${commit.repo}/deployments`, status: res.status, retryable: false },
  );
}

/**
 * The newest deployment pushsync made of `commit` to `environment`, if any: a retried or
 * redelivered apply of the same commit continues it instead of adding another to the
 * environment's history.
 */
export async function findDeployment(octokit: Octokit, commit: CommitRef, environment: string): Promise<number | undefined> {
  try {
    const res = await octokit.rest.repos.listDeployments({ owner: commit.owner, repo: commit.repo, sha: commit.sha, environment, task: 'deploy', per_page: 1 });
    return res.data[0]?.id;
  } catch (err) {
    throw deploymentError(err, `list the deployments of ${short(commit.sha)} to environment ${JSON.stringify(environment)}`);
  }
}

export interface DeploymentStateOptions {
  /** Fitted to 140 characters and redacted. */
  readonly description?: string;
  /** The run's output (pushsync's target URL): GitHub's "View logs". */
  readonly logUrl?: string;
  /** Where the environment is reached: GitHub's "View deployment". */
  readonly environmentUrl?: string;
}

/**
 * Add a status to a deployment. `auto_inactive: true`: a success marks the environment's earlier
 * successful deployments inactive, so the Environments page shows one active commit per cluster.
 */
export async function setDeploymentState(
  octokit: Octokit,
  repo: { readonly owner: string; readonly repo: string },
  deploymentId: number,
  state: DeploymentState,
  o: DeploymentStateOptions = {},
): Promise<void> {
  try {
    await octokit.rest.repos.createDeploymentStatus({
      owner: repo.owner,
      repo: repo.repo,
      deployment_id: deploymentId,
      state,
      auto_inactive: true,
      // Redacted before fitting: a cut through a secret would leave a piece nothing recognises.
      ...(o.description !== undefined ? { description: fitDescription(redactText(o.description)) } : {}),
      ...(o.logUrl ? { log_url: o.logUrl } : {}),
      ...(o.environmentUrl ? { environment_url: o.environmentUrl } : {}),
    });
  } catch (err) {
    throw deploymentError(err, `set deployment ${deploymentId} to ${state}`);
  }
}

/**
 * A refusal named for what to do about it. 403 is a missing permission (GitHub: "Resource not
 * accessible by integration"); so is a 404 here, which is how GitHub answers a token that cannot
 * see deployments at all (the statuses of the same commit were written, so the repository exists).
 * Rate limits and outages keep their own codes: they are not permission problems.
 */
function deploymentError(err: unknown, what: string): unknown {
  if (!isGitHubError(err)) return err;
  const details = {
    ...(err.call !== undefined ? { call: err.call } : {}),
    ...(err.status !== undefined ? { status: err.status } : {}),
    ...(err.requestId !== undefined ? { requestId: err.requestId } : {}),
    ...(err.deliveryId !== undefined ? { deliveryId: err.deliveryId } : {}),
    retryable: false,
  };
  if (err.code === 'GITHUB_FORBIDDEN' || err.code === 'GITHUB_NOT_FOUND') {
    return new GitHubError(
      `pushsync may not ${what}: grant the GitHub App or token "${DEPLOYMENTS_PERMISSION}" on the repository (${err.message})`,
      { ...details, code: 'GITHUB_DEPLOYMENTS_FORBIDDEN' },
      { cause: err },
    );
  }
  if (err.code === 'GITHUB_REJECTED' && (err.status === 409 || err.status === 422)) {
    return new GitHubError(`GitHub refused to ${what} (${err.message})`, { ...details, code: 'GITHUB_DEPLOYMENT_REFUSED' }, { cause: err });
  }
  return err;
}

function short(sha: string): string {
  return /^[0-9a-f]{40,64}$/i.test(sha) ? sha.slice(0, 7) : sha;
}
