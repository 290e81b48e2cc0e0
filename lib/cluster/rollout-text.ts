/**
 * A rollout in words, for people: the commit status (pending / failure texts), the check
 * run's table and the CLI (`pushsync status`, `pushsync apply --wait`) all read the same
 * ObjectHealth values through these. Pure.
 */
import { textTable } from '../text-table.ts';
import { formatPodCause } from './health.ts';
import type { ObjectHealth } from './rollout.ts';

/** The workload kinds progress counts by name, with the word for "done". */
const PROGRESS_KINDS: readonly [kind: string, done: string][] = [
  ['Deployment', 'available'],
  ['StatefulSet', 'ready'],
  ['DaemonSet', 'available'],
];

const plural = (n: number, word: string): string => (n === 1 ? word : `${word}s`);

/**
 * `rolling out: 9/12 Deployments available, 2 other objects in progress`: the workloads by
 * kind (Current of all), then how many other objects are not Current yet.
 */
export function describeProgress(objects: readonly ObjectHealth[]): string {
  const parts: string[] = [];
  const counted = new Set<ObjectHealth>();
  for (const [kind, done] of PROGRESS_KINDS) {
    const of = objects.filter((o) => o.group === 'apps' && o.kind === kind);
    if (of.length === 0) continue;
    of.forEach((o) => counted.add(o));
    const current = of.filter((o) => o.health.status === 'Current').length;
    parts.push(`${current}/${of.length} ${plural(of.length, kind)} ${done}`);
  }
  const others = objects.filter((o) => !counted.has(o) && o.health.status !== 'Current').length;
  if (others > 0) parts.push(`${others} other ${plural(others, 'object')} in progress`);
  if (parts.length === 0) return `rolling out: ${objects.length}/${objects.length} ${plural(objects.length, 'object')} healthy`;
  return `rolling out: ${parts.join(', ')}`;
}

/** `Deployment onlineboutique/cartservice: ProgressDeadlineExceeded; pod cartservice-…: ImagePullBackOff`. */
export function describeObjectHealth(o: ObjectHealth): string {
  const where = o.namespace ? `${o.namespace}/${o.name}` : o.name;
  return `${o.kind} ${where}: ${o.health.reason}${o.cause ? `; ${formatPodCause(o.cause)}` : ''}`;
}

/**
 * `kubectl get`-like columns KIND NAMESPACE NAME HEALTH REASON, and CAUSE (the pod-level
 * cause) when any object has one; `-` for an empty cell, so every row splits on whitespace
 * into the same columns (REASON and CAUSE may hold spaces: they are last).
 */
export function renderHealthTable(objects: readonly ObjectHealth[]): string {
  const withCause = objects.some((o) => o.cause);
  const header = ['KIND', 'NAMESPACE', 'NAME', 'HEALTH', 'REASON', ...(withCause ? ['CAUSE'] : [])];
  const rows = objects.map((o) => [o.kind, o.namespace ?? '-', o.name, o.health.status, o.health.reason, ...(withCause ? [o.cause ? formatPodCause(o.cause) : '-'] : [])]);
  // REASON is padded only when CAUSE follows it.
  return textTable(header, rows);
}
