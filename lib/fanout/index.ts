/**
 * Public surface of the fan-out.
 *
 *   Invoker.invoke('sync' | 'apply' | 'health', payload, {delayMs?})  → resolves once queued (fire-and-forget)
 *   createInProcessInvoker({handlers, concurrency, retryDelaysMs, jobTimeoutMs, hostDeadline})  → InProcessInvoker (+ idle(), cancelDelayed())
 *   createLambdaInvoker({functions})             → Lambda Event invokes (no delay)
 *   createSqsInvoker({queues})                   → SQS SendMessage (DelaySeconds from delayMs)
 *   routeInvoker({sync: …, apply: …, health: …}) → each function to its backend
 *   checkPayload(payload)                       → the JSON copy, or FanoutError (secrets, size)
 */
export type { Invoker, InvokeOptions, FunctionName, FunctionHandler, InvocationContext, JsonValue, FanoutCode } from './types.ts';
export { FanoutCodes, FanoutError, MAX_DELAY_MS, checkDelay } from './types.ts';
export { checkPayload, MAX_PAYLOAD_BYTES } from './payload.ts';
export { createInProcessInvoker, IN_PROCESS_DEFAULTS } from './in-process.ts';
export type { InProcessInvoker, InProcessOptions, InProcessStats, DeadLetter } from './in-process.ts';
export { createLambdaInvoker, LambdaInvokeError, LAMBDA_INVOKE_FAILED, type LambdaInvokerOptions } from './lambda.ts';
export { createSqsInvoker, SqsSendError, SQS_SEND_FAILED, SQS_MAX_DELAY_SECONDS, delaySeconds, type SqsInvokerOptions } from './sqs.ts';
export { routeInvoker } from './route.ts';
