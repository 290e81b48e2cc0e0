/**
 * AWS test support: a Secrets Manager that keeps state, stubbed at the SDK boundary with
 * aws-sdk-client-mock (what Secrets Manager answers, per the API reference: exception names,
 * deletion scheduling, the `name` filter (a case-sensitive prefix match), pagination); captured logs;
 * and moto_server, a real local Secrets Manager endpoint.
 */
import { spawn } from 'node:child_process';
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
export function awsException(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
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

/** moto_server on a free port. Fails with what to install when it is not there. */
export async function startMoto(): Promise<Moto> {
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`moto_server did not start within 30 s; it printed:\n${output}`)), 30_000);
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
      reject(new Error(`cannot run moto_server (${err.message}): the Secrets Manager endpoint tests need it; install it with pip install 'moto[server]'`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moto_server exited with ${code} before serving:\n${output}`));
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
