/**
 * Deterministic generator of a large hierarchical policy repo for the vet benchmark.
 *
 * Shape (defaults): 10 divisions × 10 groups × 10 namespaces = 1,000 namespaces, each with
 * a Namespace file and an app file of 8 objects; inherited RoleBindings/ResourceQuotas/
 * LimitRanges at every abstract level; Cluster/ClusterSelector objects and both kinds of
 * cluster selection; NamespaceSelectors on user labels and on depth labels. With the defaults:
 * 2,138 files, 9,165 declared objects, and per cluster (nomos hydrate) defaultcluster 12,111,
 * bench-prod-1 12,702, bench-prod-2 11,801, bench-staging 13,112 hydrated objects.
 *
 * generateOneClusterRepo() makes the repo of issue #13 §1 instead: one Cluster object, 1,000
 * namespaces under three abstract levels (2 divisions × 5 groups × 5 teams × 20 namespaces),
 * inherited objects at the first and third levels: 2,114 files, 9,501 declared objects.
 *
 * The same options always give byte-identical files, so timings are comparable across runs
 * and machines. The repo must vet clean with `nomos vet` for every cluster.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { dump } from 'js-yaml';

export interface GenerateOptions {
  readonly divisions: number;
  readonly groupsPerDivision: number;
  readonly namespacesPerGroup: number;
}

export const DEFAULT_GENERATE_OPTIONS: GenerateOptions = {
  divisions: 10,
  groupsPerDivision: 10,
  namespacesPerGroup: 10,
};

/** One generated file; `path` is relative to the policy dir, `/`-separated. */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

export interface GeneratedRepo {
  readonly files: readonly GeneratedFile[];
  /** Declared objects (documents) over all files. */
  readonly objectCount: number;
  readonly namespaceCount: number;
  /** The Cluster objects in clusterregistry/. */
  readonly clusters: readonly string[];
}

type Obj = Record<string, unknown>;

const CLUSTERS: ReadonlyArray<{ name: string; labels: Record<string, string> }> = [
  { name: 'bench-prod-1', labels: { env: 'prod', region: 'us-east1' } },
  { name: 'bench-prod-2', labels: { env: 'prod', region: 'europe-west1' } },
  { name: 'bench-staging', labels: { env: 'staging', region: 'us-east1' } },
];

const RBAC = 'rbac.authorization.k8s.io';

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function yamlDocs(objects: readonly Obj[]): string {
  // lineWidth -1: never fold long strings, so the output does not depend on js-yaml's folding rules.
  return objects.map((o) => dump(o, { lineWidth: -1, noRefs: true })).join('---\n');
}

function meta(name: string, extra: Obj = {}): Obj {
  return { name, ...extra };
}

function roleBinding(name: string, role: { kind: 'Role' | 'ClusterRole'; name: string }, subject: Obj, annotations?: Record<string, string>): Obj {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'RoleBinding',
    metadata: meta(name, annotations ? { annotations } : {}),
    subjects: [subject],
    roleRef: { apiGroup: RBAC, kind: role.kind, name: role.name },
  };
}

function systemFiles(): GeneratedFile[] {
  return [
    {
      path: 'system/repo.yaml',
      content: yamlDocs([{ apiVersion: 'configmanagement.gke.io/v1', kind: 'Repo', metadata: meta('repo'), spec: { version: '1.0.0' } }]),
    },
    {
      path: 'system/hierarchyconfig.yaml',
      content: yamlDocs([
        {
          apiVersion: 'configmanagement.gke.io/v1',
          kind: 'HierarchyConfig',
          metadata: meta('workloads'),
          spec: { resources: [{ group: 'apps', kinds: ['Deployment'], hierarchyMode: 'none' }] },
        },
      ]),
    },
  ];
}

/** The ClusterSelectors both generated repos share (prod, non-prod, us). */
function selectorsFile(): GeneratedFile {
  const selector = (name: string, selector: Obj): Obj => ({ apiVersion: 'configmanagement.gke.io/v1', kind: 'ClusterSelector', metadata: meta(name), spec: { selector } });
  return {
    path: 'clusterregistry/selectors.yaml',
    content: yamlDocs([
      selector('prod', { matchLabels: { env: 'prod' } }),
      selector('non-prod', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }),
      selector('us', { matchExpressions: [{ key: 'region', operator: 'In', values: ['us-east1', 'us-west1'] }] }),
    ]),
  };
}

