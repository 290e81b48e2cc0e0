/**
 * Shared helpers for the cluster-engine suites: a real control plane per file, fixtures as
 * YAML with a namespace placeholder, and raw API reads that bypass the engine.
 */
import { readFileSync } from 'node:fs';
import { loadAll } from 'js-yaml';
import type { KubeObject } from '../../lib/repo/index.ts';
import { connect } from '../../lib/cluster/index.ts';
import type { Connection } from '../../lib/cluster/index.ts';
import type { KubeResponse } from '../../lib/cluster/http.ts';
import { startControlPlane } from '../helpers/control-plane.ts';
import { BOUTIQUE_MANIFESTS } from '../helpers/fixtures.ts';
import type { ControlPlane } from '../helpers/control-plane.ts';

export interface Harness {
  readonly cp: ControlPlane;
  readonly conn: Connection;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const cp = await startControlPlane();
  const conn = await connect(cp.kubeconfig);
  return {
    cp,
    conn,
    close: async () => {
      conn.close();
      await cp.stop();
    },
  };
}

/** Every document of a YAML file, as objects (empty documents dropped). */
export function readYaml(path: string): KubeObject[] {
  return (loadAll(readFileSync(path, 'utf8')) as (KubeObject | null)[]).filter((o): o is KubeObject => o !== null);
}

/** Online Boutique (2020) in namespace `ns`, with the Namespace itself and source paths. */
export function boutique(ns: string): KubeObject[] {
  const objs = readYaml(BOUTIQUE_MANIFESTS).map((o) => ({
    ...o,
    metadata: {
      ...o.metadata,
      namespace: ns,
      annotations: { ...(o.metadata.annotations ?? {}), 'pushsync.dev/source-path': `namespaces/${ns}/boutique.yaml` },
    },
  }));
  return [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, annotations: { 'pushsync.dev/source-path': `namespaces/${ns}/namespace.yaml` } } }, ...objs];
}

export function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function configMap(ns: string, name: string, data: Record<string, string> = { k: 'v' }): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data };
}

const RESOURCES: Record<string, string> = {
  Namespace: '/api/v1/namespaces',
  ConfigMap: 'configmaps',
  Service: 'services',
  Deployment: 'deployments',
  Secret: 'secrets',
};

/** The REST path of a built-in object, for raw reads in assertions. */
export function pathOf(o: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  if (o.kind === 'Namespace') return `/api/v1/namespaces/${o.metadata.name}`;
  const res = RESOURCES[o.kind];
  if (!res) throw new Error(`pathOf: add ${o.kind} to RESOURCES`);
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${base}/namespaces/${o.metadata.namespace}/${res}/${o.metadata.name}`;
}

export async function raw(conn: Connection, method: 'GET' | 'PATCH' | 'PUT' | 'DELETE' | 'POST', path: string, body?: unknown, contentType?: string): Promise<KubeResponse> {
  return conn.http.request({ method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
}

export interface LiveRecord {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: { replicas?: number; [k: string]: unknown };
  data?: Record<string, string>;
  [k: string]: unknown;
}

export async function getLive(conn: Connection, o: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<LiveRecord | undefined> {
  const res = await raw(conn, 'GET', pathOf(o));
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET ${pathOf(o)}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as LiveRecord;
}

/** resourceVersion of each object, keyed by kind/namespace/name. */
export async function resourceVersions(conn: Connection, objs: readonly KubeObject[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const o of objs) {
    const live = await getLive(conn, o);
    out.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, live?.metadata.resourceVersion ?? 'missing');
  }
  return out;
}

/** Namespaces never finish deleting without controllers: empty their finalizers directly. */
export async function finalizeNamespace(conn: Connection, name: string): Promise<void> {
  const res = await raw(conn, 'GET', `/api/v1/namespaces/${name}`);
  if (res.status === 404) return;
  const ns = res.body as { spec?: { finalizers?: string[] } };
  ns.spec = { ...ns.spec, finalizers: [] };
  const put = await raw(conn, 'PUT', `/api/v1/namespaces/${name}/finalize`, ns);
  if (put.status !== 200) throw new Error(`finalize ${name}: ${put.status} ${JSON.stringify(put.body)}`);
}

/** List objects of a resource path carrying a label selector. */
export async function listLabelled(conn: Connection, path: string, selector: string): Promise<LiveRecord[]> {
  const res = await conn.http.request({ method: 'GET', path, query: { labelSelector: selector } });
  if (res.status !== 200) throw new Error(`LIST ${path}: ${res.status}`);
  return (res.body as { items: LiveRecord[] }).items;
}

/** An ancestry oracle for a linear history: `history[i]` is an ancestor of `history[j]` when i < j. */
export function linearHistory(history: readonly string[]): (a: string, b: string) => Promise<boolean> {
  return async (a, b) => {
    const i = history.indexOf(a);
    const j = history.indexOf(b);
    return i >= 0 && j >= 0 && i < j;
  };
}
