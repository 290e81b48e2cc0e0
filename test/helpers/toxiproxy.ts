/**
 * Toxiproxy between pushsync and an API server: a cluster 50 ms away, a connection reset in
 * the middle of an apply, a connection that stalls. (The kernel here has no netem; Toxiproxy
 * is the standard tool for this, and it works on loopback.)
 *
 *   const tp = await startToxiproxy();
 *   const p = await tp.proxy('cluster', cp.server);     // listens on a free loopback port
 *   connect(p.kubeconfig(cp.kubeconfig))                 // same cluster, through the proxy
 *   await p.latency(50);                                 // 50 ms round trip (25 ms each way)
 *   await p.toxic({ type: 'reset_peer', attributes: { timeout: 0 } });
 *
 * TLS passes through untouched: the proxy listens on 127.0.0.1 like the API server, so the
 * serving certificate still matches. Binary: $PUSHSYNC_TOXIPROXY, else what
 * `scripts/ensure-toxiproxy.sh --no-build` finds in its cache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryFinder, freePorts } from './control-plane.ts';

/** toxiproxy-server (and toxiproxy-cli), from scripts/ensure-toxiproxy.sh's cache or PUSHSYNC_TOXIPROXY. */
export const findToxiproxy = binaryFinder({ script: 'ensure-toxiproxy.sh', envVar: 'PUSHSYNC_TOXIPROXY', binaries: ['toxiproxy-server', 'toxiproxy-cli'] });

export type ToxicType = 'latency' | 'reset_peer' | 'timeout' | 'bandwidth' | 'slow_close' | 'limit_data' | 'slicer';

export interface Toxic {
  /** Default: the type, with the stream (`latency-downstream`). */
  readonly name?: string;
  readonly type: ToxicType;
  /** Default downstream (server → pushsync). */
  readonly stream?: 'upstream' | 'downstream';
  /** Share of connections it applies to, 0-1; default 1. */
  readonly toxicity?: number;
  readonly attributes?: Readonly<Record<string, number>>;
}

export interface Proxy {
  readonly name: string;
  /** `127.0.0.1:<port>` where it listens. */
  readonly listen: string;
  /** `https://127.0.0.1:<port>`: the upstream's URL with the proxy's port. */
  readonly url: string;
  /** The kubeconfig with its server pointed at the proxy. */
  kubeconfig(kubeconfig: string): string;
  /** Add a toxic; resolves with its name (for removeToxic). */
  toxic(t: Toxic): Promise<string>;
  removeToxic(name: string): Promise<void>;
  /** A round trip of `ms` (half each way) on every connection; 0 removes it. */
  latency(ms: number): Promise<void>;
  /** Refuse new connections and cut the open ones (false), or accept again (true). */
  enable(on: boolean): Promise<void>;
}

export interface Toxiproxy {
  /** The control API, `http://127.0.0.1:<port>`. */
  readonly api: string;
  proxy(name: string, upstream: string): Promise<Proxy>;
  /** Every proxy enabled, every toxic removed. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHook = false;

export async function startToxiproxy(): Promise<Toxiproxy> {
  const bin = join(findToxiproxy(), 'toxiproxy-server');
  const [port] = (await freePorts(1)) as [number];
  const dir = mkdtempSync(join(tmpdir(), 'pushsync-toxiproxy-'));
  const logPath = join(dir, 'toxiproxy.log');
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(bin, ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  live.add(child);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  let exited = false;
  child.once('exit', () => {
    exited = true;
    live.delete(child);
  });
  const api = `http://127.0.0.1:${port}`;

  const call = async (method: string, path: string, body?: unknown, ok: readonly number[] = []): Promise<unknown> => {
    const res = await fetch(`${api}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    const text = await res.text();
    if (!res.ok && !ok.includes(res.status)) throw new Error(`toxiproxy ${method} ${path}: ${res.status} ${text}`);
    return text && (res.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as unknown) : text;
  };

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`toxiproxy-server exited at start; its log:\n${readFileSync(logPath, 'utf8')}`);
    try {
      await call('GET', '/version');
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`toxiproxy-server did not answer on ${api}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    api,
    async proxy(name, upstream) {
      const up = new URL(upstream);
      const [listenPort] = (await freePorts(1)) as [number];
      const listen = `127.0.0.1:${listenPort}`;
      await call('POST', '/proxies', { name, listen, upstream: `${up.hostname}:${up.port || (up.protocol === 'https:' ? 443 : 80)}`, enabled: true });
      const url = `${up.protocol}//${listen}`;
      const toxic = async (t: Toxic): Promise<string> => {
        const stream = t.stream ?? 'downstream';
        const toxicName = t.name ?? `${t.type}-${stream}`;
        await call('POST', `/proxies/${name}/toxics`, { name: toxicName, type: t.type, stream, toxicity: t.toxicity ?? 1, attributes: t.attributes ?? {} });
        return toxicName;
      };
      const removeToxic = async (toxicName: string): Promise<void> => void (await call('DELETE', `/proxies/${name}/toxics/${toxicName}`, undefined, [404]));
      return {
        name,
        listen,
        url,
        kubeconfig: (kubeconfig) => {
          const origin = `${up.protocol}//${up.host}`;
          if (!kubeconfig.includes(origin)) throw new Error(`the kubeconfig does not name ${origin}`);
          return kubeconfig.split(origin).join(url);
        },
        toxic,
        removeToxic,
        async latency(ms) {
          await removeToxic('latency-upstream');
          await removeToxic('latency-downstream');
          if (ms <= 0) return;
          const half = ms / 2;
          await toxic({ type: 'latency', stream: 'upstream', attributes: { latency: Math.floor(half), jitter: 0 } });
          await toxic({ type: 'latency', stream: 'downstream', attributes: { latency: Math.ceil(half), jitter: 0 } });
        },
        async enable(on) {
          await call('POST', `/proxies/${name}`, { enabled: on });
        },
      };
    },
    async reset() {
      await call('POST', '/reset');
    },
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
