/**
 * AWS test support: a Secrets Manager that keeps state, stubbed at the SDK boundary with
 * aws-sdk-client-mock (what Secrets Manager answers, per the API reference: exception names,
 * deletion scheduling, the `name` filter (a case-sensitive prefix match), pagination); captured logs;
 * and moto's server, a real local Secrets Manager endpoint (scripts/ensure-moto.sh finds it).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { ListSecretsCommandInput } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { createLogger, type Logger } from '../../lib/log.ts';

// The SDK's notice that its 2027 releases need Node 22 would repeat in every test file's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const meta = { $metadata: { httpStatusCode: 400 } };

export interface FakeSecret {
  value: string;
  deleted: boolean;
  versions: number;
}

/** An error as the SDK raises it for an AWS error response. */
/** An SDK v3 service exception as the client throws it: 5xx errors are `$fault: 'server'`, throttling carries `$retryable`. */
export function awsException(name: string, message: string, kind: 'client' | 'server' | 'throttling' = 'client'): Error {
  const status = kind === 'server' ? 500 : 400;
  return Object.assign(new Error(message), {
    name,
    $fault: kind === 'server' ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    ...(kind === 'throttling' ? { $retryable: { throttling: true } } : {}),
  });
}

/** An in-memory Secrets Manager behind every SecretsManagerClient; `pageSize` forces pagination. */
export function fakeSecretsManager(options: { pageSize?: number } = {}) {
  const secrets = new Map<string, FakeSecret>();
  /** The next request of each operation (by command name) fails with this. */
  const faults = new Map<string, Error>();
  const fault = (operation: string): void => {
    const err = faults.get(operation);
    if (err === undefined) return;
    faults.delete(operation);
    throw err;
  };
  const mock = mockClient(SecretsManagerClient);
  const live = (id: string): FakeSecret => {
    const s = secrets.get(id);
    if (s === undefined) throw new ResourceNotFoundException({ ...meta, message: "Secrets Manager can't find the specified secret." });
    if (s.deleted) throw new InvalidRequestException({ ...meta, message: "You can't perform this operation on the secret because it was marked for deletion." });
    return s;
  };
  mock.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
    fault('GetSecretValue');
    return { Name: input.SecretId, SecretString: live(input.SecretId).value };
  });
  mock.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => {
    const s = secrets.get(input.SecretId);
    if (s === undefined) throw new ResourceNotFoundException({ ...meta, message: "Secrets Manager can't find the specified secret." });
    return { Name: input.SecretId, ...(s.deleted ? { DeletedDate: new Date(0) } : {}) };
  });
  mock.on(CreateSecretCommand).callsFake((input: { Name: string; SecretString: string }) => {
    const s = secrets.get(input.Name);
    if (s?.deleted) throw new InvalidRequestException({ ...meta, message: "You can't create this secret because a secret with this name is already scheduled for deletion." });
    if (s) throw new ResourceExistsException({ ...meta, message: `The operation failed because the secret ${input.Name} already exists.` });
    secrets.set(input.Name, { value: input.SecretString, deleted: false, versions: 1 });
    return { Name: input.Name };
  });
  mock.on(PutSecretValueCommand).callsFake((input: { SecretId: string; SecretString: string }) => {
    const s = live(input.SecretId);
    s.value = input.SecretString;
    s.versions++;
    return { Name: input.SecretId };
  });
  mock.on(RestoreSecretCommand).callsFake((input: { SecretId: string }) => {
    const s = secrets.get(input.SecretId);
    if (s === undefined) throw new ResourceNotFoundException({ ...meta, message: "Secrets Manager can't find the specified secret." });
    s.deleted = false;
    return { Name: input.SecretId };
  });
  mock.on(DeleteSecretCommand).callsFake((input: { SecretId: string }) => {
    live(input.SecretId).deleted = true;
    return { Name: input.SecretId };
  });
  mock.on(ListSecretsCommand).callsFake((input: ListSecretsCommandInput) => {
    fault('ListSecrets');
    const filter = input.Filters?.find((f) => f.Key === 'name')?.Values?.[0] ?? '';
    const names = [...secrets.entries()]
      .filter(([id, s]) => !s.deleted && id.startsWith(filter))
      .map(([id]) => id)
      .sort();
    const size = Math.min(options.pageSize ?? 100, input.MaxResults ?? 100);
    const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
    const page = names.slice(start, start + size);
    return { SecretList: page.map((Name) => ({ Name })), ...(start + size < names.length ? { NextToken: String(start + size) } : {}) };
  });
  return { mock, secrets, faults };
}

/** A logger at debug level whose lines are kept, to grep them for secrets. */
export function captureLogs(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }), lines };
}

export interface Moto {
  /** http://127.0.0.1:PORT: the endpoint of every AWS service moto emulates. */
  readonly url: string;
  close(): Promise<void>;
}

export const MOTO_MISSING = 'MOTO_MISSING';

/** The one script that knows how moto is found (and, from scripts/test.sh, installed). */
const ENSURE_MOTO = fileURLToPath(new URL('../../scripts/ensure-moto.sh', import.meta.url));

/**
 * The command that starts moto's server, as scripts/ensure-moto.sh finds it: `moto_server`, or
 * `python3 -m moto.server` for a moto reachable only as a module. scripts/test.sh passes what it
 * found (and installed, when it was missing) in PUSHSYNC_MOTO_SERVER; a test run on its own asks
 * the script without installing. Missing, it fails with the script's one line saying what to
 * install: these tests fail then, they never skip.
 */
export async function findMotoServer(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const given = env.PUSHSYNC_MOTO_SERVER?.trim();
  if (given) return given.split(/\s+/);
  // bash itself is looked up where this process finds it: `env` may have a PATH without it.
  const bash = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'bash')).find((p) => existsSync(p)) ?? 'bash';
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(bash, [ENSURE_MOTO, '--no-install'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
  });
  const last = (text: string): string => text.trim().split('\n').pop() ?? '';
  if (code !== 0) throw Object.assign(new Error(last(stderr) || `scripts/ensure-moto.sh exited with ${code}`), { code: MOTO_MISSING });
  return last(stdout).split(/\s+/);
}

let motoServer: Promise<string[]> | undefined;

/**
 * moto's server on a free port. Fails with what to install when it is not there. `env`: the
 * environment to find and run it in (default: this process's, and the lookup is done once).
 */
export async function startMoto(options: { env?: NodeJS.ProcessEnv } = {}): Promise<Moto> {
  const [command = 'moto_server', ...args] = await (options.env ? findMotoServer(options.env) : (motoServer ??= findMotoServer()));
  const child = spawn(command, [...args, '-H', '127.0.0.1', '-p', '0'], { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start within 30 s; it printed:\n${output}`)), 30_000);
    const seen = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`cannot run ${command} (${err.message}); see scripts/ensure-moto.sh`), { code: MOTO_MISSING }));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before serving:\n${output}`));
    });
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
