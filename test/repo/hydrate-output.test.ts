import { describe, expect, it } from 'vitest';
import { cleanObject, hydrateFiles, hydrateFlat } from '../../lib/repo/hydrate-output.ts';
import { goJsonIndent, goKeyCompare, goYaml } from '../../lib/repo/go-encoding.ts';
import type { CompileResult, DeclaredObject, KubeObject, VetError } from '../../lib/repo/types.ts';

const declared = (obj: KubeObject, path = 'namespaces/foo/x.yaml', line = 1): DeclaredObject => ({ obj, source: { path, line } });

/** What the engine adds to every hydrated object; the output must not show any of it. */
const stamped = (source: string) => ({
  'configmanagement.gke.io/source-path': source,
  'pushsync.dev/source-path': source,
  'configmanagement.gke.io/cluster-name': 'prod',
});

const namespace = (name: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, ...extra },
});

const configMap = (name: string, ns: string, data: Record<string, string> = { a: '1' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, annotations: stamped(`namespaces/${ns}/cm.yaml`), labels: { 'configsync.gke.io/declared-version': 'v1' } },
  data,
});

const clusterRole = (name: string, apiVersion = 'rbac.authorization.k8s.io/v1'): KubeObject => ({
  apiVersion,
  kind: 'ClusterRole',
  metadata: { name, annotations: stamped('cluster/cr.yaml') },
  rules: [],
});

const result = (cluster: string, objs: KubeObject[], errors: VetError[] = []): CompileResult => ({
  cluster,
  errors,
  objects: objs.map((o) => declared(o)),
});

describe('hydrateFiles layout', () => {
  it('writes one file per object, namespaced ones under their namespace, names lower-cased', () => {
    const files = hydrateFiles([result('defaultcluster', [namespace('foo'), configMap('Settings', 'foo'), clusterRole('reader')])], { format: 'yaml' });
    expect(files.map((f) => f.path)).toEqual(['clusterrole_reader.yaml', 'foo/configmap_settings.yaml', 'namespace_foo.yaml']);
    expect(files.find((f) => f.path === 'namespace_foo.yaml')?.content).toBe('---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n');
  });

  it('puts everything under <cluster>/ when more than one cluster is reported, leaving out clusters with blocking errors', () => {
    const blocking: VetError = { code: 'KNV1029', message: 'duplicate' };
    const nonBlocking: VetError = { code: 'KNV1021', message: 'unknown kind' };
    const files = hydrateFiles(
      [
        result('defaultcluster', [namespace('foo')]),
        result('prod', [namespace('foo')], [blocking]),
        result('staging', [namespace('foo')], [nonBlocking]),
      ],
      { format: 'json' },
    );
    expect(files.map((f) => f.path)).toEqual(['defaultcluster/namespace_foo.json', 'staging/namespace_foo.json']);
  });

  it('stays flat with one cluster even if it is not defaultcluster', () => {
    expect(hydrateFiles([result('prod', [namespace('foo')])], { format: 'yaml' }).map((f) => f.path)).toEqual(['namespace_foo.yaml']);
  });

  it('names both files <kind>.<group>_<name> on a clash (core group empty), and shares a file when that clashes too', () => {
    const knService: KubeObject = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'web', namespace: 'foo' } };
    const coreService: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'foo' } };
    const files = hydrateFiles(
      [result('defaultcluster', [coreService, knService, clusterRole('reader'), clusterRole('Reader', 'rbac.authorization.k8s.io/v1beta1')])],
      { format: 'yaml' },
    );
    expect(files.map((f) => f.path)).toEqual([
      'clusterrole.rbac.authorization.k8s.io_reader.yaml',
      'foo/service._web.yaml',
      'foo/service.serving.knative.dev_web.yaml',
    ]);
    // Captured from nomos hydrate: both ClusterRoles land in one file, in order.
    expect(files[0]?.content).toBe(
      '---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules: []\n' +
        '---\napiVersion: rbac.authorization.k8s.io/v1beta1\nkind: ClusterRole\nmetadata:\n  name: Reader\nrules: []\n',
    );
  });

  it('writes nothing for no clusters', () => {
    expect(hydrateFiles([], { format: 'yaml' })).toEqual([]);
    expect(hydrateFlat([], { format: 'yaml' })).toBe('');
  });
});

