/**
 * lib/ is what functions/, bin/ and the local server are wired from; it never imports them
 * (issue 10 §4: lib/local once imported functions/webhook.ts for logic that belonged in lib/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.(ts|mts|js|mjs)$/.test(e.name) ? [p] : [];
  });
}

/** Every module specifier a file names: static and dynamic imports, re-exports, require(). */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g)) found.push(m[1] ?? '');
  return found;
}

describe('layering', () => {
  it('finds the imports it looks for (so an empty result means something)', () => {
    expect(specifiers(`import { a } from '../../functions/webhook.ts';\nexport * from "./x.ts";\nconst m = await import('../functions/sync.ts');\nimport './side.ts';`)).toEqual([
      '../../functions/webhook.ts',
      './x.ts',
      '../functions/sync.ts',
      './side.ts',
    ]);
  });

  it('no module under lib/ imports functions/ or bin/', () => {
    const offenders: string[] = [];
    for (const file of sources(path.join(ROOT, 'lib'))) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = path.relative(ROOT, path.resolve(path.dirname(file), spec));
        if (/^(functions|bin)([/\\]|$)/.test(target)) offenders.push(`${path.relative(ROOT, file)} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
