/**
 * Rendering with the real kustomize and helm (lib/render/run.ts): overlays, local and remote
 * Helm charts, failures as KNV1068 on the file with the tool's message, exec plugins never run,
 * the limits, and a private temp dir that is always removed. A missing tool fails the setup with
 * the message that says how to get it (scripts/ensure-render-tools.sh), never a skip.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findRenderTools, isToolProblem, type RenderTools } from '../../lib/render/tools.ts';
import { refusePlugins } from '../../lib/render/kustomization.ts';
import { renderEnv, renderKustomization, toolMessage, type RenderResult } from '../../lib/render/run.ts';
import { withOriginAnnotations } from '../../lib/render/origin.ts';
import { compile } from '../../lib/repo/pipeline.ts';
import { parseFile } from '../../lib/repo/parse.ts';
import type { KubeObject, SourceFile } from '../../lib/repo/types.ts';
import { readFixture } from '../helpers/repo-files.ts';
import { serveChartRepo, type ChartRepo } from '../helpers/chart-repo.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/render/', import.meta.url));
const CHART = path.join(FIXTURES, 'charts', 'shop');
const fixture = (name: string): SourceFile[] => readFixture(path.join(FIXTURES, name));
/** The shop chart placed in a repo at `under`. */
const chartFiles = (under: string): SourceFile[] => readFixture(CHART).map((f) => ({ path: `${under}/${f.path}`, content: f.content }));

let tools: RenderTools;
let tmpRoot: string;

beforeAll(() => {
  const found = findRenderTools();
  if (isToolProblem(found)) throw new Error(found.message);
  tools = found;
});

beforeEach(async () => {
  tmpRoot = await mkdtemp(path.join(tmpdir(), 'pushsync-render-test-'));
});

afterEach(async () => {
  // Every render, failed or killed, leaves nothing behind.
  expect(await readdir(tmpRoot)).toEqual([]);
  await rm(tmpRoot, { recursive: true, force: true });
});

function render(files: readonly SourceFile[], dir: string, limits?: { timeoutMs?: number; maxOutputBytes?: number }, signal?: AbortSignal): Promise<RenderResult> {
  return renderKustomization({ files, dir, tools, tmpRoot, ...(limits ? { limits } : {}), ...(signal ? { signal } : {}) });
}

/** The rendered objects with the file and line the engine reads them at. */
function objectsOf(r: RenderResult): { path: string; line: number; obj: KubeObject }[] {
  if (r.kind !== 'rendered') throw new Error(`render failed: ${JSON.stringify(r.errors, null, 2)}`);
  return r.files.flatMap((f) => {
    const p = parseFile(f);
    expect(p.errors).toEqual([]);
    return p.objects.map((d) => ({ path: d.source.path, line: d.source.line, obj: d.obj }));
  });
}

