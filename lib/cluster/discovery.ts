/**
 * Which resource serves a kind, and is it namespaced? Cached for one run, and with a
 * ClusterCache for a warm process (cache.ts): a kind the cached documents do not know is
 * looked up once more in fresh ones before it is called unknown, so a CRD installed since
 * the cache was filled is found.
 *
 * Uses aggregated discovery (two requests for the whole server: /api and /apis, GA since
 * Kubernetes 1.30) and falls back to the legacy per-group-version documents, fetched only
 * for the group-versions a run actually needs. CRDs declared in the same commit are mapped
 * from their spec, so their custom resources can be planned before the CRD exists.
 */
import { ClusterError, Codes } from './errors.ts';
import type { ClusterCache, DiscoveryDoc } from './cache.ts';
import type { ObjectClient } from './client.ts';
import type { KubeObject } from '../repo/index.ts';

export interface Mapping {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** Plural resource name in URLs. */
  readonly resource: string;
  readonly namespaced: boolean;
}

interface GroupInfo {
  /** Versions in the server's preference order. */
  versions: string[];
  /** version → kind → mapping; undefined while not fetched (legacy discovery is lazy). */
  resources: Map<string, Map<string, Mapping> | undefined>;
}

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json;q=0.9';

/** A warm process's cache of this server's discovery. */
export interface SharedDiscovery {
  readonly cache: ClusterCache;
  readonly key: string;
}

export class Discovery {
  private readonly client: ObjectClient;
  private readonly shared: SharedDiscovery | undefined;
  private groups: Promise<Map<string, GroupInfo>> | undefined;
  /** `groups` came from the warm cache and has not been re-read in this run. */
  private fromCache = false;
  /** Mappings from CRDs declared in this commit: `group/kind` → version → mapping. */
  private readonly declared = new Map<string, Map<string, Mapping>>();

  constructor(client: ObjectClient, shared?: SharedDiscovery) {
    this.client = client;
    this.shared = shared;
  }

  /** Forget what the server told us (a 404 for a kind, CRDs established). Declared CRDs stay. */
  invalidate(): void {
    this.groups = undefined;
    this.fromCache = false;
    if (this.shared) this.shared.cache.dropDiscovery(this.shared.key);
  }

  /** Read the server's documents again when what we have came from the cache: true if so. */
  private async refresh(): Promise<boolean> {
    if (!this.fromCache) return false;
    this.invalidate();
    await this.load();
    return true;
  }

  /** Remember the kinds a CRD in this commit will serve. */
  declareCrd(crd: KubeObject): void {
    const spec = crd.spec as
      | { group?: string; scope?: string; names?: { kind?: string; plural?: string }; versions?: { name?: string; served?: boolean }[] }
      | undefined;
    const group = spec?.group;
    const kind = spec?.names?.kind;
    const plural = spec?.names?.plural;
    if (!group || !kind || !plural) return;
    const byVersion = new Map<string, Mapping>();
    for (const v of spec?.versions ?? []) {
      if (!v.name || v.served === false) continue;
      byVersion.set(v.name, { group, version: v.name, kind, resource: plural, namespaced: spec?.scope !== 'Cluster' });
    }
    this.declared.set(`${group}/${kind}`, byVersion);
  }

  /** Is this group/kind defined by a CRD of this commit? */
  isDeclaredCrdKind(group: string, kind: string): boolean {
    return this.declared.has(`${group}/${kind}`);
  }

  /** The resource for apiVersion+kind; throws ClusterError(KNV2010) when nothing serves it. */
  async resolve(group: string, version: string, kind: string): Promise<Mapping> {
    const served = await this.fromServer(group, version, kind);
    if (served) return served;
    const fromCrd = this.declared.get(`${group}/${kind}`)?.get(version);
    if (fromCrd) return fromCrd;
    if (await this.refresh()) return this.resolve(group, version, kind);
    const gv = group ? `${group}/${version}` : version;
    const known = await this.versionsOfKind(group, kind);
    if (known.length > 0) {
      throw new ClusterError(Codes.resource, `${kind} of ${gv}: the API server does not serve version ${version} (it serves ${known.join(', ')})`);
    }
    throw new ClusterError(
      Codes.resource,
      `unknown kind ${kind} in ${gv}: the API server does not serve it and no CustomResourceDefinition in this commit defines it`,
    );
  }

  /** Does the API server itself (not a CRD of this commit) serve this kind at this version? */
  async served(group: string, version: string, kind: string): Promise<boolean> {
    return (await this.fromServer(group, version, kind)) !== undefined;
  }

