/**
 * From declared objects to an ordered work list, before anything is written: check identity,
 * resolve each kind through discovery, apply opt-outs, stamp our metadata, build the
 * dependency graph and sort it into waves. Per-object problems become failed entries; only a
 * dependency cycle fails the whole run (it is a property of the commit, not of one object).
 */
import type { KubeObject } from '../repo/index.ts';
import type { Discovery, Mapping } from './discovery.ts';
import { Codes, toErrorInfo } from './errors.ts';
import type { ErrorInfo } from './errors.ts';
import { isLocalConfig, hasManagementDisabled, isMutationIgnored, Keys, stampForApply } from './metadata.ts';
import { groupKind, idKey, splitApiVersion } from './objects.ts';
import type { ObjectId } from './objects.ts';
import { dependsOnIds, sortIntoWaves } from './order.ts';

export interface Item {
  readonly id: ObjectId;
  readonly key: string;
  readonly mapping: Mapping;
  readonly namespaced: boolean;
  /** Keys of declared objects this one must follow. */
  readonly deps: readonly string[];
  /** Keys among `deps` that are the object's Namespace or CRD (it cannot exist before them). */
  readonly hardDeps: readonly string[];
  /** What we server-side apply. */
  readonly body: KubeObject;
  readonly mutationIgnore: boolean;
  /** The kind comes from a CRD in this commit that the server does not serve yet. */
  readonly pendingCrd: boolean;
}

export interface DisabledItem {
  readonly id: ObjectId;
  readonly key: string;
}

export interface EarlyFailure {
  readonly id: ObjectId;
  readonly error: ErrorInfo;
}

/** The commit's objects as work: ordered waves, plus what cannot or must not be applied. */
export interface WorkList {
  readonly waves: readonly (readonly Item[])[];
  readonly items: readonly Item[];
  readonly disabled: readonly DisabledItem[];
  readonly failed: readonly EarlyFailure[];
  /** Every declared identity, including failed and disabled ones: never pruned. */
  readonly declaredKeys: ReadonlySet<string>;
  /** Group-kinds to look for live members of the set, with the mapping to list them by. */
  readonly listMappings: ReadonlyMap<string, Mapping>;
  /** Namespaces holding declared objects (failed and disabled ones included): never pruned. */
  readonly usedNamespaces: ReadonlySet<string>;
}

function identityProblem(o: KubeObject): string | undefined {
  if (typeof o.apiVersion !== 'string' || !o.apiVersion) return 'missing apiVersion';
  if (typeof o.kind !== 'string' || !o.kind) return 'missing kind';
  if (!o.metadata || typeof o.metadata.name !== 'string' || !o.metadata.name) return 'missing metadata.name';
  return undefined;
}

function describeSource(o: KubeObject): string {
  const a = o.metadata?.annotations ?? {};
  const src = a['pushsync.dev/source-path'] ?? a['configmanagement.gke.io/source-path'];
  return src ? ` (${src})` : '';
}

