/**
 * A real Kubernetes control plane for tests, envtest style: etcd + kube-apiserver on free
 * loopback ports, a temporary data directory, bearer-token users and a kubeconfig.
 *
 * There are no controllers (no kube-controller-manager, no scheduler, no kubelet): namespaces
 * being deleted stay Terminating, nothing is garbage-collected, Deployments get no
 * ReplicaSets. What runs inside kube-apiserver does work, e.g. CRDs become Established.
 * For controllers, a scheduler and (fake) nodes, see workload-plane.ts, which builds on this.
 *
 * Binaries: $KUBEBUILDER_ASSETS (scripts/test.sh exports it), else whatever
 * `scripts/ensure-apiserver.sh --no-build` finds in its cache.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, accessSync, constants } from 'node:fs';
import { request } from 'node:https';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'js-yaml';

export type ControlPlaneErrorCode = 'ASSETS_MISSING' | 'PROCESS_EXITED' | 'START_TIMEOUT' | 'NOT_RUNNING' | 'UNKNOWN_USER';

export class ControlPlaneError extends Error {
  constructor(
    readonly code: ControlPlaneErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}

export interface TestUser {
  readonly name: string;
  readonly groups?: readonly string[];
}

export interface ControlPlaneOptions {
  /** Extra kube-apiserver flags, after the defaults (for a repeated flag the last one wins). */
  readonly apiServerArgs?: readonly string[];
  /** Users besides `admin` (who is in system:masters); get their kubeconfig with `kubeconfigFor`. */
  readonly users?: readonly TestUser[];
  /** How long to wait for /readyz on each (re)start; default 120 s. */
  readonly startTimeoutMs?: number;
  /**
   * Admission plugins turned off; default ServiceAccount and ResourceQuota, whose controllers
   * do not run here (see below). The workload plane, which runs them, passes none. (Not an
   * `apiServerArgs` entry: a repeated list flag adds to the first, it does not replace it.)
   */
  readonly disabledAdmissionPlugins?: readonly string[];
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ControlPlane {
  /** `https://127.0.0.1:<port>`; the port stays the same across API server restarts. */
  readonly server: string;
  /** The admin kubeconfig as YAML (`KubeConfig.loadFromString`), and the same on disk. */
  readonly kubeconfig: string;
  readonly kubeconfigPath: string;
  /** PEM of the API server's self-signed serving chain (its CA included). */
  readonly caPem: string;
  /** Directory holding kube-apiserver, etcd and kubectl. */
  readonly binDir: string;
  /** Milliseconds from the call to startControlPlane until /readyz answered ok. */
  readonly startupMs: number;
  /** Temporary directory with etcd's data, certificates, tokens and both logs. */
  readonly dir: string;
  /** Process ids of what is running now (kube-apiserver is absent while stopped). */
  pids(): { readonly etcd?: number; readonly apiServer?: number };
  /** A kubeconfig (YAML) for one of `options.users`, or `admin`. */
  kubeconfigFor(user: string): string;
  /** Runs the built kubectl against this control plane (as admin unless `user` is given). */
  kubectl(args: readonly string[], opts?: { readonly input?: string; readonly user?: string }): Promise<KubectlResult>;
  /** Stops only kube-apiserver; etcd and its data stay. SIGKILL simulates a crash mid-request. */
  stopApiServer(opts?: { readonly signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /** Starts kube-apiserver again on the same port with the same certificates and tokens. */
  startApiServer(): Promise<void>;
  restartApiServer(opts?: { readonly signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /** Kills both processes and removes the temporary directory. Safe to call twice. */
  stop(): Promise<void>;
  /** The private key kube-apiserver signs service-account tokens with (PEM, in `dir`). */
  readonly serviceAccountKeyPath: string;
  /**
   * Starts another process that lives and dies with this control plane: its log is
   * `<dir>/<name>.log`, the reaper kills it if the test process dies, and `stop()` stops it
   * (companions in reverse order) before kube-apiserver and etcd. The bare control plane
   * starts none; test/helpers/workload-plane.ts starts the controllers and KWOK this way.
   */
  startCompanion(name: string, bin: string, args: readonly string[], opts?: { readonly env?: NodeJS.ProcessEnv }): CompanionProcess;
}

/** A process started with `ControlPlane.startCompanion`. */
export interface CompanionProcess {
  readonly name: string;
  readonly logPath: string;
  /** Its process id while it runs, else undefined. */
  pid(): number | undefined;
  /** Why it stopped and the last lines of its log, or undefined while it runs. */
  exitReport(): string | undefined;
  /** SIGTERM (or the signal given), SIGKILL after 10 s. */
  stop(opts?: { readonly signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
}

const GRACE_MS = 10_000;

// --- binaries --------------------------------------------------------------------------

/**
 * A finder for binaries that a scripts/ensure-*.sh builds once per machine: the directory in
 * `envVar` when it holds them all, else what the script finds with --no-build (a compile does
 * not belong in a test hook), else a ControlPlaneError with the script's own words. Memoised.
 */
export function binaryFinder(spec: { readonly script: string; readonly envVar: string; readonly binaries: readonly string[] }): () => string {
  const script = fileURLToPath(new URL(`../../scripts/${spec.script}`, import.meta.url));
  const hasAll = (dir: string): boolean =>
    spec.binaries.every((b) => {
      try {
        accessSync(join(dir, b), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  let resolved: string | undefined;
  return () => {
    if (resolved !== undefined) return resolved;
    const fromEnv = process.env[spec.envVar];
    if (fromEnv && hasAll(fromEnv)) return (resolved = fromEnv);
    const r = spawnSync('bash', [script, '--no-build'], { encoding: 'utf8' });
    const dir = r.stdout?.trim().split('\n').pop() ?? '';
    if (r.status === 0 && dir && hasAll(dir)) return (resolved = dir);
    throw new ControlPlaneError(
      'ASSETS_MISSING',
      `${spec.binaries.join(', ')} were not found (${spec.envVar}=${fromEnv ?? '<unset>'}).\n` +
        `Run 'bash scripts/${spec.script}' once to build them (or 'npm test', which runs it), ` +
        `or set ${spec.envVar} to a directory holding all of them.\n` +
        (r.error ? `Running ${script} failed: ${r.error.message}\n` : (r.stderr ?? '')),
    );
  };
}

/** kube-apiserver, etcd and kubectl, from scripts/ensure-apiserver.sh's cache or KUBEBUILDER_ASSETS. */
export const findControlPlaneBinaries = binaryFinder({ script: 'ensure-apiserver.sh', envVar: 'KUBEBUILDER_ASSETS', binaries: ['kube-apiserver', 'etcd', 'kubectl'] });

// --- processes -------------------------------------------------------------------------

// Exit handlers cover a test process that calls process.exit without stopping its control
// plane; a signal or SIGKILL runs no handler, which is what the reaper below is for.
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.once('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}

// Its stdin is a pipe from this process, so EOF means this process is gone however it went.
// It then kills every process whose pid file is still there and removes the temp dir.
const REAPER_SCRIPT = `cat >/dev/null
for f in "$1"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
rm -rf "$2"`;

function startReaper(pidDir: string, root: string): ChildProcess {
  const reaper = spawn('/bin/sh', ['-c', REAPER_SCRIPT, 'pushsync-reaper', pidDir, root], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  reaper.unref();
  if (reaper.stdin instanceof Socket) reaper.stdin.unref();
  // The reaper dying first (it should not) must not crash the test with EPIPE.
  reaper.stdin?.on('error', () => undefined);
  return reaper;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  readonly exited: Promise<Exit>;
  exit?: Exit;
}

function startProcess(name: string, bin: string, args: readonly string[], logPath: string, pidDir: string, env?: NodeJS.ProcessEnv): Managed {
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(bin, args, { stdio: ['ignore', fd, fd], ...(env ? { env } : {}) });
  } finally {
    closeSync(fd);
  }
  const pidFile = join(pidDir, `${name}.pid`);
  if (child.pid !== undefined) writeFileSync(pidFile, String(child.pid));
  liveChildren.add(child);
  const managed: Managed = {
    name,
    child,
    logPath,
    exited: new Promise<Exit>((resolve) => {
      const done = (e: Exit): void => {
        liveChildren.delete(child);
        rmSync(pidFile, { force: true });
        managed.exit = e;
        resolve(e);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      child.once('error', (error) => done({ code: null, signal: null, error }));
    }),
  };
  return managed;
}

async function stopProcess(p: Managed, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (p.exit) return;
  p.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    p.exited.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), GRACE_MS))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    p.child.kill('SIGKILL');
    await p.exited;
  }
}

function logTail(path: string, bytes = 4000): string {
  try {
    const size = statSync(path).size;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size, bytes));
      readSync(fd, buf, 0, buf.length, Math.max(0, size - bytes));
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '<no log>';
  }
}

function describeExit(p: Managed): string {
  const e = p.exit;
  const how = e?.error ? `could not start (${e.error.message})` : `exited (code ${e?.code}, signal ${e?.signal})`;
  return `${p.name} ${how}; last lines of ${p.logPath}:\n${logTail(p.logPath)}`;
}

// --- network ---------------------------------------------------------------------------

/** Distinct free ports: all listeners stay open until every port is known. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function httpsGet(url: string, token: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Authorization: `Bearer ${token}` }, ca, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- credentials -----------------------------------------------------------------------

interface UserToken {
  readonly name: string;
  readonly groups: readonly string[];
  readonly token: string;
}

function tokenFileLine(u: UserToken): string {
  return `${u.token},${u.name},${u.name},"${u.groups.join(',')}"`;
}

function kubeconfigYaml(server: string, caPem: string, user: UserToken): string {
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'pushsync-test', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user.name, user: { token: user.token } }],
    contexts: [{ name: 'pushsync-test', context: { cluster: 'pushsync-test', user: user.name } }],
    'current-context': 'pushsync-test',
  });
}

// --- the control plane -----------------------------------------------------------------

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const t0 = Date.now();
  const binDir = findControlPlaneBinaries();
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  installExitHandler();

  const root = mkdtempSync(join(tmpdir(), 'pushsync-cp-'));
  liveDirs.add(root);
  const pidDir = join(root, 'pids');
  const certDir = join(root, 'certs');
  mkdirSync(pidDir);
  mkdirSync(certDir);
  const reaper = startReaper(pidDir, root);

  const users: UserToken[] = [{ name: 'admin', groups: ['system:masters'] }, ...(options.users ?? [])].map((u) => ({
    name: u.name,
    groups: u.groups ?? [],
    token: randomBytes(24).toString('hex'),
  }));
  const tokensPath = join(root, 'tokens.csv');
  writeFileSync(tokensPath, users.map(tokenFileLine).join('\n') + '\n', { mode: 0o600 });
  const admin = users[0]!;

  // The API server signs service-account tokens even when nothing asks for one; EC keeps
  // generation instant.
  const sa = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeFileSync(join(root, 'sa.key'), sa.privateKey, { mode: 0o600 });
  writeFileSync(join(root, 'sa.pub'), sa.publicKey);

  const [etcdClientPort, etcdPeerPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  const server = `https://127.0.0.1:${apiPort}`;

  const etcdArgs = [
    '--name=pushsync-test',
    `--data-dir=${join(root, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=pushsync-test=${peerUrl}`,
    // Test data is thrown away: skipping fsync makes every write (and startup) much faster.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
  const apiArgs = [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    // No --tls-cert-file: the API server writes a self-signed chain for 127.0.0.1 here on
    // first start and reuses it on restart, so the kubeconfig stays valid.
    `--cert-dir=${certDir}`,
    `--token-auth-file=${tokensPath}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(root, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(root, 'sa.key')}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    // Both need controllers that do not run here: ServiceAccount rejects every Pod until the
    // token controller creates the namespace's `default` account, and ResourceQuota rejects
    // objects a quota covers until the quota controller has filled in the quota's status.
    `--disable-admission-plugins=${(options.disabledAdmissionPlugins ?? ['ServiceAccount', 'ResourceQuota']).join(',')}`,
    '--allow-privileged=true',
    // Nobody serves the `kubernetes` Service's endpoints; don't rewrite them every 10 s.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
    ...(options.apiServerArgs ?? []),
  ];

  const etcd = startProcess('etcd', join(binDir, 'etcd'), etcdArgs, join(root, 'etcd.log'), pidDir);
  let api: Managed | undefined;
  let caPem = '';
  let stopped = false;
  const companions: Managed[] = [];

  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const c of [...companions].reverse()) await stopProcess(c);
    if (api) await stopProcess(api);
    await stopProcess(etcd);
    rmSync(root, { recursive: true, force: true });
    liveDirs.delete(root);
    reaper.stdin?.end();
  };

  const waitReady = async (p: Managed): Promise<void> => {
    const deadline = Date.now() + startTimeoutMs;
    let last = 'no answer yet';
    const caPath = join(certDir, 'apiserver.crt');
    for (;;) {
      if (p.exit) throw new ControlPlaneError('PROCESS_EXITED', describeExit(p));
      if (etcd.exit) throw new ControlPlaneError('PROCESS_EXITED', describeExit(etcd));
      if (Date.now() > deadline) {
        throw new ControlPlaneError(
          'START_TIMEOUT',
          `kube-apiserver at ${server} not ready after ${startTimeoutMs} ms (last /readyz: ${last}); ` +
            `last lines of ${p.logPath}:\n${logTail(p.logPath)}`,
        );
      }
      if (!caPem && existsSync(caPath)) caPem = readFileSync(caPath, 'utf8');
      if (caPem) {
        try {
          // `default` is created by a bootstrap loop that /readyz does not wait for, and tests
          // that write there first would race it.
          const r = await httpsGet(`${server}/readyz?verbose`, admin.token, caPem);
          last = `${r.status} ${r.body.slice(-300)}`;
          if (r.status === 200) {
            const ns = await httpsGet(`${server}/api/v1/namespaces/default`, admin.token, caPem);
            if (ns.status === 200) return;
            last = `readyz ok but namespace default: ${ns.status}`;
          }
        } catch (e) {
          last = (e as Error).message;
        }
      }
      await sleep(100);
    }
  };

  const startApi = async (): Promise<void> => {
    if (stopped) throw new ControlPlaneError('NOT_RUNNING', 'this control plane was stopped');
    if (api && !api.exit) return;
    const p = startProcess('kube-apiserver', join(binDir, 'kube-apiserver'), apiArgs, join(root, 'kube-apiserver.log'), pidDir);
    api = p;
    await waitReady(p);
  };

  try {
    await startApi();
  } catch (e) {
    await stopAll();
    throw e;
  }

  const kubeconfig = kubeconfigYaml(server, caPem, admin);
  const kubeconfigPath = join(root, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });

  const kubeconfigFor = (name: string): string => {
    const u = users.find((x) => x.name === name);
    if (!u) throw new ControlPlaneError('UNKNOWN_USER', `no test user "${name}" (known: ${users.map((x) => x.name).join(', ')})`);
    return kubeconfigYaml(server, caPem, u);
  };

  const stopApi = async (opts?: { readonly signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void> => {
    if (api) await stopProcess(api, opts?.signal);
  };

  return {
    server,
    kubeconfig,
    kubeconfigPath,
    caPem,
    binDir,
    startupMs: Date.now() - t0,
    dir: root,
    pids: () => ({
      ...(etcd.exit ? {} : { etcd: etcd.child.pid }),
      ...(api && !api.exit ? { apiServer: api.child.pid } : {}),
    }),
    kubeconfigFor,
    kubectl: (args, opts) => {
      let path = kubeconfigPath;
      if (opts?.user !== undefined && opts.user !== admin.name) {
        path = join(root, `kubeconfig-${opts.user}`);
        writeFileSync(path, kubeconfigFor(opts.user), { mode: 0o600 });
      }
      // Its own discovery cache: ~/.kube/cache is keyed by host:port, and a later control
      // plane on a reused port with other CRDs would be served stale discovery.
      return runKubectl(join(binDir, 'kubectl'), ['--kubeconfig', path, `--cache-dir=${join(root, 'kube-cache')}`, ...args], opts?.input);
    },
    stopApiServer: stopApi,
    startApiServer: startApi,
    serviceAccountKeyPath: join(root, 'sa.key'),
    startCompanion: (name, bin, args, opts) => {
      if (stopped) throw new ControlPlaneError('NOT_RUNNING', 'this control plane was stopped');
      const p = startProcess(name, bin, args, join(root, `${name}.log`), pidDir, opts?.env);
      companions.push(p);
      return {
        name,
        logPath: p.logPath,
        pid: () => (p.exit ? undefined : p.child.pid),
        exitReport: () => (p.exit ? describeExit(p) : undefined),
        stop: (o) => stopProcess(p, o?.signal),
      };
    },
    restartApiServer: async (opts) => {
      await stopApi(opts);
      await startApi();
    },
    stop: stopAll,
  };
}

function runKubectl(bin: string, args: readonly string[], input: string | undefined): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    liveChildren.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', (e) => {
      liveChildren.delete(child);
      reject(e);
    });
    child.once('close', (code) => {
      liveChildren.delete(child);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}
