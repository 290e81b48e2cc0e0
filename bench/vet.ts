/**
 * Vet benchmark: `pushsync vet` against `nomos vet --no-api-server-check` on a generated
 * hierarchical repo (bench/generate-repo.ts), both as whole processes, as a user runs them.
 *
 *   npm run bench                                  pushsync only, next to the figures before #13
 *   NOMOS=/path/to/nomos npm run bench             plus nomos, alternating runs, the ratios and the targets
 *
 * Env: BENCH_RUNS (default 5; counted runs per side, after one warm-up each), BENCH_REPO
 * (one-cluster, the default: issue #13 §1's 2,114 files / 9,501 objects / one Cluster;
 * four-cluster: the earlier 2,138-file repo with three Clusters), BENCH_KEEP=1 keeps the repo,
 * BENCH_BEFORE=1 also runs the CLI of the commit before issue #13 (BEFORE.commit), alternating.
 *
 * pushsync runs as a user runs it: `node bin/pushsync.js vet DIR` on the dist/ bundle that
 * `npm run build` (scripts/build.mjs) makes first, dependencies in node_modules. Each run's wall time is measured from
 * spawn to exit, CPU (user + system) and peak RSS by `/usr/bin/time -v` (where that is missing,
 * peak RSS by polling VmHWM in /proc/<pid>/status, and no CPU). Medians of the counted runs
 * are reported. One more in-process run (bench/vet-child.ts) splits pushsync's time into read
 * and vet. A side that fails is reported as failed; the other side still runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { generateOneClusterRepo, generateRepo, writeRepo, type GeneratedRepo } from './generate-repo.ts';
import type { ChildReport } from './vet-child.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(HERE);
const TIME_BIN = '/usr/bin/time';
/** Issue #13 §1: at most half of nomos' wall time, no more memory than nomos, under 1 s. */
const TARGET = { wallRatio: 0.5, memRatio: 1, wallMs: 1000 };

/**
 * `pushsync vet` on the one-cluster repo before issue #13's work: commit 7ffc0ee's bin/pushsync.js
 * and its `npm run build` bundle, whole process, medians of 7 runs alternating with this
 * change's, on this 2-core machine while other work kept its load average at 6 to 8 (wall is
 * the figure that load inflates most; compare CPU and peak RSS first). In the same session
 * nomos took 8.7 s wall / 5.0 s CPU / 140 MiB, 7ffc0ee 0.49 × its wall (pair median).
 */
const BEFORE = { commit: '7ffc0ee', wallMs: 3007, cpuMs: 2131, rssKB: 119.4 * 1024, note: 'load average 6–8' };

interface Run {
  readonly ms: number;
  readonly cpuMs?: number;
  readonly rssKB?: number;
  readonly status: number | null;
  readonly output: string;
}

