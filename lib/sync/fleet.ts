/**
 * What a large fleet sees on GitHub (issue 13 §3). GitHub allows about 80 content-creating
 * requests a minute and 500 an hour per identity (secondary rate limits); a push that a fleet of
 * 100 clusters follows would post 1 + 2 × 100 statuses (and as many check runs, and four
 * Deployment writes per cluster) in a burst. So above a threshold (PUSHSYNC_FLEET_THRESHOLD,
 * default 10 clusters) a push is reported as a fleet:
 *
 * - one context, `pushsync/fleet`, pending from the sync, with (App) a check run holding the
 *   per-cluster table; concluded by the fleet look (below) once every cluster is final;
 * - a `pushsync/<cluster>` status (and, App, check run) only for a cluster that fails or waits
 *   for a retry, and a success over it once that cluster is green after all;
 * - no per-cluster pending, success or progress writes, and no per-cluster GitHub Deployment.
 *
 * Apply and health jobs of a fleet push report through fleetSession: the same jobs, whose
 * writes for their cluster's context pass only when they are bad news (or mend one). The fleet
 * look is one delayed job per push, not one per cluster: it reads the commit's statuses (the
 * failures) and looks at each cluster not yet final (its inventory: this commit applied and
 * healthy, or a newer one), writes `pushsync/fleet` only when its line changed and at most every
 * FLEET_DEFAULTS.writeEveryMs, and schedules the next look until every cluster is final or the
 * fleet's time is up (then the clusters still waiting are failures, named). 100 apply jobs
 * finishing at once thus cost GitHub nothing; the table is written by one writer.
 *
 *   fleetThreshold(env)                         → clusters above which a push is a fleet
 *   reportFleetPending(octokit, commit, …)       → `pushsync/fleet` pending (+ check run id)
 *   fleetSession(session, cluster)               → the session an apply/health job of a fleet push uses
 *   runFleetCheck(job, deps, options, look?)     → one look at the fleet: conclude, or look again later
 */
import type { Octokit } from '@octokit/rest';
import { checkRollout, connect } from '../cluster/index.ts';
import {
  MAX_CHECK_TEXT,
  MAX_DESCRIPTION,
  completeCheckRun,
  fitDescription,
  isAncestor,
  postStatus,
  startCheckRun,
  statusContext,
  type CommitRef,
  type ReportOptions,
} from '../github/index.ts';
import type { JsonValue } from '../fanout/index.ts';
import { JobPayloadError } from '../jobs.ts';
import { credentialPolicy, getCluster } from '../registry/index.ts';
import type { GitHubSession, SyncDeps } from './deps.ts';
import { messageOf } from './errors.ts';
import { fromThrown, type JobOptions, type Unfinished } from './outcome.ts';
import { nextDelay } from './rollout.ts';

export const FLEET_CONTEXT = 'fleet';
export const FLEET_THRESHOLD_ENV = 'PUSHSYNC_FLEET_THRESHOLD';

export const FLEET_DEFAULTS = {
  /** Up to this many clusters, each has its own context as before. */
  threshold: 10,
  /** `pushsync/fleet`'s progress is written at most this often (its verdict at once). */
  writeEveryMs: 10_000,
  /** The longest gap between two looks. */
  intervalMs: 10_000,
  /** Per-cluster failure statuses the fleet look writes itself; beyond, only the table names them. */
  maxClusterWrites: 20,
  /** Clusters looked at in parallel. */
  lookConcurrency: 16,
} as const;

