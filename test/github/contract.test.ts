/**
 * The stand-in cannot drift from GitHub: every endpoint's answers validate against GitHub's
 * published OpenAPI description, and every request pushsync's client code makes is an operation
 * of that description (method + path template) with a conforming body.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Webhooks } from '@octokit/webhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  compareCommits,
  createDeployment,
  createOctokit,
  getBranchHead,
  getDefaultBranch,
  isAncestor,
  reportCluster,
  reportPending,
  reportRollout,
  reportRolloutProgress,
  reportVet,
  setDeploymentState,
} from '../../lib/github/index.ts';
import { BlobCache } from '../../lib/source/blob-cache.ts';
import { readGitHubDir } from '../../lib/source/github.ts';
import { buildPushPayload, startGitHubServer, webhookDelivery, ZERO_SHA } from '../helpers/github-server.ts';
import type { GitHubServer, RecordedRequest } from '../helpers/github-server.ts';
import { findOperation, validate, validateResponse } from '../helpers/github-server/openapi.ts';
import type { Schema } from '../helpers/github-server/openapi.ts';
import { recordingLog, REPO_YAML, YAML_NS } from './support.ts';

const appId = 77;
const installationId = 5;
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });

let server: GitHubServer;
let app: ReturnType<typeof createOctokit>;
let token: ReturnType<typeof createOctokit>;
/** main: m1 ← m2; feature: m1 ← f1 */
let m1: string;
let m2: string;
let f1: string;

beforeAll(async () => {
  server = await startGitHubServer({ contract: true, app: { appId, installationId, publicKey: keys.publicKey } });
  m1 = await server.git.commit({ 'policy/system/repo.yaml': REPO_YAML, 'policy/namespaces/a/ns.yaml': YAML_NS('a') }, { message: 'first' });
  await server.git.createBranch('feature', m1);
  f1 = await server.git.commit({ 'policy/namespaces/b/ns.yaml': YAML_NS('b') }, { branch: 'feature', message: 'feature work' });
  m2 = await server.git.commit({ 'README.md': 'main moves on\n' }, { message: 'second' });
  const common = { baseUrl: server.url, retryBaseDelayMs: 1, writeSpacingMs: 0, log: recordingLog([]) };
  app = createOctokit({ ...common, auth: { kind: 'app', appId, installationId, privateKey: keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString() } });
  token = createOctokit({ ...common, auth: { kind: 'token', token: server.token } });
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  expect(server.violations).toEqual([]);
  server.clearRequests();
});

/** The last request's answer must be a documented status whose schema it satisfies. */
function lastAnswerConforms(expectedStatus: number): RecordedRequest {
  const last = server.requests[server.requests.length - 1];
  if (last === undefined) throw new Error('no request recorded');
  expect(last.status).toBe(expectedStatus);
  expect(last.operation).toBeDefined();
  return last;
}

describe('the validator', () => {
  it('loads GitHub OpenAPI description and finds operations by method and raw path', () => {
    expect(findOperation('GET', '/repos/o/r/git/trees/abc')?.operationId).toBe('git/get-tree');
    expect(findOperation('GET', '/repos/o/r/git/ref/heads%2Fmain')?.operationId).toBe('git/get-ref');
    expect(findOperation('GET', '/repos/o/r/compare/a...b')?.operationId).toBe('repos/compare-commits-with-basehead');
    expect(findOperation('GET', '/repos/o/r/commits/abc/statuses')?.operationId).toBe('repos/list-commit-statuses-for-ref');
    expect(findOperation('PATCH', '/repos/o/r/check-runs/12')?.operationId).toBe('checks/update');
    expect(findOperation('GET', '/repos/o/r/not-an-endpoint/x')).toBeUndefined();
  });

  it('rejects answers GitHub would never give', () => {
    const op = findOperation('GET', '/repos/o/r/git/trees/abc');
    if (op === undefined) throw new Error('git/get-tree missing');
    expect(validateResponse(op, 200, { sha: 'x', tree: [] })).toEqual(['response: missing required property "truncated"']);
    expect(validateResponse(op, 200, { sha: 'x', truncated: 'no', tree: [{ path: 'a', mode: '100644', type: 'blob' }] })).toEqual([
      'response.truncated: expected boolean, got string',
      'response.tree[0]: missing required property "sha"',
    ]);
    const create = findOperation('POST', '/repos/o/r/check-runs');
    if (create === undefined) throw new Error('checks/create missing');
    const schema = (create.spec.requestBody as { content: { 'application/json': { schema: Schema } } }).content['application/json'].schema;
    const tooMany = { name: 'n', head_sha: 's', output: { title: 't', summary: 's', annotations: Array.from({ length: 51 }, () => ({ path: 'a', start_line: 1, end_line: 1, annotation_level: 'failure', message: 'm' })) } };
    expect(validate(schema, tooMany, 'request')).toEqual(['request.output.annotations: more than 50 items (51)']);
    expect(validate(schema, { name: 'n', head_sha: 's', conclusion: 'great' }, 'request')).toEqual([
      'request.conclusion: "great" is not one of ["action_required","cancelled","failure","neutral","success","skipped","stale","timed_out"]',
    ]);
  });
});

