import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isGitHubError } from '../../lib/github/index.ts';
import { readLocalDir } from '../../lib/source/index.ts';
import { BlobCache } from '../../lib/source/blob-cache.ts';
import { gitBlobSha, readGitHubDir } from '../../lib/source/github.ts';
import type { ReadGitHubOptions } from '../../lib/source/github.ts';
import { startGitHubServer } from '../helpers/github-server.ts';
import type { GitHubServer, TreeEntryOut } from '../helpers/github-server.ts';
import { REPO_YAML, YAML_NS, tokenClient } from './support.ts';
import type { TestClient } from './support.ts';

const run = promisify(execFile);

const DEPLOY = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n';
const CONFIG_JSON = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"shop"}}\n';

/** A hierarchy repo under policy/, plus files the engine must never see. */
const SEED = {
  'policy/system/repo.yaml': REPO_YAML,
  'policy/namespaces/shop/namespace.yaml': YAML_NS('shop'),
  'policy/namespaces/shop/deploy.yml': DEPLOY,
  'policy/namespaces/shop/config.json': CONFIG_JSON,
  'policy/namespaces/shop/notes.txt': 'not a policy file\n',
  'policy/api-resources.txt': 'NAME SHORTNAMES APIVERSION NAMESPACED KIND\n',
  'policy/README.md': '# policy\n',
  'policy/docs/example.yaml': 'outside the hierarchy top dirs\n',
  'policy/.github/workflow.yaml': 'skipped\n',
  'other/app.yaml': 'outside the policy dir\n',
  'README.md': '# repo\n',
};
const SEED_POLICY_FILES = ['api-resources.txt', 'namespaces/shop/config.json', 'namespaces/shop/deploy.yml', 'namespaces/shop/namespace.yaml', 'system/repo.yaml'];

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

function read(commit: string, over: Partial<ReadGitHubOptions> = {}, c: TestClient = client) {
  return readGitHubDir(c.octokit, {
    owner: server.owner,
    repo: server.repo,
    commit,
    dir: 'policy',
    sourceFormat: 'hierarchy',
    cache: new BlobCache(),
    ...over,
  });
}

