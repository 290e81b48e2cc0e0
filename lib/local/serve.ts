/**
 * The embedded mode in one call: the file SecretStore, the product wired in-process, the HTTP
 * server, the first-run guidance, and a graceful shutdown. `pushsync serve` and the demo
 * both start it; only where its output goes differs.
 */
import { createLogger, type Logger, type LogLevel } from '../log.ts';
import { FileSecretStore } from '../registry/index.ts';
import type { InProcessStats } from '../fanout/index.ts';
import { absoluteHome, type ServeConfig } from './config.ts';
import { startLocalServer, WEBHOOK_PATH, HEALTH_PATH, type LocalServer } from './server.ts';
import { cliPrefix, missingSteps, readSetup, readySummary, setupHints, type SetupState } from './setup.ts';
import { refuseWithoutSecret } from './unconfigured.ts';
import { wireLocal, type Wired } from './wire.ts';

export interface StartServeOptions {
  readonly config: ServeConfig;
  /** Receives each JSON log line (default: stdout). */
  readonly logSink?: (line: string) => void;
  readonly logLevel?: LogLevel;
  /** Human messages: where the server listens, what setup is left (default: stderr). */
  readonly say?: (text: string) => void;
  /** GitHub write spacing; default the client's (1 s, GitHub's advice). */
  readonly writeSpacingMs?: number;
}

export interface RunningServe {
  readonly url: string;
  readonly webhookUrl: string;
  readonly store: FileSecretStore;
  readonly wired: Wired;
  readonly logger: Logger;
  /** The setup as read at start. */
  readonly setup: SetupState;
  /** Stop accepting, wait for running jobs up to the configured bound. Safe to call twice. */
  shutdown(reason: string): Promise<ShutdownResult>;
}

export interface ShutdownResult {
  /** True when every request was answered and every job finished within the bound. */
  readonly drained: boolean;
  readonly jobs: InProcessStats;
  readonly durationMs: number;
}

/** Re-read the webhook secret after a refused delivery at most this often (a local file read is cheap). */
const SECRET_REFRESH_MS = 5_000;

export async function startServe(options: StartServeOptions): Promise<RunningServe> {
  const { config } = options;
  const say = options.say ?? ((text: string) => void process.stderr.write(text));
  const logger = createLogger({ fields: { service: 'pushsync' }, ...(options.logSink ? { sink: options.logSink } : {}), ...(options.logLevel ? { level: options.logLevel } : {}) });
  const store = new FileSecretStore(config.home);
  const home = absoluteHome(config);
  const cli = cliPrefix(config.homeEnv);

  const wired = wireLocal({
    store,
    logger,
    concurrency: config.concurrency,
    jobTimeoutMs: config.jobTimeoutMs,
    secretCache: { minRefreshMs: SECRET_REFRESH_MS },
    ...(config.githubBaseUrl ? { githubBaseUrl: config.githubBaseUrl } : {}),
    ...(options.writeSpacingMs !== undefined ? { writeSpacingMs: options.writeSpacingMs } : {}),
  });
  const server: LocalServer = await startLocalServer({
    webhook: refuseWithoutSecret(wired.webhook, `${cli} secrets set webhook-secret --from-file webhook-secret.txt`),
    host: config.host,
    port: config.port,
    logger,
    health: () => ({ jobs: wired.invoker.stats() }),
  });

  const loopbackOnly = isLoopback(server.host);
  const unspecified = server.host === '0.0.0.0' || server.host === '::';
  const webhookUrl = unspecified ? `http://<this machine's address>:${server.port}${WEBHOOK_PATH}` : `${server.url}${WEBHOOK_PATH}`;
  const setup = await readSetup(store);
  const missing = missingSteps(setup);
  logger.info('serving', {
    url: server.url,
    webhook: `${server.url}${WEBHOOK_PATH}`,
    home,
    github: config.githubBaseUrl ?? 'https://api.github.com',
    concurrency: config.concurrency,
    clusters: setup.clusters.map((c) => c.name),
  });
  if (missing.length > 0) logger.warn('setup incomplete', { missing });
  say(`pushsync is listening on ${server.url}: webhook POST ${server.url}${WEBHOOK_PATH}, health GET ${server.url}${HEALTH_PATH}. Ctrl-C stops it.\n`);
  say(missing.length > 0 ? `\n${setupHints(setup, { webhookUrl, home, ...(config.homeEnv !== undefined ? { homeEnv: config.homeEnv } : {}), loopbackOnly })}` : readySummary(setup));

  let stopping: Promise<ShutdownResult> | undefined;
  const shutdown = (reason: string): Promise<ShutdownResult> => {
    stopping ??= (async () => {
      const started = Date.now();
      const deadline = started + config.shutdownTimeoutMs;
      const before = wired.invoker.stats();
      logger.info('shutting down: accepting no more deliveries, waiting for running jobs', {
        reason,
        jobs: before.running + before.queued + before.waitingRetry,
        timeoutMs: config.shutdownTimeoutMs,
      });
      const answered = await server.close(config.shutdownTimeoutMs);
      // Follow-up health checks wait on timers for minutes: not work to drain. Their rollouts'
      // statuses stay pending until the next push to that cluster (said in the log).
      const unfollowed = wired.invoker.cancelDelayed();
      if (unfollowed > 0) logger.warn('shutting down: rollouts no longer followed; their statuses stay pending until the next push', { healthChecks: unfollowed });
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        wired.invoker.idle().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      const jobs = wired.invoker.stats();
      const durationMs = Date.now() - started;
      if (answered && finished) {
        logger.info('stopped', { durationMs });
      } else {
        logger.error('shutdown timed out: unfinished jobs abandoned; redeliver their webhooks (or wait for resync) to run them again', {
          durationMs,
          running: jobs.running,
          queued: jobs.queued,
          waitingRetry: jobs.waitingRetry,
        });
      }
      return { drained: answered && finished, jobs, durationMs };
    })();
    return stopping;
  };

  return { url: server.url, webhookUrl, store, wired, logger, setup, shutdown };
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.') || host === 'localhost' || host.startsWith('::ffff:127.');
}
