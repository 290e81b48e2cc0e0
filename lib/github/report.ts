/**
 * Results on the commit: a status per context always (works with any token), and a check run
 * per context when authenticated as a GitHub App (summary, details, annotations). One context
 * per target — `pushsync/vet`, `pushsync/<cluster>` — written only by its owner.
 */
import type { Octokit } from '@octokit/rest';
import { redactText } from '../log.ts';
import type { CheckAnnotation, CheckOutput, ClusterReport, RolloutReport, RolloutVerdict, VetOutcome } from './summary.ts';
import {
  clusterSucceeded,
  describeClusterRun,
  describeRollout,
  describeVet,
  fitDescription,
  keepEnd,
  renderClusterOutput,
  renderRolloutOutput,
  renderVetOutput,
  statusContext,
  vetAnnotations,
} from './summary.ts';

/** GitHub accepts at most 50 annotations per check-run request. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** Beyond this many, annotations are left to the text (each 50 costs one API call). */
export const DEFAULT_MAX_ANNOTATIONS = 1000;

export interface CommitRef {
  readonly owner: string;
  readonly repo: string;
  readonly sha: string;
}

export type StatusState = 'pending' | 'success' | 'failure' | 'error';

export interface StatusInput extends CommitRef {
  /** `vet` or a cluster name: the context is `pushsync/<name>` (see statusContext). */
  readonly name: string;
  readonly state: StatusState;
  /** Fitted to 140 characters (start and end kept). */
  readonly description: string;
  readonly targetUrl?: string;
}

export async function postStatus(octokit: Octokit, s: StatusInput): Promise<void> {
  await octokit.rest.repos.createCommitStatus({
    owner: s.owner,
    repo: s.repo,
    sha: s.sha,
    context: statusContext(s.name),
    state: s.state,
    // Redacted before fitting: a cut through a secret would leave a piece nothing recognises.
    description: fitDescription(redactText(s.description)),
    ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
  });
}

export type CheckConclusion = 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required';

export interface CheckRunStart extends CommitRef {
  /** Same as the status: `vet` or a cluster name. */
  readonly name: string;
  readonly detailsUrl?: string;
  readonly title?: string;
  readonly summary?: string;
}

/** Create an in-progress check run (the "pending" of an App); returns its id for completeCheckRun. */
export async function startCheckRun(octokit: Octokit, c: CheckRunStart): Promise<number> {
  const res = await octokit.rest.checks.create({
    owner: c.owner,
    repo: c.repo,
    head_sha: c.sha,
    name: statusContext(c.name),
    status: 'in_progress',
    started_at: new Date().toISOString(),
    ...(c.detailsUrl ? { details_url: c.detailsUrl } : {}),
    ...(c.title !== undefined ? { output: { title: redactText(c.title), summary: redactText(c.summary ?? '') } } : {}),
  });
  return res.data.id;
}

export interface CheckRunCompletion extends CommitRef {
  readonly name: string;
  readonly conclusion: CheckConclusion;
  readonly output: CheckOutput;
  readonly annotations?: readonly CheckAnnotation[];
  /** From startCheckRun; without it a new (completed) run is created. */
  readonly checkRunId?: number;
  readonly detailsUrl?: string;
  readonly maxAnnotations?: number;
}

export interface CheckRunWritten {
  readonly id: number;
  /** API requests made (annotation batches of 50 each cost one). */
  readonly requests: number;
  /** Annotations beyond maxAnnotations, left to the text. */
  readonly annotationsDropped: number;
}

/**
 * Finish a check run with its output and every annotation, 50 per request: the first batch rides
 * on the create (or first update), the rest on updates, and the conclusion on the last one.
 * 120 annotations on a new run = POST + PATCH + PATCH.
 */
export async function completeCheckRun(octokit: Octokit, c: CheckRunCompletion): Promise<CheckRunWritten> {
  const max = c.maxAnnotations ?? DEFAULT_MAX_ANNOTATIONS;
  const all = c.annotations ?? [];
  const annotations = all.slice(0, max);
  const dropped = all.length - annotations.length;
  const output = redactOutput(
    dropped === 0 ? c.output : { ...c.output, summary: `${c.output.summary}\n\n${dropped} more annotations were not posted; every error is in the details below.` },
  );
  const batches: (readonly CheckAnnotation[])[] = [];
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST).map(redactAnnotation));
  if (batches.length === 0) batches.push([]);

  const base = { owner: c.owner, repo: c.repo };
  const body = (batch: readonly CheckAnnotation[], last: boolean) => ({
    output: { title: output.title, summary: output.summary, ...(output.text !== undefined ? { text: output.text } : {}), ...(batch.length > 0 ? { annotations: [...batch] } : {}) },
    ...(last ? { conclusion: c.conclusion, completed_at: new Date().toISOString() } : {}),
    ...(c.detailsUrl ? { details_url: c.detailsUrl } : {}),
  });

  let id = c.checkRunId;
  let requests = 0;
  for (const [i, batch] of batches.entries()) {
    const last = i === batches.length - 1;
    if (id === undefined) {
      const res = await octokit.rest.checks.create({
        ...base,
        head_sha: c.sha,
        name: statusContext(c.name),
        ...body(batch, last),
        ...(last ? {} : { status: 'in_progress' as const }),
      });
      id = res.data.id;
    } else {
      await octokit.rest.checks.update({ ...base, check_run_id: id, ...body(batch, last) });
    }
    requests++;
  }
  // The loop ran at least once and set id.
  return { id: id ?? -1, requests, annotationsDropped: dropped };
}

