/**
 * The policy files of one sync directory at one commit on GitHub, as the sync and apply jobs
 * vet and apply them: the files themselves, or, when the directory holds a kustomization, what
 * kustomize and Helm render from it (lib/render), as Config Sync's hydration does.
 *
 *   readPolicy(octokit, {owner, repo, commit, dir, sourceFormat, …})
 *     → { files, errors, sourceFormat, prefix }
 *
 * `prefix` is what error and source paths need in front to name a file from the repository
 * root: the directory for plain files (read relative to it), '' for rendered ones (named from
 * the root already, since an overlay's base may live outside the directory).
 */
import type { Octokit } from '@octokit/rest';
import { findRenderTools, HIERARCHY_NEEDS_UNSTRUCTURED, isToolProblem, kustomizationOf, RENDER_ERROR_CODE, renderRepoDir, type RenderCache, type RenderTools, type ToolProblem } from '../render/index.ts';
import type { HelmRepoCredential } from '../registry/index.ts';
import type { SourceFile, SourceFormat, VetError } from '../repo/index.ts';
import { readGitHubDir, type BlobCache, type TreeDelta } from '../source/index.ts';

export interface PolicyRead {
  readonly owner: string;
  readonly repo: string;
  readonly commit: string;
  readonly dir: string;
  readonly sourceFormat: SourceFormat;
  readonly cache?: BlobCache;
  readonly delta?: TreeDelta;
  readonly signal?: AbortSignal;
  /** Renders kept by their inputs: an unchanged sync directory is not rendered again. */
  readonly renderCache?: RenderCache;
  /** Private chart repositories' credentials, read only when the directory renders (one secret read). */
  readonly helmRepos?: () => Promise<readonly HelmRepoCredential[]>;
}

export interface Policy {
  readonly files: readonly SourceFile[];
  readonly errors: readonly VetError[];
  /** Rendered output is vetted as an unstructured repo, whatever the registration says. */
  readonly sourceFormat: SourceFormat;
  /** The directory the paths are relative to ('' = the repository root). */
  readonly prefix: string;
  readonly rendered: boolean;
}

/**
 * The tools, looked for once per process: finding them runs each one's `version`, and a warm
 * function renders on every push. A miss is looked for again (the layer may be attached later).
 */
let found: RenderTools | undefined;
function renderTools(): RenderTools | ToolProblem {
  if (found) return found;
  const r = findRenderTools();
  if (!isToolProblem(r)) found = r;
  return r;
}

const normal = (dir: string): string => (dir === '.' ? '' : dir.replace(/^\/+|\/+$/g, ''));

export async function readPolicy(octokit: Octokit, r: PolicyRead): Promise<Policy> {
  const dir = normal(r.dir);
  const common = { owner: r.owner, repo: r.repo, commit: r.commit, ...(r.cache ? { cache: r.cache } : {}), ...(r.signal ? { signal: r.signal } : {}) };
  const { snapshot, errors } = await readGitHubDir(octokit, { ...common, dir, sourceFormat: r.sourceFormat, ...(r.delta ? { delta: r.delta } : {}) });
  const plain: Policy = { files: snapshot.files, errors, sourceFormat: r.sourceFormat, prefix: dir, rendered: false };
  const kustomization = errors.length > 0 ? undefined : kustomizationOf(snapshot.files);
  if (kustomization === undefined) return plain;

  const at = dir === '' ? kustomization : `${dir}/${kustomization}`;
  const failed = (e: VetError): Policy => ({ files: [], errors: [e], sourceFormat: 'unstructured', prefix: '', rendered: true });
  if (r.sourceFormat === 'hierarchy') {
    return failed({ code: RENDER_ERROR_CODE, path: at, message: `${HIERARCHY_NEEDS_UNSTRUCTURED}: ${at} is a kustomization; register the cluster with --source-format unstructured` });
  }
  const tools = renderTools();
  if (isToolProblem(tools)) return failed({ code: tools.code, path: at, message: `${at} needs rendering, but ${tools.message}` });
  const helmRepos = r.helmRepos ? await r.helmRepos() : [];
  const rendered = await renderRepoDir((top) => readGitHubDir(octokit, { ...common, dir: top, sourceFormat: 'unstructured', everything: true }), dir, {
    tools,
    ...(r.renderCache ? { cache: r.renderCache } : {}),
    ...(r.signal ? { signal: r.signal } : {}),
    ...(helmRepos.length > 0 ? { helmRepos } : {}),
  });
  if (rendered.kind === 'failed') return { files: [], errors: rendered.errors, sourceFormat: 'unstructured', prefix: '', rendered: true };
  return { files: rendered.files, errors: [], sourceFormat: 'unstructured', prefix: '', rendered: true };
}