describe('every endpoint of the stand-in answers like GitHub', () => {
  const o = () => ({ owner: server.owner, repo: server.repo });

  it('GET /repos/{owner}/{repo}', async () => {
    const res = await token.request('GET /repos/{owner}/{repo}', o());
    expect(res.data.default_branch).toBe('main');
    expect(lastAnswerConforms(200).operation).toBe('repos/get');
  });

  it('GET git/trees, recursive, non-recursive, truncated', async () => {
    const rec = await token.request('GET /repos/{owner}/{repo}/git/trees/{tree_sha}', { ...o(), tree_sha: m1, recursive: '1' });
    expect(rec.data.tree.map((e) => e.path)).toEqual(['policy', 'policy/namespaces', 'policy/namespaces/a', 'policy/namespaces/a/ns.yaml', 'policy/system', 'policy/system/repo.yaml']);
    expect(rec.data.tree.find((e) => e.type === 'blob')?.size).toBe(Buffer.byteLength(YAML_NS('a')));
    lastAnswerConforms(200);
    const flat = await token.request('GET /repos/{owner}/{repo}/git/trees/{tree_sha}', { ...o(), tree_sha: m1 });
    expect(flat.data.tree.map((e) => [e.path, e.type])).toEqual([['policy', 'tree']]);
    lastAnswerConforms(200);
    server.setTruncateTreesOver(2);
    try {
      const cut = await token.request('GET /repos/{owner}/{repo}/git/trees/{tree_sha}', { ...o(), tree_sha: m1, recursive: '1' });
      expect(cut.data.truncated).toBe(true);
      expect(cut.data.tree).toHaveLength(2);
      lastAnswerConforms(200);
    } finally {
      server.setTruncateTreesOver(undefined);
    }
    await expect(token.request('GET /repos/{owner}/{repo}/git/trees/{tree_sha}', { ...o(), tree_sha: 'e'.repeat(40) })).rejects.toThrow();
    lastAnswerConforms(404);
  });

  it('GET git/blobs/{file_sha}', async () => {
    const tree = await token.request('GET /repos/{owner}/{repo}/git/trees/{tree_sha}', { ...o(), tree_sha: m1, recursive: '1' });
    const blob = tree.data.tree.find((e) => e.path === 'policy/system/repo.yaml');
    const res = await token.request('GET /repos/{owner}/{repo}/git/blobs/{file_sha}', { ...o(), file_sha: blob?.sha ?? '' });
    expect(res.data.encoding).toBe('base64');
    expect(Buffer.from(res.data.content, 'base64').toString('utf8')).toBe(REPO_YAML);
    expect(lastAnswerConforms(200).operation).toBe('git/get-blob');
    await expect(token.request('GET /repos/{owner}/{repo}/git/blobs/{file_sha}', { ...o(), file_sha: 'a'.repeat(40) })).rejects.toThrow();
    lastAnswerConforms(404);
  });

  it('GET git/ref/{ref} and commits/{ref}', async () => {
    const ref = await token.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { ...o(), ref: 'heads/feature' });
    expect(ref.data).toMatchObject({ ref: 'refs/heads/feature', object: { type: 'commit', sha: f1 } });
    lastAnswerConforms(200);
    const c = await token.request('GET /repos/{owner}/{repo}/commits/{ref}', { ...o(), ref: 'main' });
    expect(c.data.sha).toBe(m2);
    expect(c.data.parents.map((p) => p.sha)).toEqual([m1]);
    expect(c.data.commit.message).toBe('second');
    expect(lastAnswerConforms(200).operation).toBe('repos/get-commit');
  });

  it('GET compare/{base}...{head}: ahead, behind, identical, diverged from git itself', async () => {
    const cases: [string, string, string, number, number][] = [
      [m1, m2, 'ahead', 1, 0],
      [m2, m1, 'behind', 0, 1],
      [m2, m2, 'identical', 0, 0],
      [m2, f1, 'diverged', 1, 1],
    ];
    for (const [base, head, status, ahead, behind] of cases) {
      const res = await token.request('GET /repos/{owner}/{repo}/compare/{basehead}', { ...o(), basehead: `${base}...${head}` });
      expect([res.data.status, res.data.ahead_by, res.data.behind_by]).toEqual([status, ahead, behind]);
      expect(res.data.merge_base_commit.sha).toBe(status === 'diverged' ? m1 : status === 'behind' ? head : base);
      lastAnswerConforms(200);
    }
  });

  it('POST statuses/{sha} and GET commits/{ref}/statuses', async () => {
    const made = await token.request('POST /repos/{owner}/{repo}/statuses/{sha}', { ...o(), sha: m2, state: 'pending', context: 'pushsync/x', description: 'd' });
    expect(made.status).toBe(201);
    lastAnswerConforms(201);
    await token.request('POST /repos/{owner}/{repo}/statuses/{sha}', { ...o(), sha: m2, state: 'success', context: 'pushsync/x', description: 'done' });
    const list = await token.request('GET /repos/{owner}/{repo}/commits/{ref}/statuses', { ...o(), ref: m2 });
    expect(list.data.filter((s) => s.context === 'pushsync/x').map((s) => s.state)).toEqual(['success', 'pending']);
    expect(lastAnswerConforms(200).operation).toBe('repos/list-commit-statuses-for-ref');
  });

  it('POST, PATCH and GET check-runs', async () => {
    const made = await app.request('POST /repos/{owner}/{repo}/check-runs', { ...o(), name: 'pushsync/x', head_sha: m2, status: 'in_progress' });
    lastAnswerConforms(201);
    await app.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
      ...o(),
      check_run_id: made.data.id,
      conclusion: 'success',
      output: { title: 't', summary: 's', annotations: [{ path: 'policy/a.yaml', start_line: 1, end_line: 1, annotation_level: 'failure', message: 'm' }] },
    });
    lastAnswerConforms(200);
    const got = await app.request('GET /repos/{owner}/{repo}/check-runs/{check_run_id}', { ...o(), check_run_id: made.data.id });
    expect(got.data).toMatchObject({ status: 'completed', conclusion: 'success', output: { annotations_count: 1 } });
    lastAnswerConforms(200);
  });

  it('POST and GET deployments, GET one, POST and GET its statuses', async () => {
    const made = await token.request('POST /repos/{owner}/{repo}/deployments', { ...o(), ref: m2, environment: 'qa', required_contexts: [], auto_merge: false, payload: { cluster: 'qa' } });
    expect(made.status).toBe(201);
    expect(lastAnswerConforms(201).operation).toBe('repos/create-deployment');
    const id = (made.data as { id: number }).id;
    await token.request('POST /repos/{owner}/{repo}/deployments', { ...o(), ref: 'feature', environment: 'other', required_contexts: [] });
    const list = await token.request('GET /repos/{owner}/{repo}/deployments', { ...o(), environment: 'qa' });
    expect(list.data.map((d) => [d.id, d.sha, d.environment, d.production_environment])).toEqual([[id, m2, 'qa', false]]);
    expect(lastAnswerConforms(200).operation).toBe('repos/list-deployments');
    expect((await token.request('GET /repos/{owner}/{repo}/deployments', { ...o(), sha: f1 })).data.map((d) => [d.ref, d.environment])).toEqual([['feature', 'other']]);
    const one = await token.request('GET /repos/{owner}/{repo}/deployments/{deployment_id}', { ...o(), deployment_id: id });
    expect(one.data.payload).toEqual({ cluster: 'qa' });
    expect(lastAnswerConforms(200).operation).toBe('repos/get-deployment');
    const st = await token.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', { ...o(), deployment_id: id, state: 'in_progress', log_url: 'https://ci.example.com/1' });
    expect(st.data).toMatchObject({ state: 'in_progress', log_url: 'https://ci.example.com/1', target_url: 'https://ci.example.com/1', environment: 'qa', description: '' });
    expect(lastAnswerConforms(201).operation).toBe('repos/create-deployment-status');
    // No URLs given: GitHub answers "" for them, as its description's defaults say.
    await token.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', { ...o(), deployment_id: id, state: 'success' });
    lastAnswerConforms(201);
    const history = await token.request('GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', { ...o(), deployment_id: id });
    expect(history.data.map((x) => [x.state, x.target_url])).toEqual([['success', ''], ['in_progress', 'https://ci.example.com/1']]);
    expect(lastAnswerConforms(200).operation).toBe('repos/list-deployment-statuses');
    await expect(token.request('GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', { ...o(), deployment_id: 999_999 })).rejects.toThrow();
    lastAnswerConforms(404);
    await expect(token.request('POST /repos/{owner}/{repo}/deployments', { ...o(), ref: 'no-such-branch', required_contexts: [] })).rejects.toThrow();
    lastAnswerConforms(422);
  });

  it('POST /app/installations/{installation_id}/access_tokens', () => {
    // Made by the App client in the tests above; its answer was validated as it went.
    expect(server.issuedTokens.length).toBeGreaterThanOrEqual(1);
    expect(findOperation('POST', `/app/installations/${installationId}/access_tokens`)?.operationId).toBe('apps/create-installation-access-token');
  });
});

