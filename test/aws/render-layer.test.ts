/**
 * The Lambda side of rendering (issue #12 §6) that needs no packaging run: scripts/render-layer.sh
 * fills a layer directory with exactly bin/kustomize and bin/helm, and a function whose tools are
 * missing (no layer attached, a wrong PUSHSYNC_RENDER_TOOLS) gets RENDER_TOOLS_MISSING as a value
 * with a message, not an exception, also from a bundle that, as in Lambda, has no scripts/ beside
 * it. What `serverless package` makes of the layer is in serverless-package.test.ts.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRenderTools, isToolProblem } from '../../lib/render/index.ts';
import { LAYER_ARCH, REPO_ROOT } from './package-service.ts';

const run = promisify(execFile);
let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'pushsync-render-layer-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('scripts/render-layer.sh', () => {
  it('fills the layer directory with exactly bin/kustomize and bin/helm, executable, replacing whatever was there', async () => {
    const dir = path.join(work, 'layer');
    await mkdir(path.join(dir, 'bin'), { recursive: true });
    // Left over from something else: it must not end up in the layer zip.
    await writeFile(path.join(dir, 'stray.txt'), 'not a tool');
    await writeFile(path.join(dir, 'bin', 'old-tool'), 'not a tool');
    const { stdout } = await run('bash', [path.join(REPO_ROOT, 'scripts/render-layer.sh'), '--arch', LAYER_ARCH, dir], { cwd: REPO_ROOT });
    expect(stdout.trim().split('\n').pop()).toBe(dir);
    expect((await readdir(dir)).sort()).toEqual(['bin']);
    expect((await readdir(path.join(dir, 'bin'))).sort()).toEqual(['helm', 'kustomize']);
    for (const tool of ['helm', 'kustomize']) expect((await stat(path.join(dir, 'bin', tool))).mode & 0o777, tool).toBe(0o755);
    // No temp directory left beside it.
    expect((await readdir(work)).filter((n) => n.startsWith('.render-layer.'))).toEqual([]);
  }, 60_000);

  it('refuses what it does not know, with its usage', async () => {
    const r = await run('bash', [path.join(REPO_ROOT, 'scripts/render-layer.sh'), '--arch', 'sparc', path.join(work, 'sparc')], { cwd: REPO_ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect(r).toMatchObject({ code: 2 });
    expect((r as { stderr: string }).stderr).toContain('--arch must be amd64 or arm64');
    const u = await run('bash', [path.join(REPO_ROOT, 'scripts/render-layer.sh'), '--bogus'], { cwd: REPO_ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect(u).toMatchObject({ code: 2 });
    expect((u as { stderr: string }).stderr).toContain('usage:');
  });
});

describe('a function without its tools', () => {
  it('gets RENDER_TOOLS_MISSING naming where it looked, not an exception', () => {
    const r = findRenderTools({ PUSHSYNC_RENDER_TOOLS: '/nonexistent', PATH: '/usr/bin' });
    expect(r).toMatchObject({ kind: 'missing', code: 'RENDER_TOOLS_MISSING' });
    if (!isToolProblem(r)) throw new Error('expected a problem');
    for (const tool of ['kustomize', 'helm']) {
      expect(r.message).toContain(`${tool}: no usable ${tool} found (not in PUSHSYNC_RENDER_TOOLS=/nonexistent;`);
    }
    expect(r.message).toContain('not on PATH');
    expect(r.message).toContain('set PUSHSYNC_RENDER_TOOLS to a directory holding both');
  });

  it('in a bundle with no scripts/ beside it, as in Lambda: the same value, without the cache step, from a child that exits cleanly', async () => {
    // Bundled as serverless.yml's esbuild settings bundle the functions: ESM, node20, minified.
    const functions = path.join(work, 'task', 'functions');
    await build({
      stdin: { contents: "export { findRenderTools } from './lib/render/tools.ts';", resolveDir: REPO_ROOT, loader: 'ts' },
      outfile: path.join(functions, 'tools.mjs'),
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      logLevel: 'silent',
    });
    // Lambda's PUSHSYNC_RENDER_TOOLS with no layer mounted: a directory that does not exist.
    const mount = path.join(work, 'opt-without-layer', 'bin');
    const script = `const { findRenderTools } = await import(${JSON.stringify(pathToFileURL(path.join(functions, 'tools.mjs')).href)});
console.log('RESULT ' + JSON.stringify(findRenderTools(process.env)));`;
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: path.dirname(functions),
        env: { PATH: '/usr/bin:/bin', PUSHSYNC_RENDER_TOOLS: mount, LAMBDA_TASK_ROOT: path.dirname(functions) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
      child.on('error', reject);
      child.on('exit', (exitCode) => resolve({ code: exitCode, output: text }));
    });
    expect(code, output).toBe(0);
    const r = JSON.parse(/RESULT (.*)/.exec(output)?.[1] ?? 'null') as { kind: string; code: string; message: string };
    expect(r, output).toMatchObject({ kind: 'missing', code: 'RENDER_TOOLS_MISSING' });
    expect(r.message).toContain(`kustomize: no usable kustomize found (not in PUSHSYNC_RENDER_TOOLS=${mount}; no scripts/ensure-render-tools.sh beside this installation to name its cache; not on PATH)`);
    expect(r.message).toContain(`helm: no usable helm found (not in PUSHSYNC_RENDER_TOOLS=${mount};`);
    expect(output).not.toMatch(/\n\s+at /);
  }, 60_000);
});
