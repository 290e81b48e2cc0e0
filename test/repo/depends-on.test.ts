/**
 * `config.kubernetes.io/depends-on` checked by vet (issue #10 §4): the annotation's syntax in
 * the raw phase, dangling references and cycles per cluster after hydration, all KNV2009 as
 * Config Sync reports them at sync time. The fixture cases 2009-depends-on-* cover one repo
 * each; these tests cover the parser and the graph's corners.
 */
import { describe, expect, it } from 'vitest';
import { formatDependencyRef, formatVetErrors, parseDependsOn, vet, type SourceFormat, type VetError } from '../../lib/repo/index.ts';
import { dependsOnIds as clusterParseDependsOn } from '../../lib/cluster/order.ts';
import { dependencyCycles, dependencyKey, type DependencyNode } from '../../lib/repo/depends-on.ts';
import { files, REPO_YAML } from '../helpers/repo-files.ts';

const D = 'config.kubernetes.io/depends-on';

function cm(name: string, namespace: string, annotations: Record<string, string> = {}): string {
  const ann = Object.entries(annotations).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}\n`).join('');
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n${ann ? `  annotations:\n${ann}` : ''}data:\n  key: value\n`;
}
const ns = (name: string, annotations: Record<string, string> = {}) => cm(name, '', annotations).replace('kind: ConfigMap', 'kind: Namespace').replace('  namespace: \n', '').replace('data:\n  key: value\n', '');

function errorsOf(tree: Record<string, string>, sourceFormat: SourceFormat = 'unstructured'): VetError[] {
  return vet(files(tree), { sourceFormat }).flatMap((r) => r.errors);
}

