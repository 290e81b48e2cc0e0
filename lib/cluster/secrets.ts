/**
 * A plan must not be an oracle for Secret values (issue #10 §3.6).
 *
 * Plans run for any branch push, with the production clusters' credentials, and anyone who can
 * push a branch reads the result. If a plan compared Secret data, pushing a guessed value and
 * reading "unchanged" (right guess) or "configure .data.password" (wrong guess) would confirm
 * it. So for a core/v1 Secret a plan closes every way the answer could depend on a live value:
 *
 * - The diff leaves data and stringData out. A Secret whose manifest declares data is always
 *   `configure` with the single line "Secret data (not compared)", whether or not the value
 *   matches: "unchanged" vs "configure" was the oracle, so a plan never says "unchanged" for one.
 * - The server never sees a guessed value for a key the live Secret has: the dry-run carries the
 *   live value there. Otherwise its answer would still leak it: server-side apply reports a
 *   field-manager conflict only when the value differs, and an `immutable` Secret refuses a
 *   changed value but accepts the same one.
 * - Takeovers of data fields are never reported.
 *
 * What reviewers still see: changes to metadata, `type` and `immutable`, and that the data is
 * declared at all. What a plan does not check: the values of keys the live Secret already has
 * (the apply validates them). Whether the live Secret has a key can still show (adding a key to
 * an immutable Secret is refused): key names are in Git, values are what must not leak.
 *
 * An apply is unchanged: it compares real values so that an unchanged Secret is never written,
 * and it runs only for commits on a branch a cluster follows, i.e. after review.
 */
import type { KubeObject } from '../repo/index.ts';
import type { Takeover } from './client.ts';
import { changedPaths, deepEqual, normalize, ownedFields } from './diff.ts';
import type { LiveObject, ObjectId } from './objects.ts';

/** The one line a plan shows for the data of a Secret it does not compare. */
export const SECRET_DATA_NOT_COMPARED = 'Secret data (not compared)';

export function isSecret(id: Pick<ObjectId, 'group' | 'kind'>): boolean {
  return id.group === '' && id.kind === 'Secret';
}

type StringMap = Readonly<Record<string, unknown>>;

const asMap = (v: unknown): StringMap => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as StringMap) : {});
const has = (m: StringMap, k: string): boolean => Object.prototype.hasOwnProperty.call(m, k);

function declaresData(o: KubeObject): boolean {
  return Object.keys(asMap(o.data)).length > 0 || Object.keys(asMap(o.stringData)).length > 0;
}

/**
 * The body a plan dry-runs for a Secret: the declared one, with the live value in place of the
 * declared value of every key the live Secret already has (from `data` or `stringData`).
 * Built from entries, never by assignment, so a key named `__proto__` stays a key.
 */
export function blindSecretBody(body: KubeObject, existing: LiveObject | undefined): KubeObject {
  const live = asMap(existing?.data);
  const declaredData = asMap(body.data);
  const declaredString = asMap(body.stringData);
  const data = Object.fromEntries([
    ...Object.entries(declaredData).map(([k, v]) => [k, has(live, k) ? live[k] : v] as const),
    ...Object.keys(declaredString)
      .filter((k) => has(live, k))
      .map((k) => [k, live[k]] as const),
  ]);
  const stringData = Object.fromEntries(Object.entries(declaredString).filter(([k]) => !has(live, k)));
  const { data: _data, stringData: _stringData, ...rest } = body;
  return {
    ...rest,
    ...(body.data !== undefined || Object.keys(data).length > 0 ? { data } : {}),
    ...(Object.keys(stringData).length > 0 ? { stringData } : {}),
  } as KubeObject;
}

function withoutData(o: Record<string, unknown>): Record<string, unknown> {
  const { data: _data, stringData: _stringData, ...rest } = o;
  return rest;
}

/**
 * The changed fields a plan reports for a Secret, from `before` (live) to `after` (the dry-run
 * of `blindSecretBody`); empty when nothing changes. Never names a data key.
 */
export function secretPlanFields(declared: KubeObject, before: LiveObject, after: LiveObject, manager: string): string[] {
  const fields = changedPaths(withoutData(normalize(before)), withoutData(normalize(after)));
  // A manifest without data can still change the data's keys (it stops declaring ones we set):
  // that depends on the key names only.
  if (declaresData(declared) || !deepEqual(Object.keys(asMap(before.data)).sort(), Object.keys(asMap(after.data)).sort())) {
    return [...fields, SECRET_DATA_NOT_COMPARED];
  }
  if (fields.length === 0 && !deepEqual(ownedFields(before, manager), ownedFields(after, manager))) {
    return [`.metadata.managedFields[manager=${manager}]`];
  }
  return fields;
}

/** Takeovers a plan may name for a Secret: none of its data fields. */
export function secretTakeovers(takeovers: readonly Takeover[]): Takeover[] {
  return takeovers
    .map((t) => ({ ...t, fields: t.fields.filter((f) => !/^\.?(data|stringData)([.[]|$)/.test(f)) }))
    .filter((t) => t.fields.length > 0);
}
