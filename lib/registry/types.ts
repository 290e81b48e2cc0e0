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
}

/** A stored registration. */
export interface RegisteredCluster extends ClusterRegistration {
  /** ISO 8601. */
  readonly registeredAt: string;
}

/** What may be shown or passed around: everything but the kubeconfig. */
export type ClusterSummary = Omit<RegisteredCluster, 'kubeconfig'>;

/** Registration input as it arrives from a CLI or an API: checked field by field. */
export type RegistrationInput = { readonly [K in keyof ClusterRegistration]?: unknown };

export const RegistryCodes = {
  invalidField: 'REGISTRY_INVALID',
  exists: 'REGISTRY_EXISTS',
  notFound: 'REGISTRY_NOT_FOUND',
  corrupt: 'REGISTRY_CORRUPT',
  invalidSecret: 'REGISTRY_INVALID_SECRET',
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
