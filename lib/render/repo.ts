/**
 * Rendering one sync directory of a repository, whatever the repository is read from (a
 * checkout on disk, GitHub at a commit): the same steps for the CLI and the functions.
 *
 *   renderRepoDir(read, syncDir, {tools, cache?}) → rendered (objects as files, paths from the
 *                                            repository root) | failed (vet errors, paths from the root)
 *
 * Kustomize needs every file the kustomizations read, and an overlay reads `../../base`: the
 * sync directory is read first, then, while something climbs out of what was read, its parent,
 * up to the repository root. Remote bases are then fetched into the snapshot (remote.ts, within
 * the allow-list), and what still reads outside the repository is refused (checkKustomization),
 * as is every exec or alpha plugin, in the repository or in a fetched base, before anything runs.
 */
import type { SourceFile, VetError } from '../repo/types.ts';
import { sortErrors } from '../repo/errors.ts';
import type { SnapshotResult } from '../source/index.ts';
import { checkKustomization, KUSTOMIZATION_FILE_NAMES, refuseOutsideReads, rootKustomization } from './kustomization.ts';
import { placeRemoteErrors, resolveRemoteBases } from './remote.ts';
import { remoteBasesFrom } from './remote-ref.ts';
import type { RemoteFetchLimits } from './git-fetch.ts';
import { renderKustomization, type RenderLimits } from './run.ts';
import type { RenderTools } from './tools.ts';
import { RenderCache } from './cache.ts';
import type { HelmRepoCredential } from './charts.ts';

/** Reads every file under `dir` (relative to the repository root, '' for the root); paths in the result relative to `dir`. */
export type DirReader = (dir: string) => Promise<SnapshotResult>;

export type RenderedRepo =
  | { readonly kind: 'rendered'; readonly files: readonly SourceFile[]; readonly kustomization: string }
  | { readonly kind: 'failed'; readonly errors: readonly VetError[] };

export interface RenderRepoOptions {
  readonly tools: RenderTools;
  /** Renders kept by their inputs (cache.ts); without it every call renders. */
  readonly cache?: RenderCache;
  readonly limits?: RenderLimits;
  readonly signal?: AbortSignal;
  /** Credentials for private chart repositories (the secret store's helm-repo entries; charts.ts). */
  readonly helmRepos?: readonly HelmRepoCredential[];
  /** URL prefixes of the repositories remote bases may come from (remote-ref.ts); absent: remoteBasesFrom(process.env). */
  readonly remoteBases?: readonly string[];
  /** Limits of each remote base's fetch (git-fetch.ts; 30 s, 32 MiB by default). */
  readonly remoteLimits?: RemoteFetchLimits;
}

/** The sync directory holds a kustomization (Config Sync's trigger for rendering): its file name. */
export function kustomizationOf(files: readonly SourceFile[]): string | undefined {
  return rootKustomization(files, '.') ?? KUSTOMIZATION_FILE_NAMES.find((n) => files.some((f) => f.path === n));
}

export async function renderRepoDir(read: DirReader, syncDir: string, options: RenderRepoOptions): Promise<RenderedRepo> {
  const parts = syncDir === '' || syncDir === '.' ? [] : syncDir.split('/');
  const under = (top: string, p: string): string => (top === '' ? p : `${top}/${p}`);
  const fromRoot = (top: string, errors: readonly VetError[]): VetError[] => errors.map((e) => (e.path === undefined ? e : { ...e, path: under(top, e.path) }));
  let top = '';
  let files: readonly SourceFile[] = [];
  let kustomization: string | undefined;
  let sync = '.';
  for (let up = 0; ; up++) {
    const topParts = parts.slice(0, parts.length - up);
    top = topParts.join('/');
    sync = parts.slice(parts.length - up).join('/') || '.';
    const r = await read(top);
    if (r.errors.length > 0) return { kind: 'failed', errors: fromRoot(top, r.errors) };
    files = r.snapshot.files;
    kustomization = rootKustomization(files, sync);
    if (kustomization === undefined) return { kind: 'failed', errors: [{ code: 'KNV1068', message: `no kustomization in ${syncDir || 'the repository root'}`, path: syncDir }] };
    // Only a relative path that climbs out can be served by climbing too; an absolute one never.
    const escapes = refuseOutsideReads(files, kustomization).some((e) => e.message.includes('leaves the repository'));
    if (!escapes || up >= parts.length) break;
  }
  const root = kustomization;
  const remote = await resolveRemoteBases(files, root, {
    allow: options.remoteBases ?? remoteBasesFrom(process.env),
    ...(options.remoteLimits ? { limits: options.remoteLimits } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  files = remote.files;
  // An entry that could not be fetched is still remote: checkKustomization would say so again.
  const said = new Set(remote.errors.map((e) => `${e.path}\u0000${e.line}`));
  const checked = checkKustomization(files, root).filter((e) => !(said.has(`${e.path}\u0000${e.line}`) && e.message.includes('is a remote base that was not fetched')));
  const refused = placeRemoteErrors(sortErrors([...remote.errors, ...checked]), remote.fetched);
  if (refused.length > 0) return { kind: 'failed', errors: fromRoot(top, sortErrors(refused)) };
  const render = async (): Promise<RenderedRepo> => {
    const r = await renderKustomization({
      files,
      dir: sync,
      tools: options.tools,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.helmRepos ? { helmRepos: options.helmRepos } : {}),
    });
    if (r.kind === 'failed') return { kind: 'failed', errors: fromRoot(top, placeRemoteErrors(r.errors, remote.fetched)) };
    return { kind: 'rendered', files: r.files.map((f) => ({ ...f, path: under(top, f.path) })), kustomization: under(top, r.kustomization) };
  };
  // The key covers the fetched bases' files and commits too: a remote branch that moved renders anew.
  return options.cache ? options.cache.get(RenderCache.key(files, top, sync, options.tools), render) : render();
}
