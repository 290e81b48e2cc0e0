/**
 * `pushsync serve` (`npm start`): the embedded mode. JSON logs on stdout; what a person has to
 * read (where it listens, what setup is left) on stderr. SIGINT/SIGTERM stop it gracefully;
 * a second one stops it at once.
 */
import { parseArgs } from 'node:util';
import { GITHUB_URL_ENV, CONCURRENCY_ENV, JOB_TIMEOUT_ENV, LocalServerError, SERVE_DEFAULTS, serveConfig, startServe, type ConfigProblem } from '../../lib/local/index.ts';
import { LOCAL_DEFAULTS } from '../../lib/local/index.ts';
import { EXIT_FAILED, EXIT_OK, parseOrUsage, UsageError, type Command, type Io } from './common.ts';

const help = `Usage: pushsync serve [flags]

Run pushsync on this machine: an HTTP server that receives GitHub's push webhooks, vets each
pushed commit, applies it to every registered cluster that follows the branch, and reports
the result as commit statuses. The same functions as in AWS Lambda, with the fan-out
in-process and the secrets in the local store ($PUSHSYNC_HOME, default ./.pushsync).

Endpoints:
  POST /webhook              GitHub's webhook (content type application/json, signed)
  GET  /healthz              200 while serving, with job counters

On first run it says what is left to set up (webhook secret, GitHub token, a cluster, the
webhook on GitHub) and serves anyway. Logs are JSON lines on stdout; messages for you on stderr.
SIGINT (Ctrl-C) or SIGTERM: stop accepting deliveries, let running jobs finish (up to
--shutdown-timeout), exit 0; exit 1 if jobs had to be abandoned. A second signal exits at once.

Flags:
  --port <n>                 Port to listen on; 0 = any free port (default: $PORT, else ${SERVE_DEFAULTS.port})
  --host <address>           Address to listen on; 0.0.0.0 for every interface (default: "${SERVE_DEFAULTS.host}")
  --concurrency <n>          Jobs running at once (default: $${CONCURRENCY_ENV}, else ${LOCAL_DEFAULTS.concurrency})
  --job-timeout <s>          Seconds one sync or apply job may run before it stops cleanly and is
                             retried, like Lambda's timeout (default: $${JOB_TIMEOUT_ENV}, else ${SERVE_DEFAULTS.jobTimeoutSeconds})
  --shutdown-timeout <s>     Seconds a shutdown waits for running jobs (default: ${SERVE_DEFAULTS.shutdownTimeoutSeconds})
  -h, --help                 Show this help

Environment:
  PUSHSYNC_HOME              The secret store directory (default: ./.pushsync)
  ${GITHUB_URL_ENV}        GitHub's REST API root (default: https://api.github.com;
                             GitHub Enterprise: https://HOST/api/v3)
  PUSHSYNC_LOG_LEVEL         debug, info, warn or error (default: info)

Exit status: 0 stopped cleanly, 1 could not listen or jobs abandoned at shutdown, 2 usage error.

Examples:
  npm start
  pushsync serve --port 9000
  PUSHSYNC_HOME=/srv/pushsync pushsync serve --host 0.0.0.0 --port 8080
`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the webhook server locally (the embedded mode; `npm start`)',
  help,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseOrUsage('serve', () =>
      parseArgs({
        args: [...args],
        allowPositionals: true,
        options: {
          port: { type: 'string' },
          host: { type: 'string' },
          concurrency: { type: 'string' },
          'job-timeout': { type: 'string' },
          'shutdown-timeout': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help) {
      io.stdout(help);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got: ${positionals.join(' ')}`, 'serve');
    const parsed = serveConfig({ port: values.port, host: values.host, concurrency: values.concurrency, jobTimeout: values['job-timeout'], shutdownTimeout: values['shutdown-timeout'] }, process.env);
    if (!parsed.ok) throw new UsageError(parsed.problems.map(describeProblem).join('; '), 'serve');

    let running;
    try {
      running = await startServe({ config: parsed.config, logSink: (line) => io.stdout(`${line}\n`), say: io.stderr });
    } catch (err) {
      if (!(err instanceof LocalServerError)) throw err;
      io.stderr(`pushsync serve: ${err.message}\n`);
      return EXIT_FAILED;
    }

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    // The one-shot listeners are gone now: without these a second signal would be ignored.
    const now = (s: NodeJS.Signals): void => {
      io.stderr(`pushsync serve: ${s} again: exiting without waiting for running jobs\n`);
      process.exit(s === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', () => now('SIGINT'));
    process.once('SIGTERM', () => now('SIGTERM'));
    io.stderr(`pushsync serve: ${signal}: finishing running jobs (up to ${parsed.config.shutdownTimeoutMs / 1000} s; press Ctrl-C again to stop at once)\n`);
    const result = await running.shutdown(signal);
    io.stderr(result.drained ? 'pushsync serve: stopped\n' : 'pushsync serve: stopped with unfinished jobs (see the log)\n');
    // Idle keep-alive sockets of the HTTP clients must not keep a stopped server alive.
    setTimeout(() => process.exit(result.drained ? EXIT_OK : EXIT_FAILED), 2_000).unref();
    return result.drained ? EXIT_OK : EXIT_FAILED;
  },
};

function describeProblem(p: ConfigProblem): string {
  return `${p.message} (got ${JSON.stringify(p.value)})`;
}