const find = (objs: ReturnType<typeof objectsOf>, kind: string, name: string) => {
  const o = objs.find((x) => x.obj.kind === kind && x.obj.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in ${objs.map((x) => `${x.obj.kind}/${x.obj.metadata.name}`).join(', ')}`);
  return o;
};
const container = (o: { obj: KubeObject }) => (o.obj as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]?.image;
const replicas = (o: { obj: KubeObject }) => (o.obj as unknown as { spec: { replicas: number } }).spec.replicas;

describe('renderKustomization: overlays', () => {
  it('renders each overlay of one base to its variant, each object named after the base file and line it was written at', async () => {
    const files = fixture('boutique');
    const dev = objectsOf(await render(files, 'overlays/dev'));
    const prod = objectsOf(await render(files, 'overlays/prod'));

    expect(replicas(find(dev, 'Deployment', 'frontend'))).toBe(1);
    expect(container(find(dev, 'Deployment', 'frontend'))).toBe('gcr.io/google-samples/microservices-demo/frontend:v0.2.0-dev');
    expect(container(find(dev, 'Deployment', 'cartservice'))).toBe('gcr.io/google-samples/microservices-demo/cartservice:v0.1.0');
    expect(replicas(find(prod, 'Deployment', 'prod-frontend'))).toBe(3);
    expect(replicas(find(prod, 'Deployment', 'prod-cartservice'))).toBe(2);
    expect(container(find(prod, 'Deployment', 'prod-frontend'))).toBe('gcr.io/google-samples/microservices-demo/frontend:v0.3.0');

    // Origins: the base's files (the Service is the second document of frontend.yaml, line 21).
    expect(find(dev, 'Deployment', 'frontend')).toMatchObject({ path: 'base/frontend.yaml', line: 1 });
    expect(find(dev, 'Service', 'frontend')).toMatchObject({ path: 'base/frontend.yaml', line: 21 });
    expect(find(prod, 'Service', 'prod-frontend')).toMatchObject({ path: 'base/frontend.yaml', line: 21 });
    expect(find(prod, 'Deployment', 'prod-cartservice')).toMatchObject({ path: 'base/cartservice.yaml', line: 1 });
    // A generated object: the kustomization entry that generates it.
    const cm = prod.find((o) => o.obj.kind === 'ConfigMap');
    expect(cm?.obj.metadata.name).toMatch(/^prod-shop-settings-[a-z0-9]+$/);
    expect(cm).toMatchObject({ path: 'overlays/prod/kustomization.yaml', line: 15 });

    // The origin annotations pushsync asked for never reach the cluster.
    for (const o of [...dev, ...prod]) expect(o.obj.metadata.annotations?.['config.kubernetes.io/origin']).toBeUndefined();
  });

  it('hands the engine files it vets as an unstructured repo, with errors on the source files', async () => {
    const r = await render(fixture('boutique'), 'overlays/prod');
    if (r.kind !== 'rendered') throw new Error('render failed');
    const c = compile(r.files, { sourceFormat: 'unstructured', clusterName: '' });
    expect(c.errors).toEqual([]);
    expect(c.objects.map((d) => `${d.source.path}:${d.source.line} ${d.obj.kind}/${d.obj.metadata.name}`).sort()).toEqual([
      'base/cartservice.yaml:1 Deployment/prod-cartservice',
      'base/frontend.yaml:1 Deployment/prod-frontend',
      'base/frontend.yaml:21 Service/prod-frontend',
      expect.stringMatching(/^overlays\/prod\/kustomization\.yaml:15 ConfigMap\/prod-shop-settings-/),
    ]);
  });

  it('keeps origin annotations the author asked for, as Config Sync does', async () => {
    const files = fixture('boutique').map((f) =>
      f.path === 'overlays/dev/kustomization.yaml' ? { path: f.path, content: `${Buffer.from(f.content).toString('utf8')}buildMetadata:\n- originAnnotations\n` } : f,
    );
    const dev = objectsOf(await render(files, 'overlays/dev'));
    expect(find(dev, 'Deployment', 'frontend').obj.metadata.annotations?.['config.kubernetes.io/origin']).toBe('path: ../../base/frontend.yaml\n');
    expect(find(dev, 'Deployment', 'frontend').path).toBe('base/frontend.yaml');
  });
});

describe('renderKustomization: Helm charts', () => {
  let repo: ChartRepo;
  beforeAll(async () => {
    repo = await serveChartRepo(tools.helm.path, [CHART]);
  });
  afterAll(async () => {
    await repo?.close();
  });

  it('inflates a chart kept in the repository (helmGlobals.chartHome); its objects point at the kustomization', async () => {
    const objs = objectsOf(await render([...fixture('helm-local'), ...chartFiles('charts/shop')], ''));
    const web = find(objs, 'Deployment', 'local-web');
    expect(replicas(web)).toBe(2);
    expect(web.obj.metadata.namespace).toBe('shop');
    expect(find(objs, 'ConfigMap', 'local-settings').obj.data).toEqual({ domain: 'shop.example.com' });
    // Chart output is configured by the helmCharts entry (line 7); the plain resource keeps its file.
    expect(web).toMatchObject({ path: 'kustomization.yaml', line: 7 });
    expect(find(objs, 'ConfigMap', 'local-settings')).toMatchObject({ path: 'kustomization.yaml', line: 7 });
    expect(find(objs, 'Namespace', 'shop')).toMatchObject({ path: 'namespace.yaml', line: 1 });
  });

  it('pulls a chart from a chart repository', async () => {
    const kustomization = [
      'helmCharts:',
      '- name: shop',
      `  repo: ${repo.url}`,
      '  version: 0.1.0',
      '  releaseName: remote',
      '  valuesInline:',
      '    domain: remote.example.com',
    ].join('\n');
    const before = repo.requests.length;
    const objs = objectsOf(await render([{ path: 'clusters/a/kustomization.yaml', content: kustomization }], 'clusters/a'));
    expect(find(objs, 'ConfigMap', 'remote-settings').obj.data).toEqual({ domain: 'remote.example.com' });
    expect(find(objs, 'Deployment', 'remote-web')).toMatchObject({ path: 'clusters/a/kustomization.yaml', line: 2 });
    expect(find(objs, 'ConfigMap', 'remote-settings')).toMatchObject({ path: 'clusters/a/kustomization.yaml', line: 2 });
    expect(repo.requests.slice(before)).toEqual(expect.arrayContaining(['/index.yaml', '/shop-0.1.0.tgz']));
  });
});

describe('renderKustomization: failures are KNV1068 on the file, with the tool message', () => {
  it('a broken kustomization', async () => {
    const r = await render(fixture('broken'), '');
    expect(r.kind).toBe('failed');
    if (r.kind !== 'failed') return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'KNV1068', path: 'kustomization.yaml' });
    expect(r.errors[0]?.message).toBe('invalid Kustomization: json: unknown field "resourcez"');
    expect(r.errors[0]?.message).not.toContain(tmpRoot);
  });

  it('a missing base', async () => {
    const r = await render(fixture('missing-base'), 'overlays/staging');
    if (r.kind !== 'failed') throw new Error('rendered');
    expect(r.errors[0]).toMatchObject({ code: 'KNV1068', path: 'overlays/staging/kustomization.yaml' });
    expect(r.errors[0]?.message).toContain('../../base');
    expect(r.errors[0]?.message).not.toContain(tmpRoot);
  });

  it('a chart that fails to template', async () => {
    const r = await render([...fixture('helm-broken'), ...chartFiles('charts/shop')], '');
    if (r.kind !== 'failed') throw new Error('rendered');
    expect(r.errors[0]).toMatchObject({ code: 'KNV1068', path: 'kustomization.yaml' });
    expect(r.errors[0]?.message).toContain("execution error at (shop/templates/configmap.yaml:9:13): shop needs .Values.domain (the shop's public host name)");
    // Not the machine's paths or the environment kustomize ran helm with.
    expect(r.errors[0]?.message).not.toContain(tools.helm.path);
    expect(r.errors[0]?.message).not.toMatch(/env=|HELM_CONFIG_HOME|--debug/);
    expect(r.errors[0]?.message).not.toContain(tmpRoot);
    expect(r.errors[0]?.message.length).toBeLessThanOrEqual(2048);
  });

  it('no kustomization at all', async () => {
    const r = await render(fixture('boutique'), 'overlays');
    expect(r).toEqual({ kind: 'failed', errors: [expect.objectContaining({ code: 'KNV1068', path: 'overlays/' })] });
  });

  it('a path outside the repository, refused before kustomize runs', async () => {
    const r = await render([{ path: 'kustomization.yaml', content: 'configMapGenerator:\n- name: env\n  files:\n  - /proc/self/environ\n' }], '');
    expect(r).toEqual({ kind: 'failed', errors: [expect.objectContaining({ code: 'KNV1068', path: 'kustomization.yaml', line: 2 })] });
  });
});

describe('renderKustomization: exec plugins never run', () => {
  let markerDir: string;
  beforeEach(async () => {
    markerDir = await mkdtemp(path.join(tmpdir(), 'pushsync-plugin-marker-'));
  });
  afterEach(async () => {
    await rm(markerDir, { recursive: true, force: true });
  });

  it.each([
    ['an exec KRM function', 'generators', 'apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: gen\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./plugin.sh\n'],
    ['a legacy exec plugin', 'transformers', 'apiVersion: someteam.example.com/v1\nkind: Marker\nmetadata:\n  name: marker\n'],
  ])('%s: vet refuses it, and kustomize run directly does not execute it', async (_name, field, config) => {
    const marker = path.join(markerDir, 'executed');
    const script = `#!/bin/sh\ntouch '${marker}'\ncat\n`;
    const files: SourceFile[] = [
      { path: 'kustomization.yaml', content: `resources:\n- cm.yaml\n${field}:\n- plugin.yaml\n` },
      { path: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n' },
      { path: 'plugin.yaml', content: config },
      { path: 'plugin.sh', content: script },
    ];
    const refused = refusePlugins(files, 'kustomization.yaml');
    expect(refused).toEqual([expect.objectContaining({ code: 'KNV1068', path: 'kustomization.yaml', line: 4 })]);
    expect(refused[0]?.message).toContain('exec and alpha plugins are refused because pushsync renders next to cluster credentials');

    const r = await render(files, '');
    expect(r.kind).toBe('failed');
    if (r.kind === 'failed') {
      expect(r.errors[0]).toMatchObject({ code: 'KNV1068', path: 'kustomization.yaml' });
      expect(r.errors[0]?.message).toMatch(/external plugins disabled; unable to load external plugin '(Gen|Marker)'\n\(pushsync never enables/);
    }
    expect(existsSync(marker)).toBe(false);
  });
});

