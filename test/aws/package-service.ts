/**
 * Runs `serverless package` the way CI must be able to: no AWS account (no credentials, no
 * config files), no network (every socket and DNS lookup is refused and recorded by a preload
 * in each Node process the Framework starts), nothing written to the checkout (the service is
 * staged in a temp dir whose sources are links to the checkout's).
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readZip, type ZipEntry } from './zip.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
// scripts/: the local Framework plugins serverless.yml loads and the scripts they run;
// test/render-tools/: the kustomize and helm recipe (go.mod) scripts/ensure-render-tools.sh reads.
const LINKED = ['package.json', 'tsconfig.json', 'functions', 'lib', 'node_modules', 'scripts', 'test/render-tools'];
/** serverless.yml's provider.architecture, in Go's words: the renderTools layer's binaries. */
export const LAYER_ARCH = 'arm64';

/** Loaded into every Node process: a connection attempt is recorded, then fails at once. */
const NO_NETWORK = `'use strict';
const fs = require('node:fs');
const net = require('node:net');
const dns = require('node:dns');
const log = process.env.PUSHSYNC_NETWORK_LOG;
if (process.env.PUSHSYNC_GUARDED_LOG) fs.appendFileSync(process.env.PUSHSYNC_GUARDED_LOG, process.pid + '\\n');
const refuse = (what) => {
  if (log) fs.appendFileSync(log, what + '\\n');
  const err = new Error('network disabled while packaging: ' + what);
  err.code = 'ENETUNREACH';
  return err;
};
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const o = typeof args[0] === 'object' && args[0] !== null ? args[0] : { port: args[0], host: args[1] };
  if (o.path) return connect.apply(this, args);
  const err = refuse('connect ' + (o.host || 'localhost') + ':' + o.port);
  process.nextTick(() => this.destroy(err));
  return this;
};
dns.lookup = function (host, ...rest) {
  const cb = rest[rest.length - 1];
  const err = refuse('dns ' + host);
  if (typeof cb === 'function') process.nextTick(cb, err);
};
dns.promises.lookup = async (host) => { throw refuse('dns ' + host); };
`;

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: unknown;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, unknown>;
}

export interface PackagedService {
  /** The staged service directory. */
  readonly dir: string;
  /** --package: the templates and one zip per function. */
  readonly out: string;
  readonly template: CfnTemplate;
  /** What the Framework printed. */
  readonly output: string;
  /** Connections and lookups attempted (and refused) while packaging. */
  readonly networkAttempts: readonly string[];
  /** Node processes that ran with the network guard loaded (at least the Framework's own). */
  readonly guardedProcesses: number;
  readonly seconds: number;
  /** A function's or a layer's zip (layers are named as in serverless.yml: renderTools). */
  artifact(fn: string): string;
  entries(fn: string): Promise<ZipEntry[]>;
  close(): Promise<void>;
}

export interface PackageOptions {
  readonly stage?: string;
  readonly region?: string;
  /** --param name=value pairs (serverless.yml `params`). */
  readonly params?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/**
 * The cache scripts/ensure-render-tools.sh keeps the LAYER_ARCH tools in, as the base name
 * PUSHSYNC_RENDER_TOOLS_DIR takes (the script appends -linux-ARCH). Ensuring them here, outside
 * the packaging run, is the once-per-machine build; a machine that has them answers at once.
 */
async function renderToolsCache(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [path.join(REPO_ROOT, 'scripts/ensure-render-tools.sh'), '--arch', LAYER_ARCH], { cwd: REPO_ROOT });
  const dir = stdout.trim().split('\n').pop() ?? '';
  const suffix = `-linux-${LAYER_ARCH}`;
  if (!dir.endsWith(suffix)) throw new Error(`ensure-render-tools.sh --arch ${LAYER_ARCH} printed '${dir}', not a directory ending in ${suffix}`);
  return dir.slice(0, -suffix.length);
}

export async function packageService(options: PackageOptions = {}): Promise<PackagedService> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pushsync-sls-'));
  const out = path.join(dir, 'out');
  const home = path.join(dir, 'home');
  await mkdir(home);
  await copyFile(path.join(REPO_ROOT, 'serverless.yml'), path.join(dir, 'serverless.yml'));
  for (const name of LINKED) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await symlink(path.join(REPO_ROOT, name), path.join(dir, name));
  }
  const renderToolsDir = await renderToolsCache();
  const preload = path.join(dir, 'no-network.cjs');
  await writeFile(preload, NO_NETWORK);
  const networkLog = path.join(dir, 'network.log');
  const guardedLog = path.join(dir, 'guarded.log');

  // Only what a clean CI machine has: no AWS_* variable, no ~/.aws, the Framework's phoning home off.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    CI: '1',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_CONFIG_FILE: path.join(home, 'no-config'),
    NODE_OPTIONS: `--require ${preload}`,
    PUSHSYNC_NETWORK_LOG: networkLog,
    PUSHSYNC_GUARDED_LOG: guardedLog,
    // Where this machine keeps the kustomize and helm built once (the HOME above is empty), and
    // no Go module download if a build were attempted anyway: the layer is only copied.
    PUSHSYNC_RENDER_TOOLS_DIR: renderToolsDir,
    GOPROXY: 'off',
  };
  const args = [
    path.join(REPO_ROOT, 'node_modules/serverless/bin/serverless.js'),
    'package',
    '--stage',
    options.stage ?? 'ci',
    '--region',
    options.region ?? 'eu-west-1',
    '--package',
    out,
    ...Object.entries(options.params ?? {}).flatMap(([k, v]) => ['--param', `${k}=${v}`]),
  ];
  const started = Date.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serverless package did not finish within ${(options.timeoutMs ?? 300_000) / 1000} s:\n${text}`));
    }, options.timeoutMs ?? 300_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, output: text });
    });
  });
  const lines = async (file: string): Promise<string[]> => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
  const networkAttempts = await lines(networkLog);
  const guardedProcesses = (await lines(guardedLog)).length;
  if (code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`serverless package exited with ${code}:\n${output}\nnetwork attempts: ${networkAttempts.join(', ') || 'none'}`);
  }
  const files = await readdir(out);
  if (!files.includes('cloudformation-template-update-stack.json')) throw new Error(`serverless package wrote no template to ${out}: ${files.join(', ')}`);
  const template = JSON.parse(await readFile(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as CfnTemplate;
  const artifact = (fn: string): string => path.join(out, `${fn}.zip`);
  return {
    dir,
    out,
    template,
    output,
    networkAttempts,
    guardedProcesses,
    seconds: (Date.now() - started) / 1000,
    artifact,
    entries: async (fn) => readZip(await readFile(artifact(fn))),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
