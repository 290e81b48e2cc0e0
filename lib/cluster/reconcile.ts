/**
 * One object, one decision, one path: `decide` walks the same steps for an apply and for a
 * plan, and only the last request differs (a write, or a dry-run). `applyOne` and `planOne`
 * are its two views: past tense for what happened, present tense for what would.
 *
 * For an object that is already a member of our set we know its live state (from the
 * label-selected LIST). When that state plainly is what we declare, with exactly the fields
 * we own (settled.ts), nothing is sent at all; otherwise a server-side-apply dry-run tells us
 * whether anything would change, and when nothing would, no PATCH is sent and etcd sees no write. An object that is not yet a
 * member (new, or existing without our label) always changes — at least our label is added —
 * so an apply applies it directly: one request per new object.
 */
import type { ObjectClient, Takeover } from './client.ts';
import { describeChange, isNoop } from './diff.ts';
import { ApiError, toErrorInfo } from './errors.ts';
import { NetworkError } from './http.ts';
import type { LiveObject } from './objects.ts';
import type { Item } from './prepare.ts';
import { entryFor, Reasons } from './result.ts';
import type { ObjectResult, PlanEntry } from './result.ts';
import { blindSecretBody, isSecret, secretPlanFields, secretTakeovers } from './secrets.ts';
import { isSettled } from './settled.ts';

/** What applying one object did. */
export interface ObjectOutcome {
  readonly result: ObjectResult;
  /** Exists on the cluster with our label after this step (or may: outcome unknown). */
  readonly member: boolean;
  /** The API server is unreachable or the run was cancelled: attempt nothing more. */
  readonly fatal?: boolean;
  /** The server answered 404 for it (its kind may be gone: discovery is read again). */
  readonly notFound?: boolean;
}

export interface PlanContext {
  /** Keys of declared objects this plan creates (their dependents cannot be dry-run yet). */
  readonly creating: ReadonlySet<string>;
}

/** Apply writes; a plan dry-runs, and knows what the plan itself creates before this object. */
type Mode = { readonly write: true } | ({ readonly write: false } & PlanContext);

type Decision =
  | { readonly change: 'unchanged'; readonly reason?: string; readonly member: boolean }
  | { readonly change: 'create'; readonly reason?: string }
  | { readonly change: 'configure'; readonly fields?: readonly string[]; readonly reason?: string; readonly takeovers: readonly Takeover[] };

const PAST = { unchanged: 'unchanged', create: 'created', configure: 'configured' } as const;

const takeoverFields = (t: readonly Takeover[]): { takenOverFrom?: readonly Takeover[] } => (t.length > 0 ? { takenOverFrom: t } : {});

export async function applyOne(client: ObjectClient, item: Item, live: LiveObject | undefined): Promise<ObjectOutcome> {
  const base = entryFor(item.id);
  try {
    const d = await decide(client, item, live, { write: true });
    const result: ObjectResult = {
      ...base,
      action: PAST[d.change],
      ...(d.change === 'configure' && d.fields ? { fields: d.fields } : {}),
      ...(d.reason ? { reason: d.reason } : {}),
      ...(d.change === 'configure' ? takeoverFields(d.takeovers) : {}),
    };
    return { result, member: d.change === 'unchanged' ? d.member : true };
  } catch (e) {
    const fatal = e instanceof NetworkError || client.aborted;
    const notFound = e instanceof ApiError && e.status === 404;
    return { result: { ...base, action: 'failed', error: toErrorInfo(e) }, member: live !== undefined || mayExist(e), ...(fatal ? { fatal } : {}), ...(notFound ? { notFound } : {}) };
  }
}

export async function planOne(client: ObjectClient, item: Item, live: LiveObject | undefined, ctx: PlanContext): Promise<PlanEntry> {
  const base = entryFor(item.id);
  try {
    const d = await decide(client, item, live, { write: false, creating: ctx.creating });
    return {
      ...base,
      action: d.change,
      ...(d.change === 'configure' && d.fields ? { fields: d.fields } : {}),
      ...(d.reason ? { reason: d.reason } : {}),
      ...(d.change === 'configure' ? takeoverFields(d.takeovers) : {}),
    };
  } catch (e) {
    return { ...base, action: 'failed', error: toErrorInfo(e) };
  }
}

