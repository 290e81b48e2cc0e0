import { describe, expect, it } from 'vitest';
import { APPLY_ACTIONS, inventoryRef, PLAN_ACTIONS } from '../../lib/cluster/index.ts';
import type { ApplyAction, ApplyResult, ClusterStatus, ObjectResult, PlanAction, PlanEntry, PlanResult } from '../../lib/cluster/index.ts';
import { applySummary, objectName, planSummary, renderApply, renderPlan, renderRunError, renderStatus, shortCommit } from '../../lib/cluster/render.ts';

const SHA = '5298e86370e4cdb62864cd52265b41a7b503ae90';
const INVENTORY = inventoryRef('pushsync');

const deployment = (name: string) => ({ id: `Deployment.apps/shop/${name}`, group: 'apps', kind: 'Deployment', namespace: 'shop', name });
const service = (name: string) => ({ id: `Service/shop/${name}`, group: '', kind: 'Service', namespace: 'shop', name });
const ns = (name: string) => ({ id: `Namespace/${name}`, group: '', kind: 'Namespace', name });

function counts<A extends string>(actions: readonly A[], entries: readonly { action: A }[]): Record<A, number> {
  const out = Object.fromEntries(actions.map((a) => [a, 0])) as Record<A, number>;
  for (const e of entries) out[e.action]++;
  return out;
}

const planOf = (objects: PlanEntry[], extra: Partial<PlanResult> = {}): PlanResult => ({
  inventory: INVENTORY,
  objects,
  counts: counts<PlanAction>(PLAN_ACTIONS, objects),
  durationMs: 812,
  ...extra,
});

const applyOf = (objects: ObjectResult[], extra: Partial<ApplyResult> = {}): ApplyResult => ({
  status: 'applied',
  commit: SHA,
  inventory: INVENTORY,
  objects,
  counts: counts<ApplyAction>(APPLY_ACTIONS, objects),
  startedAt: '2026-01-02T03:04:05.000Z',
  durationMs: 12_345,
  ...extra,
});

