/**
 * Forged-delivery flood (issue 10 §3.1, acceptance 3): `npx tsx bench/webhook-flood.ts`.
 *
 * Starts the real `pushsync serve` in a child process, sends it 8 concurrent 24 MiB deliveries
 * signed with the wrong secret, and prints the server's resident memory (VmRSS before, VmHWM
 * during, from /proc/<pid>/status) next to the target: every delivery answered 401 and the
 * server grows by less than 50 MB. Baseline, same run: the server's resident memory at rest.
 * Exit 1 if a target is missed. Linux only (/proc).
 *
 * Options (env): BENCH_FLOOD_COUNT (default 8), BENCH_FLOOD_MB (default 24).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { flood, readRss, startServeProcess } from '../test/webhook/flood.ts';

const COUNT = Number(process.env.BENCH_FLOOD_COUNT ?? 8);
const MB = Number(process.env.BENCH_FLOOD_MB ?? 24);
const TARGET_GROWTH_MB = 50;

const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(tmpdir(), 'pushsync-bench-flood-'));
  const serve = await startServeProcess(home, 'bench-flood-secret-0123456789');
  try {
    console.log(`pushsync forged-delivery flood; node ${process.version}; load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    // Let start-up garbage settle so "before" is the server at rest.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const idle = readRss(serve.pid);
    console.log(`baseline: server at rest ${mb(idle.rssKb)} resident (peak so far ${mb(idle.peakKb)})`);
    const result = await flood(serve, { count: COUNT, bytes: MB * 1024 * 1024 });
    const statuses = [...new Set(result.statuses)].map((s) => `${result.statuses.filter((x) => x === s).length} × ${s}`).join(', ');
    console.log(`${COUNT} concurrent ${MB} MiB deliveries with a bad signature, answered in ${result.ms} ms: ${statuses} (${[...new Set(result.codes)].join(', ')})`);
    console.log(`server RSS: before ${mb(result.before.rssKb)}, peak during ${mb(result.after.peakKb)}, after ${mb(result.after.rssKb)}`);
    console.log(`growth (peak − before): ${result.growthMb.toFixed(1)} MB; target < ${TARGET_GROWTH_MB} MB`);
    const missed: string[] = [];
    if (!result.statuses.every((s) => s === 401)) missed.push(`not every delivery was answered 401 (${statuses})`);
    if (!(result.growthMb < TARGET_GROWTH_MB)) missed.push(`RSS grew by ${result.growthMb.toFixed(1)} MB`);
    console.log(missed.length === 0 ? 'every target met' : `targets missed: ${missed.join('; ')}`);
    if (missed.length > 0) process.exitCode = 1;
  } finally {
    await serve.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