/** The threshold from `PUSHSYNC_FLEET_THRESHOLD` (a whole number ≥ 0; 0 = always a fleet), else 10. */
export function fleetThreshold(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env[FLEET_THRESHOLD_ENV];
  if (raw === undefined || raw.trim() === '') return FLEET_DEFAULTS.threshold;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${FLEET_THRESHOLD_ENV} must be a whole number of clusters (0 or more), got ${JSON.stringify(raw)}`);
  return n;
}

export function isFleet(clusters: number, threshold: number): boolean {
  return clusters > threshold;
}

// ---- text ----------------------------------------------------------------------------------

export type FleetState = 'pending' | 'applied' | 'rolling-out' | 'failed' | 'retrying' | 'superseded';

export interface FleetRow {
  readonly cluster: string;
  readonly state: FleetState;
  /** What the cluster's own status said, or what the look found. */
  readonly detail?: string;
}

const FINAL: ReadonlySet<FleetState> = new Set(['applied', 'failed', 'superseded']);
export const isFinal = (s: FleetState): boolean => FINAL.has(s);

/** `100 clusters: 97 applied, 2 failed (east-3, west-9), 1 pending`, at most 140 characters. */
export function describeFleet(rows: readonly FleetRow[]): string {
  const count = (s: FleetState) => rows.filter((r) => r.state === s).length;
  const failed = rows.filter((r) => r.state === 'failed').map((r) => r.cluster);
  const parts = [
    `${count('applied')} applied`,
    failed.length > 0 ? `${failed.length} failed` : undefined,
    count('superseded') > 0 ? `${count('superseded')} superseded` : undefined,
    count('rolling-out') > 0 ? `${count('rolling-out')} rolling out` : undefined,
    count('retrying') > 0 ? `${count('retrying')} retrying` : undefined,
    count('pending') > 0 ? `${count('pending')} pending` : undefined,
  ].filter((p) => p !== undefined);
  const head = `${rows.length} clusters: ${parts.join(', ')}`;
  if (failed.length === 0) return fitDescription(head);
  // The failed clusters' names as far as they fit: the table has them all.
  let names = '';
  for (const [i, n] of failed.entries()) {
    const next = names === '' ? n : `${names}, ${n}`;
    const more = failed.length - i - 1;
    if (`${head} (${next}${more > 0 ? `, +${more}` : ''})`.length > MAX_DESCRIPTION) break;
    names = next;
  }
  const shown = names === '' ? 0 : names.split(', ').length;
  return names === '' ? fitDescription(head) : `${head} (${names}${failed.length > shown ? `, +${failed.length - shown}` : ''})`;
}

const ORDER: Readonly<Record<FleetState, number>> = { failed: 0, retrying: 1, 'rolling-out': 2, pending: 3, superseded: 4, applied: 5 };

/** The check run: the line as title, and `| cluster | state | detail |` (failures first) within GitHub's 65,535 characters. */
export function renderFleetOutput(rows: readonly FleetRow[]): { title: string; summary: string } {
  const title = describeFleet(rows);
  const sorted = [...rows].sort((a, b) => ORDER[a.state] - ORDER[b.state] || (a.cluster < b.cluster ? -1 : 1));
  const out = [`**${title}**`, '', '| cluster | state | detail |', '| --- | --- | --- |'];
  let size = out.join('\n').length;
  const budget = MAX_CHECK_TEXT - 200;
  let shown = 0;
  for (const r of sorted) {
    const row = `| ${cell(r.cluster)} | ${r.state} | ${cell(fitDescription(r.detail ?? '', 300))} |`;
    if (size + 1 + row.length > budget) break;
    out.push(row);
    size += 1 + row.length;
    shown++;
  }
  if (shown < sorted.length) out.push('', `and ${sorted.length - shown} more clusters (all ${[...new Set(sorted.slice(shown).map((r) => r.state))].join(', ')})`);
  return { title, summary: out.join('\n') };
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ');

// ---- sync: the fleet context pending -----------------------------------------------------------

/** `pushsync/fleet` pending: the status, and with an App an in-progress check run with every cluster pending (its id). */
export async function reportFleetPending(octokit: Octokit, commit: CommitRef, clusters: readonly string[], description: string, options: ReportOptions): Promise<number | undefined> {
  await postStatus(octokit, { ...commit, name: FLEET_CONTEXT, state: 'pending', description, ...(options.targetUrl ? { targetUrl: options.targetUrl } : {}) });
  if (!options.checkRuns) return undefined;
  const output = renderFleetOutput(clusters.map((cluster) => ({ cluster, state: 'pending' as const })));
  return startCheckRun(octokit, { ...commit, name: FLEET_CONTEXT, title: output.title, summary: output.summary, ...(options.targetUrl ? { detailsUrl: options.targetUrl } : {}) });
}

// ---- apply and health jobs of a fleet push ------------------------------------------------------

const GOOD_STATES = new Set(['pending', 'success']);
const GOOD_CONCLUSIONS = new Set(['success', 'neutral', 'skipped']);

/**
 * The session an apply or health job of a fleet push reports through: its cluster's writes pass
 * only when they are bad news (a `failure` or `error` status, a check run concluded otherwise
 * than success/neutral/skipped); pending and success writes, in-progress check runs, progress
 * and the cluster's GitHub Deployment are answered here without reaching GitHub (what GitHub
 * would answer, with id 1). The fleet look mends a bad status once the cluster is green. Reads
 * pass. One hook on the client, so the jobs' own code stays the same for a fleet.
 */
export function fleetSession(session: GitHubSession, cluster: string): GitHubSession {
  const own = statusContext(cluster);
  session.octokit.hook.wrap('request', async (request, options) => {
    const method = String(options.method ?? 'GET').toUpperCase();
    const url = String(options.url ?? '');
    if (method === 'GET' || method === 'HEAD') return request(options);
    const body = options as unknown as Record<string, unknown>;
    // Id 1, not 0: a held Deployment's id travels in a HealthJob, whose parser wants a positive id.
    const held = (data: Record<string, unknown>) => ({ status: 201, url, headers: {}, data: { id: 1, ...data } });
    if (/\/statuses\/\{sha\}$|\/statuses\/[0-9a-f]+$/.test(url) && body.context === own && GOOD_STATES.has(String(body.state))) return held({ state: body.state, context: own });
    if (/\/check-runs/.test(url)) {
      const conclusion = body.conclusion;
      if (conclusion === undefined || GOOD_CONCLUSIONS.has(String(conclusion))) return held({ name: body.name, status: conclusion === undefined ? 'in_progress' : 'completed', output: { text: null } });
    }
    // The Environments page of a fleet is the fleet's check run: no Deployment per cluster.
    if (/\/deployments/.test(url)) return held({ state: body.state });
    return request(options);
  });
  return session;
}

// ---- the fleet look ---------------------------------------------------------------------------

/** One delayed job per fleet push: carried from look to look (as a `health` invocation). */
export interface FleetJob {
  readonly kind: 'fleet';
  readonly deliveryId: string;
  readonly owner: string;
  readonly name: string;
  readonly sha: string;
  readonly installationId?: number;
  readonly checkRunId?: number;
  /** The commit the push replaced (a strict ancestor of sha), when known: spares a compare. */
  readonly ancestor?: string;
  readonly clusters: readonly string[];
  /** Clusters already final, with their row (kept so a later look does not look again). */
  readonly done: readonly FleetRow[];
  readonly startedAt: number;
  /** Past it, clusters still not final are failures ("not applied or not healthy after …"). */
  readonly timeoutAt: number;
  readonly check: number;
  /** The description last written on `pushsync/fleet`, and when. */
  readonly written?: string;
  readonly writtenAt?: number;
  /** Per-cluster statuses the looks wrote so far (bounded by maxClusterWrites). */
  readonly clusterWrites?: number;
}

export function isFleetPayload(v: JsonValue): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Record<string, JsonValue>).kind === 'fleet';
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const STATES: ReadonlySet<string> = new Set<FleetState>(['pending', 'applied', 'rolling-out', 'failed', 'retrying', 'superseded']);

export function parseFleetJob(v: JsonValue): FleetJob {
  const o = (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as Record<string, JsonValue>;
  const bad = (why: string) => new JobPayloadError(`fleet payload ${why}: ${JSON.stringify(v).slice(0, 200)}`);
  if (o.kind !== 'fleet') throw bad('is not a fleet job');
  for (const k of ['deliveryId', 'owner', 'name', 'sha']) if (typeof o[k] !== 'string' || o[k] === '') throw bad(`has no ${k}`);
  if (!SHA.test(o.sha as string) || (o.ancestor !== undefined && (typeof o.ancestor !== 'string' || !SHA.test(o.ancestor)))) throw bad('has a malformed sha');
  for (const k of ['startedAt', 'timeoutAt', 'check']) if (typeof o[k] !== 'number' || !Number.isSafeInteger(o[k]) || (o[k] as number) < 0) throw bad(`has a malformed ${k}`);
  for (const k of ['installationId', 'checkRunId', 'writtenAt', 'clusterWrites']) if (o[k] !== undefined && (typeof o[k] !== 'number' || !Number.isSafeInteger(o[k]))) throw bad(`has a malformed ${k}`);
  if (!Array.isArray(o.clusters) || !o.clusters.every((c) => typeof c === 'string' && c !== '')) throw bad('has no clusters');
  const done = Array.isArray(o.done) ? o.done : [];
  const rows: FleetRow[] = [];
  for (const d of done) {
    const r = (typeof d === 'object' && d !== null && !Array.isArray(d) ? d : {}) as Record<string, JsonValue>;
    if (typeof r.cluster !== 'string' || typeof r.state !== 'string' || !STATES.has(r.state)) throw bad('has a malformed row');
    rows.push({ cluster: r.cluster, state: r.state as FleetState, ...(typeof r.detail === 'string' ? { detail: r.detail } : {}) });
  }
  return {
    kind: 'fleet', deliveryId: o.deliveryId as string, owner: o.owner as string, name: o.name as string, sha: o.sha as string,
    ...(typeof o.installationId === 'number' ? { installationId: o.installationId } : {}),
    ...(typeof o.checkRunId === 'number' ? { checkRunId: o.checkRunId } : {}),
    ...(typeof o.ancestor === 'string' ? { ancestor: o.ancestor } : {}),
    clusters: o.clusters as string[], done: rows,
    startedAt: o.startedAt as number, timeoutAt: o.timeoutAt as number, check: o.check as number,
    ...(typeof o.written === 'string' ? { written: o.written } : {}),
    ...(typeof o.writtenAt === 'number' ? { writtenAt: o.writtenAt } : {}),
    ...(typeof o.clusterWrites === 'number' ? { clusterWrites: o.clusterWrites } : {}),
  };
}

/** What one look at one cluster found. */
export type ClusterLook =
  /** The inventory records `sha`: healthy, still rolling out, or failed (with why). */
  | { readonly kind: 'at-commit'; readonly state: 'healthy' | 'progressing' | 'failed'; readonly detail?: string }
  /** The inventory records another commit (or none yet). */
  | { readonly kind: 'other-commit'; readonly commit?: string }
  /** Could not look (unreachable, no kubeconfig): looked at again until the fleet's time is up. */
  | { readonly kind: 'unknown'; readonly detail: string };

export type LookAt = (cluster: string, job: FleetJob, deps: SyncDeps, options: JobOptions) => Promise<ClusterLook>;

/** The real look: the cluster's inventory and its members' health (lib/cluster checkRollout), read-only. */
export const lookAtCluster: LookAt = async (cluster, job, deps, options) => {
  const reg = await getCluster(deps.store, cluster);
  if (!reg) return { kind: 'unknown', detail: 'not registered any more' };
  const conn = await connect(reg.kubeconfig, { ...(reg.context ? { context: reg.context } : {}), cluster: reg.name, policy: credentialPolicy(reg) });
  try {
    const c = await checkRollout(conn, { commit: job.sha, ...(options.deadline !== undefined ? { deadline: options.deadline } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    if (c.kind === 'superseded') return { kind: 'other-commit', commit: c.by };
    if (c.kind === 'error') return { kind: 'unknown', detail: c.error.message };
    if (c.commit !== undefined && c.commit !== job.sha) return { kind: 'other-commit', commit: c.commit };
    return { kind: 'at-commit', state: c.state, ...(c.failed ? { detail: `${c.failed.id}: ${c.failed.health.reason}` } : {}) };
  } finally {
    conn.close();
  }
};

export type FleetOutcome =
  | { readonly kind: 'concluded'; readonly state: 'success' | 'failure'; readonly description: string }
  | { readonly kind: 'waiting'; readonly check: number; readonly delayMs: number; readonly description: string }
  | Unfinished;

export interface FleetCheckOptions extends JobOptions {
  readonly look?: LookAt;
  readonly now?: () => number;
}

/**
 * One look at a fleet push. Reads the commit's statuses (the clusters that reported bad news)
 * and each cluster not yet final; writes `pushsync/fleet` when its line changed (progress at most
 * every writeEveryMs, the verdict at once), a per-cluster failure for what only the look can see
 * (a cluster that never answered, a timeout), a success over a cluster's earlier bad status once
 * it is green; then concludes, or schedules the next look.
 */
export async function runFleetCheck(job: FleetJob, deps: SyncDeps, options: FleetCheckOptions = {}): Promise<FleetOutcome> {
  const now = options.now ?? Date.now;
  const look = options.look ?? lookAtCluster;
  const log = deps.logger.child({ deliveryId: job.deliveryId, repo: `${job.owner}/${job.name}`, commit: job.sha, fleet: job.clusters.length, check: job.check });
  const commit: CommitRef = { owner: job.owner, repo: job.name, sha: job.sha };
  try {
    const session = await deps.github({ deliveryId: job.deliveryId, installationId: job.installationId });
    const { octokit } = session;
    const target = deps.targetUrl ? { targetUrl: deps.targetUrl } : {};
    const latest = await clusterStatuses(octokit, commit);
    const done = new Map(job.done.map((r) => [r.cluster, r]));
    const rows = new Map<string, FleetRow>(done);
    const mend: string[] = [];
    const ancestry = new Map<string, Promise<boolean>>();
    const newer = (other: string): Promise<boolean> => {
      if (job.ancestor !== undefined && other === job.ancestor) return Promise.resolve(false);
      let p = ancestry.get(other);
      if (p === undefined) {
        p = isAncestor(octokit, { owner: job.owner, repo: job.name, ancestor: job.sha, descendant: other });
        ancestry.set(other, p);
      }
      return p;
    };
    const open = job.clusters.filter((c) => !done.has(c));
    await mapLimit(open, FLEET_DEFAULTS.lookConcurrency, async (cluster) => {
      const status = latest.get(statusContext(cluster).toLowerCase());
      if (status?.state === 'failure') return void rows.set(cluster, { cluster, state: 'failed', detail: status.description });
      const l = await look(cluster, job, deps, options).catch((e: unknown): ClusterLook => ({ kind: 'unknown', detail: messageOf(e) }));
      // `error: will retry: …` waits for the retry; any other `error` (a bug, not retried) is final
      // unless the cluster has moved on to a newer commit (a rollout superseded says `error` too).
      const retrying = status?.state === 'error' && status.description.startsWith('will retry');
      const erred = status?.state === 'error' && !retrying;
      if (l.kind === 'at-commit') {
        if (l.state === 'healthy') {
          if (retrying) mend.push(cluster);
          return void rows.set(cluster, { cluster, state: 'applied', detail: 'healthy' });
        }
        // A rollout failure is written by the cluster's own health job (bad news passes); until it lands, the look says so too.
        if (l.state === 'failed') return void rows.set(cluster, { cluster, state: 'failed', detail: l.detail ?? 'rollout failed' });
        return void rows.set(cluster, { cluster, state: 'rolling-out', ...(l.detail ? { detail: l.detail } : {}) });
      }
      if (l.kind === 'other-commit' && l.commit !== undefined && (await newer(l.commit).catch(() => false))) {
        if (retrying) mend.push(cluster);
        return void rows.set(cluster, { cluster, state: 'superseded', detail: `superseded by ${l.commit.slice(0, 7)}` });
      }
      if (erred) return void rows.set(cluster, { cluster, state: 'failed', detail: status.description });
      const detail = retrying ? status.description : l.kind === 'unknown' ? l.detail : 'not applied yet';
      rows.set(cluster, { cluster, state: retrying ? 'retrying' : 'pending', detail });
    });

    // Past the fleet's time, whatever is not final has failed: said on its own context (a few) and in the table.
    const late = now() >= job.timeoutAt;
    let clusterWrites = job.clusterWrites ?? 0;
    const writes: Promise<unknown>[] = [];
    const clusterStatus = (cluster: string, state: 'success' | 'failure', description: string) => {
      if (clusterWrites >= FLEET_DEFAULTS.maxClusterWrites) return;
      clusterWrites++;
      writes.push(postStatus(octokit, { ...commit, name: cluster, state, description, ...target }));
    };
    if (late) {
      for (const [cluster, r] of rows) {
        if (isFinal(r.state)) continue;
        const description = `not ${r.state === 'rolling-out' ? 'healthy' : 'applied'} after ${Math.round((job.timeoutAt - job.startedAt) / 60_000)}m: ${r.detail ?? r.state}`;
        rows.set(cluster, { cluster, state: 'failed', detail: description });
        clusterStatus(cluster, 'failure', description);
      }
    }
    for (const cluster of mend) clusterStatus(cluster, 'success', rows.get(cluster)?.state === 'superseded' ? (rows.get(cluster)?.detail ?? 'superseded') : 'applied and healthy (after a retry)');

    const all = job.clusters.map((c) => rows.get(c) ?? { cluster: c, state: 'pending' as const });
    const finished = all.every((r) => isFinal(r.state));
    const description = describeFleet(all);
    const state = all.some((r) => r.state === 'failed') ? 'failure' : 'success';
    const due = job.writtenAt === undefined || now() - job.writtenAt >= FLEET_DEFAULTS.writeEveryMs;
    const writeLine = finished || (description !== job.written && due);
    if (writeLine) {
      writes.push(postStatus(octokit, { ...commit, name: FLEET_CONTEXT, state: finished ? state : 'pending', description, ...target }));
      if (session.checkRuns && job.checkRunId !== undefined) {
        const output = renderFleetOutput(all);
        writes.push(
          finished
            ? completeCheckRun(octokit, { ...commit, name: FLEET_CONTEXT, conclusion: state, output, checkRunId: job.checkRunId, ...(deps.targetUrl ? { detailsUrl: deps.targetUrl } : {}) })
            : octokit.rest.checks.update({ owner: job.owner, repo: job.name, check_run_id: job.checkRunId, status: 'in_progress', output }),
        );
      }
    }
    const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (finished) {
      log.info('fleet concluded', { state, description });
      return { kind: 'concluded', state, description };
    }
    const delayMs = Math.max(0, Math.min(nextDelay(job.check, deps.healthIntervalMs ?? FLEET_DEFAULTS.intervalMs), job.timeoutAt - now() + 500));
    const next: FleetJob = {
      ...job,
      check: job.check + 1,
      done: all.filter((r) => isFinal(r.state)),
      clusterWrites,
      ...(writeLine ? { written: description, writtenAt: now() } : {}),
    };
    await deps.invoker.invoke('health', JSON.parse(JSON.stringify(next)) as JsonValue, { delayMs });
    return { kind: 'waiting', check: next.check, delayMs, description };
  } catch (e) {
    const o = fromThrown(e);
    log.error('fleet look failed', { code: o.code, error: o.message });
    // A retry (the invocation's) looks again; the fleet's context stays pending until then.
    return o;
  }
}

/** The newest status of every context on the commit (one page of 100 per request; newest first). */
async function clusterStatuses(octokit: Octokit, commit: CommitRef): Promise<Map<string, { state: string; description: string }>> {
  const out = new Map<string, { state: string; description: string }>();
  for (let page = 1; page <= 10; page++) {
    const res = await octokit.rest.repos.listCommitStatusesForRef({ owner: commit.owner, repo: commit.repo, ref: commit.sha, per_page: 100, page });
    for (const s of res.data) {
      const key = (s.context ?? '').toLowerCase();
      if (!out.has(key)) out.set(key, { state: s.state, description: s.description ?? '' });
    }
    if (res.data.length < 100) break;
  }
  return out;
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < items.length) {
      const item = items[i++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