describe("pushsync's own calls are GitHub operations", () => {
  it('the read, ancestry and report paths use exactly these operations, all conforming', async () => {
    server.setTruncateTreesOver(3);
    try {
      const read = await readGitHubDir(app, { ...{ owner: server.owner, repo: server.repo }, commit: f1, dir: 'policy', sourceFormat: 'hierarchy', cache: new BlobCache() });
      expect(read.snapshot.files.map((f) => f.path)).toEqual(['namespaces/a/ns.yaml', 'namespaces/b/ns.yaml', 'system/repo.yaml']);
    } finally {
      server.setTruncateTreesOver(undefined);
    }
    const r = { owner: server.owner, repo: server.repo };
    expect(await getDefaultBranch(app, r)).toBe('main');
    expect(await getBranchHead(app, { ...r, branch: 'feature' })).toBe(f1);
    expect(await getBranchHead(app, { ...r, branch: 'gone' })).toBeUndefined();
    expect(await compareCommits(app, { ...r, base: m1, head: m2 })).toEqual({ status: 'ahead', aheadBy: 1, behindBy: 0 });
    expect(await isAncestor(app, { ...r, ancestor: m2, descendant: m1 })).toBe(false);
    const commit = { ...r, sha: m2 };
    await reportVet(app, commit, { errors: [{ code: 'KNV1029', message: 'bad', path: 'namespaces/a/ns.yaml', line: 3 }], policyDir: 'policy' }, { checkRuns: true, targetUrl: 'https://ci.example.com/1' });
    const id = await reportPending(app, commit, 'prod', 'applying', { checkRuns: true });
    await reportCluster(app, commit, { cluster: 'prod', mode: 'plan', counts: { create: 1 }, objects: [{ id: 'Namespace/b', action: 'create' }] }, { checkRuns: true, ...(id ? { checkRunId: id } : {}) });

    const unmatched = server.requests.filter((q) => q.operation === undefined);
    expect(unmatched.map((q) => `${q.method} ${q.path}`)).toEqual([]);
    expect([...new Set(server.requests.map((q) => q.operation))].sort()).toEqual([
      'checks/create',
      'checks/update',
      'git/get-blob',
      'git/get-ref',
      'git/get-tree',
      'repos/compare-commits-with-basehead',
      'repos/create-commit-status',
      'repos/get',
    ]);
  });
});

