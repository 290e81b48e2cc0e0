/** Cluster selection (spec §3.3) and namespace selection details, one behaviour per test. */
import { describe, expect, it } from 'vitest';
import { compile, vet, type CompileResult } from '../../lib/repo/index.ts';
import { files, REPO_YAML } from '../helpers/repo-files.ts';

const cluster = (name: string, labels: Record<string, string>) =>
  `apiVersion: clusterregistry.k8s.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: ${name}\n  labels: ${JSON.stringify(labels)}\n`;
const selector = (name: string, sel: object) =>
  `apiVersion: configmanagement.gke.io/v1\nkind: ClusterSelector\nmetadata:\n  name: ${name}\nspec:\n  selector: ${JSON.stringify(sel)}\n`;
const ns = (name: string, annotations: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  annotations: ${JSON.stringify(annotations)}\n  labels: ${JSON.stringify(labels)}\n`;
const cm = (name: string, annotations: Record<string, string> = {}) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  annotations: ${JSON.stringify(annotations)}\n`;

const names = (r: CompileResult) => r.objects.map((d) => `${d.obj.kind}/${d.obj.metadata.namespace ?? ''}/${d.obj.metadata.name}`).sort();

const repo = files({
  'system/repo.yaml': REPO_YAML,
  'clusterregistry/clusters.yaml': `${cluster('prod-a', { env: 'prod' })}---\n${cluster('dev-a', { env: 'dev' })}`,
  'clusterregistry/selectors.yaml': `${selector('prod', { matchLabels: { env: 'prod' } })}---\n${selector('not-prod', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] })}`,
  'namespaces/shop/ns.yaml': ns('shop', { 'configmanagement.gke.io/cluster-selector': 'prod' }),
  'namespaces/shop/cm.yaml': cm('plain'),
  'namespaces/tools/ns.yaml': ns('tools'),
  'namespaces/tools/cm.yaml': `${cm('inline', { 'configsync.gke.io/cluster-name-selector': ' DEV-A , other' })}---\n${cm('legacy', { 'configmanagement.gke.io/cluster-selector': 'not-prod' })}`,
});

describe('cluster selection', () => {
  it('vets the placeholder, every Cluster and every inline name', () => {
    // Names are taken as written (like nomos); matching is case-insensitive, so DEV-A and dev-a get the same objects.
    expect(vet(repo, { sourceFormat: 'hierarchy' }).map((r) => r.cluster)).toEqual(['DEV-A', 'defaultcluster', 'dev-a', 'other', 'prod-a']);
  });

  it('a selected Namespace brings its directory; inline names are trimmed and case-insensitive', () => {
    expect(names(compile(repo, { sourceFormat: 'hierarchy', clusterName: 'prod-a' }))).toEqual(['ConfigMap/shop/plain', 'Namespace//shop', 'Namespace//tools']);
    expect(names(compile(repo, { sourceFormat: 'hierarchy', clusterName: 'dev-a' }))).toEqual(['ConfigMap/tools/inline', 'ConfigMap/tools/legacy', 'Namespace//tools']);
  });

  it('an unknown cluster has no labels: matchLabels never match, NotIn does', () => {
    expect(names(compile(repo, { sourceFormat: 'hierarchy', clusterName: 'defaultcluster' }))).toEqual(['ConfigMap/tools/legacy', 'Namespace//tools']);
  });

  it('with no cluster name every inline-selected object is excluded', () => {
    expect(names(compile(repo, { sourceFormat: 'hierarchy', clusterName: '' }))).toEqual(['ConfigMap/tools/legacy', 'Namespace//tools']);
  });

  it('is stamped with the target cluster name (not the placeholder)', () => {
    const prod = compile(repo, { sourceFormat: 'hierarchy', clusterName: 'prod-a' });
    expect(prod.objects.every((d) => d.obj.metadata.annotations?.['configmanagement.gke.io/cluster-name'] === 'prod-a')).toBe(true);
    const def = compile(repo, { sourceFormat: 'hierarchy', clusterName: 'defaultcluster' });
    expect(def.objects.some((d) => 'configmanagement.gke.io/cluster-name' in (d.obj.metadata.annotations ?? {}))).toBe(false);
  });

  it('a namespace declared twice is active if any declaration is', () => {
    const u = files({
      'a.yaml': ns('x', { 'configsync.gke.io/cluster-name-selector': 'a' }),
      'b.yaml': ns('x', { 'configsync.gke.io/cluster-name-selector': 'b' }),
      'c.yaml': `${cm('in-x').replace('metadata:\n', 'metadata:\n  namespace: x\n')}`,
    });
    expect(names(compile(u, { sourceFormat: 'unstructured', clusterName: 'b' }))).toEqual(['ConfigMap/x/in-x', 'Namespace//x']);
    expect(names(compile(u, { sourceFormat: 'unstructured', clusterName: 'c' }))).toEqual([]);
  });

  it('duplicates are judged after selection: disjoint selectors may declare one name twice', () => {
    const u = files({
      'a.yaml': cm('same', { 'configsync.gke.io/cluster-name-selector': 'a' }),
      'b.yaml': cm('same', { 'configsync.gke.io/cluster-name-selector': 'a,b' }),
    });
    const byName = Object.fromEntries(vet(u, { sourceFormat: 'unstructured' }).map((r) => [r.cluster, r]));
    const [a, b] = [byName.a, byName.b];
    expect(a?.errors.map((e) => e.code)).toEqual(['KNV1029']);
    expect(b?.errors).toEqual([]);
  });
});

describe('namespace selection', () => {
  const sel = (name: string, labels: Record<string, string>) =>
    `apiVersion: configmanagement.gke.io/v1\nkind: NamespaceSelector\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    matchLabels: ${JSON.stringify(labels)}\n`;

  it('H: selects on depth labels, so a selector can pick a subtree', () => {
    const r = compile(files({
      'system/repo.yaml': REPO_YAML,
      'namespaces/sel.yaml': sel('eng-only', { 'eng.tree.hnc.x-k8s.io/depth': '1' }),
      'namespaces/q.yaml': cm('quota', { 'configmanagement.gke.io/namespace-selector': 'eng-only' }),
      'namespaces/eng/a/ns.yaml': ns('a'),
      'namespaces/ops/b/ns.yaml': ns('b'),
    }), { sourceFormat: 'hierarchy', clusterName: '' });
    expect(r.errors).toEqual([]);
    expect(names(r)).toEqual(['ConfigMap/a/quota', 'Namespace//a', 'Namespace//b']);
    const a = r.objects.find((d) => d.obj.metadata.name === 'a');
    expect(a?.obj.metadata.labels).toMatchObject({ 'eng.tree.hnc.x-k8s.io/depth': '1', 'a.tree.hnc.x-k8s.io/depth': '0' });
    expect(a?.obj.metadata.annotations?.['hnc.x-k8s.io/managed-by']).toBe('configmanagement.gke.io');
  });

  it('U: copies an object into every declared Namespace whose labels match, and none when none do', () => {
    const u = files({
      's.yaml': sel('team', { team: 'x' }),
      'n.yaml': `${ns('one', {}, { team: 'x' })}---\n${ns('two', {}, { team: 'x' })}---\n${ns('three')}`,
      'c.yaml': `${cm('shared', { 'configmanagement.gke.io/namespace-selector': 'team' })}---\n${sel('nobody', { team: 'y' })}---\n${cm('orphan', { 'configmanagement.gke.io/namespace-selector': 'nobody' })}`,
    });
    const r = compile(u, { sourceFormat: 'unstructured', clusterName: '' });
    expect(r.errors).toEqual([]);
    expect(names(r)).toEqual(['ConfigMap/one/shared', 'ConfigMap/two/shared', 'Namespace//one', 'Namespace//three', 'Namespace//two']);
  });

  it('U: an object with neither namespace nor selector goes to default, or to the namespace repo', () => {
    expect(names(compile(files({ 'c.yaml': cm('x') }), { sourceFormat: 'unstructured', clusterName: '' }))).toEqual(['ConfigMap/default/x']);
    expect(names(compile(files({ 'c.yaml': cm('x') }), { sourceFormat: 'unstructured', clusterName: '', namespaceRepo: 'team' }))).toEqual(['ConfigMap/team/x']);
  });

  it('protected namespaces are marked detach, so pruning never deletes them', () => {
    const r = compile(files({ 'n.yaml': `${ns('default')}---\n${ns('kube-system')}---\n${ns('mine')}` }), { sourceFormat: 'unstructured', clusterName: '' });
    expect(r.objects.map((d) => [d.obj.metadata.name, d.obj.metadata.annotations?.['client.lifecycle.config.k8s.io/deletion']])).toEqual([['default', 'detach'], ['kube-system', 'detach'], ['mine', undefined]]);
  });

  it('unknown kinds are accepted offline, marked unknown-scope and placed by directory', () => {
    const widget = 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n';
    const r = compile(files({ 'system/repo.yaml': REPO_YAML, 'namespaces/a/ns.yaml': ns('a'), 'namespaces/a/w.yaml': widget, 'cluster/w.yaml': widget.replace('name: w', 'name: cw') }), { sourceFormat: 'hierarchy', clusterName: '' });
    expect(r.errors).toEqual([]);
    expect(r.objects.filter((d) => d.obj.kind === 'Widget').map((d) => [d.obj.metadata.namespace ?? '', d.obj.metadata.name, d.obj.metadata.annotations?.['configsync.gke.io/unknown-scope']])).toEqual([['', 'cw', 'true'], ['a', 'w', 'true']]);
  });
});
