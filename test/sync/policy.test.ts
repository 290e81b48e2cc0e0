/**
 * readPolicy (lib/sync/policy.ts) on the GitHub path: what the functions vet and apply for one
 * sync directory at one commit, read from the GitHub stand-in. The root kustomization decides
 * rendering under all three of kustomize's names, in either format (a hierarchical repo is
 * refused in Config Sync's words), and private chart repositories' credentials are read from
 * the secret store only when the directory renders.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobCache } from '../../lib/source/index.ts';
import { readPolicy } from '../../lib/sync/policy.ts';
import type { Octokit } from '@octokit/rest';
import { NAMESPACE_YAML, OWNER, REPO, REPO_YAML, startWorld, type World } from './support.ts';

let world: World;
let octokit: Octokit;

beforeAll(async () => {
  world = await startWorld();
  octokit = (await world.deps.github({ deliveryId: 'policy-test', installationId: 7 })).octokit;
});
afterAll(async () => {
  await world?.close();
});

const CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  mode: kustomized\n';

async function read(files: Record<string, string>, dir: string, sourceFormat: 'hierarchy' | 'unstructured', helmRepos?: () => Promise<never[]>) {
  const commit = await world.github.git.commit(files, { message: 'policy', replace: true });
  return readPolicy(octokit, { owner: OWNER, repo: REPO, commit, dir, sourceFormat, cache: new BlobCache(), ...(helmRepos ? { helmRepos } : {}) });
}

describe('readPolicy on the GitHub path', () => {
  it('a bare `Kustomization` (no extension) at the root of the sync directory is rendered, as kustomize and Config Sync read it', async () => {
    let asked = 0;
    const policy = await read({ 'apps/Kustomization': 'namePrefix: k-\nresources:\n- cm.yaml\n', 'apps/cm.yaml': CONFIGMAP }, 'apps', 'unstructured', async () => {
      asked++;
      return [];
    });
    expect(policy).toMatchObject({ rendered: true, sourceFormat: 'unstructured', errors: [] });
    expect(policy.files.map((f) => String(f.content)).join('')).toContain('k-settings');
    expect(asked).toBe(1); // the credentials are read when rendering
  });

  it('a directory without a kustomization is read as plain files, and the helm-repo secret is never read', async () => {
    let asked = 0;
    const policy = await read({ 'apps/cm.yaml': CONFIGMAP, 'apps/README.md': 'not policy' }, 'apps', 'unstructured', async () => {
      asked++;
      return [];
    });
    expect(policy).toMatchObject({ rendered: false, errors: [], prefix: 'apps' });
    expect(policy.files.map((f) => f.path)).toEqual(['cm.yaml']);
    expect(asked).toBe(0);
  });

  it('a hierarchical repo whose root holds a kustomization is refused in Config Sync\'s words (the hierarchy reader alone would not even see the file)', async () => {
    for (const name of ['kustomization.yaml', 'Kustomization']) {
      const policy = await read({ 'system/repo.yaml': REPO_YAML, 'namespaces/shop/namespace.yaml': NAMESPACE_YAML('shop'), [name]: 'resources: []\n' }, '.', 'hierarchy');
      expect(policy.errors, name).toEqual([
        expect.objectContaining({ code: 'KNV1068', path: name, message: expect.stringContaining('sourceFormat must be unstructured when Kustomization is needed') }),
      ]);
    }
  });

  it('a kustomization below the root of a hierarchical repo is not a trigger: the repo is read as always', async () => {
    const policy = await read({ 'system/repo.yaml': REPO_YAML, 'namespaces/shop/namespace.yaml': NAMESPACE_YAML('shop'), 'docs/Kustomization': 'resources: []\n' }, '.', 'hierarchy');
    expect(policy).toMatchObject({ rendered: false, errors: [] });
    expect(policy.files.map((f) => f.path).sort()).toEqual(['namespaces/shop/namespace.yaml', 'system/repo.yaml']);
  });
});
