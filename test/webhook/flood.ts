/**
 * A flood of large forged deliveries against the real `pushsync serve`, in a child process, and
 * what it cost the server in resident memory (issue 10 §3.1). Shared by the test that asserts a
 * bound (test/local/serve.test.ts) and the benchmark that prints the figure (bench/webhook-flood.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSecretStore, setWebhookSecrets } from '../../lib/registry/index.ts';
import { signature } from './support.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'pushsync.js');

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** http://host:port */
  readonly url: string;
  stop(): Promise<void>;
}

/** `pushsync serve --port 0` on `home` (which must hold a webhook secret), once it says where it listens. */
export async function startServeProcess(home: string, secret: string): Promise<ServeProcess> {
  await setWebhookSecrets(new FileSecretStore(home), [secret]);
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    cwd: home,
    env: { ...process.env, PUSHSYNC_DEV: '1', PUSHSYNC_HOME: home, PUSHSYNC_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (url === undefined) {
    const serving = out.split('\n').find((l) => l.includes('"msg":"serving"'));
    if (serving !== undefined) url = (JSON.parse(serving) as { url: string }).url;
    else if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pushsync serve did not come up (exit ${child.exitCode}).\nstdout:\n${out}\nstderr:\n${err}`);
    } else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    pid: child.pid ?? 0,
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Rss {
  /** VmRSS: resident now. */
  readonly rssKb: number;
  /** VmHWM: the highest resident size since the process started. */
  readonly peakKb: number;
}

/** Linux only: /proc/<pid>/status. */
export function readRss(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
}

export interface FloodOptions {
  /** Deliveries sent at once (default 8). */
  readonly count?: number;
  /** Body bytes of each (default 24 MiB: under GitHub's 25 MB cap, so only the signature can refuse it). */
  readonly bytes?: number;
  /** The secret the forger signs with (default: one the server does not have). */
  readonly secret?: string;
}

export interface FloodResult {
  readonly statuses: readonly number[];
  readonly codes: readonly string[];
  readonly before: Rss;
  readonly after: Rss;
  /** Peak resident size during the flood minus resident size before it, in MiB. */
  readonly growthMb: number;
  readonly ms: number;
}

/** POST `count` `bytes`-byte JSON bodies to `${url}/webhook` at once; report the answers and the server's memory. */
export async function flood(serve: Pick<ServeProcess, 'pid' | 'url'>, options: FloodOptions = {}): Promise<FloodResult> {
  const count = options.count ?? 8;
  const bytes = options.bytes ?? 24 * 1024 * 1024;
  // One body for all: valid JSON, so nothing but the signature can be wrong with it.
  const head = '{"zen":"';
  const tail = '"}';
  const body = Buffer.alloc(bytes, 'x');
  body.write(head, 0, 'utf8');
  body.write(tail, bytes - tail.length, 'utf8');
  const sig = signature(body, options.secret ?? 'not-the-secret');
  const before = readRss(serve.pid);
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: count }, (_, i) => post(`${serve.url}/webhook`, body, sig, `flood-${i}`)));
  const ms = Date.now() - started;
  const after = readRss(serve.pid);
  return {
    statuses: answers.map((a) => a.status),
    codes: answers.map((a) => a.code),
    before,
    after,
    growthMb: (after.peakKb - before.rssKb) / 1024,
    ms,
  };
}

function post(url: string, body: Buffer, sig: string, deliveryId: string): Promise<{ status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.byteLength),
          'x-github-event': 'ping',
          'x-github-delivery': deliveryId,
          'x-hub-signature-256': sig,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => {
          let code = '';
          try {
            code = String((JSON.parse(text) as { code?: unknown }).code ?? '');
          } catch {
            code = text.slice(0, 80);
          }
          resolve({ status: res.statusCode ?? 0, code });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
