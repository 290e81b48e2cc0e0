/**
 * One object, one decision. `applyOne` makes the cluster match; `planOne` says what
 * `applyOne` would do, through dry-runs only.
 *
 * For an object that is already a member of our set we know its live state (from the
 * label-selected LIST), so a server-side-apply dry-run tells us whether anything would change;
 * when nothing would, no PATCH is sent and etcd sees no write. An object that is not yet a
 * member (new, or existing without our label) always changes — at least our label is added —
 * so it is applied directly: one request per new object.
 */
import type { ObjectClient, Takeover } from './client.ts';
import { describeChange, isNoop } from './diff.ts';
import { toErrorInfo } from './errors.ts';
import { NetworkError } from './http.ts';
import type { ErrorInfo } from './errors.ts';
import type { LiveObject } from './objects.ts';
import type { Item } from './prepare.ts';
import { entryFor } from './result.ts';
import type { ObjectResult, PlanEntry } from './result.ts';

export interface ApplyOutcome {
  readonly result: ObjectResult;
  /** Exists on the cluster with our label after this step (or may: outcome unknown). */
  readonly member: boolean;
  /** The API server is unreachable or the run was cancelled: attempt nothing more. */
  readonly fatal?: boolean;
}

const takeoverFields = (t: readonly Takeover[]): { takenOverFrom?: readonly Takeover[] } => (t.length > 0 ? { takenOverFrom: t } : {});

export async function applyOne(client: ObjectClient, item: Item, live: LiveObject | undefined): Promise<ApplyOutcome> {
  const base = entryFor(item.id);
  const { mapping: m, body } = item;
  const { name } = item.id;
  const ns = item.id.namespace;
  try {
    if (live) {
      if (item.mutationIgnore) return { result: { ...base, action: 'unchanged', reason: 'mutation: ignore' }, member: true };
      const current = await liveInDeclaredVersion(client, item, live);
      if (!current) return applyNew(client, item, base);
      const dry = await client.applyTakingOver(m, body, name, ns, true);
      if (isNoop(current, dry.object, client.fieldManager)) return { result: { ...base, action: 'unchanged' }, member: true };
      const real =
        dry.takeovers.length > 0
          ? { ...(await client.apply(m, body, name, ns, { dryRun: false, force: true })), takeovers: dry.takeovers }
          : await client.applyTakingOver(m, body, name, ns, false);
      const fields = describeChange(current, real.object, client.fieldManager);
      return { result: { ...base, action: 'configured', fields, ...takeoverFields(real.takeovers) }, member: true };
    }
    if (item.mutationIgnore) {
      const existing = await client.get(m, ns, name);
      if (existing) return { result: { ...base, action: 'unchanged', reason: 'mutation: ignore (exists; not updated)' }, member: false };
    }
    return await applyNew(client, item, base);
  } catch (e) {
    const fatal = e instanceof NetworkError || client.aborted;
    return { result: { ...base, action: 'failed', error: toErrorInfo(e) }, member: live !== undefined || mayExist(e), ...(fatal ? { fatal } : {}) };
  }
}

async function applyNew(client: ObjectClient, item: Item, base: ReturnType<typeof entryFor>): Promise<ApplyOutcome> {
  const res = await client.applyTakingOver(item.mapping, item.body, item.id.name, item.id.namespace, false);
  if (res.status === 201) return { result: { ...base, action: 'created' }, member: true };
  return {
    result: { ...base, action: 'configured', reason: 'adopted: it existed without the ApplySet label', ...takeoverFields(res.takeovers) },
    member: true,
  };
}

/** The list returns the group's preferred version; compare in the version we apply. */
async function liveInDeclaredVersion(client: ObjectClient, item: Item, live: LiveObject): Promise<LiveObject | undefined> {
  if (live.apiVersion === item.body.apiVersion) return live;
  return client.get(item.mapping, item.id.namespace, item.id.name);
}

/** A failed request may still have been carried out (timeout, connection lost after sending). */
function mayExist(e: unknown): boolean {
  return toErrorInfo(e).retryable === true;
}

export interface PlanContext {
  /** Keys of declared objects this plan creates (their dependents cannot be dry-run yet). */
  readonly creating: ReadonlySet<string>;
}

export async function planOne(client: ObjectClient, item: Item, live: LiveObject | undefined, ctx: PlanContext): Promise<PlanEntry> {
  const base = entryFor(item.id);
  const { mapping: m, body } = item;
  const { name } = item.id;
  const ns = item.id.namespace;
  try {
    if (live) {
      if (item.mutationIgnore) return { ...base, action: 'unchanged', reason: 'mutation: ignore' };
      const current = await liveInDeclaredVersion(client, item, live);
      if (current) {
        const dry = await client.applyTakingOver(m, body, name, ns, true);
        if (isNoop(current, dry.object, client.fieldManager)) return { ...base, action: 'unchanged' };
        return { ...base, action: 'update', fields: describeChange(current, dry.object, client.fieldManager), ...takeoverFields(dry.takeovers) };
      }
    }
    const missing = item.hardDeps.find((k) => ctx.creating.has(k));
    if (item.pendingCrd || missing) {
      return { ...base, action: 'create', reason: `not validated: its ${item.pendingCrd ? 'CustomResourceDefinition' : 'Namespace'} is created by this commit` };
    }
    if (item.mutationIgnore && (await client.get(m, ns, name))) {
      return { ...base, action: 'unchanged', reason: 'mutation: ignore (exists; not updated)' };
    }
    const dry = await client.applyTakingOver(m, body, name, ns, true);
    if (dry.status === 201) return { ...base, action: 'create' };
    const existing = await client.get(m, ns, name);
    const fields = existing ? describeChange(existing, dry.object, client.fieldManager) : undefined;
    return {
      ...base,
      action: 'update',
      reason: 'adopt: it exists without the ApplySet label',
      ...(fields ? { fields } : {}),
      ...takeoverFields(dry.takeovers),
    };
  } catch (e) {
    const error: ErrorInfo = toErrorInfo(e);
    return { ...base, action: 'failed', error };
  }
}
