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
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';
import { checks, startProduct, type Product } from './support.ts';

const BOUTIQUE = fileURLToPath(new URL('../fixtures/render/boutique/', import.meta.url));

/** The fixture's files under `boutique/` in the repository. */
function boutiqueFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[`boutique/${path.relative(BOUTIQUE, full).split(path.sep).join('/')}`] = readFileSync(full, 'utf8');
    }
  };
  walk(BOUTIQUE);
  return out;
}

let dev: ControlPlane;
let prod: ControlPlane;
let product: Product;
let head: string | undefined;

beforeAll(async () => {
  [dev, prod, product] = await Promise.all([startControlPlane(), startControlPlane(), startProduct({ contract: true })]);
  await product.register('dev', dev.kubeconfig, 'main', { dir: 'boutique/overlays/dev', sourceFormat: 'unstructured' });
  await product.register('prod', prod.kubeconfig, 'main', { dir: 'boutique/overlays/prod', sourceFormat: 'unstructured' });
}, 120_000);

afterAll(async () => {
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
