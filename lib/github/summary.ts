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

// ---- rollouts ------------------------------------------------------------------------------

/**
 * One object's health as lib/cluster's rollout check reports it (ObjectHealth), restated here
 * because lib/github takes plain report shapes and never imports lib/cluster: an ObjectHealth
 * is assignable to it.
 */
export interface ReportedHealth {
  /** `Deployment.apps/onlineboutique/cartservice` (as ReportObject.id). */
  readonly id: string;
  readonly group: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly health: {
    readonly status: 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound';
    /** Short: a controller's CamelCase reason or a phrase with counts. */
    readonly reason: string;
    readonly message: string;
  };
  /** Why a workload's pods are not ready (the first pod that says). */
  readonly cause?: { readonly pod: string; readonly container?: string; readonly reason: string; readonly message: string };
}

/** How a rollout ended; absent from a RolloutReport while it is still rolling out. */
export type RolloutVerdict =
  | { readonly kind: 'healthy'; readonly seconds: number }
  | { readonly kind: 'failed'; readonly failed: ReportedHealth }
  | { readonly kind: 'timeout'; readonly timeoutSeconds: number }
  | { readonly kind: 'superseded'; readonly by: string };

export interface RolloutReport {
  readonly cluster: string;
  /** describeApplied(the apply's report), e.g. `applied 25 (3 created)`. */
  readonly applied: string;
  /** Every object of the inventory, in apply order; may be [] for superseded. */
  readonly objects: readonly ReportedHealth[];
  /** Absent: still rolling out (progress). */
  readonly verdict?: RolloutVerdict;
  /** The apply's own report when known (the apply job); its details go under the health table. */
  readonly apply?: ClusterReport;
}

/** `applied 25 (3 created)`: the objects the commit has on the cluster, and what changed to get there. */
export function describeApplied(r: ClusterReport): string {
  const t = tally(r);
  const changed = [
    t.created > 0 ? `${t.created} created` : undefined,
    t.configured > 0 ? `${t.configured} configured` : undefined,
    t.pruned > 0 ? `${t.pruned} pruned` : undefined,
  ].filter((p) => p !== undefined);
  const head = `applied ${t.created + t.configured + t.unchanged}`;
  return changed.length === 0 ? `${head} (unchanged)` : `${head} (${changed.join(', ')})`;
}

/**
 * The status description of a rollout, at most 140 characters:
 * progress `applied 25 (3 created); rolling out: 9/12 Deployments available`,
 * healthy `25 objects healthy in 41 s`, failed `Deployment onlineboutique/cartservice:
 * ProgressDeadlineExceeded; pod cartservice-…: ImagePullBackOff`, timeout `not healthy after 5m: …`,
 * superseded `superseded by abc1234 before its rollout finished`.
 */
export function describeRollout(r: RolloutReport): string {
  const v = r.verdict;
  if (v === undefined) {
    const progress = describeRolloutProgress(r.objects);
    // The progress is what changes from one report to the next: it is kept whole, the apply's part gives way.
    const room = MAX_DESCRIPTION - progress.length - 2;
    return room >= 12 ? `${fitDescription(r.applied, room)}; ${progress}` : fitDescription(progress);
  }
  switch (v.kind) {
    case 'healthy':
      return fitDescription(`${plural(r.objects.length, 'object')} healthy in ${Math.round(v.seconds)} s`);
    case 'failed':
      return describeHealthLine(v.failed);
    case 'timeout': {
      const waiting = r.objects.filter((o) => o.health.status !== 'Current');
      const head = `not healthy after ${formatSeconds(v.timeoutSeconds)}`;
      const first = waiting.find((o) => o.health.status === 'Failed') ?? waiting[0];
      if (first === undefined) return fitDescription(`${head}: ${describeRolloutProgress(r.objects)}`);
      const more = waiting.length > 1 ? ` (and ${waiting.length - 1} more)` : '';
      return `${head}: ${describeHealthLine(first, MAX_DESCRIPTION - head.length - 2 - more.length)}${more}`;
    }
    case 'superseded':
      return fitDescription(`superseded by ${short(v.by)} before its rollout finished`);
    default: {
      const never: never = v;
      return String(never);
    }
  }
}

