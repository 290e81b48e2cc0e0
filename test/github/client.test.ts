import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiCallCounter, DELIVERY_HEADER, createOctokit, getDefaultBranch, isGitHubError, postStatus, startCheckRun, USER_AGENT } from '../../lib/github/index.ts';
import type { GitHubError } from '../../lib/github/index.ts';
import { startGitHubServer } from '../helpers/github-server.ts';
import type { GitHubServer } from '../helpers/github-server.ts';
import { recordingLog, REPO_YAML, tokenClient } from './support.ts';

let server: GitHubServer;
let commit: string;

beforeAll(async () => {
  server = await startGitHubServer({ contract: true });
  commit = await server.git.commit({ 'policy/system/repo.yaml': REPO_YAML });
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  server.clearRequests();
  server.clearFaults();
  expect(server.violations).toEqual([]);
});

const repoPath = () => `/repos/${server.owner}/${server.repo}`;
const treePath = () => `${repoPath()}/git/trees/${commit}`;

async function getTree(octokit: ReturnType<typeof createOctokit>) {
  return octokit.rest.git.getTree({ owner: server.owner, repo: server.repo, tree_sha: commit, recursive: '1' });
}

async function failure(p: Promise<unknown>): Promise<GitHubError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isGitHubError(err)) throw new Error(`expected a GitHubError, got ${String(err)}`);
  return err;
}

describe('createOctokit: every request', () => {
  it('carries the delivery id, the API version and pushsync/<version> as user agent', async () => {
    const { octokit } = tokenClient(server, { deliveryId: 'delivery-123' });
    await getTree(octokit);
    await getDefaultBranch(octokit, server);
    await postStatus(octokit, { owner: server.owner, repo: server.repo, sha: commit, name: 'vet', state: 'success', description: 'ok' });
    expect(server.requests).toHaveLength(3);
    for (const r of server.requests) {
      expect(r.headers[DELIVERY_HEADER]).toBe('delivery-123');
      expect(r.headers['x-github-api-version']).toBe('2022-11-28');
      expect(r.headers['user-agent']).toMatch(new RegExp(`^${USER_AGENT.replace(/\./g, '\\.')} `));
      expect(r.headers.authorization).toBe(`token ${server.token}`);
    }
    expect(USER_AGENT).toMatch(/^pushsync\/\d+\.\d+\.\d+/);
  });

  it('counts the HTTP requests it sends, per call, and a shared counter sums several clients', async () => {
    const counter = new ApiCallCounter();
    const a = tokenClient(server, { counter });
    const b = tokenClient(server, { counter });
    await getTree(a.octokit);
    await getTree(b.octokit);
    await getDefaultBranch(b.octokit, server);
    expect(counter.total).toBe(3);
    expect(counter.byCall()).toEqual({ [`GET ${treePath()}`]: 2, [`GET ${repoPath()}`]: 1 });
    expect(counter.calls.every((c) => c.status === 200 && c.ms >= 0)).toBe(true);
  });
});