async function decide(client: ObjectClient, item: Item, live: LiveObject | undefined, mode: Mode): Promise<Decision> {
  const { mapping: m } = item;
  const { name } = item.id;
  const ns = item.id.namespace;
  if (live) {
    if (item.mutationIgnore) return { change: 'unchanged', reason: Reasons.mutationIgnore, member: true };
    const current = await liveInDeclaredVersion(client, item, live);
    if (current) return update(client, item, current, mode);
    // Gone since the LIST: what follows treats it as new.
  }
  if (!mode.write) {
    if (item.pendingCrd) return { change: 'create', reason: Reasons.notValidated.CustomResourceDefinition };
    if (item.hardDeps.some((k) => mode.creating.has(k))) return { change: 'create', reason: Reasons.notValidated.Namespace };
  }
  const existing = item.mutationIgnore || (!mode.write && isSecret(item.id)) ? await client.get(m, ns, name) : undefined;
  if (item.mutationIgnore && existing) return { change: 'unchanged', reason: Reasons.mutationIgnoreExists, member: false };

  const res = await client.applyTakingOver(m, planBody(item, existing, mode), name, ns, !mode.write);
  if (res.status === 201) return { change: 'create' };
  // It existed without our label: taking it into the set.
  if (mode.write) return { change: 'configure', reason: Reasons.adopt, takeovers: res.takeovers };
  const before = existing ?? (await client.get(m, ns, name));
  const fields = before ? planFields(client, item, before, res.object) : undefined;
  return { change: 'configure', reason: Reasons.adopt, ...(fields ? { fields } : {}), takeovers: planTakeovers(item, res.takeovers) };
}

async function update(client: ObjectClient, item: Item, current: LiveObject, mode: Mode): Promise<Decision> {
  const { mapping: m, body } = item;
  const { name } = item.id;
  const ns = item.id.namespace;
  // Decided from the LISTed object alone when it is plainly as declared (settled.ts); a plan
  // never decides a Secret that way, since it never compares Secret data.
  if ((mode.write || !isSecret(item.id)) && isSettled(body, current, client.fieldManager)) return { change: 'unchanged', member: true };
  const dry = await client.applyTakingOver(m, planBody(item, current, mode), name, ns, true);
  if (!mode.write) {
    const fields = planFields(client, item, current, dry.object);
    if (fields.length === 0) return { change: 'unchanged', member: true };
    return { change: 'configure', fields, takeovers: planTakeovers(item, dry.takeovers) };
  }
  if (isNoop(current, dry.object, client.fieldManager)) return { change: 'unchanged', member: true };
  const real =
    dry.takeovers.length > 0
      ? { ...(await client.apply(m, body, name, ns, { dryRun: false, force: true })), takeovers: dry.takeovers }
      : await client.applyTakingOver(m, body, name, ns, false);
  return { change: 'configure', fields: describeChange(current, real.object, client.fieldManager), takeovers: real.takeovers };
}

/** What the request carries: the declared body, except that a plan never sends a guessed Secret value. */
function planBody(item: Item, existing: LiveObject | undefined, mode: Mode): object {
  return !mode.write && isSecret(item.id) ? blindSecretBody(item.body, existing) : item.body;
}

/** The fields a plan names; empty when nothing would change. */
function planFields(client: ObjectClient, item: Item, before: LiveObject, after: LiveObject): string[] {
  if (isSecret(item.id)) return secretPlanFields(item.body, before, after, client.fieldManager);
  return isNoop(before, after, client.fieldManager) ? [] : describeChange(before, after, client.fieldManager);
}

function planTakeovers(item: Item, takeovers: readonly Takeover[]): readonly Takeover[] {
  return isSecret(item.id) ? secretTakeovers(takeovers) : takeovers;
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
