/**
 * Where credentials live: cluster registrations, their kubeconfigs, the GitHub credentials and
 * the webhook secret. Minimal and async so the AWS Secrets Manager backend
 * (a later issue) fits the same interface as the local-file one.
 */

export interface SecretStore {
  /** The value, or undefined when there is no secret by that name. */
  get(name: string): Promise<string | undefined>;
  /** Create or replace. */
  put(name: string, value: string): Promise<void>;
  /** True when something was deleted. */
  delete(name: string): Promise<boolean>;
  /** Names (never values) starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
}

/** Names the rest of pushsync uses. */
export const SecretNames = {
  githubToken: 'github/token',
  githubApp: 'github/app',
  webhookSecret: 'github/webhook-secret',
  /** Private Helm chart repositories' credentials (helm-repos.ts): read by sync and apply when they render. */
  helmRepos: 'helm/repos',
  /** A cluster's registration: what it follows and its flags, never a credential (sync reads these). */
  clusterPrefix: 'clusters/',
  cluster: (name: string): string => `clusters/${name}`,
  /** A cluster's kubeconfig, apart from its registration so that only apply reads it. */
  kubeconfigPrefix: 'kubeconfigs/',
  kubeconfig: (name: string): string => `kubeconfigs/${name}`,
} as const;

export const SecretStoreCodes = {
  badName: 'SECRET_BAD_NAME',
  io: 'SECRET_IO',
} as const;

export class SecretStoreError extends Error {
  constructor(
    readonly code: (typeof SecretStoreCodes)[keyof typeof SecretStoreCodes],
    message: string,
    /** An outage of the store (throttling, a 5xx, the network): the same call later should succeed. */
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'SecretStoreError';
  }
}

/** `/`-separated segments of lower-case letters, digits, `.`, `_`, `-`; valid in every backend. */
const NAME = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;
const MAX_NAME = 256;

export function checkSecretName(name: string): void {
  if (name.length > MAX_NAME || !NAME.test(name)) {
    throw new SecretStoreError(
      SecretStoreCodes.badName,
      `invalid secret name ${JSON.stringify(name)}: use "/"-separated segments of a-z, 0-9, ".", "_", "-" (at most ${MAX_NAME} characters)`,
    );
  }
}
