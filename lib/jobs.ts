/**
 * The job payloads that travel between functions — PushJob (webhook → sync), ApplyJob
 * (sync/resync → apply) and HealthJob (apply → health → health, delayed) — with their parsers
 * and their JSON form, in one module.
 *
 * Pure and dependency-free on purpose: the webhook's bundle imports it to build a PushJob, and
 * must not carry the sync engine (Kubernetes client, YAML, the repo rules) to do so. Plain
 * JSON, nothing secret: the apply function looks the cluster up in the store by name.
 */
import type { JsonValue } from './fanout/types.ts';

/**
 * What the sync function needs to know about one push. Serialisable, small, and free of
 * secrets: it travels as an async invocation payload.
 */
export interface PushJob {
  /** X-GitHub-Delivery; the same on a redelivery (which must run again, so never a dedup key). */
  readonly deliveryId: string;
  /** `owner/name`, as GitHub spells it. */
  readonly repo: string;
  readonly owner: string;
  readonly name: string;
  /** `refs/heads/<branch>`. */
  readonly ref: string;
  readonly branch: string;
  /** The pushed commit. */
  readonly after: string;
  /** The previous head of the branch; all zeros when the push created the branch. */
  readonly before: string;
  /** A force push: `before` may not be an ancestor of `after`. */
  readonly forced?: boolean;
  /**
   * What the push's commits touched and the new root tree, from the payload: lets a warm
   * function rebuild the new tree from `before`'s instead of listing it (lib/source/github.ts).
   * Absent when the payload cannot tell (a new branch, too many paths).
   */
  readonly changes?: PushChanges;
  /** Present when the webhook belongs to a GitHub App installation. */
  readonly installationId?: number;
  readonly defaultBranch: string;
  /** ISO 8601; when GitHub recorded the push (the receive time if the payload lacks it). */
  readonly pushedAt: string;
}

export interface PushChanges {
  /** `head_commit.tree_id`. */
  readonly treeId: string;
  /** Every path a pushed commit added, modified or removed (repository root relative). */
  readonly paths: readonly string[];
}

/** The push's changes relative to a base commit (lib/source's TreeDelta has this shape). */
export interface JobDelta extends PushChanges {
  readonly base: string;
}

export interface ApplyJob {
  readonly deliveryId: string;
  readonly owner: string;
  readonly name: string;
  /** The commit to apply or plan. */
  readonly sha: string;
  readonly cluster: string;
  /** apply: make the cluster match; plan: dry-run only (a branch no cluster follows). */
  readonly mode: 'apply' | 'plan';
  readonly installationId?: number;
  /** Resync: only report when the run changed or failed something (drift correction is quiet). */
  readonly quiet?: boolean;
  /** The check run reportPending started, completed by this job (App only). */
  readonly checkRunId?: number;
  /**
   * A commit known to be a strict ancestor of `sha`: the head a non-forced push replaced. Spares
   * the ancestry oracle (the compare API) the question a push payload already answers.
   */
  readonly ancestor?: string;
  /** The push's changes, so a warm apply function reads only what changed (TreeDelta). */
  readonly delta?: JobDelta;
  /** Part of a fleet push (lib/sync/fleet.ts): only bad news is reported on `pushsync/<cluster>`. */
  readonly fleet?: true;
}

/**
 * One follow-up health check of a rollout (design.md "Green means running"): the apply job
 * schedules the first, each check the next, until the rollout is healthy, fails, times out or
 * is superseded. Everything a check needs to report travels here, nothing it needs to decide:
 * what to check and whether it is still wanted are read from the cluster's inventory.
 */
export interface HealthJob {
  readonly deliveryId: string;
  readonly owner: string;
  readonly name: string;
  /** The commit whose rollout is awaited. */
  readonly sha: string;
  readonly cluster: string;
  readonly installationId?: number;
  /** The check run the apply left in progress (App only). */
  readonly checkRunId?: number;
  readonly deploymentId?: number;
  /**
   * The apply's rollout token (the inventory's): another apply since, even of the same commit,
   * ends this wait. Absent when the inventory has none (written before tokens existed and left
   * unchanged since): the wait then follows the commit alone.
   */
  readonly rollout?: string;
  /** Epoch ms: when the apply started ("healthy in 41 s" counts from it). */
  readonly startedAt: number;
  /** Epoch ms: past it the rollout fails with what is still in progress (the cluster's health timeout). */
  readonly timeoutAt: number;
  /** Checks made so far, the apply's own first one included: the next delay grows with it. */
  readonly check: number;
  /** What the apply did, e.g. `applied 25 (3 created)`: the start of every progress text. */
  readonly applied: string;
  /** The pending description last posted: an unchanged one is not written again. */
  readonly progress?: string;
  /** As ApplyJob.fleet. */
  readonly fleet?: true;
}

/** Stable code of every payload refusal (kept from when the parsers lived in lib/sync). */
export const BAD_PAYLOAD = 'SYNC_BAD_PAYLOAD';

/**
 * A payload that can never become a job. Not retryable: the same bytes fail the same way, so
 * the handler reports it and returns instead of having the invocation retried.
 */
export class JobPayloadError extends Error {
  readonly code = BAD_PAYLOAD;
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'JobPayloadError';
  }
}

const ZERO = /^0+$/;
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The ancestry and delta a push job's payload gives its apply jobs. */
export function fromPush(job: PushJob): Pick<ApplyJob, 'ancestor' | 'delta'> {
  if (ZERO.test(job.before) || job.before === job.after) return {};
  return {
    ...(job.forced ? {} : { ancestor: job.before }),
    ...(job.changes ? { delta: { base: job.before, treeId: job.changes.treeId, paths: job.changes.paths } } : {}),
  };
}