describe('renderKustomization: limits', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // Accepts a request and never answers: a chart repository that hangs (remote bases are refused before any render).
    server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const hangingChart = (): string => `helmCharts:\n- name: shop\n  repo: ${url}\n  version: 0.1.0\n  releaseName: hang\n`;

  it('the wall-clock limit stops a render that hangs', async () => {
    const started = Date.now();
    const r = await render([{ path: 'kustomization.yaml', content: hangingChart() }], '', { timeoutMs: 1500 });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r).toEqual({ kind: 'failed', errors: [{ code: 'KNV1068', path: 'kustomization.yaml', message: 'kustomize build did not finish within the 1.5 s time limit and was stopped' }] });
  });

  it('the output limit stops a render that produces too much', async () => {
    const r = await render(fixture('boutique'), 'overlays/prod', { maxOutputBytes: 200 });
    expect(r).toEqual({ kind: 'failed', errors: [{ code: 'KNV1068', path: 'overlays/prod/kustomization.yaml', message: 'kustomize build produced more than the 200 bytes output limit and was stopped' }] });
  });

  it('an abort signal stops it too', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await render([{ path: 'kustomization.yaml', content: hangingChart() }], '', { timeoutMs: 30_000 }, ac.signal);
    expect(r).toEqual({ kind: 'failed', errors: [expect.objectContaining({ code: 'KNV1068', message: 'rendering was cancelled' })] });
  });
});