/** Masking can lengthen a text ("[redacted]" for a short value): fitted again to GitHub's limit. */
function redactOutput(o: CheckOutput): CheckOutput {
  return { title: redactText(o.title), summary: keepEnd(redactText(o.summary)), ...(o.text !== undefined ? { text: keepEnd(redactText(o.text)) } : {}) };
}

function redactAnnotation(a: CheckAnnotation): CheckAnnotation {
  return { ...a, message: redactText(a.message), ...(a.title !== undefined ? { title: redactText(a.title) } : {}) };
}

// ---- one call per thing to report ------------------------------------------------------------

export interface ReportOptions {
  /** Post check runs too (only an App installation may). */
  readonly checkRuns: boolean;
  readonly targetUrl?: string;
}

/** `pushsync/vet`: the status, and with an App the check run with every error annotated. */
export async function reportVet(octokit: Octokit, commit: CommitRef, vet: VetOutcome, options: ReportOptions): Promise<void> {
  const ok = vet.errors.length === 0;
  await postStatus(octokit, { ...commit, name: 'vet', state: ok ? 'success' : 'failure', description: describeVet(vet), ...target(options) });
  if (!options.checkRuns) return;
  await completeCheckRun(octokit, {
    ...commit,
    name: 'vet',
    conclusion: ok ? 'success' : 'failure',
    output: renderVetOutput(vet),
    annotations: vetAnnotations(vet.errors, vet.policyDir),
    ...(options.targetUrl ? { detailsUrl: options.targetUrl } : {}),
  });
}

/**
 * `pushsync/<cluster>` is pending: the status, and with an App an in-progress check run whose id
 * the apply can pass back to reportCluster (undefined without check runs).
 */
export async function reportPending(
  octokit: Octokit,
  commit: CommitRef,
  cluster: string,
  description: string,
  options: ReportOptions,
): Promise<number | undefined> {
  await postStatus(octokit, { ...commit, name: cluster, state: 'pending', description, ...target(options) });
  if (!options.checkRuns) return undefined;
  return startCheckRun(octokit, { ...commit, name: cluster, title: description, summary: description, ...(options.targetUrl ? { detailsUrl: options.targetUrl } : {}) });
}

/** A cluster's apply or plan result on `pushsync/<cluster>`. */
export async function reportCluster(
  octokit: Octokit,
  commit: CommitRef,
  report: ClusterReport,
  options: ReportOptions & { readonly checkRunId?: number },
): Promise<void> {
  const ok = clusterSucceeded(report);
  await postStatus(octokit, { ...commit, name: report.cluster, state: ok ? 'success' : 'failure', description: describeClusterRun(report), ...target(options) });
  if (!options.checkRuns) return;
  await completeCheckRun(octokit, {
    ...commit,
    name: report.cluster,
    conclusion: report.status === 'superseded' ? 'neutral' : ok ? 'success' : 'failure',
    output: renderClusterOutput([report]),
    ...(options.checkRunId !== undefined ? { checkRunId: options.checkRunId } : {}),
    ...(options.targetUrl ? { detailsUrl: options.targetUrl } : {}),
  });
}

/** How a job ended for one context (`vet` or a cluster), whatever the path. */
export interface ContextConclusion {
  /** `vet` or a cluster name, as for postStatus. */
  readonly name: string;
  readonly state: Exclude<StatusState, 'pending'>;
  readonly description: string;
  /** The check run's conclusion; default `success` for success, `failure` otherwise. */
  readonly conclusion?: CheckConclusion;
}

/**
 * Put a context in a final state: its status, and with an App its check run — the one
 * reportPending started (`checkRunId`), or a new completed one. Both writes are attempted even
 * when one fails, so a status error never leaves a check run `in_progress`; the first failure
 * is then thrown.
 */
