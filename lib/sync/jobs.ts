/**
 * The payloads that travel between functions. Plain JSON, nothing secret: the apply function
 * looks the cluster up in the store by name.
 */
import type { JsonValue } from '../fanout/index.ts';
import type { PushJob } from '../github/index.ts';
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
}

export function toPayload(job: ApplyJob): JsonValue {
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
  return {
    deliveryId, owner, name, sha, cluster, mode,
    ...(installationId !== undefined ? { installationId } : {}),
    ...(checkRunId !== undefined ? { checkRunId } : {}),
    ...(o?.quiet === true ? { quiet: true } : {}),
  };
}

export function parsePushJob(v: JsonValue): PushJob {
  const o = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, JsonValue>) : {};
  for (const k of ['deliveryId', 'repo', 'owner', 'name', 'branch', 'after', 'defaultBranch']) {
    if (typeof o[k] !== 'string' || o[k] === '') throw new SyncError('SYNC_BAD_PAYLOAD', `sync payload has no ${k}`, false);
  }
  return o as unknown as PushJob;
}