/** A read-only ClusterRole over the workload kinds. */
function viewer(name: string, annotations?: Record<string, string>): Obj {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRole',
    metadata: meta(name, annotations ? { annotations } : {}),
    rules: [{ apiGroups: ['', 'apps'], resources: ['pods', 'services', 'configmaps', 'deployments'], verbs: ['get', 'list', 'watch'] }],
  };
}

function clusterRegistryFiles(): GeneratedFile[] {
  const clusters = CLUSTERS.map((c) => ({
    apiVersion: 'clusterregistry.k8s.io/v1alpha1',
    kind: 'Cluster',
    metadata: meta(c.name, { labels: c.labels }),
  }));
  return [
    { path: 'clusterregistry/clusters.yaml', content: yamlDocs(clusters) },
    selectorsFile(),
  ];
}

function clusterFiles(o: GenerateOptions): GeneratedFile[] {
  const roles: Obj[] = [viewer('org-viewer'), viewer('us-auditor', { 'configmanagement.gke.io/cluster-selector': 'us' })];
  for (let d = 0; d < o.divisions; d++) roles.push(viewer(`div-${pad(d)}-admin`));
  return [{ path: 'cluster/clusterroles.yaml', content: yamlDocs(roles) }];
}

function namespaceSelector(name: string, selector: Obj): Obj {
  return { apiVersion: 'configmanagement.gke.io/v1', kind: 'NamespaceSelector', metadata: meta(name), spec: { selector } };
}

function rootFiles(): GeneratedFile[] {
  return [
    {
      path: 'namespaces/org-viewers.yaml',
      content: yamlDocs([roleBinding('org-viewers', { kind: 'ClusterRole', name: 'org-viewer' }, { kind: 'Group', apiGroup: RBAC, name: 'everyone@bench.example' })]),
    },
    {
      path: 'namespaces/selectors.yaml',
      content: yamlDocs([
        namespaceSelector('critical', { matchLabels: { tier: 'critical' } }),
        // Depth label: the first group of every division (dir names repeat across divisions).
        namespaceSelector('pilot-groups', { matchLabels: { 'grp-00.tree.hnc.x-k8s.io/depth': '1' } }),
      ]),
    },
    {
      path: 'namespaces/selected.yaml',
      content: yamlDocs([
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: meta('allow-monitoring', { annotations: { 'configmanagement.gke.io/namespace-selector': 'critical' } }),
          spec: {
            podSelector: {},
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] }],
          },
        },
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: meta('pilot-features', { annotations: { 'configmanagement.gke.io/namespace-selector': 'pilot-groups' } }),
          data: { 'new-checkout': 'true' },
        },
      ]),
    },
  ];
}

function divisionFiles(d: number): GeneratedFile[] {
  const dir = `namespaces/div-${pad(d)}`;
  return [
    {
      path: `${dir}/policy.yaml`,
      content: yamlDocs([
        { apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta('division-quota'), spec: { hard: { 'requests.cpu': '32', 'requests.memory': '128Gi', pods: '200' } } },
        roleBinding('division-admins', { kind: 'ClusterRole', name: `div-${pad(d)}-admin` }, { kind: 'Group', apiGroup: RBAC, name: `div-${pad(d)}-admins@bench.example` }),
      ]),
    },
    {
      path: `${dir}/selectors.yaml`,
      content: yamlDocs([namespaceSelector(`div-${pad(d)}-standard`, { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['critical'] }] })]),
    },
    {
      path: `${dir}/limits.yaml`,
      content: yamlDocs([
        {
          apiVersion: 'v1',
          kind: 'LimitRange',
          metadata: meta('standard-limits', { annotations: { 'configmanagement.gke.io/namespace-selector': `div-${pad(d)}-standard` } }),
          spec: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '512Mi' }, defaultRequest: { cpu: '100m', memory: '128Mi' } }] },
        },
      ]),
    },
  ];
}

function groupFiles(d: number, g: number): GeneratedFile[] {
  return [
    {
      path: `namespaces/div-${pad(d)}/grp-${pad(g)}/developers.yaml`,
      content: yamlDocs([
        roleBinding('group-developers', { kind: 'ClusterRole', name: 'edit' }, { kind: 'Group', apiGroup: RBAC, name: `div-${pad(d)}-grp-${pad(g)}@bench.example` }),
      ]),
    },
  ];
}

