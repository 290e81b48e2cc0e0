/**
 * lib/source/local.ts reads files READ_CONCURRENCY at a time (issue #13 §1). What must not
 * change with that: the result is sorted by path, every file holds its own bytes, and the
 * total-size limit is charged in the depth-first walk order, whatever order the reads finish in.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLocalDir } from '../../lib/source/index.ts';
import { READ_CONCURRENCY } from '../../lib/source/local.ts';

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'pushsync-local-read-'));
});
afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function write(files: ReadonlyArray<readonly [string, string]>): string {
  const root = path.join(scratch, 'repo');
  for (const [rel, content] of files) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
  return root;
}

/** Many more files than are read at once, spread over nested dirs, sizes varying. */
function manyFiles(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let d = 0; d < 6; d++) {
    for (let n = 0; n < 12; n++) {
      for (const f of ['namespace.yaml', 'app.yaml', 'z.yml']) out.push([`namespaces/d${d}/ns-${n}/${f}`, `# ${d}/${n}/${f}\n${'x'.repeat((d * 37 + n * 11) % 300)}\n`]);
    }
  }
  return out;
}

const text = (c: string | Uint8Array) => (typeof c === 'string' ? c : Buffer.from(c).toString('utf8'));

describe('readLocalDir with overlapping reads', () => {
  it('reads more files than READ_CONCURRENCY: every one, with its own bytes, sorted by path', async () => {
    const files = manyFiles();
    expect(files.length).toBeGreaterThan(READ_CONCURRENCY * 4);
    const r = await readLocalDir(write(files), { sourceFormat: 'hierarchy' });
    expect(r.errors).toEqual([]);
    const want = [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    expect(r.snapshot.files.map((f) => [f.path, text(f.content)])).toEqual(want);
  });

  it('charges the total-size limit in depth-first walk order, the same on every run', async () => {
    const files = manyFiles();
    const root = write(files);
    const limit = 4000;
    // The walk: directories and files by name at each level, depth first (`ns-1/` before `ns-10/`).
    const walkKey = (p: string) => p.split('/');
    const walkOrder = [...files].sort(([a], [b]) => {
      const x = walkKey(a);
      const y = walkKey(b);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as string) < (y[i] as string) ? -1 : 1;
      return x.length - y.length;
    });
    let total = 0;
    const admitted: string[] = [];
    const refused: string[] = [];
    for (const [p, c] of walkOrder) {
      const size = Buffer.byteLength(c);
      if (total + size > limit) refused.push(p);
      else {
        total += size;
        admitted.push(p);
      }
    }
    expect(admitted.length).toBeGreaterThan(5);
    expect(refused.length).toBeGreaterThan(5);
    for (let run = 0; run < 5; run++) {
      const r = await readLocalDir(root, { sourceFormat: 'hierarchy', maxTotalBytes: limit });
      expect(r.snapshot.files.map((f) => f.path)).toEqual([...admitted].sort());
      expect(r.errors.map((e) => e.path)).toEqual([...refused].sort());
      expect(r.errors.every((e) => e.code === 'KNV2001' && e.message.includes('policy dir is too large'))).toBe(true);
    }
  });

  it('walks a directory before a sibling file whose name sorts after it, as the sequential walk did', async () => {
    // Code-point order of whole paths puts `a-c.yaml` before `a/x.yaml`; the walk enters `a/` first.
    const root = write([
      ['a/x.yaml', 'x'.repeat(600)],
      ['a-c.yaml', 'y'.repeat(600)],
    ]);
    const r = await readLocalDir(root, { sourceFormat: 'unstructured', maxTotalBytes: 1000 });
    expect(r.snapshot.files.map((f) => f.path)).toEqual(['a/x.yaml']);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'KNV2001', path: 'a-c.yaml' })]);
  });

  it('reports an unreadable file and goes on with the rest', async () => {
    const files = manyFiles();
    const root = write(files);
    const { chmodSync } = await import('node:fs');
    chmodSync(path.join(root, 'namespaces/d1/ns-3/app.yaml'), 0o000);
    const r = await readLocalDir(root, { sourceFormat: 'hierarchy' });
    if (process.getuid?.() === 0) {
      // root reads it anyway: then it is simply there.
      expect(r.snapshot.files).toHaveLength(files.length);
    } else {
      expect(r.errors).toEqual([expect.objectContaining({ code: 'KNV2001', path: 'namespaces/d1/ns-3/app.yaml' })]);
      expect(r.snapshot.files).toHaveLength(files.length - 1);
    }
  });
});