/** API calls made by `fn`, counted by the client and cross-checked against the server's record. */
async function calls<T>(fn: () => Promise<T>, c: TestClient = client): Promise<{ result: T; total: number; byKind: Record<string, number> }> {
  c.counter.reset();
  server.clearRequests();
  const result = await fn();
  expect(server.requests.length).toBe(c.counter.total);
  const byKind: Record<string, number> = {};
  for (const r of server.requests) {
    const kind = r.path.includes('/git/trees/') ? (r.query.recursive !== undefined ? 'tree-recursive' : 'tree') : r.path.includes('/git/blobs/') ? 'blob' : r.path;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  return { result, total: c.counter.total, byKind };
}

function text(content: Uint8Array | string): string {
  return typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
}

describe('readGitHubDir: what it reads', () => {
  it('reads exactly the files readLocalDir reads from a checkout of the same commit', async () => {
    const sha = await server.git.commit(SEED, { replace: true });
    const { snapshot, errors } = await read(sha);
    expect(errors).toEqual([]);
    expect(snapshot.commit).toBe(sha);
    expect(snapshot.files.map((f) => f.path)).toEqual(SEED_POLICY_FILES);

    const dir = await mkdtemp(path.join(tmpdir(), 'pushsync-checkout-'));
    try {
      await run('git', ['-C', server.git.dir, 'archive', '--format=tar', '-o', path.join(dir, 'c.tar'), sha]);
      await run('tar', ['-xf', path.join(dir, 'c.tar'), '-C', dir]);
      const local = await readLocalDir(path.join(dir, 'policy'), { sourceFormat: 'hierarchy' });
      expect(local.errors).toEqual([]);
      expect(snapshot.files.map((f) => [f.path, text(f.content)])).toEqual(local.snapshot.files.map((f) => [f.path, text(f.content)]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('filters by source format: unstructured reads every .yaml/.yml/.json outside skipped dirs', async () => {
    const sha = await server.git.commit(SEED, { replace: true });
    const { snapshot, errors } = await read(sha, { sourceFormat: 'unstructured' });
    expect(errors).toEqual([]);
    expect(snapshot.files.map((f) => f.path)).toEqual([
      'api-resources.txt',
      'docs/example.yaml',
      'namespaces/shop/config.json',
      'namespaces/shop/deploy.yml',
      'namespaces/shop/namespace.yaml',
      'system/repo.yaml',
    ]);
  });

  it('reads the repository root when the policy dir is "" or "."', async () => {
    const sha = await server.git.commit({ 'system/repo.yaml': REPO_YAML, 'namespaces/a/ns.yaml': YAML_NS('a'), 'README.md': 'x' }, { replace: true });
    for (const dir of ['', '.', './']) {
      const { snapshot, errors } = await read(sha, { dir });
      expect(errors).toEqual([]);
      expect(snapshot.files.map((f) => f.path)).toEqual(['namespaces/a/ns.yaml', 'system/repo.yaml']);
    }
  });

  it('a missing policy dir, or one that is a file, is one KNV2001 error naming it', async () => {
    const sha = await server.git.commit({ 'policy.yaml': 'x: 1\n', 'elsewhere/a.yaml': 'x: 1\n' }, { replace: true });
    const missing = await read(sha, { dir: 'policy' });
    expect(missing.snapshot.files).toEqual([]);
    expect(missing.errors).toEqual([{ code: 'KNV2001', message: `the policy dir "policy" does not exist at commit ${sha}` }]);
    const file = await read(sha, { dir: 'policy.yaml' });
    expect(file.errors).toEqual([{ code: 'KNV2001', message: `the policy dir "policy.yaml" is not a directory at commit ${sha}` }]);
  });

  it('refuses a policy dir that escapes the repository', async () => {
    const sha = await server.git.commit({ 'policy/a.yaml': 'x: 1\n' }, { replace: true });
    const { result, total } = await calls(() => read(sha, { dir: '../policy' }));
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.code).toBe('KNV2001');
    expect(result.errors[0]?.message).toMatch(/policy dir: .*"\.\."/);
    expect(total).toBe(0);
  });

  it('rejects a commit that is not a full SHA before calling GitHub, and reports an unknown one as GITHUB_NOT_FOUND', async () => {
    await expect(read('main')).rejects.toThrow(/full SHA/);
    const err = await read('1234567890123456789012345678901234567890').catch((e: unknown) => e);
    expect(isGitHubError(err) && err.code).toBe('GITHUB_NOT_FOUND');
    expect(isGitHubError(err) && err.retryable).toBe(false);
  });
});

describe('readGitHubDir: API calls and the blob cache', () => {
  it('cold read = tree + one blob per policy file; warm reads cost only what changed', async () => {
    const cache = new BlobCache();
    const c1 = await server.git.commit(SEED, { replace: true });

    const cold = await calls(() => read(c1, { cache }));
    expect(cold.byKind).toEqual({ 'tree-recursive': 1, blob: SEED_POLICY_FILES.length });
    expect(cold.total).toBe(1 + SEED_POLICY_FILES.length);

    // Same commit again (another cluster's apply in the same warm function): nothing to ask.
    const again = await calls(() => read(c1, { cache }));
    expect(again.total).toBe(0);
    expect(again.result).toEqual(cold.result);

    // A push that does not touch the policy dir: only the new commit's tree.
    const c2 = await server.git.commit({ 'README.md': '# changed\n' });
    const unchanged = await calls(() => read(c2, { cache }));
    expect(unchanged.byKind).toEqual({ 'tree-recursive': 1 });
    expect(unchanged.result.snapshot.files).toEqual(cold.result.snapshot.files);

    // One changed policy file: the tree and that blob.
    const c3 = await server.git.commit({ 'policy/namespaces/shop/deploy.yml': `${DEPLOY}spec:\n  replicas: 2\n` });
    const oneChange = await calls(() => read(c3, { cache }));
    expect(oneChange.byKind).toEqual({ 'tree-recursive': 1, blob: 1 });
    expect(text(oneChange.result.snapshot.files.find((f) => f.path === 'namespaces/shop/deploy.yml')?.content ?? '')).toContain('replicas: 2');

    // A new file whose content already exists elsewhere: same blob SHA, nothing to download.
    const c4 = await server.git.commit({ 'policy/namespaces/shop/copy.yaml': YAML_NS('shop') });
    const copy = await calls(() => read(c4, { cache }));
    expect(copy.byKind).toEqual({ 'tree-recursive': 1 });
    expect(copy.result.snapshot.files.map((f) => f.path)).toContain('namespaces/shop/copy.yaml');
  });

  it('concurrent reads of one commit share each fetch', async () => {
    const cache = new BlobCache();
    const sha = await server.git.commit(SEED, { replace: true });
    const both = await calls(() => Promise.all([read(sha, { cache }), read(sha, { cache }), read(sha, { cache })]));
    expect(both.byKind).toEqual({ 'tree-recursive': 1, blob: SEED_POLICY_FILES.length });
    expect(both.result[0]).toEqual(both.result[2]);
  });

  it('downloads at most `concurrency` blobs at once (default 8)', async () => {
    const files: Record<string, string> = { 'policy/system/repo.yaml': REPO_YAML };
    for (let i = 0; i < 40; i++) files[`policy/namespaces/n${i}/ns.yaml`] = YAML_NS(`n${i}`);
    const sha = await server.git.commit(files, { replace: true });
    server.clearRequests();
    expect((await read(sha)).snapshot.files).toHaveLength(41);
    expect(server.peakConcurrency).toBeLessThanOrEqual(8);
    expect(server.peakConcurrency).toBeGreaterThan(1);
    server.clearRequests();
    await read(sha, { concurrency: 1 });
    expect(server.peakConcurrency).toBe(1);
  });

  it('checks every blob against its SHA and never caches a bad one', async () => {
    const sha = await server.git.commit({ 'policy/system/repo.yaml': REPO_YAML }, { replace: true });
    const blob = gitBlobSha(Buffer.from(REPO_YAML));
    const cache = new BlobCache();
    server.fail({
      path: `/repos/${server.owner}/${server.repo}/git/blobs/${blob}`,
      status: 200,
      body: { sha: blob, node_id: 'x', size: 4, url: `${server.url}/x`, content: Buffer.from('evil').toString('base64'), encoding: 'base64' },
    });
    const err = await read(sha, { cache }).catch((e: unknown) => e);
    expect(isGitHubError(err) && err.code).toBe('GITHUB_BAD_RESPONSE');
    expect(String(err)).toMatch(/hash to [0-9a-f]{40}, not to the blob's SHA/);
    const ok = await read(sha, { cache });
    expect(text(ok.snapshot.files[0]?.content ?? '')).toBe(REPO_YAML);
  });

  it('a read given a signal gives up every call in flight when it aborts (a job at its deadline), and throws', async () => {
    const sha = await server.git.commit(SEED, { replace: true });
    server.clearRequests();
    server.delay({ path: /\/git\/blobs\//, ms: 2_000 });
    try {
      const stop = new AbortController();
      const reading = read(sha, { signal: stop.signal });
      // Once the blobs are asked for, stop: the tree was read, the downloads are in flight.
      while (server.requests.filter((r) => r.path.includes('/git/blobs/')).length < SEED_POLICY_FILES.length) await new Promise((resolve) => setTimeout(resolve, 10));
      const started = Date.now();
      stop.abort();
      await expect(reading).rejects.toThrow(/abort/i);
      expect(Date.now() - started).toBeLessThan(1_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.requests.filter((r) => r.path.includes('/git/blobs/')).map((r) => r.aborted)).toEqual(SEED_POLICY_FILES.map(() => true));
    } finally {
      server.clearFaults();
    }
  });

  it('BlobCache evicts the least recently used entries to stay within its byte budget', () => {
    const cache = new BlobCache({ maxBytes: 10 });
    cache.setBlob('a', new Uint8Array(4));
    cache.setBlob('b', new Uint8Array(4));
    expect(cache.getBlob('a')).toBeDefined();
    cache.setBlob('c', new Uint8Array(4));
    expect(cache.getBlob('b')).toBeUndefined();
    expect(cache.getBlob('a')).toBeDefined();
    expect(cache.getBlob('c')).toBeDefined();
    cache.setBlob('huge', new Uint8Array(11));
    expect(cache.getBlob('huge')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 8, evictions: 1 });
  });

  it('BlobCache keeps a commit\'s tree only when it is complete and small next to the budget', async () => {
    const cache = new BlobCache({ maxBytes: 64 * 1024 });
    const entry = (i: number) => ({ path: `f${i}.yaml`, mode: '100644', type: 'blob' as const, sha: 'a'.repeat(40) });
    const small = { truncated: false, entries: [entry(1)] };
    const big = { truncated: false, entries: Array.from({ length: 100 }, (_, i) => entry(i)) };
    await cache.tree('r@1', async () => small);
    await cache.tree('r@2', async () => big);
    await cache.tree('r@3', async () => ({ ...small, truncated: true }));
    expect(cache.getTree('r@1')).toEqual(small);
    expect(cache.getTree('r@2')).toBeUndefined();
    expect(cache.getTree('r@3')).toBeUndefined();
  });
});

describe('readGitHubDir: truncated trees', () => {
  /** 300 files in vendor/ (after policy/ in tree order) and 300 in aaa/ (before it). */
  async function bigRepo(policyPrefix: string, extra: Record<string, string> = {}): Promise<string> {
    const files: Record<string, string> = { ...extra };
    for (const [p, c] of Object.entries(SEED)) if (p.startsWith('policy/')) files[`${policyPrefix}${p.slice('policy/'.length)}`] = c;
    for (let i = 0; i < 300; i++) {
      files[`vendor/lib${i}.yaml`] = `v: ${i}\n`;
      files[`aaa/f${i}.yaml`] = `a: ${i}\n`;
    }
    return server.git.commit(files, { replace: true });
  }

  afterEach(() => server.setTruncateTreesOver(undefined));

  it('untruncated reference and truncated read agree; the policy dir tree is fetched on its own', async () => {
    const sha = await bigRepo('zz/policy/');
    const full = await read(sha, { dir: 'zz/policy' });
    expect(full.errors).toEqual([]);
    expect(full.snapshot.files.map((f) => f.path)).toEqual(SEED_POLICY_FILES);

    server.setTruncateTreesOver(100);
    const truncated = await calls(() => read(sha, { dir: 'zz/policy' }));
    expect(truncated.result).toEqual(full);
    // Root (truncated), then down to zz/policy one level at a time, then its recursive tree.
    expect(truncated.byKind).toEqual({ 'tree-recursive': 2, tree: 2, blob: SEED_POLICY_FILES.length });
  });

  it('uses the policy dir entry when the truncated listing already has it', async () => {
    const sha = await bigRepo('policy/');
    const full = await read(sha);
    server.setTruncateTreesOver(320); // aaa/ (301 entries) + the policy dir's first entries
    const truncated = await calls(() => read(sha));
    expect(truncated.result).toEqual(full);
    expect(truncated.byKind).toEqual({ 'tree-recursive': 2, blob: SEED_POLICY_FILES.length });
  });

  it('walks the policy dir one directory at a time when its own tree is truncated too', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 30; i++) many[`policy/docs/d${i}.yaml`] = `d: ${i}\n`;
    const sha = await bigRepo('policy/', many);
    const full = await read(sha);
    server.setTruncateTreesOver(20);
    const walked = await calls(() => read(sha));
    expect(walked.result).toEqual(full);
    // The root (to find policy/), then policy/, system/, namespaces/, namespaces/shop/: docs/ and .github/ are never listed.
    expect(walked.byKind).toEqual({ 'tree-recursive': 2, tree: 5, blob: SEED_POLICY_FILES.length });
  });

  it('walks from the root when the policy dir is the repository root', async () => {
    const files: Record<string, string> = { 'system/repo.yaml': REPO_YAML, 'namespaces/a/ns.yaml': YAML_NS('a') };
    for (let i = 0; i < 50; i++) files[`vendor/v${i}.yaml`] = `v: ${i}\n`;
    const sha = await server.git.commit(files, { replace: true });
    const full = await read(sha, { dir: '' });
    server.setTruncateTreesOver(10);
    const walked = await calls(() => read(sha, { dir: '' }));
    expect(walked.result).toEqual(full);
    expect(walked.byKind).toEqual({ 'tree-recursive': 1, tree: 4, blob: 2 });
  });
});

describe('readGitHubDir: limits and paths', () => {
  it('a file over the size limit is a KNV2001 error, and is never downloaded', async () => {
    const big = `x: "${'y'.repeat(2000)}"\n`;
    const sha = await server.git.commit({ 'policy/system/repo.yaml': REPO_YAML, 'policy/namespaces/a/big.yaml': big }, { replace: true });
    const res = await calls(() => read(sha, { maxFileBytes: 1024 }));
    expect(res.result.errors).toEqual([
      { code: 'KNV2001', message: `file is too large: ${Buffer.byteLength(big)} bytes, the limit is 1024 bytes (0 MiB)`, path: 'namespaces/a/big.yaml' },
    ]);
    expect(res.result.snapshot.files.map((f) => f.path)).toEqual(['system/repo.yaml']);
    expect(server.requests.some((r) => r.path.endsWith(gitBlobSha(Buffer.from(big))))).toBe(false);
    expect(res.byKind.blob).toBe(1);
  });

  it('files past the total limit are KNV2001 errors, in path order', async () => {
    const sha = await server.git.commit({ 'policy/a.yaml': 'a'.repeat(600), 'policy/b.yaml': 'b'.repeat(600), 'policy/c.yaml': 'c'.repeat(100) }, { replace: true });
    const { snapshot, errors } = await read(sha, { sourceFormat: 'unstructured', maxTotalBytes: 1000 });
    expect(snapshot.files.map((f) => f.path)).toEqual(['a.yaml', 'c.yaml']);
    expect(errors.map((e) => [e.code, e.path])).toEqual([['KNV2001', 'b.yaml']]);
    expect(errors[0]?.message).toMatch(/policy dir is too large/);
  });

  it('rejects crafted tree paths (.., absolute, backslash, empty components) without downloading them', async () => {
    const sha = await server.git.commit({ 'system/repo.yaml': REPO_YAML }, { replace: true });
    const blob = gitBlobSha(Buffer.from(REPO_YAML));
    const crafted = (entries: TreeEntryOut[]): TreeEntryOut[] => [
      ...entries,
      ...['../escape.yaml', '/etc/passwd.yaml', 'namespaces\\evil.yaml', 'a//b.yaml', 'namespaces/./x.yaml'].map((p) => ({ path: p, mode: '100644', type: 'blob', sha: blob, size: 10 })),
    ];
    const crafty = await startGitHubServer({ git: server.git, rewriteTree: crafted });
    try {
      const c = tokenClient(crafty);
      const { snapshot, errors } = await readGitHubDir(c.octokit, { owner: crafty.owner, repo: crafty.repo, commit: sha, dir: '', sourceFormat: 'unstructured', cache: new BlobCache() });
      expect(snapshot.files.map((f) => f.path)).toEqual(['system/repo.yaml']);
      expect(errors.map((e) => [e.code, e.path])).toEqual([
        ['KNV2001', '../escape.yaml'],
        ['KNV2001', '/etc/passwd.yaml'],
        ['KNV2001', 'a//b.yaml'],
        ['KNV2001', 'namespaces/./x.yaml'],
        ['KNV2001', 'namespaces\\evil.yaml'],
      ]);
      expect(errors.find((e) => e.path === '../escape.yaml')?.message).toMatch(/"\.\." component/);
      expect(errors.find((e) => e.path === '/etc/passwd.yaml')?.message).toMatch(/absolute/);
      expect(errors.find((e) => e.path === 'namespaces\\evil.yaml')?.message).toMatch(/backslash/);
      // Only the legitimate file's blob was fetched.
      expect(crafty.apiCalls({ path: /\/git\/blobs\// })).toHaveLength(1);
    } finally {
      await crafty.close();
    }
  });

  it('follows symlinks inside the policy dir; outside, broken and looping links are errors', async () => {
    const sha = await server.git.commit(
      {
        'policy/namespaces/shop/namespace.yaml': YAML_NS('shop'),
        'policy/namespaces/shop/link.yaml': { symlink: 'namespace.yaml' },
        // Through a link the engine would not read by its name.
        'policy/namespaces/shop/chain.yaml': { symlink: 'mid' },
        'policy/namespaces/shop/mid': { symlink: './namespace.yaml' },
        'policy/namespaces/shop/out.yaml': { symlink: '../../../secrets.yaml' },
        'policy/namespaces/shop/abs.yaml': { symlink: '/etc/hosts' },
        'policy/namespaces/shop/broken.yaml': { symlink: 'nope.yaml' },
        'policy/namespaces/shop/loop1.yaml': { symlink: 'loop2.yaml' },
        'policy/namespaces/shop/loop2.yaml': { symlink: 'loop1.yaml' },
        'secrets.yaml': 'password: hunter2\n',
      },
      { replace: true },
    );
    const { snapshot, errors } = await read(sha);
    expect(snapshot.files.map((f) => [f.path, text(f.content)])).toEqual([
      ['namespaces/shop/chain.yaml', YAML_NS('shop')],
      ['namespaces/shop/link.yaml', YAML_NS('shop')],
      ['namespaces/shop/namespace.yaml', YAML_NS('shop')],
    ]);
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      ['namespaces/shop/abs.yaml', 'symbolic link points outside the policy dir (to /etc/hosts)'],
      ['namespaces/shop/broken.yaml', 'broken symbolic link'],
      ['namespaces/shop/loop1.yaml', 'symbolic link loop (more than 8 links)'],
      ['namespaces/shop/loop2.yaml', 'symbolic link loop (more than 8 links)'],
      ['namespaces/shop/out.yaml', 'symbolic link points outside the policy dir (to ../../../secrets.yaml)'],
    ]);
  });
});
