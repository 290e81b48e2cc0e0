/**
 * Text views of a plan, an apply and a cluster's status, for people (the CLI; a PR comment can
 * reuse them). Pure: the results already hold everything shown, so the same result always
 * reads the same. The words are the engine's (result.ts): a plan says `configure`, an apply
 * `configured`, as kubectl says for its dry-runs and its writes.
 *
 * Objects are named as kubectl names them, `deployment.apps/frontend -n shop`, so a line can be
 * pasted after `kubectl get`. A plan reads like `kubectl diff` condensed to one line per object;
 * an apply like `kubectl apply`'s `<object> created|configured|pruned` lines. Unchanged objects
 * are counted, and listed only on request: on a real cluster they are most of the list.
 */
import type { ErrorInfo } from './errors.ts';
import type { ClusterStatus, RunSummary } from './inventory.ts';
import { Reasons } from './result.ts';
import type { ApplyResult, ObjectResult, PlanEntry, PlanResult } from './result.ts';

export interface RenderOptions {
  /** List unchanged objects too (default: only counted). */
  readonly showUnchanged?: boolean;
}

/** How many changed fields an apply line names before "and N more" (a plan lists them all). */
const APPLY_FIELDS_SHOWN = 5;

type Named = Pick<PlanEntry, 'group' | 'kind' | 'namespace' | 'name'>;

/** `deployment.apps/frontend -n shop`, `namespace/shop`: kubectl's spelling. */
export function objectName(o: Named): string {
  const type = o.group ? `${o.kind.toLowerCase()}.${o.group}` : o.kind.toLowerCase();
  return `${type}/${o.name}${o.namespace ? ` -n ${o.namespace}` : ''}`;
}

/** A full SHA-1/SHA-256 shortened to 7 characters as git does; anything else as given. */
export function shortCommit(commit: string): string {
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit) ? commit.slice(0, 7) : commit;
}

export function formatErrorInfo(e: { readonly code: string; readonly message: string }): string {
  return `${e.code}: ${e.message}`;
}

