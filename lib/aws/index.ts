/**
 * Wiring for the functions deployed on AWS Lambda, from their environment.
 *
 *   readFunctionConfig(env, invokes)  → FunctionConfig | EnvConfigError naming the variable
 *   webhookDepsFromEnv(env)           → {secrets, invoker, logger} for createLambdaWebhook
 *   syncDepsFromEnv(fn, env)          → {deps: SyncDeps, settle} for sync, apply, resync, health
 *   functionFromEnv(fn, create)       → the Lambda entry of sync, apply, resync or health
 *   awsInvokerFromConfig(config)      → Lambda Event invokes and SQS queues, each function to its own
 *   invocationContext(fn, context)    → the InvocationContext (deadline) from Lambda's context
 *   parseSqsEvent(event), batchResponse(failed)  → an SQS event's payloads; the partial batch response
 *   runSqsBatch(event, {functionName, handler, lambda, logger, requeue})  → records one by one → the response
 *
 * functions/webhook.ts imports env.ts directly: this index also reaches the sync engine,
 * which the webhook's bundle must not carry.
 */
export { ENV, FUNCTION_ENV, FUNCTION_TARGET, HEALTH_INTERVAL_SECONDS, ENV_INVALID, EnvConfigError, readFunctionConfig, storeFromConfig, lambdaInvokerFromConfig, webhookDepsFromEnv } from './env.ts';
export type { Env, FunctionConfig, StoreConfig, InvokerConfig, WebhookEnvDeps } from './env.ts';
export { syncDepsFromEnv, functionFromEnv, awsInvokerFromConfig } from './sync-deps.ts';
export type { SyncEnvDeps, SyncFunction } from './sync-deps.ts';
export { parseSqsEvent, batchResponse, SqsEventError, SQS_EVENT_INVALID } from './sqs-event.ts';
export type { SqsEvent, SqsRecord, SqsMessage, SqsBatchResponse } from './sqs-event.ts';
export { runSqsBatch, SQS_BATCH_DEFAULTS } from './sqs-batch.ts';
export type { SqsBatchOptions } from './sqs-batch.ts';
export { invocationContext, isLambdaContext, DEFAULT_JOB_TIMEOUT_MS } from './invocation.ts';
export type { LambdaContext } from './invocation.ts';
