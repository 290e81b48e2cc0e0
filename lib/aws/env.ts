/**
 * What a function deployed on Lambda learns from its environment (serverless.yml sets it):
 * which secret store, which fan-out, the Lambda function names it invokes, the GitHub API URL.
 * Read and checked once per warm container; a bad value stops the cold start with a message
 * naming the variable, instead of failing later inside a job.
 *
 *   PUSHSYNC_STORE                 aws (default) | file ($PUSHSYNC_HOME, default ./.pushsync)
 *   PUSHSYNC_SECRET_PREFIX         secret names prefix in Secrets Manager, ending in "/" (default pushsync/)
 *   PUSHSYNC_SECRET_CACHE_SECONDS  how long a secret read is reused (default 60; not the webhook's,
 *                                  which caches its secret itself, re-reading it on a bad signature)
 *   PUSHSYNC_INVOKER               lambda (default) | in-process (sync, apply, resync, health only)
 *   PUSHSYNC_SYNC_FUNCTION         the Lambda function behind `sync` (the webhook invokes it)
 *   PUSHSYNC_APPLY_FUNCTION        the Lambda function behind `apply` (sync and resync invoke it)
 *   PUSHSYNC_HEALTH_QUEUE_URL      the SQS queue behind `health` (apply and health schedule checks on it)
 *   PUSHSYNC_HEALTH_INTERVAL       seconds between a rollout's health checks, 1-900 (optional; the jobs' default)
 *   PUSHSYNC_GITHUB_URL            GitHub API base URL (GitHub Enterprise; default api.github.com)
 *   PUSHSYNC_TARGET_URL            link shown on every commit status (optional)
 * and the AWS SDK's own: AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_SQS.
 */
import type { FunctionName, Invoker } from '../fanout/index.ts';
import { createLambdaInvoker } from '../fanout/index.ts';
import { createLogger } from '../log.ts';
import type { Logger } from '../log.ts';
import { AwsSecretStore, AWS_STORE_DEFAULTS, DEFAULT_HOME, FileSecretStore, HOME_ENV, prefixProblem } from '../registry/index.ts';
import type { SecretStore } from '../registry/index.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export const ENV = {
  store: 'PUSHSYNC_STORE',
  secretPrefix: 'PUSHSYNC_SECRET_PREFIX',
  secretCacheSeconds: 'PUSHSYNC_SECRET_CACHE_SECONDS',
  invoker: 'PUSHSYNC_INVOKER',
  syncFunction: 'PUSHSYNC_SYNC_FUNCTION',
  applyFunction: 'PUSHSYNC_APPLY_FUNCTION',
  healthQueueUrl: 'PUSHSYNC_HEALTH_QUEUE_URL',
  healthInterval: 'PUSHSYNC_HEALTH_INTERVAL',
  githubUrl: 'PUSHSYNC_GITHUB_URL',
  targetUrl: 'PUSHSYNC_TARGET_URL',
} as const;

/**
 * How each pushsync function is reached on AWS, and the variable naming its target: sync and
 * apply are Lambda Event invokes; health goes through an SQS queue, the one backend that can
 * hold an invocation back (DelaySeconds) while nothing runs.
 */
export const FUNCTION_TARGET: Readonly<Record<FunctionName, { readonly via: 'lambda' | 'sqs'; readonly variable: string }>> = {
  sync: { via: 'lambda', variable: ENV.syncFunction },
  apply: { via: 'lambda', variable: ENV.applyFunction },
  health: { via: 'sqs', variable: ENV.healthQueueUrl },
};

/** The variable naming the target (Lambda function or SQS queue) behind each invocable pushsync function. */
export const FUNCTION_ENV: Readonly<Record<FunctionName, string>> = {
  sync: FUNCTION_TARGET.sync.variable,
  apply: FUNCTION_TARGET.apply.variable,
  health: FUNCTION_TARGET.health.variable,
};

/** PUSHSYNC_HEALTH_INTERVAL's bounds, in seconds: SQS delays a message by at most 900. */
export const HEALTH_INTERVAL_SECONDS = { min: 1, max: 900 } as const;

export const ENV_INVALID = 'AWS_ENV_INVALID';

export class EnvConfigError extends Error {
  readonly code = ENV_INVALID;
  constructor(
    /** The environment variable at fault. */
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'EnvConfigError';
  }
}

export type StoreConfig =
  | { readonly kind: 'aws'; readonly prefix: string; readonly cacheTtlMs: number }
  | { readonly kind: 'file'; readonly home: string };

export type InvokerConfig =
  | {
      readonly kind: 'lambda';
      /** The Lambda function behind each function invoked by an Event invoke. */
      readonly functions: Partial<Record<FunctionName, string>>;
      /** The SQS queue URL behind each function fed by a queue (health); present when one is. */
      readonly queues?: Partial<Record<FunctionName, string>>;
    }
  | { readonly kind: 'in-process' };

export interface FunctionConfig {
  readonly store: StoreConfig;
  readonly invoker: InvokerConfig;
  readonly githubBaseUrl?: string;
  readonly targetUrl?: string;
  /** PUSHSYNC_HEALTH_INTERVAL in ms; absent = the jobs' own default. */
  readonly healthIntervalMs?: number;
}

/**
 * The configuration of a function that invokes `invokes` (webhook: sync; sync and resync:
 * apply; apply and health: health). Unset and empty are the same: serverless params default to "".
 */
