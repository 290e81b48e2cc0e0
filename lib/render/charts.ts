/**
 * Charts from private Helm repositories (issue #12 §4). kustomize pulls a remote chart with
 * `helm pull --repo URL NAME`, which sends no credentials: a private repository answers 401. So
 * pushsync pulls the charts whose repository has credentials in the secret store (`pushsync
 * secrets set helm-repo`) itself, into the place kustomize looks first (`<chartHome>/<name>`,
 * or `<chartHome>/<name>-<version>/<name>` for a pinned version: kustomize v5.8), and kustomize
 * then renders them as local charts. Charts from public repositories are left to
 * kustomize, as in Config Sync.
 *
 *   remoteCharts(files, root)            → the helmCharts entries with a `repo`, reachable from root
 *   credentialFor(repo, credentials)     → the stored credential covering that repo URL, if any
 *   pullPrivateCharts({charts, …})       → KNV1068 errors (on the kustomization and line), [] when pulled
 *
 * The password reaches helm on stdin (`helm repo add --password-stdin`, `helm registry login
 * --password-stdin`), never as an argument, inside the render's private HELM_* homes, which are
 * removed with the render; every password is registered with the logger, so a tool message that
 * echoed one is masked.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import type { SourceFile, VetError } from '../repo/types.ts';
import { pathError } from '../repo/errors.ts';
import { isMap } from '../repo/parse.ts';
import { dirOf } from '../repo/paths.ts';
import type { HelmRepoCredential } from '../registry/helm-repos.ts';
import { itemLines, RENDER_ERROR_CODE, normalizePath, reachedKustomizations } from './kustomization.ts';
import { joinPath } from './paths.ts';
import { redactText } from '../log.ts';
import { runTool, type ToolLimits } from './tool-process.ts';

export type { HelmRepoCredential } from '../registry/helm-repos.ts';

/** kustomize's default `helmGlobals.chartHome` (types.HelmDefaultHome). */
export const DEFAULT_CHART_HOME = 'charts';

export interface RemoteChart {
  /** The kustomization naming the chart, and the line of its helmCharts entry. */
  readonly kustomization: string;
  readonly line: number | undefined;
  readonly name: string;
  readonly repo: string;
  readonly version: string | undefined;
  /** Snapshot path of the kustomization's chart home (where kustomize looks for `<name>`). */
  readonly chartHome: string;
}

/** Every helmCharts entry with a `repo` in the kustomizations the root reaches. */
export function remoteCharts(files: readonly SourceFile[], root: string): RemoteChart[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const out: RemoteChart[] = [];
  for (const kpath of reachedKustomizations(files, root)) {
    const file = byPath.get(kpath);
    if (!file) continue;
    const text = typeof file.content === 'string' ? file.content : new TextDecoder('utf-8').decode(file.content);
    let k: unknown;
    try {
      k = yaml.load(text);
    } catch {
      continue; // kustomize reports it when rendering
    }
    if (!isMap(k) || !Array.isArray(k.helmCharts)) continue;
    const globals = isMap(k.helmGlobals) ? k.helmGlobals : {};
    const home = typeof globals.chartHome === 'string' && globals.chartHome !== '' ? globals.chartHome : DEFAULT_CHART_HOME;
    // An absolute or escaping chartHome is refused by vet before this runs (kustomization.ts).
    const chartHome = normalizePath(joinPath(dirOf(kpath), home));
    if (chartHome === undefined) continue;
    const lines = itemLines(text, 'helmCharts');
    k.helmCharts.forEach((c, i) => {
      if (!isMap(c) || typeof c.repo !== 'string' || c.repo === '' || typeof c.name !== 'string' || c.name === '') return;
      out.push({
        kustomization: kpath,
        line: lines[i],
        name: c.name,
        repo: c.repo,
        version: typeof c.version === 'string' && c.version !== '' ? c.version : undefined,
        chartHome: chartHome === '.' ? '' : chartHome,
      });
    });
  }
  return out;
}

/**
 * The credential whose URL is the repo or a path above it (`https://charts.acme/team` covers
 * `https://charts.acme/team/stable`, not `https://charts.acme/teamwork`); the longest wins.
 */
