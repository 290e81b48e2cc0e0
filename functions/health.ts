/**
 * The health function: fed by the health queue (SQS), one record per scheduled look at a
 * rollout (lib/sync/health.ts). The apply job, and each look that finds the rollout still in
 * progress, sends the next look to the queue with a delivery delay, so no function waits.
 * Records run one after another within the invocation's time (lib/aws/sqs-batch.ts); one whose
 * look throws (a `retry` outcome) is returned to the queue (ReportBatchItemFailures), the
 * others are deleted. A body that is not JSON is logged and dropped: it can never succeed.
 */
import { handlersFor, REPORT_MARGIN_MS, type SyncDeps } from '../lib/sync/index.ts';
import { functionFromEnv, runSqsBatch, type LambdaContext, type SqsBatchResponse } from '../lib/aws/index.ts';

/** A record must have the jobs' reporting margin plus this much left to be started. */
const MIN_WORK_MS = 5_000;

export function createHealthFunction(deps: SyncDeps): (event: unknown, context?: LambdaContext) => Promise<SqsBatchResponse> {
  const { health } = handlersFor(deps);
  return (event, context) =>
    runSqsBatch(event, {
      functionName: 'health',
      handler: health,
      ...(context ? { lambda: context } : {}),
      logger: deps.logger,
      // A record left without time goes back to the queue at once, visible to the next invocation.
      requeue: (payload) => deps.invoker.invoke('health', payload),
      minStartMs: REPORT_MARGIN_MS + MIN_WORK_MS,
    });
}

let entry: ((event: unknown, context?: LambdaContext) => Promise<SqsBatchResponse>) | undefined;
/** The deployed entry point: dependencies from the environment, built on the first event of a container. */
export const handler = async (event: unknown, context?: LambdaContext): Promise<SqsBatchResponse> => (entry ??= functionFromEnv('health', createHealthFunction))(event, context);
