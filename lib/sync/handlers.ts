import type { FunctionName, InvocationContext, JsonValue } from '../fanout/index.ts';
import { runWithDeadline } from '../github/index.ts';
import { parseApplyJob, parseHealthJob, parsePushJob } from '../jobs.ts';
import { runApply, type ApplyOutcome } from './apply.ts';
import type { SyncDeps } from './deps.ts';
import { DEADLINE, SyncError, classify } from './errors.ts';
import { isFleetPayload, parseFleetJob, runFleetCheck, type FleetOutcome } from './fleet.ts';
import { runHealthCheck, type HealthOutcome } from './health.ts';
import type { JobOptions } from './outcome.ts';
import { runSync, type SyncOutcome } from './sync.ts';

/**
 * Time kept back from the function's own deadline to report: the final status and check run
 * (a few GitHub writes, with their retries) must fit between the job's stop and Lambda's kill.
 */
export const REPORT_MARGIN_MS = 15_000;
/**
 * How long after the job's deadline in-flight work is aborted. The apply engine stops by itself
 * at the deadline, releasing its Lease; the abort is only the backstop for a request that hangs,
 * and still leaves most of the margin for the report.
 */
export const ABORT_GRACE_MS = 5_000;

/** A payload that can never run (malformed): logged, not retried, nothing to report it on. */
export interface Rejected {
  readonly kind: 'rejected';
  readonly code: string;
  readonly message: string;
}

export type HandlerOutcome = SyncOutcome | ApplyOutcome | HealthOutcome | FleetOutcome | Rejected;

/** A FunctionHandler whose returned value is the job's outcome. */
export type JobHandler = (payload: JsonValue, context: InvocationContext) => Promise<HandlerOutcome>;

/**
 * The handler of each function over a JSON payload: what Lambda's handlers and the in-process
 * fan-out both call. The jobs return outcomes; this is the one place that decides between
 * throwing (a `retry` outcome: Lambda, or the in-process invoker, runs it again) and returning
 * (everything else, already reported on GitHub).
 */
export function handlersFor(deps: SyncDeps): Record<FunctionName, JobHandler> {
  return {
    sync: (payload, context) => handle(deps, context, parsePushJob, payload, (job, options) => runSync(job, deps, options)),
    apply: (payload, context) => handle(deps, context, parseApplyJob, payload, (job, options) => runApply(job, deps, options)),
    // The fleet look (fleet.ts) travels on the health function too, like a rollout's next look.
    health: (payload, context) =>
      isFleetPayload(payload)
        ? handle(deps, context, parseFleetJob, payload, (job, options) => runFleetCheck(job, deps, options))
        : handle(deps, context, parseHealthJob, payload, (job, options) => runHealthCheck(job, deps, options)),
  };
}

async function handle<J>(
  deps: SyncDeps,
  context: InvocationContext,
  parse: (payload: JsonValue) => J,
  payload: JsonValue,
  run: (job: J, options: JobOptions) => Promise<SyncOutcome | ApplyOutcome | HealthOutcome | FleetOutcome>,
): Promise<HandlerOutcome> {
  let job: J;
  try {
    job = parse(payload);
  } catch (e) {
    // The same bytes fail the same way on every attempt: log it where an operator looks, and stop.
    const c = classify(e);
    deps.logger.error('invocation payload refused: not retried', { function: context.functionName, invocationId: context.invocationId, code: c.code, error: c.message });
    return { kind: 'rejected', code: c.code, message: c.message };
  }
  const deadline = context.deadline - REPORT_MARGIN_MS;
  const abort = new AbortController();
  const timer = setTimeout(
    () => abort.abort(new SyncError(DEADLINE, `${context.functionName}: the function's time is nearly up`, true)),
    Math.max(0, deadline + ABORT_GRACE_MS - Date.now()),
  );
  // The timer must not keep `serve` or a test process alive once the job is done.
  timer.unref();
  let outcome: SyncOutcome | ApplyOutcome | HealthOutcome | FleetOutcome;
  try {
    // A GitHub rate-limit wait never runs past the job's deadline (lib/github runWithDeadline).
    outcome = await runWithDeadline(deadline, () => run(job, { deadline, signal: abort.signal }));
  } finally {
    clearTimeout(timer);
  }
  if (outcome.kind === 'retry') throw new SyncError(outcome.code, outcome.message, true);
  return outcome;
}
