/**
 * Runs `kustomize build` over a snapshot (issue #12), the way Config Sync's hydration does it
 * (`--enable-helm --load-restrictor=LoadRestrictionsNone`) minus what lets a pusher run commands
 * (`--enable-alpha-plugins`, `--enable-exec` are never passed, so kustomize refuses every
 * non-builtin plugin on its own), inside a private temp dir that is always removed, with a
 * wall-clock limit, an output limit and an environment that holds no secret.
 *
 *   renderKustomization({files, dir, tools, limits?, signal?}) → RenderResult
 *   renderEnv(parent, tempDir, toolPaths)                       → the child environment
 *
 * The rendered objects come back as SourceFiles named after the file each object was written
 * in (kustomize's origin annotations), ready for lib/repo's compile/vetEach (unstructured).
 */
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SourceFile, VetError } from '../repo/types.ts';
import { pathError } from '../repo/errors.ts';
import { validateSnapshotPath } from '../repo/files.ts';
import { redactText } from '../log.ts';
import { RENDER_ERROR_CODE, normalizeSyncDir, refuseOutsideReads, rootKustomization } from './kustomization.ts';
import { withOriginAnnotations, placeRendered } from './origin.ts';
import { pullPrivateCharts, remoteCharts, type HelmRepoCredential } from './charts.ts';
import { runTool } from './tool-process.ts';

export interface RenderLimits {
  /** Wall clock for the whole `kustomize build` (helm and remote fetches included). Default 60 s. */
  readonly timeoutMs?: number;
  /** Bytes of rendered YAML; counted as it streams, the tool is killed when it is passed. Default 64 MiB. */
  readonly maxOutputBytes?: number;
}

export const DEFAULT_RENDER_LIMITS: Required<RenderLimits> = { timeoutMs: 60_000, maxOutputBytes: 64 * 1024 * 1024 };

/** The tools to run: lib/render/tools.ts RenderTools fits (only the paths are used). */
export interface RenderToolPaths {
  readonly kustomize: { readonly path: string };
  readonly helm: { readonly path: string };
}

export interface RenderKustomizationOptions {
  /** The snapshot: every file of the repository the kustomizations may reference. */
  readonly files: readonly SourceFile[];
  /** The sync directory (relative, '' = the root) holding the root kustomization. */
  readonly dir: string;
  readonly tools: RenderToolPaths;
  readonly limits?: RenderLimits;
  /** Aborting kills the tools; the result is then a KNV1068 saying so. */
  readonly signal?: AbortSignal;
  /** The environment to filter for the tools (default process.env): only an allow-list passes. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the private temp dir is made (default os.tmpdir()). */
  readonly tmpRoot?: string;
  /** Credentials for private chart repositories: charts from them are pulled by pushsync (charts.ts). */
  readonly helmRepos?: readonly HelmRepoCredential[];
}

export type RenderResult =
  | { readonly kind: 'rendered'; readonly files: SourceFile[]; readonly kustomization: string }
  | { readonly kind: 'failed'; readonly errors: VetError[] };

/** Longest tool message kept in a VetError: enough for kustomize's nested "accumulating…" chain. */
export const MAX_MESSAGE_CHARS = 2048;