describe('cleaning', () => {
  it("removes Config Sync's and pushsync's keys except configmanagement.gke.io/managed, and empty maps", () => {
    const obj: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'cm',
        namespace: 'foo',
        annotations: {
          ...stamped('namespaces/foo/cm.yaml'),
          'configmanagement.gke.io/managed': 'disabled',
          'configsync.gke.io/unknown-scope': 'true',
          'client.lifecycle.config.k8s.io/mutation': 'ignore',
          'pushsync.dev/source-line': '3',
        },
        labels: { 'configsync.gke.io/declared-version': 'v1', 'pushsync.dev/x': 'y' },
      },
    };
    expect(cleanObject(obj).metadata).toEqual({
      name: 'cm',
      namespace: 'foo',
      annotations: { 'configmanagement.gke.io/managed': 'disabled', 'client.lifecycle.config.k8s.io/mutation': 'ignore' },
    });
    expect(obj.metadata.labels).toEqual({ 'configsync.gke.io/declared-version': 'v1', 'pushsync.dev/x': 'y' });
  });

  it('keeps the user-authored pushsync.dev/health annotation (the rollout opt-out) while dropping the added pushsync.dev/ keys', () => {
    const obj: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', namespace: 'foo', annotations: { ...stamped('namespaces/foo/job.yaml'), 'pushsync.dev/health': 'ignore' } },
    };
    expect(cleanObject(obj).metadata).toEqual({ name: 'migrate', namespace: 'foo', annotations: { 'pushsync.dev/health': 'ignore' } });
    // And through the whole output, as `pushsync hydrate` writes it.
    const files = hydrateFiles([result('defaultcluster', [obj])], { format: 'yaml' });
    expect(files).toHaveLength(1);
    expect(files[0]?.content).toContain('pushsync.dev/health: ignore');
    expect(files[0]?.content).not.toContain('source-path');
  });

  it('removes depth labels and the added hnc managed-by from Namespaces, restoring a value the user declared', () => {
    const added = namespace('c', {
      labels: { 'a.tree.hnc.x-k8s.io/depth': '1', 'c.tree.hnc.x-k8s.io/depth': '0', team: 'x' },
      annotations: { 'hnc.x-k8s.io/managed-by': 'configmanagement.gke.io' },
    });
    expect(cleanObject(added).metadata).toEqual({ name: 'c', labels: { team: 'x' } });
    const userValue = namespace('c', {
      annotations: { 'hnc.x-k8s.io/managed-by': 'configmanagement.gke.io', 'configsync.gke.io/original-hnc-managed-by-value': 'me' },
    });
    expect(cleanObject(userValue).metadata).toEqual({ name: 'c', annotations: { 'hnc.x-k8s.io/managed-by': 'me' } });
  });

  it('keeps depth labels and managed-by on other kinds, as nomos does', () => {
    const cm = configMap('cm', 'foo');
    cm.metadata.labels = { 'x.tree.hnc.x-k8s.io/depth': '0' };
    cm.metadata.annotations = { 'hnc.x-k8s.io/managed-by': 'someone' };
    expect(cleanObject(cm).metadata).toEqual({ name: 'cm', namespace: 'foo', labels: cm.metadata.labels, annotations: cm.metadata.annotations });
  });

  it('drops status and metadata.creationTimestamp in directory output and flat JSON, but not flat YAML (as nomos)', () => {
    const obj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'foo', creationTimestamp: null }, status: {} };
    const [file] = hydrateFiles([result('defaultcluster', [obj])], { format: 'yaml' });
    expect(file?.content).toBe('---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n');
    expect(hydrateFlat([result('defaultcluster', [obj])], { format: 'yaml' })).toBe(
      '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  creationTimestamp: null\n  name: foo\nstatus: {}\n',
    );
    expect(hydrateFlat([result('defaultcluster', [obj])], { format: 'json' })).not.toContain('status');
  });
});

