/**
 * A GitHub Deployment per cluster and commit (issue 11 §5), against the stand-in with every
 * request and answer checked against GitHub's OpenAPI description.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDeployment, DEPLOYMENTS_PERMISSION, findDeployment, isGitHubError, postStatus, setDeploymentState } from '../../lib/github/index.ts';
import type { createOctokit, GitHubError } from '../../lib/github/index.ts';
import { setupHints } from '../../lib/local/index.ts';
import type { GitHubServer } from '../helpers/github-server.ts';
import { appStandIn, REPO_YAML, tokenClient } from './support.ts';

const appId = 41;
const installationId = 9;

let server: GitHubServer;
let app: ReturnType<typeof createOctokit>;
let sha: string;
let sha2: string;

beforeAll(async () => {
  ({ server, octokit: app } = await appStandIn({ appId, installationId }));
  sha = await server.git.commit({ 'policy/system/repo.yaml': REPO_YAML }, { message: 'first' });
  sha2 = await server.git.commit({ 'README.md': 'second\n' }, { message: 'second' });
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  expect(server.violations).toEqual([]);
  server.clearRequests();
  server.clearFaults();
  server.setDeploymentsPermission('write');
});

const repo = () => ({ owner: server.owner, repo: server.repo });
const deploymentRequests = () => server.requests.filter((r) => r.path.includes('/deployments'));

async function refusal(p: Promise<unknown>): Promise<GitHubError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isGitHubError(err)) throw new Error(`expected a GitHubError, got ${String(err)}`);
  return err;
}

describe('createDeployment and setDeploymentState', () => {
  it('queued → in_progress → success, in that order, on the commit itself, with the URLs', async () => {
    // pushsync's own pending status is on the commit: GitHub would refuse a deployment that waits for it.
    await postStatus(app, { ...repo(), sha, name: 'eu', state: 'pending', description: 'applying' });
    const id = await createDeployment(app, { ...repo(), sha }, { environment: 'eu', production: false, cluster: 'eu', description: 'pushsync apply' });
    expect(id).toBeTypeOf('number');
    const urls = { logUrl: 'https://pushsync.example.com/runs/eu', environmentUrl: 'https://eu.example.com/' };
    await setDeploymentState(app, repo(), id, 'queued', { description: 'waiting for the apply', ...urls });
    await setDeploymentState(app, repo(), id, 'in_progress', { description: 'applying', ...urls });
    await setDeploymentState(app, repo(), id, 'success', { description: '25 objects healthy in 41 s', ...urls });

    const [d] = server.deployments({ environment: 'eu', sha });
    expect(d).toMatchObject({ id, ref: sha, sha, task: 'deploy', environment: 'eu', production_environment: false, transient_environment: false, payload: { cluster: 'eu' }, description: 'pushsync apply' });
    expect(d?.statuses.map((s) => [s.state, s.description, s.log_url, s.target_url, s.environment_url])).toEqual([
      ['queued', 'waiting for the apply', urls.logUrl, urls.logUrl, urls.environmentUrl],
      ['in_progress', 'applying', urls.logUrl, urls.logUrl, urls.environmentUrl],
      ['success', '25 objects healthy in 41 s', urls.logUrl, urls.logUrl, urls.environmentUrl],
    ]);
    const [create, ...statuses] = deploymentRequests();
    expect(create?.operation).toBe('repos/create-deployment');
    expect(create?.body).toEqual({
      ref: sha,
      task: 'deploy',
      environment: 'eu',
      required_contexts: [],
      auto_merge: false,
      transient_environment: false,
      production_environment: false,
      payload: { cluster: 'eu' },
      description: 'pushsync apply',
    });
    expect(statuses.map((r) => [r.operation, (r.body as { auto_inactive?: unknown }).auto_inactive])).toEqual([
      ['repos/create-deployment-status', true],
      ['repos/create-deployment-status', true],
      ['repos/create-deployment-status', true],
    ]);

    // What the Environments page reads, newest first.
    const listed = await app.rest.repos.listDeployments({ ...repo(), environment: 'eu' });
    expect(listed.data.map((x) => x.id)).toEqual([id]);
    const history = await app.rest.repos.listDeploymentStatuses({ ...repo(), deployment_id: id });
    expect(history.data.map((s) => s.state)).toEqual(['success', 'in_progress', 'queued']);
    expect(history.data[0]?.performed_via_github_app?.id).toBe(appId);
  });

  it('without required_contexts: [] GitHub would wait for every status of the commit (409): pushsync always sends it', async () => {
    await postStatus(app, { ...repo(), sha: sha2, name: 'us', state: 'pending', description: 'applying' });
    const raw = await refusal(app.rest.repos.createDeployment({ ...repo(), ref: sha2, environment: 'us', auto_merge: false }));
    expect(raw.status).toBe(409);
    await expect(createDeployment(app, { ...repo(), sha: sha2 }, { environment: 'us', production: true, cluster: 'us-1' })).resolves.toBeTypeOf('number');
    expect(server.deployments({ environment: 'us', sha: sha2 })).toHaveLength(1);
  });

  it('auto_inactive: a newer success makes the environment\'s earlier one inactive; production environments keep theirs', async () => {
    const staging1 = await createDeployment(app, { ...repo(), sha }, { environment: 'staging', production: false, cluster: 'staging' });
    await setDeploymentState(app, repo(), staging1, 'success');
    const staging2 = await createDeployment(app, { ...repo(), sha: sha2 }, { environment: 'staging', production: false, cluster: 'staging' });
    await setDeploymentState(app, repo(), staging2, 'in_progress');
    expect(server.deployments({ environment: 'staging' }).map((d) => d.statuses.map((s) => s.state))).toEqual([['success'], ['in_progress']]);
    await setDeploymentState(app, repo(), staging2, 'success');
    expect(server.deployments({ environment: 'staging' }).map((d) => d.statuses.map((s) => s.state))).toEqual([
      ['success', 'inactive'],
      ['in_progress', 'success'],
    ]);

    const prod1 = await createDeployment(app, { ...repo(), sha }, { environment: 'prod', production: true, cluster: 'prod' });
    await setDeploymentState(app, repo(), prod1, 'success');
    const prod2 = await createDeployment(app, { ...repo(), sha: sha2 }, { environment: 'prod', production: true, cluster: 'prod' });
    await setDeploymentState(app, repo(), prod2, 'failure', { description: 'Deployment shop/web: ProgressDeadlineExceeded' });
    await setDeploymentState(app, repo(), prod1, 'success');
    expect(server.deployments({ environment: 'prod' }).map((d) => [d.production_environment, d.statuses.map((s) => s.state)])).toEqual([
      [true, ['success', 'success']],
      [true, ['failure']],
    ]);
  });

  it('descriptions are redacted, then fitted to GitHub\'s 140 characters', async () => {
    const secret = `ghp_${'A1b2'.repeat(9)}`;
    const id = await createDeployment(app, { ...repo(), sha }, { environment: 'redact', production: false, cluster: 'redact', description: `token ${secret} ${'x'.repeat(300)}` });
    await setDeploymentState(app, repo(), id, 'failure', { description: `Secret/shop/db: ${secret} ${'y'.repeat(300)} END` });
    const [d] = server.deployments({ environment: 'redact' });
    expect(d?.description?.length).toBeLessThanOrEqual(140);
    expect(d?.description).not.toContain(secret);
    const status = d?.statuses[0];
    expect(status?.description.length).toBeLessThanOrEqual(140);
    expect(status?.description).not.toContain('ghp_');
    expect(status?.description.startsWith('Secret/shop/db: [redacted]')).toBe(true);
    expect(status?.description.endsWith('y END')).toBe(true);
  });
});

describe('findDeployment', () => {
  it('finds the newest deployment of the commit to that environment (a retry continues it), and none for another environment or commit', async () => {
    const c = { ...repo(), sha: sha2 };
    expect(await findDeployment(app, c, 'find-me')).toBeUndefined();
    const first = await createDeployment(app, c, { environment: 'find-me', production: false, cluster: 'find-me' });
    const second = await createDeployment(app, c, { environment: 'find-me', production: false, cluster: 'find-me' });
    await createDeployment(app, c, { environment: 'elsewhere', production: false, cluster: 'elsewhere' });
    expect(second).not.toBe(first);
    expect(await findDeployment(app, c, 'find-me')).toBe(second);
    expect(await findDeployment(app, { ...c, sha }, 'find-me')).toBeUndefined();
  });

  it('without the permission: GITHUB_DEPLOYMENTS_FORBIDDEN, as for the writes', async () => {
    server.setDeploymentsPermission('none');
    const e = await refusal(findDeployment(app, { ...repo(), sha }, 'any'));
    expect(e.code).toBe('GITHUB_DEPLOYMENTS_FORBIDDEN');
  });
});

describe('refusals carry stable codes', () => {
  it('an App without "Deployments: read and write": GITHUB_DEPLOYMENTS_FORBIDDEN, saying what to grant, not retried', async () => {
    const id = await createDeployment(app, { ...repo(), sha }, { environment: 'perm', production: false, cluster: 'perm' });
    server.setDeploymentsPermission('none');
    const created = await refusal(createDeployment(app, { ...repo(), sha }, { environment: 'perm', production: false, cluster: 'perm' }));
    expect(created.code).toBe('GITHUB_DEPLOYMENTS_FORBIDDEN');
    expect(created.status).toBe(403);
    expect(created.retryable).toBe(false);
    expect(created.message).toContain(`"${DEPLOYMENTS_PERMISSION}"`);
    expect(created.message).toContain('Resource not accessible by integration');
    const state = await refusal(setDeploymentState(app, repo(), id, 'in_progress'));
    expect([state.code, state.status, state.retryable]).toEqual(['GITHUB_DEPLOYMENTS_FORBIDDEN', 403, false]);
    expect(state.message).toContain(`set deployment ${id} to in_progress`);
    // One attempt each: a missing permission does not come back by retrying.
    expect(deploymentRequests().filter((r) => r.status === 403)).toHaveLength(2);
    expect(server.deployments({ environment: 'perm' })).toHaveLength(1);
  });

  it('a token without the permission (403 "by personal access token", or a 404) is recognised the same way', async () => {
    const { octokit } = tokenClient(server);
    server.setDeploymentsPermission('none');
    const forbidden = await refusal(createDeployment(octokit, { ...repo(), sha }, { environment: 'tok', production: false, cluster: 'tok' }));
    expect(forbidden.code).toBe('GITHUB_DEPLOYMENTS_FORBIDDEN');
    expect(forbidden.message).toContain('Resource not accessible by personal access token');
    server.setDeploymentsPermission('write');
    server.fail({ method: 'POST', path: `/repos/${server.owner}/${server.repo}/deployments`, status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } });
    const hidden = await refusal(createDeployment(octokit, { ...repo(), sha }, { environment: 'tok', production: false, cluster: 'tok' }));
    expect([hidden.code, hidden.status]).toEqual(['GITHUB_DEPLOYMENTS_FORBIDDEN', 404]);
  });

  it('an auto-merge answer (202) or a conflict (409) is GITHUB_DEPLOYMENT_REFUSED, not an id', async () => {
    const path = `/repos/${server.owner}/${server.repo}/deployments`;
    server.fail({ method: 'POST', path, status: 202, body: { message: 'Auto-merged main into topic-branch on deployment.' } });
    const merged = await refusal(createDeployment(app, { ...repo(), sha }, { environment: 'x', production: false, cluster: 'x' }));
    expect([merged.code, merged.status, merged.retryable]).toEqual(['GITHUB_DEPLOYMENT_REFUSED', 202, false]);
    expect(merged.message).toContain('Auto-merged main into topic-branch');
    server.fail({ method: 'POST', path, status: 409, body: { message: 'Conflict: Commit status checks failed for main.' } });
    const conflict = await refusal(createDeployment(app, { ...repo(), sha }, { environment: 'x', production: false, cluster: 'x' }));
    expect([conflict.code, conflict.status]).toEqual(['GITHUB_DEPLOYMENT_REFUSED', 409]);
    expect(conflict.message).toContain('Commit status checks failed');
  });

  it('a rate limit stays a rate limit (retryable), not a permission problem', async () => {
    const limited = tokenClient(server, { rateLimitRetries: 0 }).octokit;
    server.rateLimit({ method: 'POST', path: `/repos/${server.owner}/${server.repo}/deployments`, times: 1, resetInSeconds: 3600 });
    const err = await refusal(createDeployment(limited, { ...repo(), sha }, { environment: 'x', production: false, cluster: 'x' }));
    expect([err.code, err.retryable]).toEqual(['GITHUB_RATE_LIMITED', true]);
  });
});

describe('the permission is asked for where credentials are set up', () => {
  it('the first-run hints name "Deployments: read and write" for a token and an App', () => {
    const hints = setupHints(
      { webhookSecret: undefined, githubCredentials: { kind: 'missing', reason: 'not set' }, clusters: [], clustersProblem: undefined },
      { webhookUrl: 'http://127.0.0.1:8080/webhook', home: '/tmp/h', loopbackOnly: false },
    ).replace(/\s+/g, ' ');
    expect(hints).toContain(`"Commit statuses: read and write", "${DEPLOYMENTS_PERMISSION}"`);
    expect(hints).toContain('Environments page shows which commit runs where');
    expect(hints).toContain('a GitHub App with the same permissions and "Checks: read and write"');
  });
});