function formatDuration(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Nonzero extras after the counts that are always shown. */
function extras(parts: readonly [number, string][]): string {
  return parts
    .filter(([n]) => n > 0)
    .map(([n, what]) => `, ${n} ${what}`)
    .join('');
}

// --- plan ---------------------------------------------------------------------------------

const PLAN_SYMBOL: Readonly<Record<PlanEntry['action'], string>> = {
  create: '+',
  configure: '~',
  prune: '-',
  failed: '!',
  skipped: '=',
  unchanged: ' ',
};

function planEntryLines(e: PlanEntry): string[] {
  const name = objectName(e);
  const symbol = PLAN_SYMBOL[e.action];
  switch (e.action) {
    case 'failed':
      return [`${symbol} ${name}: ${e.error ? formatErrorInfo(e.error) : 'failed'}`];
    case 'skipped':
      return [`${symbol} ${name}: left alone${e.reason ? ` (${e.reason})` : ''}${e.error ? `: ${formatErrorInfo(e.error)}` : ''}`];
    case 'configure': {
      // Adoption is worth a word on the object's line; other reasons are notes.
      const adopt = e.reason === Reasons.adopt ? ` (${e.reason})` : '';
      return [`${symbol} ${name}${adopt}`, ...(e.fields ?? []).map((f) => `    ${f}`), ...takeoverLines(e, '    ')];
    }
    case 'create':
    case 'prune':
    case 'unchanged':
      return [`${symbol} ${name}`, ...takeoverLines(e, '    ')];
  }
}

function takeoverLines(e: Pick<PlanEntry, 'takenOverFrom'>, indent: string): string[] {
  return (e.takenOverFrom ?? []).map((t) => `${indent}fields taken over from ${t.manager}: ${t.fields.join(', ')}`);
}

/** `Plan: 3 to create, 1 to configure, 0 to prune, 21 unchanged.` (+ left alone / failed when any). */
export function planSummary(counts: PlanResult['counts']): string {
  return (
    `Plan: ${counts.create} to create, ${counts.configure} to configure, ${counts.prune} to prune, ${counts.unchanged} unchanged` +
    `${extras([
      [counts.skipped, 'left alone'],
      [counts.failed, 'failed'],
    ])}.`
  );
}

/**
 * One line per object that would change (changed fields listed under an update), failures with
 * the API server's message, then the summary line. The run-level error is not included: see
 * `renderRunError`.
 */
export function renderPlan(result: PlanResult, opts: RenderOptions = {}): string {
  const listed = result.objects.filter((e) => e.action !== 'unchanged' || opts.showUnchanged);
  const lines = listed.flatMap(planEntryLines);
  const notValidated: readonly string[] = Object.values(Reasons.notValidated);
  const unvalidated = result.objects.filter((e) => e.action === 'create' && e.reason !== undefined && notValidated.includes(e.reason)).length;
  if (unvalidated > 0) {
    lines.push(
      '',
      `Note: ${unvalidated} object${unvalidated === 1 ? ' was' : 's were'} not checked by a dry-run: ` +
        'the Namespace or CustomResourceDefinition they need is created by this commit.',
    );
  }
  if (lines.length > 0) lines.push('');
  lines.push(planSummary(result.counts));
  return `${lines.join('\n')}\n`;
}

// --- apply --------------------------------------------------------------------------------

function fieldList(fields: readonly string[]): string {
  if (fields.length <= APPLY_FIELDS_SHOWN) return fields.join(', ');
  return `${fields.slice(0, APPLY_FIELDS_SHOWN).join(', ')} and ${fields.length - APPLY_FIELDS_SHOWN} more`;
}

function applyEntryLines(r: ObjectResult): string[] {
  const name = objectName(r);
  let line: string;
  switch (r.action) {
    case 'failed':
      line = `${name} failed: ${r.error ? formatErrorInfo(r.error) : 'unknown error'}`;
      break;
    case 'skipped':
      line = `${name} skipped${r.reason ? ` (${r.reason})` : ''}${r.error ? `: ${r.error.message}` : ''}`;
      break;
    case 'configured': {
      const details = [...(r.fields && r.fields.length > 0 ? [fieldList(r.fields)] : []), ...(r.reason ? [r.reason] : [])];
      line = `${name} configured${details.length > 0 ? ` (${details.join('; ')})` : ''}`;
      break;
    }
    case 'created':
    case 'pruned':
    case 'unchanged':
      line = `${name} ${r.action}${r.reason ? ` (${r.reason})` : ''}`;
      break;
  }
  return [line, ...takeoverLines(r, '  ')];
}

function applyCounts(counts: ApplyResult['counts']): string {
  return (
    `${counts.created} created, ${counts.configured} configured, ${counts.pruned} pruned, ${counts.unchanged} unchanged` +
    extras([
      [counts.skipped, 'skipped'],
      [counts.failed, 'failed'],
    ])
  );
}

/** The last line of an apply: what happened to which commit on which cluster, counts, time. */
export function applySummary(result: ApplyResult, cluster: string): string {
  const commit = shortCommit(result.commit);
  const tail = `${applyCounts(result.counts)} (${formatDuration(result.durationMs)}).`;
  switch (result.status) {
    case 'applied':
      return `Applied commit ${commit} to cluster ${cluster}: ${tail}`;
    case 'partial':
      return `Applied commit ${commit} to cluster ${cluster} with errors: ${tail}`;
    case 'failed':
      return `Failed to apply commit ${commit} to cluster ${cluster}: ${tail}`;
    case 'superseded':
      return (
        `Nothing applied: cluster ${cluster} already has commit ${shortCommit(result.supersededBy ?? '?')}, ` +
        `which is newer than ${commit} (superseded).`
      );
  }
}

/** `kubectl apply`-like lines for every object that changed, failed or was skipped, then the summary. */
export function renderApply(result: ApplyResult, cluster: string, opts: RenderOptions = {}): string {
  const listed = result.objects.filter((r) => r.action !== 'unchanged' || opts.showUnchanged);
  return `${[...listed.flatMap(applyEntryLines), applySummary(result, cluster)].join('\n')}\n`;
}

// --- run-level errors ---------------------------------------------------------------------

/** The error that stopped a plan or an apply as a whole, with what to do about it. */
export function renderRunError(error: ErrorInfo): string {
  const hints: string[] = [];
  if (error.code === 'KNV2006') {
    hints.push('If deleting them is intended, run again with --allow-delete-all.');
  } else if (error.retryable) {
    hints.push('This is temporary: the same command should succeed when run again later.');
  }
  return `Error: ${formatErrorInfo(error)}\n${hints.map((h) => `${h}\n`).join('')}`;
}

// --- status -------------------------------------------------------------------------------

function summaryCounts(s: RunSummary): string {
  const c = (k: string): number => s.counts[k] ?? 0;
  return (
    `${c('created')} created, ${c('configured')} configured, ${c('pruned')} pruned, ${c('unchanged')} unchanged` +
    extras([
      [c('skipped'), 'skipped'],
      [c('failed'), 'failed'],
    ])
  );
}

export interface StatusView {
  readonly status: ClusterStatus;
  /** Objects carrying the ApplySet's part-of label now; undefined when not counted. */
  readonly members?: number;
}

/** What the cluster's inventory records: last full apply, last attempt, its counts and errors. */
export function renderStatus(view: StatusView): string {
  const { inventory, state } = view.status;
  const where = `${inventory.namespace}/${inventory.name}`;
  if (!state.exists) {
    return `No pushsync inventory ${where} on this cluster: nothing has been applied with it.\n`;
  }
  const rows: [string, string][] = [
    ['Inventory', `configmap ${where} (ApplySet ${inventory.id})`],
    ['Applied in full', state.appliedCommit ? `commit ${state.appliedCommit} at ${state.appliedAt ?? '?'}` : 'never'],
  ];
  if (state.lastCommit) {
    rows.push(['Last attempt', `commit ${state.lastCommit} at ${state.lastAt ?? '?'}: ${state.lastStatus ?? 'did not finish'}`]);
  }
  const summary = state.summary;
  if (summary) rows.push(['Last run', `${summaryCounts(summary)} (commit ${shortCommit(summary.commit)})`]);
  const namespaces = state.namespaces.length;
  const holds = view.members === undefined ? '' : `${view.members} object${view.members === 1 ? '' : 's'}; `;
  rows.push([
    'Objects',
    `${holds}kinds ${state.groupKinds.length > 0 ? state.groupKinds.join(', ') : '(none)'}` +
      `${namespaces > 0 ? ` in ${namespaces} namespace${namespaces === 1 ? '' : 's'} (${state.namespaces.join(', ')})` : ''}`,
  ]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  const lines = rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`);

  const errors = [...(summary?.error ? [`run: ${formatErrorInfo(summary.error)}`] : []), ...(summary?.errors ?? []).map((e) => `${e.id}: ${formatErrorInfo(e)}`)];
  if (errors.length > 0) {
    lines.push('', `Errors of the last run (${errors.length}):`, ...errors.map((e) => `  ${e}`));
  }
  return `${lines.join('\n')}\n`;
}
