/**
 * What a kubeconfig may make pushsync do where the credentials are used (the apply function):
 * talk to an API server without TLS verification or over plain HTTP, and run a command (an exec
 * credential plugin). Checked twice with the same rules: when a cluster is registered
 * (lib/registry, on the YAML) and when connecting (connect.ts, on what client-node loaded), so a
 * hand-edited registration cannot get past the second check.
 *
 * No imports: lib/registry uses this module directly, and the webhook bundle, which imports
 * lib/registry, must not pull in the cluster engine with it.
 *
 * Exec commands are compared with the allowlist exactly, never by basename alone:
 *   - a bare name (`aws`) matches only the bare name, looked up on the function's own PATH
 *     (a kubeconfig cannot change that PATH: see REFUSED_EXEC_ENV);
 *   - an absolute path (`/opt/aws/bin/aws`) is allowed only when that exact path is on the list:
 *     `/tmp/aws` is never taken for `aws` (a basename match would let any writable directory in);
 *   - relative paths (`./aws`, `bin/aws`) and paths with `.`/`..` segments are always refused.
 */

/** Exec plugins that only fetch a token for the big clouds' clusters. */
export const DEFAULT_EXEC_ALLOWLIST: readonly string[] = ['aws', 'gke-gcloud-auth-plugin', 'kubelogin'];

/** The deployment's own ceiling (serverless.yml param `execAllowlist`): a registration can only narrow it. */
export const EXEC_ALLOWLIST_ENV = 'PUSHSYNC_EXEC_ALLOWLIST';

export interface CredentialPolicy {
  /** Accept `insecure-skip-tls-verify: true` and `http://` servers. */
  readonly allowInsecure: boolean;
  /** Exec plugin commands that may run ([] = no exec plugin); `any` only for a person's own kubeconfig in the CLI. */
  readonly exec: readonly string[] | 'any';
}

/** The default: TLS verified, no command runs. */
export const STRICT_POLICY: CredentialPolicy = { allowInsecure: false, exec: [] };

/** What the chosen context's cluster and user ask for, read from the YAML or from client-node. */
export interface CredentialUse {
  readonly cluster: string;
  readonly user: string;
  readonly server: string;
  readonly insecureSkipTlsVerify: boolean;
  /** The exec plugin (also an `auth-provider` of name `exec`). */
  readonly exec?: { readonly command: string; readonly envNames: readonly string[] };
  /** An `auth-provider` with `cmd-path` (gcp, azure): client-node runs it through a shell. */
  readonly authProviderCommand?: boolean;
}

/**
 * The CredentialUse of a cluster entry and a user entry, whichever way they were read (the
 * YAML's keys at registration, client-node's loaded objects at connect). `exec` and
 * `authProvider` are the user's `exec` and `auth-provider` as they are: client-node runs
 * `exec`, else an auth-provider's `config.exec`.
 */
export function credentialUseOf(
  cluster: { readonly name: string; readonly server: string; readonly insecureSkipTlsVerify: boolean },
  user: { readonly name: string; readonly exec: unknown; readonly authProvider: unknown },
): CredentialUse {
  const config = (user.authProvider as { config?: Record<string, unknown> } | null | undefined)?.config;
  const exec = (user.exec ?? config?.exec) as { command?: unknown; env?: unknown } | null | undefined;
  const env = Array.isArray(exec?.env) ? (exec.env as unknown[]) : [];
  return {
    cluster: cluster.name,
    user: user.name,
    server: cluster.server,
    insecureSkipTlsVerify: cluster.insecureSkipTlsVerify,
    ...(exec === undefined || exec === null
      ? {}
      : {
          exec: {
            command: typeof exec.command === 'string' ? exec.command : '',
            envNames: env.map((e) => (e as { name?: unknown } | null)?.name).filter((n): n is string => typeof n === 'string'),
          },
        }),
    ...(typeof config?.['cmd-path'] === 'string' ? { authProviderCommand: true } : {}),
  };
}

export type PolicyProblem =
  | { readonly kind: 'insecure'; readonly message: string }
  | { readonly kind: 'exec'; readonly message: string; readonly command?: string };

/**
 * Environment variables an exec plugin may not set: they choose which program or which code a
 * listed command loads (PATH makes `aws` mean `/tmp/aws`), so they would undo the allowlist.
 */
const REFUSED_EXEC_ENV = /^(PATH|NODE_OPTIONS|NODE_PATH|BASH_ENV|ENV|SHELLOPTS|PYTHON[A-Z_]*|PERL5?(LIB|OPT)|RUBY(LIB|OPT)|LD_[A-Z_]*|DYLD_[A-Z_]*)$/;

const BARE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Why `entry` cannot be an allowlist entry, or undefined when it can. */
export function execEntryProblem(entry: string): string | undefined {
  if (BARE.test(entry) && entry.length <= 100) return undefined;
  if (entry.startsWith('/') && entry.length <= 1000 && entry.split('/').slice(1).every((part) => BARE.test(part) && part !== '..' && part !== '.')) return undefined;
  return 'must be a command name (letters, digits, ".", "_", "+", "-") or an absolute path without "." or ".." segments';
}

