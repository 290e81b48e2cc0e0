/**
 * The SecretStore on AWS Secrets Manager: one secret per name under a prefix ending in `/`
 * (`pushsync/clusters/prod`, `pushsync/kubeconfigs/prod`, `pushsync/github/token`, …), the same
 * names the file store uses.
 *
 * Values are cached per instance for a short TTL: a warm Lambda container serves a burst of
 * deliveries without a GetSecretValue each, and a rotated secret is picked up within the TTL.
 * Only values are cached, never listings: a newly registered cluster is seen by the next push.
 *
 * getMany reads many names with BatchGetSecretValue, 20 a call (Secrets Manager's most), several
 * calls at once: a fleet's 1,000 registrations are 50 batch calls beside the 10 listing pages,
 * not 1,000 GetSecretValue round trips. It needs `secretsmanager:BatchGetSecretValue` (a
 * `Resource: "*"` action) beside GetSecretValue on each secret; a role without it falls back to
 * one GetSecretValue per name.
 *
 * Deleting schedules the secret for deletion with the shortest recovery window Secrets Manager
 * allows (7 days), so a mistaken `pushsync clusters remove` can be undone from the console or
 * with `aws secretsmanager restore-secret`. A `put` on a name scheduled for deletion restores it
 * first, so removing and re-registering a cluster works at once.
 */
import type * as SecretsManager from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { checkSecretName, SecretStoreCodes, SecretStoreError } from './secret-store.ts';
import type { SecretStore } from './secret-store.ts';

export const AWS_STORE_DEFAULTS = {
  prefix: 'pushsync/',
  /** BatchGetSecretValue's most names per call. */
  batchSize: 20,
  /** Batch (or single) reads in flight at once. */
  readConcurrency: 8,
  cacheTtlMs: 60_000,
  /** Secrets Manager's minimum; 0 would delete at once, with no way back. */
  recoveryWindowDays: 7,
} as const;

export interface AwsSecretStoreOptions {
  /** Prepended to every name (default "pushsync/"; must end with "/"); the IAM policies are scoped to it. */
  readonly prefix?: string;
  /** A ready client (tests, or a shared one); otherwise one is made from region/endpoint. */
  readonly client?: SecretsManagerClient;
  /** Default: the SDK's (AWS_REGION, the profile). */
  readonly region?: string;
  /** Default: the SDK's (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL, else AWS). */
  readonly endpoint?: string;
  /** How long a value read is reused (default 60 s; 0 = always read). */
  readonly cacheTtlMs?: number;
  /** 7–30 days (default 7). */
  readonly recoveryWindowDays?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

type Sdk = typeof SecretsManager;
let sdk: Promise<Sdk> | undefined;
/**
 * The SDK takes ~100 ms to load: only a process that uses this store pays for it, not every
 * importer of lib/registry (the CLI, the local server).
 */
const loadSdk = (): Promise<Sdk> => (sdk ??= import('@aws-sdk/client-secrets-manager'));

/** Characters Secrets Manager allows in a secret name. */
const PREFIX = /^[A-Za-z0-9/_+=.@-]*$/;

/**
 * Whether `prefix` can start pushsync's Secrets Manager names: Secrets Manager's characters and
 * a trailing `/`. Without the `/`, "pushsync" would also cover "pushsync-staging/…": the IAM
 * policies (`<prefix>clusters/*`) and the ListSecrets filter would reach another deployment's
 * secrets; and "" would be the whole account.
 */
export function isSecretPrefix(prefix: string): boolean {
  return prefixProblem(prefix) === undefined;
}

/** Why `prefix` is refused, for the messages of the store and of the function environment. */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix.length > 128 || !PREFIX.test(prefix)) return 'use letters, digits and / _ + = . @ - (at most 128 characters)';
  if (!prefix.endsWith('/') || prefix.startsWith('/') || prefix.includes('//')) return 'it must end with "/" (e.g. "pushsync/" or "acme/pushsync/"), and not start with "/" or contain "//", so it names one folder of secrets';
  return undefined;
}

