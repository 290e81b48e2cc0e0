import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Command, Io } from '../../bin/commands/common.ts';
import { runCli } from '../../bin/commands/dispatch.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'pushsync.js');
const SEED = path.join(ROOT, 'test', 'fixtures', 'repos', 'seed');
const scratch = mkdtempSync(path.join(tmpdir(), 'pushsync-cli-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real CLI as a user would. */
function pushsync(args: string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, PUSHSYNC_DEBUG: '' }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at /);

describe('help and usage', () => {
  it('top-level help lists the commands, the coming ones honestly, and exits 0', async () => {
    const r = await pushsync(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}vet +Validate/m);
    expect(r.stdout).toMatch(/^ {2}hydrate +Write/m);
    expect(r.stdout).toMatch(/^ {2}clusters +Register/m);
    for (const c of ['plan', 'apply', 'status', 'secrets', 'serve']) expect(r.stdout).toMatch(new RegExp(`^ {2}${c} +\\S`, 'm'));
    expect(r.stdout).not.toContain('Coming later');
    const viaHelp = await pushsync(['help']);
    expect(viaHelp.stdout).toBe(r.stdout);
  });

  it('command help has a description, every flag with its default, and an example', async () => {
    const vet = await pushsync(['help', 'vet']);
    expect(vet.code).toBe(0);
    for (const flag of ['--source-format <format>', '--clusters <a,b,...>', '--json', '--help']) expect(vet.stdout).toContain(flag);
    expect(vet.stdout).toContain('(default: "hierarchy")');
    expect(vet.stdout).toContain('Examples:\n  pushsync vet');
    const hydrate = await pushsync(['hydrate', '--help']);
    expect(hydrate.code).toBe(0);
    for (const text of ['--output <path>', '(default: "compiled")', '--format <format>', '(default: "yaml")', '--flat', 'Examples:\n  pushsync hydrate']) {
      expect(hydrate.stdout).toContain(text);
    }
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await pushsync(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('exits 2 with a message and a hint, never a stack trace, on a bad flag or no command', async () => {
    const bad = await pushsync(['vet', '--bogus']);
    expect(bad).toMatchObject({ code: 2, stdout: '', stderr: "pushsync vet: unknown flag --bogus\nRun 'pushsync vet --help' for usage.\n" });
    const none = await pushsync([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage:');
  });

  it('reports every kind of usage error the same way (in-process, same dispatcher)', async () => {
    const cases: [string[], string][] = [
      [['vett'], 'pushsync: unknown command "vett"; did you mean "vet"?\nRun \'pushsync --help\' for usage.\n'],
      [['--verbose'], 'pushsync: unknown flag --verbose; flags go after the command\n'],
      [['vet', '--source-format', 'flat'], 'pushsync vet: invalid --source-format "flat": use hierarchy or unstructured\n'],
      [['hydrate', SEED, '--format', 'xml'], 'pushsync hydrate: invalid --format "xml": use yaml or json\n'],
      [['hydrate', SEED, '--output', ''], 'pushsync hydrate: --output must not be empty\n'],
      [['vet', 'a', 'b'], 'pushsync vet: expected at most one DIR argument, got 2: a b\n'],
      [['vet', path.join(scratch, 'missing')], 'does not exist\n'],
      [['vet', '--clusters'], 'pushsync vet: flag --clusters needs a value\n'],
      [['help', 'nope'], 'pushsync: unknown command "nope"'],
      [['help', 'vet', 'hydrate'], 'pushsync: usage: pushsync help <command>\n'],
    ];
    for (const [args, message] of cases) {
      let stderr = '';
      const code = await runCli(args, { stdout: () => undefined, stderr: (t) => void (stderr += t) });
      expect(code, args.join(' ')).toBe(2);
      expect(stderr, args.join(' ')).toContain(message);
      noStackTrace(stderr);
    }
  });
});

describe('internal errors', () => {
  const captured = () => {
    const out = { stdout: '', stderr: '' };
    const io: Io = { stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t) };
    return { out, io };
  };
  const boom: Command = {
    name: 'boom',
    summary: 'fails',
    help: 'boom help',
    run: () => Promise.reject(new Error('kaput')),
  };

  it('prints one line and a hint, exit 3; the stack only with PUSHSYNC_DEBUG=1', async () => {
    const plain = captured();
    expect(await runCli(['boom'], plain.io, { commands: [boom], env: {} })).toBe(3);
    expect(plain.out.stderr).toBe('pushsync: internal error: kaput\nThis is a bug in pushsync. Rerun with PUSHSYNC_DEBUG=1 to see the stack trace.\n');
    const debug = captured();
    expect(await runCli(['boom'], debug.io, { commands: [boom], env: { PUSHSYNC_DEBUG: '1' } })).toBe(3);
    expect(debug.out.stderr).toMatch(/^pushsync: internal error: kaput\nError: kaput\n\s+at /);
  });
});

describe('vet on the seed repo', () => {
  it('finds no issues: exit 0, nomos success line', async () => {
    const r = await pushsync(['vet', SEED]);
    expect(r).toMatchObject({ code: 0, stdout: '✅ No validation issues found.\n', stderr: '' });
  });

  it('reports JSON with a stable shape', async () => {
    const r = await pushsync(['vet', SEED, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: true,
      clusters: [{ cluster: 'defaultcluster', ok: true, errors: [] }],
      counts: { clusters: 1, errors: 0, blocking: 0 },
    });
  });

  it('reports a duplicate in nomos format with source and line, exit 1', async () => {
    const repo = path.join(scratch, 'dup');
    cpSync(SEED, repo, { recursive: true });
    writeFileSync(
      path.join(repo, 'namespaces', 'onlineboutique', 'extra.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: frontend\nspec:\n  ports:\n  - port: 80\n',
    );
    const r = await pushsync(['vet', repo]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Error: KNV1029: /);
    expect(r.stderr).toContain(`\n\nsource: ${repo}/namespaces/onlineboutique/extra.yaml\nline: 1\nnamespace: onlineboutique\nmetadata.name: frontend\ngroup:\nversion: v1\nkind: Service\n`);
    expect(r.stderr).toMatch(/For more information, see https:\/\/g\.co\/cloud\/acm-errors#knv1029\n$/);

    const json = JSON.parse((await pushsync(['vet', repo, '--json'])).stdout) as { ok: boolean; counts: { errors: number } };
    expect(json.ok).toBe(false);
    expect(json.counts.errors).toBe(1);

    const out = path.join(scratch, 'dup-out');
    const h = await pushsync(['hydrate', repo, '--output', out]);
    expect(h.code).toBe(1);
    expect(h.stderr).toMatch(/^errors for Cluster "defaultcluster": KNV1029: /);
    expect(existsSync(out)).toBe(false);
  });
});

describe('hydrate on the seed repo', () => {
  const kinds = (files: string[], prefix: string) => files.filter((f) => f.startsWith(prefix)).length;

  it('writes one clean file per object in the nomos layout', async () => {
    const out = path.join(scratch, 'compiled');
    const r = await pushsync(['hydrate', SEED, '--output', out]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(readdirSync(out).sort()).toEqual(['namespace_onlineboutique.yaml', 'onlineboutique']);
    const nsFiles = readdirSync(path.join(out, 'onlineboutique'));
    expect(kinds(nsFiles, 'deployment_')).toBe(12);
    expect(kinds(nsFiles, 'service_')).toBe(12);
    expect(readFileSync(path.join(out, 'namespace_onlineboutique.yaml'), 'utf8')).toBe(
      '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  labels:\n    istio-injection: enabled\n  name: onlineboutique\n',
    );
    const svc = readFileSync(path.join(out, 'onlineboutique', 'service_frontend.yaml'), 'utf8');
    expect(svc).toMatch(/^---\napiVersion: v1\nkind: Service\nmetadata:\n {2}name: frontend\n {2}namespace: onlineboutique\nspec:\n/);
    expect(svc).not.toMatch(/configmanagement\.gke\.io|configsync\.gke\.io|pushsync\.dev/);
  });

  it('writes to the default output dir compiled/ in the working directory', async () => {
    const cwd = path.join(scratch, 'cwd');
    cpSync(SEED, path.join(cwd, 'repo'), { recursive: true });
    const r = await pushsync(['hydrate', 'repo'], cwd);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(cwd, 'compiled', 'namespace_onlineboutique.yaml'))).toBe(true);
  });

  it('--output - streams every object to stdout; --flat --format json writes one v1 List', async () => {
    const r = await pushsync(['hydrate', SEED, '--output', '-']);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^---$/gm)).toHaveLength(25);
    const flat = path.join(scratch, 'all.json');
    const j = await pushsync(['hydrate', SEED, '--flat', '--format', 'json', '--output', flat]);
    expect(j.code).toBe(0);
    const list = JSON.parse(readFileSync(flat, 'utf8')) as { apiVersion: string; kind: string; items: unknown[] };
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    expect(list.items).toHaveLength(25);
  });

  it('--clusters "" hydrates nothing, as nomos', async () => {
    const out = path.join(scratch, 'none');
    const r = await pushsync(['hydrate', SEED, '--clusters', '', '--output', out]);
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(false);
  });
});
