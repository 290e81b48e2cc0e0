/**
 * Issue 11's acceptance, end to end on a control plane that runs workloads (kube-controller-
 * manager, kube-scheduler, KWOK nodes): push → webhook → sync → apply → delayed health checks →
 * `pushsync/<cluster>` and the cluster's GitHub Deployment. Green means the twelve Online
 * Boutique Deployments are Available; a Deployment whose image never pulls turns it red with the
 * controller's reason and the pod's; a newer commit ends an older rollout's wait. The GitHub
 * stand-in checks every call (Deployments included) against GitHub's OpenAPI description.
 * The tests run in order on one repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkloadPlane, type WorkloadPlane } from '../helpers/workload-plane.ts';
import { MANIFESTS, NAMESPACE_YAML, REPO_YAML, checks, startProduct, type Product } from './support.ts';

let wp: WorkloadPlane;
let product: Product;
const commits: Record<string, string> = {};
const sha = (k: string): string => {
  const v = commits[k];
  if (!v) throw new Error(`no commit ${k} yet (an earlier test failed)`);
  return v;
};
const CONTEXT = 'pushsync/edge';
/** The longest gap between health checks in this file (ProductOptions.healthIntervalMs). */
const INTERVAL_MS = 1_000;

beforeAll(async () => {
  [wp, product] = await Promise.all([startWorkloadPlane({ nodes: 2 }), startProduct({ contract: true, healthIntervalMs: INTERVAL_MS })]);
  await product.register('edge', wp.kubeconfig, 'main', { healthTimeout: 180, environment: 'edge-prod', production: true });
  commits.repo = await product.github.git.commit({ 'system/repo.yaml': REPO_YAML }, { message: 'Add the Repo' });
  await product.push('main', undefined, sha('repo'));
}, 180_000);

afterAll(async () => {
  await product?.close();
  await wp?.stop();
});

/** `manifests` with one Deployment's container image (and progress deadline) replaced. */
function withImage(manifests: string, deployment: string, image: string, progressDeadlineSeconds: number): string {
  const docs = manifests.split(/^---$/m);
  const i = docs.findIndex((d) => /kind: Deployment/.test(d) && new RegExp(`^  name: ${deployment}$`, 'm').test(d));
  if (i < 0) throw new Error(`no Deployment ${deployment} in the manifests`);
  docs[i] = (docs[i] as string)
    .replace(/^(\s+image: ).*$/m, `$1${image}`)
    .replace(/^spec:$/m, `spec:\n  progressDeadlineSeconds: ${progressDeadlineSeconds}`);
  return docs.join('---');
}

const history = (commit: string): string[] =>
  product.github.statuses.filter((s) => s.sha === commit && s.context === CONTEXT).map((s) => `${s.state}: ${s.description ?? ''}`);

interface Deployment {
  readonly metadata: { readonly name: string };
  readonly spec: { readonly replicas?: number };
  readonly status?: { readonly readyReplicas?: number; readonly conditions?: readonly { type: string; status: string; lastTransitionTime?: string }[] };
}

