/**
 * Issue 12, end to end through a push: a repository whose clusters sync kustomize overlays of
 * one base (each overlay the sync directory of one cluster) is rendered by the real kustomize,
 * vetted as an unstructured repo and applied, each cluster its own variant; Helm charts kept in
 * the repository, from a chart repository, and from a private one with the stored credentials; a
 * remote base from an allowed git remote; a kustomization that fails to build, a missing base, a
 * chart that fails to template or an exec plugin is a `pushsync/vet` failure naming the file,
 * and nothing is applied. Real API servers, the GitHub stand-in over a real git repository.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveChartRepo, type ChartRepo } from '../helpers/chart-repo.ts';
import { startGitRemote, type GitRemote } from '../helpers/git-remote.ts';
import { setHelmRepo } from '../../lib/registry/index.ts';
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
let privateCharts: ChartRepo;
let remote: GitRemote;
const PRIVATE = { username: 'ci', password: 'e2e-chart-pass-51d2' };
const savedRemoteBases = process.env.PUSHSYNC_REMOTE_BASES;

beforeAll(async () => {
  const tools = findRenderTools();
  if (isToolProblem(tools)) throw new Error(tools.message);
  [dev, prod, product, charts, privateCharts, remote] = await Promise.all([
    startControlPlane(),
    startControlPlane(),
    startProduct({ contract: true }),
    serveChartRepo(tools.helm.path, [path.join(RENDER, 'charts', 'shop')]),
    serveChartRepo(tools.helm.path, [path.join(RENDER, 'charts', 'shop')], { auth: PRIVATE }),
    startGitRemote(),
  ]);
  // The functions read the allow-list from their environment (serverless.yml's remoteBases).
  process.env.PUSHSYNC_REMOTE_BASES = `${remote.url}/`;
  await product.register('dev', dev.kubeconfig, 'main', { dir: 'boutique/overlays/dev', sourceFormat: 'unstructured' });
  await product.register('prod', prod.kubeconfig, 'main', { dir: 'boutique/overlays/prod', sourceFormat: 'unstructured' });
}, 120_000);

afterAll(async () => {
  if (savedRemoteBases === undefined) delete process.env.PUSHSYNC_REMOTE_BASES;
  else process.env.PUSHSYNC_REMOTE_BASES = savedRemoteBases;
  await Promise.all([privateCharts?.close(), remote?.close()]);
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

  it('a missing base: pushsync/vet fails naming the kustomization with kustomize\'s message, and nothing is applied', async () => {
    const before = await deployment(prod, 'prod-frontend');
    const missing = await product.github.git.commit({ 'boutique/overlays/prod/kustomization.yaml': 'namePrefix: prod-\nresources:\n- ../../bsae\n' }, { message: 'a typo in the base path' });
    await product.push('main', head, missing);
    const vet = checks(product.github, missing)['pushsync/vet'] ?? '';
    expect(vet).toMatch(/^failure: .*KNV1068 boutique\/overlays\/prod\/kustomization\.yaml/);
    expect(vet).toContain('bsae');
    expect(checks(product.github, missing)['pushsync/prod']).toMatch(/^failure: not applied/);
    expect(await deployment(prod, 'prod-frontend')).toEqual(before);
    head = missing;
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

  it('a chart that fails to template: pushsync/vet fails on the kustomization with helm\'s message, and nothing is applied', async () => {
    const before = await deployment(dev, 'dev-frontend');
    const failing = await product.github.git.commit(
      {
        ...fixtureFiles('charts/shop', 'boutique/overlays/dev/charts/shop'),
        'boutique/overlays/dev/kustomization.yaml': `${readFileSync(path.join(RENDER, 'helm-broken', 'kustomization.yaml'), 'utf8')}resources:\n- ../../base\n`,
        // prod as it was before the exec plugin, so that the chart is the commit's one error.
        'boutique/overlays/prod/kustomization.yaml': readFileSync(path.join(RENDER, 'boutique', 'overlays', 'prod', 'kustomization.yaml'), 'utf8'),
      },
      { message: 'a chart without its required value' },
    );
    await product.push('main', head, failing);
    const vet = checks(product.github, failing)['pushsync/vet'] ?? '';
    expect(vet).toMatch(/^failure: 1 error\. KNV1068 boutique\/overlays\/dev\/kustomization\.yaml/);
    // helm's own words (a status description holds 140 characters; an App's check run holds all of it).
    expect(vet).toMatch(/kustomization\.yaml: execution e.*….*public host name\) \(helm template\)$/);
    expect(checks(product.github, failing)['pushsync/dev']).toMatch(/^failure: not applied/);
    expect(await deployment(dev, 'dev-frontend')).toEqual(before);
    head = failing;
  }, 120_000);

  it('a remote base from an allowed git remote and a chart from a private repository (credentials from the secret store): rendered, vetted, applied', async () => {
    await remote.commit('shop', 'main', { fromDir: path.join(RENDER, 'remote', 'shop'), message: 'shop v1' });
    await remote.tag('shop', 'v1', 'main');
    expect(await setHelmRepo(product.store, { url: privateCharts.url, ...PRIVATE })).toEqual([]);
    const overlay = [
      'namePrefix: prod-',
      'resources:',
      '- ../../base', // kept: replacing every object prod has at once is refused (KNV2006)
      '- namespace.yaml', // the remote base's namespace
      `- ${remote.url}/shop.git//base?ref=v1`,
      'helmCharts:',
      '- name: shop',
      `  repo: ${privateCharts.url}`,
      '  version: 0.1.0',
      '  releaseName: private',
      '  namespace: default',
      '  valuesInline:',
      '    domain: private.example.com',
      '',
    ].join('\n');
    const fixed = await product.github.git.commit(
      {
        // dev back to a chart that templates; prod from the remote base and the private chart.
        'boutique/overlays/dev/kustomization.yaml': readFileSync(path.join(RENDER, 'helm-local', 'kustomization.yaml'), 'utf8').replace('resources:\n- namespace.yaml', 'resources:\n- namespace.yaml\n- ../../base'),
        'boutique/overlays/prod/kustomization.yaml': overlay,
        'boutique/overlays/prod/namespace.yaml': readFileSync(path.join(RENDER, 'remote', 'overlay', 'overlays', 'prod', 'namespace.yaml'), 'utf8'),
      },
      { message: 'prod from the shared base and the private chart' },
    );
    const refusedBefore = privateCharts.refused;
    await product.push('main', head, fixed);
    expect(checks(product.github, fixed)).toMatchObject({
      'pushsync/vet': expect.stringMatching(/^success/),
      'pushsync/dev': expect.stringMatching(/^success/),
      'pushsync/prod': expect.stringMatching(/^success/),
    });
    const settings = await prod.kubectl(['get', 'configmap', 'prod-private-settings', '-n', 'default', '-o', 'jsonpath={.data.domain}']);
    expect(settings.stdout).toBe('private.example.com');
    // From the remote base (in its namespace, whatever the prefix made of it).
    expect((await prod.kubectl(['get', 'deployments', '-A', '-o', 'name'])).stdout.split('\n')).toContain('deployment.apps/prod-web');
    expect(privateCharts.refused).toBe(refusedBefore); // every pull carried the stored credentials
    expect(remote.requests.some((r) => r.startsWith('/shop.git/'))).toBe(true);
    // The password is in no status, check run or log line.
    expect(JSON.stringify(product.github.statuses)).not.toContain(PRIVATE.password);
    expect(product.logLines.join('\n')).not.toContain(PRIVATE.password);
    head = fixed;
  }, 180_000);
});
