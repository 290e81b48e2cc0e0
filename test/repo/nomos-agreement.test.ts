/**
 * Agreement with the reference: for each realistic fixture, `pushsync hydrate`'s files are
 * byte-identical to what `nomos hydrate` wrote (test/fixtures/expected/<fixture>/nomos-hydrate,
 * produced by the commands in test/fixtures/expected/README.md).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { hydrateFiles, vet, type SourceFormat } from '../../lib/repo/index.ts';
import { readFixture } from '../helpers/repo-files.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures');

function readTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(root, p).split(sep).join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(root);
  return out;
}

const cases: [string, SourceFormat][] = [
  ['seed', 'hierarchy'],
  ['multi-cluster-hierarchy', 'hierarchy'],
  ['multi-cluster-unstructured', 'unstructured'],
];

describe('pushsync hydrate = nomos hydrate', () => {
  for (const [name, sourceFormat] of cases) {
    it(`${name}: same files, same bytes`, () => {
      const results = vet(readFixture(join(FIXTURES, 'repos', name)), { sourceFormat });
      expect(results.flatMap((r) => r.errors)).toEqual([]);
      const ours = new Map(hydrateFiles(results, { format: 'yaml' }).map((f) => [f.path, f.content]));
      const theirs = readTree(join(FIXTURES, 'expected', name, 'nomos-hydrate'));
      expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
      for (const [path, content] of theirs) expect(ours.get(path), path).toBe(content);
    });
  }
});