export async function renderKustomization(options: RenderKustomizationOptions): Promise<RenderResult> {
  const dir = normalizeSyncDir(options.dir);
  const root = rootKustomization(options.files, dir);
  if (root === undefined) {
    return failed(pathError(RENDER_ERROR_CODE, 'no kustomization.yaml, kustomization.yml or Kustomization in this directory: nothing to render', `${dir === '' ? '.' : dir}/`));
  }
  // Never let the tool read outside the snapshot, even when a caller skipped vet's checks.
  const outside = refuseOutsideReads(options.files, root);
  if (outside.length > 0) return { kind: 'failed', errors: outside };

  const limits = { ...DEFAULT_RENDER_LIMITS, ...options.limits };
  const temp = await realpath(await mkdtemp(path.join(options.tmpRoot ?? tmpdir(), 'pushsync-render-')));
  try {
    const repoDir = path.join(temp, 'repo');
    const originAdded = await materialise(options.files, repoDir, root);
    await mkdir(path.join(temp, 'home'), { recursive: true });
    await mkdir(path.join(temp, 'tmp'), { recursive: true });
    const kdir = dir === '' ? repoDir : path.join(repoDir, ...dir.split('/'));
    const args = ['build', '--enable-helm', '--load-restrictor=LoadRestrictionsNone', '--helm-command', options.tools.helm.path, kdir];
    const env = renderEnv(options.env ?? process.env, temp, [options.tools.kustomize.path, options.tools.helm.path]);
    const deadline = Date.now() + limits.timeoutMs;
    const signal = options.signal ? { signal: options.signal } : {};
    if (options.helmRepos && options.helmRepos.length > 0) {
      const charts = remoteCharts(options.files, root);
      const pulled = await pullPrivateCharts({ charts, credentials: options.helmRepos, repoDir, helm: options.tools.helm.path, env, limits, deadline, ...signal });
      if (pulled.length > 0) return { kind: 'failed', errors: pulled };
    }
    const run = await runTool(options.tools.kustomize.path, args, { cwd: repoDir, env, limits: { ...limits, timeoutMs: Math.max(1, deadline - Date.now()) }, ...signal });
    if (run.stopped) return failed(pathError(RENDER_ERROR_CODE, stoppedMessage(run.stopped, limits), root));
    if (run.code !== 0) return failed(toolFailure(run.stderr, run.code, repoDir, root, options.files, [options.tools.kustomize.path, options.tools.helm.path]));
    return placeRendered(run.stdout, { files: options.files, root, removeOrigin: originAdded });
  } finally {
    await rm(temp, { recursive: true, force: true, maxRetries: 3 });
  }
}

function failed(e: VetError): RenderResult {
  return { kind: 'failed', errors: [e] };
}

function stoppedMessage(why: 'timeout' | 'output' | 'aborted', limits: Required<RenderLimits>): string {
  if (why === 'timeout') return `kustomize build did not finish within the ${seconds(limits.timeoutMs)} s time limit and was stopped`;
  if (why === 'output') return `kustomize build produced more than the ${bytes(limits.maxOutputBytes)} output limit and was stopped`;
  return 'rendering was cancelled';
}

const seconds = (ms: number) => String(Math.round(ms / 100) / 10);
const bytes = (n: number) => (n >= 1024 * 1024 ? `${Math.round((n / 1024 / 1024) * 10) / 10} MiB` : n >= 1024 ? `${Math.round((n / 1024) * 10) / 10} KiB` : `${n} bytes`);

/**
 * Write the snapshot into `repoDir`, regular non-executable files only (a script in the repo
 * cannot be run by its path even if something tried), with the root kustomization's copy asking
 * for origin annotations. True when pushsync added them (so they are removed from the output).
 */
async function materialise(files: readonly SourceFile[], repoDir: string, root: string): Promise<boolean> {
  let added = false;
  const made = new Set<string>();
  for (const f of files) {
    if (validateSnapshotPath(f.path)) continue; // reported as KNV2001 by the engine; never written
    const target = path.join(repoDir, ...f.path.split('/'));
    const parent = path.dirname(target);
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true });
      made.add(parent);
    }
    let content = f.content;
    if (f.path === root) {
      const r = withOriginAnnotations(typeof content === 'string' ? content : new TextDecoder('utf-8').decode(content));
      content = r.text;
      added = r.added;
    }
    await writeFile(target, content, { mode: 0o644 });
  }
  return added;
}

// --- the child process -------------------------------------------------------------------------

/** Variables the tools may see from the parent; everything else (AWS_*, GITHUB_*, PUSHSYNC_*, KUBECONFIG, …) stays out. */
const PASS_THROUGH = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'LANG', 'LC_ALL', 'TZ'];
/** Where git (remote bases) and a shell live; the tools' own directories come first. */
const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];

/**
 * The environment kustomize and helm run with: an allow-list of the parent's variables (proxies,
 * certificates, locale), a minimal PATH, and every home, cache and config dir inside `tempDir`,
 * so nothing from the user's or the function's home (helm repositories with passwords, git
 * credential helpers, kustomize plugins) is read and nothing is left behind.
 */