describe('flat output', () => {
  it('concatenates the objects of every included cluster in order', () => {
    const text = hydrateFlat([result('a', [namespace('one')]), result('b', [namespace('two')], [{ code: 'KNV1029', message: 'x' }]), result('c', [namespace('three')])], {
      format: 'yaml',
    });
    expect(text).toBe(
      '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: one\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: three\n',
    );
  });
});

describe('JSON (Go encoding/json MarshalIndent, tab)', () => {
  it('writes a v1 List with keys in byte order, HTML characters escaped, no trailing newline', () => {
    const [file] = hydrateFiles([result('defaultcluster', [configMap('cm', 'foo', { '2': 'a<b', '10': 'x&y', b: '\u2028', a: '' })])], { format: 'json' });
    expect(file?.path).toBe('foo/configmap_cm.json');
    expect(file?.content).toBe(
      [
        '{',
        '\t"apiVersion": "v1",',
        '\t"items": [',
        '\t\t{',
        '\t\t\t"apiVersion": "v1",',
        '\t\t\t"data": {',
        '\t\t\t\t"10": "x\\u0026y",',
        '\t\t\t\t"2": "a\\u003cb",',
        '\t\t\t\t"a": "",',
        '\t\t\t\t"b": "\\u2028"',
        '\t\t\t},',
        '\t\t\t"kind": "ConfigMap",',
        '\t\t\t"metadata": {',
        '\t\t\t\t"name": "cm",',
        '\t\t\t\t"namespace": "foo"',
        '\t\t\t}',
        '\t\t}',
        '\t],',
        '\t"kind": "List"',
        '}',
      ].join('\n'),
    );
  });

  it('writes empty collections inline', () => {
    expect(goJsonIndent({ a: [], b: {}, c: [1, null, true] })).toBe('{\n\t"a": [],\n\t"b": {},\n\t"c": [\n\t\t1,\n\t\tnull,\n\t\ttrue\n\t]\n}');
  });
});

