/**
 * The read-only repository questions the functions ask GitHub: the default branch, a branch's
 * head, and how two commits relate (the ancestry oracle behind "never go backwards").
 */
import type { Octokit } from '@octokit/rest';
import { isGitHubError } from './errors.ts';

export interface RepoRef {
  readonly owner: string;
  readonly repo: string;
}

export async function getDefaultBranch(octokit: Octokit, ref: RepoRef): Promise<string> {
  const res = await octokit.rest.repos.get({ owner: ref.owner, repo: ref.repo });
  return res.data.default_branch;
}

/** The commit a branch points at, or undefined when the branch does not exist. */
export async function getBranchHead(octokit: Octokit, ref: RepoRef & { readonly branch: string }): Promise<string | undefined> {
  try {
    const res = await octokit.rest.git.getRef({ owner: ref.owner, repo: ref.repo, ref: `heads/${ref.branch}` });
    return res.data.object.type === 'commit' ? res.data.object.sha : undefined;
  } catch (err) {
    if (isGitHubError(err) && err.code === 'GITHUB_NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * How `head` relates to `base`, GitHub's words: `ahead` = head descends from base (base is an
 * ancestor of head), `behind` = the reverse, `identical`, or `diverged`.
 */
export type CommitRelation = 'ahead' | 'behind' | 'identical' | 'diverged';

export interface Comparison {
  readonly status: CommitRelation;
  readonly aheadBy: number;
  readonly behindBy: number;
}

export async function compareCommits(octokit: Octokit, ref: RepoRef & { readonly base: string; readonly head: string }): Promise<Comparison> {
  const res = await octokit.rest.repos.compareCommitsWithBasehead({
    owner: ref.owner,
    repo: ref.repo,
    basehead: `${ref.base}...${ref.head}`,
    // Only the relation is wanted: keep the listed commits (up to 250 by default) out of the answer.
    per_page: 1,
  });
  return { status: res.data.status, aheadBy: res.data.ahead_by, behindBy: res.data.behind_by };
}

/** True when `ancestor` is `descendant` or one of its ancestors. */
export async function isAncestor(octokit: Octokit, ref: RepoRef & { readonly ancestor: string; readonly descendant: string }): Promise<boolean> {
  if (ref.ancestor.toLowerCase() === ref.descendant.toLowerCase()) return true;
  const c = await compareCommits(octokit, { owner: ref.owner, repo: ref.repo, base: ref.ancestor, head: ref.descendant });
  return c.status === 'ahead' || c.status === 'identical';
}
