/**
 * Runs the records of one SQS batch through a function's handler, one after another, and
 * builds the partial batch response (ReportBatchItemFailures): a record whose handler threw
 * returns to the queue, for SQS to deliver again (and, after maxReceiveCount, to the
 * dead-letter queue); every other record is deleted.
 *
 * One after another, because the records share one invocation's time: a batch is given
 * `budgetMs` (and never more than Lambda's own remaining time), so a batch of slow checks cannot
 * make one invocation long (billed by the wall clock). A record that would start with less than
 * `minStartMs` of it left is not started: it is sent to the queue again at once (`requeue`),
 * rather than returned as a failure, which would hide it for the queue's whole visibility
 * timeout and count as a failed attempt though it never ran.
 */
import type { FunctionHandler, FunctionName, JsonValue } from '../fanout/index.ts';
import type { Logger } from '../log.ts';
import { invocationContext, type LambdaContext } from './invocation.ts';
import { batchResponse, parseSqsEvent, type SqsBatchResponse } from './sqs-event.ts';

export interface SqsBatchOptions {
  readonly functionName: FunctionName;
  readonly handler: FunctionHandler;
  readonly lambda?: LambdaContext;
  readonly logger: Logger;
  /** Sends a payload back to the queue, visible at once; without it an unstarted record is returned as failed. */
  readonly requeue?: (payload: JsonValue) => Promise<void>;
  /** The batch's time, from the invocation's start (default SQS_BATCH_DEFAULTS.budgetMs). */
  readonly budgetMs?: number;
  /** The least time a record must have left to be started (default SQS_BATCH_DEFAULTS.minStartMs). */
  readonly minStartMs?: number;
  readonly now?: () => number;
}

export const SQS_BATCH_DEFAULTS = {
  /** Issue #11 §4: no invocation longer than 30 s for a health check. */
  budgetMs: 30_000,
  /** The jobs keep 15 s of their deadline to report (lib/sync REPORT_MARGIN_MS), plus 5 s to work. */
  minStartMs: 20_000,
} as const;

export async function runSqsBatch(event: unknown, options: SqsBatchOptions): Promise<SqsBatchResponse> {
  const now = options.now ?? Date.now;
  const log = options.logger;
  const start = now();
  // Lambda's cut-off (or, without a Lambda context, the local default), capped by the batch's budget.
  const deadline = Math.min(invocationContext(options.functionName, options.lambda, start).deadline, start + (options.budgetMs ?? SQS_BATCH_DEFAULTS.budgetMs));
  const minStartMs = options.minStartMs ?? SQS_BATCH_DEFAULTS.minStartMs;
  const failed: string[] = [];
  for (const message of parseSqsEvent(event)) {
    const fields = { function: options.functionName, messageId: message.messageId };
    if (message.kind === 'malformed') {
      // Not returned as a failure: the same bytes fail the same way on every receive, so SQS
      // would only deliver it again until maxReceiveCount moved it to the dead-letter queue,
      // each time costing an invocation. Nothing pushsync sends looks like this (every body is
      // checkPayload's JSON), so it is logged for an operator, without its content (unknown, and
      // possibly sensitive), and deleted.
      log.error('message body is not JSON: dropped, not retried', { ...fields, bytes: message.bytes, error: message.reason });
      continue;
    }
    if (deadline - now() < minStartMs) {
      if (options.requeue) {
        try {
          await options.requeue(message.payload);
          log.warn('no time left in this invocation for the message: sent to the queue again', fields);
          continue;
        } catch (error) {
          log.error('no time left for the message, and it could not be sent again: returned to the queue', { ...fields, error });
        }
      }
      failed.push(message.messageId);
      continue;
    }
    // The message id as the invocation id: SQS keeps it across redeliveries, as Lambda keeps an
    // async invocation's request id across its retries; the receive count tells the attempt.
    const context = { ...invocationContext(options.functionName, options.lambda, now()), invocationId: message.messageId, attempt: message.attempt, deadline };
    try {
      await options.handler(message.payload, context);
    } catch (error) {
      log.warn('message failed: returned to the queue for another attempt', { ...fields, attempt: message.attempt, error });
      failed.push(message.messageId);
    }
  }
  return batchResponse(failed);
}
