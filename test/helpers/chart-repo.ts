/**
 * A Helm chart repository on 127.0.0.1 for remote-chart tests (issue #12 §4): the real `helm
 * package` and `helm repo index` output of chart fixtures, served over plain HTTP, so
 * kustomize's `helmCharts: [{repo: …}]` pulls through the same code path as from a public repo.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ChartRepo {
  /** `http://127.0.0.1:<port>`: what a kustomization's `helmCharts[].repo` names. */
  readonly url: string;
  /** Request paths served so far ("/index.yaml", "/shop-0.1.0.tgz"), in order. */
  readonly requests: readonly string[];
  /** Requests refused for want of (the right) basic auth, when the repository is private. */
  readonly refused: number;
  close(): Promise<void>;
}

/** Package each chart directory with `helm`, index them, and serve the result until close(). */
export interface ChartRepoOptions {
  /** A private repository: every request needs this user and password (HTTP basic auth), else 401. */
  readonly auth?: { readonly username: string; readonly password: string };
}

export async function serveChartRepo(helm: string, chartDirs: readonly string[], options: ChartRepoOptions = {}): Promise<ChartRepo> {
  const root = await mkdtemp(path.join(tmpdir(), 'pushsync-chart-repo-'));
  const served = path.join(root, 'repo');
  await mkdir(served);
  // helm keeps caches and config under HOME / HELM_*: keep them in the temp dir too.
  const env = { PATH: process.env.PATH ?? '', HOME: root, HELM_CACHE_HOME: path.join(root, 'cache'), HELM_CONFIG_HOME: path.join(root, 'config'), HELM_DATA_HOME: path.join(root, 'data') };
  const requests: string[] = [];
  let refused = 0;
  const expected = options.auth ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` : undefined;
  let server: Server | undefined;
  try {
    for (const dir of chartDirs) await run(helm, ['package', dir, '--destination', served], { env });
    server = createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/').replace(/^\/+/, '');
      requests.push(`/${name}`);
      if (expected !== undefined && req.headers.authorization !== expected) {
        refused++;
        res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end('unauthorized\n');
        return;
      }
      // Only the files `helm package`/`helm repo index` wrote; no directories, no traversal.
      readdir(served)
        .then(async (names) => {
          if (req.method !== 'GET' || !names.includes(name)) {
            res.writeHead(404).end('not found\n');
            return;
          }
          const body = await readFile(path.join(served, name));
          res.writeHead(200, { 'content-type': name.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip', 'content-length': body.length }).end(body);
        })
        .catch(() => res.writeHead(500).end());
    });
    const s = server;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve());
    });
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    await run(helm, ['repo', 'index', served, '--url', url], { env });
    return {
      url,
      requests,
      get refused() {
        return refused;
      },
      close: async () => {
        await new Promise<void>((resolve) => s.close(() => resolve()));
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (e) {
    server?.close();
    await rm(root, { recursive: true, force: true });
    throw e;
  }
}
