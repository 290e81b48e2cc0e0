/**
 * A rollout followed the way AWS runs pushsync (issue 11 §4): the apply and health functions'
 * Lambda handlers (functions/apply.ts, functions/health.ts), their health checks sent to SQS
 * with a delivery delay through the real SQS client, stubbed at the SDK boundary
 * (aws-sdk-client-mock): the stub checks each SendMessage against SQS's contract and, playing
 * the queue and its event source mapping, hands the message to the health function once its
 * DelaySeconds have passed, as a one-record SQS event. Only AWS is played; the cluster is a
 * real one (the workload plane), GitHub the stand-in.
 *
 * Every invocation's duration is recorded: Lambda bills each invocation's wall clock (1 ms
 * granularity), so their sum is the billed time, to set against the rollout's length (what one
 * function polling until healthy would be billed). Used by test/aws/rollout-lambda.test.ts and
 * bench/rollout.ts.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient, type SendMessageCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createApplyFunction } from '../../functions/apply.ts';
import { createHealthFunction } from '../../functions/health.ts';
import { createSqsInvoker, routeInvoker } from '../../lib/fanout/index.ts';
import { createLogger } from '../../lib/log.ts';
import { FileSecretStore, registerCluster, setGitHubToken } from '../../lib/registry/index.ts';
import { githubFromStore, toPayload, type ApplyJob } from '../../lib/sync/index.ts';
import { startGitHubServer } from './github-server.ts';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/pushsync-rollout-health';
/** serverless.yml's timeouts: what each function's context says is left. */
const TIMEOUT_MS = { apply: 900_000, health: 60_000 } as const;
const REPO_YAML = 'apiVersion: configmanagement.gke.io/v1\nkind: Repo\nmetadata:\n  name: repo\nspec:\n  version: "1.0.0"\n';

export interface Invocation {
  readonly fn: 'apply' | 'health';
  /** Since the apply function was invoked. */
  readonly startedMs: number;
  readonly durationMs: number;
}

export interface LambdaRollout {
  readonly invocations: readonly Invocation[];
  /** Σ of every invocation's duration, each rounded up to the ms (Lambda's billing unit). */
  readonly billedMs: number;
  readonly longestMs: number;
  /** Apply invoked → the final status posted. */
  readonly wallMs: number;
  /** Every `pushsync/<cluster>` status of the commit, `state: description`, in order. */
  readonly statuses: readonly string[];
  /** The DelaySeconds of each health check sent. */
  readonly delays: readonly number[];
}

export interface LambdaRolloutOptions {
  /** A kubeconfig for a cluster that runs workloads. */
  readonly kubeconfig: string;
  /** How long the Deployment takes to become Available (its minReadySeconds); default 120. */
  readonly rolloutSeconds?: number;
  /** A namespace of its own on the cluster (several runs may share one). */
  readonly namespace: string;
}

/** SendMessage's limits (SQS API reference): a stub that accepts more would hide a bug. */
function checkSendMessage(input: SendMessageCommandInput): number {
  const delay = input.DelaySeconds ?? 0;
  if (input.QueueUrl !== QUEUE) throw new Error(`SendMessage to ${String(input.QueueUrl)}, not the health queue`);
  if (!Number.isInteger(delay) || delay < 0 || delay > 900) throw new Error(`DelaySeconds ${delay} is outside 0-900`);
  const bytes = Buffer.byteLength(input.MessageBody ?? '');
  if (bytes < 1 || bytes > 256 * 1024) throw new Error(`MessageBody of ${bytes} bytes`);
  JSON.parse(input.MessageBody ?? '');
  return delay;
}

