/**
 * The Invoker on AWS Lambda: `InvocationType: Event`, so invoke() returns once Lambda has queued
 * the event (HTTP 202) and Lambda itself does the retries and the on-failure destination.
 * Payloads go through checkPayload first, like every backend's: no secret ever reaches
 * Lambda's event queue. The endpoint is the SDK's (AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL)
 * unless given, so the same code drives `serverless offline`'s local Lambda endpoint.
 * An Event invoke runs as soon as Lambda can: a delayed invocation is refused (FANOUT_DELAY_UNSUPPORTED),
 * never run early; delayed functions go through a queue (sqs.ts, route.ts).
 */
import type * as Lambda from '@aws-sdk/client-lambda';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { checkPayload } from './payload.ts';
import { checkDelay, FanoutCodes, FanoutError } from './types.ts';
import type { FunctionName, InvokeOptions, Invoker, JsonValue } from './types.ts';

export interface LambdaInvokerOptions {
  /** The Lambda function (name or ARN) behind each pushsync function this process invokes. */
  readonly functions: Partial<Record<FunctionName, string>>;
  /** A ready client (tests, or a shared one); otherwise one is made from region/endpoint. */
  readonly client?: LambdaClient;
  readonly region?: string;
  readonly endpoint?: string;
  readonly logger?: Logger;
}

type Sdk = typeof Lambda;
let sdk: Promise<Sdk> | undefined;
/** ~150 ms to load: paid by the processes that invoke Lambda, not by every importer of lib/fanout. */
const loadSdk = (): Promise<Sdk> => (sdk ??= import('@aws-sdk/client-lambda'));

export const LAMBDA_INVOKE_FAILED = 'FANOUT_LAMBDA_INVOKE_FAILED';

/** Lambda refused or could not be reached. `retryable`: worth another try later (throttling, 5xx, network). */
export class LambdaInvokeError extends Error {
  readonly code = LAMBDA_INVOKE_FAILED;
  constructor(
    message: string,
    readonly functionName: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'LambdaInvokeError';
  }
}

/** Errors retrying cannot fix: the function is missing, we may not call it, or the request is wrong. */
const PERMANENT = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'InvalidParameterValueException',
  'RequestTooLargeException',
  'InvalidRequestContentException',
  'UnrecognizedClientException',
]);

export function createLambdaInvoker(options: LambdaInvokerOptions): Invoker {
  const log = options.logger ?? silentLogger;
  let connection: Promise<{ readonly client: LambdaClient; readonly sdk: Sdk }> | undefined;
  const connect = (): Promise<{ readonly client: LambdaClient; readonly sdk: Sdk }> =>
    (connection ??= loadSdk().then((loaded) => ({
      sdk: loaded,
      client:
        options.client ??
        new loaded.LambdaClient({
          ...(options.region ? { region: options.region } : {}),
          ...(options.endpoint ? { endpoint: options.endpoint } : {}),
          // The webhook must answer GitHub within 10 s: an Event invoke is a quick 202 or nothing.
          requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
        }),
    })));
  return {
    async invoke(functionName: FunctionName, payload: JsonValue, invokeOptions?: InvokeOptions): Promise<void> {
      if (checkDelay(invokeOptions) > 0) {
        throw new FanoutError(FanoutCodes.delayUnsupported, `cannot invoke "${functionName}" with a delay on Lambda: an Event invocation runs at once; route it through an SQS queue`);
      }
      const target = options.functions[functionName];
      if (target === undefined || target === '') {
        throw new FanoutError(FanoutCodes.unknownFunction, `cannot invoke "${functionName}": no Lambda function is configured for it`);
      }
      const body = Buffer.from(JSON.stringify(checkPayload(payload)));
      const { client, sdk: loaded } = await connect();
      let out;
      try {
        out = await client.send(new loaded.InvokeCommand({ FunctionName: target, InvocationType: 'Event', Payload: body }));
      } catch (err) {
        const name = (err as { name?: unknown } | null)?.name;
        const message = err instanceof Error ? err.message : String(err);
        throw new LambdaInvokeError(
          `invoking Lambda function ${JSON.stringify(target)} (${functionName}) failed: ${typeof name === 'string' ? `${name}: ` : ''}${message}`,
          target,
          typeof name !== 'string' || !PERMANENT.has(name),
        );
      }
      if (out.StatusCode !== 202) {
        throw new LambdaInvokeError(`invoking Lambda function ${JSON.stringify(target)} (${functionName}) asynchronously answered HTTP ${out.StatusCode ?? '?'} instead of 202`, target, true);
      }
      log.debug('invoked', { function: functionName, lambda: target, bytes: body.byteLength, requestId: out.$metadata?.requestId });
    },
  };
}
