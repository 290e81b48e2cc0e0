import type { SourceFormat } from '../repo/types.ts';

export type { SourceFormat };

/** A cluster and what it follows. Holds the kubeconfig: only the apply function reads this. */
export interface ClusterRegistration {
  /** DNS-1123 label; also the status context `pushsync/<name>`. */
  readonly name: string;
  /** The kubeconfig YAML text. Never logged, never listed, never put in a payload. */
  readonly kubeconfig: string;
  /** Context in the kubeconfig; absent = its current-context. */
  readonly context?: string;
  /** `owner/name` of the policy repo, as typed at registration. */
  readonly repo: string;
  readonly branch: string;
  /** The policy dir inside the repo, relative, `/`-separated; "." for the repo root. */
  readonly dir: string;
  readonly sourceFormat: SourceFormat;
  /**
   * Accept a kubeconfig whose cluster skips TLS verification or has an `http://` server
   * (`--allow-insecure`). Absent = refused, at registration and again at connect.
   */
  readonly allowInsecure?: boolean;
  /** Let the kubeconfig's exec credential plugin run (`--allow-exec`); absent = refused. */
  readonly allowExec?: boolean;
  /**
   * The commands that exec plugin may be (`--exec-allow`), only with allowExec; absent = the
   * default allowlist. The apply function also holds it to $PUSHSYNC_EXEC_ALLOWLIST.
   */
  readonly execAllow?: readonly string[];
  /**
   * false (`--no-plans`): never plan a pull request against this cluster, since a plan runs
   * with the cluster's credentials. Absent = true.
   */
  readonly plans?: boolean;
  /**
   * Seconds a rollout may take to become healthy after an apply (`--health-timeout`), after
   * which the status fails with what was still in progress. 0 = do not wait: green as soon as
   * applied. Absent = 300 (Config Sync's reconcileTimeout). See healthTimeoutMs.
   */
  readonly healthTimeout?: number;
  /** The GitHub Deployment environment (`--environment`); absent = the cluster's name. See environmentOf. */
  readonly environment?: string;
  /** Mark that environment as a production one (GitHub's `production_environment`, `--production`). */
  readonly production?: boolean;
}

/** A stored registration. */
export interface RegisteredCluster extends ClusterRegistration {
  /** ISO 8601. */
  readonly registeredAt: string;
}

/**
 * What may be shown or passed around: everything but the kubeconfig. This is all that
 * `clusters/<name>` holds; the kubeconfig is the separate secret `kubeconfigs/<name>`.
 */
export type ClusterSummary = Omit<RegisteredCluster, 'kubeconfig'>;

/** Registration input as it arrives from a CLI or an API: checked field by field. */
export type RegistrationInput = { readonly [K in keyof ClusterRegistration]?: unknown };

export const RegistryCodes = {
  invalidField: 'REGISTRY_INVALID',
  exists: 'REGISTRY_EXISTS',
  notFound: 'REGISTRY_NOT_FOUND',
  corrupt: 'REGISTRY_CORRUPT',
  invalidSecret: 'REGISTRY_INVALID_SECRET',
  /** The deployment's own setting (an environment variable) is unusable. */
  invalidEnvironment: 'REGISTRY_ENV_INVALID',
} as const;
export type RegistryCode = (typeof RegistryCodes)[keyof typeof RegistryCodes];

/** One problem with one field. `value` is the offending value (never a kubeconfig's content). */
export interface FieldError {
  readonly code: RegistryCode;
  readonly field: string;
  readonly value?: string;
  readonly message: string;
}

/** Stored data that cannot be read back; thrown (it is not the caller's input). */
export class RegistryError extends Error {
  constructor(
    readonly code: RegistryCode,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}
