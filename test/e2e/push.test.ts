/**
 * Issue 5's walkthrough, end to end: push → webhook → sync (vet, statuses) → apply per cluster
 * → statuses, against a real API server, a real git repository behind the GitHub stand-in, and
 * real webhook payloads. One behaviour per test; they run in order on one repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';
import { MANIFESTS, NAMESPACE_YAML, REPO_YAML, checks, startProduct, type Product } from './support.ts';

let cp: ControlPlane;
let product: Product;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
const commits: Record<string, string> = {};
const sha = (k: string): string => {
  const v = commits[k];
  if (!v) throw new Error(`no commit ${k} yet (an earlier test failed)`);
  return v;
};

async function inventory(): Promise<Record<string, string>> {
  const [d, s] = await Promise.all([apps.listNamespacedDeployment({ namespace: 'onlineboutique' }), core.listNamespacedService({ namespace: 'onlineboutique' })]);
  const out: Record<string, string> = {};
  for (const o of [...d.items.map((x) => ({ k: 'deploy', o: x })), ...s.items.map((x) => ({ k: 'svc', o: x }))]) out[`${o.k}/${o.o.metadata?.name}`] = o.o.metadata?.resourceVersion ?? '';
  return out;
}

beforeAll(async () => {
  cp = await startControlPlane();
  product = await startProduct();
  await product.register('mycluster', cp.kubeconfig);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cp.kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
});

afterAll(async () => {
  await product?.close();
  await cp?.stop();
});

describe('push to GitHub → status checks → cluster', () => {
  it('a push with only system/repo.yaml vets clean', async () => {
    commits.repo = await product.github.git.commit({ 'system/repo.yaml': REPO_YAML }, { message: 'Add the Repo' });
    const res = await product.push('main', undefined, sha('repo'));
    expect(res.status).toBe(202);
    expect(checks(product.github, sha('repo'))['pushsync/vet']).toMatch(/^success/);
  });

  it('Online Boutique: pending, then success, and the cluster has the namespace, 12 Deployments, 12 Services', async () => {
    commits.boutique = await product.github.git.commit(
      { 'namespaces/onlineboutique/namespace.yaml': NAMESPACE_YAML, 'namespaces/onlineboutique/kubernetes-manifests.yaml': MANIFESTS },
      { message: 'Online Boutique' },
    );
    await product.push('main', sha('repo'), sha('boutique'));
    const history = product.github.statuses.filter((s) => s.sha === sha('boutique') && s.context === 'pushsync/mycluster').map((s) => s.state);
    expect(history).toEqual(['pending', 'success']);
    expect(checks(product.github, sha('boutique'))).toMatchObject({ 'pushsync/vet': expect.stringMatching(/^success/), 'pushsync/mycluster': expect.stringMatching(/^success: .*25 created/) });
    const inv = await inventory();
    expect(Object.keys(inv).filter((k) => k.startsWith('deploy/'))).toHaveLength(12);
    expect(Object.keys(inv).filter((k) => k.startsWith('svc/'))).toHaveLength(12);
    const ns = await core.readNamespace({ name: 'onlineboutique' });
    expect(ns.metadata?.labels?.['istio-injection']).toBe('enabled');
  });

  it('redelivering the same delivery runs again, succeeds, and writes nothing', async () => {
    const before = await inventory();
    const statusesBefore = product.github.statuses.length;
    await product.push('main', sha('repo'), sha('boutique'), { deliveryId: 'redelivered-guid' });
    await product.push('main', sha('repo'), sha('boutique'), { deliveryId: 'redelivered-guid' });
    expect(product.github.statuses.length).toBeGreaterThan(statusesBefore);
    expect(checks(product.github, sha('boutique'))['pushsync/mycluster']).toMatch(/^success: .*(0 changed|unchanged)/);
    expect(await inventory()).toEqual(before);
  });

  it('broken YAML: pushsync/vet fails naming file and line; nothing is applied', async () => {
    const before = await inventory();
    const applied = product.invoker.stats();
    commits.broken = await product.github.git.commit({ 'namespaces/onlineboutique/extra.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n' }, { message: 'broken' });
    await product.push('main', sha('boutique'), sha('broken'));
    const c = checks(product.github, sha('broken'));
    expect(c['pushsync/vet']).toMatch(/^failure: .*KNV2001.*namespaces\/onlineboutique\/extra\.yaml:?\d*/);
    expect(c['pushsync/mycluster']).toMatch(/^failure: not applied/);
    expect(product.invoker.stats().invoked).toBe(applied.invoked + 1); // the sync, and no apply
    expect(await inventory()).toEqual(before);
    // Fix forward so later tests start from a valid main.
    commits.fixed = await product.github.git.commit({ 'namespaces/onlineboutique/extra.yaml': null }, { message: 'revert broken' });
    await product.push('main', sha('broken'), sha('fixed'));
    expect(checks(product.github, sha('fixed'))['pushsync/mycluster']).toMatch(/^success/);
  });

  it('a pull-request branch gets a plan ("1 to prune") and the cluster does not change; the merge prunes', async () => {
    const before = await inventory();
    const withoutRedis = MANIFESTS.replace(/---\napiVersion: v1\nkind: Service\nmetadata:\n {2}name: redis-cart\n[\s\S]*?(?=\n---)/, '');
    expect(withoutRedis.length).toBeLessThan(MANIFESTS.length);
    await product.github.git.createBranch('drop-redis-svc', sha('fixed'));
    commits.pr = await product.github.git.commit({ 'namespaces/onlineboutique/kubernetes-manifests.yaml': withoutRedis }, { branch: 'drop-redis-svc', message: 'drop the redis-cart Service' });
    await product.push('drop-redis-svc', sha('fixed'), sha('pr'));
    expect(checks(product.github, sha('pr'))['pushsync/mycluster']).toMatch(/^success: plan: 0 to create, 0 to configure, 1 to prune/);
    expect(await inventory()).toEqual(before);

    commits.merge = await product.github.git.merge('main', 'drop-redis-svc');
    product.counter.reset();
    await product.push('main', sha('fixed'), sha('merge'));
    expect(checks(product.github, sha('merge'))['pushsync/mycluster']).toMatch(/^success: .*1 pruned/);
    // Warm: the changed file through the contents API (the tree rebuilt from the cached one and
    // checked against the payload's tree SHA), no compare (the push says `fixed` is an ancestor),
    // and the three statuses (vet, pending, result).
    const calls = product.counter.calls.map((c) => `${c.method} ${c.path.replace(/[0-9a-f]{40}/g, '{sha}').replace(/\/\d+\//g, '/{id}/')}`);
    expect(calls.filter((c) => !c.includes('/deployments')).sort()).toEqual([
      'GET /repos/acme/policy/contents/namespaces%2Fonlineboutique%2Fkubernetes-manifests.yaml',
      'POST /repos/acme/policy/statuses/{sha}',
      'POST /repos/acme/policy/statuses/{sha}',
      'POST /repos/acme/policy/statuses/{sha}',
    ]);
    // And the cluster's GitHub Deployment (issue 11): none yet for this commit, so made; queued, in_progress, success.
    expect(calls.filter((c) => c.includes('/deployments'))).toEqual([
      'GET /repos/acme/policy/deployments',
      'POST /repos/acme/policy/deployments',
      'POST /repos/acme/policy/deployments/{id}/statuses',
      'POST /repos/acme/policy/deployments/{id}/statuses',
      'POST /repos/acme/policy/deployments/{id}/statuses',
    ]);
    const after = await inventory();
    expect(after['svc/redis-cart']).toBeUndefined();
    const { ['svc/redis-cart']: _gone, ...rest } = before;
    expect(after).toEqual(rest);
  });

  it('an older push delivered last is superseded and the cluster stays on the newer commit', async () => {
    const before = await inventory();
    await product.push('main', sha('boutique'), sha('fixed'));
    expect(checks(product.github, sha('fixed'))['pushsync/mycluster']).toMatch(/^success: superseded by [0-9a-f]{7}/);
    expect(await inventory()).toEqual(before);
  });

  it('a push to an unregistered repository does nothing and posts nothing', async () => {
    const n = product.github.statuses.length;
    await product.store.delete('clusters/mycluster');
    commits.unreg = await product.github.git.commit({ 'system/README.md': 'hi' }, { message: 'docs' });
    await product.push('main', sha('merge'), sha('unreg'));
    expect(product.github.statuses.length).toBe(n);
    await product.register('mycluster', cp.kubeconfig);
  });

  it('every log line names the delivery, and no secret appears in any log line', () => {
    const secrets = [product.github.token, 'e2e-webhook-secret-0123456789', 'client-key-data', 'BEGIN RSA PRIVATE KEY'];
    for (const line of product.logLines) for (const s of secrets) expect(line).not.toContain(s);
    const jobLines = product.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'applied' || l.msg === 'vetted');
    expect(jobLines.length).toBeGreaterThan(0);
    for (const l of jobLines) expect(l).toMatchObject({ deliveryId: expect.any(String), repo: 'acme/policy', commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
  });
});
