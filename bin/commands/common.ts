/** What every CLI command shares: its shape, exit codes, usage errors, reading the policy dir. */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_CLUSTER, vet, vetEach } from '../../lib/repo/index.ts';
import type { CompileResult, SourceFormat } from '../../lib/repo/index.ts';
import { readLocalDir } from '../../lib/source/index.ts';

export const EXIT_OK = 0;
/** The repo has validation errors (or output could not be written). */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export interface Command {
  readonly name: string;
  /** One line for the top-level command list. */
  readonly summary: string;
  /** Full help: usage, description, every flag with its default, examples. */
  readonly help: string;
  run(args: readonly string[], io: Io): Promise<number>;
}

/** A mistake in how the CLI was called: reported with a hint, exit 2, never a stack trace. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help the hint points at; undefined = top-level help. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Run node:util parseArgs and turn its errors into UsageErrors with a short message. */
export function parseOrUsage<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const flag = /'(-[^' ]*)/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown flag ${flag ?? message}`, command);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(flag === undefined ? message : `flag ${flag} needs a value`, command);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError('too many arguments', command);
    throw new UsageError(message.split('. ')[0] ?? message, command);
  }
}

export function parseSourceFormat(command: string, value: string | undefined): SourceFormat {
  if (value === undefined || value === 'hierarchy') return 'hierarchy';
  if (value === 'unstructured') return 'unstructured';
  throw new UsageError(`invalid --source-format ${JSON.stringify(value)}: use hierarchy or unstructured`, command);
}

/** nomos --clusters: absent = every cluster; "" = none; otherwise the listed names. */
export function parseClusters(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
}

/** At most one positional argument: the policy dir, default `.`. */
export function policyDirArg(command: string, positionals: readonly string[]): string {
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one DIR argument, got ${positionals.length}: ${positionals.join(' ')}`, command);
  }
  return positionals[0] ?? '.';
}

export interface CompileRequest {
  readonly sourceFormat: SourceFormat;
  readonly clusters: readonly string[] | undefined;
  /** false: drop each cluster's hydrated objects as soon as it is vetted (vet needs only errors). */
  readonly keepObjects?: boolean;
}

/**
 * Read the policy dir and vet it for every cluster. Files that cannot be read are reported as
 * errors of the default cluster instead of validating what is left (which would add spurious
 * errors, as nomos does).
 */
export interface Compiled {
  readonly results: CompileResult[];
  /** The policy dir, absolute and without symlinks: nomos prints error sources under it. */
  readonly root: string;
}

export async function compileDir(command: string, dir: string, request: CompileRequest): Promise<Compiled> {
  const root = await policyRoot(command, dir);
  const { snapshot, errors } = await readLocalDir(root, { sourceFormat: request.sourceFormat });
  if (errors.length > 0) return { root, results: [{ cluster: DEFAULT_CLUSTER, errors, objects: [] }] };
  const options = {
    sourceFormat: request.sourceFormat,
    ...(request.clusters === undefined ? {} : { clusters: request.clusters }),
    policyDir: root,
  };
  if (request.keepObjects !== false) return { root, results: vet(snapshot.files, options) };
  const results: CompileResult[] = [];
  vetEach(snapshot.files, { ...options, stamp: false }, (r) => results.push({ ...r, objects: [] }));
  return { root, results };
}

async function policyRoot(command: string, dir: string): Promise<string> {
  let root: string;
  try {
    root = await realpath(path.resolve(dir));
  } catch {
    throw new UsageError(`policy dir ${JSON.stringify(dir)} does not exist`, command);
  }
  if (!(await stat(root)).isDirectory()) throw new UsageError(`policy dir ${JSON.stringify(dir)} is not a directory`, command);
  return root;
}
