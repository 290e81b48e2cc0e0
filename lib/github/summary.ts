/**
 * What pushsync writes on a commit, as pure text: status contexts and descriptions within
 * GitHub's limits, check-run markdown, and annotations for vet errors. No I/O (report.ts posts).
 *
 * Lengths are counted in UTF-16 code units (JavaScript's `length`), never fewer than GitHub's
 * character count, and cuts never split a surrogate pair.
 */
import { createHash } from 'node:crypto';

export const CONTEXT_PREFIX = 'pushsync/';
export const MAX_CONTEXT = 255;
export const MAX_DESCRIPTION = 140;
/** GitHub's limit for a check run's `summary` and `text`. */
export const MAX_CHECK_TEXT = 65_535;
export const MAX_ANNOTATION_MESSAGE = 64 * 1024 - 1;
export const MAX_ANNOTATION_TITLE = 255;
const ELLIPSIS = '…';

// ---- statuses ------------------------------------------------------------------------------

/**
 * `pushsync/<name>` (name: `vet` or a cluster). Over 255 characters, the end is replaced by a
 * hash of the whole context, so two long names never share a context (Atlantis does the same).
 * GitHub compares contexts case-insensitively: cluster names differing only in case collide.
 */
export function statusContext(name: string): string {
  const full = `${CONTEXT_PREFIX}${name}`;
  if (full.length <= MAX_CONTEXT) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 10);
  return `${sliceStart(full, MAX_CONTEXT - hash.length - 1)}~${hash}`;
}

/**
 * One line of at most `max` characters. When too long, keeps the start (what failed, where) and
 * the end (totals, the end of the message) around an ellipsis.
 */
export function fitDescription(text: string, max = MAX_DESCRIPTION): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  const budget = max - ELLIPSIS.length;
  const head = sliceStart(line, Math.ceil(budget / 2)).trimEnd();
  const tail = sliceEnd(line, budget - head.length).trimStart();
  return `${head}${ELLIPSIS}${tail}`;
}

/**
 * Long output keeps its end (errors and totals are last): whole lines are dropped from the
 * start, with a note saying how many, until the text fits in `max`.
 */
export function keepEnd(text: string, max = MAX_CHECK_TEXT): string {
  if (text.length <= max) return text;
  const lines = text.split('\n');
  let kept = 0;
  let size = 0;
  // Reserve room for the note; its length depends on the count, 64 is more than it needs.
  const budget = max - 64;
  for (let i = lines.length - 1; i >= 0; i--) {
    const add = (lines[i] ?? '').length + (kept === 0 ? 0 : 1);
    if (size + add > budget) break;
    size += add;
    kept++;
  }
  if (kept === 0) {
    // One enormous last line: keep its end.
    return `${ELLIPSIS} (output cut to its last ${budget} characters)\n${sliceEnd(lines[lines.length - 1] ?? '', budget)}`;
  }
  const dropped = lines.length - kept;
  return `${ELLIPSIS} (${dropped} earlier ${dropped === 1 ? 'line' : 'lines'} omitted)\n${lines.slice(dropped).join('\n')}`;
}

// ---- vet -----------------------------------------------------------------------------------

/** The fields of a VetError (lib/repo/types.ts) that reporting uses. */
export interface ReportedError {
  readonly code: string;
  readonly message: string;
  /** Relative to the policy dir; a directory ends in `/`. */
  readonly path?: string;
  readonly line?: number;
  readonly column?: number;
}

export interface VetOutcome {
  readonly errors: readonly ReportedError[];
  /** Objects declared (for the success wording). */
  readonly objects?: number;
  /** Clusters vetted, when more than the default one. */
  readonly clusters?: number;
  /** The policy dir relative to the repository root, for repo-relative paths. */
  readonly policyDir: string;
}

/** `vet passed: 42 objects` or `3 errors. KNV1029 policy/a.yaml:12: …`. */
export function describeVet(v: VetOutcome): string {
  const first = v.errors[0];
  if (first === undefined) {
    const parts = [v.objects === undefined ? undefined : plural(v.objects, 'object')];
    if (v.clusters !== undefined && v.clusters > 1) parts.push(`${v.clusters} clusters`);
    const detail = parts.filter((p) => p !== undefined).join(', ');
    return fitDescription(detail === '' ? 'vet passed' : `vet passed: ${detail}`);
  }
  const where = locationOf(first, v.policyDir);
  return fitDescription(`${plural(v.errors.length, 'error')}. ${first.code}${where ? ` ${where}` : ''}: ${first.message}`);
}