export function credentialFor(repo: string, credentials: readonly HelmRepoCredential[]): HelmRepoCredential | undefined {
  const r = repo.trim().replace(/\/+$/, '');
  let best: HelmRepoCredential | undefined;
  for (const c of credentials) {
    const u = c.url.replace(/\/+$/, '');
    if ((r === u || r.startsWith(`${u}/`)) && (best === undefined || u.length > best.url.length)) best = c;
  }
  return best;
}

export interface PullOptions {
  readonly charts: readonly RemoteChart[];
  readonly credentials: readonly HelmRepoCredential[];
  /** The render's private copy of the repository (run.ts). */
  readonly repoDir: string;
  readonly helm: string;
  /** The render's environment (run.ts renderEnv): HELM_* homes inside its temp dir. */
  readonly env: Record<string, string>;
  /** Per helm run; the whole pull also ends by `deadline` (epoch ms), the render's own limit. */
  readonly limits: ToolLimits;
  readonly deadline: number;
  readonly signal?: AbortSignal;
}

/**
 * Pull each chart whose repository has a credential into `<chartHome>/<name>` of the private
 * copy. A chart already there (kept in the repository) is left alone, as kustomize would.
 */
export async function pullPrivateCharts(o: PullOptions): Promise<VetError[]> {
  const errors: VetError[] = [];
  const done = new Set<string>();
  let alias = 0;
  for (const chart of o.charts) {
    const credential = credentialFor(chart.repo, o.credentials);
    if (credential === undefined) continue;
    const home = chartDir(o.repoDir, chart);
    if (done.has(home)) continue;
    done.add(home);
    if (await exists(path.join(home, chart.name))) continue; // kept in the repository: kustomize uses it
    const run = (args: readonly string[], input?: string) => {
      const limits = { ...o.limits, timeoutMs: Math.max(1, Math.min(o.limits.timeoutMs, o.deadline - Date.now())) };
      return runTool(o.helm, args, { cwd: o.repoDir, env: o.env, limits, ...(input !== undefined ? { input } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    };
    const version = chart.version ? ['--version', chart.version] : [];
    const steps: { args: readonly string[]; input?: string }[] = [];
    if (chart.repo.startsWith('oci://')) {
      const host = new URL(chart.repo).host;
      steps.push({ args: ['registry', 'login', host, '--username', credential.username, '--password-stdin'], input: credential.password });
      steps.push({ args: ['pull', `${chart.repo.replace(/\/+$/, '')}/${chart.name}`, ...version, '--untar', '--untardir', home] });
    } else {
      const name = `pushsync-private-${++alias}`;
      steps.push({ args: ['repo', 'add', name, chart.repo, '--username', credential.username, '--password-stdin', '--force-update'], input: credential.password });
      steps.push({ args: ['pull', `${name}/${chart.name}`, ...version, '--untar', '--untardir', home] });
    }
    for (const step of steps) {
      const r = await run(step.args, step.input);
      if (r.stopped || r.code !== 0) {
        const why = r.stopped === 'timeout' ? `did not finish within ${Math.round(o.limits.timeoutMs / 1000)} s` : r.stopped ? `was stopped (${r.stopped})` : helmMessage(r.stderr, o.repoDir);
        errors.push(
          pathError(
            RENDER_ERROR_CODE,
            `helmCharts entry ${JSON.stringify(chart.name)}: pulling it from ${chart.repo} with the stored helm-repo credentials (user ${credential.username}) failed: ${why}`,
            chart.kustomization,
            chart.line,
          ),
        );
        break;
      }
    }
  }
  return errors;
}

/**
 * The directory kustomize v5.8 pulls a chart into (`helm pull --untardir`), which holds `<name>/`:
 * `<chartHome>/<name>-<version>` for a pinned version, else `<chartHome>`.
 */
export function chartDir(repoDir: string, chart: Pick<RemoteChart, 'chartHome' | 'name' | 'version'>): string {
  const home = chart.chartHome === '' ? repoDir : path.join(repoDir, ...chart.chartHome.split('/'));
  return chart.version ? path.join(home, `${chart.name}-${chart.version}`) : home;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function helmMessage(stderr: string, repoDir: string): string {
  const text = stderr
    .split(`${repoDir}/`)
    .join('')
    .split(/\r?\n/)
    .map((l) => l.trim().replace(/^Error: /, ''))
    .filter((l) => l !== '')
    .join('; ');
  return text === '' ? 'helm exited without a message' : redactText(text.slice(0, 1000));
}
