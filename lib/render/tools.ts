/**
 * Finds the kustomize and helm that rendering runs (issue #12 §1): the real tools, never a
 * re-implementation. Where each comes from, first usable match wins:
 *   1. $PUSHSYNC_RENDER_TOOLS, a directory holding them (what scripts/test.sh exports);
 *   2. the cache scripts/ensure-render-tools.sh builds into, as its --no-build prints it (the
 *      script stays the one place that knows the directory's name and recipe stamp);
 *   3. PATH, every match in order.
 * Each candidate must answer `kustomize version` / `helm version --short` within a short
 * timeout with a version no older than Config Sync's recommended one; a missing, broken or
 * too old tool is a value with a stable code and a message saying where it looked and the
 * fix, never an exception: in Lambda or on a user's machine this is the first thing a render
 * needs, and a stack trace would tell nobody what to install.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One tool: the executable's path and the version it reported ("v5.8.2", "v3.22.0"). */
export interface RenderTool {
  readonly path: string;
  readonly version: string;
}

export interface RenderTools {
  readonly kustomize: RenderTool;
  readonly helm: RenderTool;
}

export interface ToolProblem {
  readonly kind: 'missing';
  readonly code: 'RENDER_TOOLS_MISSING';
  readonly message: string;
}

export function isToolProblem(r: RenderTools | ToolProblem): r is ToolProblem {
  return 'kind' in r && r.kind === 'missing';
}

type ToolName = keyof RenderTools;

/** Config Sync's recommended versions (its docs, for kustomize's helmCharts): older ones are refused. */
const MINIMUM: Readonly<Record<ToolName, readonly [number, number]>> = { kustomize: [5, 4], helm: [3, 15] };
const VERSION_ARGS: Readonly<Record<ToolName, readonly string[]>> = { kustomize: ['version'], helm: ['version', '--short'] };
const SCRIPT_NAME = 'ensure-render-tools.sh';
const FIX =
  `Fix: run 'bash scripts/${SCRIPT_NAME}' (builds kustomize and helm from Go modules once per machine), ` +
  'or put kustomize >= v5.4 and helm >= v3.15 on PATH, or set PUSHSYNC_RENDER_TOOLS to a directory holding both.';
/** Each version check; a starting binary answers in well under a second, a busy 2-core machine may take a few. */
const DEFAULT_TIMEOUT_MS = 10_000;

export interface FindRenderToolsOptions {
  /** Per `version` call; default 10 s. */
  readonly timeoutMs?: number;
}

export function findRenderTools(env: NodeJS.ProcessEnv = process.env, options: FindRenderToolsOptions = {}): RenderTools | ToolProblem {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Why each place did not serve, per tool, in the order looked.
  const notes: Record<ToolName, string[]> = { kustomize: [], helm: [] };
  const found: Partial<Record<ToolName, RenderTool>> = {};

  const tryDir = (dir: string, where: string): void => {
    for (const tool of ['kustomize', 'helm'] as const) {
      if (found[tool]) continue;
      const file = path.join(dir, tool);
      if (!isExecutable(file)) {
        notes[tool].push(`not in ${where}`);
        continue;
      }
      const checked = checkVersion(tool, file, env, timeoutMs);
      if (typeof checked === 'string') notes[tool].push(`${where}: ${checked}`);
      else found[tool] = checked;
    }
  };

  const fromEnv = env.PUSHSYNC_RENDER_TOOLS;
  if (fromEnv) tryDir(fromEnv, `PUSHSYNC_RENDER_TOOLS=${fromEnv}`);
  else for (const tool of ['kustomize', 'helm'] as const) notes[tool].push('PUSHSYNC_RENDER_TOOLS is not set');

  if (!found.kustomize || !found.helm) {
    const cache = ensuredCacheDir(env, timeoutMs);
    if (cache.dir !== undefined) tryDir(cache.dir, `the cache ${cache.dir}`);
    else for (const tool of ['kustomize', 'helm'] as const) if (!found[tool]) notes[tool].push(cache.why);
  }

  for (const tool of ['kustomize', 'helm'] as const) {
    if (found[tool]) continue;
    const onPath = pathMatches(tool, env.PATH ?? '');
    if (onPath.length === 0) notes[tool].push('not on PATH');
    for (const file of onPath) {
      const checked = checkVersion(tool, file, env, timeoutMs);
      if (typeof checked !== 'string') {
        found[tool] = checked;
        break;
      }
      notes[tool].push(`on PATH: ${checked}`);
    }
  }

  if (found.kustomize && found.helm) return { kustomize: found.kustomize, helm: found.helm };
  const lacking = (['kustomize', 'helm'] as const).filter((t) => !found[t]);
  const lines = lacking.map((t) => `${t}: no usable ${t} found (${notes[t].join('; ')}).`);
  // On Lambda the tools come from the renderTools layer (serverless.yml), not from a build.
  const fix = env.LAMBDA_TASK_ROOT ? 'Fix: attach the renderTools layer (serverless.yml) to this function, with PUSHSYNC_RENDER_TOOLS=/opt/bin.' : FIX;
  return { kind: 'missing', code: 'RENDER_TOOLS_MISSING', message: `Rendering needs kustomize and helm. ${lines.join(' ')} ${fix}` };
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Every executable named `tool` on PATH, in PATH's order (relative entries are skipped: they depend on the cwd). */
function pathMatches(tool: string, pathVar: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const dir of pathVar.split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue;
    const file = path.join(dir, tool);
    if (seen.has(file)) continue;
    seen.add(file);
    if (isExecutable(file)) out.push(file);
  }
  return out;
}

