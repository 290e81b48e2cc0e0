/**
 * Wiring for the functions deployed on AWS Lambda, from their environment.
 *
 *   readFunctionConfig(env, invokes)  → FunctionConfig | EnvConfigError naming the variable
 *   webhookDepsFromEnv(env)           → {secrets, invoker, logger} for createLambdaWebhook
 *   syncDepsFromEnv(fn, env)          → {deps: SyncDeps, settle} for sync, apply, resync
 *   functionFromEnv(fn, create)       → the Lambda entry of sync, apply or resync
 *   invocationContext(fn, context)    → the InvocationContext (deadline) from Lambda's context
 *
 * functions/webhook.ts imports env.ts directly: this index also reaches the sync engine,
 * which the webhook's bundle must not carry.
 */
export { ENV, FUNCTION_ENV, ENV_INVALID, EnvConfigError, readFunctionConfig, storeFromConfig, lambdaInvokerFromConfig, webhookDepsFromEnv } from './env.ts';
export type { Env, FunctionConfig, StoreConfig, InvokerConfig, WebhookEnvDeps } from './env.ts';
export { syncDepsFromEnv, functionFromEnv } from './sync-deps.ts';
export type { SyncEnvDeps } from './sync-deps.ts';
export { invocationContext, isLambdaContext, DEFAULT_JOB_TIMEOUT_MS } from './invocation.ts';
export type { LambdaContext } from './invocation.ts';