export interface CheckOutput {
  readonly title: string;
  readonly summary: string;
  readonly text?: string;
}

export function renderVetOutput(v: VetOutcome): CheckOutput {
  if (v.errors.length === 0) return { title: describeVet(v), summary: `**${describeVet(v)}**` };
  const title = `vet: ${plural(v.errors.length, 'error')}`;
  const unplaced = v.errors.filter((e) => annotationPath(e, v.policyDir) === undefined).length;
  const summary = [
    `**${title}** in ${v.policyDir === '' ? 'the repository root' : `\`${normalizeDir(v.policyDir)}\``}.`,
    '',
    unplaced === 0
      ? 'Each error is annotated on its file and line.'
      : `Errors are annotated on their files; ${plural(unplaced, 'error')} not tied to a file ${unplaced === 1 ? 'is' : 'are'} listed below only.`,
    '',
    '| code | count |',
    '| --- | --- |',
    ...countCodes(v.errors).map(([code, n]) => `| ${code} | ${n} |`),
  ].join('\n');
  const text = v.errors
    .map((e) => {
      const where = locationOf(e, v.policyDir);
      return [`#### ${e.code}${where ? ` ${inlineCode(where)}` : ''}`, '', fence(e.message)].join('\n');
    })
    .join('\n\n');
  return { title, summary: keepEnd(summary), text: keepEnd(text) };
}

export type AnnotationLevel = 'notice' | 'warning' | 'failure';

/** A check-run annotation, as GitHub's API takes it. */
export interface CheckAnnotation {
  readonly path: string;
  readonly start_line: number;
  readonly end_line: number;
  readonly start_column?: number;
  readonly end_column?: number;
  readonly annotation_level: AnnotationLevel;
  readonly message: string;
  readonly title?: string;
}

/** Every vet error that names a file, on its file (repo-relative) and line (1 when unknown). */
export function vetAnnotations(errors: readonly ReportedError[], policyDir: string): CheckAnnotation[] {
  const out: CheckAnnotation[] = [];
  for (const e of errors) {
    const p = annotationPath(e, policyDir);
    if (p === undefined) continue;
    const line = e.line !== undefined && e.line >= 1 ? e.line : 1;
    out.push({
      path: p,
      start_line: line,
      end_line: line,
      ...(e.column !== undefined && e.column >= 1 && e.line !== undefined ? { start_column: e.column, end_column: e.column } : {}),
      annotation_level: 'failure',
      title: sliceStart(e.code, MAX_ANNOTATION_TITLE),
      message: e.message.length > MAX_ANNOTATION_MESSAGE ? `${sliceStart(e.message, MAX_ANNOTATION_MESSAGE - 1)}${ELLIPSIS}` : e.message,
    });
  }
  return out;
}

/** The repo-relative file an error is about, or undefined for repo-wide and directory errors. */
export function annotationPath(e: ReportedError, policyDir: string): string | undefined {
  if (e.path === undefined || e.path === '' || e.path.endsWith('/')) return undefined;
  return repoPath(policyDir, e.path);
}

// ---- cluster runs --------------------------------------------------------------------------

/**
 * The actions of lib/cluster's ApplyResult (past tense) and PlanResult (present), in the
 * engine's words: statuses, check runs and the CLI say the same thing for the same action.
 */
export type ReportAction = 'created' | 'configured' | 'unchanged' | 'pruned' | 'skipped' | 'failed' | 'create' | 'configure' | 'prune';

export interface ReportObject {
  /** `Deployment.apps/shop/web`. */
  readonly id: string;
  readonly action: ReportAction;
  /** Changed field paths (configure/configured). */
  readonly fields?: readonly string[];
  readonly reason?: string;
  readonly error?: { readonly code?: string; readonly message: string };
}

