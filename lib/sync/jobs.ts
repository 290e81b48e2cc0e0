/**
 * The payloads that travel between functions. Plain JSON, nothing secret: the apply function
 * looks the cluster up in the store by name.
 */
import type { JsonValue } from '../fanout/index.ts';
import type { PushChanges, PushJob } from '../github/index.ts';
import type { TreeDelta } from '../source/index.ts';
import { SyncError } from './errors.ts';

export type { PushJob };

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
  readonly delta?: TreeDelta;
}

const ZERO = /^0+$/;

/** The ancestry and delta a push job's payload gives its apply jobs. */
export function fromPush(job: PushJob): Pick<ApplyJob, 'ancestor' | 'delta'> {
  if (ZERO.test(job.before) || job.before === job.after) return {};
  return {
    ...(job.forced ? {} : { ancestor: job.before }),
    ...(job.changes ? { delta: { base: job.before, treeId: job.changes.treeId, paths: job.changes.paths } } : {}),
  };
}

export function toPayload(job: ApplyJob | PushJob): JsonValue {
  return JSON.parse(JSON.stringify(job)) as JsonValue;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Payloads come from another process: check their shape at the edge. */
export function parseApplyJob(v: JsonValue): ApplyJob {
  const o = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, JsonValue>) : undefined;
  const str = (k: string) => (typeof o?.[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);
  const deliveryId = str('deliveryId');
  const owner = str('owner');
  const name = str('name');
  const sha = str('sha');
  const cluster = str('cluster');
  const mode = str('mode');
  if (!deliveryId || !owner || !name || !sha || !SHA.test(sha) || !cluster || (mode !== 'apply' && mode !== 'plan')) {
    throw new SyncError('SYNC_BAD_PAYLOAD', `apply payload is malformed: ${JSON.stringify(v).slice(0, 200)}`, false);
  }
  const installationId = typeof o?.installationId === 'number' ? o.installationId : undefined;
  const checkRunId = typeof o?.checkRunId === 'number' ? o.checkRunId : undefined;
  const ancestor = str('ancestor');
  const delta = o?.delta === undefined ? undefined : treeDelta(o.delta);
  if ((ancestor !== undefined && !SHA.test(ancestor)) || (o?.delta !== undefined && delta === undefined)) {
    throw new SyncError('SYNC_BAD_PAYLOAD', `apply payload is malformed: ${JSON.stringify(v).slice(0, 200)}`, false);
  }
  return {
    deliveryId, owner, name, sha, cluster, mode,
    ...(installationId !== undefined ? { installationId } : {}),
    ...(checkRunId !== undefined ? { checkRunId } : {}),
    ...(o?.quiet === true ? { quiet: true } : {}),
    ...(ancestor !== undefined ? { ancestor } : {}),
    ...(delta !== undefined ? { delta } : {}),
  };
}

export function parsePushJob(v: JsonValue): PushJob {
  const o = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, JsonValue>) : {};
  for (const k of ['deliveryId', 'repo', 'owner', 'name', 'branch', 'after', 'before', 'defaultBranch']) {
    if (typeof o[k] !== 'string' || o[k] === '') throw new SyncError('SYNC_BAD_PAYLOAD', `sync payload has no ${k}`, false);
  }
  if (o.forced !== undefined && typeof o.forced !== 'boolean') throw new SyncError('SYNC_BAD_PAYLOAD', `sync payload: "forced" is malformed: ${JSON.stringify(o.forced)}`, false);
  if (o.changes !== undefined && pushChanges(o.changes) === undefined) {
    throw new SyncError('SYNC_BAD_PAYLOAD', `sync payload: "changes" is malformed: ${JSON.stringify(o.changes).slice(0, 200)}`, false);
  }
  return o as unknown as PushJob;
}

function pushChanges(v: JsonValue): PushChanges | undefined {
  const o = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, JsonValue>) : undefined;
  if (typeof o?.treeId !== 'string' || !SHA.test(o.treeId) || !Array.isArray(o.paths) || !o.paths.every((p) => typeof p === 'string')) return undefined;
  return { treeId: o.treeId, paths: o.paths as string[] };
}

function treeDelta(v: JsonValue): TreeDelta | undefined {
  const o = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, JsonValue>) : undefined;
  const changes = o === undefined ? undefined : pushChanges(o);
  if (changes === undefined || typeof o?.base !== 'string' || !SHA.test(o.base)) return undefined;
  return { base: o.base, ...changes };
}
