/** Two clusters (two real API servers) that ClusterSelectors tell apart: each gets its own objects and its own status. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';
import { REPO_YAML, checks, startProduct, type Product } from './support.ts';

let prod: ControlPlane;
let dev: ControlPlane;
let product: Product;

const cluster = (name: string, env: string) => `apiVersion: clusterregistry.k8s.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: ${name}\n  labels:\n    env: ${env}\n`;
const selector = (name: string, env: string) => `apiVersion: configmanagement.gke.io/v1\nkind: ClusterSelector\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    matchLabels:\n      env: ${env}\n`;
const ns = (name: string, sel?: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${sel ? `  annotations:\n    configmanagement.gke.io/cluster-selector: ${sel}\n` : ''}`;
const cm = (name: string, annotations = '') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${annotations}data:\n  k: v\n`;

async function namesIn(cp: ControlPlane): Promise<string[]> {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cp.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const out: string[] = [];
  for (const n of ['shop', 'sandbox']) {
    try {
      const list = await core.listNamespacedConfigMap({ namespace: n, labelSelector: 'applyset.kubernetes.io/part-of' });
      out.push(...list.items.map((c) => `${n}/${c.metadata?.name}`));
    } catch {
      // namespace absent on this cluster
    }
  }
  return out.sort();
}

beforeAll(async () => {
  [prod, dev] = await Promise.all([startControlPlane(), startControlPlane()]);
  product = await startProduct();
  await product.register('prod', prod.kubeconfig);
  await product.register('dev', dev.kubeconfig);
});

afterAll(async () => {
  await product?.close();
  await Promise.all([prod?.stop(), dev?.stop()]);
});

describe('two clusters, one repo', () => {
  it('each cluster gets the objects its selectors pick, and its own status context', async () => {
    const sha = await product.github.git.commit({
      'system/repo.yaml': REPO_YAML,
      'clusterregistry/clusters.yaml': `${cluster('prod', 'prod')}---\n${cluster('dev', 'dev')}`,
      'clusterregistry/selectors.yaml': `${selector('only-prod', 'prod')}---\n${selector('only-dev', 'dev')}`,
      'namespaces/shop/ns.yaml': ns('shop'),
      'namespaces/shop/config.yaml': `${cm('everywhere')}---\n${cm('prod-tuning', '  annotations:\n    configmanagement.gke.io/cluster-selector: only-prod\n')}---\n${cm('dev-flags', '  annotations:\n    configsync.gke.io/cluster-name-selector: dev\n')}`,
      'namespaces/sandbox/ns.yaml': ns('sandbox', 'only-dev'),
      'namespaces/sandbox/config.yaml': cm('scratch'),
    }, { message: 'two clusters' });
    await product.push('main', undefined, sha);
    const c = checks(product.github, sha);
    expect(c['pushsync/vet']).toMatch(/^success/);
    expect(c['pushsync/prod']).toMatch(/^success: .*3 created/); // ns shop + 2 ConfigMaps
    expect(c['pushsync/dev']).toMatch(/^success: .*5 created/); // ns shop, sandbox + 3 ConfigMaps
    expect(await namesIn(prod)).toEqual(['shop/everywhere', 'shop/prod-tuning']);
    expect(await namesIn(dev)).toEqual(['sandbox/scratch', 'shop/dev-flags', 'shop/everywhere']);
  });
});
