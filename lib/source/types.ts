import type { SourceFile, SourceFormat, VetError } from '../repo/types.ts';

/** The files of a policy dir at one point in time, as the repo engine should see them. */
export interface Snapshot {
  /** Relative, `/`-separated, canonical paths (see validateSnapshotPath), sorted by path. */
  readonly files: readonly SourceFile[];
  /** The commit the files come from, when known (git checkout, GitHub tree). */
  readonly commit?: string;
}

/** What a source produces: the files it could read, and an error value per file it could not. */
export interface SnapshotResult {
  readonly snapshot: Snapshot;
  readonly errors: readonly VetError[];
}

export interface ReadLocalOptions {
  readonly sourceFormat: SourceFormat;
  /** Per-file limit in bytes; a larger file is a KNV2001 error and is not read. */
  readonly maxFileBytes?: number;
  /** Limit on the sum of all file sizes; files past it are KNV2001 errors and are not read. */
  readonly maxTotalBytes?: number;
  /**
   * Every file, not only the policy files of `sourceFormat` (rendering needs a chart's
   * templates, its Chart.yaml, kustomize's patches): hidden paths (`.git`, …) are still skipped.
   */
  readonly everything?: boolean;
}

export { PATH_ERROR_CODE } from '../repo/files.ts';

export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_TOTAL_BYTES = 256 * 1024 * 1024;