/**
 * One cluster's run, the input of its status and check run. Shaped so an ApplyResult or a
 * PlanResult spreads into it: `{cluster, mode: 'apply', ...applyResult}`.
 */
export interface ClusterReport {
  readonly cluster: string;
  readonly mode: 'apply' | 'plan';
  readonly commit?: string;
  /** Apply runs only. */
  readonly status?: 'applied' | 'partial' | 'failed' | 'superseded';
  readonly supersededBy?: string;
  readonly counts: Readonly<Partial<Record<ReportAction, number>>>;
  readonly objects: readonly ReportObject[];
  /** A failure of the run as a whole. */
  readonly error?: { readonly code?: string; readonly message: string };
  readonly durationMs?: number;
}

interface Tally {
  readonly created: number;
  readonly configured: number;
  readonly unchanged: number;
  readonly pruned: number;
  readonly skipped: number;
  readonly failed: number;
}

function tally(r: ClusterReport): Tally {
  const c = r.counts;
  const n = (...keys: ReportAction[]) => keys.reduce((sum, k) => sum + (c[k] ?? 0), 0);
  return {
    created: n('created', 'create'),
    configured: n('configured', 'configure'),
    unchanged: n('unchanged'),
    pruned: n('pruned', 'prune'),
    skipped: n('skipped'),
    failed: n('failed'),
  };
}

/** Whether the commit's status for this cluster is good news. */
export function clusterSucceeded(r: ClusterReport): boolean {
  if (r.error !== undefined) return false;
  if (r.mode === 'plan') return tally(r).failed === 0;
  return r.status === 'applied' || r.status === 'superseded';
}

/** `applied: 3 created, 1 configured, 40 unchanged, 0 pruned`, `plan: 3 to create, 1 to configure, 0 to prune`, … */
export function describeClusterRun(r: ClusterReport): string {
  const t = tally(r);
  if (r.mode === 'plan') {
    const head = `plan: ${t.created} to create, ${t.configured} to configure, ${t.pruned} to prune`;
    if (r.error !== undefined) return fitDescription(`plan failed: ${r.error.message}`);
    return fitDescription(t.failed > 0 ? `${head}, ${t.failed} failed: ${firstFailure(r)}` : head);
  }
  if (r.status === 'superseded') return fitDescription(`superseded by ${short(r.supersededBy ?? 'a newer commit')}: not applied`);
  const counts = `${t.created} created, ${t.configured} configured, ${t.unchanged} unchanged, ${t.pruned} pruned`;
  if (r.error !== undefined) return fitDescription(`failed: ${r.error.code ? `${r.error.code} ` : ''}${r.error.message}`);
  if (t.failed > 0 || r.status === 'partial' || r.status === 'failed') {
    return fitDescription(`${plural(t.failed, 'object')} failed, ${counts}. ${firstFailure(r)}`);
  }
  return fitDescription(`applied: ${counts}`);
}

/** Markdown for a cluster check run: a table in the summary, the details (diffs, failures last) in text. */
export function renderClusterOutput(reports: readonly ClusterReport[]): CheckOutput {
  const plan = reports.length > 0 && reports.every((r) => r.mode === 'plan');
  const head = plan
    ? '| cluster | result | to create | to configure | unchanged | to prune | skipped | failed |'
    : '| cluster | result | created | configured | unchanged | pruned | skipped | failed |';
  const rows = reports.map((r) => {
    const t = tally(r);
    const result = r.mode === 'plan' ? (clusterSucceeded(r) ? 'plan' : 'plan failed') : (r.status ?? (clusterSucceeded(r) ? 'applied' : 'failed'));
    return `| ${cell(r.cluster)} | ${result} | ${t.created} | ${t.configured} | ${t.unchanged} | ${t.pruned} | ${t.skipped} | ${t.failed} |`;
  });
  const title = reports.length === 1 && reports[0] !== undefined ? describeClusterRun(reports[0]) : plan ? 'plan' : 'apply';
  const summary = [head, '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |', ...rows].join('\n');
  const details = reports.map(renderDetails).filter((d) => d !== '');
  return details.length === 0 ? { title, summary: keepEnd(summary) } : { title, summary: keepEnd(summary), text: keepEnd(details.join('\n\n')) };
}

