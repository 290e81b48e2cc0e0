/**
 * The repository stands alone (issue #10 §1): no file under lib/ functions/ bin/ scripts/
 * bench/ test/ names a path outside the checkout, because a user's clone has nothing beside it.
 * The scanner's own cases come first, so a scan that finds nothing is known to be able to find.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatOutsidePaths, scanRepository, scanText, type OutsidePath } from './helpers/outside-paths.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CASES = fileURLToPath(new URL('fixtures/standalone/', import.meta.url));

/**
 * What names such a path as data, never read: a line of `file` that contains `text`, or the
 * whole file without `text`. Each entry must still match (a stale one fails too), and `why`
 * says why it is not a read.
 */
const ALLOWED: readonly { file: string; text?: string; why: string }[] = [
  { file: 'test/standalone.test.ts', why: "the scanner's own cases and the reports it must print for them" },
  {
    file: 'test/registry/validate.test.ts',
    text: "'certificate-authority: /home/me/ca.crt'",
    why: 'kubeconfig content whose local-file reference the validator must warn about',
  },
];

/** A case file, scanned as if it lived at `as`, and the 1-based lines marked OUTSIDE in it. */
function scanCase(name: string, as: string): { found: OutsidePath[]; marked: number[] } {
  // `.txt`: the cases are data, so the scan of the repository itself passes them by.
  const text = readFileSync(path.join(CASES, `${name}.txt`), 'utf8');
  const marked = text.split('\n').flatMap((l, i) => (l.includes('OUTSIDE') ? [i + 1] : []));
  return { found: scanText(as, text), marked };
}

describe('the outside-path scanner', () => {
  it('reports every way a TypeScript file can name a path outside the checkout, on its own line', () => {
    const { found, marked } = scanCase('offenders.ts', 'test/e2e/support.ts');
    expect(marked).toHaveLength(12);
    expect(found.map((f) => f.line), formatOutsidePaths(found)).toEqual(marked);
    expect(found.every((f) => f.file === 'test/e2e/support.ts')).toBe(true);
    // The report names the file, the line and what is wrong, with the line as written.
    expect(formatOutsidePaths(found).split('\n')[0]).toBe(
      "test/e2e/support.ts:6: ../../../shared is the folder beside the checkout: export const A = readFileSync(join(import.meta.dirname, '../../../shared/fixtures/online-boutique/kubernetes-manifests-2020.yaml'), 'utf8'); // OUTSIDE",
    );
    expect(found.find((f) => f.text.startsWith('export const B'))?.reason).toBe("absolute path under /work (one machine's layout)");
    expect(found.find((f) => f.text.startsWith('export const C'))?.reason).toBe('3 × ".." from test/e2e/ leaves the checkout');
    expect(found.find((f) => f.text.startsWith('export const G'))?.reason).toBe('join(<module dir>, "..", "..", "..", "fixtures") leaves the checkout');
  });

  it('leaves alone what works in any clone: comments, tmpdir(), /proc, /dev/null, shebangs, URL paths, data and help text', () => {
    const { found } = scanCase('clean.ts', 'test/e2e/support.ts');
    expect(formatOutsidePaths(found)).toBe('');
  });

  it('resolves a relative path from the file that names it: what stays inside from one folder leaves from the one above', () => {
    const line = "export const X = new URL('../../x.yaml', import.meta.url);";
    expect(scanText('test/e2e/support.ts', line)).toEqual([]);
    expect(scanText('bench/apply.ts', line)).toEqual([{ file: 'bench/apply.ts', line: 1, text: line, reason: '2 × ".." from bench/ leaves the checkout' }]);
  });

  it('reads shell scripts outside their comments, and Markdown for absolute roots', () => {
    const sh = scanCase('offenders.sh', 'scripts/x.sh');
    expect(sh.found.map((f) => f.line), formatOutsidePaths(sh.found)).toEqual(sh.marked);
    expect(sh.marked).toHaveLength(4);
    const md = scanCase('offenders.md', 'test/fixtures/x/README.md');
    expect(md.found.map((f) => f.line), formatOutsidePaths(md.found)).toEqual(md.marked);
    expect(md.marked).toHaveLength(1);
  });

  it('walks the scanned folders of a checkout, skipping installed packages, build output and fixture data', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'pushsync-standalone-'));
    try {
      const put = async (rel: string, text: string): Promise<void> => {
        await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
        await writeFile(path.join(root, rel), text);
      };
      await put('lib/ok.ts', "export const x = new URL('../examples/a.yaml', import.meta.url);\n");
      await put('bench/far.ts', "import { readFileSync } from 'node:fs';\n\nreadFileSync(new URL('../../shared/x.yaml', import.meta.url));\n");
      await put('test/helpers/abs.mjs', "export const p = '/root/x';\n");
      await put('scripts/run.sh', '#!/usr/bin/env bash\ncat /home/ci/x\n');
      await put('test/fixtures/repo/hostpath.yaml', 'path: /home/data\n');
      await put('test/fixtures/repo/README.md', 'See /Users/me/notes.\n');
      await put('node_modules/dep/index.js', "export const p = '/work/x';\n");
      await put('lib/node_modules/dep/index.js', "export const p = '/work/x';\n");
      await put('examples/outside.ts', "export const p = '/work/x';\n");
      expect(formatOutsidePaths(scanRepository(root)).split('\n')).toEqual([
        'bench/far.ts:3: ../../shared is the folder beside the checkout: readFileSync(new URL(\'../../shared/x.yaml\', import.meta.url));',
        "scripts/run.sh:2: absolute path under /home (one machine's layout): cat /home/ci/x",
        "test/fixtures/repo/README.md:1: absolute path under /Users (one machine's layout): See /Users/me/notes.",
        "test/helpers/abs.mjs:1: absolute path under /root (one machine's layout): export const p = '/root/x';",
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('the repository', () => {
  it('names no path outside the checkout in lib/ functions/ bin/ scripts/ bench/ test/', () => {
    const found = scanRepository(ROOT);
    const matches = (a: (typeof ALLOWED)[number], f: OutsidePath): boolean => a.file === f.file && (a.text === undefined || f.text.includes(a.text));
    expect(formatOutsidePaths(found.filter((f) => !ALLOWED.some((a) => matches(a, f))))).toBe('');
    // Each exception is still needed: one that no longer matches is removed, not kept as a hole.
    expect(ALLOWED.filter((a) => !found.some((f) => matches(a, f)))).toEqual([]);
  });
});
