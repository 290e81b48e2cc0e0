/**
 * Public surface of the fan-out.
 *
 *   Invoker.invoke('sync' | 'apply', payload)   → resolves once queued (fire-and-forget)
 *   createInProcessInvoker({handlers, concurrency, retryDelaysMs, jobTimeoutMs, hostDeadline})  → InProcessInvoker (+ idle())
 *   checkPayload(payload)                       → the JSON copy, or FanoutError (secrets, size)
 */
export type { Invoker, FunctionName, FunctionHandler, InvocationContext, JsonValue, FanoutCode } from './types.ts';
export { FanoutCodes, FanoutError } from './types.ts';
export { checkPayload, MAX_PAYLOAD_BYTES } from './payload.ts';
export { createInProcessInvoker, IN_PROCESS_DEFAULTS } from './in-process.ts';
export type { InProcessInvoker, InProcessOptions, InProcessStats, DeadLetter } from './in-process.ts';
export { createLambdaInvoker, LambdaInvokeError, LAMBDA_INVOKE_FAILED, type LambdaInvokerOptions } from './lambda.ts';
