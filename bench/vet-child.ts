/**
 * Child process of bench/vet.ts: reads a policy dir, runs pushsync's vet for every cluster,
 * and prints one JSON line (ChildReport) on stdout. It runs in its own process so its peak
 * RSS (`process.resourceUsage().maxRSS`) is the engine's, not the benchmark driver's.
 *
 *   node --import tsx bench/vet-child.ts <policy-dir> <hierarchy|unstructured>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { vetEach } from '../lib/repo/index.ts';
import type { SourceFile, SourceFormat } from '../lib/repo/index.ts';

export interface ChildClusterReport {
  readonly cluster: string;
  readonly errors: number;
  readonly objects: number;
  /** First error, so a repo that unexpectedly fails to vet says why. */
  readonly firstError?: string;
}

export type ChildReport = {
  readonly read: { readonly ms: number; readonly files: number; readonly bytes: number };
  /** RSS after node + tsx started and before anything was read, for scale. */
  readonly baselineRssKB: number;
  readonly maxRssKB: number;
} & (
  | {
      readonly ok: true;
      readonly vetMs: number;
      /** User + system CPU of read + vet: steadier than wall time on a shared machine. */
      readonly cpuMs: number;
      readonly clusters: readonly ChildClusterReport[];
    }
  | { readonly ok: false; readonly error: string }
);

/** Synchronous on purpose: for ~2,000 small files it is about twice as fast as fs/promises. */
function readPolicyDir(root: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (rel: string): void => {
    const entries = readdirSync(join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== '.git') walk(path);
      } else if (e.isFile()) {
        files.push({ path, content: readFileSync(join(root, path)) });
      }
    }
  };
  walk('');
  return files;
}

function isSourceFormat(s: string | undefined): s is SourceFormat {
  return s === 'hierarchy' || s === 'unstructured';
}

async function main(): Promise<void> {
  const [dir, format] = process.argv.slice(2);
  if (!dir || !isSourceFormat(format)) {
    process.stderr.write('usage: vet-child.ts <policy-dir> <hierarchy|unstructured>\n');
    process.exit(2);
  }
  const baselineRssKB = Math.round(process.memoryUsage().rss / 1024);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const files = readPolicyDir(dir);
  const read = {
    ms: performance.now() - t0,
    files: files.length,
    bytes: files.reduce((sum, f) => sum + (typeof f.content === 'string' ? Buffer.byteLength(f.content) : f.content.byteLength), 0),
  };

  let report: ChildReport;
  const t1 = performance.now();
  try {
    // Exactly what `pushsync vet` does: every phase for every cluster (selection, inheritance,
    // namespace selection, duplicates), keeping counts, not the objects.
    const clusters: ChildClusterReport[] = [];
    vetEach(files, { sourceFormat: format, stamp: false }, (r) =>
      clusters.push({
        cluster: r.cluster,
        errors: r.errors.length,
        objects: r.objects.length,
        ...(r.errors[0] ? { firstError: `${r.errors[0].code}: ${r.errors[0].message}` } : {}),
      }),
    );
    const vetMs = performance.now() - t1;
    const cpu = process.cpuUsage(cpu0);
    report = { ok: true, read, vetMs, cpuMs: (cpu.user + cpu.system) / 1000, clusters, baselineRssKB, maxRssKB: process.resourceUsage().maxRSS };
  } catch (e) {
    report = { ok: false, read, error: e instanceof Error ? e.message : String(e), baselineRssKB, maxRssKB: process.resourceUsage().maxRSS };
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await main();
