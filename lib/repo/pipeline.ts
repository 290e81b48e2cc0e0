import type { CompileOptions, CompileResult, SourceFile, SourceFormat } from './types.ts';

/** nomos' placeholder for "no particular cluster" (§3.4). */
export const DEFAULT_CLUSTER = 'defaultcluster';

export interface VetOptions {
  readonly sourceFormat: SourceFormat;
  /** Only report these clusters (nomos --clusters); undefined = all. */
  readonly clusters?: readonly string[];
  readonly policyDir?: string;
}

/** Compile the snapshot for one cluster: read → vet phases → hydrated objects. */
export function compile(_files: readonly SourceFile[], _options: CompileOptions): CompileResult {
  throw new Error('not implemented yet');
}

/** The cluster names a vet/hydrate pass runs for: defaultcluster + Cluster names + inline selector names. */
export function vetClusters(_files: readonly SourceFile[], _sourceFormat: SourceFormat): string[] {
  throw new Error('not implemented yet');
}

/** One CompileResult per cluster of vetClusters(), filtered by options.clusters, in name order. */
export function vet(_files: readonly SourceFile[], _options: VetOptions): CompileResult[] {
  throw new Error('not implemented yet');
}
