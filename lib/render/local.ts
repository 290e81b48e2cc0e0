/**
 * Rendering a policy dir on disk (the CLI: `pushsync vet|hydrate|plan|apply`), as Config Sync
 * renders a sync directory: a kustomization at its root means `kustomize build` first, and the
 * output is what is vetted and applied, as an unstructured repo.
 *
 *   renderLocalDir(root, {sourceFormat}) → plain (no kustomization: read the dir as always)
 *                                        | rendered (the objects, as files named for their sources)
 *                                        | failed (vet errors: the format, a refused plugin or
 *                                          read, a missing tool, kustomize's or Helm's failure)
 *
 * Kustomize renders a private copy (run.ts), never the checkout: a remote chart pulled into
 * `helmGlobals.chartHome` must not land in the user's work tree. The copy is the whole git work
 * tree holding the dir (an overlay reads `../../base`), or the dir alone outside git.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { SourceFile, SourceFormat, VetError } from '../repo/types.ts';
import { gitPrefix, readLocalDir } from '../source/index.ts';
import { KUSTOMIZATION_FILE_NAMES, RENDER_ERROR_CODE } from './kustomization.ts';
import { renderRepoDir } from './repo.ts';
import type { RenderLimits } from './run.ts';
import type { HelmRepoCredential } from './charts.ts';
import { findRenderTools, isToolProblem } from './tools.ts';

export type Rendering =
  | { readonly kind: 'plain' }
  | {
      readonly kind: 'rendered';
      /** Paths relative to `top`. */
      readonly files: readonly SourceFile[];
      /** The root kustomization, relative to `top`. */
      readonly kustomization: string;
      /** The directory the paths are relative to: the git work tree's top, or the dir itself. */
      readonly top: string;
    }
  | { readonly kind: 'failed'; readonly errors: readonly VetError[]; readonly top: string };

export interface RenderLocalOptions {
  readonly sourceFormat: SourceFormat;
  readonly env?: NodeJS.ProcessEnv;
  readonly limits?: RenderLimits;
  /** Private chart repositories' credentials (the local secret store), read only when rendering. */
  readonly helmRepos?: () => Promise<readonly HelmRepoCredential[]>;
}

/** Config Sync's own words (nomos' ValidateHydrateFlags) for a hierarchical repo that needs rendering. */
export const HIERARCHY_NEEDS_UNSTRUCTURED = 'sourceFormat must be unstructured when Kustomization is needed';

export async function renderLocalDir(root: string, options: RenderLocalOptions): Promise<Rendering> {
  const found = await firstExisting(KUSTOMIZATION_FILE_NAMES.map((n) => path.join(root, n)));
  if (found === undefined) return { kind: 'plain' };
  if (options.sourceFormat === 'hierarchy') {
    const name = path.basename(found);
    return { kind: 'failed', top: root, errors: [{ code: RENDER_ERROR_CODE, path: name, message: `${HIERARCHY_NEEDS_UNSTRUCTURED}: ${name} is a kustomization; run with --source-format unstructured` }] };
  }
  // The repository is the git work tree holding the dir (outside git: the dir itself).
  const prefix = (await gitPrefix(root)) ?? '';
  const top = prefix === '' ? root : path.resolve(root, ...prefix.split('/').map(() => '..'));
  const tools = findRenderTools(options.env ?? process.env);
  if (isToolProblem(tools)) return { kind: 'failed', top, errors: [{ code: tools.code, message: `${path.basename(found)} needs rendering, but ${tools.message}`, path: path.relative(top, found).split(path.sep).join('/') }] };
  const read = (dir: string) => readLocalDir(dir === '' ? top : path.join(top, ...dir.split('/')), { sourceFormat: 'unstructured', everything: true });
  const helmRepos = options.helmRepos ? await options.helmRepos() : [];
  const r = await renderRepoDir(read, prefix, { tools, ...(options.limits ? { limits: options.limits } : {}), ...(helmRepos.length > 0 ? { helmRepos } : {}) });
  return r.kind === 'failed' ? { kind: 'failed', top, errors: r.errors } : { kind: 'rendered', top, files: r.files, kustomization: r.kustomization };
}

async function firstExisting(candidates: readonly string[]): Promise<string | undefined> {
  for (const c of candidates) {
    try {
      await access(c);
      return c;
    } catch {
      // not this name
    }
  }
  return undefined;
}