describe('parseDependsOn', () => {
  it('reads both forms, comma-separated, trimmed, core group empty', () => {
    expect(parseDependsOn(' apps/namespaces/shop/Deployment/web ,/Namespace/shop,rbac.authorization.k8s.io/ClusterRole/view')).toEqual({
      ok: true,
      refs: [
        { group: 'apps', namespace: 'shop', kind: 'Deployment', name: 'web' },
        { group: '', kind: 'Namespace', name: 'shop' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      ],
    });
  });

  it.each([
    ['apps/Deployment', 0, 'expected 3 or 5 fields, found 2'],
    ['apps/namespaces/shop/Deployment', 0, 'expected 3 or 5 fields, found 4'],
    ['apps/ns/shop/Deployment/web', 0, 'the second of 5 fields must be "namespaces", not "ns"'],
    ['apps/namespaces//Deployment/web', 0, 'namespace, kind and name must not be empty'],
    ['apps//web', 0, 'kind and name must not be empty'],
    ['/Namespace/', 0, 'kind and name must not be empty'],
    ['/Namespace/shop,', 1, 'expected 3 or 5 fields, found 1'],
    ['', 0, 'expected 3 or 5 fields, found 1'],
  ])('rejects %j: entry %i, %s', (value, index, why) => {
    const r = parseDependsOn(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe(`failed to parse object reference (index: ${index}): ${JSON.stringify(value.split(',')[index]?.trim())} is not <group>/<Kind>/<name> or <group>/namespaces/<namespace>/<Kind>/<name> (${why})`);
  });

  it('formats a reference back the way the annotation spells it', () => {
    for (const s of ['apps/namespaces/shop/Deployment/web', '/Namespace/shop']) {
      const r = parseDependsOn(s);
      expect(r.ok && r.refs.map(formatDependencyRef)).toEqual([s]);
    }
  });

  it('is the parser the apply order uses: dependsOnIds in lib/cluster accepts and rejects exactly the same values', () => {
    for (const value of ['apps/namespaces/shop/Deployment/web, /Namespace/shop', 'apps/Deployment', '/Namespace/shop,', 'apps//web', 'a/ns/b/C/d']) {
      const repo = parseDependsOn(value);
      if (repo.ok) expect(clusterParseDependsOn(value)).toEqual(repo.refs);
      else expect(() => clusterParseDependsOn(value)).toThrow(repo.error);
    }
  });
});

describe('vet: the depends-on graph of each cluster', () => {
  it('points at the file and line of the object whose annotation is wrong', () => {
    const multi = `${cm('a', 'shop')}---\n${cm('b', 'shop', { [D]: 'apps/Deployment' })}`;
    const [e, ...rest] = errorsOf({ 'ns.yaml': ns('shop'), 'cms.yaml': multi });
    expect(rest).toEqual([]);
    expect(e).toMatchObject({ code: 'KNV2009', path: 'cms.yaml', line: 9 });
    expect(e?.message).toContain('invalid "config.kubernetes.io/depends-on" annotation: failed to parse object reference (index: 0): "apps/Deployment"');
  });

  it('an object depending on itself is a cycle, as in cli-utils', () => {
    const errors = errorsOf({ 'ns.yaml': ns('shop'), 'a.yaml': cm('a', 'shop', { [D]: '/namespaces/shop/ConfigMap/a' }) });
    expect(errors.map((e) => [e.code, e.message])).toEqual([['KNV2009', 'cyclic dependency: /namespaces/shop/ConfigMap/a -> /namespaces/shop/ConfigMap/a']]);
  });

  it('names every edge of a longer cycle once and lists its objects in file order', () => {
    const errors = errorsOf({
      'ns.yaml': ns('shop'),
      'c.yaml': cm('c', 'shop', { [D]: '/namespaces/shop/ConfigMap/a' }),
      'a.yaml': cm('a', 'shop', { [D]: '/namespaces/shop/ConfigMap/b' }),
      'b.yaml': cm('b', 'shop', { [D]: '/namespaces/shop/ConfigMap/c' }),
      'd.yaml': cm('d', 'shop', { [D]: '/namespaces/shop/ConfigMap/a' }),
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe(
      'cyclic dependency: /namespaces/shop/ConfigMap/a -> /namespaces/shop/ConfigMap/b; /namespaces/shop/ConfigMap/b -> /namespaces/shop/ConfigMap/c; /namespaces/shop/ConfigMap/c -> /namespaces/shop/ConfigMap/a',
    );
    expect(errors[0]?.objects?.map((o) => o.source)).toEqual(['a.yaml', 'b.yaml', 'c.yaml']);
  });

  it('a CRD that depends on one of its own custom resources is a cycle through the implied CR -> CRD edge', () => {
    const crd = `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.acme.io\n  annotations:\n    ${D}: acme.io/namespaces/shop/Widget/w\nspec:\n  group: acme.io\n  scope: Namespaced\n  names:\n    kind: Widget\n    plural: widgets\n    singular: widget\n    listKind: WidgetList\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n`;
    const widget = 'apiVersion: acme.io/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: shop\n';
    const errors = errorsOf({ 'crd.yaml': crd, 'ns.yaml': ns('shop'), 'w.yaml': widget });
    expect(errors.map((e) => e.message)).toEqual([
      'cyclic dependency: acme.io/namespaces/shop/Widget/w -> apiextensions.k8s.io/CustomResourceDefinition/widgets.acme.io; apiextensions.k8s.io/CustomResourceDefinition/widgets.acme.io -> acme.io/namespaces/shop/Widget/w (a namespaced object is always applied after its Namespace, and a custom resource after its CRD)',
    ]);
  });

  it('a dangling reference suggests the namespaced form when the cluster-scoped one was written', () => {
    const errors = errorsOf({ 'ns.yaml': ns('shop'), 'a.yaml': cm('a', 'shop', { [D]: '/ConfigMap/b' }), 'b.yaml': cm('b', 'shop') });
    expect(errors.map((e) => e.message)).toEqual([
      'invalid "config.kubernetes.io/depends-on" annotation: external dependency: /namespaces/shop/ConfigMap/a -> /ConfigMap/b: no such object is declared for this cluster (an object may depend only on objects the repo applies to the same cluster); did you mean /namespaces/shop/ConfigMap/b?',
    ]);
  });

  it('offline, a reference to a kind of unknown scope is not judged by the namespace vet guessed for it', () => {
    const widget = (ns?: string) => `apiVersion: acme.io/v1\nkind: Widget\nmetadata:\n  name: w\n${ns ? `  namespace: ${ns}\n` : ''}`;
    // Declared without a namespace: vet places it as cluster-scoped, the API server may say namespaced.
    expect(errorsOf({ 'ns.yaml': ns('shop'), 'w.yaml': widget(), 'a.yaml': cm('a', 'shop', { [D]: 'acme.io/namespaces/default/Widget/w' }) })).toEqual([]);
    expect(errorsOf({ 'ns.yaml': ns('shop'), 'w.yaml': widget('shop'), 'a.yaml': cm('a', 'shop', { [D]: 'acme.io/Widget/w' }) })).toEqual([]);
    // A name no object has is still dangling.
    expect(errorsOf({ 'ns.yaml': ns('shop'), 'w.yaml': widget(), 'a.yaml': cm('a', 'shop', { [D]: 'acme.io/Widget/other' }) }).map((e) => e.code)).toEqual(['KNV2009']);
  });

  it('a reference to an object cluster selection leaves out says where that object is declared', () => {
    const tree = {
      'ns.yaml': ns('shop'),
      'a.yaml': cm('a', 'shop', { [D]: '/namespaces/shop/ConfigMap/b' }),
      'b.yaml': cm('b', 'shop', { 'configsync.gke.io/cluster-name-selector': 'prod' }),
    };
    const results = vet(files(tree), { sourceFormat: 'unstructured' });
    expect(results.map((r) => [r.cluster, r.errors.map((e) => e.message)])).toEqual([
      ['defaultcluster', ['invalid "config.kubernetes.io/depends-on" annotation: external dependency: /namespaces/shop/ConfigMap/a -> /namespaces/shop/ConfigMap/b: it is declared in b.yaml, but its cluster selection leaves it out of this cluster']],
      ['prod', []],
    ]);
    expect(formatVetErrors(results)).toContain('KNV2009: invalid "config.kubernetes.io/depends-on" annotation');
  });

  it('the annotation of an object marked managed: disabled is never read (Config Sync never applies it)', () => {
    const errors = errorsOf({ 'ns.yaml': ns('shop'), 'a.yaml': cm('a', 'shop', { [D]: 'nonsense', 'configmanagement.gke.io/managed': 'disabled' }) });
    expect(errors).toEqual([]);
    const dangling = errorsOf({ 'ns.yaml': ns('shop'), 'a.yaml': cm('a', 'shop', { [D]: '/namespaces/shop/ConfigMap/gone', 'configmanagement.gke.io/managed': 'disabled' }) });
    expect(dangling).toEqual([]);
  });

  it('a hierarchical repo: the namespace a reference needs comes from the directory', () => {
    const tree = {
      'system/repo.yaml': REPO_YAML,
      'namespaces/shop/ns.yaml': ns('shop'),
      'namespaces/shop/a.yaml': cm('a', '', { [D]: '/namespaces/shop/ConfigMap/b' }).replace('  namespace: \n', ''),
      'namespaces/shop/b.yaml': cm('b', '', {}).replace('  namespace: \n', ''),
    };
    expect(errorsOf(tree, 'hierarchy')).toEqual([]);
  });

  it('a chain of dependencies vets clean, and closing it makes one cycle of all its objects', () => {
    const tree: Record<string, string> = { 'ns.yaml': ns('shop') };
    const n = 1_000;
    tree['chain.yaml'] = Array.from({ length: n }, (_, i) => cm(`c${i}`, 'shop', i + 1 < n ? { [D]: `/namespaces/shop/ConfigMap/c${i + 1}` } : {})).join('---\n');
    expect(errorsOf(tree)).toEqual([]);
    tree['loop.yaml'] = cm('loop', 'shop', { [D]: '/namespaces/shop/ConfigMap/c0' });
    tree['chain.yaml'] = tree['chain.yaml'].replace(`name: c${n - 1}\n  namespace: shop\n`, `name: c${n - 1}\n  namespace: shop\n  annotations:\n    ${D}: "/namespaces/shop/ConfigMap/loop"\n`);
    const errors = errorsOf(tree);
    expect(errors.map((e) => e.code)).toEqual(['KNV2009']);
    expect(errors[0]?.objects).toHaveLength(n + 1);
  });

  it('finds cycles in a graph far deeper than the call stack', () => {
    const n = 50_000;
    const ref = (i: number) => ({ group: '', kind: 'ConfigMap', namespace: 'shop', name: `c${i}` });
    const nodes = new Map<string, DependencyNode>();
    for (let i = 0; i < n; i++) {
      const d = { obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: 'shop' } }, source: { path: 'chain.yaml', line: i + 1 } };
      nodes.set(dependencyKey(ref(i)), { d, ref: ref(i), edges: [{ to: ref((i + 1) % n), explicit: true }] });
    }
    const cycles = dependencyCycles({ nodes, disabled: new Map() });
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(n);
  });
});
