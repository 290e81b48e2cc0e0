/**
 * Registration checks at the edge: each field gets a clear error naming it and its value, all
 * errors at once, so `pushsync clusters register` can be fixed in one go.
 */
import yaml from 'js-yaml';
// The leaf module, not lib/cluster's index: the same rules connect() applies, without the engine.
import { checkCredentialUse, credentialUseOf, DEFAULT_EXEC_ALLOWLIST, execEntryProblem, STRICT_POLICY } from '../cluster/kubeconfig-policy.ts';
import type { CredentialPolicy } from '../cluster/kubeconfig-policy.ts';
import { RegistryCodes } from './types.ts';
import type { ClusterRegistration, FieldError, RegistrationInput, SourceFormat } from './types.ts';

/** Names whose status context is pushsync's own: the commit's vet and a large fleet's one context (lib/sync/fleet.ts). */
const RESERVED_NAMES: readonly string[] = ['vet', 'fleet'];

export type Validated =
  | { readonly ok: true; readonly registration: ClusterRegistration; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_LABEL = 63;
const OWNER = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const REPO_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const SOURCE_FORMATS: readonly SourceFormat[] = ['hierarchy', 'unstructured'];
/** An hour: longer than any rollout worth waiting for, and well inside SQS's delay chain. */
export const MAX_HEALTH_TIMEOUT = 3600;
/** GitHub's limit on an environment name. */
const MAX_ENVIRONMENT = 255;

export function validateRegistration(input: RegistrationInput): Validated {
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  const err = (field: string, value: unknown, message: string): void => {
    errors.push({ code: RegistryCodes.invalidField, field, ...(typeof value === 'string' ? { value: clip(value) } : {}), message });
  };

  const name = str(input.name);
  if (name === undefined || name === '') err('name', input.name, 'name is required');
  else if (name.length > MAX_LABEL || !DNS_LABEL.test(name)) {
    err('name', name, `name ${JSON.stringify(clip(name))} must be a DNS-1123 label: at most ${MAX_LABEL} lower-case letters, digits and "-", starting and ending with a letter or digit (it becomes the status context pushsync/<name>)`);
  } else if (RESERVED_NAMES.includes(name)) {
    err('name', name, `name ${JSON.stringify(name)} is taken: pushsync/${name} is one of pushsync's own status contexts (${RESERVED_NAMES.map((n) => `pushsync/${n}`).join(', ')}); choose another name`);
  }

  const repo = str(input.repo);
  if (repo === undefined || repo === '') err('repo', input.repo, 'repo is required, as owner/name');
  else {
    const problem = repoProblem(repo);
    if (problem !== undefined) err('repo', repo, `repo ${JSON.stringify(clip(repo))} ${problem}`);
  }

  const branch = str(input.branch);
  if (branch === undefined || branch === '') err('branch', input.branch, 'branch is required');
  else {
    const problem = branchProblem(branch);
    if (problem !== undefined) err('branch', branch, `branch ${JSON.stringify(clip(branch))} ${problem}`);
  }

  let dir = '.';
  if (input.dir !== undefined) {
    const raw = str(input.dir);
    if (raw === undefined) err('dir', input.dir, 'dir must be a string');
    else {
      const normalised = normaliseDir(raw);
      if (typeof normalised === 'string') dir = normalised;
      else err('dir', raw, `dir ${JSON.stringify(clip(raw))} ${normalised.problem}`);
    }
  }

  let sourceFormat: SourceFormat = 'hierarchy';
  if (input.sourceFormat !== undefined) {
    const f = str(input.sourceFormat);
    if (f !== undefined && (SOURCE_FORMATS as readonly string[]).includes(f)) sourceFormat = f as SourceFormat;
    else err('sourceFormat', input.sourceFormat, `sourceFormat ${JSON.stringify(input.sourceFormat)} must be one of ${SOURCE_FORMATS.join(', ')}`);
  }

  let context: string | undefined;
  if (input.context !== undefined) {
    const c = str(input.context);
    if (c === undefined || c === '') err('context', input.context, 'context, when given, must be a non-empty string');
    else context = c;
  }

  const flag = (field: 'allowInsecure' | 'allowExec' | 'plans' | 'production'): boolean | undefined => {
    const v = input[field];
    if (v === undefined || typeof v === 'boolean') return v;
    err(field, v, `${field} must be true or false, got ${JSON.stringify(v)}`);
    return undefined;
  };
  const allowInsecure = flag('allowInsecure') === true;
  const allowExec = flag('allowExec') === true;
  const plans = flag('plans') !== false;

  let execAllow: string[] | undefined;
  if (input.execAllow !== undefined) {
    if (!Array.isArray(input.execAllow) || !input.execAllow.every((e): e is string => typeof e === 'string')) err('execAllow', undefined, 'execAllow must be a list of command names');
    else if (input.execAllow.length === 0) err('execAllow', '', 'execAllow, when given, must name at least one command (leave out --allow-exec to run none)');
    else if (!allowExec) err('execAllow', input.execAllow.join(','), 'execAllow (--exec-allow) needs allowExec (--allow-exec): exec plugins are refused without it');
    else {
      execAllow = [...new Set(input.execAllow)];
      for (const entry of execAllow) {
        const problem = execEntryProblem(entry);
        if (problem !== undefined) err('execAllow', entry, `execAllow entry ${JSON.stringify(clip(entry))} ${problem}`);
      }
    }
  }

  let healthTimeout: number | undefined;
  if (input.healthTimeout !== undefined) {
    const t = input.healthTimeout;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > MAX_HEALTH_TIMEOUT) {
      err('healthTimeout', String(t), `healthTimeout ${JSON.stringify(t)} must be a whole number of seconds from 0 (do not wait for health) to ${MAX_HEALTH_TIMEOUT}`);
    } else healthTimeout = t;
  }

  let environment: string | undefined;
  if (input.environment !== undefined) {
    const e = str(input.environment);
    const problem = e === undefined ? 'must be a string' : environmentProblem(e);
    if (problem !== undefined) err('environment', e ?? String(input.environment), `environment ${JSON.stringify(clip(e ?? String(input.environment)))} ${problem}`);
    else environment = e;
  }
  const production = flag('production') === true;

  const kubeconfig = str(input.kubeconfig);
  if (kubeconfig === undefined || kubeconfig.trim() === '') err('kubeconfig', undefined, 'kubeconfig is required (the YAML text of a kubeconfig)');
  else {
    const policy: CredentialPolicy = { allowInsecure, exec: allowExec ? (execAllow ?? DEFAULT_EXEC_ALLOWLIST) : [] };
    const checked = checkKubeconfig(kubeconfig, context, policy);
    for (const e of checked.errors) errors.push({ code: RegistryCodes.invalidField, ...e });
    warnings.push(...checked.warnings);
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    registration: {
      name: name ?? '',
      kubeconfig: kubeconfig ?? '',
      ...(context === undefined ? {} : { context }),
      repo: repo ?? '',
      branch: branch ?? '',
      dir,
      sourceFormat,
      // Stored only when they differ from the default, so a registration reads as what was asked.
      ...(allowInsecure ? { allowInsecure } : {}),
      ...(allowExec ? { allowExec, ...(execAllow === undefined ? {} : { execAllow }) } : {}),
      ...(plans ? {} : { plans }),
      ...(healthTimeout === undefined ? {} : { healthTimeout }),
      ...(environment === undefined ? {} : { environment }),
      ...(production ? { production } : {}),
    },
    warnings,
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

/** A GitHub Deployment environment name: 1 to 255 characters, none of them a control character. */
export function environmentProblem(environment: string): string | undefined {
  if (environment.trim() === '') return 'must not be empty';
  if (environment.length > MAX_ENVIRONMENT) return `is longer than ${MAX_ENVIRONMENT} characters`;
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\x00-\x1f\x7f]/.test(environment)) return 'contains a control character';
  return undefined;
}

