/**
 * No two modules of lib/ export a declaration with the same name. Two `ApplyOutcome`s (one in
 * lib/cluster, one in lib/sync) meant an import picked whichever the editor offered, and a
 * reader could not tell from a name which layer a value belongs to. Re-exports (a module's
 * index.ts, `export { X } from`) declare nothing and are not counted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const DECLARATION = /^export\s+(?:declare\s+)?(?:default\s+)?(?:abstract\s+)?(?:async\s+)?(?:type|interface|class|function\*?|const|let|var|enum)\s+([A-Za-z_$][\w$]*)/gm;

/** Names declared with `export` in one source text (a type and a value of one name count once). */
export function exportedNames(source: string): string[] {
  return [...new Set([...source.matchAll(DECLARATION)].map((m) => m[1] as string))];
}

/** Every name exported by more than one file, with the files, sorted. */
export function duplicates(files: ReadonlyMap<string, string>): [string, string[]][] {
  const where = new Map<string, string[]>();
  for (const [path, source] of files) {
    for (const name of exportedNames(source)) where.set(name, [...(where.get(name) ?? []), path]);
  }
  return [...where]
    .filter(([, paths]) => paths.length > 1)
    .map(([name, paths]): [string, string[]] => [name, paths.sort()])
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function libSources(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && e.name !== 'index.ts') out.set(relative(ROOT, p), readFileSync(p, 'utf8'));
    }
  };
  walk(join(ROOT, 'lib'));
  return out;
}

describe('exported names', () => {
  it('finds every kind of exported declaration, and a name exported from two files', () => {
    const a = [
      'export interface ApplyOutcome { x: number }',
      'export type Phase = 1;',
      'export const Phase = { a: 1 };',
      'export async function go(): Promise<void> {}',
      'export abstract class Base {}',
      "export { other } from './other.ts';",
      'const hidden = 1;',
    ].join('\n');
    const b = 'export type ApplyOutcome = string;\nexport function only(): void {}\n';
    expect(exportedNames(a)).toEqual(['ApplyOutcome', 'Phase', 'go', 'Base']);
    expect(duplicates(new Map([['lib/a.ts', a], ['lib/b.ts', b]]))).toEqual([['ApplyOutcome', ['lib/a.ts', 'lib/b.ts']]]);
  });

  it('no two files under lib/ export a declaration with the same name', () => {
    const files = libSources();
    expect(files.size).toBeGreaterThan(50);
    expect(duplicates(files)).toEqual([]);
  });
});
