/**
 * Public surface of rendering (issue #12): kustomize and helm run for kustomization repos.
 * Each helper appends its own lines below.
 */
export { findRenderTools, isToolProblem } from './tools.ts';
export type { RenderTool, RenderTools, ToolProblem, FindRenderToolsOptions } from './tools.ts';
export { KUSTOMIZATION_FILE_NAMES, RENDER_ERROR_CODE, checkKustomization, isRemote, remoteEntries, normalizeSyncDir, pluginKind, refuseOutsideReads, refusePlugins, rootKustomization } from './kustomization.ts';
export { DEFAULT_RENDER_LIMITS, MAX_MESSAGE_CHARS, renderEnv, renderKustomization, toolFailure, toolMessage } from './run.ts';
export type { RenderLimits, RenderKustomizationOptions, RenderResult, RenderToolPaths } from './run.ts';
export { ORIGIN_ANNOTATION, placeRendered, withOriginAnnotations } from './origin.ts';
export type { PlaceOptions } from './origin.ts';
export { HIERARCHY_NEEDS_UNSTRUCTURED, renderLocalDir } from './local.ts';
export type { RenderLocalOptions, Rendering } from './local.ts';
export { kustomizationOf, renderRepoDir } from './repo.ts';
export type { DirReader, RenderRepoOptions, RenderedRepo } from './repo.ts';
export { RENDER_CACHE_ENTRIES, RenderCache } from './cache.ts';
export type { RenderCacheStats } from './cache.ts';
export type { RemoteEntry } from './kustomization.ts';
export { placeRemoteErrors, resolveRemoteBases, DEFAULT_REMOTE_DEPTH, DEFAULT_REMOTE_FETCHES, DEFAULT_REMOTE_TOTAL_MS } from './remote.ts';
export type { ResolveRemoteOptions, ResolvedRemotes } from './remote.ts';
export { ACCEPTED_FORMS, DEFAULT_REMOTE_BASES, REMOTE_BASES_ENV, REMOTE_INDEX, REMOTE_ROOT, allowedBy, describeBase, fetchedBasesIn, parseRemoteBase, remoteBasesFrom } from './remote-ref.ts';
export type { FetchedBase, ParsedRemote, RemoteBase } from './remote-ref.ts';
export { DEFAULT_REMOTE_FETCH_LIMITS, fetchRemoteBase } from './git-fetch.ts';
export type { FetchedRepo, RemoteFetchLimits } from './git-fetch.ts';
