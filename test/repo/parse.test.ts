/** Bad input at read time: every case is a clear error value naming file and line, never a throw. */
import { describe, expect, it } from 'vitest';
import { compile, parseFiles, MAX_FILE_BYTES, vet } from '../../lib/repo/index.ts';
import { files, REPO_YAML } from '../helpers/repo-files.ts';

const cm = (name: string, extra = '') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;

describe('parseFiles', () => {
  it('reads multi-document YAML and records the line each object starts on', () => {
    const r = parseFiles(files({ 'a.yaml': `# header\n\n${cm('one')}---\n# comment\n${cm('two')}\n---\n---\n` }));
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => [o.obj.metadata.name, o.source.line])).toEqual([['one', 3], ['two', 9]]);
  });

  it('flattens List kinds recursively and drops local-config objects', () => {
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMapList', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'inner' } }] }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'local', annotations: { 'config.kubernetes.io/local-config': 'true' } } }] });
    const r = parseFiles(files({ 'l.json': list, 'k.yaml': cm('kept', '  annotations:\n    config.kubernetes.io/local-config: "false"\n') }));
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => o.obj.metadata.name).sort()).toEqual(['inner', 'kept']);
  });

  it('accepts an empty JSON file and empty YAML documents', () => {
    expect(parseFiles(files({ 'e.json': '  \n', 'e.yaml': '---\n# nothing\n---\n' }))).toEqual({ objects: [], errors: [] });
  });

  it('skips comment-only documents the quick way and the full way alike (issue #13 §1 fast paths)', () => {
    // Indented comments, a blank line, a comment holding a bare CR: all empty, as before.
    const r = parseFiles(files({ 'c.yaml': '  # a\n\n\t# b\n# c\rstill a comment\n', 'd.yaml': `# lead\n${cm('after-comments')}` }));
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => [o.obj.metadata.name, o.source.line])).toEqual([['after-comments', 2]]);
  });

  it('a one-document file (no marker line) keeps its line numbers; a `*` in a string is no alias bomb', () => {
    const r = parseFiles(files({ 'one.yaml': `\n# first\n${cm('one')}data:\n  verbs: "*"\n` }));
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => [o.obj.metadata.name, o.source.line, o.obj.data])).toEqual([['one', 3, { verbs: '*' }]]);
  });

  it('reports unparsable YAML with file, line and column, and still reads the other files', () => {
    const r = parseFiles(files({ 'bad.yaml': `${cm('x')}---\nkey: [unclosed\n`, 'good.yaml': cm('fine') }));
    expect(r.objects.map((o) => o.obj.metadata.name)).toEqual(['x', 'fine']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'KNV2001', path: 'bad.yaml', line: 7 });
    expect(r.errors[0]?.message).toMatch(/line 7, column \d+/);
  });

  it('explains tab indentation and rejects duplicate keys', () => {
    const r = parseFiles(files({ 'tab.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n', 'dup.yaml': `${cm('x')}data:\n  a: "1"\n  a: "2"\n` }));
    const byPath = Object.fromEntries(r.errors.map((e) => [e.path, e]));
    expect(byPath['tab.yaml']).toMatchObject({ code: 'KNV2001', line: 4 });
    expect(byPath['tab.yaml']?.message).toMatch(/tab character/);
    expect(byPath['dup.yaml']).toMatchObject({ code: 'KNV2001', line: 7 });
    expect(byPath['dup.yaml']?.message).toMatch(/duplicated mapping key/);
  });

  it('rejects documents that are a scalar or a list', () => {
    const r = parseFiles(files({ 's.yaml': 'just a string\n', 'l.yaml': '- a\n- b\n' }));
    expect(r.errors.map((e) => [e.path, e.code, e.line])).toEqual([['s.yaml', 'KNV2001', 1], ['l.yaml', 'KNV2001', 1]]);
    expect(r.errors[1]?.message).toMatch(/is a list, not a Kubernetes object/);
  });

  it('requires apiVersion, kind and metadata.name', () => {
    const r = parseFiles(files({ 'a.yaml': 'kind: ConfigMap\nmetadata:\n  name: x\n', 'k.yaml': 'apiVersion: v1\nmetadata:\n  name: x\n', 'n.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' }));
    expect(r.errors.map((e) => [e.path, e.code])).toEqual([['a.yaml', 'KNV2010'], ['k.yaml', 'KNV2001'], ['n.yaml', 'KNV2010']]);
    expect(r.errors[2]?.message).toMatch(/metadata\.name/);
  });

  it('reads unquoted YAML 1.1 booleans as booleans, like Kubernetes', () => {
    const r = parseFiles(files({ 'a.yaml': cm('x', '  labels:\n    a: y\n    b: "y"\n    c: off\n') }));
    expect(r.objects[0]?.obj.metadata.labels).toEqual({ a: true, b: 'y', c: false });
  });

  it('keeps dates as strings (the API server sees strings)', () => {
    const r = parseFiles(files({ 'a.yaml': cm('x', 'data:\n  when: 2020-01-01\n') }));
    expect((r.objects[0]?.obj.data as Record<string, unknown>).when).toBe('2020-01-01');
  });

  it('rejects non-UTF-8 bytes, naming the line', () => {
    const bytes = Buffer.concat([Buffer.from(cm('x') + 'data:\n  k: "'), Buffer.from([0xc3, 0x28]), Buffer.from('"\n')]);
    const r = parseFiles([{ path: 'latin1.yaml', content: bytes }]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'KNV2001', path: 'latin1.yaml', line: 6 })]);
    expect(r.errors[0]?.message).toMatch(/not valid UTF-8/);
  });

  it('refuses a YAML alias bomb in bounded time', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const start = performance.now();
    const r = parseFiles(files({ 'bomb.yaml': `${levels.join('\n')}\n` }));
    expect(performance.now() - start).toBeLessThan(5_000);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'KNV2001', path: 'bomb.yaml', line: 1 })]);
    expect(r.errors[0]?.message).toMatch(/alias bomb/);
  });

  it('refuses a 20 MB file with a clear error instead of parsing it', () => {
    const big = 'x'.repeat(20 * 1024 * 1024);
    const r = parseFiles([{ path: 'huge.yaml', content: Buffer.from(big) }]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'KNV2001', path: 'huge.yaml' })]);
    expect(r.errors[0]?.message).toMatch(/20 MiB, over the 10 MiB limit/);
    expect(MAX_FILE_BYTES).toBe(10 * 1024 * 1024);
  });
});

