/**
 * Public surface of the sources: where a Snapshot (the policy files at one commit) comes from.
 *
 *   readLocalDir(dir, {sourceFormat})  → {snapshot, errors} for a directory on disk
 *   gitHeadCommit(dir)                 → the checked-out commit, if dir is in a git work tree
 *   validateSnapshotPath(p)            → an error value unless p is a safe relative path
 *   isPolicyFile(p, sourceFormat)      → whether the engine should see the file at p
 */
export type { Snapshot, SnapshotResult, ReadLocalOptions } from './types.ts';
export { PATH_ERROR_CODE, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_TOTAL_BYTES } from './types.ts';
export { readLocalDir, gitHeadCommit } from './local.ts';
export {
  validateSnapshotPath,
  isPolicyFile,
  isPolicyDir,
  isSkippedPath,
  compareCodePoints,
  API_RESOURCES_FILE,
} from '../repo/files.ts';
export { readGitHubDir, gitBlobSha, BlobCache, sharedBlobCache, MAX_DELTA_PATHS, type ReadGitHubOptions, type TreeDelta, type BlobCacheOptions, type BlobCacheStats } from './github.ts';
export { gitIsAncestor, gitHasCommit, gitPrefix, gitHasChanges, looksLikeCommit } from './git.ts';
