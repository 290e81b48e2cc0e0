/**
 * The cluster registry on top of a SecretStore: one secret per cluster (`clusters/<name>`),
 * holding the registration as JSON, kubeconfig included, so credentials and what they are for
 * are written in one atomic step.
 */
import { registerSecret } from '../log.ts';
import { SecretNames } from './secret-store.ts';
import type { SecretStore } from './secret-store.ts';
import { RegistryCodes, RegistryError } from './types.ts';
import type { ClusterSummary, FieldError, RegisteredCluster, RegistrationInput, SourceFormat } from './types.ts';
import { validateRegistration } from './validate.ts';

export interface RegisterOptions {
  /** Replace an existing registration of the same name (default: refuse). */
  readonly replace?: boolean;
  readonly now?: () => Date;
}

export type RegisterResult =
  | { readonly ok: true; readonly cluster: ClusterSummary; readonly replaced: boolean; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

const VERSION = 1;

export async function registerCluster(store: SecretStore, input: RegistrationInput, options: RegisterOptions = {}): Promise<RegisterResult> {
  const validated = validateRegistration(input);
  if (!validated.ok) return validated;
  const { registration } = validated;
  const key = SecretNames.cluster(registration.name);
  const existing = await store.get(key);
  if (existing !== undefined && options.replace !== true) {
    return {
      ok: false,
      errors: [
        {
          code: RegistryCodes.exists,
          field: 'name',
          value: registration.name,
          message: `cluster ${JSON.stringify(registration.name)} is already registered; remove it first or register with --replace`,
        },
      ],
    };
  }
  const stored: RegisteredCluster = { ...registration, registeredAt: (options.now ?? (() => new Date()))().toISOString() };
  await store.put(key, JSON.stringify({ version: VERSION, ...stored }));
  return { ok: true, cluster: summary(stored), replaced: existing !== undefined, warnings: validated.warnings };
}

/** The registration with its kubeconfig (for the apply function); undefined when not registered. */
export async function getCluster(store: SecretStore, name: string): Promise<RegisteredCluster | undefined> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) return undefined;
  const key = SecretNames.cluster(name);
  const text = await store.get(key);
  if (text === undefined) return undefined;
  const cluster = decode(key, text);
  registerSecret(cluster.kubeconfig);
  return cluster;
}

/** Every registration, without kubeconfigs, sorted by name. */
export async function listClusters(store: SecretStore): Promise<ClusterSummary[]> {
  const names = await store.list(SecretNames.clusterPrefix);
  const out: ClusterSummary[] = [];
  for (const key of names) {
    const text = await store.get(key);
    // Removed between list and get: not registered any more.
    if (text === undefined) continue;
    const cluster = decode(key, text);
    registerSecret(cluster.kubeconfig);
    out.push(summary(cluster));
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function removeCluster(store: SecretStore, name: string): Promise<boolean> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) return false;
  return store.delete(SecretNames.cluster(name));
}

/** Clusters following `repo` (owner/name, any case) at `branch` (exact). */
export async function clustersFollowing(store: SecretStore, repo: string, branch: string): Promise<ClusterSummary[]> {
  return (await clustersFollowingRepo(store, repo)).filter((c) => c.branch === branch);
}

/** Clusters following `repo` (owner/name, any case), whatever their branch. */
export async function clustersFollowingRepo(store: SecretStore, repo: string): Promise<ClusterSummary[]> {
  const wanted = repo.toLowerCase();
  return (await listClusters(store)).filter((c) => c.repo.toLowerCase() === wanted);
}

export function summary(cluster: RegisteredCluster): ClusterSummary {
  return {
    name: cluster.name,
    ...(cluster.context === undefined ? {} : { context: cluster.context }),
    repo: cluster.repo,
    branch: cluster.branch,
    dir: cluster.dir,
    sourceFormat: cluster.sourceFormat,
    registeredAt: cluster.registeredAt,
  };
}

function decode(key: string, text: string): RegisteredCluster {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RegistryError(RegistryCodes.corrupt, `registration ${key} is not valid JSON; register the cluster again`);
  }
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const fields = ['name', 'kubeconfig', 'repo', 'branch', 'dir', 'sourceFormat', 'registeredAt'] as const;
  const missing = fields.filter((f) => typeof r[f] !== 'string');
  if (r.version !== VERSION || missing.length > 0 || (r.context !== undefined && typeof r.context !== 'string')) {
    throw new RegistryError(
      RegistryCodes.corrupt,
      `registration ${key} is not a version-${VERSION} registration${missing.length > 0 ? ` (missing ${missing.join(', ')})` : ''}; register the cluster again`,
    );
  }
  const s = (f: (typeof fields)[number]): string => r[f] as string;
  return {
    name: s('name'),
    kubeconfig: s('kubeconfig'),
    ...(typeof r.context === 'string' ? { context: r.context } : {}),
    repo: s('repo'),
    branch: s('branch'),
    dir: s('dir'),
    sourceFormat: s('sourceFormat') as SourceFormat,
    registeredAt: s('registeredAt'),
  };
}
