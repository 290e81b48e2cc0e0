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
import { checkKustomization, KUSTOMIZATION_FILE_NAMES, RENDER_ERROR_CODE, refuseOutsideReads } from './kustomization.ts';
import { renderKustomization, type RenderLimits } from './run.ts';
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
  // The smallest directory holding everything the kustomizations read: the dir itself, or as
  // many levels up as an overlay's `../../base` needs, never above the git work tree (outside
  // git: the dir). What still reads outside it then is refused (checkKustomization).
  const prefix = (await gitPrefix(root)) ?? '';
  const levels = prefix === '' ? 0 : prefix.split('/').length;
  let top = root;
  let files: readonly SourceFile[] = [];
  let refused: VetError[] = [];
  let kustomization = '';
  for (let up = 0; ; up++) {
    top = up === 0 ? root : path.dirname(top);
    kustomization = path.relative(top, found).split(path.sep).join('/');
    const read = await readLocalDir(top, { sourceFormat: 'unstructured', everything: true });
    if (read.errors.length > 0) return { kind: 'failed', top, errors: read.errors };
    files = read.snapshot.files;
    refused = checkKustomization(files, kustomization);
    // Only a relative path that climbs out can be served by climbing too; an absolute one never.
    const escapes = refuseOutsideReads(files, kustomization).some((e) => e.message.includes('leaves the repository'));
    if (!escapes || up >= levels) break;
  }
  if (refused.length > 0) return { kind: 'failed', top, errors: refused };
  const syncDir = path.dirname(kustomization) === '.' ? '.' : path.dirname(kustomization);
  const fail = (message: string, code: string): Rendering => ({ kind: 'failed', top, errors: [{ code, message, path: kustomization }] });
  const tools = findRenderTools(options.env ?? process.env);
  if (isToolProblem(tools)) return fail(`${kustomization} needs rendering, but ${tools.message}`, tools.code);
  const r = await renderKustomization({ files, dir: syncDir, tools, ...(options.limits ? { limits: options.limits } : {}) });
  if (r.kind === 'failed') return { kind: 'failed', top, errors: r.errors };
  return { kind: 'rendered', top, files: r.files, kustomization: r.kustomization };
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