interface Cached {
  readonly at: number;
  readonly value: Promise<string | undefined>;
}

export class AwsSecretStore implements SecretStore {
  readonly prefix: string;
  /** For messages: where the secrets are. */
  readonly location: string;
  private readonly clientOptions: { readonly region?: string; readonly endpoint?: string };
  private connection: Promise<{ readonly client: SecretsManagerClient; readonly sdk: Sdk }> | undefined;
  private readonly ttlMs: number;
  private readonly recoveryWindowDays: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly cache = new Map<string, Cached>();

  constructor(options: AwsSecretStoreOptions = {}) {
    const prefix = options.prefix ?? AWS_STORE_DEFAULTS.prefix;
    const problem = prefixProblem(prefix);
    if (problem !== undefined) throw new SecretStoreError(SecretStoreCodes.badName, `invalid secret prefix ${JSON.stringify(prefix)}: ${problem}`);
    const ttlMs = options.cacheTtlMs ?? AWS_STORE_DEFAULTS.cacheTtlMs;
    if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new RangeError(`cacheTtlMs must be a non-negative number, got ${ttlMs}`);
    const days = options.recoveryWindowDays ?? AWS_STORE_DEFAULTS.recoveryWindowDays;
    if (!Number.isInteger(days) || days < 7 || days > 30) throw new RangeError(`recoveryWindowDays must be an integer from 7 to 30, got ${days}`);
    this.prefix = prefix;
    this.ttlMs = ttlMs;
    this.recoveryWindowDays = days;
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.clientOptions = { ...(options.region ? { region: options.region } : {}), ...(options.endpoint ? { endpoint: options.endpoint } : {}) };
    if (options.client) {
      const client = options.client;
      this.connection = loadSdk().then((loaded) => ({ client, sdk: loaded }));
      // Surfaces on first use, not as an unhandled rejection now.
      this.connection.catch(() => undefined);
    }
    const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    this.location = `AWS Secrets Manager${region ? ` (${region})` : ''}, names under ${JSON.stringify(prefix)}`;
  }

  /** The client, made on first use. */
  private connect(): Promise<{ readonly client: SecretsManagerClient; readonly sdk: Sdk }> {
    this.connection ??= loadSdk().then((loaded) => ({ client: new loaded.SecretsManagerClient(this.clientOptions), sdk: loaded }));
    return this.connection;
  }

  private id(name: string): string {
    checkSecretName(name);
    return `${this.prefix}${name}`;
  }

