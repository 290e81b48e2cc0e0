/**
 * The Invoker for functions fed by an SQS queue (the rollout's `health` checks on AWS): one
 * SendMessage per invocation, the payload as the message body, a delay as the message's own
 * DelaySeconds. A delayed check thus waits in the queue, where waiting costs nothing, instead
 * of in a function billed by the wall clock; the queue's event source mapping invokes the
 * function once the delay has passed. Payloads go through checkPayload first, like every
 * backend's: no secret is ever stored in a queue. The SDK is loaded on the first invoke.
 */
import type * as Sqs from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { checkPayload } from './payload.ts';
import { checkDelay, FanoutCodes, FanoutError } from './types.ts';
import type { FunctionName, InvokeOptions, Invoker, JsonValue } from './types.ts';

export interface SqsInvokerOptions {
  /** The queue URL behind each pushsync function this process sends to. */
  readonly queues: Partial<Record<FunctionName, string>>;
  /** A ready client (tests, or a shared one); otherwise one is made from region/endpoint. */
  readonly client?: SQSClient;
  readonly region?: string;
  readonly endpoint?: string;
  readonly logger?: Logger;
}

type Sdk = typeof Sqs;
let sdk: Promise<Sdk> | undefined;
/** Paid by the processes that send to a queue (apply, health), not by every importer of lib/fanout. */
const loadSdk = (): Promise<Sdk> => (sdk ??= import('@aws-sdk/client-sqs'));

export const SQS_SEND_FAILED = 'FANOUT_SQS_SEND_FAILED';
/** SQS's DelaySeconds maximum (15 minutes). */
export const SQS_MAX_DELAY_SECONDS = 900;

/** SQS refused the message or could not be reached. `retryable`: worth another try later (throttling, 5xx, network). */
export class SqsSendError extends Error {
  readonly code = SQS_SEND_FAILED;
  constructor(
    message: string,
    readonly queueUrl: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'SqsSendError';
  }
}

/**
 * Errors retrying cannot fix: the queue is missing or not ours, we may not send to it (IAM or
 * its KMS key), or the message itself is refused. Throttling (RequestThrottled, KmsThrottled),
 * 5xx and network errors are not here: they pass.
 */
const PERMANENT = new Set([
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'InvalidAddress',
  'InvalidSecurity',
  'InvalidMessageContents',
  'UnsupportedOperation',
  'KmsAccessDenied',
  'KmsDisabled',
  'KmsInvalidKeyUsage',
  'KmsInvalidState',
  'KmsNotFound',
  'KmsOptInRequired',
  'AccessDenied',
  'AccessDeniedException',
  'InvalidParameterValue',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
]);

/** Whole seconds, rounded up: a check must never run before its delay is over. */
export const delaySeconds = (delayMs: number): number => Math.min(SQS_MAX_DELAY_SECONDS, Math.ceil(delayMs / 1000));

/**
 * The message body: the payload's JSON with U+FFFE and U+FFFF escaped. SQS refuses a body
 * holding them (its allowed characters stop short of them), JSON.stringify leaves them as they
 * are, and in JSON they can only occur inside strings, where `\uFFFE` means the same.
 */
export const messageBody = (payload: JsonValue): string => JSON.stringify(payload).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

export function createSqsInvoker(options: SqsInvokerOptions): Invoker {
  const log = options.logger ?? silentLogger;
  let connection: Promise<{ readonly client: SQSClient; readonly sdk: Sdk }> | undefined;
  const connect = (): Promise<{ readonly client: SQSClient; readonly sdk: Sdk }> =>
    (connection ??= loadSdk().then((loaded) => ({
      sdk: loaded,
      client:
        options.client ??
        new loaded.SQSClient({
          ...(options.region ? { region: options.region } : {}),
          ...(options.endpoint ? { endpoint: options.endpoint } : {}),
          // The sender is a job with a deadline: a send is a quick answer or a retry later.
          requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
        }),
    })));
  return {
    async invoke(functionName: FunctionName, payload: JsonValue, invokeOptions?: InvokeOptions): Promise<void> {
      const delayMs = checkDelay(invokeOptions);
      const queueUrl = options.queues[functionName];
      if (queueUrl === undefined || queueUrl === '') {
        throw new FanoutError(FanoutCodes.unknownFunction, `cannot invoke "${functionName}": no SQS queue is configured for it`);
      }
      const body = messageBody(checkPayload(payload));
      const delay = delaySeconds(delayMs);
      const { client, sdk: loaded } = await connect();
      let out;
      try {
        out = await client.send(new loaded.SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delay }));
      } catch (err) {
        const name = (err as { name?: unknown } | null)?.name;
        const message = err instanceof Error ? err.message : String(err);
        throw new SqsSendError(
          `sending "${functionName}" to SQS queue ${JSON.stringify(queueUrl)} failed: ${typeof name === 'string' ? `${name}: ` : ''}${message}`,
          queueUrl,
          typeof name !== 'string' || !PERMANENT.has(name),
        );
      }
      log.debug('queued', { function: functionName, queue: queueUrl, delaySeconds: delay, bytes: Buffer.byteLength(body), messageId: out.MessageId });
    },
  };
}
