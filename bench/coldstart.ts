/**
 * Bundle size and cold start of the Lambda functions (`npx tsx bench/coldstart.ts`).
 *
 * Packages the service with `serverless package` (offline, in a temp dir), then for each
 * function prints the zipped artifact size, the bundle's size, and the time to import its
 * handler module from the bundle in a fresh `node` process: the median of BENCH_RUNS runs,
 * with the deployed NODE_OPTIONS (--enable-source-maps) and without. The AWS SDK clients load
 * on the first event, not at import, so for the webhook it also times import + the first
 * signed push answered (202), against local stand-ins of Secrets Manager and Lambda: the
 * whole cold start but the runtime's own.
 * Targets (issue 6): webhook < 5 MB zipped and < 300 ms to import. Exit 1 if missed.
 *
 * Options (env): BENCH_RUNS (default 7), BENCH_PACKAGE_DIR (reuse a `serverless package
 * --package DIR` output instead of packaging).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageService } from '../test/aws/package-service.ts';
import { readZip } from '../test/aws/zip.ts';
import { signature, branchPush } from '../test/webhook/support.ts';

const FUNCTIONS = ['webhook', 'sync', 'apply', 'resync'] as const;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TARGET = { webhook: { zipBytes: 5 * 1024 * 1024, importMs: 300 } };

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/**
 * Milliseconds to import `file` in a new node process (only the import is timed); with `event`,
 * the milliseconds from the start of the import until the handler has answered it.
 */
function importTime(file: string, nodeOptions: string, event?: { readonly payload: unknown; readonly env: Record<string, string> }): Promise<number> {
  const script = `const t = performance.now(); const m = await import(${JSON.stringify(pathToFileURL(file).href)});
if (typeof m.handler !== 'function') throw new Error('no handler export');
if (process.env.EVENT) {
  const res = await m.handler(JSON.parse(process.env.EVENT));
  if (res.statusCode !== 202) throw new Error('the webhook answered ' + JSON.stringify(res));
}
console.log(performance.now() - t);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_OPTIONS: nodeOptions,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...(event ? { ...event.env, EVENT: JSON.stringify(event.payload), PUSHSYNC_LOG_LEVEL: 'error' } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(out.trim().split('\n').at(-1));
      if (code !== 0 || !Number.isFinite(ms)) reject(new Error(`importing ${file} failed (exit ${code}):\n${out}`));
      else resolve(ms);
    });
  });
}

const load = loadavg().map((l) => l.toFixed(2)).join(' ');
let packageDir = process.env.BENCH_PACKAGE_DIR;
let cleanup = async (): Promise<void> => undefined;
if (packageDir === undefined || packageDir === '') {
  process.stdout.write('Packaging with serverless (offline)… ');
  const pkg = await packageService({ stage: 'bench' });
  process.stdout.write(`${pkg.seconds.toFixed(1)} s\n`);
  packageDir = pkg.out;
  cleanup = pkg.close;
}
/** Local stand-ins: Secrets Manager answers the webhook secret, Lambda accepts the invocation. */
const SECRET = 'bench-webhook-secret-0123456789';
async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
const secretsManager = await listen((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({ Name: 'pushsync/github/webhook-secret', SecretString: JSON.stringify([SECRET]), VersionId: 'v1' }));
  });
});
const lambda = await listen((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(202).end());
});
const pushBody = JSON.stringify(branchPush());
const firstPush = {
  payload: {
    version: '2.0',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'bench-1', 'x-hub-signature-256': signature(pushBody, SECRET) },
    body: pushBody,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST' } },
  },
  env: {
    PUSHSYNC_SYNC_FUNCTION: 'pushsync-bench-sync',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
  },
};

const work = await mkdtemp(path.join(tmpdir(), 'pushsync-coldstart-'));
let firstResponse: number[] = [];
const rows: string[][] = [];
let missed = false;
try {
  for (const fn of FUNCTIONS) {
    const zipFile = path.join(packageDir, `${fn}.zip`);
    const zipBytes = (await stat(zipFile)).size;
    const entries = readZip(await readFile(zipFile));
    for (const e of entries) {
      await mkdir(path.dirname(path.join(work, fn, e.name)), { recursive: true });
      await writeFile(path.join(work, fn, e.name), e.data);
    }
    const bundle = entries.find((e) => e.name === `functions/${fn}.mjs`);
    if (bundle === undefined) throw new Error(`${zipFile} has no functions/${fn}.mjs: ${entries.map((e) => e.name).join(', ')}`);
    const map = entries.find((e) => e.name.endsWith('.map'));
    const file = path.join(work, fn, bundle.name);
    const withMaps: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      withMaps.push(await importTime(file, '--enable-source-maps'));
      without.push(await importTime(file, ''));
    }
    if (fn === 'webhook') {
      firstResponse = [];
      for (let i = 0; i < RUNS; i++) firstResponse.push(await importTime(file, '--enable-source-maps', firstPush));
    }
    const ms = median(withMaps);
    const target = fn === 'webhook' ? TARGET.webhook : undefined;
    const ok = target === undefined ? '' : zipBytes < target.zipBytes && ms < target.importMs ? 'ok' : 'MISSED';
    if (ok === 'MISSED') missed = true;
    rows.push([fn, mb(zipBytes), mb(bundle.size), map ? mb(map.size) : '-', `${ms.toFixed(0)} ms`, `${median(without).toFixed(0)} ms`, `${Math.min(...withMaps).toFixed(0)}–${Math.max(...withMaps).toFixed(0)} ms`, ok]);
  }
} finally {
  secretsManager.server.close();
  lambda.server.close();
  await rm(work, { recursive: true, force: true });
  await cleanup();
}

const header = ['function', 'zipped', 'bundle', 'source map', 'import (deployed)', 'import (no maps)', 'range (deployed)', 'target'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
console.log(`\nmedian of ${RUNS} fresh node ${process.version} processes each; load average before: ${load}`);
console.log([header, ...rows].map(line).join('\n'));
console.log(`webhook, import + first signed push answered 202 (SDK clients built, secret read, sync invoked; local endpoints): median ${median(firstResponse).toFixed(0)} ms`);
console.log(`targets: webhook < ${mb(TARGET.webhook.zipBytes)} zipped and < ${TARGET.webhook.importMs} ms import (deployed NODE_OPTIONS)`);
if (missed) process.exitCode = 1;
