/**
 * Keys a repo author chooses are data, never object machinery: a ConfigMap key named
 * `__proto__`, `constructor` or `hasOwnProperty` must reach the hydrated output exactly as
 * written, and must not change what any object inherits (issue #10 §3.8).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hydrateFiles, hydrateFlat, parseFiles, vet, type SourceFormat } from '../../lib/repo/index.ts';
import { goJsonIndent, goYaml, toJson } from '../../lib/repo/go-encoding.ts';
import { hydrateCommand } from '../../bin/commands/hydrate.ts';
import { files, REPO_YAML } from '../helpers/repo-files.ts';

const KEYS = ['__proto__', 'constructor', 'hasOwnProperty'];

const CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: tricky
  annotations:
    constructor: "c"
data:
  __proto__: "p"
  constructor: "c"
  hasOwnProperty: "h"
  plain: "x"
`;
const NAMESPACE = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n';

const hierarchy = {
  'system/repo.yaml': REPO_YAML,
  'namespaces/shop/namespace.yaml': NAMESPACE,
  'namespaces/shop/cm.yaml': CONFIGMAP,
};
/** The ConfigMap in an abstract dir: inheritance copies it into the namespace below. */
const inherited = {
  'system/repo.yaml': REPO_YAML,
  'namespaces/cm.yaml': CONFIGMAP,
  'namespaces/shop/namespace.yaml': NAMESPACE,
};
const unstructured = {
  'ns.yaml': NAMESPACE,
  'cm.json': JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tricky', namespace: 'shop', annotations: { constructor: 'c' } }, data: { ['__proto__']: 'p', constructor: 'c', hasOwnProperty: 'h', plain: 'x' } }),
};

function hydrated(tree: Record<string, string>, sourceFormat: SourceFormat) {
  const results = vet(files(tree), { sourceFormat });
  expect(results.flatMap((r) => r.errors)).toEqual([]);
  return results;
}

/** The four data keys, each once, in the YAML go-yaml would print. */
function expectYamlKeys(text: string): void {
  expect(text).toContain('data:\n  __proto__: p\n  constructor: c\n  hasOwnProperty: h\n  plain: x\n');
  expect(text).toContain('annotations:\n    constructor: c\n');
}

function expectJsonKeys(text: string): void {
  expect(text).toContain('"data": {\n\t\t\t\t"__proto__": "p",\n\t\t\t\t"constructor": "c",\n\t\t\t\t"hasOwnProperty": "h",\n\t\t\t\t"plain": "x"\n\t\t\t}');
  const parsed = JSON.parse(text) as { items: { data: object }[] };
  const data = parsed.items.find((i) => 'data' in i)?.data ?? {};
  expect(Object.keys(data)).toEqual([...KEYS, 'plain']);
}

describe('keys named like Object.prototype members', () => {
  it('the YAML reader keeps them as own keys and never sets a prototype', () => {
    const evil = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: evil\n  namespace: shop\ndata:\n  __proto__:\n    polluted: "yes"\n';
    const { objects, errors } = parseFiles(files({ 'cm.yaml': CONFIGMAP, 'evil.yaml': evil }));
    expect(errors).toEqual([]);
    const data = objects[0]?.obj.data as Record<string, unknown>;
    expect(Object.keys(data)).toEqual([...KEYS, 'plain']);
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    const evilData = objects[1]?.obj.data as Record<string, unknown>;
    expect(Object.getPrototypeOf(evilData)).toBe(Object.prototype);
    expect((evilData as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('a YAML merge key (<<) copies them as keys too', () => {
    const merged = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n  namespace: shop\n  labels: &base\n    __proto__: "p"\ndata:\n  <<: *base\n  constructor: "c"\n';
    const { objects, errors } = parseFiles(files({ 'm.yaml': merged }));
    expect(errors).toEqual([]);
    const data = objects[0]?.obj.data as Record<string, unknown>;
    expect(Object.entries(data)).toEqual([['__proto__', 'p'], ['constructor', 'c']]);
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
  });

  it('the Go encoders keep a __proto__ key (the encoders copy every object first)', () => {
    const value = JSON.parse('{"__proto__": "p", "constructor": "c", "hasOwnProperty": "h"}') as object;
    expect(Object.keys(toJson(value) as object)).toEqual(KEYS);
    expect(goYaml(value)).toBe('__proto__: p\nconstructor: c\nhasOwnProperty: h\n');
    expect(goJsonIndent(value)).toBe('{\n\t"__proto__": "p",\n\t"constructor": "c",\n\t"hasOwnProperty": "h"\n}');
    // A mapping under __proto__ stays a key too, instead of becoming the copy's prototype.
    const nested = JSON.parse('{"__proto__": {"polluted": "yes"}}') as object;
    expect(goYaml(nested)).toBe('__proto__:\n  polluted: "yes"\n');
  });

  for (const [name, tree, format] of [
    ['hierarchy', hierarchy, 'hierarchy'],
    ['hierarchy, inherited from an abstract dir', inherited, 'hierarchy'],
    ['unstructured, from a JSON file', unstructured, 'unstructured'],
  ] as const) {
    it(`${name}: vet passes and hydrate (files and --flat, YAML and JSON) keeps every key`, () => {
      const results = hydrated(tree, format);
      const yamlFile = hydrateFiles(results, { format: 'yaml' }).find((f) => f.path === 'shop/configmap_tricky.yaml');
      expectYamlKeys(yamlFile?.content ?? '');
      expectYamlKeys(hydrateFlat(results, { format: 'yaml' }));
      const jsonFile = hydrateFiles(results, { format: 'json' }).find((f) => f.path === 'shop/configmap_tricky.json');
      expectJsonKeys(jsonFile?.content ?? '');
      expectJsonKeys(hydrateFlat(results, { format: 'json' }));
    });
  }

  it('a kind named like a prototype member is not mistaken for a deprecated extensions kind (KNV1050)', () => {
    for (const kind of ['constructor', 'toString', '__proto__']) {
      const doc = `apiVersion: extensions/v1beta1\nkind: ${JSON.stringify(kind)}\nmetadata:\n  name: x\n  namespace: shop\n`;
      const errors = vet(files({ 'ns.yaml': NAMESPACE, 'x.yaml': doc }), { sourceFormat: 'unstructured' }).flatMap((r) => r.errors);
      expect(errors.map((e) => `${e.code}: ${e.message}`), kind).toEqual([]);
    }
    const real = 'apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: x\n  namespace: shop\n';
    expect(vet(files({ 'ns.yaml': NAMESPACE, 'x.yaml': real }), { sourceFormat: 'unstructured' }).flatMap((r) => r.errors.map((e) => e.code))).toEqual(['KNV1050']);
  });

  describe('pushsync hydrate (the CLI)', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'pushsync-keys-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));
    for (const [path, text] of Object.entries(hierarchy)) {
      mkdirSync(dirname(join(scratch, path)), { recursive: true });
      writeFileSync(join(scratch, path), text);
    }

    for (const format of ['yaml', 'json'] as const) {
      it(`--output - --format ${format} prints every key`, async () => {
        let stdout = '';
        let stderr = '';
        const code = await hydrateCommand.run([scratch, '--output', '-', '--format', format], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        if (format === 'yaml') expectYamlKeys(stdout);
        else expectJsonKeys(stdout);
      });
    }
  });
});
