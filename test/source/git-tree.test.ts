/**
 * lib/source/git-tree.ts against git itself: for real commits, the tree rebuilt from the
 * parent's `ls-tree -r -t` and the changed paths must have exactly the object name git gave
 * the child's tree, and list exactly its entries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyChanges, treeSha, type PathChange, type RepoTreeEntry } from '../../lib/source/git-tree.ts';
import { GitRepo, type FileChange } from '../helpers/github-server/git-repo.ts';

let git: GitRepo;

beforeAll(async () => {
  git = await GitRepo.create();
});

afterAll(async () => {
  await git?.remove();
});

async function lsTree(commit: string): Promise<RepoTreeEntry[]> {
  const out = await git.git(['ls-tree', '-r', '-t', '-l', '-z', commit]);
  return out
    .split('\0')
    .filter((r) => r !== '')
    .map((rec) => {
      const tab = rec.indexOf('\t');
      const [mode = '', type = '', sha = '', size = '-'] = rec.slice(0, tab).split(/ +/);
      // GitHub lists a directory's mode as 040000; git ls-tree prints it the same way.
      return { path: rec.slice(tab + 1), mode, type: type as RepoTreeEntry['type'], sha, ...(size === '-' ? {} : { size: Number(size) }) };
    });
}

const treeOf = async (commit: string): Promise<string> => (await git.git(['rev-parse', `${commit}^{tree}`])).trim();

/** The changes between two commits as a contents API would give them: path, new blob, or gone. */
async function changesBetween(a: string, b: string): Promise<PathChange[]> {
  const after = new Map((await lsTree(b)).map((e) => [e.path, e]));
  const out = await git.git(['diff-tree', '-r', '--no-renames', '--name-only', '-z', a, b]);
  return out
    .split('\0')
    .filter((p) => p !== '')
    .map((p): PathChange => {
      const e = after.get(p);
      return e === undefined ? { path: p, kind: 'removed' } : { path: p, kind: 'file', sha: e.sha, size: e.size ?? 0 };
    });
}

const byPath = (entries: readonly RepoTreeEntry[]) => [...entries].map(({ size: _s, ...e }) => e).sort((x, y) => (x.path < y.path ? -1 : 1));

async function expectRebuilt(a: string, b: string): Promise<void> {
  const rebuilt = applyChanges(await lsTree(a), await changesBetween(a, b));
  expect(rebuilt?.sha).toBe(await treeOf(b));
  expect(byPath(rebuilt?.entries ?? [])).toEqual(byPath(await lsTree(b)));
}

async function step(files: Record<string, FileChange>): Promise<[string, string]> {
  const before = (await git.head()) as string;
  return [before, await git.commit(files)];
}

describe('git-tree: rebuilt trees hash like git', () => {
  it('hashes a real tree the way git does (name order with directories as name/, modes, nesting)', async () => {
    const c = await git.commit(
      {
        'foo.yaml': 'a\n',
        'foo/x.yaml': 'b\n',
        'foo-bar': 'c\n',
        'foo0': 'd\n',
        'Z.yaml': 'upper case sorts first\n',
        'ünïcode/ñ.yaml': 'e\n',
        'run.sh': { executable: '#!/bin/sh\n' },
        'link.yaml': { symlink: 'foo.yaml' },
      },
      { replace: true },
    );
    const entries = await lsTree(c);
    const top = entries.filter((e) => !e.path.includes('/'));
    expect(treeSha(top)).toBe(await treeOf(c));
  });

  it('modify, add in a new nested directory, delete, and empty a directory', async () => {
    await git.commit({ 'system/repo.yaml': 'r\n', 'namespaces/a/ns.yaml': 'a\n', 'namespaces/b/ns.yaml': 'b\n', 'namespaces/b/cm.yaml': 'cm\n', 'README.md': 'x\n' }, { replace: true });
    await expectRebuilt(...(await step({ 'namespaces/a/ns.yaml': 'a2\n' })));
    await expectRebuilt(...(await step({ 'namespaces/c/d/e/deep.yaml': 'deep\n', 'namespaces/a/new.yaml': 'n\n' })));
    await expectRebuilt(...(await step({ 'namespaces/b/cm.yaml': null })));
    // The last file of a directory: the directory (and its now-empty parent) disappear.
    await expectRebuilt(...(await step({ 'namespaces/c/d/e/deep.yaml': null })));
    await expectRebuilt(...(await step({ 'namespaces/b/ns.yaml': null, 'namespaces/b/cm2.yaml': null, 'README.md': 'y\n' })));
  });

  it('keeps an executable file executable when its content changes', async () => {
    await git.commit({ 'bin/run.sh': { executable: 'v1\n' }, 'a.yaml': 'a\n' }, { replace: true });
    await expectRebuilt(...(await step({ 'bin/run.sh': { executable: 'v2\n' } })));
  });

  it('a new executable file is guessed 100644, so its tree does not hash to git\'s (the caller then lists the commit)', async () => {
    await git.commit({ 'a.yaml': 'a\n' }, { replace: true });
    const [a, b] = await step({ 'new.sh': { executable: 'x\n' } });
    const rebuilt = applyChanges(await lsTree(a), await changesBetween(a, b));
    expect(rebuilt?.sha).toBeDefined();
    expect(rebuilt?.sha).not.toBe(await treeOf(b));
  });

  it('an incomplete list of changed paths gives another SHA, never a wrong tree with the right name', async () => {
    await git.commit({ 'a.yaml': 'a\n', 'b.yaml': 'b\n' }, { replace: true });
    const [a, b] = await step({ 'a.yaml': 'a2\n', 'b.yaml': 'b2\n' });
    const changes = await changesBetween(a, b);
    expect(changes).toHaveLength(2);
    const partial = applyChanges(await lsTree(a), changes.slice(0, 1));
    expect(partial?.sha).not.toBe(await treeOf(b));
  });

  it('refuses changes it cannot place: a directory replaced by a file, a file under a file', async () => {
    await git.commit({ 'dir/a.yaml': 'a\n', 'file.yaml': 'f\n' }, { replace: true });
    const base = await lsTree((await git.head()) as string);
    expect(applyChanges(base, [{ path: 'dir', kind: 'file', sha: '0'.repeat(40), size: 1 }])).toBeUndefined();
    expect(applyChanges(base, [{ path: 'file.yaml/x.yaml', kind: 'file', sha: '0'.repeat(40), size: 1 }])).toBeUndefined();
  });
});