/** Whether an exec plugin may run `command` (see the module comment for the rules). */
export function execAllowed(command: string, allow: CredentialPolicy['exec']): boolean {
  if (allow === 'any') return true;
  return execEntryProblem(command) === undefined && allow.includes(command);
}

/** Comma- or space-separated entries; the problem (naming the bad entry) when one is invalid. */
export function parseExecAllowlist(text: string): { readonly ok: true; readonly list: readonly string[] } | { readonly ok: false; readonly entry: string; readonly message: string } {
  const list = [...new Set(text.split(/[\s,]+/).filter((e) => e !== ''))];
  for (const entry of list) {
    const problem = execEntryProblem(entry);
    if (problem !== undefined) return { ok: false, entry, message: `exec allowlist entry ${JSON.stringify(entry.slice(0, 100))} ${problem}` };
  }
  return { ok: true, list };
}

/** The deployment's allowlist: $PUSHSYNC_EXEC_ALLOWLIST, or the default when unset or empty. */
export function execAllowlistFromEnv(env: Readonly<Record<string, string | undefined>>): { readonly ok: true; readonly list: readonly string[] } | { readonly ok: false; readonly message: string } {
  const raw = env[EXEC_ALLOWLIST_ENV]?.trim();
  if (raw === undefined || raw === '') return { ok: true, list: DEFAULT_EXEC_ALLOWLIST };
  const parsed = parseExecAllowlist(raw);
  return parsed.ok ? parsed : { ok: false, message: `${EXEC_ALLOWLIST_ENV}: ${parsed.message}` };
}

/** Every way `use` goes beyond `policy`; messages name the kubeconfig entry, never a credential. */
export function checkCredentialUse(use: CredentialUse, policy: CredentialPolicy): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  if (!policy.allowInsecure) {
    if (use.insecureSkipTlsVerify) {
      problems.push({ kind: 'insecure', message: `cluster ${JSON.stringify(use.cluster)} sets insecure-skip-tls-verify: the API server's identity would not be checked, and the credentials could go to anyone on the path` });
    }
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(use.server)?.[1]?.toLowerCase();
    if (scheme !== 'https') {
      problems.push({
        kind: 'insecure',
        message: `cluster ${JSON.stringify(use.cluster)} has a ${scheme === undefined ? 'server URL without https://' : `${scheme}:// server`}: the credentials would travel unencrypted`,
      });
    }
  }
  if (use.authProviderCommand === true && policy.exec !== 'any') {
    problems.push({ kind: 'exec', message: `user ${JSON.stringify(use.user)} has an auth-provider with cmd-path, which runs through a shell; use an exec plugin (e.g. gke-gcloud-auth-plugin, kubelogin) instead` });
  }
  if (use.exec !== undefined && policy.exec !== 'any') {
    const { command, envNames } = use.exec;
    if (policy.exec.length === 0) {
      problems.push({ kind: 'exec', command, message: `user ${JSON.stringify(use.user)} runs the exec plugin ${JSON.stringify(command)}, and running commands is not allowed for this cluster` });
    } else if (!execAllowed(command, policy.exec)) {
      problems.push({ kind: 'exec', command, message: `user ${JSON.stringify(use.user)} runs the exec plugin ${JSON.stringify(command)}, which is not on the allowlist (${policy.exec.join(', ')})` });
    }
    const refused = envNames.filter((n) => REFUSED_EXEC_ENV.test(n));
    if (refused.length > 0) {
      problems.push({ kind: 'exec', command, message: `user ${JSON.stringify(use.user)}'s exec plugin sets ${refused.join(', ')}, which would change what program or code runs` });
    }
  }
  return problems;
}

/**
 * The credential values in a parsed kubeconfig (users' tokens, passwords, `*-data`, exec plugin
 * environment values, auth-provider tokens and secrets), for the logger's and the reports'
 * masking: each value is masked wherever it appears, not just the lines of the whole file.
 */
export function kubeconfigSecretValues(doc: unknown): string[] {
  const out: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === 'string' && v.trim() !== '') out.push(v.trim());
  };
  const users = (doc as { users?: unknown } | null)?.users;
  for (const entry of Array.isArray(users) ? (users as unknown[]) : []) {
    const user = (entry as { user?: unknown } | null)?.user;
    if (typeof user !== 'object' || user === null) continue;
    for (const [key, value] of Object.entries(user)) {
      if (key === 'token' || key === 'password' || key.endsWith('-data')) add(value);
    }
    const { exec, 'auth-provider': provider } = user as { exec?: { env?: unknown }; 'auth-provider'?: { config?: unknown } };
    for (const e of Array.isArray(exec?.env) ? (exec.env as unknown[]) : []) add((e as { value?: unknown } | null)?.value);
    const config = provider?.config;
    if (typeof config === 'object' && config !== null) {
      for (const [key, value] of Object.entries(config)) if (/token|secret|password/i.test(key)) add(value);
    }
  }
  return out;
}