/** The JSON value an Invoker carries (optional fields left out, as JSON would). */
export function toPayload(job: ApplyJob | PushJob | HealthJob): JsonValue {
  return JSON.parse(JSON.stringify(job)) as JsonValue;
}

const record = (v: JsonValue): Record<string, JsonValue> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, JsonValue>) : undefined;

/** Payloads come from another process: check their shape at the edge. */
export function parseApplyJob(v: JsonValue): ApplyJob {
  const o = record(v);
  const str = (k: string) => (typeof o?.[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);
  const malformed = () => new JobPayloadError(`apply payload is malformed: ${JSON.stringify(v).slice(0, 200)}`);
  const deliveryId = str('deliveryId');
  const owner = str('owner');
  const name = str('name');
  const sha = str('sha');
  const cluster = str('cluster');
  const mode = str('mode');
  if (!deliveryId || !owner || !name || !sha || !SHA.test(sha) || !cluster || (mode !== 'apply' && mode !== 'plan')) throw malformed();
  const installationId = typeof o?.installationId === 'number' ? o.installationId : undefined;
  const checkRunId = typeof o?.checkRunId === 'number' ? o.checkRunId : undefined;
  const ancestor = str('ancestor');
  const delta = o?.delta === undefined ? undefined : jobDelta(o.delta);
  if ((ancestor !== undefined && !SHA.test(ancestor)) || (o?.delta !== undefined && delta === undefined)) throw malformed();
  return {
    deliveryId, owner, name, sha, cluster, mode,
    ...(installationId !== undefined ? { installationId } : {}),
    ...(checkRunId !== undefined ? { checkRunId } : {}),
    ...(o?.quiet === true ? { quiet: true } : {}),
    ...(ancestor !== undefined ? { ancestor } : {}),
    ...(delta !== undefined ? { delta } : {}),
    ...(o?.fleet === true ? { fleet: true as const } : {}),
  };
}

const positiveInt = (v: JsonValue | undefined): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined);

export function parseHealthJob(v: JsonValue): HealthJob {
  const o = record(v);
  const malformed = (why: string) => new JobPayloadError(`health payload ${why}: ${JSON.stringify(v).slice(0, 200)}`);
  if (o === undefined) throw malformed('is not an object');
  for (const k of ['deliveryId', 'owner', 'name', 'sha', 'cluster', 'applied']) {
    if (typeof o[k] !== 'string' || o[k] === '') throw malformed(`has no ${k}`);
  }
  if (!SHA.test(o.sha as string)) throw malformed('has a malformed sha');
  for (const k of ['startedAt', 'timeoutAt', 'check']) {
    if (typeof o[k] !== 'number' || !Number.isSafeInteger(o[k]) || (o[k] as number) < 0) throw malformed(`has a malformed ${k}`);
  }
  for (const k of ['installationId', 'checkRunId', 'deploymentId']) {
    if (o[k] !== undefined && positiveInt(o[k]) === undefined) throw malformed(`has a malformed ${k}`);
  }
  if (o.progress !== undefined && typeof o.progress !== 'string') throw malformed('has a malformed progress');
  if (o.rollout !== undefined && (typeof o.rollout !== 'string' || o.rollout === '')) throw malformed('has a malformed rollout');
  const optional = (k: 'installationId' | 'checkRunId' | 'deploymentId') => (o[k] !== undefined ? { [k]: o[k] as number } : {});
  return {
    deliveryId: o.deliveryId as string, owner: o.owner as string, name: o.name as string, sha: o.sha as string, cluster: o.cluster as string,
    ...(typeof o.rollout === 'string' ? { rollout: o.rollout } : {}),
    startedAt: o.startedAt as number, timeoutAt: o.timeoutAt as number, check: o.check as number, applied: o.applied as string,
    ...optional('installationId'), ...optional('checkRunId'), ...optional('deploymentId'),
    ...(typeof o.progress === 'string' ? { progress: o.progress } : {}),
    ...(o.fleet === true ? { fleet: true as const } : {}),
  };
}

export function parsePushJob(v: JsonValue): PushJob {
  const o = record(v) ?? {};
  for (const k of ['deliveryId', 'repo', 'owner', 'name', 'branch', 'after', 'before', 'defaultBranch']) {
    if (typeof o[k] !== 'string' || o[k] === '') throw new JobPayloadError(`sync payload has no ${k}`);
  }
  if (o.forced !== undefined && typeof o.forced !== 'boolean') throw new JobPayloadError(`sync payload: "forced" is malformed: ${JSON.stringify(o.forced)}`);
  if (o.changes !== undefined && pushChanges(o.changes) === undefined) {
    throw new JobPayloadError(`sync payload: "changes" is malformed: ${JSON.stringify(o.changes).slice(0, 200)}`);
  }
  return o as unknown as PushJob;
}

function pushChanges(v: JsonValue): PushChanges | undefined {
  const o = record(v);
  if (typeof o?.treeId !== 'string' || !SHA.test(o.treeId) || !Array.isArray(o.paths) || !o.paths.every((p) => typeof p === 'string')) return undefined;
  return { treeId: o.treeId, paths: o.paths as string[] };
}

function jobDelta(v: JsonValue): JobDelta | undefined {
  const o = record(v);
  const changes = o === undefined ? undefined : pushChanges(o);
  if (changes === undefined || typeof o?.base !== 'string' || !SHA.test(o.base)) return undefined;
  return { base: o.base, ...changes };
}