/**
 * `rolling out: 9/12 Deployments available, 2 other objects in progress`: the workloads by kind
 * (Current of all), then how many other objects are not Current yet. The same words as
 * lib/cluster's describeProgress (the CLI's), restated because lib/github does not import lib/cluster.
 */
export function describeRolloutProgress(objects: readonly ReportedHealth[]): string {
  const parts: string[] = [];
  const counted = new Set<ReportedHealth>();
  for (const [kind, done] of PROGRESS_KINDS) {
    const of = objects.filter((o) => o.group === 'apps' && o.kind === kind);
    if (of.length === 0) continue;
    of.forEach((o) => counted.add(o));
    const current = of.filter((o) => o.health.status === 'Current').length;
    parts.push(`${current}/${of.length} ${kind}${of.length === 1 ? '' : 's'} ${done}`);
  }
  const others = objects.filter((o) => !counted.has(o) && o.health.status !== 'Current').length;
  if (others > 0) parts.push(`${others} other ${others === 1 ? 'object' : 'objects'} in progress`);
  if (parts.length === 0) return `rolling out: ${objects.length}/${plural(objects.length, 'object')} healthy`;
  return `rolling out: ${parts.join(', ')}`;
}

/** The workload kinds progress counts by name, with the word for "done" (kubectl's columns). */
const PROGRESS_KINDS: readonly (readonly [kind: string, done: string])[] = [
  ['Deployment', 'available'],
  ['StatefulSet', 'ready'],
  ['DaemonSet', 'available'],
];

/**
 * `Deployment onlineboutique/cartservice: ProgressDeadlineExceeded; pod cartservice-…: ImagePullBackOff`
 * in at most `max` characters. What gives way first is the pod's generated name (its start
 * says which workload it is), then the middle of the whole line.
 */
export function describeHealthLine(o: ReportedHealth, max = MAX_DESCRIPTION): string {
  const where = o.namespace ? `${o.namespace}/${o.name}` : o.name;
  const line = (w: string, pod?: string) => oneLine(`${o.kind} ${w}: ${o.health.reason}${pod === undefined ? '' : `; pod ${pod}: ${o.cause?.reason ?? ''}`}`);
  const full = line(where, o.cause?.pod);
  if (full.length <= max) return full;
  if (o.cause === undefined) {
    const room = max - (full.length - where.length);
    return room >= MIN_NAME ? line(fitDescription(where, room)) : fitDescription(full, max);
  }
  const podRoom = o.cause.pod.length - (full.length - max) - ELLIPSIS.length;
  if (podRoom >= MIN_NAME) return line(where, `${sliceStart(o.cause.pod, podRoom)}${ELLIPSIS}`);
  // The pod keeps the start of its name (which workload it is); then the object's name gives way, in its middle.
  const pod = `${sliceStart(o.cause.pod, MIN_NAME)}${ELLIPSIS}`;
  const room = max - (line(where, pod).length - where.length);
  return room >= MIN_NAME ? line(fitDescription(where, room), pod) : fitDescription(line(where, pod), max);
}

/** Below this many characters a shortened name says nothing: the line is cut as any other. */
const MIN_NAME = 12;

/**
 * A rollout's check run. Title: the status line. Summary: the verdict, the apply line, the
 * problem objects' messages, and the health table (object | health | reason) with the objects
 * that need attention first; a table too long for GitHub ends with `and N more`. Text: the
 * apply's details (renderClusterOutput's) when `r.apply` is given, else `keptText` (the details a
 * previous report left in the same check run).
 */