describe('the environment the tools see', () => {
  it('holds no AWS, GitHub or pushsync variable, no kubeconfig, and only homes inside the temp dir', () => {
    const parent = {
      AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't', AWS_PROFILE: 'p',
      GITHUB_TOKEN: 'ghp_x', GITHUB_APP_PRIVATE_KEY: 'k', PUSHSYNC_WEBHOOK_SECRET: 'w', PUSHSYNC_RENDER_TOOLS: '/opt/tools',
      KUBECONFIG: '/var/lib/me/.kube/config', HOME: '/var/lib/me', PATH: '/var/lib/me/bin:/usr/bin', HELM_REPOSITORY_CONFIG: '/var/lib/me/repos.yaml',
      HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost', LANG: 'C.UTF-8',
    };
    const temp = path.join(tmpdir(), 'pushsync-render-x');
    const env = renderEnv(parent, temp, ['/opt/tools/kustomize', '/opt/tools/helm']);
    expect(Object.keys(env).filter((k) => /^(AWS_|GITHUB_|PUSHSYNC_)/.test(k) || k === 'KUBECONFIG' || k === 'HELM_REPOSITORY_CONFIG')).toEqual([]);
    expect(Object.values(env).join('\n')).not.toMatch(/\/var\/lib\/me|AKIA|ghp_x/);
    expect(env.PATH?.split(path.delimiter)[0]).toBe('/opt/tools');
    for (const k of ['HOME', 'TMPDIR', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME', 'HELM_CONFIG_HOME', 'HELM_CACHE_HOME', 'HELM_DATA_HOME', 'KUSTOMIZE_PLUGIN_HOME']) {
      expect(env[k]?.startsWith(`${temp}${path.sep}`), k).toBe(true);
    }
    expect(env).toMatchObject({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost', LANG: 'C.UTF-8', GIT_TERMINAL_PROMPT: '0' });
  });
});

describe('pieces', () => {
  it.each([
    ['resources: [a.yaml]\n', 'resources: [a.yaml]\nbuildMetadata: [originAnnotations]\n', true],
    ['resources: [a.yaml]', 'resources: [a.yaml]\nbuildMetadata: [originAnnotations]\n', true],
    ['buildMetadata: [managedByLabel]\n', 'buildMetadata: [originAnnotations, managedByLabel]\n', true],
    ['buildMetadata: []\n', 'buildMetadata: [originAnnotations]\n', true],
    ['buildMetadata:\n  - managedByLabel\nresources: []\n', 'buildMetadata:\n  - originAnnotations\n  - managedByLabel\nresources: []\n', true],
    ['buildMetadata:\n- originAnnotations\n', 'buildMetadata:\n- originAnnotations\n', false],
    ['buildMetadata: [originAnnotations]\n', 'buildMetadata: [originAnnotations]\n', false],
    ['{"resources": ["a.yaml"]}', '{"resources":["a.yaml"],"buildMetadata":["originAnnotations"]}', true],
  ])('withOriginAnnotations(%j)', (input, text, added) => {
    expect(withOriginAnnotations(input)).toEqual({ text, added });
  });

  it('toolMessage: repository-relative paths, no usage text or colours, trimmed, secrets redacted', () => {
    const repoDir = path.join(tmpdir(), 'pushsync-render-abc', 'repo');
    const stderr = `\u001b[31mError: accumulating resources from '${repoDir}/base': token=abcdefghijkl\n\nUsage:\n  kustomize build [flags]\n`;
    expect(toolMessage(stderr, repoDir)).toBe("accumulating resources from 'base': token=[redacted]");
    expect(toolMessage(`Error: ${'x'.repeat(5000)}`, repoDir)).toHaveLength(2048);
    // kustomize's helm command line after helm's own words is reduced to the helm step.
    const helm = `Error: execution error at (shop/templates/configmap.yaml:9:13): shop needs .Values.domain\n: unable to run: '/opt/bin/helm template broken ${repoDir}/charts/shop --values /tmp/x/shop-kustomize-values.yaml': exit status 1\n`;
    expect(toolMessage(helm, repoDir)).toBe('execution error at (shop/templates/configmap.yaml:9:13): shop needs .Values.domain (helm template)');
  });
});
