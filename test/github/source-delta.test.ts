/**
 * readGitHubDir with a push's delta: a warm function rebuilds the new commit's tree from the
 * cached tree of `before` plus one contents call per changed path, and uses it only when it
 * hashes to the payload's tree SHA. Every read is compared with a cold read of the same commit.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BlobCache } from '../../lib/source/blob-cache.ts';
import { gitBlobSha, readGitHubDir, MAX_DELTA_PATHS } from '../../lib/source/github.ts';
import type { ReadGitHubOptions, TreeDelta } from '../../lib/source/github.ts';
import { startGitHubServer } from '../helpers/github-server.ts';
import type { GitHubServer } from '../helpers/github-server.ts';
import type { FileChange } from '../helpers/github-server/git-repo.ts';
import { REPO_YAML, YAML_NS, tokenClient } from './support.ts';
import type { TestClient } from './support.ts';

const DEPLOY = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n';
const SEED = {
  'policy/system/repo.yaml': REPO_YAML,
  'policy/namespaces/shop/namespace.yaml': YAML_NS('shop'),
  'policy/namespaces/shop/deploy.yaml': DEPLOY,
  'other/app.yaml': 'outside the policy dir\n',
  'README.md': '# repo\n',
};

let server: GitHubServer;
let client: TestClient;

beforeAll(async () => {
  server = await startGitHubServer({ contract: true });
  client = tokenClient(server);
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  expect(server.violations).toEqual([]);
});

function read(commit: string, cache: BlobCache, over: Partial<ReadGitHubOptions> = {}) {
  return readGitHubDir(client.octokit, { owner: server.owner, repo: server.repo, commit, dir: 'policy', sourceFormat: 'hierarchy', cache, ...over });
}

/** Calls made by `fn`, by kind: tree, blob, contents. */
async function calls<T>(fn: () => Promise<T>): Promise<{ result: T; byKind: Record<string, number> }> {
  server.clearRequests();
  const result = await fn();
  const byKind: Record<string, number> = {};
  for (const r of server.requests) {
    const kind = r.path.includes('/git/trees/') ? 'tree' : r.path.includes('/git/blobs/') ? 'blob' : r.path.includes('/contents/') ? 'contents' : r.path;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  return { result, byKind };
}

/** Commit `files` and describe the push the way the webhook's payload does (changed paths, new root tree). */
async function push(files: Record<string, FileChange>, paths = Object.keys(files)): Promise<{ before: string; after: string; delta: TreeDelta }> {
  const before = (await server.git.head()) as string;
  const after = await server.git.commit(files);
  const treeId = (await server.git.git(['rev-parse', `${after}^{tree}`])).trim();
  return { before, after, delta: { base: before, treeId, paths } };
}

/** What a new process with an empty cache reads at `commit`. */
const cold = (commit: string) => read(commit, new BlobCache());

async function warmCache(): Promise<BlobCache> {
  const cache = new BlobCache();
  await read(await server.git.commit(SEED, { replace: true }), cache);
  return cache;
}

describe('readGitHubDir with a push delta', () => {
  it('one changed policy file: one contents call, no tree, no blob; the same snapshot as a cold read', async () => {
    const cache = await warmCache();
    const p = await push({ 'policy/namespaces/shop/deploy.yaml': `${DEPLOY}spec:\n  replicas: 3\n` });
    const warm = await calls(() => read(p.after, cache, { delta: p.delta }));
    expect(warm.byKind).toEqual({ contents: 1 });
    expect(warm.result).toEqual(await cold(p.after));
    // The apply jobs of the same warm process read the same commit: nothing to ask.
    expect((await calls(() => read(p.after, cache, { delta: p.delta }))).byKind).toEqual({});
  });

  it('added files in a new directory, a removed file, a README: one call per path', async () => {
    const cache = await warmCache();
    const p = await push({
      'policy/namespaces/team/a/namespace.yaml': YAML_NS('a'),
      'policy/namespaces/shop/deploy.yaml': null,
      'README.md': '# changed\n',
    });
    const warm = await calls(() => read(p.after, cache, { delta: p.delta }));
    expect(warm.byKind).toEqual({ contents: 3 });
    expect(warm.result).toEqual(await cold(p.after));
    expect(warm.result.snapshot.files.map((f) => f.path)).toEqual(['namespaces/shop/namespace.yaml', 'namespaces/team/a/namespace.yaml', 'system/repo.yaml']);
  });

  it('a push that changes nothing under the policy dir: its one path, then nothing else', async () => {
    const cache = await warmCache();
    const p = await push({ 'README.md': '# docs only\n' });
    const warm = await calls(() => read(p.after, cache, { delta: p.delta }));
    expect(warm.byKind).toEqual({ contents: 1 });
    expect(warm.result).toEqual(await cold(p.after));
  });

  it('an incomplete path list (a payload that left commits out) fails the SHA check: the tree is listed, the result is right', async () => {
    const cache = await warmCache();
    const p = await push({ 'policy/namespaces/shop/deploy.yaml': `${DEPLOY}# 2\n`, 'policy/namespaces/shop/namespace.yaml': `${YAML_NS('shop')}# 2\n` }, ['policy/namespaces/shop/deploy.yaml']);
    const warm = await calls(() => read(p.after, cache, { delta: p.delta }));
    expect(warm.byKind).toEqual({ contents: 1, tree: 1, blob: 1 }); // the blob of the path the list left out
    expect(warm.result).toEqual(await cold(p.after));
  });

  it('a tree SHA that does not match (a crafted or stale delta) is never trusted', async () => {
    const cache = await warmCache();
    const p = await push({ 'policy/namespaces/shop/deploy.yaml': `${DEPLOY}# 3\n` });
    const warm = await calls(() => read(p.after, cache, { delta: { ...p.delta, treeId: 'f'.repeat(40) } }));
    expect(warm.byKind.tree).toBe(1);
    expect(warm.result).toEqual(await cold(p.after));
  });

  it('content that does not hash to the SHA GitHub names is not used', async () => {
    const cache = await warmCache();
    const p = await push({ 'policy/namespaces/shop/deploy.yaml': `${DEPLOY}# 4\n` });
    const evil = Buffer.from('evil\n');
    server.fail({
      path: `/repos/${server.owner}/${server.repo}/contents/policy%2Fnamespaces%2Fshop%2Fdeploy.yaml`,
      status: 200,
      body: {
        type: 'file', encoding: 'base64', size: evil.byteLength, name: 'deploy.yaml', path: 'policy/namespaces/shop/deploy.yaml',
        content: evil.toString('base64'), sha: gitBlobSha(Buffer.from(`${DEPLOY}# 4\n`)),
        url: `${server.url}/x`, git_url: `${server.url}/x`, html_url: `${server.url}/x`, download_url: `${server.url}/x`,
        _links: { self: `${server.url}/x`, git: `${server.url}/x`, html: `${server.url}/x` },
      },
      times: 1,
    });
    const warm = await calls(() => read(p.after, cache, { delta: p.delta }));
    expect(warm.byKind.tree).toBe(1);
    expect(warm.result).toEqual(await cold(p.after));
  });

  it('falls back to listing the commit: no cached base, too many paths, a symlink, a new executable file', async () => {
    // No tree of `before` in this (new) process.
    const p1 = await push({ 'policy/namespaces/shop/deploy.yaml': `${DEPLOY}# 5\n` });
    expect((await calls(() => read(p1.after, new BlobCache(), { delta: p1.delta }))).byKind).toMatchObject({ tree: 1 });

    // More than one changed path outside the policy files: a contents call each would cost more than the tree.
    let cache = await warmCache();
    const p2 = await push({ 'README.md': 'a\n', 'other/app.yaml': 'b\n', 'policy/namespaces/shop/deploy.yaml': `${DEPLOY}# 6\n` });
    const r2 = await calls(() => read(p2.after, cache, { delta: p2.delta }));
    expect(r2.byKind).toEqual({ tree: 1, blob: 1 });

    const many: Record<string, FileChange> = {};
    for (let i = 0; i <= MAX_DELTA_PATHS; i++) many[`policy/namespaces/n${i}/namespace.yaml`] = YAML_NS(`n${i}`);
    cache = await warmCache();
    const p3 = await push(many);
    const r3 = await calls(() => read(p3.after, cache, { delta: p3.delta }));
    expect(r3.byKind.contents).toBeUndefined();
    expect(r3.byKind.tree).toBe(1);

    // GitHub answers a symlink with its target's content: the link's own blob is unknown.
    cache = await warmCache();
    const p4 = await push({ 'policy/namespaces/shop/link.yaml': { symlink: 'namespace.yaml' } });
    const r4 = await calls(() => read(p4.after, cache, { delta: p4.delta }));
    expect(r4.byKind).toMatchObject({ contents: 1, tree: 1 });
    expect(r4.result).toEqual(await cold(p4.after));

    cache = await warmCache();
    const p5 = await push({ 'policy/namespaces/shop/run.yaml': { executable: YAML_NS('x') } });
    const r5 = await calls(() => read(p5.after, cache, { delta: p5.delta }));
    expect(r5.byKind).toMatchObject({ contents: 1, tree: 1 });
    expect(r5.result).toEqual(await cold(p5.after));
  });

  it('refuses crafted paths in a delta without asking GitHub about them', async () => {
    const cache = await warmCache();
    const p = await push({ 'policy/namespaces/shop/deploy.yaml': `${DEPLOY}# 7\n` });
    const r = await calls(() => read(p.after, cache, { delta: { ...p.delta, paths: ['../../etc/passwd', 'policy/namespaces/shop/deploy.yaml'] } }));
    expect(r.byKind.contents).toBeUndefined();
    expect(r.result).toEqual(await cold(p.after));
  });
});
