/**
 * The local server's settings, from flags (first) and the environment, checked in one place.
 * Problems come back as values naming the flag or variable and the value given.
 */
import path from 'node:path';
import { DEFAULT_HOME, HOME_ENV } from '../registry/index.ts';
import { LOCAL_DEFAULTS } from './wire.ts';

export interface ServeConfig {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  /** The pushsync home as given (relative paths resolve against the working directory). */
  readonly home: string;
  /** The PUSHSYNC_HOME value when it was set, so printed commands write the same store. */
  readonly homeEnv: string | undefined;
  /** GitHub's API root; undefined = api.github.com. */
  readonly githubBaseUrl: string | undefined;
  readonly concurrency: number;
  /** How long one job may run (Lambda's function timeout, locally): apply stops cleanly before it and is retried. */
  readonly jobTimeoutMs: number;
  /** How long a shutdown waits for running jobs. */
  readonly shutdownTimeoutMs: number;
}

export interface ServeFlags {
  readonly host?: string | undefined;
  readonly port?: string | undefined;
  readonly concurrency?: string | undefined;
  /** Seconds. */
  readonly jobTimeout?: string | undefined;
  /** Seconds. */
  readonly shutdownTimeout?: string | undefined;
}

export interface ConfigProblem {
  readonly code: 'LOCAL_CONFIG_INVALID';
  /** `--port` or `PORT`: where the value came from. */
  readonly field: string;
  readonly value: string;
  readonly message: string;
}

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  shutdownTimeoutSeconds: 30,
  /** As long as the longest Lambda timeout: a big first apply to a far cluster fits. */
  jobTimeoutSeconds: 900,
} as const;

export const GITHUB_URL_ENV = 'PUSHSYNC_GITHUB_URL';
export const CONCURRENCY_ENV = 'PUSHSYNC_CONCURRENCY';
export const JOB_TIMEOUT_ENV = 'PUSHSYNC_JOB_TIMEOUT';

type Env = Readonly<Record<string, string | undefined>>;

export function serveConfig(flags: ServeFlags, env: Env): { ok: true; config: ServeConfig } | { ok: false; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const problem = (field: string, value: string, message: string): void => void problems.push({ code: 'LOCAL_CONFIG_INVALID', field, value, message });
  const pick = (flag: string, flagValue: string | undefined, envName: string): { field: string; value: string } | undefined => {
    if (flagValue !== undefined) return { field: `--${flag}`, value: flagValue };
    const v = env[envName];
    return v === undefined || v.trim() === '' ? undefined : { field: envName, value: v.trim() };
  };

  const portIn = pick('port', flags.port, 'PORT');
  let port: number = SERVE_DEFAULTS.port;
  if (portIn !== undefined) {
    port = Number(portIn.value);
    if (!/^\d+$/.test(portIn.value) || port > 65_535) problem(portIn.field, portIn.value, `${portIn.field} must be a port number from 0 to 65535 (0 = any free port)`);
  }

  const host = flags.host ?? SERVE_DEFAULTS.host;
  if (host.trim() === '' || /[\s/]/.test(host)) problem('--host', host, '--host must be an address to listen on, e.g. 127.0.0.1 or 0.0.0.0');

  const concurrencyIn = pick('concurrency', flags.concurrency, CONCURRENCY_ENV);
  let concurrency: number = LOCAL_DEFAULTS.concurrency;
  if (concurrencyIn !== undefined) {
    concurrency = Number(concurrencyIn.value);
    if (!/^\d+$/.test(concurrencyIn.value) || concurrency < 1 || concurrency > 256) problem(concurrencyIn.field, concurrencyIn.value, `${concurrencyIn.field} must be a whole number of jobs from 1 to 256`);
  }

  // A job must keep the deadline's reporting margin (lib/sync's handlers take 15 s off it).
  const jobTimeoutIn = pick('job-timeout', flags.jobTimeout, JOB_TIMEOUT_ENV);
  let jobTimeoutMs: number = SERVE_DEFAULTS.jobTimeoutSeconds * 1000;
  if (jobTimeoutIn !== undefined) {
    const seconds = Number(jobTimeoutIn.value);
    if (!/^\d+$/.test(jobTimeoutIn.value) || seconds < 30 || seconds > 86_400) problem(jobTimeoutIn.field, jobTimeoutIn.value, `${jobTimeoutIn.field} must be a whole number of seconds from 30 to 86400`);
    jobTimeoutMs = seconds * 1000;
  }

  let shutdownTimeoutMs: number = SERVE_DEFAULTS.shutdownTimeoutSeconds * 1000;
  if (flags.shutdownTimeout !== undefined) {
    const seconds = Number(flags.shutdownTimeout);
    if (!/^\d+(\.\d+)?$/.test(flags.shutdownTimeout) || seconds > 3600) problem('--shutdown-timeout', flags.shutdownTimeout, '--shutdown-timeout must be a number of seconds from 0 to 3600');
    shutdownTimeoutMs = Math.round(seconds * 1000);
  }

  const urlIn = env[GITHUB_URL_ENV]?.trim();
  let githubBaseUrl: string | undefined;
  if (urlIn !== undefined && urlIn !== '') {
    let parsed: URL | undefined;
    try {
      parsed = new URL(urlIn);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      problem(GITHUB_URL_ENV, urlIn, `${GITHUB_URL_ENV} must be the http(s) URL of a GitHub REST API root, e.g. https://github.example.com/api/v3`);
    } else {
      githubBaseUrl = urlIn.replace(/\/+$/, '');
    }
  }

  const homeEnv = env[HOME_ENV] === undefined || env[HOME_ENV] === '' ? undefined : env[HOME_ENV];
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: { host, port, home: homeEnv ?? DEFAULT_HOME, homeEnv, githubBaseUrl, concurrency, jobTimeoutMs, shutdownTimeoutMs } };
}

/** The home as an absolute path, for messages. */
export function absoluteHome(config: Pick<ServeConfig, 'home'>): string {
  return path.resolve(config.home);
}