export async function runLambdaRollout(options: LambdaRolloutOptions): Promise<LambdaRollout> {
  const rolloutSeconds = options.rolloutSeconds ?? 120;
  const home = await mkdtemp(join(tmpdir(), 'pushsync-lambda-rollout-'));
  const github = await startGitHubServer({ owner: 'acme', repo: 'policy', contract: true });
  const sqs = mockClient(SQSClient);
  const timers = new Set<NodeJS.Timeout>();
  try {
    const store = new FileSecretStore(home);
    await setGitHubToken(store, github.token);
    const cluster = 'far';
    const reg = await registerCluster(store, { name: cluster, kubeconfig: options.kubeconfig, repo: 'acme/policy', branch: 'main', dir: '.', sourceFormat: 'hierarchy' }, { replace: true });
    if (!reg.ok) throw new Error(`register: ${JSON.stringify(reg.errors)}`);
    const sha = await github.git.commit({
      'system/repo.yaml': REPO_YAML,
      [`namespaces/${options.namespace}/namespace.yaml`]: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${options.namespace}\n`,
      [`namespaces/${options.namespace}/web.yaml`]: deploymentYaml(rolloutSeconds),
    });

    const logger = createLogger({ level: 'error' });
    // The default health interval: the billing is measured as deployed.
    const deps = {
      store,
      logger,
      github: githubFromStore({ store, baseUrl: github.url, writeSpacingMs: 0 }),
      invoker: routeInvoker({ health: createSqsInvoker({ queues: { health: QUEUE }, client: new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }) }) }),
    };
    const applyFn = createApplyFunction(deps);
    const healthFn = createHealthFunction(deps);

    const t0 = performance.now();
    const invocations: Invocation[] = [];
    const delays: number[] = [];
    const failures: unknown[] = [];
    let inFlight = 0;
    const run = async (fn: Invocation['fn'], call: (context: { getRemainingTimeInMillis(): number; awsRequestId: string }) => Promise<unknown>): Promise<unknown> => {
      inFlight++;
      const start = performance.now();
      const cutoff = Date.now() + TIMEOUT_MS[fn];
      try {
        return await call({ getRemainingTimeInMillis: () => cutoff - Date.now(), awsRequestId: randomUUID() });
      } finally {
        invocations.push({ fn, startedMs: Math.round(start - t0), durationMs: performance.now() - start });
        inFlight--;
      }
    };
    sqs.on(SendMessageCommand).callsFake((input: SendMessageCommandInput) => {
      const delay = checkSendMessage(input);
      delays.push(delay);
      const messageId = randomUUID();
      inFlight++;
      const timer = setTimeout(() => {
        timers.delete(timer);
        inFlight--;
        const event = { Records: [{ messageId, receiptHandle: messageId, body: input.MessageBody, attributes: { ApproximateReceiveCount: '1' }, eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:pushsync-rollout-health' }] };
        run('health', (context) => healthFn(event, context))
          .then((r) => {
            const failed = (r as { batchItemFailures?: unknown[] }).batchItemFailures ?? [];
            if (failed.length > 0) failures.push(new Error(`health batch failed: ${JSON.stringify(failed)}`));
          })
          .catch((e: unknown) => failures.push(e));
      }, delay * 1000);
      timers.add(timer);
      return { MessageId: messageId, MD5OfMessageBody: 'stub' };
    });

    const job: ApplyJob = { deliveryId: `lambda-${randomUUID()}`, owner: 'acme', name: 'policy', sha, cluster, mode: 'apply' };
    await run('apply', (context) => applyFn(toPayload(job), context));
    // The chain ends when nothing is delayed or running: the last check reported and scheduled nothing.
    const limit = Date.now() + (rolloutSeconds + 360) * 1000;
    while (inFlight > 0) {
      if (Date.now() > limit) throw new Error(`the rollout was still followed ${rolloutSeconds + 360} s after the apply`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (failures.length > 0) throw failures[0];
    const wallMs = performance.now() - t0;
    const statuses = github.statuses.filter((s) => s.sha === sha && s.context === `pushsync/${cluster}`).map((s) => `${s.state}: ${s.description ?? ''}`);
    if (github.violations.length > 0) throw new Error(`GitHub calls outside its API description: ${JSON.stringify(github.violations).slice(0, 500)}`);
    return {
      invocations,
      billedMs: invocations.reduce((sum, i) => sum + Math.ceil(i.durationMs), 0),
      longestMs: Math.max(...invocations.map((i) => i.durationMs)),
      wallMs,
      statuses,
      delays,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    sqs.restore();
    await github.close();
    await rm(home, { recursive: true, force: true });
  }
}

/** One Deployment that becomes Available `seconds` after its pod is Ready (minReadySeconds): a rollout of known length. */
function deploymentYaml(seconds: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  minReadySeconds: ${seconds}
  progressDeadlineSeconds: ${seconds + 300}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: registry.example/web:1.0
`;
}