describe('names', () => {
  it('spells objects as kubectl does, with -n for namespaced ones', () => {
    expect(objectName(deployment('web'))).toBe('deployment.apps/web -n shop');
    expect(objectName(service('web'))).toBe('service/web -n shop');
    expect(objectName(ns('shop'))).toBe('namespace/shop');
    expect(objectName({ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition', name: 'foos.example.com' })).toBe(
      'customresourcedefinition.apiextensions.k8s.io/foos.example.com',
    );
  });

  it('shortens full SHAs only', () => {
    expect(shortCommit(SHA)).toBe('5298e86');
    expect(shortCommit('a'.repeat(64))).toBe('aaaaaaa');
    expect(shortCommit('build-42')).toBe('build-42');
    expect(shortCommit('5298e86')).toBe('5298e86');
  });
});

describe('renderPlan', () => {
  it('one line per change with its symbol, fields under configures, unchanged only counted, then the summary', () => {
    const text = renderPlan(
      planOf([
        { ...ns('shop'), action: 'unchanged' },
        { ...service('cart'), action: 'create' },
        {
          ...deployment('web'),
          action: 'configure',
          fields: ['.spec.replicas', '.spec.template.spec.containers[name=server].image'],
          takenOverFrom: [{ manager: 'kubectl-edit', fields: ['.spec.replicas'] }],
        },
        { ...service('bad'), action: 'failed', error: { code: 'KNV2010', message: 'Service "bad" is invalid: spec.ports[0].port: Invalid value: 0' } },
        { ...service('old'), action: 'prune' },
        { ...deployment('legacy'), action: 'skipped', reason: 'removed from Git; kept on the cluster (deletion: detach)' },
        { ...deployment('same'), action: 'unchanged' },
      ]),
    );
    expect(text).toBe(
      [
        '+ service/cart -n shop',
        '~ deployment.apps/web -n shop',
        '    .spec.replicas',
        '    .spec.template.spec.containers[name=server].image',
        '    fields taken over from kubectl-edit: .spec.replicas',
        '! service/bad -n shop: KNV2010: Service "bad" is invalid: spec.ports[0].port: Invalid value: 0',
        '- service/old -n shop',
        '= deployment.apps/legacy -n shop: left alone (removed from Git; kept on the cluster (deletion: detach))',
        '',
        'Plan: 1 to create, 1 to configure, 1 to prune, 2 unchanged, 1 left alone, 1 failed.',
        '',
      ].join('\n'),
    );
  });

  it('lists unchanged objects on request, and says when creates could not be dry-run', () => {
    const text = renderPlan(
      planOf([
        { ...ns('shop'), action: 'create' },
        { ...service('a'), action: 'create', reason: 'not validated: its Namespace is created by this commit' },
        { ...service('b'), action: 'create', reason: 'not validated: its Namespace is created by this commit' },
        { ...service('c'), action: 'unchanged' },
      ]),
      { showUnchanged: true },
    );
    expect(text).toContain('\n  service/c -n shop\n');
    expect(text).toContain('\nNote: 2 objects were not checked by a dry-run: the Namespace or CustomResourceDefinition they need is created by this commit.\n');
    expect(text.endsWith('\nPlan: 3 to create, 0 to configure, 0 to prune, 1 unchanged.\n')).toBe(true);
  });

  it('marks an adoption on the object line', () => {
    const text = renderPlan(planOf([{ ...service('x'), action: 'configure', reason: 'adopt: found without the ApplySet label', fields: ['.metadata.labels'] }]));
    expect(text).toContain('~ service/x -n shop (adopt: found without the ApplySet label)\n    .metadata.labels\n');
  });

  it('a plan with nothing to do is its summary line alone', () => {
    expect(renderPlan(planOf([{ ...ns('shop'), action: 'unchanged' }]))).toBe('Plan: 0 to create, 0 to configure, 0 to prune, 1 unchanged.\n');
    expect(planSummary(planOf([]).counts)).toBe('Plan: 0 to create, 0 to configure, 0 to prune, 0 unchanged.');
  });
});

describe('renderApply', () => {
  it('kubectl-apply-like lines, takeovers under their object, unchanged counted, then the summary', () => {
    const text = renderApply(
      applyOf(
        [
          { ...ns('shop'), action: 'unchanged' },
          { ...service('cart'), action: 'created' },
          { ...deployment('web'), action: 'configured', fields: ['.spec.replicas'], takenOverFrom: [{ manager: 'kubectl-edit', fields: ['.spec.replicas'] }] },
          { ...service('adopted'), action: 'configured', reason: 'adopt: found without the ApplySet label' },
          { ...service('old'), action: 'pruned' },
          { ...service('bad'), action: 'failed', error: { code: 'KNV2010', message: 'Service "bad" is invalid' } },
          { ...deployment('uses-bad'), action: 'skipped', error: { code: 'KNV2009', message: 'not applied: depends on Service/shop/bad, which failed' } },
        ],
        { status: 'partial' },
      ),
      'prod',
    );
    expect(text).toBe(
      [
        'service/cart -n shop created',
        'deployment.apps/web -n shop configured (.spec.replicas)',
        '  fields taken over from kubectl-edit: .spec.replicas',
        'service/adopted -n shop configured (adopt: found without the ApplySet label)',
        'service/old -n shop pruned',
        'service/bad -n shop failed: KNV2010: Service "bad" is invalid',
        'deployment.apps/uses-bad -n shop skipped: not applied: depends on Service/shop/bad, which failed',
        'Applied commit 5298e86 to cluster prod with errors: 1 created, 2 configured, 1 pruned, 1 unchanged, 1 skipped, 1 failed (12.3 s).',
        '',
      ].join('\n'),
    );
  });

  it('names at most five changed fields on a line', () => {
    const fields = ['.a', '.b', '.c', '.d', '.e', '.f', '.g'];
    expect(renderApply(applyOf([{ ...deployment('web'), action: 'configured', fields }]), 'c')).toContain('configured (.a, .b, .c, .d, .e and 2 more)\n');
  });

  it('a no-op apply is its summary line alone; --show-unchanged lists every object', () => {
    const result = applyOf([{ ...ns('shop'), action: 'unchanged' }], { durationMs: 420 });
    expect(renderApply(result, 'prod')).toBe('Applied commit 5298e86 to cluster prod: 0 created, 0 configured, 0 pruned, 1 unchanged (0.4 s).\n');
    expect(renderApply(result, 'prod', { showUnchanged: true })).toMatch(/^namespace\/shop unchanged\n/);
  });

  it('says superseded and failed runs plainly', () => {
    expect(applySummary(applyOf([], { status: 'superseded', supersededBy: 'b'.repeat(40) }), 'prod')).toBe(
      'Nothing applied: cluster prod already has commit bbbbbbb, which is newer than 5298e86 (superseded).',
    );
    expect(applySummary(applyOf([], { status: 'failed', commit: 'build-42', durationMs: 1_050 }), 'prod')).toBe(
      'Failed to apply commit build-42 to cluster prod: 0 created, 0 configured, 0 pruned, 0 unchanged (1.1 s).',
    );
  });
});

describe('renderRunError', () => {
  it('points at the opt-in for the deletion safety rule', () => {
    expect(renderRunError({ code: 'KNV2006', message: 'the commit deletes every managed object' })).toBe(
      'Error: KNV2006: the commit deletes every managed object\nIf deleting them is intended, run again with --allow-delete-all.\n',
    );
  });

  it('says a retryable error is temporary, and adds nothing to a permanent one', () => {
    expect(renderRunError({ code: 'KNV2008', message: 'another apply holds Lease pushsync-system/pushsync', retryable: true })).toBe(
      'Error: KNV2008: another apply holds Lease pushsync-system/pushsync\nThis is temporary: the same command should succeed when run again later.\n',
    );
    expect(renderRunError({ code: 'KNV2013', message: 'forbidden' })).toBe('Error: KNV2013: forbidden\n');
  });
});

describe('renderStatus', () => {
  const base: ClusterStatus = { inventory: INVENTORY, state: { exists: false, groupKinds: [], namespaces: [] } };

  it('says when there is no inventory', () => {
    expect(renderStatus({ status: base })).toBe('No pushsync inventory pushsync-system/pushsync on this cluster: nothing has been applied with it.\n');
  });

  it('shows the commit applied in full, the last attempt, its counts, the objects held and every error', () => {
    const status: ClusterStatus = {
      inventory: INVENTORY,
      state: {
        exists: true,
        groupKinds: ['Deployment.apps', 'Namespace', 'Service'],
        namespaces: ['shop'],
        appliedCommit: SHA,
        appliedAt: '2026-01-02T03:04:05.000Z',
        lastCommit: 'c'.repeat(40),
        lastStatus: 'partial',
        lastAt: '2026-01-03T00:00:00.000Z',
        summary: {
          commit: 'c'.repeat(40),
          status: 'partial',
          at: '2026-01-03T00:00:00.000Z',
          counts: { created: 1, configured: 0, unchanged: 22, pruned: 0, skipped: 0, failed: 1 },
          errors: [{ id: 'Service/shop/bad', code: 'KNV2010', message: 'Service "bad" is invalid' }],
        },
      },
    };
    expect(renderStatus({ status, members: 24 })).toBe(
      [
        `Inventory:       configmap pushsync-system/pushsync (ApplySet ${INVENTORY.id})`,
        `Applied in full: commit ${SHA} at 2026-01-02T03:04:05.000Z`,
        `Last attempt:    commit ${'c'.repeat(40)} at 2026-01-03T00:00:00.000Z: partial`,
        'Last run:        1 created, 0 configured, 0 pruned, 22 unchanged, 1 failed (commit ccccccc)',
        'Objects:         24 objects; kinds Deployment.apps, Namespace, Service in 1 namespace (shop)',
        '',
        'Errors of the last run (1):',
        '  Service/shop/bad: KNV2010: Service "bad" is invalid',
        '',
      ].join('\n'),
    );
  });

  it('shows a run-level error and a commit never applied in full', () => {
    const text = renderStatus({
      status: {
        inventory: INVENTORY,
        state: {
          exists: true,
          groupKinds: [],
          namespaces: [],
          lastCommit: 'build-1',
          lastStatus: 'failed',
          lastAt: '2026-01-03T00:00:00.000Z',
          summary: { commit: 'build-1', status: 'failed', at: '2026-01-03T00:00:00.000Z', counts: {}, errors: [], error: { code: 'KNV2016', message: 'API server unreachable' } },
        },
      },
    });
    expect(text).toContain('Applied in full: never\n');
    expect(text).toContain('Objects:         kinds (none)\n');
    expect(text).toContain('Errors of the last run (1):\n  run: KNV2016: API server unreachable\n');
  });
});