export function repoProblem(repo: string): string | undefined {
  const parts = repo.split('/');
  if (parts.length !== 2) return 'must be owner/name (one "/"), e.g. acme/policy';
  const [owner = '', name = ''] = parts;
  if (!OWNER.test(owner)) return `has an invalid owner ${JSON.stringify(owner)}: letters, digits, "-" and "_"`;
  if (!REPO_NAME.test(name) || name === '.' || name === '..') return `has an invalid repository name ${JSON.stringify(name)}: letters, digits, ".", "_" and "-"`;
  if (name.endsWith('.git')) return 'must not end in ".git": give owner/name as on GitHub';
  return undefined;
}

/** The rules of `git check-ref-format` that a branch name can break (also applied to the branch of every webhook push). */
export function branchProblem(branch: string): string | undefined {
  if (branch.startsWith('refs/')) return `must be a branch name, not a ref: use ${JSON.stringify(branch.replace(/^refs\/heads\//, ''))}`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what git refuses
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(branch)) return 'contains a space, a control character or one of ~ ^ : ? * [ \\';
  if (branch.includes('..') || branch.includes('@{') || branch.includes('//')) return 'contains "..", "@{" or "//"';
  if (branch.startsWith('-') || branch.startsWith('/') || branch.endsWith('/') || branch.endsWith('.')) return 'starts with "-" or "/", or ends with "/" or "."';
  if (branch === '@' || branch.split('/').some((c) => c.startsWith('.') || c.endsWith('.lock'))) return 'has a component starting with "." or ending in ".lock", or is "@"';
  return undefined;
}

