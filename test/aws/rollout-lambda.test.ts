/**
 * Issue 11 acceptance 5: waiting for a rollout burns no Lambda. A Deployment that takes two
 * minutes to become Available, applied by the apply function and followed by the health
 * function through SQS delayed deliveries (SDK stubbed at the boundary, test/helpers/
 * lambda-rollout.ts), on a cluster that runs workloads: no invocation lasts 30 s, and the billed
 * time is a small part of the rollout's. bench/rollout.ts prints the same figures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLambdaRollout, type LambdaRollout } from '../helpers/lambda-rollout.ts';
import { startWorkloadPlane, type WorkloadPlane } from '../helpers/workload-plane.ts';

const ROLLOUT_SECONDS = 120;
let wp: WorkloadPlane;
let r: LambdaRollout;

beforeAll(async () => {
  wp = await startWorkloadPlane({ nodes: 1 });
  r = await runLambdaRollout({ kubeconfig: wp.kubeconfig, namespace: 'slow', rolloutSeconds: ROLLOUT_SECONDS });
  const health = r.invocations.filter((i) => i.fn === 'health');
  console.log(
    `2-minute rollout on Lambda: ${r.invocations.length} invocations (1 apply, ${health.length} health checks), ` +
      `billed ${(r.billedMs / 1000).toFixed(1)} s in all, longest ${(r.longestMs / 1000).toFixed(2)} s; push → healthy ${(r.wallMs / 1000).toFixed(1)} s; delays ${r.delays.join(',')} s`,
  );
}, (ROLLOUT_SECONDS + 420) * 1000);

afterAll(async () => {
  await wp?.stop();
});

describe('a 2-minute rollout on Lambda', () => {
  it('turns green only after the rollout, with progress while it runs', () => {
    expect(r.statuses[0]).toMatch(/^pending: applied 2 \(2 created\); rolling out: 0\/1 Deployment available/);
    expect(r.statuses.at(-1)).toMatch(/^success: 2 objects healthy in \d+ s$/);
    const seconds = Number(/in (\d+) s$/.exec(r.statuses.at(-1) ?? '')?.[1]);
    expect(seconds).toBeGreaterThanOrEqual(ROLLOUT_SECONDS);
    expect(r.wallMs).toBeGreaterThanOrEqual(ROLLOUT_SECONDS * 1000);
  });

  it('no invocation lasts 30 s: the waiting is SQS delays, each check a short invocation', () => {
    expect(r.longestMs).toBeLessThan(30_000);
    const health = r.invocations.filter((i) => i.fn === 'health');
    expect(health.length).toBeGreaterThanOrEqual(5);
    // One check per delivery: each delay was handed to SQS (never more than the interval, 10 s).
    expect(r.delays.length).toBe(health.length);
    expect(Math.max(...r.delays)).toBeLessThanOrEqual(10);
  });

  it('bills a small part of the rollout: under a tenth of what one function polling for it would', () => {
    expect(r.billedMs).toBeLessThan((ROLLOUT_SECONDS * 1000) / 10);
  });
});