export function renderRolloutOutput(r: RolloutReport, keptText?: string): CheckOutput {
  const title = describeRollout(r);
  const lines: string[] = [`**${rolloutHeadline(r)}**`];
  if (r.applied !== '') lines.push('', `Apply: ${oneLine(r.applied)}.`);
  // What needs attention, spelled out: the failed objects; after a timeout, those still not ready.
  const failedOnly = r.objects.filter((o) => o.health.status === 'Failed');
  const failed = failedOnly.length > 0 || r.verdict?.kind !== 'timeout' ? failedOnly : r.objects.filter((o) => o.health.status !== 'Current');
  const shown = failed.slice(0, MAX_DETAILED);
  if (shown.length > 0) {
    lines.push('');
    for (const o of shown) {
      lines.push(`- ${inlineCode(o.id)}: ${fitDescription(o.health.message, MAX_DETAIL)}`);
      if (o.cause) {
        const container = o.cause.container ? ` container ${inlineCode(o.cause.container)}` : '';
        lines.push(`  - pod ${inlineCode(o.cause.pod)}${container}: ${o.cause.reason}: ${fitDescription(o.cause.message, MAX_DETAIL)}`);
      }
    }
    if (failed.length > shown.length) lines.push(`- and ${failed.length - shown.length} more (in the table)`);
  }
  const head = lines.join('\n');
  const summary = r.objects.length === 0 ? head : `${head}\n\n${healthTable(r.objects, MAX_CHECK_TEXT - head.length - 2)}`;
  const text = r.apply !== undefined ? renderClusterOutput([r.apply]).text : keptText;
  return text === undefined || text === '' ? { title, summary } : { title, summary, text: keepEnd(text) };
}

function rolloutHeadline(r: RolloutReport): string {
  const v = r.verdict;
  if (v === undefined) return `Rolling out on ${r.cluster}: ${describeRolloutProgress(r.objects).replace(/^rolling out: /, '')}`;
  switch (v.kind) {
    case 'healthy':
      return `Healthy on ${r.cluster}: ${plural(r.objects.length, 'object')} in ${Math.round(v.seconds)} s`;
    case 'failed':
      return `Failed on ${r.cluster}: ${oneLine(describeHealthLine(v.failed, Number.POSITIVE_INFINITY))}`;
    case 'timeout': {
      const waiting = r.objects.filter((o) => o.health.status !== 'Current').length;
      return `Not healthy on ${r.cluster} after ${formatSeconds(v.timeoutSeconds)}: ${plural(waiting, 'object')} still not ready`;
    }
    case 'superseded':
      return `Superseded on ${r.cluster} by ${inlineCode(v.by)} before its rollout finished: no verdict for this commit`;
    default: {
      const never: never = v;
      return String(never);
    }
  }
}

/** Failed objects whose messages the summary spells out, and how long each message may be. */
const MAX_DETAILED = 10;
const MAX_DETAIL = 500;

const HEALTH_ORDER: Readonly<Record<ReportedHealth['health']['status'], number>> = { Failed: 0, InProgress: 1, Terminating: 2, NotFound: 3, Current: 4 };

/**
 * `| object | health | reason |`, Failed first, then the ones still moving, Current last (stable
 * within each). Rows stop where the next would pass `max`, with a last line saying what is left.
 */
function healthTable(objects: readonly ReportedHealth[], max: number): string {
  const sorted = objects
    .map((o, i) => ({ o, i }))
    .sort((a, b) => HEALTH_ORDER[a.o.health.status] - HEALTH_ORDER[b.o.health.status] || a.i - b.i)
    .map((x) => x.o);
  const out = ['| object | health | reason |', '| --- | --- | --- |'];
  // Room for the closing line ("and 12345 more objects: …"); 200 is more than it needs.
  const budget = max - 200;
  let size = out.join('\n').length;
  let rows = 0;
  for (const o of sorted) {
    const reason = o.cause ? `${o.health.reason}; pod ${inlineCode(o.cause.pod)}: ${o.cause.reason}` : o.health.reason;
    const row = `| ${cell(inlineCode(o.id))} | ${o.health.status} | ${cell(reason)} |`;
    if (size + 1 + row.length > budget) break;
    out.push(row);
    size += 1 + row.length;
    rows++;
  }
  const left = sorted.slice(rows);
  if (left.length > 0) {
    const byStatus = new Map<string, number>();
    for (const o of left) byStatus.set(o.health.status, (byStatus.get(o.health.status) ?? 0) + 1);
    out.push('', `and ${left.length} more ${left.length === 1 ? 'object' : 'objects'}: ${[...byStatus].map(([s, n]) => `${n} ${s}`).join(', ')}`);
  }
  return out.join('\n');
}

/** `5m`, `90s`: a timeout as `clusters register --health-timeout` takes it (and lib/sync words it). */
function formatSeconds(total: number): string {
  const s = Math.max(0, Math.round(total));
  return s >= 60 && s % 60 === 0 ? `${s / 60}m` : `${s}s`;
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
