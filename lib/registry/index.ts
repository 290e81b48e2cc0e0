/**
 * Public surface of the cluster registry and the secret store.
 *
 *   registerCluster(store, input, {replace?})   → {ok, cluster, replaced, warnings} | {ok: false, errors}
 *   getCluster(store, name)                     → RegisteredCluster (with kubeconfig) | undefined
 *   credentialPolicy(cluster, env)              → what connect() may let its kubeconfig do (TLS, exec)
 *   listClusters(store)                         → ClusterSummary[] (never kubeconfigs; reads clusters/* only)
 *   removeCluster(store, name)                  → boolean
 *   clustersFollowing(store, repo, branch)      → ClusterSummary[]
 *   clustersFollowingRepo(store, repo)          → ClusterSummary[]
 *   healthTimeoutMs(cluster) / environmentOf(cluster) → the rollout wait (default 5 min, 0 = none) and
 *                                                  the GitHub Deployment environment (default: its name)
 *   getGitHubCredentials / getWebhookSecrets / set… → the GitHub side of the same store
 *   getHelmRepos / setHelmRepo / removeHelmRepo / listHelmRepos → private chart repositories' credentials
 *   secretStoreFromEnv(env)                     → FileSecretStore at $PUSHSYNC_HOME (default ./.pushsync)
 */
export type { SecretStore } from './secret-store.ts';
export { SecretNames, SecretStoreError, SecretStoreCodes, checkSecretName } from './secret-store.ts';
export { FileSecretStore, secretStoreFromEnv, HOME_ENV, DEFAULT_HOME } from './file-store.ts';
export type { ClusterRegistration, RegisteredCluster, ClusterSummary, RegistrationInput, FieldError, RegistryCode } from './types.ts';
export { RegistryCodes, RegistryError } from './types.ts';
export { validateRegistration, checkKubeconfig, repoProblem, branchProblem, environmentProblem, MAX_HEALTH_TIMEOUT } from './validate.ts';
export type { Validated } from './validate.ts';
export {
  registerCluster,
  getCluster,
  listClusters,
  listRegistrations,
  removeCluster,
  clustersFollowing,
  clustersFollowingRepo,
  DEFAULT_HEALTH_TIMEOUT_SECONDS,
  healthTimeoutMs,
  environmentOf,
} from './clusters.ts';
export { credentialPolicy } from './policy.ts';
export type { CredentialPolicy } from './policy.ts';
export type { RegisterOptions, RegisterResult } from './clusters.ts';
export {
  getGitHubCredentials,
  setGitHubToken,
  setGitHubApp,
  getWebhookSecrets,
  setWebhookSecrets,
  webhookSecretCache,
} from './github.ts';
export type { GitHubCredentials, GitHubAppCredentials, WebhookSecretCache } from './github.ts';
export { AwsSecretStore, AWS_STORE_DEFAULTS, isSecretPrefix, prefixProblem, type AwsSecretStoreOptions } from './aws-store.ts';
export { getHelmRepos, setHelmRepo, removeHelmRepo, listHelmRepos, normalizeRepoUrl, HELM_REPOS_SECRET } from './helm-repos.ts';
export type { HelmRepoCredential } from './helm-repos.ts';
