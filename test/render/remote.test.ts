/**
 * Remote kustomize bases (issue #12 §4), fetched and checked by pushsync: the accepted forms,
 * the allow-list, and real fetches from a git remote on 127.0.0.1 (bare repositories made with
 * `git`, served by `git http-backend` over smart HTTP), rendered with the real kustomize.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceFile } from '../../lib/repo/types.ts';
import { compile } from '../../lib/repo/index.ts';
import { RenderCache } from '../../lib/render/cache.ts';
import { checkKustomization } from '../../lib/render/kustomization.ts';
import { placeRemoteErrors, resolveRemoteBases } from '../../lib/render/remote.ts';
import { DEFAULT_REMOTE_BASES, REMOTE_INDEX, REMOTE_ROOT, allowedBy, fetchedBasesIn, parseRemoteBase, remoteBasesFrom } from '../../lib/render/remote-ref.ts';
import { renderRepoDir, type RenderRepoOptions } from '../../lib/render/repo.ts';
import { findRenderTools, isToolProblem, type RenderTools } from '../../lib/render/tools.ts';
import { startGitRemote, type GitRemote } from '../helpers/git-remote.ts';
import { files as fileTree, readFixture } from '../helpers/repo-files.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/render/remote/', import.meta.url));

describe('parseRemoteBase', () => {
  it.each([
    ['https://github.com/org/repo//sub/dir?ref=v1', { repo: 'https://github.com/org/repo', dir: 'sub/dir', ref: 'v1' }],
    ['git::https://gitlab.com/org/repo//base?ref=main', { repo: 'https://gitlab.com/org/repo', dir: 'base', ref: 'main' }],
    ['https://example.com/org/repo.git/sub?ref=release-1.2', { repo: 'https://example.com/org/repo.git', dir: 'sub', ref: 'release-1.2' }],
    ['https://example.com/team/sub/repo.git', { repo: 'https://example.com/team/sub/repo.git', dir: '' }],
    ['https://github.com/org/repo/sub?ref=v1', { repo: 'https://github.com/org/repo', dir: 'sub', ref: 'v1' }],
    ['github.com/org/repo/sub/x?version=v2', { repo: 'https://github.com/org/repo', dir: 'sub/x', ref: 'v2' }],
    ['bitbucket.org/org/repo', { repo: 'https://bitbucket.org/org/repo', dir: '' }],
    ['https://GitHub.com/org/repo//./a/?ref=v1&timeout=90s&submodules=false', { repo: 'https://github.com/org/repo', dir: 'a', ref: 'v1' }],
    ['http://127.0.0.1:8080/shop.git//base?ref=0123456789abcdef0123456789abcdef01234567', { repo: 'http://127.0.0.1:8080/shop.git', dir: 'base', ref: '0123456789abcdef0123456789abcdef01234567' }],
  ])('%s', (raw, want) => {
    expect(parseRemoteBase(raw)).toEqual(want);
  });

  it.each([
    ['ssh://git@github.com/org/repo.git', /ssh URL/],
    ['git@github.com:org/repo.git//base', /ssh URL/],
    ['git::git@github.com:org/repo', /ssh URL/],
    ['file:///proc/self/environ', /renderer's own files/],
    ['git://example.com/repo.git', /no TLS/],
    ['https://example.com/generators/gen.yaml', /where the repository ends.*single file/],
    ['https://user:token@github.com/org/repo//base', /credentials/],
    ['https://github.com/org//base', /names no repository|org\/repo/],
    ['https://github.com/org/repo//../x', /climbs out/],
    ['https://github.com/org/repo//base?ref=v1&ref=v2', /two refs/],
    ['https://github.com/org/repo//base?ref=--upload-pack=x', /not a branch, tag or commit/],
    ['https://github.com/org/repo//base?depth=1', /"depth" is not one kustomize reads/],
  ])('refuses %s', (raw, why) => {
    const p = parseRemoteBase(raw);
    expect('refused' in p ? p.refused : '').toMatch(why);
  });
});

describe('the allow-list', () => {
  it('reads PUSHSYNC_REMOTE_BASES: unset = the public hosts, empty = none, else the prefixes', () => {
    expect(remoteBasesFrom({})).toEqual(DEFAULT_REMOTE_BASES);
    expect(remoteBasesFrom({ PUSHSYNC_REMOTE_BASES: '' })).toEqual([]);
    expect(remoteBasesFrom({ PUSHSYNC_REMOTE_BASES: ' https://github.com/shop/ , http://127.0.0.1:1/,' })).toEqual(['https://github.com/shop/', 'http://127.0.0.1:1/']);
  });

  it('matches by prefix; a prefix without a trailing slash names one repository or what is below it', () => {
    expect(allowedBy('https://github.com/org/repo', DEFAULT_REMOTE_BASES)).toBe('https://github.com/');
    expect(allowedBy('https://GITHUB.COM/org/repo', DEFAULT_REMOTE_BASES)).toBe('https://github.com/');
    expect(allowedBy('http://github.com/org/repo', DEFAULT_REMOTE_BASES)).toBeUndefined();
    expect(allowedBy('https://github.com.evil.example/x', DEFAULT_REMOTE_BASES)).toBeUndefined();
    expect(allowedBy('https://github.com/shop', ['https://github.com/shop'])).toBe('https://github.com/shop');
    expect(allowedBy('https://github.com/shop.git', ['https://github.com/shop'])).toBe('https://github.com/shop');
    expect(allowedBy('https://github.com/shop/x', ['https://github.com/shop'])).toBe('https://github.com/shop');
    expect(allowedBy('https://github.com/shop-evil/x', ['https://github.com/shop'])).toBeUndefined();
    expect(allowedBy('https://github.com/org/repo', [])).toBeUndefined();
  });
});

describe('forms pushsync does not fetch stay refused', () => {
  it('names the kustomization and line and the accepted form; remote generators are refused too', async () => {
    const f = fileTree({
      'kustomization.yaml': [
        'resources:',
        '- ssh://git@github.com/org/repo.git//base',
        '- git@github.com:org/repo.git//base',
        '- file:///etc/shop',
        '- https://example.com/all.yaml',
        'generators:',
        '- https://github.com/org/repo//gen?ref=v1',
      ].join('\n'),
    });
    // No fetch happens for any of these: the allow-list would let github.com in, the forms do not.
    const r = await resolveRemoteBases(f, 'kustomization.yaml', { allow: DEFAULT_REMOTE_BASES });
    expect(r.fetched).toEqual([]);
    expect(r.errors).toEqual([]);
    const errors = checkKustomization(r.files, 'kustomization.yaml');
    expect(errors.map((e) => `${e.code} ${e.path}:${e.line}`)).toEqual(['KNV1068 kustomization.yaml:2', 'KNV1068 kustomization.yaml:3', 'KNV1068 kustomization.yaml:4', 'KNV1068 kustomization.yaml:5', 'KNV1068 kustomization.yaml:7']);
    for (const e of errors.slice(0, 4)) expect(e.message).toContain('write a git base as https://host/org/repo//dir?ref=v1');
    expect(errors[0]?.message).toContain('ssh URL');
    expect(errors[2]?.message).toContain("reads the renderer's own files");
    expect(errors[4]?.message).toMatch(/generators entry .* is remote: pushsync fetches remote git bases in resources, bases and components only/);
  });
});

// --- against a git remote, rendered with kustomize ------------------------------------------------

let remote: GitRemote;
let tools: RenderTools;
let scratch: string;
/** A kustomize wrapper that leaves a marker each time it runs: proves whether kustomize ran at all. */
let kustomizeRan: string;
const shas: Record<string, string> = {};

