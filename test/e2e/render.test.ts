/**
 * Issue 12, end to end through a push: a repository whose clusters sync kustomize overlays of
 * one base (each overlay the sync directory of one cluster) is rendered by the real kustomize,
 * vetted as an unstructured repo and applied, each cluster its own variant; a kustomization that
 * fails to build or asks for an exec plugin is a `pushsync/vet` failure naming the file, and
 * nothing is applied. Real API servers, the GitHub stand-in over a real git repository.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveChartRepo, type ChartRepo } from '../helpers/chart-repo.ts';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';
import { findRenderTools, isToolProblem } from '../../lib/render/index.ts';
import { checks, startProduct, type Product } from './support.ts';

const RENDER = fileURLToPath(new URL('../fixtures/render/', import.meta.url));

/** A fixture directory's files, placed under `under` in the repository. */
function fixtureFiles(fixture: string, under: string): Record<string, string> {
  const root = path.join(RENDER, fixture);
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[`${under}/${path.relative(root, full).split(path.sep).join('/')}`] = readFileSync(full, 'utf8');
    }
  };
  walk(root);
  return out;
}
const boutiqueFiles = (): Record<string, string> => fixtureFiles('boutique', 'boutique');

let dev: ControlPlane;
let prod: ControlPlane;
let product: Product;
let head: string | undefined;
let charts: ChartRepo;

beforeAll(async () => {
  const tools = findRenderTools();
  if (isToolProblem(tools)) throw new Error(tools.message);
  [dev, prod, product, charts] = await Promise.all([startControlPlane(), startControlPlane(), startProduct({ contract: true }), serveChartRepo(tools.helm.path, [path.join(RENDER, 'charts', 'shop')])]);
  await product.register('dev', dev.kubeconfig, 'main', { dir: 'boutique/overlays/dev', sourceFormat: 'unstructured' });
  await product.register('prod', prod.kubeconfig, 'main', { dir: 'boutique/overlays/prod', sourceFormat: 'unstructured' });
}, 120_000);

afterAll(async () => {
  await charts?.close();
  await product?.close();
  await Promise.all([dev?.stop(), prod?.stop()]);
});

async function deployment(cp: ControlPlane, name: string): Promise<{ replicas: number; image: string } | undefined> {
  const r = await cp.kubectl(['get', 'deployment', name, '-n', 'default', '-o', 'json']);
  if (r.code !== 0) return undefined;
  const d = JSON.parse(r.stdout) as { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };
  return { replicas: d.spec.replicas, image: d.spec.template.spec.containers[0]?.image ?? '' };
}

