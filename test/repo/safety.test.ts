import { describe, expect, it } from 'vitest';
import { checkCrdRemoval, checkDeletionSafety, type KubeObject, type ObjectKey } from '../../lib/repo/index.ts';

const ns = (name: string): ObjectKey => ({ group: '', kind: 'Namespace', name });
const cm = (name: string, namespace = 'a'): ObjectKey => ({ group: '', kind: 'ConfigMap', name, namespace });

describe('checkDeletionSafety (KNV2006)', () => {
  it('refuses a commit that drops every Namespace when there were two or more', () => {
    const e = checkDeletionSafety([ns('a'), ns('b'), cm('x')], [cm('x'), { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'r' }]);
    expect(e?.code).toBe('KNV2006');
    expect(e?.message).toMatch(/delete all 2 Namespaces/);
  });

  it('allows dropping the last single Namespace, and dropping some of several', () => {
    expect(checkDeletionSafety([ns('a'), cm('x')], [cm('x')])).toBeUndefined();
    expect(checkDeletionSafety([ns('a'), ns('b')], [ns('b')])).toBeUndefined();
  });

  it('refuses an empty source that would delete every managed object', () => {
    const e = checkDeletionSafety([cm('x'), cm('y')], []);
    expect(e?.code).toBe('KNV2006');
    expect(e?.message).toMatch(/would delete all 2 managed objects/);
  });

  it('lets an explicit opt-in through, and an empty cluster take an empty source', () => {
    expect(checkDeletionSafety([ns('a'), ns('b')], [], { allowDeleteAll: true })).toBeUndefined();
    expect(checkDeletionSafety([], [])).toBeUndefined();
  });
});

describe('checkCrdRemoval (KNV1047, previous-commit half)', () => {
  const crd: KubeObject = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' }, spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' }, scope: 'Namespaced' } };
  const widget: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'a', annotations: { 'pushsync.dev/source-path': 'namespaces/a/w.yaml' } } };

  it('flags custom resources left behind by a removed CRD', () => {
    const errs = checkCrdRemoval([crd, widget], [widget]);
    expect(errs).toEqual([expect.objectContaining({ code: 'KNV1047', path: 'namespaces/a/w.yaml' })]);
  });

  it('accepts removing the CRD together with its resources, or keeping both', () => {
    expect(checkCrdRemoval([crd, widget], [])).toEqual([]);
    expect(checkCrdRemoval([crd, widget], [crd, widget])).toEqual([]);
  });
});