/** A fixture directory as files for the remote, `REMOTE_URL` replaced by the server's URL. */
async function templated(dir: string, url: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of readFixture(path.join(FIXTURES, dir))) out[f.path] = Buffer.from(f.content).toString('utf8').split('REMOTE_URL').join(url);
  return out;
}

/** A repository held in memory, read as renderRepoDir reads a checkout or GitHub. */
function reader(files: readonly SourceFile[]) {
  return async (dir: string) => ({
    snapshot: { files: files.filter((f) => dir === '' || f.path.startsWith(`${dir}/`)).map((f) => ({ ...f, path: dir === '' ? f.path : f.path.slice(dir.length + 1) })) },
    errors: [],
  });
}

function overlay(entries: readonly string[], extra: Record<string, string> = {}): SourceFile[] {
  return fileTree({
    'overlays/prod/kustomization.yaml': ['# prod', 'namePrefix: prod-', 'resources:', ...entries.map((e) => `- ${e}`), ''].join('\n'),
    ...extra,
  });
}

function options(extra: Partial<RenderRepoOptions> = {}): RenderRepoOptions {
  return { tools, remoteBases: [`${remote.url}/`], remoteLimits: { timeoutMs: 10_000 }, ...extra };
}

function objectsOf(files: readonly SourceFile[]): { kind: string; name: string; path: string; line: number; data?: unknown }[] {
  const c = compile(files, { sourceFormat: 'unstructured', clusterName: '' });
  expect(c.errors).toEqual([]);
  return [...c.objects].sort((a, b) => `${a.obj.kind}/${a.obj.metadata.name}`.localeCompare(`${b.obj.kind}/${b.obj.metadata.name}`)).map((o) => ({ kind: o.obj.kind, name: o.obj.metadata.name, path: o.source.path, line: o.source.line, ...(o.obj.kind === 'ConfigMap' ? { data: o.obj.data } : {}) }));
}

