/**
 * Shared value types of the repo engine. Everything here is plain data: the
 * engine is a set of pure functions from a Snapshot to objects and errors.
 */

/** One file of the policy repo at one commit; `path` is relative to the policy dir, `/`-separated. */
export interface SourceFile {
  readonly path: string;
  readonly content: Uint8Array | string;
}

/** A Kubernetes object as declared (JSON-compatible). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** Where an object was declared. `line` is 1-based: the first line of its YAML document. */
export interface SourceLocation {
  readonly path: string;
  readonly line: number;
}

/** An object plus where it came from. Inherited/selected copies keep their original source. */
export interface DeclaredObject {
  obj: KubeObject;
  readonly source: SourceLocation;
}

export type SourceFormat = 'hierarchy' | 'unstructured';

/** Identity used in error blocks and duplicate checks. */
export interface ObjectRef {
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
  source?: string;
  line?: number;
}

/**
 * A validation or runtime error as a value. `code` is the KNV code ("KNV1029"); `path` is the
 * file (or dir, ending in `/`) the error is about; `objects` the offending objects, if any.
 */
export interface VetError {
  readonly code: string;
  readonly message: string;
  readonly path?: string;
  readonly line?: number;
  readonly column?: number;
  readonly objects?: readonly ObjectRef[];
  /** Further files or directories the error is about (e.g. both directories of a KNV1003). */
  readonly paths?: readonly string[];
}

export interface CompileOptions {
  readonly sourceFormat: SourceFormat;
  /** Target cluster name; '' evaluates selectors as Config Sync does with no name. */
  readonly clusterName: string;
  /** Prefix of source-path annotations (nomos: the policy dir as given). Default ''. */
  readonly policyDir?: string;
  /** Namespace repo (RepoSync scope, unstructured only): every object must live in this namespace. */
  readonly namespaceRepo?: string;
  /** KNV1070 when the hydrated object count for a cluster exceeds this. */
  readonly threshold?: number;
}

/** The result of compiling one snapshot for one cluster. */
export interface CompileResult {
  readonly cluster: string;
  readonly errors: readonly VetError[];
  /** Hydrated objects, empty when a blocking error stopped the pipeline. */
  readonly objects: readonly DeclaredObject[];
}
