/**
 * The static side of rendering (lib/render/kustomization.ts): which file is the root
 * kustomization, and which plugins and outside reads vet refuses before any tool runs, each on
 * the kustomization file and line that asks for it.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkKustomization, isRemote, normalizePath, pluginKind, refuseOutsideReads, refusePlugins, remoteEntries, rootKustomization } from '../../lib/render/kustomization.ts';
import { ACCEPTED_FORMS, REMOTE_ROOT } from '../../lib/render/remote-ref.ts';
import { files, readFixture } from '../helpers/repo-files.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/render/plugins/', import.meta.url));
const fixture = (name: string) => readFixture(`${FIXTURES}${name}`);

const WHY = 'exec and alpha plugins are refused because pushsync renders next to cluster credentials';

describe('rootKustomization', () => {
  it.each([
    ['exec-krm', '', 'kustomization.yaml'],
    ['kustomization-yml', '', 'kustomization.yml'],
    ['capital', '.', 'Kustomization'],
    ['nested', 'overlays/prod', 'overlays/prod/kustomization.yaml'],
    ['nested', './overlays/prod/', 'overlays/prod/kustomization.yaml'],
    ['nested', 'overlays', undefined],
    ['nested', 'base', 'base/kustomization.yaml'],
  ])('%s, dir %j → %j', (name, dir, want) => {
    expect(rootKustomization(fixture(name), dir)).toBe(want);
  });

  it('prefers kustomization.yaml when several exist (kustomize then fails on its own), and ignores nested ones', () => {
    const f = files({ 'kustomization.yml': '', 'kustomization.yaml': '', 'a/kustomization.yaml': '' });
    expect(rootKustomization(f, '')).toBe('kustomization.yaml');
    expect(rootKustomization(files({ 'a/kustomization.yaml': '', 'cm.yaml': '' }), '')).toBeUndefined();
  });
});

describe('refusePlugins', () => {
  it.each([
    {
      name: 'exec-krm',
      root: 'kustomization.yaml',
      want: [{ line: 4, text: 'generators entry "gen.yaml" asks for an exec KRM function example.com/v1/Generate (runs "./plugin.sh")' }],
    },
    {
      name: 'container-krm',
      root: 'kustomization.yaml',
      // labels.yaml (line 3) is builtin and allowed; fn.yaml is not.
      want: [{ line: 4, text: 'transformers entry "fn.yaml" asks for a container KRM function fn.example.com/v1/SetNamespace (image "example.com/set-namespace:v1")' }],
    },
    {
      name: 'legacy',
      root: 'kustomization.yaml',
      want: [{ line: 4, text: "transformers entry \"sed.yaml\" asks for the non-builtin plugin someteam.example.com/v1/SedTransformer (a Go or exec plugin from kustomize's plugin directory)" }],
    },
    {
      name: 'inline',
      root: 'kustomization.yaml',
      // The first inline entry is builtin; the second names its function in .spec.
      want: [{ line: 10, text: 'inline transformers entry asks for a starlark KRM function example.com/v1/StarlarkRun' }],
    },
    { name: 'builtin-only', root: 'kustomization.yaml', want: [] },
    {
      name: 'nested',
      root: 'overlays/prod/kustomization.yaml',
      // Reached through resources → components: the error names the component that asks.
      want: [{ path: 'comp/kustomization.yaml', line: 4, text: 'transformers entry "t.yaml" asks for an exec KRM function example.com/v1/Run (runs "/bin/sh")' }],
    },
    {
      name: 'plugin-dir',
      root: 'kustomization.yaml',
      // A directory in generators: its kustomization's resources are read as plugin configurations.
      want: [{ path: 'gens/kustomization.yaml', line: 2, text: 'resources entry (read as plugin configuration) "fn.yaml" asks for an exec KRM function' }],
    },
    // Remote bases and generator URLs are not plugins as such: refuseOutsideReads refuses what is still remote (below).
    { name: 'remote', root: 'kustomization.yaml', want: [] },
  ])('$name', ({ name, root, want }) => {
    const errors = refusePlugins(fixture(name), root);
    expect(errors.map((e) => ({ code: e.code, path: e.path, line: e.line }))).toEqual(
      want.map((w) => ({ code: 'KNV1068', path: 'path' in w ? w.path : root, line: w.line })),
    );
    errors.forEach((e, i) => {
      expect(e.message).toContain(want[i]?.text);
      expect(e.message).toContain(WHY);
    });
  });

  it('checks a legacy config without apiVersion group, a List of configs, and a function under the old annotation', () => {
    const f = files({
      'kustomization.yaml': 'generators:\n- list.yaml\n',
      'list.yaml': [
        'apiVersion: v1',
        'kind: List',
        'items:',
        '- apiVersion: builtin',
        '  kind: SecretGenerator',
        '  metadata: {name: s}',
        '- apiVersion: v1',
        '  kind: Old',
        '  metadata:',
        '    name: old',
        '    annotations:',
        '      config.k8s.io/function: "exec: {path: ./x}"',
      ].join('\n'),
    });
    const errors = refusePlugins(f, 'kustomization.yaml');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain('generators entry "list.yaml" asks for an exec KRM function v1/Old (runs "./x")');
  });

  it('visits each kustomization once, even in a cycle', () => {
    const f = files({
      'a/kustomization.yaml': 'resources: [../b]\ngenerators: [g.yaml]\n',
      'a/g.yaml': 'apiVersion: x.io/v1\nkind: G\nmetadata: {name: g}\n',
      'b/kustomization.yaml': 'resources: [../a]\n',
    });
    expect(refusePlugins(f, 'a/kustomization.yaml').map((e) => `${e.path}:${e.line}`)).toEqual(['a/kustomization.yaml:2']);
  });

  it('leaves unreadable kustomizations and missing references to the renderer', () => {
    const f = files({ 'kustomization.yaml': 'resources: [missing, ../../x]\ngenerators: [nope.yaml]\n: : bad', 'ok/kustomization.yaml': 'generators: [nope.yaml]\n' });
    expect(refusePlugins(f, 'kustomization.yaml')).toEqual([]);
    expect(refusePlugins(f, 'ok/kustomization.yaml')).toEqual([]);
  });
});

describe('refuseOutsideReads', () => {
  it('refuses absolute paths and paths above the repository, on the line of the entry', () => {
    const errors = refuseOutsideReads(fixture('outside'), 'app/kustomization.yaml');
    expect(errors.map((e) => `${e.code} ${e.path}:${e.line} ${e.message}`)).toEqual([
      'KNV1068 app/kustomization.yaml:2 resources entry "../../elsewhere" leaves the repository: a kustomization may only read files of its repository',
      'KNV1068 app/kustomization.yaml:5 configMapGenerator.files entry "/proc/self/environ" is an absolute path: a kustomization may only read files of its repository',
      'KNV1068 app/kustomization.yaml:9 secretGenerator.files entry "../../secret-token" leaves the repository: a kustomization may only read files of its repository',
      'KNV1068 app/kustomization.yaml:15 helmCharts.valuesFile entry "/etc/shop/values.yaml" is an absolute path: a kustomization may only read files of its repository',
    ]);
    // ../shared/cm.yaml and ../charts stay inside the repository.
    expect(refusePlugins(fixture('outside'), 'app/kustomization.yaml')).toEqual([]);
    expect(checkKustomization(fixture('outside'), 'app/kustomization.yaml')).toHaveLength(4);
  });

  it('refuses what is still remote: a base pushsync did not fetch, a form it does not fetch, a generator URL, file://', () => {
    // renderRepoDir fetches accepted remote bases first and rewrites them (remote.ts); called on
    // its own, this walk sees them still remote and refuses them, each with the reason.
    expect(refuseOutsideReads(fixture('remote'), 'kustomization.yaml').map((e) => `${e.path}:${e.line} ${e.message}`)).toEqual([
      'kustomization.yaml:2 resources entry "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld/?ref=v5.4.3" is a remote base that was not fetched: pushsync fetches remote bases before rendering and checks what they hold; render through renderRepoDir',
      'kustomization.yaml:3 resources entry "github.com/example/shop/base?ref=v1" is a remote base that was not fetched: pushsync fetches remote bases before rendering and checks what they hold; render through renderRepoDir',
      `kustomization.yaml:4 resources entry "git@github.com:example/shop.git//base" is remote in a form pushsync does not fetch (it is an ssh URL, which needs the machine's keys): write a git base as ${ACCEPTED_FORMS}, or vendor it into the repository`,
      'kustomization.yaml:6 generators entry "https://example.com/generators/gen.yaml" is remote: pushsync fetches remote git bases in resources, bases and components only (a remote generators entry is read at render time and checked by nothing); vendor it into the repository',
    ]);
    expect(refuseOutsideReads(files({ 'kustomization.yaml': 'resources:\n- file:///proc/self/environ\n' }), 'kustomization.yaml')[0]?.message).toMatch(
      /"file:\/\/\/proc\/self\/environ" is remote in a form pushsync does not fetch \(a file:\/\/ URL reads the renderer's own files\).*vendor it into the repository/,
    );
  });

  it('lists the remote base entries of reached kustomizations, and keeps a fetched base inside its own repository', () => {
    expect(remoteEntries(fixture('remote'), 'kustomization.yaml').map((e) => `${e.kustomization}:${e.line} ${e.field} ${e.value}`)).toEqual([
      'kustomization.yaml:2 resources https://github.com/kubernetes-sigs/kustomize//examples/helloWorld/?ref=v5.4.3',
      'kustomization.yaml:3 resources github.com/example/shop/base?ref=v1',
      'kustomization.yaml:4 resources git@github.com:example/shop.git//base',
    ]);
    const f = files({
      'app/kustomization.yaml': `resources:\n- ../${REMOTE_ROOT}0/base\n`,
      [`${REMOTE_ROOT}0/base/kustomization.yaml`]: 'resources:\n- ../other\n- ../../../../app\n- ../../1/lib\n',
      [`${REMOTE_ROOT}0/other/kustomization.yaml`]: '',
      [`${REMOTE_ROOT}1/lib/kustomization.yaml`]: '',
    });
    expect(refuseOutsideReads(f, 'app/kustomization.yaml').map((e) => `${e.path}:${e.line} ${e.message}`)).toEqual([
      `${REMOTE_ROOT}0/base/kustomization.yaml:3 resources entry "../../../../app" leaves its remote base's repository: a remote base may only read files of its own repository`,
    ]);
  });

  it('covers patches, crds, replacements, openapi and helm globals, and lets in-repo paths through', () => {
    const f = files({
      'k/kustomization.yaml': [
        'patches:',
        '- path: /a.yaml',
        '- path: p.yaml',
        'crds: [../../crd.yaml]',
        'replacements:',
        '- path: ../r.yaml',
        'openapi:',
        '  path: /schema.json',
        'helmGlobals:',
        '  configHome: /etc/helm',
      ].join('\n'),
    });
    expect(refuseOutsideReads(f, 'k/kustomization.yaml').map((e) => `${e.line} ${e.message.split(' ').slice(0, 3).join(' ')}`)).toEqual([
      '2 patches.path entry "/a.yaml"',
      '4 crds entry "../../crd.yaml"',
      '7 openapi.path entry "/schema.json"',
      '9 helmGlobals.configHome entry "/etc/helm"',
    ]);
  });
});

describe('helpers', () => {
  it.each([
    ['https://github.com/org/repo//base?ref=v1', true],
    ['git::https://example.com/repo.git', true],
    ['git@github.com:org/repo.git//base', true],
    ['ssh://git@example.com/repo', true],
    ['github.com/org/repo/base', true],
    ['../base', false],
    ['base/deployment.yaml', false],
    ['example.com.yaml', false],
  ])('isRemote(%j) = %s', (ref, want) => {
    expect(isRemote(ref)).toBe(want);
  });

  it('normalizePath keeps paths inside the root and refuses climbing above it', () => {
    expect(normalizePath('a/./b/../c/')).toBe('a/c');
    expect(normalizePath('a/..')).toBe('.');
    expect(normalizePath('a/../../b')).toBeUndefined();
  });

  it('pluginKind: builtin configs are allowed, everything else is named', () => {
    expect(pluginKind({ apiVersion: 'builtin', kind: 'HelmChartInflationGenerator' })).toBeUndefined();
    expect(pluginKind({ apiVersion: 'builtin/v1', kind: 'X' })).toContain('the non-builtin plugin builtin/v1/X');
    expect(pluginKind({ kind: 'X', metadata: { annotations: { 'config.kubernetes.io/function': 'not: [yaml' } } })).toBe('a KRM function <no apiVersion>/X');
  });
});
