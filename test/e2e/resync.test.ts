/** The scheduled resync corrects drift without a push, and stays quiet when nothing drifted. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { createResyncFunction } from '../../functions/resync.ts';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';
import { MANIFESTS, NAMESPACE_YAML, REPO_YAML, startProduct, type Product } from './support.ts';

let cp: ControlPlane;
let product: Product;
let apps: k8s.AppsV1Api;
let head = '';

beforeAll(async () => {
  cp = await startControlPlane();
  product = await startProduct();
  await product.register('mycluster', cp.kubeconfig);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cp.kubeconfig);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  head = await product.github.git.commit({ 'system/repo.yaml': REPO_YAML, 'namespaces/onlineboutique/namespace.yaml': NAMESPACE_YAML, 'namespaces/onlineboutique/kubernetes-manifests.yaml': MANIFESTS });
  await product.push('main', undefined, head);
});

afterAll(async () => {
  await product?.close();
  await cp?.stop();
});

describe('resync', () => {
  it('posts no status when the cluster already matches its branch head', async () => {
    const n = product.github.statuses.length;
    const r = await createResyncFunction(product.deps)();
    await product.invoker.idle();
    expect(r).toEqual({ dispatched: ['mycluster'], failed: [] });
    expect(product.github.statuses.length).toBe(n);
  });

  it('restores a field someone changed by hand, and reports the takeover', async () => {
    const declared = (await apps.readNamespacedDeployment({ name: 'frontend', namespace: 'onlineboutique' })).spec?.template.spec?.containers[0]?.image;
    await apps.patchNamespacedDeployment(
      { name: 'frontend', namespace: 'onlineboutique', fieldManager: 'kubectl-edit', body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'example.com/hotfix:1' }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await createResyncFunction(product.deps)();
    await product.invoker.idle();
    const d = await apps.readNamespacedDeployment({ name: 'frontend', namespace: 'onlineboutique' });
    expect(d.spec?.template.spec?.containers[0]?.image).toBe(declared);
    const latest = product.github.latestStatuses(head).get('pushsync/mycluster');
    expect(latest?.state).toBe('success');
    expect(latest?.description).toMatch(/1 configured/);
  });
});