  async get(name: string): Promise<string | undefined> {
    const id = this.id(name);
    const hit = this.cache.get(name);
    if (hit !== undefined && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.read(id);
    const entry: Cached = { at: this.now(), value };
    if (this.ttlMs > 0) this.cache.set(name, entry);
    // A failed read is not cached: the next call tries again.
    value.catch(() => {
      if (this.cache.get(name) === entry) this.cache.delete(name);
    });
    return value;
  }

  /**
   * The values of `names` (undefined where there is none), from the cache where fresh, the rest
   * with BatchGetSecretValue, 20 names a call, a few calls at once. Values read fill the cache.
   */
  async getMany(names: readonly string[]): Promise<Map<string, string | undefined>> {
    const out = new Map<string, string | undefined>();
    const missing: string[] = [];
    for (const name of names) {
      const hit = this.cache.get(name);
      if (hit !== undefined && this.now() - hit.at < this.ttlMs) out.set(name, await hit.value);
      else missing.push(name);
    }
    const batches: string[][] = [];
    for (let i = 0; i < missing.length; i += AWS_STORE_DEFAULTS.batchSize) batches.push(missing.slice(i, i + AWS_STORE_DEFAULTS.batchSize));
    await inParallel(batches, AWS_STORE_DEFAULTS.readConcurrency, async (batch) => {
      for (const [name, value] of await this.readBatch(batch)) {
        out.set(name, value);
        if (this.ttlMs > 0) this.cache.set(name, { at: this.now(), value: Promise.resolve(value) });
      }
    });
    return out;
  }

  /** True once BatchGetSecretValue was refused (no IAM permission): single reads from then on. */
  private batchRefused = false;

  private async readBatch(names: readonly string[]): Promise<Map<string, string | undefined>> {
    const out = new Map<string, string | undefined>();
    const single = async () => {
      for (const name of names) out.set(name, await this.read(this.id(name)));
      return out;
    };
    if (this.batchRefused) return single();
    const { client, sdk } = await this.connect();
    const byId = new Map(names.map((name) => [this.id(name), name]));
    let res;
    try {
      res = await client.send(new sdk.BatchGetSecretValueCommand({ SecretIdList: [...byId.keys()] }));
    } catch (err) {
      if (isAwsError(err, 'AccessDeniedException')) {
        this.batchRefused = true;
        this.log.warn('BatchGetSecretValue refused: reading secrets one at a time (grant secretsmanager:BatchGetSecretValue for fast listings)', { error: err instanceof Error ? err.message : String(err) });
        return single();
      }
      throw awsError('BatchGetSecretValue', `${names.length} secrets under ${this.prefix}`, err);
    }
    // An endpoint without the action (an older emulator, a stub) answers nothing: read alone.
    if (res === undefined || res === null) {
      this.batchRefused = true;
      return single();
    }
    for (const v of res.SecretValues ?? []) {
      const name = v.Name === undefined ? undefined : byId.get(v.Name);
      if (name === undefined) continue;
      out.set(name, v.SecretString ?? (v.SecretBinary !== undefined ? Buffer.from(v.SecretBinary).toString('utf8') : undefined));
    }
    for (const e of res.Errors ?? []) {
      const name = e.SecretId === undefined ? undefined : (byId.get(e.SecretId) ?? [...byId].find(([id]) => e.SecretId?.includes(id))?.[1]);
      if (name === undefined) continue;
      // Gone, or scheduled for deletion: not there, as for get().
      if (e.ErrorCode === 'ResourceNotFoundException' || e.ErrorCode === 'InvalidRequestException') out.set(name, undefined);
      else throw awsError('BatchGetSecretValue', this.id(name), Object.assign(new Error(e.Message ?? e.ErrorCode ?? 'failed'), { name: e.ErrorCode }));
    }
    // Names the answer did not mention at all: read alone (never guessed absent).
    for (const name of names) if (!out.has(name)) out.set(name, await this.read(this.id(name)));
    return out;
  }

  private async read(id: string): Promise<string | undefined> {
    const { client, sdk } = await this.connect();
    try {
      const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: id }));
      if (out.SecretString !== undefined) return out.SecretString;
      if (out.SecretBinary !== undefined) return Buffer.from(out.SecretBinary).toString('utf8');
      return undefined;
    } catch (err) {
      // InvalidRequestException here means "scheduled for deletion": removed, as far as we care.
      if (isAwsError(err, 'ResourceNotFoundException') || isAwsError(err, 'InvalidRequestException')) return undefined;
      throw awsError('GetSecretValue', id, err);
    }
  }

  async put(name: string, value: string): Promise<void> {
    const id = this.id(name);
    this.cache.delete(name);
    const { client, sdk } = await this.connect();
    try {
      await client.send(new sdk.CreateSecretCommand({ Name: id, SecretString: value, Description: `pushsync ${name}` }));
      this.log.debug('secret created', { name: id });
    } catch (err) {
      // Exists, or (InvalidRequestException) exists but is scheduled for deletion.
      if (!isAwsError(err, 'ResourceExistsException') && !isAwsError(err, 'InvalidRequestException')) throw awsError('CreateSecret', id, err);
      await this.restoreIfDeleted(id);
      await this.call('PutSecretValue', id, () => client.send(new sdk.PutSecretValueCommand({ SecretId: id, SecretString: value })));
      this.log.debug('secret updated', { name: id });
    }
    if (this.ttlMs > 0) this.cache.set(name, { at: this.now(), value: Promise.resolve(value) });
  }

  /** A name in its recovery window refuses new values: restore it, so remove + register works at once. */
  private async restoreIfDeleted(id: string): Promise<void> {
    const { client, sdk } = await this.connect();
    const described = await this.call('DescribeSecret', id, () => client.send(new sdk.DescribeSecretCommand({ SecretId: id })));
    if (described.DeletedDate === undefined) return;
    await this.call('RestoreSecret', id, () => client.send(new sdk.RestoreSecretCommand({ SecretId: id })));
    this.log.info('the secret was scheduled for deletion; restored it to write the new value', { name: id });
  }

  /** One request; its failure as a SecretStoreError naming the operation and the secret. */
  private async call<T>(operation: string, id: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw awsError(operation, id, err);
    }
  }

  async delete(name: string): Promise<boolean> {
    const id = this.id(name);
    this.cache.delete(name);
    const { client, sdk } = await this.connect();
    try {
      await client.send(new sdk.DeleteSecretCommand({ SecretId: id, RecoveryWindowInDays: this.recoveryWindowDays }));
      this.log.debug('secret scheduled for deletion', { name: id, recoveryWindowDays: this.recoveryWindowDays });
      return true;
    } catch (err) {
      // Not found, or already scheduled for deletion: nothing (more) to delete.
      if (isAwsError(err, 'ResourceNotFoundException') || isAwsError(err, 'InvalidRequestException')) return false;
      throw awsError('DeleteSecret', id, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const full = `${this.prefix}${prefix}`;
    if (!PREFIX.test(full)) return [];
    const names = new Set<string>();
    const { client, sdk } = await this.connect();
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(
          new sdk.ListSecretsCommand({
            // The name filter is a case-sensitive prefix match; checked again below all the same.
            ...(full === '' ? {} : { Filters: [{ Key: 'name', Values: [full] }] }),
            MaxResults: 100,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        );
      } catch (err) {
        throw awsError('ListSecrets', `${full}*`, err);
      }
      for (const secret of page.SecretList ?? []) {
        const id = secret.Name;
        if (id === undefined || !id.startsWith(full)) continue;
        const name = id.slice(this.prefix.length);
        // Secrets someone else put under the prefix, with names pushsync cannot address.
        if (isStoreName(name)) names.add(name);
      }
      token = page.NextToken;
    } while (token !== undefined && token !== '');
    return [...names].sort();
  }
}

/** `fn` over every item, at most `limit` at once; the first failure rejects (after the others settle). */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function isStoreName(name: string): boolean {
  try {
    checkSecretName(name);
    return true;
  } catch {
    return false;
  }
}

function isAwsError(err: unknown, name: string): boolean {
  return (err as { name?: unknown } | null)?.name === name;
}

/** The AWS error's name and message (never a value: Secrets Manager does not echo them). */
function awsError(operation: string, id: string, err: unknown): SecretStoreError {
  const name = (err as { name?: unknown } | null)?.name;
  const message = err instanceof Error ? err.message : String(err);
  const hint = name === 'AccessDeniedException' ? ' (the caller\'s IAM policy must allow this action on the secret)' : '';
  return new SecretStoreError(SecretStoreCodes.io, `Secrets Manager ${operation} on ${JSON.stringify(id)} failed: ${typeof name === 'string' ? `${name}: ` : ''}${message}${hint}`, isTransient(err));
}

/**
 * The SDK marks what its own retries treat as transient: `$retryable` (throttling, clock skew),
 * `$fault: 'server'` (a 5xx such as InternalServiceError). A socket failure carries an errno
 * code. Anything else (AccessDenied, a deleted secret) fails the same way next time.
 */
function isTransient(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { $retryable?: unknown; $fault?: unknown; name?: unknown; code?: unknown };
  if (e.$retryable !== undefined || e.$fault === 'server') return true;
  if (e.name === 'ThrottlingException' || e.name === 'TimeoutError') return true;
  return typeof e.code === 'string' && /^(ECONNRESET|ETIMEDOUT|ECONNREFUSED|EPIPE|EAI_AGAIN|ENOTFOUND)$/.test(e.code);
}
