/**
 * A plan is no oracle for Secret values (issue #10 §3.6): on a real API server, a plan with the
 * right guess and one with a wrong guess produce identical output, in every way the server's
 * answer could otherwise depend on the value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, plan } from '../../lib/cluster/index.ts';
import type { PlanResult } from '../../lib/cluster/index.ts';
import { renderPlan } from '../../lib/cluster/render.ts';
import { renderClusterOutput } from '../../lib/github/summary.ts';
import type { KubeObject } from '../../lib/repo/index.ts';
import { getLive, namespace, pathOf, startHarness } from './support.ts';
import type { Harness } from './support.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const ns = 'oracle';
const inventory = 'oracle';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (name: string, extra: Partial<KubeObject>): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', ...extra });

/** Everything a plan shows anyone: the result (minus its timing), the CLI text and the check run. */
function seen(r: PlanResult): string {
  const { durationMs: _t, ...rest } = r;
  return JSON.stringify([rest, renderPlan(r, { showUnchanged: true }), renderClusterOutput([{ cluster: 'prod', mode: 'plan', ...r }])]);
}

const entry = (r: PlanResult, name: string) => r.objects.find((o) => o.id === `Secret/${ns}/${name}`);

/** Plans the commit with one object swapped for each guess; returns what each plan showed. */
async function planGuesses(base: readonly KubeObject[], guesses: readonly KubeObject[]): Promise<PlanResult[]> {
  const out: PlanResult[] = [];
  for (const g of guesses) out.push(await plan(h.conn, [...base, g], { inventory }));
  return out;
}

describe('a plan does not reveal whether a guessed Secret value is right', () => {
  const db = (password: string) => secret('db', { data: { password: b64(password), user: b64('admin') } });
  const frozen = (token: string) => secret('frozen', { immutable: true, data: { token: b64(token) } });
  const shared = (password: string) => secret('shared', { data: { password: b64(password) } });
  const committed = [namespace(ns), db('hunter2'), frozen('t0p-s3cret'), shared('first')];

  beforeAll(async () => {
    const r = await apply(h.conn, committed, { commit: 'o1', inventory });
    expect(r.status).toBe('applied');
  });

  it('data: the right and a wrong guess read the same, "configure" with the data not compared', async () => {
    const others = committed.filter((o) => o.metadata.name !== 'db');
    const [right, wrong] = await planGuesses(others, [db('hunter2'), db('letmein')]);
    expect(entry(right as PlanResult, 'db')).toEqual({ id: `Secret/${ns}/db`, group: '', kind: 'Secret', namespace: ns, name: 'db', action: 'configure', fields: ['Secret data (not compared)'] });
    expect(seen(wrong as PlanResult)).toBe(seen(right as PlanResult));
  });

  it('stringData: the same', async () => {
    const others = committed.filter((o) => o.metadata.name !== 'db');
    const asString = (password: string) => secret('db', { data: { user: b64('admin') }, stringData: { password } });
    const [right, wrong] = await planGuesses(others, [asString('hunter2'), asString('letmein')]);
    expect(entry(right as PlanResult, 'db')?.action).toBe('configure');
    expect(seen(wrong as PlanResult)).toBe(seen(right as PlanResult));
  });

  it('an immutable Secret: a wrong guess is not refused where the right one is accepted', async () => {
    const others = committed.filter((o) => o.metadata.name !== 'frozen');
    const [right, wrong] = await planGuesses(others, [frozen('t0p-s3cret'), frozen('guess')]);
    expect(entry(right as PlanResult, 'frozen')).toMatchObject({ action: 'configure', fields: ['Secret data (not compared)'] });
    expect(entry(wrong as PlanResult, 'frozen')?.error).toBeUndefined();
    expect(seen(wrong as PlanResult)).toBe(seen(right as PlanResult));
  });

  it('a value another manager set: no field-manager conflict shows which guess differs', async () => {
    // Someone edits the Secret by hand: kubectl-edit now owns .data.password with another value.
    const patch = await h.conn.http.request({
      method: 'PATCH',
      path: pathOf(shared('x')),
      query: { fieldManager: 'kubectl-edit', force: 'true' },
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shared', namespace: ns }, data: { password: b64('edited') } },
      contentType: 'application/apply-patch+yaml',
    });
    expect(patch.status).toBe(200);
    const others = committed.filter((o) => o.metadata.name !== 'shared');
    const [right, wrong] = await planGuesses(others, [shared('edited'), shared('guess')]);
    expect(entry(wrong as PlanResult, 'shared')?.takenOverFrom).toBeUndefined();
    expect(seen(wrong as PlanResult)).toBe(seen(right as PlanResult));
  });

  it('a Secret that exists without the ApplySet label (adoption): the same', async () => {
    const created = await h.conn.http.request({
      method: 'POST',
      path: `/api/v1/namespaces/${ns}/secrets`,
      query: { fieldManager: 'kubectl-create' },
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'foreign' }, type: 'Opaque', data: { key: b64('real') } },
    });
    expect(created.status).toBe(201);
    const foreign = (key: string) => secret('foreign', { data: { key: b64(key) } });
    const [right, wrong] = await planGuesses(committed, [foreign('real'), foreign('guess')]);
    const e = entry(right as PlanResult, 'foreign');
    expect(e).toMatchObject({ action: 'configure', reason: 'adopt: found without the ApplySet label' });
    expect(e?.fields).toContain('Secret data (not compared)');
    expect(e?.fields?.some((f) => f.startsWith('.data'))).toBe(false);
    expect(seen(wrong as PlanResult)).toBe(seen(right as PlanResult));
  });

  it('still names the changes that are not data: labels and type', async () => {
    const others = committed.filter((o) => o.metadata.name !== 'db');
    const labelled = { ...db('hunter2'), metadata: { name: 'db', namespace: ns, labels: { team: 'payments' } } };
    const r = await plan(h.conn, [...others, labelled], { inventory });
    expect(entry(r, 'db')?.fields).toEqual(['.metadata.labels.team', 'Secret data (not compared)']);
  });

  it('an apply still compares the real values: the same Secret again is unchanged and not written', async () => {
    const rv = (await getLive(h.conn, db('x')))?.metadata.resourceVersion;
    const again = await apply(h.conn, committed, { commit: 'o1', inventory });
    expect(again.objects.find((o) => o.id === `Secret/${ns}/db`)?.action).toBe('unchanged');
    expect((await getLive(h.conn, db('x')))?.metadata.resourceVersion).toBe(rv);

    const changed = await apply(h.conn, committed.map((o) => (o.metadata.name === 'db' ? db('rotated') : o)), { commit: 'o2', inventory });
    expect(changed.objects.find((o) => o.id === `Secret/${ns}/db`)).toMatchObject({ action: 'configured', fields: ['.data.password'] });
    expect((await getLive(h.conn, db('x')))?.data?.password).toBe(b64('rotated'));
  });
});