export async function concludeContext(
  octokit: Octokit,
  commit: CommitRef,
  c: ContextConclusion,
  options: ReportOptions & { readonly checkRunId?: number | undefined },
): Promise<void> {
  const writes: Promise<unknown>[] = [postStatus(octokit, { ...commit, name: c.name, state: c.state, description: c.description, ...target(options) })];
  if (options.checkRuns) {
    writes.push(
      completeCheckRun(octokit, {
        ...commit,
        name: c.name,
        conclusion: c.conclusion ?? (c.state === 'success' ? 'success' : 'failure'),
        // Redacted before fitting, as postStatus does: a cut through a secret would hide it from redaction.
        output: { title: fitDescription(redactText(c.description)), summary: c.description },
        ...(options.checkRunId !== undefined ? { checkRunId: options.checkRunId } : {}),
        ...(options.targetUrl ? { detailsUrl: options.targetUrl } : {}),
      }),
    );
  }
  const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

// ---- rollouts --------------------------------------------------------------------------------

/**
 * A rollout still under way: `pushsync/<cluster>` pending with the progress
 * (`applied 25 (3 created); rolling out: 9/12 Deployments available`), and with an App the
 * check run reportPending started, updated and still in_progress. Without its id no run is
 * touched: a new in-progress run here would be one nobody completes (reportRollout creates a
 * completed one). Both writes are attempted even when one fails; the first failure is thrown.
 */
export async function reportRolloutProgress(
  octokit: Octokit,
  commit: CommitRef,
  r: RolloutReport,
  options: ReportOptions & { readonly checkRunId?: number | undefined },
): Promise<void> {
  const writes: Promise<unknown>[] = [postStatus(octokit, { ...commit, name: r.cluster, state: 'pending', description: describeRollout(r), ...target(options) })];
  const id = options.checkRunId;
  if (options.checkRuns && id !== undefined) {
    writes.push(
      (async () => {
        const kept = r.apply === undefined ? await keptCheckRunText(octokit, commit, id) : undefined;
        const output = redactOutput(renderRolloutOutput(r, kept));
        await octokit.rest.checks.update({
          owner: commit.owner,
          repo: commit.repo,
          check_run_id: id,
          status: 'in_progress',
          output: { title: output.title, summary: output.summary, ...(output.text !== undefined ? { text: output.text } : {}) },
          ...(options.targetUrl ? { details_url: options.targetUrl } : {}),
        });
      })(),
    );
  }
  await settle(writes);
}

/**
 * A rollout's verdict on `pushsync/<cluster>`. Status: healthy → success, failed and timeout →
 * failure, superseded → error (never green: this commit's rollout did not finish, a newer one
 * replaced it). Check run: success / failure / timed_out / neutral. Without `r.apply` (a later
 * health check), the apply's details already in the check run (its output.text) are read back
 * with one GET and kept under the health table. Both writes are attempted even when one fails.
 */
export async function reportRollout(
  octokit: Octokit,
  commit: CommitRef,
  r: RolloutReport & { readonly verdict: RolloutVerdict },
  options: ReportOptions & { readonly checkRunId?: number | undefined },
): Promise<void> {
  const outcome = rolloutOutcome(r.verdict);
  const writes: Promise<unknown>[] = [postStatus(octokit, { ...commit, name: r.cluster, state: outcome.state, description: describeRollout(r), ...target(options) })];
  if (options.checkRuns) {
    const id = options.checkRunId;
    writes.push(
      (async () => {
        const kept = r.apply === undefined && id !== undefined ? await keptCheckRunText(octokit, commit, id) : undefined;
        await completeCheckRun(octokit, {
          ...commit,
          name: r.cluster,
          conclusion: outcome.conclusion,
          output: renderRolloutOutput(r, kept),
          ...(id !== undefined ? { checkRunId: id } : {}),
          ...(options.targetUrl ? { detailsUrl: options.targetUrl } : {}),
        });
      })(),
    );
  }
  await settle(writes);
}

/** The status state and check-run conclusion of each verdict. */
export function rolloutOutcome(v: RolloutVerdict): { readonly state: Exclude<StatusState, 'pending'>; readonly conclusion: CheckConclusion } {
  switch (v.kind) {
    case 'healthy':
      return { state: 'success', conclusion: 'success' };
    case 'failed':
      return { state: 'failure', conclusion: 'failure' };
    case 'timeout':
      return { state: 'failure', conclusion: 'timed_out' };
    case 'superseded':
      return { state: 'error', conclusion: 'neutral' };
    default: {
      const never: never = v;
      throw new Error(`unknown rollout verdict ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The details a previous report left in the check run (the apply's changes), or undefined. A
 * failed read costs only those details: the verdict is still written.
 */
async function keptCheckRunText(octokit: Octokit, commit: CommitRef, checkRunId: number): Promise<string | undefined> {
  try {
    const res = await octokit.rest.checks.get({ owner: commit.owner, repo: commit.repo, check_run_id: checkRunId });
    const text = res.data.output.text;
    return typeof text === 'string' && text !== '' ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Wait for every write; then throw the first failure, if any. */
async function settle(writes: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function target(options: ReportOptions): { targetUrl?: string } {
  return options.targetUrl ? { targetUrl: options.targetUrl } : {};
}
