/**
 * Render + vet benchmark (issue 12, acceptance 6): `npx tsx bench/render.ts`.
 *
 * For each overlay of test/fixtures/render/boutique (dev, prod): pushsync's whole path for a
 * kustomization dir — read the files, refuse plugins and outside reads, `kustomize build` in a
 * private copy, map origins, vet the output as an unstructured repo — BENCH_RUNS (7) times, cold
 * (no render cache), and again warm (the render cache hit a second push gets). Baseline in the
 * same process: `kustomize build` of the same overlay, the bare tool. Medians and ratios.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRenderTools, isToolProblem, RenderCache, renderRepoDir } from '../lib/render/index.ts';
import { vet } from '../lib/repo/index.ts';
import { readLocalDir } from '../lib/source/index.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const REPO = fileURLToPath(new URL('../test/fixtures/render/boutique/', import.meta.url));
const say = (text = ''): void => void process.stdout.write(`${text}\n`);
const median = (xs: readonly number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};
const ms = (n: number): string => `${n.toFixed(1)} ms`;

async function main(): Promise<void> {
  const tools = findRenderTools();
  if (isToolProblem(tools)) throw new Error(tools.message);
  say(`bench/render.ts: ${RUNS} runs per overlay; kustomize ${tools.kustomize.version}, helm ${tools.helm.version}`);
  const read = (dir: string) => readLocalDir(dir === '' ? REPO : path.join(REPO, dir), { sourceFormat: 'unstructured', everything: true });
  for (const overlay of ['overlays/dev', 'overlays/prod']) {
    const cold: number[] = [];
    const renderOnly: number[] = [];
    const warm: number[] = [];
    const bare: number[] = [];
    const cache = new RenderCache();
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const r = await renderRepoDir(read, overlay, { tools });
      const t1 = performance.now();
      if (r.kind !== 'rendered') throw new Error(`${overlay}: ${JSON.stringify(r.errors)}`);
      const results = vet(r.files, { sourceFormat: 'unstructured', policyDir: '' });
      const errors = results.flatMap((x) => x.errors);
      if (errors.length > 0) throw new Error(`${overlay}: ${JSON.stringify(errors)}`);
      cold.push(performance.now() - t0);
      renderOnly.push(t1 - t0);

      const w0 = performance.now();
      const hit = await renderRepoDir(read, overlay, { tools, cache });
      if (hit.kind === 'rendered') vet(hit.files, { sourceFormat: 'unstructured', policyDir: '' });
      if (i > 0) warm.push(performance.now() - w0); // the first fills the cache

      const b0 = performance.now();
      await new Promise<void>((resolve, reject) => execFile(tools.kustomize.path, ['build', path.join(REPO, overlay)], (err) => (err ? reject(err) : resolve())));
      bare.push(performance.now() - b0);
    }
    const c = median(cold);
    const b = median(bare);
    say(`  ${overlay}: render + vet ${ms(c)} (render ${ms(median(renderOnly))}), warm (cache hit) ${ms(median(warm))}; kustomize build alone ${ms(b)}; ratio ${(c / b).toFixed(2)} (${cache.stats().renders} render, ${cache.stats().hits} hits)`);
  }
}

await main();