describe('createOctokit: retries', () => {
  it('retries a 502 and succeeds; every attempt is counted', async () => {
    const c = tokenClient(server);
    server.fail({ path: treePath(), status: 502, times: 2 });
    const res = await getTree(c.octokit);
    expect(res.data.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(server.apiCalls({ path: treePath() }).map((r) => r.status)).toEqual([502, 502, 200]);
    expect(c.counter.total).toBe(3);
  });

  it('a 5xx that persists ends in a GITHUB_UNAVAILABLE error after 3 retries', async () => {
    const c = tokenClient(server, { deliveryId: 'd-5xx' });
    server.fail({ path: treePath(), status: 503, times: 100, body: { message: 'Service Unavailable' } });
    const err = await failure(getTree(c.octokit));
    expect(server.apiCalls({ path: treePath() })).toHaveLength(4);
    expect(err.code).toBe('GITHUB_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(new RegExp(`GitHub call GET ${treePath()} failed with 503 after 3 retries: Service Unavailable \\(request [0-9A-F]+, delivery d-5xx\\)`));
  });

  it('does not retry what cannot get better: 404 is GITHUB_NOT_FOUND after one request', async () => {
    const c = tokenClient(server);
    const err = await failure(c.octokit.rest.git.getTree({ owner: server.owner, repo: server.repo, tree_sha: 'f'.repeat(40) }));
    expect(err.code).toBe('GITHUB_NOT_FOUND');
    expect(err.retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('bad credentials are GITHUB_UNAUTHORIZED, and the token is in no message', async () => {
    const c = tokenClient(server, { auth: { kind: 'token', token: 'ghp_not-a-real-token-at-all' } });
    const err = await failure(getTree(c.octokit));
    expect(err.code).toBe('GITHUB_UNAUTHORIZED');
    expect(server.requests).toHaveLength(1);
    expect(`${err.message} ${err.stack}`).not.toContain('ghp_not-a-real-token-at-all');
  });

  it('no answer at all is GITHUB_NETWORK, retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const counter = new ApiCallCounter();
    const octokit = createOctokit({ auth: { kind: 'token', token: 't' }, baseUrl: `http://127.0.0.1:${port}`, counter, retryBaseDelayMs: 1, log: recordingLog([]) });
    const err = await failure(octokit.rest.repos.get({ owner: 'a', repo: 'b' }));
    expect(err.code).toBe('GITHUB_NETWORK');
    expect(err.retryable).toBe(true);
    expect(counter.total).toBe(4);
    expect(counter.calls.every((c) => c.status === undefined)).toBe(true);
  });
});

describe('createOctokit: rate limits', () => {
  it('waits for the primary limit to reset, retries, and says so in the log', async () => {
    const c = tokenClient(server);
    server.rateLimit({ path: treePath(), times: 1, resetInSeconds: 0 });
    await getTree(c.octokit);
    expect(server.apiCalls({ path: treePath() }).map((r) => r.status)).toEqual([403, 200]);
    expect(c.logs.some((l) => /^warn GitHub rate limit on GET .*\/git\/trees\/.*: retry 1 of 2/.test(l))).toBe(true);
  });

  it('gives up after 2 retries with a GITHUB_RATE_LIMITED error that says when the limit resets', async () => {
    const c = tokenClient(server, { deliveryId: 'd-rl' });
    server.rateLimit({ path: treePath(), times: 3, resetInSeconds: 0 });
    const err = await failure(getTree(c.octokit));
    expect(server.apiCalls({ path: treePath() }).map((r) => r.status)).toEqual([403, 403, 403]);
    expect(err.code).toBe('GITHUB_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(err.resetAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(err.message).toMatch(
      new RegExp(`^GitHub API rate limit exhausted: GET ${treePath()} answered 403 after 2 retries; it resets at \\S+ \\(in \\d+ s\\)\\. GitHub said: API rate limit exceeded`),
    );
    expect(err.message).toContain('delivery d-rl');
    expect(c.logs.some((l) => l.startsWith('warn GitHub rate limit') && l.includes('giving up'))).toBe(true);
  });

  it('does not wait for a limit that resets in an hour: fails at once', async () => {
    const c = tokenClient(server);
    server.rateLimit({ path: treePath(), times: 1, resetInSeconds: 3600 });
    const started = Date.now();
    const err = await failure(getTree(c.octokit));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(server.apiCalls({ path: treePath() })).toHaveLength(1);
    expect(err.code).toBe('GITHUB_RATE_LIMITED');
    expect(err.message).toMatch(/\(in 36\d\d s\)/);
  });

  it('retries a secondary rate limit after its retry-after', async () => {
    const c = tokenClient(server);
    server.rateLimit({ path: treePath(), times: 1, secondary: true, retryAfterSeconds: 1 });
    await getTree(c.octokit);
    expect(server.apiCalls({ path: treePath() }).map((r) => r.status)).toEqual([403, 200]);
    expect(c.logs.some((l) => l.startsWith('warn GitHub secondary rate limit'))).toBe(true);
  });

  it('spaces writes by writeSpacingMs (GitHub asks for a second between content-creating calls)', async () => {
    const c = tokenClient(server, { writeSpacingMs: 150 });
    const started = Date.now();
    for (const name of ['a', 'b', 'c']) {
      await postStatus(c.octokit, { owner: server.owner, repo: server.repo, sha: commit, name, state: 'pending', description: name });
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(server.apiCalls({ method: 'POST' })).toHaveLength(3);
  });
});

describe('createOctokit: GitHub App installation auth', () => {
  const appId = 4711;
  const installationId = 99;
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKey = keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  let appServer: GitHubServer;

  beforeAll(async () => {
    appServer = await startGitHubServer({ contract: true, app: { appId, installationId, publicKey: keys.publicKey } });
    await appServer.git.commit({ 'policy/system/repo.yaml': REPO_YAML });
  });

  afterAll(async () => {
    await appServer?.close();
  });

  it('exchanges a signed JWT for an installation token, uses it, and reuses it across clients', async () => {
    const counter = new ApiCallCounter();
    const make = (deliveryId: string) =>
      createOctokit({
        auth: { kind: 'app', appId, privateKey, installationId },
        baseUrl: appServer.url,
        deliveryId,
        counter,
        retryBaseDelayMs: 1,
        writeSpacingMs: 0,
        log: recordingLog([]),
      });
    const first = make('d-app-1');
    expect(await getDefaultBranch(first, appServer)).toBe('main');
    const [tokenReq, repoReq] = appServer.requests;
    expect(tokenReq?.path).toBe(`/app/installations/${installationId}/access_tokens`);
    expect(tokenReq?.status).toBe(201);
    expect(tokenReq?.headers.authorization).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/i);
    expect(tokenReq?.headers[DELIVERY_HEADER]).toBe('d-app-1');
    expect(repoReq?.headers.authorization).toBe(`token ${appServer.issuedTokens[0]}`);
    expect(repoReq?.status).toBe(200);
    expect(counter.total).toBe(2);

    // A new client per delivery in a warm function: the token is not minted again.
    const second = make('d-app-2');
    await getDefaultBranch(second, appServer);
    expect(appServer.issuedTokens).toHaveLength(1);
    expect(counter.total).toBe(3);

    // Only an App installation may create check runs.
    const sha = (await appServer.git.head())!;
    const id = await startCheckRun(second, { owner: appServer.owner, repo: appServer.repo, sha, name: 'vet' });
    expect(appServer.checkRuns.find((r) => r.id === id)?.status).toBe('in_progress');
  });

  it('a JWT signed with the wrong key is refused: GITHUB_UNAUTHORIZED, nothing else sent', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // Another App id, so the first test's cached token is not used.
    const strict = await startGitHubServer({ app: { appId: appId + 1, installationId, publicKey: keys.publicKey } });
    try {
      const octokit = createOctokit({ auth: { kind: 'app', appId: appId + 1, privateKey: other, installationId }, baseUrl: strict.url, retryBaseDelayMs: 1, log: recordingLog([]) });
      const err = await failure(getDefaultBranch(octokit, strict));
      expect(err.code).toBe('GITHUB_UNAUTHORIZED');
      expect(err.message).toMatch(/JWT signature does not verify/);
      expect(strict.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([`POST /app/installations/${installationId}/access_tokens 401`]);
    } finally {
      await strict.close();
    }
  });

  it('a personal token cannot create check runs: GITHUB_FORBIDDEN', async () => {
    const c = tokenClient(server);
    const err = await failure(startCheckRun(c.octokit, { owner: server.owner, repo: server.repo, sha: commit, name: 'vet' }));
    expect(err.code).toBe('GITHUB_FORBIDDEN');
    expect(err.message).toMatch(/must authenticate via a GitHub App/);
  });
});
