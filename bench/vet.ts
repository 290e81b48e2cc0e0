/**
 * Vet benchmark: pushsync's repo engine against `nomos vet` on one generated repo of
 * ~1,000 namespaces / ~9,000 objects (bench/generate-repo.ts).
 *
 *   npx tsx bench/vet.ts                           pushsync only
 *   NOMOS=/path/to/nomos npx tsx bench/vet.ts      plus nomos, and the ratio
 *
 * Env: BENCH_RUNS (default 1; the median is reported), BENCH_KEEP=1 keeps the generated repo.
 *
 * Each side runs in its own process so its peak RSS is its own: pushsync in
 * bench/vet-child.ts, bundled with esbuild and run by plain node as the CLI and the functions
 * ship (maxRSS from process.resourceUsage() at its end; no tsx compiler in the process), nomos under
 * `/usr/bin/time -v` (or, where that is missing, by polling VmHWM in /proc/<pid>/status).
 * A side that fails (e.g. the engine throws "not implemented yet") is reported as failed;
 * the other side still runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { generateRepo, writeRepo } from './generate-repo.ts';
import type { ChildReport } from './vet-child.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(HERE);
const TARGET = { wallMs: 1000, rssMB: 300 };
const TIME_BIN = '/usr/bin/time';

interface SideResult {
  readonly name: string;
  /** Wall time of the work being compared (pushsync: read + vet in-process; nomos: whole process). */
  readonly ms?: number;
  readonly processMs?: number;
  /** User + system CPU of the same work as `ms`. */
  readonly cpuMs?: number;
  readonly readMs?: number;
  readonly rssKB?: number;
  readonly note: string;
  readonly failed?: string;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** The child as shipped code: one esbuild bundle, so the process holds no TypeScript compiler. */
