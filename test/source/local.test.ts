import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitHeadCommit, isPolicyFile, readLocalDir, validateSnapshotPath } from '../../lib/source/index.ts';

let scratch: string;

beforeEach(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'pushsync-source-'));
});

afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Create files under `root` from a map of relative path → content. */
function tree(root: string, files: Record<string, string>): string {
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return root;
}

const paths = (r: Awaited<ReturnType<typeof readLocalDir>>) => r.snapshot.files.map((f) => f.path);

describe('readLocalDir', () => {
  it('reads only .yaml/.yml/.json (case-sensitive) plus api-resources.txt at the root, sorted', async () => {
    const dir = tree(path.join(scratch, 'repo'), {
      'b.yaml': 'kind: B',
      'a.yml': 'kind: A',
      'c.json': '{}',
      'README.md': '# no',
      'Kptfile': 'no',
      'upper.YAML': 'no',
      'api-resources.txt': 'NAME',
      'sub/api-resources.txt': 'not at the root',
      'sub/d.yaml': 'kind: D',
    });
    const r = await readLocalDir(dir, { sourceFormat: 'unstructured' });
    expect(r.errors).toEqual([]);
    expect(paths(r)).toEqual(['a.yml', 'api-resources.txt', 'b.yaml', 'c.json', 'sub/d.yaml']);
    const b = r.snapshot.files.find((f) => f.path === 'b.yaml');
    expect(b?.content).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(b?.content as Uint8Array).toString('utf8')).toBe('kind: B');
  });

  it('everything: every file whatever its name or the format (a chart\'s templates, a Chart.yaml, a patch), still without .git', async () => {
    const dir = tree(path.join(scratch, 'repo'), {
      'kustomization.yaml': 'resources: [base]',
      'charts/web/Chart.yaml': 'name: web',
      'charts/web/templates/_helpers.tpl': '{{/* x */}}',
      'README.md': '# kept',
      '.git/config': 'x',
    });
    const r = await readLocalDir(dir, { sourceFormat: 'hierarchy', everything: true });
    expect(r.errors).toEqual([]);
    expect(paths(r)).toEqual(['README.md', 'charts/web/Chart.yaml', 'charts/web/templates/_helpers.tpl', 'kustomization.yaml']);
  });

  it('skips .git, .github, .gitlab and .gitlab-ci.yml at any depth', async () => {
    const dir = tree(path.join(scratch, 'repo'), {
      '.git/config.yaml': 'x',
      '.github/workflows/ci.yaml': 'x',
      'apps/.gitlab/x.yaml': 'x',
      '.gitlab-ci.yml': 'x',
      'apps/.gitlab-ci.yml/x.yaml': 'x',
      'apps/.hidden.yaml': 'kept: hidden files are read, as by Config Sync',
      'apps/ok.yaml': 'x',
    });
    const r = await readLocalDir(dir, { sourceFormat: 'unstructured' });
    expect(paths(r)).toEqual(['apps/.hidden.yaml', 'apps/ok.yaml']);
  });

  it('in hierarchy format reads only under system/ cluster/ clusterregistry/ namespaces/', async () => {
    const dir = tree(path.join(scratch, 'repo'), {
      'system/repo.yaml': 'x',
      'cluster/cr.yaml': 'x',
      'clusterregistry/c.yaml': 'x',
      'namespaces/a/b/ns.yaml': 'x',
      'other/x.yaml': 'x',
      'top.yaml': 'x',
      'docs/namespaces/x.yaml': 'x',
      'api-resources.txt': 'x',
    });
    const r = await readLocalDir(dir, { sourceFormat: 'hierarchy' });
    expect(paths(r)).toEqual(['api-resources.txt', 'cluster/cr.yaml', 'clusterregistry/c.yaml', 'namespaces/a/b/ns.yaml', 'system/repo.yaml']);
    const u = await readLocalDir(dir, { sourceFormat: 'unstructured' });
    expect(paths(u)).toContain('other/x.yaml');
    expect(paths(u)).toContain('top.yaml');
  });

  it('reports a file over the limit as KNV2001 naming the file and its size, without reading it', async () => {
    const dir = tree(path.join(scratch, 'repo'), { 'namespaces/ok.yaml': 'x' });
    const big = path.join(dir, 'namespaces', 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, 20 * 1024 * 1024); // sparse: no 20 MB written to disk
    const started = Date.now();
    const r = await readLocalDir(dir, { sourceFormat: 'hierarchy' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(paths(r)).toEqual(['namespaces/ok.yaml']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'KNV2001', path: 'namespaces/big.yaml' });
    expect(r.errors[0]?.message).toContain('20971520 bytes');
    expect(r.errors[0]?.message).toContain('10485760 bytes (10 MiB)');
  });

  it('stops reading once the total size limit would be passed', async () => {
    const dir = tree(path.join(scratch, 'repo'), { 'a.yaml': 'x'.repeat(600), 'b.yaml': 'y'.repeat(600) });
    const r = await readLocalDir(dir, { sourceFormat: 'unstructured', maxTotalBytes: 1000 });
    expect(paths(r)).toEqual(['a.yaml']);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'KNV2001', path: 'b.yaml' })]);
  });

  it('follows symlinks inside the dir but reports one escaping it as an error value', async () => {
    const outside = tree(path.join(scratch, 'outside'), { 'secret.yaml': 'password: x', 'dir/x.yaml': 'x' });
    const dir = tree(path.join(scratch, 'repo'), { 'apps/real.yaml': 'kind: Real' });
    symlinkSync(path.join(dir, 'apps', 'real.yaml'), path.join(dir, 'apps', 'alias.yaml'));
    symlinkSync(path.join(outside, 'secret.yaml'), path.join(dir, 'apps', 'escape.yaml'));
    symlinkSync(path.join(outside, 'dir'), path.join(dir, 'linked-dir'));
    symlinkSync(path.join(dir, 'nowhere.yaml'), path.join(dir, 'apps', 'dangling.yaml'));
    symlinkSync(path.join(outside, 'secret.yaml'), path.join(dir, 'apps', 'notes.txt'));
    symlinkSync(dir, path.join(dir, 'apps', 'loop'));

    const r = await readLocalDir(dir, { sourceFormat: 'unstructured' });
    expect(paths(r)).toEqual(['apps/alias.yaml', 'apps/real.yaml']);
    expect(Buffer.from(r.snapshot.files[0]?.content as Uint8Array).toString()).toBe('kind: Real');
    expect(r.errors.map((e) => [e.code, e.path])).toEqual([
      ['KNV2001', 'apps/dangling.yaml'],
      ['KNV2001', 'apps/escape.yaml'],
      ['KNV2001', 'linked-dir'],
    ]);
    expect(r.errors[1]?.message).toContain('outside the policy dir');
    expect(JSON.stringify(r.snapshot)).not.toContain('password');
  });

  it('reports a special file and an unsafe file name instead of reading them', async () => {
    const dir = tree(path.join(scratch, 'repo'), { 'ok.yaml': 'x', 'a\\b.yaml': 'x' });
    execFileSync('mkfifo', [path.join(dir, 'pipe.yaml')]);
    const r = await readLocalDir(dir, { sourceFormat: 'unstructured' });
    expect(paths(r)).toEqual(['ok.yaml']);
    expect(r.errors.map((e) => e.path)).toEqual(['a\\b.yaml', 'pipe.yaml']);
    expect(r.errors[0]?.message).toContain('backslash');
    expect(r.errors[1]?.message).toContain('not a regular file');
  });

  it('returns an error value for a missing or non-directory policy dir', async () => {
    const missing = await readLocalDir(path.join(scratch, 'nope'), { sourceFormat: 'hierarchy' });
    expect(missing.snapshot.files).toEqual([]);
    expect(missing.errors).toEqual([expect.objectContaining({ code: 'KNV2001' })]);
    expect(missing.errors[0]?.message).toContain('no such file or directory');
    const file = tree(scratch, { 'f.yaml': 'x' });
    const notDir = await readLocalDir(path.join(file, 'f.yaml'), { sourceFormat: 'hierarchy' });
    expect(notDir.errors[0]?.message).toContain('not a directory');
  });
});