describe("pushsync's rollout calls are GitHub operations", () => {
  it('a deployment and a rollout reported through progress to its verdict use exactly these operations, all conforming', async () => {
    const commit = { owner: server.owner, repo: server.repo, sha: m1 };
    const id = await createDeployment(app, commit, { environment: 'prod', production: true, cluster: 'prod' });
    await setDeploymentState(app, commit, id, 'in_progress', { description: 'applying', logUrl: 'https://ci.example.com/2' });
    const runId = await reportPending(app, commit, 'prod', 'applying', { checkRuns: true });
    const objects = [{ id: 'Deployment.apps/a/web', group: 'apps', kind: 'Deployment', namespace: 'a', name: 'web', health: { status: 'InProgress' as const, reason: 'MinimumReplicasUnavailable', message: 'm' } }];
    const rollout = { cluster: 'prod', applied: 'applied 1 (1 created)', objects };
    await reportRolloutProgress(app, commit, rollout, { checkRuns: true, checkRunId: runId });
    await reportRollout(app, commit, { ...rollout, verdict: { kind: 'timeout', timeoutSeconds: 60 } }, { checkRuns: true, checkRunId: runId });
    await setDeploymentState(app, commit, id, 'failure', { description: 'not healthy after 1m' });
    expect(server.requests.filter((q) => q.operation === undefined).map((q) => `${q.method} ${q.path}`)).toEqual([]);
    expect([...new Set(server.requests.map((q) => q.operation))].sort()).toEqual([
      'checks/create',
      'checks/get',
      'checks/update',
      'repos/create-commit-status',
      'repos/create-deployment',
      'repos/create-deployment-status',
    ]);
    expect(server.deployments({ environment: 'prod' }).at(-1)?.statuses.map((x) => x.state)).toEqual(['in_progress', 'failure']);
  });
});