beforeAll(async () => {
  const found = findRenderTools(process.env);
  if (isToolProblem(found)) throw new Error(`remote-base tests need kustomize: ${found.message}`);
  scratch = await mkdtemp(path.join(tmpdir(), 'pushsync-remote-test-'));
  kustomizeRan = path.join(scratch, 'kustomize-ran');
  const wrapper = path.join(scratch, 'kustomize');
  await writeFile(wrapper, `#!/bin/sh\ntouch '${kustomizeRan}'\nexec '${found.kustomize.path}' "$@"\n`);
  await chmod(wrapper, 0o755);
  tools = { ...found, kustomize: { ...found.kustomize, path: wrapper } };

  remote = await startGitRemote();
  const shop = await templated('shop', remote.url);
  shas.v1 = await remote.commit('shop', 'main', { files: shop, message: 'v1' });
  await remote.tag('shop', 'v1', 'main');
  shas.dev = await remote.commit('shop', 'dev', { files: { 'base/configmap.yaml': shop['base/configmap.yaml']!.replace('color: blue', 'color: green') }, message: 'dev: green' });
  shas.lib = await remote.commit('lib', 'main', { files: await templated('lib', remote.url) });
}, 120_000);

afterAll(async () => {
  await remote?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('remote bases from a git remote', () => {
  it('renders an overlay over a base at a tag: the objects placed on the entry that asked for the base', async () => {
    const repo = [...readFixture(path.join(FIXTURES, 'overlay'))].map((f) => ({ ...f, content: Buffer.from(f.content).toString('utf8').split('REMOTE_URL').join(remote.url) }));
    await rm(kustomizeRan, { force: true });
    const r = await renderRepoDir(reader(repo), 'overlays/prod', options());
    expect(r.kind).toBe('rendered');
    if (r.kind !== 'rendered') return;
    expect(existsSync(kustomizeRan)).toBe(true);
    const objs = objectsOf(r.files);
    // The base's objects sit on line 4 of the overlay (its remote entry), never under the internal path.
    expect(objs.filter((o) => o.kind !== 'Namespace')).toEqual([
      { kind: 'ConfigMap', name: 'prod-settings', path: 'overlays/prod/kustomization.yaml', line: 4, data: { color: 'blue' } },
      { kind: 'Deployment', name: 'prod-web', path: 'overlays/prod/kustomization.yaml', line: 4 },
    ]);
    expect(r.files.map((f) => f.path).some((p) => p.includes('.git'))).toBe(false);
  });

  it('records the commit each ref resolved to: a tag (annotated), a branch, a commit SHA', async () => {
    for (const [ref, sha] of [['v1', shas.v1], ['dev', shas.dev], [shas.v1, shas.v1]] as const) {
      const r = await resolveRemoteBases(overlay([`${remote.url}/shop.git//base?ref=${ref}`]), 'overlays/prod/kustomization.yaml', { allow: [`${remote.url}/`] });
      expect(r.errors).toEqual([]);
      expect(r.fetched.map((f) => f.commit)).toEqual([sha]);
      expect(fetchedBasesIn(r.files).map((f) => f.commit)).toEqual([sha]);
      // The entry now names the fetched copy, on its own line; the other lines are as written.
      const k = Buffer.from(r.files.find((f) => f.path === 'overlays/prod/kustomization.yaml')!.content).toString('utf8');
      expect(k.split('\n')).toEqual(['# prod', 'namePrefix: prod-', 'resources:', `- ../../${REMOTE_ROOT}0/base`, '']);
    }
  });

  it('fetches a commit that is no branch head; a commit the remote does not have is tried alone, then on whole branches, then said missing', async () => {
    const first = await remote.commit('history', 'main', { files: await templated('lib', remote.url), message: 'first' });
    await remote.commit('history', 'main', { files: { 'common/quota.yaml': 'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: later, namespace: shop}\n' }, message: 'second' });
    const packs = () => remote.requests.filter((q) => q === '/history.git/git-upload-pack').length;
    // Smart HTTP serves any commit reachable from a ref (git's stateless upload-pack, GitHub): one request for it.
    const r = await resolveRemoteBases(overlay([`${remote.url}/history.git//common?ref=${first}`]), 'overlays/prod/kustomization.yaml', { allow: [`${remote.url}/`] });
    expect(r.errors).toEqual([]);
    expect(r.fetched.map((f) => f.commit)).toEqual([first]);
    expect(packs()).toBe(1);
    expect(Buffer.from(r.files.find((f) => f.path === `${REMOTE_ROOT}0/common/quota.yaml`)!.content).toString('utf8')).toContain('name: quota');
    const absent = await resolveRemoteBases(overlay([`${remote.url}/history.git//common?ref=${'0'.repeat(40)}`]), 'overlays/prod/kustomization.yaml', { allow: [`${remote.url}/`] });
    expect(absent.errors.map((e) => e.message)).toEqual([expect.stringContaining(`could not be fetched from ${remote.url}/history.git: the repository has no commit ${'0'.repeat(40)} on its branches`)]);
    expect(packs()).toBe(3);
  });

  it('renders a base at a branch', async () => {
    const r = await renderRepoDir(reader(overlay([`${remote.url}/shop.git//base?ref=dev`])), 'overlays/prod', options());
    expect(r.kind).toBe('rendered');
    if (r.kind !== 'rendered') return;
    expect(objectsOf(r.files).find((o) => o.kind === 'ConfigMap')).toMatchObject({ name: 'prod-settings', data: { color: 'green' }, line: 4 });
  });

  it('refuses a remote base that asks for an exec plugin before kustomize runs: the plugin never runs', async () => {
    const marker = path.join(tmpdir(), 'pushsync-remote-plugin-ran');
    await rm(marker, { force: true });
    await rm(kustomizeRan, { force: true });
    const cache = new RenderCache();
    const r = await renderRepoDir(reader(overlay([`${remote.url}/shop.git//plugin?ref=v1`])), 'overlays/prod', options({ cache }));
    expect(r.kind).toBe('failed');
    if (r.kind !== 'failed') return;
    expect(r.errors.map((e) => `${e.code} ${e.path}:${e.line}`)).toEqual(['KNV1068 overlays/prod/kustomization.yaml:4']);
    expect(r.errors[0]?.message).toContain(`remote base ${remote.url}/shop.git//plugin?ref=v1 at commit ${shas.v1!.slice(0, 12)}, plugin/kustomization.yaml:4: generators entry "gen.yaml" asks for an exec KRM function example.com/v1/Generate (runs "./plugin.sh")`);
    expect(existsSync(kustomizeRan)).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(cache.stats()).toEqual({ renders: 0, hits: 0 });
  });

  it('refuses a base outside the allow-list on its file and line, without a request to the server', async () => {
    const before = remote.requests.length;
    const r = await renderRepoDir(reader(overlay(['namespace.yaml', `${remote.url}/shop.git//base?ref=v1`])), 'overlays/prod', options({ remoteBases: DEFAULT_REMOTE_BASES }));
    expect(r.kind === 'failed' && r.errors.map((e) => `${e.code} ${e.path}:${e.line}`)).toEqual(['KNV1068 overlays/prod/kustomization.yaml:5']);
    expect(r.kind === 'failed' && r.errors[0]?.message).toContain(`is a remote base outside the allowed repositories (https://github.com/, https://gitlab.com/, https://bitbucket.org/): add a prefix of ${remote.url}/shop.git to PUSHSYNC_REMOTE_BASES`);
    const none = await renderRepoDir(reader(overlay([`${remote.url}/shop.git//base?ref=v1`])), 'overlays/prod', options({ remoteBases: [] }));
    expect(none.kind === 'failed' && none.errors[0]?.message).toContain('no remote bases are allowed here');
    expect(remote.requests.length).toBe(before);
  });

  it('stops a fetch from a server that never answers at its time limit', async () => {
    const started = Date.now();
    const r = await renderRepoDir(reader(overlay([`${remote.stallUrl}/shop.git//base?ref=v1`])), 'overlays/prod', options({ remoteLimits: { timeoutMs: 500 } }));
    const took = Date.now() - started;
    expect(r.kind === 'failed' && r.errors.map((e) => `${e.code} ${e.path}:${e.line}`)).toEqual(['KNV1068 overlays/prod/kustomization.yaml:4']);
    expect(r.kind === 'failed' && r.errors[0]?.message).toContain(`could not be fetched from ${remote.stallUrl}/shop.git: the fetch did not finish within the 0.5 s time limit and was stopped`);
    expect(took).toBeLessThan(4000);
    expect(remote.requests.at(-1)).toMatch(/^\/stall\//);
    // All of one render's fetches share a limit too.
    const all = await resolveRemoteBases(overlay([`${remote.stallUrl}/shop.git//base?ref=v1`]), 'overlays/prod/kustomization.yaml', { allow: [`${remote.url}/`], limits: { timeoutMs: 10_000 }, totalTimeoutMs: 300 });
    expect(all.errors.map((e) => e.message)).toEqual([expect.stringContaining("one render's fetches took more than the 0.3 s allowed for them all")]);
  });

  it('stops a fetch at its byte limit, and says why a missing ref or directory fails', async () => {
    const big = await renderRepoDir(reader(overlay([`${remote.url}/shop.git//base?ref=v1`])), 'overlays/prod', options({ remoteLimits: { maxBytes: 200 } }));
    expect(big.kind === 'failed' && big.errors[0]?.message).toMatch(/could not be fetched from .*: the fetch downloaded more than the 200 bytes limit and was stopped/);
    const ref = await renderRepoDir(reader(overlay([`${remote.url}/shop.git//base?ref=v9`])), 'overlays/prod', options());
    expect(ref.kind === 'failed' && ref.errors[0]?.message).toContain('the repository has no branch or tag "v9"');
    const dir = await renderRepoDir(reader(overlay([`${remote.url}/shop.git//nothere?ref=v1`])), 'overlays/prod', options());
    expect(dir.kind === 'failed' && dir.errors[0]?.message).toContain('has no directory "nothere" at v1');
    const missing = await renderRepoDir(reader(overlay([`${remote.url}/absent.git//base?ref=v1`])), 'overlays/prod', options());
    expect(missing.kind === 'failed' && missing.errors[0]?.message).toMatch(/HTTP 404: the repository does not exist or is not public/);
  });

  it('renders anew when a branch moved, and from the cache when it did not', async () => {
    const cache = new RenderCache();
    const repo = overlay([`${remote.url}/shop.git//base?ref=moving`]);
    const shop = await templated('shop', remote.url);
    await remote.commit('shop', 'moving', { files: { 'base/configmap.yaml': shop['base/configmap.yaml']!.replace('color: blue', 'color: red') } });
    const first = await renderRepoDir(reader(repo), 'overlays/prod', options({ cache }));
    const again = await renderRepoDir(reader(repo), 'overlays/prod', options({ cache }));
    expect(cache.stats()).toEqual({ renders: 1, hits: 1 });
    expect(again).toBe(first);
    await remote.commit('shop', 'moving', { files: { 'base/configmap.yaml': shop['base/configmap.yaml']!.replace('color: blue', 'color: yellow') } });
    const moved = await renderRepoDir(reader(repo), 'overlays/prod', options({ cache }));
    expect(cache.stats()).toEqual({ renders: 2, hits: 1 });
    const colors = [first, moved].map((r) => (r.kind === 'rendered' ? objectsOf(r.files).find((o) => o.kind === 'ConfigMap')?.data : r.errors));
    expect(colors).toEqual([{ color: 'red' }, { color: 'yellow' }]);
  });

  it('fetches remote bases inside fetched bases, each repository and ref once per render', async () => {
    const before = remote.requests.filter((q) => q.includes('info/refs')).length;
    const r = await resolveRemoteBases(
      overlay([`${remote.url}/shop.git//nested?ref=v1`, `${remote.url}/shop.git//base?ref=v1`], { 'overlays/dev/kustomization.yaml': `resources:\n- ${remote.url}/lib.git//common?ref=main\n` }),
      'overlays/prod/kustomization.yaml',
      { allow: [`${remote.url}/`] },
    );
    expect(r.errors).toEqual([]);
    expect(r.fetched.map((f) => ({ base: f.base.replace(remote.url, ''), commit: f.commit, path: f.path, line: f.line, via: f.via.length }))).toEqual([
      { base: '/shop.git//nested?ref=v1', commit: shas.v1, path: 'overlays/prod/kustomization.yaml', line: 4, via: 0 },
      { base: '/lib.git//common?ref=main', commit: shas.lib, path: 'overlays/prod/kustomization.yaml', line: 4, via: 1 },
    ]);
    // shop once (two entries), lib once; the dev overlay is not reached from prod.
    expect(remote.requests.filter((q) => q.includes('info/refs')).length - before).toBe(2);
    expect(r.files.some((f) => f.path === REMOTE_INDEX)).toBe(true);

    const rendered = await renderRepoDir(reader(overlay([`${remote.url}/shop.git//nested?ref=v1`])), 'overlays/prod', options());
    expect(rendered.kind === 'rendered' && objectsOf(rendered.files).map((o) => `${o.kind}/${o.name} ${o.path}:${o.line}`)).toEqual([
      'ConfigMap/prod-settings overlays/prod/kustomization.yaml:4',
      'Deployment/prod-web overlays/prod/kustomization.yaml:4',
      'ResourceQuota/prod-quota overlays/prod/kustomization.yaml:4',
    ]);
  });

  it('bounds the depth of remote bases in remote bases', async () => {
    const r = await resolveRemoteBases(overlay([`${remote.url}/shop.git//nested?ref=v1`]), 'overlays/prod/kustomization.yaml', { allow: [`${remote.url}/`], maxDepth: 1 });
    expect(r.errors.map((e) => `${e.path}:${e.line} ${e.message.split(':').slice(0, -1).join(':')}`)).toEqual([`${REMOTE_ROOT}0/nested/kustomization.yaml:4 resources entry "${remote.url}/lib.git//common?ref=main" is a remote base 2 levels deep`]);
    // Said on the repository's entry that brought the chain in.
    const placed = placeRemoteErrors(r.errors, r.fetched);
    expect(placed.map((e) => `${e.code} ${e.path}:${e.line}`)).toEqual(['KNV1068 overlays/prod/kustomization.yaml:4']);
    expect(placed[0]?.message).toContain(`remote base ${remote.url}/shop.git//nested?ref=v1 at commit ${shas.v1!.slice(0, 12)}, nested/kustomization.yaml:4: resources entry`);
  });

  it('refuses a fetched base that reads outside its own repository', async () => {
    const r = await renderRepoDir(reader(overlay([`${remote.url}/shop.git//escape?ref=v1`], { 'secret.txt': 'the repository’s own file' })), 'overlays/prod', options());
    expect(r.kind === 'failed' && r.errors.map((e) => `${e.path}:${e.line}`)).toEqual(['overlays/prod/kustomization.yaml:4']);
    expect(r.kind === 'failed' && r.errors[0]?.message).toContain('escape/kustomization.yaml:3: configMapGenerator.files entry "../../../../secret.txt" leaves its remote base\'s repository');
  });

  it('names the remote base, not the internal path, when kustomize fails inside it', async () => {
    const shop = await templated('shop', remote.url);
    await remote.commit('shop', 'broken', { files: { 'base/kustomization.yaml': `${shop['base/kustomization.yaml']}- missing.yaml\n` } });
    const r = await renderRepoDir(reader(overlay([`${remote.url}/shop.git//base?ref=broken`])), 'overlays/prod', options());
    expect(r.kind).toBe('failed');
    if (r.kind !== 'failed') return;
    expect(r.errors.map((e) => `${e.code} ${e.path}:${e.line}`)).toEqual(['KNV1068 overlays/prod/kustomization.yaml:4']);
    expect(r.errors[0]?.message).not.toContain(REMOTE_ROOT);
    expect(r.errors[0]?.message).toContain(`${remote.url}/shop.git@`);
    expect(await readFile(path.join(FIXTURES, 'shop/base/kustomization.yaml'), 'utf8')).not.toContain('missing.yaml');
  });
});