function normaliseDir(raw: string): string | { problem: string } {
  if (raw.includes('\0')) return { problem: 'contains a NUL byte' };
  if (raw.includes('\\')) return { problem: 'contains a backslash; use "/"' };
  if (raw.startsWith('/')) return { problem: 'is absolute; give the policy dir relative to the repository root' };
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { problem: 'contains ".."; it must stay inside the repository' };
  return parts.length === 0 ? '.' : parts.join('/');
}

interface KubeconfigCheck {
  readonly errors: Omit<FieldError, 'code'>[];
  readonly warnings: string[];
}

interface Named {
  readonly name: string;
  readonly body: Record<string, unknown>;
}

/**
 * The structure (the same file `lib/cluster` connects with later): at least one cluster, user
 * and context, references that resolve, and the chosen context present; then what the chosen
 * context's credentials would do, against `policy` (TLS, exec plugins). Messages never quote the
 * kubeconfig's values other than names, commands and the server's scheme.
 */
export function checkKubeconfig(text: string, context: string | undefined, policy: CredentialPolicy = STRICT_POLICY): KubeconfigCheck {
  const errors: string[] = [];
  /** What the credentials would do: with the offending value (a command, a server URL's scheme). */
  const refused: Omit<FieldError, 'code'>[] = [];
  const warnings: string[] = [];
  const result = (): KubeconfigCheck => ({
    errors: [
      ...errors.map((message) =>
        message.startsWith('context') ? { field: 'context', ...(context === undefined ? {} : { value: context }), message } : { field: 'kubeconfig', message },
      ),
      ...refused,
    ],
    warnings,
  });
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    const mark = (e as { mark?: { line?: number } }).mark;
    errors.push(`kubeconfig is not valid YAML${mark?.line === undefined ? '' : ` (line ${mark.line + 1})`}`);
    return result();
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    errors.push('kubeconfig is not a YAML mapping (expected apiVersion, clusters, users, contexts)');
    return result();
  }
  const root = doc as Record<string, unknown>;
  const clusters = namedList(root, 'clusters', 'cluster', errors);
  const users = namedList(root, 'users', 'user', errors);
  const contexts = namedList(root, 'contexts', 'context', errors);
  if (errors.length > 0) return result();

  const clusterNames = new Set(clusters.map((c) => c.name));
  const userNames = new Set(users.map((u) => u.name));
  for (const c of contexts) {
    const cl = c.body.cluster;
    const us = c.body.user;
    if (typeof cl !== 'string' || !clusterNames.has(cl)) errors.push(`kubeconfig: context ${JSON.stringify(c.name)} names cluster ${JSON.stringify(cl ?? null)}, which is not in "clusters"`);
    if (typeof us !== 'string' || !userNames.has(us)) errors.push(`kubeconfig: context ${JSON.stringify(c.name)} names user ${JSON.stringify(us ?? null)}, which is not in "users"`);
  }
  const contextNames = contexts.map((c) => c.name);
  const current = typeof root['current-context'] === 'string' ? root['current-context'] : '';
  const chosenName = context ?? current;
  if (context !== undefined && !contextNames.includes(context)) {
    errors.push(`context ${JSON.stringify(context)} is not in the kubeconfig (contexts: ${contextNames.join(', ')})`);
    return result();
  }
  if (context === undefined && (current === '' || !contextNames.includes(current))) {
    errors.push(
      current === ''
        ? `kubeconfig has no current-context: pass --context (contexts: ${contextNames.join(', ')})`
        : `kubeconfig: current-context ${JSON.stringify(current)} is not among its contexts (${contextNames.join(', ')}): pass --context`,
    );
    return result();
  }
  const chosen = contexts.find((c) => c.name === chosenName);
  const cluster = clusters.find((c) => c.name === chosen?.body.cluster);
  const user = users.find((u) => u.name === chosen?.body.user);
  if (cluster !== undefined && (typeof cluster.body.server !== 'string' || cluster.body.server === '')) {
    errors.push(`kubeconfig: cluster ${JSON.stringify(cluster.name)} has no server URL`);
  }
  // Files and plugins on this machine will not exist where the functions run.
  for (const [entry, body, keys] of [
    [`cluster ${JSON.stringify(cluster?.name)}`, cluster?.body, ['certificate-authority']],
    [`user ${JSON.stringify(user?.name)}`, user?.body, ['client-certificate', 'client-key', 'tokenFile']],
  ] as const) {
    for (const key of keys) {
      if (body !== undefined && typeof body[key] === 'string') {
        warnings.push(`kubeconfig ${entry} reads ${key} from a local file; embed it (${key}-data) so the functions can use it`);
      }
    }
  }
  if (cluster !== undefined && user !== undefined && typeof cluster.body.server === 'string' && cluster.body.server !== '') {
    const use = credentialUseOf(
      { name: cluster.name, server: cluster.body.server, insecureSkipTlsVerify: cluster.body['insecure-skip-tls-verify'] === true },
      { name: user.name, exec: user.body.exec, authProvider: user.body['auth-provider'] },
    );
    for (const problem of checkCredentialUse(use, policy)) {
      const remedy =
        problem.kind === 'insecure'
          ? 'use https with TLS verification, or register with --allow-insecure to accept it'
          : policy.exec === 'any' || policy.exec.length === 0
            ? `register with --allow-exec to let it run (allowed by default: ${DEFAULT_EXEC_ALLOWLIST.join(', ')})`
            : 'put the command on the list with --exec-allow, if you trust it';
      refused.push({ field: 'kubeconfig', ...(problem.kind === 'exec' && problem.command !== undefined ? { value: clip(problem.command) } : {}), message: `kubeconfig: ${problem.message}; ${remedy}` });
    }
    if (use.exec !== undefined && errors.length === 0 && refused.length === 0) {
      warnings.push(`kubeconfig user ${JSON.stringify(user.name)} runs the exec plugin ${JSON.stringify(use.exec.command)}; it must exist where the apply function runs`);
    }
  }
  return result();
}

function namedList(root: Record<string, unknown>, key: string, inner: string, errors: string[]): Named[] {
  const list = root[key];
  if (!Array.isArray(list) || list.length === 0) {
    errors.push(`kubeconfig has no ${key}: it needs at least one entry in "${key}"`);
    return [];
  }
  const out: Named[] = [];
  list.forEach((item: unknown, i) => {
    const name = (item as { name?: unknown } | null)?.name;
    const body = (item as Record<string, unknown> | null)?.[inner];
    if (typeof name !== 'string' || name === '') errors.push(`kubeconfig: ${key}[${i}] has no name`);
    else if (typeof body !== 'object' || body === null) errors.push(`kubeconfig: ${key}[${i}] (${JSON.stringify(name)}) has no "${inner}" mapping`);
    else out.push({ name, body: body as Record<string, unknown> });
  });
  return out;
}