interface SideResult {
  readonly name: string;
  readonly runs: number;
  /** Medians over the counted runs (peak RSS too). */
  readonly ms?: number;
  readonly cpuMs?: number;
  readonly rssKB?: number;
  readonly range?: string;
  readonly note: string;
  readonly failed?: string;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** `npm run build`: dist/cli.mjs, which bin/pushsync.js runs while it is newer than every source. */
function buildCli(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed: ${(r.stderr || r.stdout).trim()}`);
}

/** bin/pushsync.js's own test: an edit during the bench would send later runs through tsx. */
function cliBundleIsFresh(): boolean {
  const newest = (dir: string): number => {
    let n = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) n = Math.max(n, newest(p));
      else if (e.name.endsWith('.ts')) n = Math.max(n, statSync(p).mtimeMs);
    }
    return n;
  };
  try {
    const built = statSync(join(ROOT, 'dist', 'cli.mjs')).mtimeMs;
    return ['lib', 'bin', 'functions'].every((d) => newest(join(ROOT, d)) <= built);
  } catch {
    return false;
  }
}

/**
 * BENCH_BEFORE=1: commit BEFORE.commit's bin/pushsync.js and its bundle, built from `git archive`
 * (nothing in the work tree changes) under node_modules/.cache, so its dependencies resolve.
 */
async function buildBefore(): Promise<string> {
  const root = join(ROOT, 'node_modules', '.cache', 'pushsync-bench', `before-${BEFORE.commit}`);
  await rm(root, { recursive: true, force: true });
  await mkdir(join(root, 'dist'), { recursive: true });
  const archive = spawnSync('git', ['-C', ROOT, 'archive', '--format=tar', BEFORE.commit, 'bin', 'lib', 'functions', 'package.json'], { maxBuffer: 256 * 1024 * 1024 });
  if (archive.status !== 0) throw new Error(`git archive ${BEFORE.commit} failed: ${archive.stderr.toString().trim()}`);
  const untar = spawnSync('tar', ['-x', '-C', root], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr.toString().trim()}`);
  // scripts/build.mjs's options, so the before side ships the way this side does.
  await build({ entryPoints: { cli: join(root, 'bin', 'cli.ts') }, outdir: join(root, 'dist'), outExtension: { '.js': '.mjs' }, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
  return join(root, 'bin', 'pushsync.js');
}

/** bench/vet-child.ts as one bundle: the in-process read/vet split. */
async function bundleChild(): Promise<string> {
  const out = join(await mkdtemp(join(tmpdir(), 'pushsync-bench-child-')), 'vet-child.mjs');
  await build({ entryPoints: [join(HERE, 'vet-child.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  return out;
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

/** One whole-process run: wall from spawn to exit, CPU and peak RSS from the kernel's accounting. */
async function runMeasured(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const t0 = performance.now();
  if (existsSync(TIME_BIN)) {
    const r = spawnSync(TIME_BIN, ['-v', cmd, ...args], { env, cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const ms = performance.now() - t0;
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    const user = /User time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1];
    const sys = /System time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1];
    const cpu = user !== undefined && sys !== undefined ? { cpuMs: (Number(user) + Number(sys)) * 1000 } : {};
    const timeReport = r.stderr.indexOf('\tCommand being timed:');
    const output = `${r.stdout}${timeReport >= 0 ? r.stderr.slice(0, timeReport) : r.stderr}`;
    return { ms, status: r.status, output, ...cpu, ...(m?.[1] ? { rssKB: Number(m[1]) } : {}) };
  }
  const r = await runWithVmHWM(cmd, args, env);
  return { ms: performance.now() - t0, status: r.status, output: r.stdout + r.stderr, ...(r.rssKB === undefined ? {} : { rssKB: r.rssKB }) };
}

interface Contender {
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly note: string;
  /** What a clean repo prints. */
  readonly clean: (r: Run) => boolean;
}

function summarize(c: Contender, runs: readonly Run[]): SideResult {
  const last = runs[runs.length - 1];
  if (!last) return { name: c.name, runs: 0, note: c.note, failed: 'no runs' };
  const cpu = runs.map((r) => r.cpuMs).filter((x): x is number => x !== undefined);
  const rss = runs.map((r) => r.rssKB).filter((x): x is number => x !== undefined);
  const ms = runs.map((r) => r.ms);
  const bad = runs.find((r) => !c.clean(r));
  return {
    name: c.name,
    runs: runs.length,
    ms: median(ms),
    ...(cpu.length ? { cpuMs: median(cpu) } : {}),
    ...(rss.length ? { rssKB: median(rss) } : {}),
    range: `wall ${fmtMs(Math.min(...ms))}–${fmtMs(Math.max(...ms))}`,
    note: c.note,
    ...(bad ? { failed: `exit ${bad.status}: ${bad.output.trim().split('\n').slice(0, 6).join(' | ')}` } : {}),
  };
}

/**
 * One warm-up each, then the counted runs alternating A B A B …, so drift hits both sides alike.
 * `pairWallRatio`: the median over the pairs of A's wall / B's wall, steadier than a ratio of medians.
 */
async function benchAlternating(contenders: readonly Contender[], runs: number): Promise<{ sides: SideResult[]; pairWallRatio?: number }> {
  for (const c of contenders) await runMeasured(c.cmd, c.args, c.env);
  const results = contenders.map(() => [] as Run[]);
  for (let i = 0; i < runs; i++) {
    for (const [j, c] of contenders.entries()) results[j]?.push(await runMeasured(c.cmd, c.args, c.env));
  }
  const [a, b] = results;
  const pairs = a && b ? a.map((r, i) => r.ms / (b[i]?.ms ?? NaN)).filter((x) => Number.isFinite(x)) : [];
  return { sides: contenders.map((c, j) => summarize(c, results[j] ?? [])), ...(pairs.length ? { pairWallRatio: median(pairs) } : {}) };
}

/** The in-process split of pushsync's time: read vs vet (one run). */
function breakdown(child: string, dir: string): string {
  const r = spawnSync(process.execPath, [child, dir, 'hierarchy'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) return `in-process split failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`;
  const rep = JSON.parse(line) as ChildReport;
  if (!rep.ok) return `in-process split: vet threw: ${rep.error}`;
  const clusters = rep.clusters.map((c) => `${c.cluster}: ${c.objects} objects${c.errors ? `, ${c.errors} errors (${c.firstError})` : ''}`).join('; ');
  return `in process (one run): read ${rep.read.files} files ${rep.read.ms.toFixed(0)} ms, vet ${rep.vetMs.toFixed(0)} ms; ${clusters}`;
}

function fmtMs(ms: number | undefined): string {
  return ms === undefined ? '–' : `${ms.toFixed(0)} ms`;
}

function fmtMB(kb: number | undefined): string {
  return kb === undefined ? '–' : `${(kb / 1024).toFixed(0)} MB`;
}

function printTable(sides: readonly SideResult[]): void {
  const rows = [
    ['side', 'runs', 'wall', 'CPU', 'peak RSS', 'status'],
    ...sides.map((s) => [s.name, String(s.runs), fmtMs(s.ms), fmtMs(s.cpuMs), fmtMB(s.rssKB), s.failed ? `FAILED: ${s.failed}` : 'ok']),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '));
  for (const s of sides) console.log(`  ${s.name}: ${s.note}${s.range ? `; ${s.range}` : ''}`);
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

function printTargets(ps: SideResult, nm: SideResult | undefined, pairWallRatio: number | undefined): void {
  console.log('\ntargets (issue #13 §1): ≤ 0.5 × nomos\' wall, ≤ nomos\' peak memory, < 1 s');
  if (ps.failed || ps.ms === undefined) {
    console.log('  pushsync: no figures (see status above)');
    return;
  }
  console.log(`  ${verdict(ps.ms < TARGET.wallMs)}  under 1 s: ${fmtMs(ps.ms)}`);
  if (nm && !nm.failed && nm.ms !== undefined) {
    const time = ps.ms / nm.ms;
    const pairs = pairWallRatio === undefined ? '' : `; median of the run pairs' ratios ${pairWallRatio.toFixed(2)} ×`;
    console.log(`  ${verdict(time <= TARGET.wallRatio)}  wall ${time.toFixed(2)} × nomos (${fmtMs(ps.ms)} / ${fmtMs(nm.ms)}${pairs})`);
    if (ps.rssKB !== undefined && nm.rssKB !== undefined) {
      const mem = ps.rssKB / nm.rssKB;
      console.log(`  ${verdict(mem <= TARGET.memRatio)}  peak memory ${mem.toFixed(2)} × nomos (${fmtMB(ps.rssKB)} / ${fmtMB(nm.rssKB)})`);
    } else {
      console.log('  MISS  peak memory: not measured');
    }
    if (ps.cpuMs !== undefined && nm.cpuMs !== undefined) console.log(`        CPU ${(ps.cpuMs / nm.cpuMs).toFixed(2)} × nomos (${fmtMs(ps.cpuMs)} / ${fmtMs(nm.cpuMs)}), no target`);
  } else if (nm) {
    console.log('  no ratio: nomos failed (see status above)');
  } else {
    console.log('  no ratio: set NOMOS=<path to a nomos binary> to compare');
  }
}

/** Recorded before-figures always; with BENCH_BEFORE=1 also the ratios to the before side measured in this run. */
function printBefore(ps: SideResult, live: SideResult | undefined, recorded: boolean): void {
  if (recorded) console.log(`\nbefore (commit ${BEFORE.commit}, same repo and method, recorded): wall ${fmtMs(BEFORE.wallMs)}, CPU ${fmtMs(BEFORE.cpuMs)}, peak RSS ${fmtMB(BEFORE.rssKB)}${BEFORE.note ? `; ${BEFORE.note}` : ''}`);
  const ratios = (b: { ms?: number; cpuMs?: number; rssKB?: number }): string => {
    const parts: string[] = [];
    if (ps.ms !== undefined && b.ms !== undefined) parts.push(`wall ${(ps.ms / b.ms).toFixed(2)}×`);
    if (ps.cpuMs !== undefined && b.cpuMs !== undefined) parts.push(`CPU ${(ps.cpuMs / b.cpuMs).toFixed(2)}×`);
    if (ps.rssKB !== undefined && b.rssKB !== undefined) parts.push(`peak RSS ${(ps.rssKB / b.rssKB).toFixed(2)}×`);
    return parts.join(', ');
  };
  if (ps.ms === undefined || ps.failed) return;
  if (recorded) console.log(`  now / recorded before: ${ratios({ ms: BEFORE.wallMs, cpuMs: BEFORE.cpuMs, rssKB: BEFORE.rssKB })} (the machine's load differs between sessions)`);
  if (live && !live.failed) console.log(`  now / before measured in this run: ${ratios(live)}`);
  else if (!live) console.log('  BENCH_BEFORE=1 measures the before side in the same run, alternating');
}

function pickRepo(): { repo: GeneratedRepo; label: string } {
  const which = process.env.BENCH_REPO ?? 'one-cluster';
  if (which === 'four-cluster') return { repo: generateRepo(), label: 'four-cluster repo' };
  if (which !== 'one-cluster') throw new Error(`BENCH_REPO=${which}: expected one-cluster or four-cluster`);
  return { repo: generateOneClusterRepo(), label: 'one-cluster repo (issue #13 §1)' };
}

async function main(): Promise<void> {
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? '5') || 5);
  const t0 = performance.now();
  const { repo, label } = pickRepo();
  const dir = await mkdtemp(join(tmpdir(), 'pushsync-bench-'));
  await writeRepo(dir, repo.files);
  console.log(
    `generated the ${label}: ${repo.files.length} files, ${repo.objectCount} declared objects, ${repo.namespaceCount} namespaces, ` +
      `Clusters ${repo.clusters.join(', ')} (+ defaultcluster) in ${(performance.now() - t0).toFixed(0)} ms → ${dir}`,
  );
  buildCli();
  const child = await bundleChild();
  const nomos = process.env.NOMOS;
  console.log(`runs per side: ${runs} counted after 1 warm-up${nomos ? ', alternating with nomos' : ''}; medians\n`);

  try {
    const contenders: Contender[] = [
      {
        name: 'pushsync',
        cmd: process.execPath,
        args: [join(ROOT, 'bin', 'pushsync.js'), 'vet', dir],
        env: { ...process.env, PUSHSYNC_DEV: '0' },
        note: 'node bin/pushsync.js vet DIR (the dist/ bundle of `npm run build`), whole process',
        clean: (r) => r.status === 0 && r.output.includes('No validation issues found'),
      },
    ];
    if (nomos) {
      if (!existsSync(nomos)) throw new Error(`NOMOS=${nomos} does not exist`);
      contenders.push({
        name: 'nomos',
        cmd: nomos,
        args: ['vet', '--no-api-server-check', '--source-format', 'hierarchy', '--path', dir],
        // No cluster to talk to: a missing kubeconfig keeps nomos from trying the local one.
        env: { ...process.env, KUBECONFIG: join(dir, '.no-kubeconfig') },
        note: 'nomos vet --no-api-server-check --source-format hierarchy --path DIR, whole process',
        clean: (r) => r.status === 0 && r.output.includes('No validation issues found'),
      });
    }
    if (process.env.BENCH_BEFORE === '1') {
      contenders.push({
        name: `before (${BEFORE.commit})`,
        cmd: process.execPath,
        args: [await buildBefore(), 'vet', dir],
        env: { ...process.env, PUSHSYNC_DEV: '0' },
        note: `commit ${BEFORE.commit}'s bin/pushsync.js and bundle, whole process, alternating with the others`,
        clean: (r) => r.status === 0 && r.output.includes('No validation issues found'),
      });
    }
    const { sides, pairWallRatio } = await benchAlternating(contenders, runs);
    printTable(sides);
    if (!cliBundleIsFresh()) console.log('  WARNING: a source file changed during the bench, so bin/pushsync.js ran some runs through tsx: run it again');
    console.log(`  pushsync ${breakdown(child, dir)}`);
    const ps = sides[0];
    const nm = sides.find((x) => x.name === 'nomos');
    const live = sides.find((x) => x.name.startsWith('before'));
    if (ps) {
      printTargets(ps, nm, nomos ? pairWallRatio : undefined);
      // The recorded figures are the one-cluster repo's.
      printBefore(ps, live, (process.env.BENCH_REPO ?? 'one-cluster') === 'one-cluster');
    }
  } finally {
    await rm(dirname(child), { recursive: true, force: true });
    if (process.env.BENCH_KEEP === '1') console.log(`\nkept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
