/** What every CLI command shares: its shape, exit codes, usage errors, reading the policy dir. */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ClusterError, connect } from '../../lib/cluster/index.ts';
import type { Connection } from '../../lib/cluster/index.ts';
import { compile, DEFAULT_CLUSTER, formatVetErrors, vet, vetEach, vetReport } from '../../lib/repo/index.ts';
import type { CompileResult, SourceFile, SourceFormat, VetError } from '../../lib/repo/index.ts';
import { renderLocalDir } from '../../lib/render/index.ts';
import { getHelmRepos, secretStoreFromEnv } from '../../lib/registry/index.ts';
import { gitPrefix } from '../../lib/source/index.ts';
import { readLocalDir } from '../../lib/source/index.ts';

export const EXIT_OK = 0;
/** The repo has validation errors (or output could not be written). */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;
/** The cluster commands' "try again later": API server unreachable, or another apply holds the lease. */
export const EXIT_RETRY = 4;

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
  const policy = await policyFiles(command, dir, request.sourceFormat);
  const { root, files, sourceFormat } = policy;
  if (policy.errors.length > 0) return { root, results: [{ cluster: DEFAULT_CLUSTER, errors: [...policy.errors], objects: [] }] };
  const snapshot = { files };
  const options = {
    sourceFormat,
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

/**
 * Read and vet the policy dir for one cluster (plan, apply). Source paths recorded on the objects
 * are relative to the git work tree when DIR is in one, so a local apply and a webhook apply of
 * the same commit send identical objects (an absolute checkout path would differ per machine).
 */
export async function compileForCluster(command: string, dir: string, sourceFormat: SourceFormat, cluster: string): Promise<{ root: string; result: CompileResult }> {
  const policy = await policyFiles(command, dir, sourceFormat);
  if (policy.errors.length > 0) return { root: policy.root, result: { cluster, errors: [...policy.errors], objects: [] } };
  // Rendered files are named from the top of the work tree already.
  const policyDir = policy.rendered ? '' : ((await gitPrefix(policy.root)) ?? '');
  return { root: policy.root, result: compile(policy.files, { sourceFormat: policy.sourceFormat, clusterName: cluster, policyDir }) };
}

interface PolicyFiles {
  /** Where error sources are printed from: the policy dir, or for a rendered one the top its files are named from. */
  readonly root: string;
  readonly files: readonly SourceFile[];
  readonly errors: readonly VetError[];
  /** Rendered output is vetted as an unstructured repo, as Config Sync does. */
  readonly sourceFormat: SourceFormat;
  readonly rendered: boolean;
}

/**
 * The policy files of DIR: as they are, or, when DIR holds a kustomization, what kustomize
 * (and Helm) render from it (lib/render/local.ts).
 */
async function policyFiles(command: string, dir: string, sourceFormat: SourceFormat): Promise<PolicyFiles> {
  const root = await policyRoot(command, dir);
  // Private chart repositories: the credentials `pushsync secrets set helm-repo` stored locally.
  const rendering = await renderLocalDir(root, { sourceFormat, helmRepos: () => getHelmRepos(secretStoreFromEnv(process.env)) });
  if (rendering.kind === 'failed') return { root: rendering.top, files: [], errors: rendering.errors, sourceFormat, rendered: true };
  if (rendering.kind === 'rendered') return { root: rendering.top, files: rendering.files, errors: [], sourceFormat: 'unstructured', rendered: true };
  const { snapshot, errors } = await readLocalDir(root, { sourceFormat });
  return { root, files: snapshot.files, errors, sourceFormat, rendered: false };
}

/** Connect with the kubeconfig in `file`; an unreadable or unusable kubeconfig is a usage error. */
export async function connectWithKubeconfig(command: string, file: string, context: string | undefined): Promise<Connection> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new UsageError(`cannot read --kubeconfig ${JSON.stringify(file)}${typeof code === 'string' ? ` (${code})` : ''}`, command);
  }
  try {
    // The person's own kubeconfig on their own machine, used as kubectl would use it. The
    // strict default guards the registrations the deployed functions connect with.
    return await connect(text, { ...(context === undefined ? {} : { context }), policy: { allowInsecure: true, exec: 'any' } });
  } catch (err) {
    // connect() does not reach the server: whatever fails here is in the kubeconfig (or a file it names).
    throw new UsageError(`${file}: ${err instanceof ClusterError ? err.message : `kubeconfig: ${err instanceof Error ? err.message : String(err)}`}`, command);
  }
}

/** DNS-1123 subdomain: what a ConfigMap and a Lease may be called. */
export function parseInventoryName(command: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (value.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value)) return value;
  throw new UsageError(`invalid --inventory ${JSON.stringify(value)}: use lower-case letters, digits, "-" and "." (a ConfigMap name)`, command);
}

/** A flag the command cannot run without. */
export function required(command: string, flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required`, command);
  return value;
}

/** Validation errors stop plan and apply before any cluster is contacted: shown as `pushsync vet` shows them. */
export function printVetErrors(result: CompileResult, root: string, json: boolean, io: Io): void {
  if (json) io.stdout(`${JSON.stringify(vetReport([result]), null, 2)}\n`);
  else io.stderr(`Error: ${formatVetErrors([result], { policyDir: root }) ?? ''}\n`);
}

type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/** How plan, apply and status reach a cluster and its inventory. */
export const CLUSTER_FLAGS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  inventory: { type: 'string' },
} as const;
const HELP_FLAG = { help: { type: 'boolean', short: 'h', default: false } } as const;

/**
 * Every command's flags: strict, positionals allowed, `-h/--help` added, parse errors turned
 * into usage errors. Returns undefined after printing the help for `--help`.
 */
export function parseCommand<const O extends FlagOptions>(command: Pick<Command, 'name' | 'help'>, args: readonly string[], io: Io, options: O) {
  const parsed = parseOrUsage(command.name, () => parseArgs({ args: [...args], allowPositionals: true, strict: true, options: { ...options, ...HELP_FLAG } }));
  if ((parsed.values as { help?: boolean }).help) {
    io.stdout(command.help);
    return undefined;
  }
  return parsed;
}
