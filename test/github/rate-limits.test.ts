/**
 * GitHub's secondary rate limits (issue 13 §3): the stand-in enforces them as GitHub does, and the
 * client backs off as GitHub asks, never past the job's deadline.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isGitHubError, postStatus, runWithDeadline, type GitHubError } from '../../lib/github/index.ts';
import { SECONDARY_LIMIT_MESSAGE, startGitHubServer, type GitHubServer } from '../helpers/github-server.ts';
import { REPO_YAML, tokenClient } from './support.ts';

async function failure(p: Promise<unknown>): Promise<GitHubError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isGitHubError(err)) throw new Error(`expected a GitHubError, got ${String(err)}`);
  return err;
}

describe('the stand-in enforces the secondary limits when asked', () => {
  let server: GitHubServer;
  let sha: string;
  beforeAll(async () => {
    server = await startGitHubServer({ contract: true, secondaryLimits: { perMinute: 3, concurrency: 4 } });
    sha = await server.git.commit({ 'system/repo.yaml': REPO_YAML });
  });
  afterAll(async () => server?.close());
  afterEach(() => {
    expect(server.violations).toEqual([]);
    server.clearRequests();
  });

  it('refuses the 4th write in a minute with 403, retry-after and GitHub\'s message; reads go on', async () => {
    // No retries: what GitHub answers, as the caller sees it.
    const { octokit } = tokenClient(server, { rateLimitRetries: 0 });
    const status = (name: string) => postStatus(octokit, { owner: server.owner, repo: server.repo, sha, name, state: 'success', description: name });
    for (const name of ['a', 'b', 'c']) await status(name);
    const err = await failure(status('d'));
    expect(err.code).toBe('GITHUB_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/secondary rate limit exhausted/);
    const refused = server.requests.at(-1);
    expect(refused?.status).toBe(403);
    // The window frees up a minute after the first write.
    await octokit.rest.repos.get({ owner: server.owner, repo: server.repo });
    expect(server.requests.at(-1)?.status).toBe(200);
    expect(server.limitErrors).toBe(1);
    expect(server.writeTimes).toHaveLength(3);
    expect(server.maxWritesPerMinute()).toBe(3);
    expect(server.latestStatuses(sha).has('pushsync/d')).toBe(false);
    expect(SECONDARY_LIMIT_MESSAGE).toMatch(/^You have exceeded a secondary rate limit/);
  });

  it('refuses requests beyond the concurrency limit', async () => {
    const slow = await startGitHubServer({ secondaryLimits: { concurrency: 2 }, latencyMs: 100 });
    try {
      await slow.git.commit({ 'system/repo.yaml': REPO_YAML });
      const { octokit } = tokenClient(slow, { rateLimitRetries: 0 });
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => octokit.request('GET /repos/{owner}/{repo}', { owner: slow.owner, repo: slow.repo })));
      expect(results.filter((r) => r.status === 'rejected').length).toBeGreaterThan(0);
      expect(slow.limitErrors).toBeGreaterThan(0);
    } finally {
      await slow.close();
    }
  });
});

describe('the client backs off as GitHub asks', () => {
  let server: GitHubServer;
  let sha: string;
  beforeAll(async () => {
    server = await startGitHubServer({ contract: true });
    sha = await server.git.commit({ 'system/repo.yaml': REPO_YAML });
  });
  afterAll(async () => server?.close());
  afterEach(() => {
    expect(server.violations).toEqual([]);
    server.clearRequests();
    server.clearFaults();
  });
  const statusPath = () => `/repos/${server.owner}/${server.repo}/statuses/${sha}`;

  it('waits for the retry-after of a secondary limit, then succeeds', async () => {
    // 100 ms per "second": retry-after 3 is a 300 ms wait.
    const c = tokenClient(server, { retryBaseDelayMs: 100 });
    server.rateLimit({ method: 'POST', path: statusPath(), times: 1, secondary: true, retryAfterSeconds: 3 });
    const started = Date.now();
    await postStatus(c.octokit, { owner: server.owner, repo: server.repo, sha, name: 'x', state: 'success', description: 'x' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(server.apiCalls({ method: 'POST' }).map((r) => r.status)).toEqual([403, 201]);
  });

  it('honours a 429 with retry-after the same way (and the retry plugin does not retry it again)', async () => {
    const c = tokenClient(server, { retryBaseDelayMs: 1 });
    server.fail({ method: 'POST', path: statusPath(), times: 1, status: 429, headers: { 'retry-after': '2' }, body: { message: SECONDARY_LIMIT_MESSAGE } });
    await postStatus(c.octokit, { owner: server.owner, repo: server.repo, sha, name: 'y', state: 'success', description: 'y' });
    expect(server.apiCalls({ method: 'POST' }).map((r) => r.status)).toEqual([429, 201]);
  });

  it('never waits past the job\'s deadline: fails at once, retryable (the job concludes "will retry")', async () => {
    const c = tokenClient(server, { retryBaseDelayMs: 1000 });
    server.rateLimit({ method: 'POST', path: statusPath(), times: 1, secondary: true, retryAfterSeconds: 30 });
    const started = Date.now();
    const err = await failure(
      runWithDeadline(Date.now() + 5_000, () => postStatus(c.octokit, { owner: server.owner, repo: server.repo, sha, name: 'z', state: 'success', description: 'z' })),
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err.code).toBe('GITHUB_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(c.logs.some((l) => /after the job's deadline/.test(l))).toBe(true);
    expect(server.apiCalls({ method: 'POST' })).toHaveLength(1);
  });

  it('a deadline given to the client works the same, and a wait that fits is still made', async () => {
    const late = tokenClient(server, { retryBaseDelayMs: 1000, deadline: Date.now() + 3_000 });
    server.rateLimit({ method: 'POST', path: statusPath(), times: 1, secondary: true, retryAfterSeconds: 10 });
    expect((await failure(postStatus(late.octokit, { owner: server.owner, repo: server.repo, sha, name: 'w', state: 'success', description: 'w' }))).code).toBe('GITHUB_RATE_LIMITED');
    const fits = tokenClient(server, { retryBaseDelayMs: 10, deadline: Date.now() + 3_000 });
    server.rateLimit({ method: 'POST', path: statusPath(), times: 1, secondary: true, retryAfterSeconds: 10 });
    await postStatus(fits.octokit, { owner: server.owner, repo: server.repo, sha, name: 'v', state: 'success', description: 'v' });
    expect(server.latestStatuses(sha).get('pushsync/v')?.state).toBe('success');
  });

  it('holds back the identity\'s other writes while GitHub asked it to wait', async () => {
    const c = tokenClient(server, { retryBaseDelayMs: 100, writeSpacingMs: 1 });
    server.rateLimit({ method: 'POST', path: statusPath(), times: 1, secondary: true, retryAfterSeconds: 4 });
    const post = (name: string) => postStatus(c.octokit, { owner: server.owner, repo: server.repo, sha, name, state: 'success', description: name });
    const first = post('p1');
    // Sent once the first has met the limit: it must wait with it, not meet the limit itself.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await Promise.all([first, post('p2')]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(server.apiCalls({ method: 'POST' }).map((r) => r.status)).toEqual([403, 201, 201]);
  });
});
