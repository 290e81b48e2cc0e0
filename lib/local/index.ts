/**
 * The embedded mode (design.md "Running: locally"): the functions on one machine.
 *
 *   wireLocal({store, logger, githubBaseUrl?, …})  → {webhook, invoker, deps}: the product, in-process
 *   startLocalServer({webhook, host, port, …})     → POST /webhook + GET /healthz on node:http
 *   serveConfig(flags, env)                        → ServeConfig | problems (PORT, PUSHSYNC_HOME, PUSHSYNC_GITHUB_URL, …)
 *   startServe({config, logSink?, say?})           → all of the above + first-run hints + graceful shutdown
 */
export { wireLocal, LOCAL_DEFAULTS } from './wire.ts';
export type { WireOptions, Wired } from './wire.ts';
export { startLocalServer, LocalServerError, LocalServerCodes, WEBHOOK_PATH, HEALTH_PATH } from './server.ts';
export type { LocalServer, LocalServerOptions } from './server.ts';
export { serveConfig, absoluteHome, SERVE_DEFAULTS, GITHUB_URL_ENV, CONCURRENCY_ENV, JOB_TIMEOUT_ENV } from './config.ts';
export type { ServeConfig, ServeFlags, ConfigProblem } from './config.ts';
export { readSetup, missingSteps, setupHints, readySummary, cliPrefix } from './setup.ts';
export type { SetupState, SetupStep, HintContext } from './setup.ts';
export { refuseWithoutSecret } from './unconfigured.ts';
export { startServe } from './serve.ts';
export type { StartServeOptions, RunningServe, ShutdownResult } from './serve.ts';
