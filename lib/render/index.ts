/**
 * Public surface of rendering (issue #12): kustomize and helm run for kustomization repos.
 * Each helper appends its own lines below.
 */
export { findRenderTools, isToolProblem } from './tools.ts';
export type { RenderTool, RenderTools, ToolProblem, FindRenderToolsOptions } from './tools.ts';
export { KUSTOMIZATION_FILE_NAMES, RENDER_ERROR_CODE, checkKustomization, isRemote, normalizeSyncDir, pluginKind, refuseOutsideReads, refusePlugins, rootKustomization } from './kustomization.ts';
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
