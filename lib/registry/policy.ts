/**
 * What a registered cluster's kubeconfig may do when the apply function connects with it:
 * the registration's own flags, held to the deployment's exec allowlist
 * ($PUSHSYNC_EXEC_ALLOWLIST, set from serverless.yml), which whoever can write a registration
 * cannot widen.
 */
import { DEFAULT_EXEC_ALLOWLIST, execAllowlistFromEnv } from '../cluster/kubeconfig-policy.ts';
import type { CredentialPolicy } from '../cluster/kubeconfig-policy.ts';
import { RegistryCodes, RegistryError } from './types.ts';
import type { ClusterSummary } from './types.ts';

export type { CredentialPolicy };

export function credentialPolicy(cluster: ClusterSummary, env: Readonly<Record<string, string | undefined>> = process.env): CredentialPolicy {
  const deployment = execAllowlistFromEnv(env);
  if (!deployment.ok) throw new RegistryError(RegistryCodes.invalidEnvironment, deployment.message);
  const wanted = cluster.allowExec === true ? (cluster.execAllow ?? DEFAULT_EXEC_ALLOWLIST) : [];
  return { allowInsecure: cluster.allowInsecure === true, exec: wanted.filter((c) => deployment.list.includes(c)) };
}