/** A namespace dir under `parent` (default: the 4-cluster repo's group dir). */
function namespaceFiles(d: number, g: number, n: number, parent = `namespaces/div-${pad(d)}/grp-${pad(g)}`, canaryClusters = 'bench-prod-1, bench-staging'): GeneratedFile[] {
  const name = `ns-${pad(d)}-${pad(g)}-${pad(n)}`;
  const dir = `${parent}/${name}`;
  const labels: Record<string, string> = { team: `team-${pad(d)}-${pad(g)}`, tier: n % 5 === 0 ? 'critical' : 'standard' };
  // Every tenth namespace is a sandbox that exists only outside production.
  const nsAnnotations = n % 10 === 9 ? { annotations: { 'configmanagement.gke.io/cluster-selector': 'non-prod' } } : {};
  const app = { app: 'app' };
  const objects: Obj[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('app-config'), data: { LOG_LEVEL: 'info', OWNER: labels.team } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('app') },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'Role',
      metadata: meta('app-reader'),
      rules: [{ apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'watch', 'list'] }],
    },
    roleBinding('app-reader', { kind: 'Role', name: 'app-reader' }, { kind: 'ServiceAccount', name: 'app', namespace: name }),
    { apiVersion: 'v1', kind: 'Service', metadata: meta('app'), spec: { selector: app, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('app', { labels: app }),
      spec: {
        replicas: 2,
        selector: { matchLabels: app },
        template: {
          metadata: { labels: app },
          spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: `registry.bench.example/${name}/app:1.0.${n}`, ports: [{ containerPort: 8080 }] }] },
        },
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta('app', { annotations: { 'configmanagement.gke.io/cluster-selector': 'prod' } }),
      spec: { minAvailable: 1, selector: { matchLabels: app } },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('canary-flags', { annotations: { 'configsync.gke.io/cluster-name-selector': canaryClusters } }),
      data: { canary: 'enabled' },
    },
  ];
  return [
    { path: `${dir}/namespace.yaml`, content: yamlDocs([{ apiVersion: 'v1', kind: 'Namespace', metadata: meta(name, { labels, ...nsAnnotations }) }]) },
    { path: `${dir}/app.yaml`, content: yamlDocs(objects) },
  ];
}

function countDocuments(content: string): number {
  return content.split(/^---$/m).filter((doc) => doc.trim() !== '').length;
}