  /** The preferred mapping for a group-kind (for listing), or undefined when the kind is gone. */
  async forGroupKind(group: string, kind: string): Promise<Mapping | undefined> {
    const groups = await this.load();
    const g = groups.get(group);
    for (const v of g?.versions ?? []) {
      const m = (await this.resourcesOf(group, v))?.get(kind);
      if (m) return m;
    }
    // A kind that seems gone is checked in fresh documents: its members would be forgotten.
    if (await this.refresh()) return this.forGroupKind(group, kind);
    return undefined;
  }

  private async versionsOfKind(group: string, kind: string): Promise<string[]> {
    const g = (await this.load()).get(group);
    const out: string[] = [];
    for (const v of g?.versions ?? []) if ((await this.resourcesOf(group, v))?.has(kind)) out.push(v);
    return out;
  }

  private async fromServer(group: string, version: string, kind: string): Promise<Mapping | undefined> {
    return (await this.resourcesOf(group, version))?.get(kind);
  }

  private async resourcesOf(group: string, version: string): Promise<Map<string, Mapping> | undefined> {
    const g = (await this.load()).get(group);
    if (!g || !g.resources.has(version)) return undefined;
    let r = g.resources.get(version);
    if (!r) {
      r = await this.legacyResources(group, version);
      g.resources.set(version, r);
    }
    return r;
  }

  private load(): Promise<Map<string, GroupInfo>> {
    if (this.groups) return this.groups;
    if (this.shared) {
      const { doc, cached } = this.shared.cache.discovery(this.shared.key, async () => (await this.fetchGroups()) as DiscoveryDoc);
      this.fromCache = cached;
      this.groups = doc as Promise<Map<string, GroupInfo>>;
      this.groups.catch(() => {
        this.groups = undefined;
      });
      return this.groups;
    }
    this.groups ??= this.fetchGroups().catch((e: unknown) => {
      this.groups = undefined;
      throw e;
    });
    return this.groups;
  }

  private async fetchGroups(): Promise<Map<string, GroupInfo>> {
    const groups = new Map<string, GroupInfo>();
    const [core, named] = await Promise.all([
      this.client.call('discovery /api', { method: 'GET', path: '/api', accept: AGGREGATED }),
      this.client.call('discovery /apis', { method: 'GET', path: '/apis', accept: AGGREGATED }),
    ]);
    for (const res of [core.body, named.body]) {
      const doc = res as { kind?: string };
      if (doc.kind === 'APIGroupDiscoveryList') readAggregated(res as AggregatedList, groups);
      else readLegacy(res, groups);
    }
    return groups;
  }

  private async legacyResources(group: string, version: string): Promise<Map<string, Mapping>> {
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const res = await this.client.call(`discovery ${path}`, { method: 'GET', path });
    const list = res.body as { resources?: { name: string; kind: string; namespaced: boolean }[] };
    const out = new Map<string, Mapping>();
    for (const r of list.resources ?? []) {
      if (r.name.includes('/')) continue; // subresources (deployments/scale)
      out.set(r.kind, { group, version, kind: r.kind, resource: r.name, namespaced: r.namespaced });
    }
    return out;
  }
}

interface AggregatedList {
  items?: {
    metadata?: { name?: string };
    versions?: {
      version: string;
      resources?: { resource: string; scope: string; responseKind?: { kind?: string } }[];
    }[];
  }[];
}

function readAggregated(list: AggregatedList, groups: Map<string, GroupInfo>): void {
  for (const item of list.items ?? []) {
    const group = item.metadata?.name ?? '';
    const info: GroupInfo = { versions: [], resources: new Map() };
    for (const v of item.versions ?? []) {
      const byKind = new Map<string, Mapping>();
      for (const r of v.resources ?? []) {
        const kind = r.responseKind?.kind;
        if (!kind) continue;
        byKind.set(kind, { group, version: v.version, kind, resource: r.resource, namespaced: r.scope === 'Namespaced' });
      }
      info.versions.push(v.version);
      info.resources.set(v.version, byKind);
    }
    groups.set(group, info);
  }
}

/** Legacy /api (APIVersions) or /apis (APIGroupList): versions only; resources fetched lazily. */
function readLegacy(doc: unknown, groups: Map<string, GroupInfo>): void {
  const d = doc as { kind?: string; versions?: string[]; groups?: { name: string; versions: { version: string }[]; preferredVersion?: { version: string } }[] };
  if (d.kind === 'APIVersions') {
    groups.set('', { versions: [...(d.versions ?? [])], resources: new Map((d.versions ?? []).map((v) => [v, undefined])) });
    return;
  }
  for (const g of d.groups ?? []) {
    const versions = g.versions.map((v) => v.version);
    const preferred = g.preferredVersion?.version;
    if (preferred) versions.sort((a, b) => (a === preferred ? -1 : b === preferred ? 1 : 0));
    groups.set(g.name, { versions, resources: new Map(versions.map((v) => [v, undefined])) });
  }
}
