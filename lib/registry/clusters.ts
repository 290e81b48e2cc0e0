/**
 * The cluster registry on top of a SecretStore, two secrets per cluster:
 *
 *   clusters/<name>     the registration (version 2): repo, branch, dir, format and flags as
 *                       JSON; no credential. sync and resync read only these.
 *   kubeconfigs/<name>  the kubeconfig's YAML text. Only apply reads it (getCluster).
 *
 * Kept apart so that the functions that only need to know who follows what are never given a
 * kubeconfig: serverless.yml grants sync and resync `clusters/*` and not `kubeconfigs/*`.
 * register writes the kubeconfig first and the registration last, remove deletes in the other
 * order, so a registration that can be read always has its kubeconfig.
 *
 * The previous release stored one secret per cluster, `clusters/<name>` with the kubeconfig
 * inside (version 1). Those are still read: listClusters takes the registration from them and
 * getCluster the kubeconfig too. `pushsync clusters register NAME --replace …` rewrites one as
 * version 2; `clusters list` marks the ones still waiting. Until then sync, which may read
 * `clusters/*`, is still given those kubeconfigs.
 */
import yaml from 'js-yaml';
import { kubeconfigSecretValues } from '../cluster/kubeconfig-policy.ts';
import { registerSecret } from '../log.ts';
import { SecretNames } from './secret-store.ts';
import type { SecretStore } from './secret-store.ts';
import { RegistryCodes, RegistryError } from './types.ts';
import type { ClusterSummary, FieldError, RegisteredCluster, RegistrationInput, SourceFormat } from './types.ts';
import { environmentProblem, MAX_HEALTH_TIMEOUT, validateRegistration } from './validate.ts';

export interface RegisterOptions {
  /** Replace an existing registration of the same name (default: refuse). */
  readonly replace?: boolean;
  readonly now?: () => Date;
}

export type RegisterResult =
  | { readonly ok: true; readonly cluster: ClusterSummary; readonly replaced: boolean; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

/** The combined format of the previous release (registration and kubeconfig in one secret). */
const COMBINED = 1;
const VERSION = 2;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

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
  const { kubeconfig, ...rest } = registration;
  const stored: ClusterSummary = { ...rest, registeredAt: (options.now ?? (() => new Date()))().toISOString() };
  await store.put(SecretNames.kubeconfig(registration.name), kubeconfig);
  await store.put(key, JSON.stringify({ version: VERSION, ...stored }));
  return { ok: true, cluster: stored, replaced: existing !== undefined, warnings: validated.warnings };
}

/** The registration with its kubeconfig (for the apply function); undefined when not registered. */
export async function getCluster(store: SecretStore, name: string): Promise<RegisteredCluster | undefined> {
  if (!LABEL.test(name)) return undefined;
  const key = SecretNames.cluster(name);
  const text = await store.get(key);
  if (text === undefined) return undefined;
  const decoded = decode(key, name, text);
  let kubeconfig = decoded.kubeconfig;
  if (kubeconfig === undefined) {
    const kubeKey = SecretNames.kubeconfig(name);
    kubeconfig = await store.get(kubeKey);
    if (kubeconfig === undefined) throw new RegistryError(RegistryCodes.corrupt, `registration ${key} has no kubeconfig (${kubeKey} is missing); register the cluster again`);
    registerKubeconfig(kubeconfig);
  }
  return { ...decoded.cluster, kubeconfig };
}

/** Every registration, without kubeconfigs, sorted by name. Reads `clusters/*` only. */
export async function listClusters(store: SecretStore): Promise<ClusterSummary[]> {
  return (await listRegistrations(store)).map((r) => r.cluster);
}

/** As listClusters, with which of them are still in the previous release's combined format. */
export async function listRegistrations(store: SecretStore): Promise<{ readonly cluster: ClusterSummary; readonly combined: boolean }[]> {
  // Not a registration pushsync could have written (e.g. clusters/a/b); getCluster would not find it either.
  const keys = (await store.list(SecretNames.clusterPrefix)).filter((key) => LABEL.test(key.slice(SecretNames.clusterPrefix.length)));
  const values = await readMany(store, keys);
  const out: { cluster: ClusterSummary; combined: boolean }[] = [];
  for (const key of keys) {
    const name = key.slice(SecretNames.clusterPrefix.length);
    const text = values.get(key);
    // Removed between list and get: not registered any more.
    if (text === undefined) continue;
    const decoded = decode(key, name, text);
    out.push({ cluster: decoded.cluster, combined: decoded.kubeconfig !== undefined });
  }
  return out.sort((a, b) => (a.cluster.name < b.cluster.name ? -1 : a.cluster.name > b.cluster.name ? 1 : 0));
}

/** A store that reads many names at once (AwsSecretStore: BatchGetSecretValue, 20 names a call). */
interface ManyReader {
  getMany(names: readonly string[]): Promise<Map<string, string | undefined>>;
}

const READ_CONCURRENCY = 16;

/**
 * The values of `keys`: in batches where the store can, else a few reads at once. A fleet's
 * registry is a thousand secrets: one at a time, each a round trip, that is a minute of sync.
 */