async function deployments(): Promise<Deployment[]> {
  const r = await wp.kubectl(['get', 'deploy', '-n', 'onlineboutique', '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { items: Deployment[] }).items;
}

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('green means running (issue 11)', () => {
  it('Online Boutique: pending while it rolls out, success only once all 12 Deployments are Available', async () => {
    commits.boutique = await product.github.git.commit(
      { 'namespaces/onlineboutique/namespace.yaml': NAMESPACE_YAML, 'namespaces/onlineboutique/kubernetes-manifests.yaml': MANIFESTS },
      { message: 'Online Boutique' },
    );
    const t0 = Date.now();
    await product.push('main', sha('repo'), sha('boutique'));
    const seen = history(sha('boutique'));
    // Queued, then the rollout's progress (written only when it changed), then the verdict.
    expect(seen[0]).toMatch(/^pending: applying/);
    expect(seen.some((s) => /^pending: applied 25 \(25 created\); rolling out: \d+\/12 Deployments available/.test(s))).toBe(true);
    expect(seen.at(-1)).toMatch(/^success: 25 objects healthy in \d+ s$/);
    expect(seen.filter((s) => s.startsWith('success'))).toHaveLength(1);

    // The moment it turned green, twelve 1/1: every Deployment became Available before the status said so.
    const green = product.github.statuses.find((s) => s.sha === sha('boutique') && s.context === CONTEXT && s.state === 'success');
    const ds = await deployments();
    expect(ds).toHaveLength(12);
    for (const d of ds) {
      expect(`${d.metadata.name} ${d.status?.readyReplicas ?? 0}/${d.spec.replicas ?? 1}`).toBe(`${d.metadata.name} 1/1`);
      const available = d.status?.conditions?.find((c) => c.type === 'Available');
      expect(available?.status).toBe('True');
      // Condition times have one-second resolution.
      expect(Date.parse(available?.lastTransitionTime ?? '')).toBeLessThanOrEqual(Date.parse(green?.created_at ?? '') + 1000);
    }
    const kubectl = await wp.kubectl(['get', 'deploy', '-n', 'onlineboutique']);
    expect(kubectl.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1])).toEqual(Array(12).fill('1/1'));
    console.log(`Online Boutique: push → green in ${Date.now() - t0} ms; statuses: ${JSON.stringify(seen)}`);
  }, 180_000);

  it('the GitHub Deployment of that commit went queued → in_progress → success, on its environment', () => {
    const ds = product.github.deployments().filter((d) => d.sha === sha('boutique'));
    expect(ds).toHaveLength(1);
    const d = ds[0];
    expect(d).toMatchObject({ environment: 'edge-prod', production_environment: true });
    expect(d?.statuses.map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
  });

  it('an image that never pulls: failure naming the Deployment, ProgressDeadlineExceeded and the pod reason, within the deadline plus one check', async () => {
    const deadlineSeconds = 10;
    commits.bad = await product.github.git.commit(
      { 'namespaces/onlineboutique/kubernetes-manifests.yaml': withImage(MANIFESTS, 'cartservice', 'registry.invalid/cartservice:broken', deadlineSeconds) },
      { message: 'A cartservice image that does not exist' },
    );
    const t0 = Date.now();
    await product.push('main', sha('boutique'), sha('bad'));
    const took = Date.now() - t0;
    const last = history(sha('bad')).at(-1) ?? '';
    expect(last).toMatch(/^failure: Deployment onlineboutique\/cartservice: ProgressDeadlineExceeded; pod cartservice-[a-z0-9-]+.*: ImagePullBackOff/);
    // The controller's deadline counts from the rollout's last progress (just after the apply);
    // the margin is the push and apply themselves and the controller noticing its deadline.
    expect(took).toBeLessThan((deadlineSeconds + 8) * 1000 + INTERVAL_MS);
    // And the status followed the controller's verdict within one check interval (both times have 1 s resolution).
    const cart = (await deployments()).find((x) => x.metadata.name === 'cartservice');
    const exceeded = cart?.status?.conditions?.find((c) => c.type === 'Progressing');
    const red = product.github.statuses.find((x) => x.sha === sha('bad') && x.context === CONTEXT && x.state === 'failure');
    expect(Date.parse(red?.created_at ?? '') - Date.parse(exceeded?.lastTransitionTime ?? '')).toBeLessThanOrEqual(INTERVAL_MS + 2_000);
    const d = product.github.deployments().filter((x) => x.sha === sha('bad'));
    expect(d[0]?.statuses.map((s) => s.state)).toEqual(['queued', 'in_progress', 'failure']);
    console.log(`bad image: push → red in ${took} ms: ${last}`);
  }, 120_000);

  it('a good commit pushed while a bad rollout is stuck: the bad one says superseded, the good one turns green', async () => {
    commits.stuck = await product.github.git.commit(
      { 'namespaces/onlineboutique/kubernetes-manifests.yaml': withImage(MANIFESTS, 'adservice', 'registry.invalid/adservice:broken', 600) },
      { message: 'An adservice image that does not exist (stuck for 10 minutes)' },
    );
    await product.push('main', sha('bad'), sha('stuck'), { wait: false });
    await until('the stuck rollout is under way', () => history(sha('stuck')).some((s) => /^pending: applied .*rolling out/.test(s)), 60_000);

    commits.fixed = await product.github.git.commit({ 'namespaces/onlineboutique/kubernetes-manifests.yaml': MANIFESTS }, { message: 'Revert the images' });
    await product.push('main', sha('stuck'), sha('fixed'));

    const stuck = history(sha('stuck'));
    expect(stuck.at(-1)).toBe(`error: superseded by ${sha('fixed').slice(0, 7)} before its rollout finished`);
    // Never green or red by its own rollout after that.
    expect(stuck.filter((s) => s.startsWith('success') || s.startsWith('failure'))).toEqual([]);
    expect(history(sha('fixed')).at(-1)).toMatch(/^success: 25 objects healthy in \d+ s$/);
    expect(checks(product.github, sha('fixed'))[CONTEXT]).toMatch(/^success/);
    const byCommit = (k: string) => product.github.deployments().find((x) => x.sha === sha(k))?.statuses.map((s) => s.state);
    expect(byCommit('stuck')).toEqual(['queued', 'in_progress', 'inactive']);
    expect(byCommit('fixed')).toEqual(['queued', 'in_progress', 'success']);
  }, 180_000);

  it('every GitHub call was one GitHub documents', () => {
    expect(product.github.violations).toEqual([]);
  });
});