/** Build the repo in memory. Pure: the same options always give the same files, sorted by path. */
export function generateRepo(options: Partial<GenerateOptions> = {}): GeneratedRepo {
  const o: GenerateOptions = { ...DEFAULT_GENERATE_OPTIONS, ...options };
  const files: GeneratedFile[] = [...systemFiles(), ...clusterRegistryFiles(), ...clusterFiles(o), ...rootFiles()];
  for (let d = 0; d < o.divisions; d++) {
    files.push(...divisionFiles(d));
    for (let g = 0; g < o.groupsPerDivision; g++) {
      files.push(...groupFiles(d, g));
      for (let n = 0; n < o.namespacesPerGroup; n++) files.push(...namespaceFiles(d, g, n));
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    files,
    objectCount: files.reduce((sum, f) => sum + countDocuments(f.content), 0),
    namespaceCount: o.divisions * o.groupsPerDivision * o.namespacesPerGroup,
    clusters: CLUSTERS.map((c) => c.name),
  };
}

/** Write the files under `dir` (created as needed). */
export async function writeRepo(dir: string, files: readonly GeneratedFile[]): Promise<void> {
  const dirs = new Set(files.map((f) => dirname(join(dir, f.path))));
  for (const d of [...dirs].sort()) await mkdir(d, { recursive: true });
  // Bounded parallelism: ~2,000 small writes, without opening them all at once.
  const queue = [...files];
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f; f = queue.shift()) await writeFile(join(dir, f.path), f.content);
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** Shape of the one-cluster repo: divisions × groups × teams abstract dirs, namespaces per team. */
export interface OneClusterOptions {
  readonly divisions: number;
  readonly groupsPerDivision: number;
  readonly teamsPerGroup: number;
  readonly namespacesPerTeam: number;
}

export const DEFAULT_ONE_CLUSTER_OPTIONS: OneClusterOptions = {
  divisions: 2,
  groupsPerDivision: 5,
  teamsPerGroup: 5,
  namespacesPerTeam: 20,
};

/** The single Cluster of the one-cluster repo. */
export const ONE_CLUSTER = { name: 'bench-prod', labels: { env: 'prod', region: 'us-east1' } } as const;

function oneClusterRegistryFiles(): GeneratedFile[] {
  return [
    {
      path: 'clusterregistry/cluster.yaml',
      content: yamlDocs([{ apiVersion: 'clusterregistry.k8s.io/v1alpha1', kind: 'Cluster', metadata: meta(ONE_CLUSTER.name, { labels: { ...ONE_CLUSTER.labels } }) }]),
    },
    selectorsFile(),
  ];
}

/** One viewer ClusterRole per abstract dir, plus the organisation's two. */
function oneClusterRoleFiles(o: OneClusterOptions): GeneratedFile[] {
  const roles: Obj[] = [viewer('org-viewer'), viewer('us-auditor', { 'configmanagement.gke.io/cluster-selector': 'us' })];
  for (let d = 0; d < o.divisions; d++) {
    roles.push(viewer(`div-${pad(d)}-admin`));
    for (let g = 0; g < o.groupsPerDivision; g++) {
      roles.push(viewer(`grp-${pad(d)}-${pad(g)}-admin`));
      for (let t = 0; t < o.teamsPerGroup; t++) roles.push(viewer(`team-${pad(d)}-${pad(g)}-${pad(t)}-viewer`));
    }
  }
  // Aggregated roles up to the object count (9,501 with the defaults).
  for (let i = 0; i < 318; i++) roles.push({ ...viewer(`feature-${String(i).padStart(3, '0')}-viewer`), aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [`bench.example/feature-${String(i).padStart(3, '0')}`]: 'true' } }] } });
  return [{ path: 'cluster/clusterroles.yaml', content: yamlDocs(roles) }];
}

/** Two files per team dir, one object each, inherited by the team's namespaces. */
function teamFiles(dir: string, team: string): GeneratedFile[] {
  return [
    {
      path: `${dir}/access.yaml`,
      content: yamlDocs([roleBinding('team-viewers', { kind: 'ClusterRole', name: `${team}-viewer` }, { kind: 'Group', apiGroup: RBAC, name: `${team}-viewers@bench.example` })]),
    },
    {
      path: `${dir}/quota.yaml`,
      content: yamlDocs([{ apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta('team-quota'), spec: { hard: { 'requests.cpu': '8', 'requests.memory': '32Gi', pods: '50' } } }]),
    },
  ];
}

/**
 * The one-cluster repo of issue #13 §1, in memory, sorted by path. Three abstract levels
 * (namespaces/div-DD/grp-GG/team-TT/) above the namespace dirs; inheritance at divisions and teams.
 */
export function generateOneClusterRepo(options: Partial<OneClusterOptions> = {}): GeneratedRepo {
  const o: OneClusterOptions = { ...DEFAULT_ONE_CLUSTER_OPTIONS, ...options };
  const files: GeneratedFile[] = [...systemFiles(), ...oneClusterRegistryFiles(), ...oneClusterRoleFiles(o), ...rootFiles()];
  let namespaceCount = 0;
  for (let d = 0; d < o.divisions; d++) {
    files.push(...divisionFiles(d));
    for (let g = 0; g < o.groupsPerDivision; g++) {
      for (let t = 0; t < o.teamsPerGroup; t++) {
        const team = `team-${pad(d)}-${pad(g)}-${pad(t)}`;
        const teamDir = `namespaces/div-${pad(d)}/grp-${pad(g)}/${team}`;
        files.push(...teamFiles(teamDir, team));
        for (let n = 0; n < o.namespacesPerTeam; n++) {
          // ns-DD-TT-NN: TT numbers the division's teams, so names stay unique.
          files.push(...namespaceFiles(d, g * o.teamsPerGroup + t, n, teamDir, ONE_CLUSTER.name));
          namespaceCount++;
        }
      }
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    files,
    objectCount: files.reduce((sum, f) => sum + countDocuments(f.content), 0),
    namespaceCount,
    clusters: [ONE_CLUSTER.name],
  };
}