export function readFunctionConfig(env: Env, invokes: readonly FunctionName[]): FunctionConfig {
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const store = readStore(value);
  const invokerKind = oneOf(ENV.invoker, value(ENV.invoker), ['lambda', 'in-process'] as const) ?? 'lambda';
  let invoker: InvokerConfig;
  if (invokerKind === 'in-process') invoker = { kind: 'in-process' };
  else {
    const functions: Partial<Record<FunctionName, string>> = {};
    const queues: Partial<Record<FunctionName, string>> = {};
    for (const fn of invokes) {
      const { via, variable } = FUNCTION_TARGET[fn];
      const target = value(variable);
      if (via === 'sqs') {
        if (target === undefined) throw new EnvConfigError(variable, `${variable} is not set: it is the URL of the SQS queue that runs "${fn}" (serverless.yml sets it)`);
        queues[fn] = url(variable, target) as string;
        continue;
      }
      if (target === undefined) throw new EnvConfigError(variable, `${variable} is not set: it names the Lambda function that runs "${fn}" (serverless.yml sets it)`);
      if (!/^[A-Za-z0-9:_.$-]{1,170}$/.test(target)) throw new EnvConfigError(variable, `${variable}=${JSON.stringify(target)} is not a Lambda function name or ARN`);
      functions[fn] = target;
    }
    invoker = { kind: 'lambda', functions, ...(Object.keys(queues).length > 0 ? { queues } : {}) };
  }
  const githubBaseUrl = url(ENV.githubUrl, value(ENV.githubUrl));
  const targetUrl = url(ENV.targetUrl, value(ENV.targetUrl));
  const healthIntervalMs = healthInterval(value(ENV.healthInterval));
  return {
    store,
    invoker,
    ...(githubBaseUrl ? { githubBaseUrl } : {}),
    ...(targetUrl ? { targetUrl } : {}),
    ...(healthIntervalMs !== undefined ? { healthIntervalMs } : {}),
  };
}

function healthInterval(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const { min, max } = HEALTH_INTERVAL_SECONDS;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new EnvConfigError(ENV.healthInterval, `${ENV.healthInterval}=${JSON.stringify(v)} is not a whole number of seconds from ${min} to ${max} (SQS delays a message by at most ${max} s)`);
  }
  return Number(v) * 1000;
}

function readStore(value: (name: string) => string | undefined): StoreConfig {
  const kind = oneOf(ENV.store, value(ENV.store), ['aws', 'file'] as const) ?? 'aws';
  if (kind === 'file') return { kind: 'file', home: value(HOME_ENV) ?? DEFAULT_HOME };
  const prefix = value(ENV.secretPrefix) ?? AWS_STORE_DEFAULTS.prefix;
  const problem = prefixProblem(prefix);
  if (problem !== undefined) throw new EnvConfigError(ENV.secretPrefix, `${ENV.secretPrefix}=${JSON.stringify(prefix)} is not a valid secret name prefix: ${problem}`);
  const seconds = value(ENV.secretCacheSeconds);
  let cacheTtlMs: number = AWS_STORE_DEFAULTS.cacheTtlMs;
  if (seconds !== undefined) {
    const n = Number(seconds);
    if (!/^\d+(\.\d+)?$/.test(seconds) || !Number.isFinite(n)) {
      throw new EnvConfigError(ENV.secretCacheSeconds, `${ENV.secretCacheSeconds}=${JSON.stringify(seconds)} is not a number of seconds`);
    }
    cacheTtlMs = n * 1000;
  }
  return { kind: 'aws', prefix, cacheTtlMs };
}

function oneOf<T extends string>(variable: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new EnvConfigError(variable, `${variable}=${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
}

function url(variable: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new EnvConfigError(variable, `${variable}=${JSON.stringify(v)} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new EnvConfigError(variable, `${variable}=${JSON.stringify(v)} must be an http(s) URL`);
  return v.replace(/\/+$/, '');
}

export function storeFromConfig(config: StoreConfig, logger?: Logger): SecretStore {
  if (config.kind === 'file') return new FileSecretStore(config.home);
  return new AwsSecretStore({ prefix: config.prefix, cacheTtlMs: config.cacheTtlMs, ...(logger ? { logger } : {}) });
}

/**
 * The Lambda invoker (the webhook's); the one that also reaches queues is built in
 * lib/aws/sync-deps.ts, and the in-process one where the handlers are, there too.
 */
export function lambdaInvokerFromConfig(config: Extract<InvokerConfig, { kind: 'lambda' }>, logger?: Logger): Invoker {
  return createLambdaInvoker({ functions: config.functions, ...(logger ? { logger } : {}) });
}

/** What functions/webhook.ts's createLambdaWebhook needs. */
export interface WebhookEnvDeps {
  readonly secrets: SecretStore;
  readonly invoker: Invoker;
  readonly logger: Logger;
}

export function webhookDepsFromEnv(env: Env = process.env): WebhookEnvDeps {
  const config = readFunctionConfig(env, ['sync']);
  if (config.invoker.kind !== 'lambda') {
    throw new EnvConfigError(ENV.invoker, `${ENV.invoker}=in-process is not supported by the webhook function: it must answer GitHub within 10 s, so the sync runs in its own Lambda function; use lambda`);
  }
  const logger = createLogger({ fields: { function: 'webhook' }, env });
  // The webhook caches its secrets itself and re-reads them when a signature fails (a rotation):
  // a second cache underneath would only delay that re-read.
  const store = config.store.kind === 'aws' ? { ...config.store, cacheTtlMs: 0 } : config.store;
  return { secrets: storeFromConfig(store, logger), invoker: lambdaInvokerFromConfig(config.invoker, logger), logger };
}