describe('kustomize overlays through a push (issue 12)', () => {
  it('each cluster gets its overlay\'s variant of the base', async () => {
    head = await product.github.git.commit(boutiqueFiles(), { message: 'Online Boutique, base and overlays' });
    await product.push('main', undefined, head);
    expect(checks(product.github, head)).toMatchObject({
      'pushsync/vet': expect.stringMatching(/^success/),
      'pushsync/dev': expect.stringMatching(/^success/),
      'pushsync/prod': expect.stringMatching(/^success/),
    });
    expect(await deployment(dev, 'frontend')).toEqual({ replicas: 1, image: 'gcr.io/google-samples/microservices-demo/frontend:v0.2.0-dev' });
    expect(await deployment(prod, 'prod-frontend')).toEqual({ replicas: 3, image: 'gcr.io/google-samples/microservices-demo/frontend:v0.3.0' });
    expect(await deployment(dev, 'prod-frontend')).toBeUndefined();
  }, 120_000);

  it('a push that leaves both sync directories as they were renders nothing', async () => {
    const renders = product.deps.renderCache?.stats().renders;
    expect(renders).toBeGreaterThan(0);
    const readme = await product.github.git.commit({ 'README.md': 'Our fleet.\n' }, { message: 'docs' });
    await product.push('main', head, readme);
    expect(checks(product.github, readme)).toMatchObject({ 'pushsync/vet': expect.stringMatching(/^success/), 'pushsync/prod': expect.stringMatching(/^success/) });
    expect(product.deps.renderCache?.stats().renders).toBe(renders);
    head = readme;
  }, 120_000);

  it('Helm charts through helmCharts, one kept in the repository and one from a chart repository: rendered, vetted, applied', async () => {
    // The prod overlay keeps its name prefix: replacing every object it has at once is refused (KNV2006).
    const remote = ['namePrefix: prod-', 'resources:', '- ../../base', 'helmCharts:', '- name: shop', `  repo: ${charts.url}`, '  version: 0.1.0', '  releaseName: remote', '  namespace: default', '  valuesInline:', '    domain: remote.example.com', ''].join('\n');
    const withCharts = await product.github.git.commit(
      {
        ...fixtureFiles('helm-local', 'boutique/overlays/dev'),
        ...fixtureFiles('charts/shop', 'boutique/overlays/dev/charts/shop'),
        // helm-local's kustomization, its chart beside it, on top of the base.
        'boutique/overlays/dev/kustomization.yaml': readFileSync(path.join(RENDER, 'helm-local', 'kustomization.yaml'), 'utf8').replace('resources:\n- namespace.yaml', 'resources:\n- namespace.yaml\n- ../../base'),
        'boutique/overlays/prod/kustomization.yaml': remote,
      },
      { message: 'charts' },
    );
    await product.push('main', head, withCharts);
    expect(checks(product.github, withCharts)).toMatchObject({
      'pushsync/vet': expect.stringMatching(/^success/),
      'pushsync/dev': expect.stringMatching(/^success/),
      'pushsync/prod': expect.stringMatching(/^success/),
    });
    expect(await deployment(dev, 'local-web')).toBeUndefined(); // in namespace shop, not default
    const local = await dev.kubectl(['get', 'deployment', 'local-web', '-n', 'shop', '-o', 'jsonpath={.spec.replicas}']);
    expect(local.stdout).toBe('2');
    const settings = await prod.kubectl(['get', 'configmap', 'prod-remote-settings', '-n', 'default', '-o', 'jsonpath={.data.domain}']);
    expect(settings.stdout).toBe('remote.example.com');
    expect(charts.requests).toEqual(expect.arrayContaining(['/index.yaml', '/shop-0.1.0.tgz']));
    head = withCharts;
  }, 120_000);

  it('a kustomization that does not build: pushsync/vet fails naming the file with kustomize\'s message, and nothing is applied', async () => {
    const before = await deployment(prod, 'prod-frontend');
    const broken = await product.github.git.commit(
      { 'boutique/overlays/prod/kustomization.yaml': 'resourcez:\n- ../../base\n' },
      { message: 'typo' },
    );
    await product.push('main', head, broken);
    const vet = checks(product.github, broken)['pushsync/vet'] ?? '';
    expect(vet).toMatch(/^failure: .*KNV1068 boutique\/overlays\/prod\/kustomization\.yaml/);
    expect(vet).toContain('resourcez');
    expect(checks(product.github, broken)['pushsync/prod']).toMatch(/^failure: not applied/);
    expect(await deployment(prod, 'prod-frontend')).toEqual(before);
    head = broken;
  }, 120_000);

  it('a kustomization asking for an exec plugin: refused by vet, nothing applied', async () => {
    const sneaky = await product.github.git.commit(
      {
        'boutique/overlays/prod/kustomization.yaml': 'resources:\n- ../../base\ngenerators:\n- gen.yaml\n',
        'boutique/overlays/prod/gen.yaml': 'apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: gen\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./plugin.sh\n',
        'boutique/overlays/prod/plugin.sh': '#!/bin/sh\necho pwned\n',
      },
      { message: 'an exec plugin' },
    );
    await product.push('main', head, sneaky);
    expect(checks(product.github, sneaky)['pushsync/vet']).toMatch(/^failure: .*KNV1068 boutique\/overlays\/prod\/kustomization\.yaml/);
    expect(checks(product.github, sneaky)['pushsync/prod']).toMatch(/^failure: not applied/);
    expect(product.github.violations).toEqual([]);
  }, 120_000);
});