async function bundleChild(): Promise<string> {
  const out = join(await mkdtemp(join(tmpdir(), 'pushsync-bench-child-')), 'vet-child.mjs');
  await build({ entryPoints: [join(HERE, 'vet-child.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  return out;
}
const CHILD = await bundleChild();

function runPushsyncOnce(dir: string): { report?: ChildReport; processMs: number; failed?: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CHILD, dir, 'hierarchy'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const processMs = performance.now() - t0;
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    return { processMs, failed: `child exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` };
  }
  return { report: JSON.parse(line) as ChildReport, processMs };
}

function benchPushsync(dir: string, runs: number): SideResult {
  const reports: ChildReport[] = [];
  const processMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = runPushsyncOnce(dir);
    if (!r.report) return { name: 'pushsync', note: '', failed: r.failed };
    reports.push(r.report);
    processMs.push(r.processMs);
  }
  const last = reports[reports.length - 1];
  if (!last) return { name: 'pushsync', note: '', failed: 'no runs' };
  const readMs = median(reports.map((r) => r.read.ms));
  const rssKB = Math.max(...reports.map((r) => r.maxRssKB));
  if (!last.ok) {
    return { name: 'pushsync', readMs, rssKB, processMs: median(processMs), note: `read ${last.read.files} files, ${(last.read.bytes / 1e6).toFixed(1)} MB`, failed: `vet threw: ${last.error}` };
  }
  const ok = reports.filter((r): r is Extract<ChildReport, { ok: true }> => r.ok);
  const summary = last.clusters.map((c) => `${c.cluster}: ${c.objects} objects${c.errors ? `, ${c.errors} errors (${c.firstError})` : ''}`).join('; ');
  const vetErrors = last.clusters.reduce((n, c) => n + c.errors, 0);
  return {
    name: 'pushsync',
    readMs,
    ms: median(ok.map((r) => r.read.ms + r.vetMs)),
    cpuMs: median(ok.map((r) => r.cpuMs)),
    processMs: median(processMs),
    rssKB,
    note: `vet ${median(ok.map((r) => r.vetMs)).toFixed(0)} ms; baseline RSS ${(last.baselineRssKB / 1024).toFixed(0)} MB; ${summary}`,
    ...(vetErrors ? { failed: `repo did not vet clean: ${vetErrors} errors` } : {}),
  };
}

/** Peak RSS of a child without /usr/bin/time: VmHWM is a high-water mark, so polling it until exit loses little. */
async function runWithVmHWM(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string; rssKB?: number }> {
  const child = spawn(cmd, args, { env });
  let stdout = '';
  let stderr = '';
  let rssKB: number | undefined;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const poll = setInterval(() => {
    readFile(`/proc/${child.pid}/status`, 'utf8')
      .then((s) => {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(s);
        if (m?.[1]) rssKB = Math.max(rssKB ?? 0, Number(m[1]));
      })
      .catch(() => undefined); // the process may have exited between two polls
  }, 10);
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(poll);
  return { status, stdout, stderr, ...(rssKB === undefined ? {} : { rssKB }) };
}

async function runNomosOnce(nomos: string, dir: string): Promise<{ ms: number; cpuMs?: number; rssKB?: number; status: number | null; output: string }> {
  // No cluster to talk to: a missing kubeconfig keeps nomos from trying the local one.
  const env = { ...process.env, KUBECONFIG: join(dir, '.no-kubeconfig') };
  const args = ['vet', '--no-api-server-check', '--source-format=hierarchy', `--path=${dir}`];
  const t0 = performance.now();
  if (existsSync(TIME_BIN)) {
    const r = spawnSync(TIME_BIN, ['-v', nomos, ...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const ms = performance.now() - t0;
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    const user = /User time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1];
    const sys = /System time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1];
    const cpu = user !== undefined && sys !== undefined ? { cpuMs: (Number(user) + Number(sys)) * 1000 } : {};
    const timeReport = r.stderr.indexOf('\tCommand being timed:');
    const output = `${r.stdout}${timeReport >= 0 ? r.stderr.slice(0, timeReport) : r.stderr}`;
    return { ms, status: r.status, output, ...cpu, ...(m?.[1] ? { rssKB: Number(m[1]) } : {}) };
  }
  const r = await runWithVmHWM(nomos, args, env);
  return { ms: performance.now() - t0, status: r.status, output: r.stdout + r.stderr, ...(r.rssKB === undefined ? {} : { rssKB: r.rssKB }) };
}

async function benchNomos(nomos: string, dir: string, runs: number): Promise<SideResult> {
  if (!existsSync(nomos)) return { name: 'nomos', note: '', failed: `NOMOS=${nomos} does not exist` };
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await runNomosOnce(nomos, dir));
  const last = results[results.length - 1];
  if (!last) return { name: 'nomos', note: '', failed: 'no runs' };
  const ms = median(results.map((r) => r.ms));
  const rss = results.map((r) => r.rssKB).filter((x): x is number => x !== undefined);
  const cpu = results.map((r) => r.cpuMs).filter((x): x is number => x !== undefined);
  const method = existsSync(TIME_BIN) ? '/usr/bin/time -v' : 'VmHWM polling';
  const clean = last.status === 0 && last.output.includes('No validation issues found');
  return {
    name: 'nomos',
    ms,
    processMs: ms,
    ...(cpu.length ? { cpuMs: median(cpu) } : {}),
    ...(rss.length ? { rssKB: Math.max(...rss) } : {}),
    note: `nomos vet (all clusters), whole process; RSS via ${method}`,
    ...(clean ? {} : { failed: `exit ${last.status}: ${last.output.trim().split('\n').slice(0, 6).join(' | ')}` }),
  };
}

function fmtMs(ms: number | undefined): string {
  return ms === undefined ? '–' : `${ms.toFixed(0)} ms`;
}

function fmtMB(kb: number | undefined): string {
  return kb === undefined ? '–' : `${(kb / 1024).toFixed(0)} MB`;
}

function printTable(sides: readonly SideResult[]): void {
  const rows = [
    ['side', 'read', 'read+vet', 'CPU', 'process wall', 'peak RSS', 'status'],
    ...sides.map((s) => [s.name, fmtMs(s.readMs), fmtMs(s.ms), fmtMs(s.cpuMs), fmtMs(s.processMs), fmtMB(s.rssKB), s.failed ? `FAILED: ${s.failed}` : 'ok']),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '));
  for (const s of sides) if (s.note) console.log(`  ${s.name}: ${s.note}`);
}

async function main(): Promise<void> {
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? '1') || 1);
  const t0 = performance.now();
  const repo = generateRepo();
  const dir = await mkdtemp(join(tmpdir(), 'pushsync-bench-'));
  await writeRepo(dir, repo.files);
  console.log(
    `generated ${repo.files.length} files, ${repo.objectCount} declared objects, ${repo.namespaceCount} namespaces, ` +
      `clusters ${repo.clusters.join(', ')} (+ defaultcluster) in ${(performance.now() - t0).toFixed(0)} ms → ${dir}`,
  );
  console.log(`runs per side: ${runs} (median time, max RSS)\n`);

  try {
    const sides: SideResult[] = [benchPushsync(dir, runs)];
    const nomos = process.env.NOMOS;
    if (nomos) sides.push(await benchNomos(nomos, dir, runs));
    printTable(sides);

    const [ps, nm] = sides;
    console.log(`\ntargets: faster than nomos with no more memory; milestone < ${TARGET.wallMs} ms and < ${TARGET.rssMB} MB`);
    if (ps?.ms !== undefined && !ps.failed) {
      const rssMB = (ps.rssKB ?? Infinity) / 1024;
      console.log(`  pushsync milestone: ${ps.ms < TARGET.wallMs && rssMB < TARGET.rssMB ? 'MET' : 'NOT MET'} (${fmtMs(ps.ms)}, ${fmtMB(ps.rssKB)})`);
    } else {
      console.log('  pushsync: no figures (see status above)');
    }
    if (ps?.ms !== undefined && nm?.ms !== undefined && !ps.failed && !nm.failed) {
      const time = ps.ms / nm.ms;
      const cpu = ps.cpuMs !== undefined && nm.cpuMs !== undefined ? ps.cpuMs / nm.cpuMs : undefined;
      const mem = ps.rssKB !== undefined && nm.rssKB !== undefined ? ps.rssKB / nm.rssKB : undefined;
      console.log(
        `  ratio pushsync/nomos: time ${time.toFixed(2)}× ${time < 1 ? '(faster)' : '(slower)'}` +
          (cpu === undefined ? '' : `, CPU ${cpu.toFixed(2)}×`) +
          (mem === undefined ? '' : `, memory ${mem.toFixed(2)}× ${mem <= 1 ? '(no more)' : '(more)'}`),
      );
    } else if (!process.env.NOMOS) {
      console.log('  no ratio: set NOMOS=<path to nomos> to compare');
    }
  } finally {
    if (process.env.BENCH_KEEP === '1') console.log(`\nkept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