/** The tool's version if it runs and is recent enough, else why not (a phrase naming the file). */
function checkVersion(tool: ToolName, file: string, env: NodeJS.ProcessEnv, timeoutMs: number): RenderTool | string {
  // Only what finding the tool needs: a version check has no business seeing the caller's secrets.
  const r = spawnSync(file, VERSION_ARGS[tool], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { PATH: env.PATH ?? '', ...(env.HOME ? { HOME: env.HOME } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const command = `'${file} ${VERSION_ARGS[tool].join(' ')}'`;
  if (r.error) {
    const timedOut = (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
    return timedOut ? `${command} did not answer within ${timeoutMs} ms` : `${command} could not run (${r.error.message})`;
  }
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status !== 0) return `${command} failed (exit ${r.status ?? r.signal}): ${firstLine(output)}`;
  // kustomize v5 prints "v5.8.2"; v4 printed "{Version:kustomize/v4.5.7 GitCommit:…}"; helm "v3.22.0+g…".
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!m) return `${file} printed no version (${firstLine(output)})`;
  const version = `v${m[1]}.${m[2]}.${m[3]}`;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const [minMajor, minMinor] = MINIMUM[tool];
  if (major < minMajor || (major === minMajor && minor < minMinor)) {
    return `${file} is ${tool} ${version}, older than the v${minMajor}.${minMinor} pushsync needs`;
  }
  return { path: file, version };
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line || '(no output)';
}

/**
 * The directory scripts/ensure-render-tools.sh --no-build prints (it never builds), or why
 * there is none. The script is found by walking up from this module, so it works from the
 * sources (lib/render/) and from the bundle (dist/); an installation without the scripts
 * (a Lambda package) simply has no cache step.
 */
function ensuredCacheDir(env: NodeJS.ProcessEnv, timeoutMs: number): { dir: string; why?: undefined } | { dir?: undefined; why: string } {
  const script = findScript();
  if (script === undefined) return { why: `no scripts/${SCRIPT_NAME} beside this installation to name its cache` };
  // Without PUSHSYNC_RENDER_TOOLS: that directory was looked at already; the question here is the cache.
  const { PUSHSYNC_RENDER_TOOLS: _looked, ...scriptEnv } = env;
  const r = spawnSync('bash', [script, '--no-build'], { encoding: 'utf8', timeout: timeoutMs, env: scriptEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return { why: `running ${SCRIPT_NAME} --no-build failed (${r.error.message})` };
  const dir = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status === 0 && dir !== '') return { dir };
  // The script's own diagnosis names the cache directory it looked in.
  const said = (r.stderr ?? '').split('\n').find((l) => l.includes('ERROR:'));
  return { why: said ? said.replace(/^.*ERROR:\s*/, '').replace(/\.$/, '') : `${SCRIPT_NAME} --no-build found no build (exit ${r.status})` };
}

function findScript(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'scripts', SCRIPT_NAME);
    if (existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}