function renderDetails(r: ClusterReport): string {
  const out: string[] = [];
  const changed = r.objects.filter((o) => o.action !== 'unchanged' && o.action !== 'failed' && o.error === undefined);
  const failed = r.objects.filter((o) => o.action === 'failed' || o.error !== undefined);
  if (r.status === 'superseded') out.push(`Not applied: the cluster already has ${inlineCode(r.supersededBy ?? 'a newer commit')}.`);
  if (changed.length > 0) {
    out.push(r.mode === 'plan' ? '**Changes**' : '**Changed**', '');
    for (const o of changed) {
      out.push(`- ${verb(o.action)} ${inlineCode(o.id)}${o.reason ? ` (${o.reason})` : ''}`);
      for (const f of o.fields ?? []) out.push(`  - ${inlineCode(f)}`);
    }
  }
  if (failed.length > 0) {
    if (out.length > 0) out.push('');
    out.push('**Failed**', '');
    for (const o of failed) out.push(`- ${inlineCode(o.id)}: ${oneLine(o.error?.message ?? o.reason ?? 'failed')}`);
  }
  if (r.error !== undefined) {
    if (out.length > 0) out.push('');
    out.push(`**Run failed**${r.error.code ? ` (${r.error.code})` : ''}`, '', fence(r.error.message));
  }
  if (out.length === 0) return '';
  return [`### ${r.cluster}`, '', ...out].join('\n');
}

function verb(a: ReportAction): string {
  switch (a) {
    case 'create':
      return 'create';
    case 'configure':
      return 'configure';
    case 'prune':
      return 'prune';
    case 'created':
      return 'created';
    case 'configured':
      return 'configured';
    case 'pruned':
      return 'pruned';
    case 'skipped':
      return 'skipped';
    case 'unchanged':
      return 'unchanged';
    case 'failed':
      return 'failed';
    default: {
      const never: never = a;
      return String(never);
    }
  }
}

function firstFailure(r: ClusterReport): string {
  const f = r.objects.find((o) => o.action === 'failed' || o.error !== undefined);
  return f === undefined ? '' : `${f.id}: ${f.error?.message ?? f.reason ?? 'failed'}`;
}

// ---- helpers -------------------------------------------------------------------------------

function locationOf(e: ReportedError, policyDir: string): string | undefined {
  if (e.path === undefined || e.path === '') return undefined;
  const p = repoPath(policyDir, e.path);
  return e.line !== undefined && !e.path.endsWith('/') ? `${p}:${e.line}` : p;
}

function repoPath(policyDir: string, p: string): string {
  const dir = normalizeDir(policyDir);
  return dir === '' ? p : `${dir}/${p}`;
}

function normalizeDir(dir: string): string {
  let d = dir.trim();
  while (d.startsWith('./')) d = d.slice(2);
  d = d.replace(/\/+$/, '');
  return d === '.' ? '' : d;
}

function countCodes(errors: readonly ReportedError[]): [string, number][] {
  const m = new Map<string, number>();
  for (const e of errors) m.set(e.code, (m.get(e.code) ?? 0) + 1);
  return [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function short(sha: string): string {
  return /^[0-9a-f]{40,64}$/i.test(sha) ? sha.slice(0, 7) : sha;
}

function inlineCode(s: string): string {
  return `\`${s.replace(/`/g, "'")}\``;
}

function fence(s: string): string {
  const longest = Math.max(2, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}\n${s}\n${f}`;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s+/g, ' ');
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function isHighSurrogate(code: number | undefined): boolean {
  return code !== undefined && code >= 0xd800 && code <= 0xdbff;
}

/** The first at most `n` code units, not ending inside a surrogate pair. */
export function sliceStart(s: string, n: number): string {
  if (s.length <= n) return s;
  const end = isHighSurrogate(s.charCodeAt(n - 1)) ? n - 1 : n;
  return s.slice(0, Math.max(0, end));
}

/** The last at most `n` code units, not starting inside a surrogate pair. */
export function sliceEnd(s: string, n: number): string {
  if (n <= 0) return '';
  if (s.length <= n) return s;
  const start = s.length - n;
  return s.slice(isHighSurrogate(s.charCodeAt(start - 1)) ? start + 1 : start);
}