export async function prepare(discovery: Discovery, objects: readonly KubeObject[], applysetId: string): Promise<WorkList> {
  const failed: EarlyFailure[] = [];
  const disabled: DisabledItem[] = [];
  const declaredKeys = new Set<string>();
  const listMappings = new Map<string, Mapping>();
  const seen = new Set<string>();
  const pending: { obj: KubeObject; id: ObjectId; key: string; mapping: Mapping; pendingCrd: boolean }[] = [];

  const declared = objects.filter((o) => !isLocalConfig(o));
  for (const o of declared) {
    if (!identityProblem(o) && o.kind === 'CustomResourceDefinition' && splitApiVersion(o.apiVersion).group === 'apiextensions.k8s.io') {
      discovery.declareCrd(o);
    }
  }

  for (const o of declared) {
    const problem = identityProblem(o);
    if (problem) {
      const id: ObjectId = { group: '', kind: String(o.kind ?? '?'), name: String(o.metadata?.name ?? '?') };
      failed.push({ id, error: { code: Codes.resource, message: `${problem}${describeSource(o)}` } });
      continue;
    }
    const { group, version } = splitApiVersion(o.apiVersion);
    const rawId: ObjectId = { group, kind: o.kind, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}), name: o.metadata.name };
    let mapping: Mapping;
    try {
      mapping = await discovery.resolve(group, version, o.kind);
    } catch (e) {
      declaredKeys.add(idKey(rawId));
      if (hasManagementDisabled(o)) continue; // never touched anyway
      failed.push({ id: rawId, error: withSource(toErrorInfo(e), o) });
      continue;
    }
    // Namespaced objects without a namespace land in `default`, as kubectl does.
    const id: ObjectId = mapping.namespaced ? { ...rawId, namespace: rawId.namespace ?? 'default' } : rawId;
    const key = idKey(id);
    declaredKeys.add(key);
    const gk = groupKind(id);
    if (!listMappings.has(gk)) listMappings.set(gk, mapping);
    if (!mapping.namespaced && rawId.namespace) {
      failed.push({ id, error: { code: Codes.resource, message: `${o.kind} is cluster-scoped but declares metadata.namespace "${rawId.namespace}"${describeSource(o)}` } });
      continue;
    }
    if (seen.has(key)) {
      failed.push({ id, error: { code: Codes.resource, message: `declared more than once${describeSource(o)}` } });
      continue;
    }
    seen.add(key);
    if (hasManagementDisabled(o)) {
      disabled.push({ id, key });
      continue;
    }
    if (o.metadata.labels?.[Keys.partOf] !== undefined) {
      failed.push({ id, error: { code: Codes.resource, message: `declares the label ${Keys.partOf}, which only the applier may set${describeSource(o)}` } });
      continue;
    }
    const pendingCrd = discovery.isDeclaredCrdKind(group, o.kind) && !(await discovery.served(group, version, o.kind));
    pending.push({ obj: o, id, key, mapping, pendingCrd });
  }

  const crdKeyByGroupKind = new Map<string, string>();
  const namespaceKeys = new Set<string>();
  for (const p of pending) {
    if (p.id.kind === 'CustomResourceDefinition' && p.id.group === 'apiextensions.k8s.io') {
      const spec = p.obj.spec as { group?: string; names?: { kind?: string } } | undefined;
      if (spec?.group && spec.names?.kind) crdKeyByGroupKind.set(`${spec.group}/${spec.names.kind}`, p.key);
    }
    if (p.id.kind === 'Namespace' && p.id.group === '') namespaceKeys.add(p.key);
  }

  const items: Item[] = [];
  for (const p of pending) {
    const hardDeps: string[] = [];
    const crdKey = crdKeyByGroupKind.get(`${p.id.group}/${p.id.kind}`);
    if (crdKey) hardDeps.push(crdKey);
    if (p.mapping.namespaced && p.id.namespace) {
      const nsKey = idKey({ group: '', kind: 'Namespace', name: p.id.namespace });
      if (namespaceKeys.has(nsKey)) hardDeps.push(nsKey);
    }
    const deps = [...hardDeps];
    const dependsOn = p.obj.metadata.annotations?.[Keys.dependsOn];
    if (dependsOn) {
      try {
        for (const ref of dependsOnIds(dependsOn)) deps.push(idKey(ref));
      } catch (e) {
        failed.push({ id: p.id, error: withSource(toErrorInfo(e), p.obj) });
        continue;
      }
    }
    const body = stampForApply(p.obj, applysetId);
    if (p.mapping.namespaced) body.metadata.namespace = p.id.namespace as string;
    items.push({
      id: p.id,
      key: p.key,
      mapping: p.mapping,
      namespaced: p.mapping.namespaced,
      deps,
      hardDeps,
      body,
      mutationIgnore: isMutationIgnored(p.obj),
      pendingCrd: p.pendingCrd,
    });
  }

  const waves = sortIntoWaves(items);
  const usedNamespaces = new Set([...items, ...disabled, ...failed].flatMap((x) => (x.id.namespace ? [x.id.namespace] : [])));
  return { waves, items, disabled, failed, declaredKeys, listMappings, usedNamespaces };
}

function withSource(e: ErrorInfo, o: KubeObject): ErrorInfo {
  const src = describeSource(o);
  return src && !e.message.includes(src) ? { ...e, message: `${e.message}${src}` } : e;
}
