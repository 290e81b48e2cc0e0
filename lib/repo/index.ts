/**
 * Public surface of the repo engine (pure: no I/O). See README "Architecture".
 *
 *   compile(files, {sourceFormat, clusterName})  → one cluster's errors + hydrated objects
 *   vetClusters(files, sourceFormat)             → the cluster names nomos would vet (§3.4)
 *   vet(files, options)                          → compile() for each of those clusters
 */
export type {
  SourceFile,
  KubeObject,
  ObjectMeta,
  SourceLocation,
  DeclaredObject,
  SourceFormat,
  ObjectRef,
  VetError,
  CompileOptions,
  CompileResult,
} from './types.ts';
export { compile, vet, vetEach, vetClusters, DEFAULT_CLUSTER } from './pipeline.ts';
export type { VetOptions } from './pipeline.ts';
export { checkDeletionSafety, checkCrdRemoval, keyOf } from './safety.ts';
export type { ObjectKey } from './safety.ts';
export { parseFiles, MAX_FILE_BYTES } from './parse.ts';
export { selectFiles } from './pipeline.ts';
export * as keys from './keys.ts';
export { validateSnapshotPath, isPolicyFile, isPolicyDir, isSkippedPath, compareCodePoints, API_RESOURCES_FILE, PATH_ERROR_CODE } from './files.ts';
export { formatVetErrors, formatHydrateErrors, formatErrorList, vetReport, hasBlockingErrors, VET_SUCCESS_MESSAGE } from './format.ts';
export type { FormatOptions, VetReport } from './format.ts';
export { hydrateFiles, hydrateFlat, cleanObject } from './hydrate-output.ts';
export type { HydrateFormat, HydrateOptions, HydratedFile } from './hydrate-output.ts';
export { parseDependsOn, formatDependencyRef } from './depends-on.ts';
export type { DependencyRef, DependsOnParse } from './depends-on.ts';
