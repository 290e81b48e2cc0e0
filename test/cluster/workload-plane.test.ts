/**
 * The control plane that runs workloads (test/helpers/workload-plane.ts): kube-controller-manager,
 * kube-scheduler and KWOK with two fake nodes take a Deployment to Available, an image that
 * never pulls to ProgressDeadlineExceeded, and a LoadBalancer Service gets an address.
 *
 * Its binaries come from scripts/ensure-workloads.sh (`npm test` builds them once per machine);
 * when they are missing the setup fails with that script's message rather than skipping.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkloadPlane, type WorkloadPlane } from '../helpers/workload-plane.ts';

let wp: WorkloadPlane;

beforeAll(async () => {
  wp = await startWorkloadPlane({ nodes: 2 });
  console.log(`workload plane ready in ${wp.startupMs} ms at ${wp.server} (${wp.nodeNames.join(', ')})`);
}, 180_000);

afterAll(async () => {
  await wp?.stop();
});

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
}

async function kubectlJson<T>(args: readonly string[]): Promise<T> {
  const r = await wp.kubectl([...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function kubectlOk(args: readonly string[], input?: string): Promise<void> {
  const r = await wp.kubectl(args, input === undefined ? undefined : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
}

/** Polls `read` until `done` holds, or fails with the last value seen. */
async function eventually<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms; last seen: ${JSON.stringify(last, null, 1).slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function namespace(): Promise<string> {
  const ns = `wp-${randomBytes(4).toString('hex')}`;
  await kubectlOk(['create', 'namespace', ns]);
  return ns;
}

interface DeploymentStatus {
  readonly status?: { readonly readyReplicas?: number; readonly availableReplicas?: number; readonly conditions?: readonly Condition[] };
}

const condition = (d: DeploymentStatus, type: string): Condition | undefined => d.status?.conditions?.find((c) => c.type === type);

describe('a control plane that runs workloads', () => {
  it('has the fake nodes Ready', async () => {
    const nodes = await kubectlJson<{ items: { metadata: { name: string }; status: { conditions: Condition[] } }[] }>(['get', 'nodes']);
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual([...wp.nodeNames].sort());
    for (const n of nodes.items) expect(n.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('takes a Deployment with 2 replicas to 2/2 Available', async () => {
    const ns = await namespace();
    await kubectlOk(['-n', ns, 'create', 'deployment', 'web', '--image=registry.example/web:1.0', '--replicas=2']);
    const d = await eventually(
      'Deployment web 2/2 Available',
      () => kubectlJson<DeploymentStatus>(['-n', ns, 'get', 'deployment', 'web']),
      (x) => x.status?.readyReplicas === 2 && condition(x, 'Available')?.status === 'True',
      60_000,
    );
    expect(d.status?.availableReplicas).toBe(2);
    const pods = await kubectlJson<{ items: { spec: { nodeName?: string }; status: { phase: string } }[] }>(['-n', ns, 'get', 'pods']);
    expect(pods.items).toHaveLength(2);
    for (const p of pods.items) {
      expect(p.status.phase).toBe('Running');
      expect(wp.nodeNames).toContain(p.spec.nodeName);
    }
  }, 90_000);

  it('reports ProgressDeadlineExceeded for a Deployment whose image never pulls, its pod in ImagePullBackOff', async () => {
    const ns = await namespace();
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'broken', namespace: ns },
      spec: {
        replicas: 1,
        progressDeadlineSeconds: 5,
        selector: { matchLabels: { app: 'broken' } },
        template: {
          metadata: { labels: { app: 'broken' } },
          spec: {
            containers: [
              { name: 'app', image: 'registry.invalid/broken:1.0' },
              { name: 'sidecar', image: 'registry.example/proxy:2.1' },
            ],
          },
        },
      },
    };
    await kubectlOk(['apply', '-f', '-'], JSON.stringify(deployment));
    const d = await eventually(
      'Deployment broken Progressing=False ProgressDeadlineExceeded',
      () => kubectlJson<DeploymentStatus>(['-n', ns, 'get', 'deployment', 'broken']),
      (x) => condition(x, 'Progressing')?.status === 'False',
      60_000,
    );
    expect(condition(d, 'Progressing')?.reason).toBe('ProgressDeadlineExceeded');
    expect(condition(d, 'Available')?.status).toBe('False');
    expect(d.status?.readyReplicas ?? 0).toBe(0);

    const pods = await kubectlJson<{
      items: {
        status: {
          phase: string;
          conditions: Condition[];
          containerStatuses?: { name: string; ready: boolean; state: { waiting?: { reason?: string }; running?: unknown } }[];
        };
      }[];
    }>(['-n', ns, 'get', 'pods', '-l', 'app=broken']);
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0]!;
    expect(pod.status.phase).toBe('Pending');
    expect(pod.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('False');
    const app = pod.status.containerStatuses?.find((c) => c.name === 'app');
    expect(app?.ready).toBe(false);
    expect(app?.state.waiting?.reason).toBe('ImagePullBackOff');
    // Only the container whose image fails waits; the other one runs, as under a kubelet.
    const sidecar = pod.status.containerStatuses?.find((c) => c.name === 'sidecar');
    expect(sidecar?.ready).toBe(true);
    expect(sidecar?.state.running).toBeDefined();
  }, 90_000);

  it('gives a LoadBalancer Service an ingress address, as a cloud provider would', async () => {
    const ns = await namespace();
    await kubectlOk(['-n', ns, 'create', 'service', 'loadbalancer', 'front', '--tcp=80:8080']);
    const svc = await eventually(
      'Service front with an ingress address',
      () => kubectlJson<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(['-n', ns, 'get', 'service', 'front']),
      (x) => (x.status?.loadBalancer?.ingress?.length ?? 0) > 0,
      20_000,
    );
    expect(svc.status?.loadBalancer?.ingress?.[0]?.ip).toMatch(/^127\.0\.0\.\d+$/);
  }, 30_000);
});
