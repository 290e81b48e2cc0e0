/**
 * One Invoker over several backends: each function goes to the one that runs it (on AWS, sync
 * and apply to Lambda's Event invoke, health to its SQS queue). The callers keep seeing one
 * Invoker and never learn which backend a function has.
 */
import { FanoutCodes, FanoutError } from './types.ts';
import type { FunctionName, Invoker } from './types.ts';

export function routeInvoker(routes: Partial<Record<FunctionName, Invoker>>): Invoker {
  return {
    invoke(functionName, payload, options) {
      const backend = routes[functionName];
      if (backend === undefined) {
        return Promise.reject(new FanoutError(FanoutCodes.unknownFunction, `cannot invoke "${functionName}": this process has no route to it`));
      }
      return backend.invoke(functionName, payload, options);
    },
  };
}