describe('validateSnapshotPath', () => {
  it('accepts canonical relative paths', () => {
    for (const p of ['a.yaml', 'namespaces/a/b.yaml', '.hidden/x.yaml', 'a..b.yaml']) expect(validateSnapshotPath(p), p).toBeUndefined();
  });

  it('rejects absolute paths, .. and other non-canonical components, NUL bytes and backslashes', () => {
    const cases: Record<string, string> = {
      '/etc/passwd': 'absolute',
      '../../etc/passwd': '".."',
      'a/../b.yaml': '".."',
      'a/./b.yaml': 'not canonical',
      'a//b.yaml': 'not canonical',
      'a/': 'not canonical',
      'a\0.yaml': 'NUL',
      'a\\..\\b.yaml': 'backslash',
      '': 'empty',
    };
    for (const [p, why] of Object.entries(cases)) {
      const err = validateSnapshotPath(p);
      expect(err?.code, JSON.stringify(p)).toBe('KNV2001');
      expect(err?.message, JSON.stringify(p)).toContain(why);
    }
  });
});

describe('isPolicyFile', () => {
  it('applies the same rules to paths from any backend', () => {
    expect(isPolicyFile('namespaces/a.yaml', 'hierarchy')).toBe(true);
    expect(isPolicyFile('a.yaml', 'hierarchy')).toBe(false);
    expect(isPolicyFile('a.yaml', 'unstructured')).toBe(true);
    expect(isPolicyFile('.github/a.yaml', 'unstructured')).toBe(false);
    expect(isPolicyFile('api-resources.txt', 'hierarchy')).toBe(true);
    expect(isPolicyFile('x/api-resources.txt', 'unstructured')).toBe(false);
  });
});

describe('gitHeadCommit', () => {
  it('returns the checked-out commit inside a git work tree, undefined elsewhere', async () => {
    const dir = tree(path.join(scratch, 'repo'), { 'policy/a.yaml': 'x' });
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], {
        encoding: 'utf8',
      }).trim();
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'first');
    const head = git('rev-parse', 'HEAD');
    expect(head).toMatch(/^[0-9a-f]{40}$/);
    expect(await gitHeadCommit(path.join(dir, 'policy'))).toBe(head);
    const plain = tree(path.join(scratch, 'plain'), { 'a.yaml': 'x' });
    expect(await gitHeadCommit(plain)).toBeUndefined();
    expect(await gitHeadCommit(path.join(scratch, 'missing'))).toBeUndefined();
  });
});
