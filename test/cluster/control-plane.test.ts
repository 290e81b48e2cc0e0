import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneError, startControlPlane, type ControlPlane } from '../helpers/control-plane.ts';

const FIELD_MANAGER = 'pushsync-test';
const HELPER = fileURLToPath(new URL('../helpers/control-plane.ts', import.meta.url));
const GO_MOD = fileURLToPath(new URL('../apiserver/go.mod', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

let cp: ControlPlane;
let kc: KubeConfig;

beforeAll(async () => {
  cp = await startControlPlane({ users: [{ name: 'nobody' }] });
  console.log(`control plane ready in ${cp.startupMs} ms at ${cp.server}`);
  kc = new KubeConfig();
  kc.loadFromString(cp.kubeconfig);
});

afterAll(async () => {
  await cp?.stop();
});

function apply<T extends KubernetesObject>(obj: T): Promise<T> {
  return KubernetesObjectApi.makeApiClient(kc).patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

async function applyNamespace(): Promise<string> {
  const name = uniqueName('cp-test');
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

function isGone(pid: number): boolean {
  // A killed child of a dead parent may linger as a zombie until init reaps it.
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

describe('test control plane', () => {
  it('serves the Kubernetes version that test/apiserver/go.mod builds', async () => {
    const wanted = /k8s\.io\/kubernetes (v1\.(\d+)\.\d+)/.exec(readFileSync(GO_MOD, 'utf8'));
    expect(wanted, 'k8s.io/kubernetes version in go.mod').not.toBeNull();
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(wanted![1]);
    expect(version.major).toBe('1');
    expect(version.minor).toBe(wanted![2]);
  });

  it('creates a namespace and a ConfigMap with server-side apply and reads them back', async () => {
    const namespace = await applyNamespace();
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace } };
    await apply({ ...cm, data: { color: 'blue', size: 'L' } });
    // Applying without `size` must remove it: the field manager owned it.
    await apply({ ...cm, data: { color: 'green' } });

    const core = kc.makeApiClient(CoreV1Api);
    const read = await core.readNamespacedConfigMap({ name: 'settings', namespace });
    expect(read.data).toEqual({ color: 'green' });
    const managers = (read.metadata?.managedFields ?? []).map((f) => `${f.manager}/${f.operation}`);
    expect(managers).toEqual([`${FIELD_MANAGER}/Apply`]);
    expect((await core.readNamespace({ name: namespace })).status?.phase).toBe('Active');
  });

  it('marks a CRD Established without controllers and serves its custom resources', async () => {
    const group = `${uniqueName('g')}.pushsync.test`;
    const crdName = `widgets.${group}`;
    await apply({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
          },
        ],
      },
    });

    const ext = kc.makeApiClient(ApiextensionsV1Api);
    const deadline = Date.now() + 30_000;
    let established = false;
    while (!established && Date.now() < deadline) {
      const crd = await ext.readCustomResourceDefinition({ name: crdName });
      established = (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
      if (!established) await new Promise((r) => setTimeout(r, 100));
    }
    expect(established, `${crdName} Established within 30 s`).toBe(true);

    const namespace = await applyNamespace();
    // Discovery can lag the Established condition by a moment.
    let widget: KubernetesObject | undefined;
    for (let i = 0; i < 50 && !widget; i++) {
      try {
        widget = await apply({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace }, spec: { size: 3 } } as KubernetesObject);
      } catch (e) {
        if (i === 49) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const read = await KubernetesObjectApi.makeApiClient(kc).read<KubernetesObject & { spec?: { size?: number } }>({
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'w1', namespace },
    });
    expect(read.spec?.size).toBe(3);
  });

  it('supports kubectl apply --server-side with the built kubectl', async () => {
    const namespace = await applyNamespace();
    const manifest = dump({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-kubectl', namespace }, data: { k: 'v' } });
    const applied = await cp.kubectl(['apply', '--server-side', '--field-manager=kubectl-test', '-f', '-'], { input: manifest });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('configmap/from-kubectl serverside-applied');
    const got = await cp.kubectl(['get', 'configmap', 'from-kubectl', '-n', namespace, '-o', 'jsonpath={.data.k}']);
    expect(got.stdout).toBe('v');
  });

  it('authenticates extra test users, whom RBAC denies what they were not granted', async () => {
    const nobody = new KubeConfig();
    nobody.loadFromString(cp.kubeconfigFor('nobody'));
    const err = await nobody
      .makeApiClient(CoreV1Api)
      .listNamespace()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code).toBe(403);
    expect(() => cp.kubeconfigFor('somebody')).toThrow(ControlPlaneError);
  });

  it('keeps etcd data, port and credentials across an API server crash and restart', async () => {
    const namespace = await applyNamespace();
    await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'survivor', namespace }, data: { a: '1' } });
    const before = cp.pids();

    await cp.stopApiServer({ signal: 'SIGKILL' });
    expect(cp.pids().apiServer).toBeUndefined();
    const core = kc.makeApiClient(CoreV1Api);
    await expect(core.readNamespacedConfigMap({ name: 'survivor', namespace })).rejects.toThrow();

    const t0 = Date.now();
    await cp.startApiServer();
    console.log(`API server restarted in ${Date.now() - t0} ms`);
    expect(cp.pids().etcd).toBe(before.etcd);
    expect(cp.pids().apiServer).not.toBe(before.apiServer);
    expect((await core.readNamespacedConfigMap({ name: 'survivor', namespace })).data).toEqual({ a: '1' });
  });

  it('fails loudly, and cleans up, when kube-apiserver cannot start', async () => {
    const err = await startControlPlane({ apiServerArgs: ['--no-such-flag'] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect((err as ControlPlaneError).code).toBe('PROCESS_EXITED');
    const message = (err as ControlPlaneError).message;
    expect(message).toContain('no-such-flag');
    const dir = /last lines of (\S+)\/kube-apiserver\.log/.exec(message)?.[1];
    expect(dir, 'the error names the log it quotes').toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });

  it('leaves no process or directory behind when the test process is SIGKILLed', async () => {
    const script = `import(${JSON.stringify(HELPER)}).then(async (m) => {
      const cp = await m.startControlPlane();
      console.log(JSON.stringify({ ...cp.pids(), dir: cp.dir }));
      setInterval(() => {}, 1000);
    });`;
    // node itself, not the tsx CLI: that is a wrapper process, and killing it would not be
    // killing the process that owns the control plane.
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => {
          out += c;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.once('exit', (code) => reject(new Error(`child exited (${code}) before its control plane was up: ${out}`)));
      });
      const started = JSON.parse(line) as { etcd: number; apiServer: number; dir: string };
      expect(isGone(started.etcd) || isGone(started.apiServer)).toBe(false);

      child.kill('SIGKILL');
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !(isGone(started.etcd) && isGone(started.apiServer) && !existsSync(started.dir))) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect({ etcd: isGone(started.etcd), apiServer: isGone(started.apiServer), dir: existsSync(started.dir) }).toEqual({
        etcd: true,
        apiServer: true,
        dir: false,
      });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