describe('YAML (go-yaml v2 as sigs.k8s.io/yaml prints it)', () => {
  it('matches nomos hydrate byte for byte on strings that need quoting, folding or block style', () => {
    // Input and expected output captured from `nomos hydrate` on the same ConfigMap.
    const data = {
      c: 'x',
      long: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam',
      multi: 'line one\nline two\n',
      yess: 'yes',
      onn: 'y',
      '80': '80',
      ts: '2020-01-02',
      star: '*.example.com',
      colon: 'a: b',
      hash: 'a #b',
      emptystr: '',
      tilde: '~',
      float: '1.5',
      octal: '0755',
      hex: '0x1F',
      trailing: 'abc ',
      leading: ' abc',
      quote: "it's",
      dq: 'say "hi"',
      tab: 'a\tb',
      uni: 'héllo wörld',
      emoji: '😀',
      base60: '1:20',
      dash: '- x',
      q: '?x',
      nl2: 'a\n\nb\n\n',
      spacebreak: 'a \nb',
      crlf: 'a\r\nb',
    };
    const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'foo', annotations: { x: 'z' } }, data };
    const [file] = hydrateFiles([result('defaultcluster', [obj])], { format: 'yaml' });
    expect(file?.content).toBe(
      [
        '---',
        'apiVersion: v1',
        'data:',
        '  "80": "80"',
        '  base60: "1:20"',
        '  c: x',
        "  colon: 'a: b'",
        '  crlf: "a\\r\\nb"',
        "  dash: '- x'",
        '  dq: say "hi"',
        '  emoji: "\\U0001F600"',
        '  emptystr: ""',
        '  float: "1.5"',
        "  hash: 'a #b'",
        '  hex: "0x1F"',
        "  leading: ' abc'",
        '  long: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor',
        '    incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam',
        '  multi: |',
        '    line one',
        '    line two',
        '  nl2: |+',
        '    a',
        '',
        '    b',
        '',
        '  octal: "0755"',
        '  onn: "y"',
        '  q: ?x',
        "  quote: it's",
        '  spacebreak: "a \\nb"',
        "  star: '*.example.com'",
        '  tab: "a\\tb"',
        '  tilde: "~"',
        "  trailing: 'abc '",
        '  ts: "2020-01-02"',
        '  uni: héllo wörld',
        '  yess: "yes"',
        'kind: ConfigMap',
        'metadata:',
        '  annotations:',
        '    x: z',
        '  name: cm',
        '  namespace: foo',
        '',
      ].join('\n'),
    );
  });

  it('matches nomos on numbers, nesting, empty collections and key order', () => {
    const spec = {
      ports: [{ port: 80, targetPort: 8080, name: 'http' }],
      clusterIP: 'None',
      selector: {},
      externalIPs: [],
      weight: 1.5,
      big: 1e21,
      small: 0.00001,
      neg: -3,
      false: null,
      t: true,
      a10: 1,
      a2: 2,
      A: 3,
      _x: 4,
      '1': 'one',
    };
    expect(goYaml({ spec, list: [['a', 'b'], [], [{ k: 'v' }]] })).toBe(
      [
        'list:',
        '- - a',
        '  - b',
        '- []',
        '- - k: v',
        'spec:',
        '  _x: 4',
        '  "1": one',
        '  A: 3',
        '  a2: 2',
        '  a10: 1',
        '  big: 1e+21',
        '  clusterIP: None',
        '  externalIPs: []',
        '  "false": null',
        '  neg: -3',
        '  ports:',
        '  - name: http',
        '    port: 80',
        '    targetPort: 8080',
        '  selector: {}',
        '  small: 1e-05',
        '  t: true',
        '  weight: 1.5',
        '',
      ].join('\n'),
    );
  });

  it('quotes what YAML 1.1 reads as another type, and only that (cases checked against nomos hydrate)', () => {
    const quoted = [
      'true', 'on', 'Off', 'y', 'NULL', '~', '12', '-1', '+1', '0x1f', '0o17', '0b101', '017', '08', '1.5', '.5', '1e3',
      '1_000', '.inf', '2001-12-14 21:59:43.10', '2020-1-2T3:4:5Z', '1:20', '0b-101', '-0b101', '.5_0', '1__0',
      '0xFFFFFFFFFFFFFFFF', '-9223372036854775809', '2020-01-02t10:00:00+01:00', '2020-01-02 1:2:3,5',
    ];
    for (const s of quoted) expect(goYaml({ k: s }), s).toBe(`k: "${s}"\n`);
    const plain = ['yes please', 'x1', '<<', '=', '2020-13-45', '2020-02-30', '0xZZ', '1.2.3', 'v1', 'nope', '.', '1e400', '+0xFFFFFFFFFFFFFFFF'];
    for (const s of plain) expect(goYaml({ k: s }), s).toBe(`k: ${s}\n`);
    expect(goYaml({ k: '-' })).toBe("k: '-'\n");
  });

  it("uses go-yaml's natural key order", () => {
    const keys = ['b', 'a10', 'a2', 'A', '_x', '1', '10', '2', 'ä', 'z09', 'z9'];
    expect([...keys].sort(goKeyCompare)).toEqual(['_x', '1', '2', '10', 'A', 'a2', 'a10', 'b', 'z9', 'z09', 'ä']);
  });

  it('escapes characters libyaml does not print raw', () => {
    expect(goYaml({ k: '\u0001\u007f\ufeff' })).toBe('k: "\\x01\\x7F\\uFEFF"\n');
    expect(goYaml({ k: '\ufeffab' })).toBe('k: "\\uFEFF\\x61\\x62"\n');
  });
});
