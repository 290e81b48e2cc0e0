/**
 * The SQS event a queue's event source mapping hands a Lambda function, and the partial batch
 * response it takes back (`functionResponseType: ReportBatchItemFailures`): the records listed
 * in `batchItemFailures` return to the queue, every other one is deleted. Pure: no SDK, no I/O.
 */
import type { JsonValue } from '../fanout/index.ts';

/** The part of an SQS record (aws-lambda's `SQSRecord`) pushsync reads. */
export interface SqsRecord {
  readonly messageId: string;
  readonly body: string;
  readonly attributes?: { readonly ApproximateReceiveCount?: string };
}

export interface SqsEvent {
  readonly Records: readonly SqsRecord[];
}

export interface SqsBatchResponse {
  readonly batchItemFailures: readonly { readonly itemIdentifier: string }[];
}

export type SqsMessage =
  /** A body that is JSON: the invocation's payload. `attempt`: 0 on the first receive. */
  | { readonly kind: 'payload'; readonly messageId: string; readonly payload: JsonValue; readonly attempt: number }
  /** A body that is not JSON: no attempt can ever read it. */
  | { readonly kind: 'malformed'; readonly messageId: string; readonly bytes: number; readonly reason: string };

export const SQS_EVENT_INVALID = 'AWS_SQS_EVENT_INVALID';

/** The event is not an SQS event at all (a wiring mistake: another trigger, a test call). */
export class SqsEventError extends Error {
  readonly code = SQS_EVENT_INVALID;
  constructor(message: string) {
    super(message);
    this.name = 'SqsEventError';
  }
}

const isRecord = (r: unknown): r is SqsRecord =>
  typeof r === 'object' && r !== null && typeof (r as { messageId?: unknown }).messageId === 'string' && (r as { messageId: string }).messageId !== '' && typeof (r as { body?: unknown }).body === 'string';

/** Each record's payload (or why it has none), in the event's order; SqsEventError when `event` is no SQS event. */
export function parseSqsEvent(event: unknown): readonly SqsMessage[] {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records)) throw new SqsEventError('not an SQS event: it has no Records array');
  return records.map((r: unknown, i): SqsMessage => {
    // Without a messageId a record could not even be reported as failed: the event is not SQS's.
    if (!isRecord(r)) throw new SqsEventError(`not an SQS event: Records[${i}] has no messageId and body`);
    const count = Number(r.attributes?.ApproximateReceiveCount);
    const attempt = Number.isInteger(count) && count >= 1 ? count - 1 : 0;
    try {
      return { kind: 'payload', messageId: r.messageId, payload: JSON.parse(r.body) as JsonValue, attempt };
    } catch (e) {
      return { kind: 'malformed', messageId: r.messageId, bytes: Buffer.byteLength(r.body), reason: (e as Error).message };
    }
  });
}

/** The response that returns exactly `failed` (message ids) to the queue. */
export function batchResponse(failed: readonly string[]): SqsBatchResponse {
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}