export function renderEnv(parent: NodeJS.ProcessEnv, tempDir: string, toolPaths: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASS_THROUGH) {
    const v = parent[k];
    if (v !== undefined && v !== '') env[k] = v;
  }
  const home = path.join(tempDir, 'home');
  const dirs = [...new Set([...toolPaths.map((p) => path.dirname(p)), ...SYSTEM_PATH])];
  return {
    ...env,
    PATH: dirs.join(path.delimiter),
    HOME: home,
    TMPDIR: path.join(tempDir, 'tmp'),
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    HELM_CONFIG_HOME: path.join(home, '.config', 'helm'),
    HELM_CACHE_HOME: path.join(home, '.cache', 'helm'),
    HELM_DATA_HOME: path.join(home, '.local', 'share', 'helm'),
    // An empty plugin home: kustomize would look for legacy plugins there (it refuses them anyway).
    KUSTOMIZE_PLUGIN_HOME: path.join(tempDir, 'no-plugins'),
    // Remote bases: fail instead of prompting for credentials; ignore the machine's git config.
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
  };
}

// --- failures ----------------------------------------------------------------------------------

/**
 * The tool's failure as a VetError: on the kustomization file its message names inside the repo
 * (the innermost one), else on the root kustomization; the message is the tool's text with temp
 * paths made repository-relative, noise dropped, trimmed and redacted.
 */
export function toolFailure(stderr: string, code: number | null, repoDir: string, root: string, files: readonly SourceFile[], toolPaths: readonly string[] = []): VetError {
  const named = namedFile(stderr, repoDir, files);
  let text = toolMessage(stderr, repoDir, toolPaths);
  if (/external plugins disabled/.test(text)) text += `\n(pushsync never enables kustomize's exec or alpha plugins: they would run next to cluster credentials)`;
  const message = text === '' ? `kustomize build failed (exit ${code ?? 'signal'}) without a message` : text;
  return pathError(RENDER_ERROR_CODE, message, named ?? root);
}

/**
 * The tool's first meaningful lines: no ANSI colours, no usage text, no blank lines, no
 * machine-specific noise (the tools' paths, the environment kustomize ran helm with, helm's
 * --debug hint), ≤ MAX_MESSAGE_CHARS, redacted.
 */
export function toolMessage(stderr: string, repoDir: string, toolPaths: readonly string[] = []): string {
  let raw = relativise(stderr, repoDir);
  for (const p of toolPaths) raw = raw.split(p).join(path.basename(p));
  raw = raw
    .replace(/ with env=\[[^\]]*\]/g, '')
    .replace(/ \(is '[^']*' installed\?\)/g, '')
    // kustomize's tail after helm's own words names the whole command line (temp paths, values
    // files): only which helm step failed says something to the user, and GitHub keeps 140 chars.
    .replace(/\n?: unable to run: '(?:\S*\/)?helm (\w+)[^']*': exit status \d+/g, ' (helm $1)')
    .replace(/^Use --debug flag to render out invalid YAML\n?/gm, '');
  const lines = raw
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
    .split(/\r?\n/)
    .map((l) => l.trimEnd());
  const kept: string[] = [];
  for (const l of lines) {
    if (/^Usage:/.test(l)) break; // cobra's usage block after the error says nothing about the repo
    if (l.trim() === '') continue;
    kept.push(l.replace(/^(Error: )+/, ''));
  }
  let text = kept.join('\n');
  if (text.length > MAX_MESSAGE_CHARS) text = `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
  return redactText(text);
}

/** Temp-dir paths in tool output, as repository-relative ones (the rest of the temp dir as `<render>`). */
function relativise(text: string, repoDir: string): string {
  const temp = path.dirname(repoDir);
  return text.split(`${repoDir}/`).join('').split(repoDir).join('.').split(temp).join('<render>');
}

/** The innermost kustomization (or file) of the snapshot that the tool's message names, if any. */
function namedFile(stderr: string, repoDir: string, files: readonly SourceFile[]): string | undefined {
  const paths = new Set(files.map((f) => f.path));
  const re = new RegExp(`${escapeRe(repoDir)}/([^\\s'"\`:;,)]+)`, 'g');
  let found: string | undefined;
  for (const m of stderr.matchAll(re)) {
    const p = (m[1] ?? '').replace(/\/+$/, '');
    if (paths.has(p)) found = p;
    else {
      const k = rootKustomization(files, p);
      if (k !== undefined) found = k;
    }
  }
  return found;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