async function readMany(store: SecretStore, keys: readonly string[]): Promise<Map<string, string | undefined>> {
  const many = store as Partial<ManyReader>;
  if (typeof many.getMany === 'function') return many.getMany.call(store, keys);
  const out = new Map<string, string | undefined>();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(READ_CONCURRENCY, keys.length) }, async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        out.set(key, await store.get(key));
      }
    }),
  );
  return out;
}

/** True when the cluster was registered; its kubeconfig goes too. */
export async function removeCluster(store: SecretStore, name: string): Promise<boolean> {
  if (!LABEL.test(name)) return false;
  // The registration first: once it is gone nothing follows the cluster or looks for its kubeconfig.
  const registration = await store.delete(SecretNames.cluster(name));
  const kubeconfig = await store.delete(SecretNames.kubeconfig(name));
  return registration || kubeconfig;
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

/** How long a rollout may take before its status fails, when the registration sets none: Config Sync's reconcileTimeout. */
export const DEFAULT_HEALTH_TIMEOUT_SECONDS = 300;

/** The registration's health timeout in ms; 0 = do not wait for health (green once applied). */
export function healthTimeoutMs(cluster: Pick<ClusterSummary, 'healthTimeout'>): number {
  return (cluster.healthTimeout ?? DEFAULT_HEALTH_TIMEOUT_SECONDS) * 1000;
}

/** The GitHub Deployment environment of a cluster: as registered, else its name. */
export function environmentOf(cluster: Pick<ClusterSummary, 'name' | 'environment'>): string {
  return cluster.environment ?? cluster.name;
}

/** Mask the kubeconfig's credential values (and the text itself) wherever they might appear. */
function registerKubeconfig(text: string): void {
  registerSecret(text);
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch {
    // Not YAML: connect() will say so; the whole text is registered already.
    return;
  }
  for (const value of kubeconfigSecretValues(doc)) registerSecret(value);
}

/** A stored registration, version 2 or (with its kubeconfig) the combined version 1. */
function decode(key: string, name: string, text: string): { readonly cluster: ClusterSummary; readonly kubeconfig?: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RegistryError(RegistryCodes.corrupt, `registration ${key} is not valid JSON; register the cluster again`);
  }
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const combined = r.version === COMBINED;
  if (!combined && r.version !== VERSION) {
    throw new RegistryError(RegistryCodes.corrupt, `registration ${key} has version ${JSON.stringify(r.version ?? null)}, not ${VERSION} (or ${COMBINED}, the previous release's); register the cluster again`);
  }
  // The combined format held the kubeconfig: registered for masking before anything can fail.
  if (combined && typeof r.kubeconfig === 'string') registerKubeconfig(r.kubeconfig);
  const fields = ['name', ...(combined ? ['kubeconfig'] : []), 'repo', 'branch', 'dir', 'sourceFormat', 'registeredAt'];
  const problems = fields.filter((f) => typeof r[f] !== 'string').map((f) => `missing ${f}`);
  if (r.context !== undefined && typeof r.context !== 'string') problems.push('context is not a string');
  for (const f of ['allowInsecure', 'allowExec', 'plans', 'production']) if (r[f] !== undefined && typeof r[f] !== 'boolean') problems.push(`${f} is not true or false`);
  if (r.healthTimeout !== undefined && !(typeof r.healthTimeout === 'number' && Number.isInteger(r.healthTimeout) && r.healthTimeout >= 0 && r.healthTimeout <= MAX_HEALTH_TIMEOUT)) {
    problems.push(`healthTimeout is not a number of seconds from 0 to ${MAX_HEALTH_TIMEOUT}`);
  }
  if (r.environment !== undefined && (typeof r.environment !== 'string' || environmentProblem(r.environment) !== undefined)) problems.push('environment is not a valid environment name');
  if (r.execAllow !== undefined && !(Array.isArray(r.execAllow) && r.execAllow.every((e) => typeof e === 'string'))) problems.push('execAllow is not a list of commands');
  if (typeof r.name === 'string' && r.name !== name) problems.push(`it names cluster ${JSON.stringify(r.name)}`);
  if (problems.length > 0) {
    throw new RegistryError(RegistryCodes.corrupt, `registration ${key} is not a valid version-${combined ? COMBINED : VERSION} registration (${problems.join(', ')}); register the cluster again`);
  }
  const s = (f: string): string => r[f] as string;
  const cluster: ClusterSummary = {
    name: s('name'),
    ...(typeof r.context === 'string' ? { context: r.context } : {}),
    repo: s('repo'),
    branch: s('branch'),
    dir: s('dir'),
    sourceFormat: s('sourceFormat') as SourceFormat,
    ...(r.allowInsecure === true ? { allowInsecure: true } : {}),
    ...(r.allowExec === true ? { allowExec: true } : {}),
    ...(Array.isArray(r.execAllow) ? { execAllow: r.execAllow as string[] } : {}),
    ...(r.plans === false ? { plans: false } : {}),
    ...(typeof r.healthTimeout === 'number' ? { healthTimeout: r.healthTimeout } : {}),
    ...(typeof r.environment === 'string' ? { environment: r.environment } : {}),
    ...(r.production === true ? { production: true } : {}),
    registeredAt: s('registeredAt'),
  };
  return combined ? { cluster, kubeconfig: s('kubeconfig') } : { cluster };
}