describe('compile on bad snapshots', () => {
  it('reports read errors and nothing else: no spurious KNV1017 (nomos would add one)', () => {
    const r = compile(files({ 'system/repo.yaml': 'kind: [\n' }), { sourceFormat: 'hierarchy', clusterName: '' });
    expect(r.errors.map((e) => e.code)).toEqual(['KNV2001']);
    expect(r.objects).toEqual([]);
  });

  it('an empty hierarchical repo has no Repo (KNV1017); an empty unstructured repo is empty', () => {
    expect(compile([], { sourceFormat: 'hierarchy', clusterName: '' }).errors.map((e) => e.code)).toEqual(['KNV1017']);
    expect(compile([], { sourceFormat: 'unstructured', clusterName: '' })).toEqual({ cluster: '', errors: [], objects: [] });
  });

  it.each(['../etc/passwd.yaml', '/etc/passwd.yaml', 'namespaces/../../x.yaml', 'a\\b.yaml', 'a//b.yaml'])('refuses the caller-supplied path %s', (path) => {
    const r = compile([{ path, content: cm('x') }, { path: 'ok.yaml', content: cm('ok') }], { sourceFormat: 'unstructured', clusterName: '' });
    expect(r.errors).toEqual([expect.objectContaining({ code: 'KNV2001', path })]);
  });

  it('ignores files that are not policy files, and in H files outside the four directories', () => {
    const r = vet(files({ 'system/repo.yaml': REPO_YAML, 'README.md': '# hi', 'docs/x.yaml': ': bad', 'namespaces/.github/ci.yaml': ': bad', 'namespaces/a/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n' }), { sourceFormat: 'hierarchy' });
    expect(r.map((c) => [c.cluster, c.errors.length, c.objects.length])).toEqual([['defaultcluster', 0, 1]]);
  });
});