describe('push webhook payloads', () => {
  it('start from a real example, describe the pushed commits, and are signed like GitHub signs them', async () => {
    const payload = await buildPushPayload({ git: server.git, owner: server.owner, repo: server.repo, ref: 'feature', before: m1, after: f1, installationId, apiUrl: server.url });
    expect(payload).toMatchObject({
      ref: 'refs/heads/feature',
      before: m1,
      after: f1,
      created: false,
      deleted: false,
      installation: { id: installationId },
      repository: { name: server.repo, full_name: `${server.owner}/${server.repo}`, default_branch: 'main', owner: { login: server.owner } },
    });
    expect(payload.commits.map((c) => [c.id, c.message, c.added])).toEqual([[f1, 'feature work', ['policy/namespaces/b/ns.yaml']]]);
    expect(payload.head_commit?.id).toBe(f1);
    // Push payloads keep GitHub's quirk of a web URL in repository.url; the API URLs point at the stand-in.
    expect(payload.repository.url).toBe(`https://github.com/${server.owner}/${server.repo}`);
    expect(payload.repository.statuses_url).toBe(`${server.url}/repos/${server.owner}/${server.repo}/statuses/{sha}`);
    // Fields the example had and we did not set survive (pusher, sender).
    expect(payload.pusher.name).toBeTypeOf('string');
    expect(payload.sender?.login).toBeTypeOf('string');

    const secret = 'shh';
    const delivery = webhookDelivery(payload, secret);
    expect(delivery.headers['x-github-event']).toBe('push');
    expect(delivery.headers['x-github-delivery']).toBe(delivery.deliveryId);
    const webhooks = new Webhooks({ secret });
    expect(await webhooks.verify(delivery.body, delivery.headers['x-hub-signature-256'] ?? '')).toBe(true);
    expect(await webhooks.verify(delivery.body.replace(f1, m1), delivery.headers['x-hub-signature-256'] ?? '')).toBe(false);

    const deletion = await buildPushPayload({ git: server.git, owner: server.owner, repo: server.repo, ref: 'refs/heads/feature', before: f1, after: ZERO_SHA });
    expect(deletion).toMatchObject({ deleted: true, created: false, commits: [], head_commit: null });
    expect('installation' in deletion).toBe(false);
  });
});
