/**
 * The few questions the local CLI asks the git work tree holding a policy dir. Each answers
 * undefined when git cannot tell (not a repo, git missing, unknown commit) instead of throwing:
 * the caller decides what "cannot tell" means for it.
 */
import { execFile } from 'node:child_process';

/** Object names git is asked about: hex only, so nothing can be read as a flag or a revision expression. */
const COMMIT_NAME = /^[0-9a-f]{4,64}$/i;

export function looksLikeCommit(s: string): boolean {
  return COMMIT_NAME.test(s);
}

interface GitRun {
  /** null when git could not be run at all. */
  readonly code: number | null;
  readonly stdout: string;
}

function git(dir: string, args: readonly string[]): Promise<GitRun> {
  return new Promise((resolve) => {
    execFile('git', ['-C', dir, ...args], { timeout: 10_000, windowsHide: true }, (err, stdout) => {
      if (err === null) {
        resolve({ code: 0, stdout: String(stdout) });
        return;
      }
      const code = (err as { code?: unknown }).code;
      resolve({ code: typeof code === 'number' ? code : null, stdout: String(stdout) });
    });
  });
}

/**
 * Is `ancestor` an ancestor of (or the same commit as) `descendant` in the repo holding `dir`?
 * undefined when either is not a commit name or git does not know one of them.
 */
export async function gitIsAncestor(dir: string, ancestor: string, descendant: string): Promise<boolean | undefined> {
  if (!looksLikeCommit(ancestor) || !looksLikeCommit(descendant)) return undefined;
  // Exit 1 is git's "no"; 128 is "not a valid commit" or "not a git repository".
  const r = await git(dir, ['merge-base', '--is-ancestor', ancestor, descendant]);
  return r.code === 0 ? true : r.code === 1 ? false : undefined;
}

/** Does the repo holding `dir` have this commit? undefined when git cannot tell (not a repo). */
export async function gitHasCommit(dir: string, commit: string): Promise<boolean | undefined> {
  if (!looksLikeCommit(commit)) return false;
  const r = await git(dir, ['cat-file', '-e', `${commit}^{commit}`]);
  return r.code === 0 ? true : r.code === 1 || r.code === 128 ? false : undefined;
}

/**
 * Where `dir` sits inside its git work tree, as a relative path without a trailing slash
 * ('' at the top); undefined when `dir` is not in a work tree.
 */
export async function gitPrefix(dir: string): Promise<string | undefined> {
  const r = await git(dir, ['rev-parse', '--show-prefix']);
  return r.code === 0 ? r.stdout.trim().replace(/\/+$/, '') : undefined;
}

/** Does `dir` hold changes (or untracked files) not in HEAD? undefined when git cannot tell. */
export async function gitHasChanges(dir: string): Promise<boolean | undefined> {
  const r = await git(dir, ['status', '--porcelain', '--untracked-files=normal', '--', '.']);
  return r.code === 0 ? r.stdout.trim() !== '' : undefined;
}
