/**
 * `pushsync clusters …` (the registry) and `pushsync secrets …` (GitHub credentials and the
 * webhook secret). Both work on the SecretStore at $PUSHSYNC_HOME (default ./.pushsync), or
 * with `--store aws` on AWS Secrets Manager, where the deployed functions read them.
 * Secret values are read from a file or stdin, never from argv: argv is visible in `ps`.
 */
import { readFile } from 'node:fs/promises';
import { textTable } from '../../lib/text-table.ts';
import { DEFAULT_EXEC_ALLOWLIST, EXEC_ALLOWLIST_ENV } from '../../lib/cluster/index.ts';
import {
  AwsSecretStore,
  environmentOf,
  healthTimeoutMs,
  listHelmRepos,
  listRegistrations,
  MAX_HEALTH_TIMEOUT,
  normalizeRepoUrl,
  registerCluster,
  removeCluster,
  removeHelmRepo,
  SecretNames,
  secretStoreFromEnv,
  setGitHubApp,
  setGitHubToken,
  setHelmRepo,
  setWebhookSecrets,
} from '../../lib/registry/index.ts';
import type { ClusterSummary, FieldError, FileSecretStore } from '../../lib/registry/index.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseCommand, UsageError, type Command, type Io } from './common.ts';
import { formatSeconds, parseDuration } from './duration.ts';

/** Where secret input comes from when no file is named; injectable for tests. */
export interface InputSources {
  readonly stdin: () => Promise<string>;
  readonly store: () => FileSecretStore | AwsSecretStore;
  /** `--store aws`; default: Secrets Manager under $PUSHSYNC_SECRET_PREFIX, per the AWS environment. */
  readonly awsStore?: () => AwsSecretStore;
}

const defaultSources: InputSources = {
  stdin: readProcessStdin,
  store: () => secretStoreFromEnv(),
  awsStore: () => new AwsSecretStore({ ...(process.env.PUSHSYNC_SECRET_PREFIX ? { prefix: process.env.PUSHSYNC_SECRET_PREFIX } : {}) }),
};

const STORE_FLAG = `  --store <file|aws>         Where the secrets are: "file" ($PUSHSYNC_HOME, default) or
                             "aws" (AWS Secrets Manager, where the deployed functions read
                             them; names under $PUSHSYNC_SECRET_PREFIX, which ends with
                             "/", default "pushsync/";
                             region and credentials from the AWS environment)
`;

/** Takes `--store file|aws` out of the subcommand's arguments and picks the store it names. */
function withStore(command: string, args: readonly string[], sources: InputSources): { rest: string[]; sources: InputSources } {
  const rest: string[] = [];
  let kind = 'file';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--store' && i + 1 < args.length) kind = args[++i] ?? '';
    else if (arg.startsWith('--store=')) kind = arg.slice('--store='.length);
    else if (arg === '--store') throw new UsageError('flag --store needs a value', command);
    else rest.push(arg);
  }
  if (kind === 'file') return { rest, sources };
  if (kind !== 'aws') throw new UsageError(`invalid --store ${JSON.stringify(kind)}: use file or aws`, command);
  return { rest, sources: { ...sources, store: sources.awsStore ?? defaultSources.awsStore ?? sources.store } };
}

const where = (store: FileSecretStore | AwsSecretStore): string => ('dir' in store ? store.dir : store.location);

const clustersHelp = `Usage: pushsync clusters <register|list|show|remove> [flags]

Register the clusters pushsync applies to, and what each follows: a GitHub repo, a branch
and the policy dir in it. A push to that branch is applied to every cluster following it;
its result is the commit status pushsync/<NAME>. A push to another branch (a pull request)
is planned against the clusters following the default branch. Each registration and its
kubeconfig are two secrets (clusters/NAME, kubeconfigs/NAME) in the secret store at
$PUSHSYNC_HOME (default: ./.pushsync), files readable only by you.

A kubeconfig is refused when its cluster skips TLS verification or has an http:// server
(the credentials would travel unprotected), or when it runs an exec credential plugin (a
command run next to the credentials), unless the flags below allow it. The apply function
checks again each time it connects, so editing a stored registration does not get around it.

Commands:
  register NAME              Register (or with --replace, update) cluster NAME
    --kubeconfig <file>      The cluster's kubeconfig; "-" reads it from stdin (required)
    --context <name>         Context in the kubeconfig (default: its current-context)
    --repo <owner/name>      The GitHub policy repo (required)
    --branch <branch>        The branch the cluster follows (required)
    --dir <path>             The policy dir in the repo (default: the repository root)
    --source-format <f>      "hierarchy" or "unstructured" (default: "hierarchy")
    --replace                Replace an existing registration of NAME (default: false)
    --allow-insecure         Accept insecure-skip-tls-verify and http:// servers (default: false)
    --allow-exec             Let the kubeconfig's exec plugin run, if its command is on the
                             allowlist: ${DEFAULT_EXEC_ALLOWLIST.join(', ')} (default: false)
    --exec-allow <cmds>      Use this allowlist instead, comma-separated (needs --allow-exec).
                             A name matches only that bare name, run from PATH; a full path
                             matches only itself (/tmp/aws is not aws). The deployed apply
                             function also holds it to its own $${EXEC_ALLOWLIST_ENV}
    --no-plans               Never plan pull requests against this cluster: a plan reads the
                             cluster with its credentials (default: plans on)
    --health-timeout <dur>   How long a rollout may take to become healthy after an apply
                             before pushsync/NAME fails, e.g. 90s, 10m, 1h (at most 1h); 0 = do
                             not wait: green as soon as the objects are applied (default: 5m)
    --environment <name>     The GitHub Deployment environment for this cluster's applies
                             (default: NAME)
    --production             Mark that environment as a production environment on GitHub
                             (default: false)
  list                       List the registered clusters (never their kubeconfigs); HEALTH
                             is the health timeout, ENVIRONMENT the GitHub environment; FLAGS
                             shows insecure (TLS not verified), exec:<commands>, no-plans,
                             and old-format (the kubeconfig still inside clusters/NAME, as
                             the previous release stored it: register again with --replace)
    --json                   Print JSON instead of a table (default: false)
    --repo <owner/name>      Only clusters following this repo ...
    --branch <branch>        ... at this branch (needs --repo)
  show NAME                  Show one registration (never its kubeconfig)
    --json                   Print JSON instead of text (default: false)
  remove NAME                Forget cluster NAME (nothing on the cluster is touched)

Flags:
${STORE_FLAG}  -h, --help                 Show this help

Exit status: 0 ok, 1 not found, 2 usage or invalid registration, 3 internal error.

Examples:
  pushsync clusters register mycluster --kubeconfig ~/.kube/config --context kind-mycluster \\
      --repo acme/policy --branch main --dir policy
  pushsync clusters register prod --kubeconfig eks-prod.yaml --repo acme/policy --branch main \\
      --allow-exec --exec-allow aws --no-plans
  pushsync clusters register prod --kubeconfig prod.yaml --repo acme/policy --branch main \\
      --replace --health-timeout 10m --environment production --production
  pushsync clusters list
  pushsync clusters show prod
  pushsync clusters list --json --repo acme/policy --branch main
  pushsync clusters remove mycluster
  AWS_REGION=eu-west-1 pushsync clusters list --store aws
`;

const secretsHelp = `Usage: pushsync secrets <set|list|remove> [flags]

Store the credentials pushsync's functions use, in the secret store at $PUSHSYNC_HOME
(default: ./.pushsync). Values are read from a file or from stdin, never from the command
line, where other users could see them in \`ps\`.

Commands:
  set github-token           A GitHub token (fine-grained: Commit statuses read/write,
                             Deployments read/write, Contents read-only on the policy repo)
    --from-file <file>       Read the token from this file (default: stdin)
  set github-app             A GitHub App (adds check runs with per-file annotations; it needs
                             Checks, Commit statuses and Deployments read/write, Contents read)
    --app-id <id>            The App ID (required; not secret)
    --private-key-file <f>   The App's .pem private key; "-" reads stdin (required)
  set webhook-secret         The secret configured on the GitHub webhook; one per line,
                             the first is current, the others are still accepted
    --from-file <file>       Read the secret(s) from this file (default: stdin)
    --keep-previous          Keep the stored secrets as accepted fallbacks: the first
                             step of a rotation (default: false)
  set helm-repo              Credentials for a private Helm chart repository that a
                             kustomization's helmCharts[].repo names (https:// or oci://);
                             the password (or token) from stdin or --from-file. Charts from
                             it are pulled by pushsync with these; nothing goes in the repo.
    --url <url>              The repository, as written in helmCharts[].repo (required;
                             it also covers every repo URL below it)
    --username <name>        The user name (required; not secret)
    --from-file <file>       Read the password from this file (default: stdin)
  list                       Show which secrets are set (names only, never values)
  remove <github-token|github-app|webhook-secret>
  remove helm-repo --url <url>

Flags:
${STORE_FLAG}  -h, --help                 Show this help

Exit status: 0 ok, 1 not found, 2 usage or invalid value, 3 internal error.

Examples:
  pushsync secrets set github-token --from-file ~/github-token.txt
  gh auth token | pushsync secrets set github-token
  pushsync secrets set github-app --app-id 123456 --private-key-file pushsync.2024-05-01.private-key.pem
  openssl rand -hex 32 | tee /dev/stderr | pushsync secrets set webhook-secret --keep-previous
  pushsync secrets set helm-repo --url https://charts.acme.example --username ci < chart-password.txt
  pushsync secrets list
  pushsync secrets remove github-token
  pushsync secrets remove helm-repo --url https://charts.acme.example
`;

export function createClustersCommand(given: InputSources = defaultSources): Command {
  return {
    name: 'clusters',
    summary: 'Register, list and remove the clusters pushsync applies to',
    help: clustersHelp,
    async run(args: readonly string[], io: Io): Promise<number> {
      const [sub, ...flags] = args;
      if (sub === undefined) throw new UsageError('expected a subcommand: register, list, show or remove', 'clusters');
      if (sub === '-h' || sub === '--help' || sub === 'help') {
        io.stdout(clustersHelp);
        return EXIT_OK;
      }
      const { rest, sources } = withStore('clusters', flags, given);
      switch (sub) {
        case 'register':
          return register(rest, io, sources);
        case 'list':
          return list(rest, io, sources);
        case 'show':
          return show(rest, io, sources);
        case 'remove':
          return remove(rest, io, sources);
        default:
          throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: use register, list, show or remove`, 'clusters');
      }
    },
  };
}

export function createSecretsCommand(given: InputSources = defaultSources): Command {
  return {
    name: 'secrets',
    summary: 'Store the GitHub token or App key, the webhook secret and chart repository credentials',
    help: secretsHelp,
    async run(args: readonly string[], io: Io): Promise<number> {
      const [sub, ...flags] = args;
      if (sub === undefined) throw new UsageError('expected a subcommand: set, list or remove', 'secrets');
      if (sub === '-h' || sub === '--help' || sub === 'help') {
        io.stdout(secretsHelp);
        return EXIT_OK;
      }
      const { rest, sources } = withStore('secrets', flags, given);
      switch (sub) {
        case 'set':
          return setSecret(rest, io, sources);
        case 'list':
          return listSecrets(rest, io, sources);
        case 'remove':
          return removeSecret(rest, io, sources);
        default:
          throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: use set, list or remove`, 'secrets');
      }
    },
  };
}

export const clustersCommand: Command = createClustersCommand();
export const secretsCommand: Command = createSecretsCommand();

async function register(args: readonly string[], io: Io, sources: InputSources): Promise<number> {
  const parsed = parseCommand({ name: 'clusters', help: clustersHelp }, args, io, {
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    repo: { type: 'string' },
    branch: { type: 'string' },
    dir: { type: 'string' },
    'source-format': { type: 'string' },
    replace: { type: 'boolean', default: false },
    'allow-insecure': { type: 'boolean', default: false },
    'allow-exec': { type: 'boolean', default: false },
    'exec-allow': { type: 'string' },
    'no-plans': { type: 'boolean', default: false },
    'health-timeout': { type: 'string' },
    environment: { type: 'string' },
    production: { type: 'boolean', default: false },
  });
  if (!parsed) return EXIT_OK;
  const { values, positionals } = parsed;
  const name = oneName('clusters', 'register', positionals);
  for (const flag of ['kubeconfig', 'repo', 'branch'] as const) {
    if (values[flag] === undefined) throw new UsageError(`register needs --${flag}`, 'clusters');
  }
  const healthTimeout = values['health-timeout'] === undefined ? undefined : parseDuration('clusters', '--health-timeout', values['health-timeout'], MAX_HEALTH_TIMEOUT);
  const kubeconfig = await readInput('clusters', '--kubeconfig', values.kubeconfig ?? '-', sources);
  const store = sources.store();
  const result = await registerCluster(
    store,
    {
      name,
      kubeconfig,
      ...(values.context === undefined ? {} : { context: values.context }),
      repo: values.repo,
      branch: values.branch,
      ...(values.dir === undefined ? {} : { dir: values.dir }),
      ...(values['source-format'] === undefined ? {} : { sourceFormat: values['source-format'] }),
      ...(values['allow-insecure'] ? { allowInsecure: true } : {}),
      ...(values['allow-exec'] ? { allowExec: true } : {}),
      ...(values['exec-allow'] === undefined ? {} : { execAllow: values['exec-allow'].split(',').map((c) => c.trim()).filter((c) => c !== '') }),
      ...(values['no-plans'] ? { plans: false } : {}),
      ...(healthTimeout === undefined ? {} : { healthTimeout }),
      ...(values.environment === undefined ? {} : { environment: values.environment }),
      ...(values.production ? { production: true } : {}),
    },
    { replace: values.replace },
  );
  if (!result.ok) {
    io.stderr(fieldErrors('clusters register', result.errors, FLAG_OF_FIELD));
    return EXIT_USAGE;
  }
  for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
  const c = result.cluster;
  const allowed = flagsOf(c);
  io.stdout(
    `${result.replaced ? 'Updated' : 'Registered'} cluster ${c.name}: follows ${c.repo} branch ${c.branch}, dir ${c.dir} (${c.sourceFormat}); status context pushsync/${c.name}\n` +
      `Rollout: ${healthOf(c)}; GitHub environment ${environmentText(c)}\n` +
      (allowed.length === 0 ? '' : `Flags: ${allowed.join(' ')}\n`) +
      `Stored in ${where(store)}\n`,
  );
  return EXIT_OK;
}

const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  name: 'NAME',
  kubeconfig: '--kubeconfig',
  context: '--context',
  repo: '--repo',
  branch: '--branch',
  dir: '--dir',
  sourceFormat: '--source-format',
  allowInsecure: '--allow-insecure',
  allowExec: '--allow-exec',
  execAllow: '--exec-allow',
  plans: '--no-plans',
  healthTimeout: '--health-timeout',
  environment: '--environment',
  production: '--production',
};

/** `waits up to 5m for health`, `does not wait for health`. */
function healthOf(c: ClusterSummary): string {
  const ms = healthTimeoutMs(c);
  return ms === 0 ? 'does not wait for health' : `waits up to ${formatSeconds(ms / 1000)} for health`;
}

/** The HEALTH column: the timeout, or `no wait`. */
function healthColumn(c: ClusterSummary): string {
  const ms = healthTimeoutMs(c);
  return ms === 0 ? 'no wait' : formatSeconds(ms / 1000);
}

/** `prod-east`, `prod (production)`. */
function environmentText(c: ClusterSummary): string {
  return `${environmentOf(c)}${c.production === true ? ' (production)' : ''}`;
}

/** What a registration allows beyond the defaults, as `clusters list` shows it. */
function flagsOf(c: ClusterSummary): string[] {
  return [
    ...(c.allowInsecure === true ? ['insecure'] : []),
    ...(c.allowExec === true ? [`exec:${(c.execAllow ?? DEFAULT_EXEC_ALLOWLIST).join(',')}`] : []),
    ...(c.plans === false ? ['no-plans'] : []),
  ];
}

async function list(args: readonly string[], io: Io, sources: InputSources): Promise<number> {
  const parsed = parseCommand({ name: 'clusters', help: clustersHelp }, args, io, {
    json: { type: 'boolean', default: false },
    repo: { type: 'string' },
    branch: { type: 'string' },
  });
  if (!parsed) return EXIT_OK;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`list takes no arguments, got ${positionals.join(' ')}`, 'clusters');
  if (values.branch !== undefined && values.repo === undefined) throw new UsageError('--branch needs --repo', 'clusters');
  const store = sources.store();
  // Repo any case, branch exact: as clustersFollowing matches a push.
  const registrations = (await listRegistrations(store)).filter(
    ({ cluster: c }) => (values.repo === undefined || c.repo.toLowerCase() === values.repo.toLowerCase()) && (values.branch === undefined || c.branch === values.branch),
  );
  const clusters: ClusterSummary[] = registrations.map((r) => r.cluster);
  if (values.json) {
    io.stdout(`${JSON.stringify(clusters, null, 2)}\n`);
    return EXIT_OK;
  }
  if (clusters.length === 0) {
    io.stdout(`No clusters registered${values.repo === undefined ? '' : ' that match'} (store: ${where(store)}).\n`);
    return EXIT_OK;
  }
  io.stdout(
    textTable(
      ['NAME', 'REPO', 'BRANCH', 'DIR', 'FORMAT', 'CONTEXT', 'HEALTH', 'ENVIRONMENT', 'FLAGS'],
      registrations.map(({ cluster: c, combined }) => [
        c.name,
        c.repo,
        c.branch,
        c.dir,
        c.sourceFormat,
        c.context ?? '(current)',
        healthColumn(c),
        environmentText(c),
        [...flagsOf(c), ...(combined ? ['old-format'] : [])].join(' ') || '-',
      ]),
    ),
  );
  const old = registrations.filter((r) => r.combined).length;
  if (old > 0) {
    io.stdout(
      `\n${old} registration(s) marked old-format keep the kubeconfig inside clusters/<name> (the previous release's layout), where the sync function can read it.\n` +
        `Register each again with --replace (and its kubeconfig) to store the kubeconfig apart, in kubeconfigs/<name>.\n`,
    );
  }
  return EXIT_OK;
}

async function show(args: readonly string[], io: Io, sources: InputSources): Promise<number> {
  const parsed = parseCommand({ name: 'clusters', help: clustersHelp }, args, io, { json: { type: 'boolean', default: false } });
  if (!parsed) return EXIT_OK;
  const { values, positionals } = parsed;
  const name = oneName('clusters', 'show', positionals);
  // Read from the listing (clusters/* only): showing a registration never reads its kubeconfig.
  const found = (await listRegistrations(sources.store())).find((r) => r.cluster.name === name);
  if (!found) {
    io.stderr(`pushsync clusters show: no cluster named ${JSON.stringify(name)} is registered\n`);
    return EXIT_FAILED;
  }
  const c = found.cluster;
  if (values.json) {
    io.stdout(`${JSON.stringify(c, null, 2)}\n`);
    return EXIT_OK;
  }
  const flags = [...flagsOf(c), ...(found.combined ? ['old-format'] : [])];
  const rows: [string, string][] = [
    ['Name', c.name],
    ['Status context', `pushsync/${c.name}`],
    ['Repo', c.repo],
    ['Branch', c.branch],
    ['Dir', c.dir],
    ['Source format', c.sourceFormat],
    ['Context', c.context ?? '(current)'],
    ['Health timeout', healthTimeoutMs(c) === 0 ? '0 (does not wait for health)' : formatSeconds(healthTimeoutMs(c) / 1000)],
    ['Environment', environmentText(c)],
    ['Flags', flags.join(' ') || '-'],
    ['Registered at', c.registeredAt],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  io.stdout(rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}\n`).join(''));
  return EXIT_OK;
}

async function remove(args: readonly string[], io: Io, sources: InputSources): Promise<number> {
  const parsed = parseCommand({ name: 'clusters', help: clustersHelp }, args, io, {});
  if (!parsed) return EXIT_OK;
  const { positionals } = parsed;
  const name = oneName('clusters', 'remove', positionals);
  if (!(await removeCluster(sources.store(), name))) {
    io.stderr(`pushsync clusters remove: no cluster named ${JSON.stringify(name)} is registered\n`);
    return EXIT_FAILED;
  }
  io.stdout(`Removed cluster ${name}. Nothing on the cluster was changed.\n`);
  return EXIT_OK;
}

/** Friendly names → store names. */
const SECRET_KINDS: Readonly<Record<string, string>> = {
  'github-token': SecretNames.githubToken,
  'github-app': SecretNames.githubApp,
  'webhook-secret': SecretNames.webhookSecret,
  'helm-repo': SecretNames.helmRepos,
};

async function setSecret(args: readonly string[], io: Io, sources: InputSources): Promise<number> {
  const parsed = parseCommand({ name: 'secrets', help: secretsHelp }, args, io, {
    'from-file': { type: 'string' },
    'app-id': { type: 'string' },
    'private-key-file': { type: 'string' },
    'keep-previous': { type: 'boolean', default: false },
    url: { type: 'string' },
    username: { type: 'string' },
  });
  if (!parsed) return EXIT_OK;
  const { values, positionals } = parsed;
  const kind = secretKind(positionals, 'set');
  const allowed: Record<string, readonly string[]> = {
    'github-token': ['from-file'],
    'github-app': ['app-id', 'private-key-file'],
    'webhook-secret': ['from-file', 'keep-previous'],
    'helm-repo': ['from-file', 'url', 'username'],
  };
  for (const flag of ['from-file', 'app-id', 'private-key-file', 'keep-previous', 'url', 'username'] as const) {
    const given = flag === 'keep-previous' ? values[flag] === true : values[flag] !== undefined;
    if (given && !(allowed[kind] ?? []).includes(flag)) throw new UsageError(`--${flag} does not apply to ${kind}`, 'secrets');
  }
  const store = sources.store();
  let errors: FieldError[];
  switch (kind) {
    case 'github-token':
      errors = await setGitHubToken(store, await readInput('secrets', '--from-file', values['from-file'] ?? '-', sources));
      break;
    case 'github-app': {
      if (values['app-id'] === undefined) throw new UsageError('set github-app needs --app-id', 'secrets');
      if (values['private-key-file'] === undefined) throw new UsageError('set github-app needs --private-key-file', 'secrets');
      const privateKey = await readInput('secrets', '--private-key-file', values['private-key-file'], sources);
      errors = await setGitHubApp(store, { appId: values['app-id'], privateKey });
      break;
    }
    case 'helm-repo': {
      if (values.url === undefined) throw new UsageError('set helm-repo needs --url (the chart repository, as helmCharts[].repo names it)', 'secrets');
      if (values.username === undefined) throw new UsageError('set helm-repo needs --username', 'secrets');
      const password = await readInput('secrets', '--from-file', values['from-file'] ?? '-', sources);
      errors = await setHelmRepo(store, { url: values.url, username: values.username, password });
      break;
    }
    default: {
      const text = await readInput('secrets', '--from-file', values['from-file'] ?? '-', sources);
      errors = await setWebhookSecrets(store, text.split(/\r?\n/), { keepPrevious: values['keep-previous'] });
    }
  }
  if (errors.length > 0) {
    io.stderr(fieldErrors(`secrets set ${kind}`, errors, { url: '--url', username: '--username', password: 'password (stdin or --from-file)' }));
    return EXIT_USAGE;
  }
  io.stdout(`Stored ${kind}${kind === 'helm-repo' ? ` for ${normalizeRepoUrl(values.url ?? '')}` : ''} in ${where(store)}\n`);
  return EXIT_OK;
}

async function listSecrets(args: readonly string[], io: Io, sources: InputSources): Promise<number> {
  const parsed = parseCommand({ name: 'secrets', help: secretsHelp }, args, io, {});
  if (!parsed) return EXIT_OK;
  const { positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`list takes no arguments, got ${positionals.join(' ')}`, 'secrets');
  const store = sources.store();
  const names = new Set(await store.list(''));
  const rows = Object.entries(SECRET_KINDS)
    .filter(([kind]) => kind !== 'helm-repo')
    .map(([kind, name]) => [kind, names.has(name) ? 'set' : 'not set']);
  // One row per chart repository: its URL and user name are not secret, the password is never shown.
  const helmRepos = names.has(SecretNames.helmRepos) ? await listHelmRepos(store) : [];
  if (helmRepos.length === 0) rows.push(['helm-repo', 'not set']);
  for (const r of helmRepos) rows.push([`helm-repo ${r.url}`, `set (user ${r.username})`]);
  const clusters = [...names].filter((n) => n.startsWith(SecretNames.clusterPrefix)).length;
  io.stdout(`${textTable(['SECRET', 'STATE'], rows)}${clusters} cluster registration(s) (see 'pushsync clusters list'); store: ${where(store)}\n`);
  return EXIT_OK;
}

async function removeSecret(args: readonly string[], io: Io, sources: InputSources): Promise<number> {
  const parsed = parseCommand({ name: 'secrets', help: secretsHelp }, args, io, { url: { type: 'string' } });
  if (!parsed) return EXIT_OK;
  const { positionals, values } = parsed;
  const kind = secretKind(positionals, 'remove');
  if (kind === 'helm-repo') {
    if (values.url === undefined) throw new UsageError('remove helm-repo needs --url (see `pushsync secrets list`)', 'secrets');
    if (!(await removeHelmRepo(sources.store(), values.url))) {
      io.stderr(`pushsync secrets remove: no helm-repo is set for ${normalizeRepoUrl(values.url)}\n`);
      return EXIT_FAILED;
    }
    io.stdout(`Removed helm-repo ${normalizeRepoUrl(values.url)}.\n`);
    return EXIT_OK;
  }
  if (values.url !== undefined) throw new UsageError(`--url does not apply to ${kind}`, 'secrets');
  if (!(await sources.store().delete(SECRET_KINDS[kind] ?? ''))) {
    io.stderr(`pushsync secrets remove: ${kind} is not set\n`);
    return EXIT_FAILED;
  }
  io.stdout(`Removed ${kind}.\n`);
  return EXIT_OK;
}

function secretKind(positionals: readonly string[], verb: string): string {
  const kinds = Object.keys(SECRET_KINDS).join(', ');
  if (positionals.length !== 1) throw new UsageError(`${verb} needs exactly one of ${kinds}`, 'secrets');
  const kind = positionals[0] ?? '';
  if (SECRET_KINDS[kind] === undefined) {
    throw new UsageError(`unknown secret ${JSON.stringify(kind)}: use one of ${kinds} (values come from a file or stdin, never the command line)`, 'secrets');
  }
  return kind;
}

function oneName(command: string, verb: string, positionals: readonly string[]): string {
  if (positionals.length !== 1) throw new UsageError(`${verb} needs exactly one cluster NAME${positionals.length > 1 ? `, got ${positionals.join(' ')}` : ''}`, command);
  return positionals[0] ?? '';
}

/** A file's content, or stdin for "-". */
async function readInput(command: string, flag: string, file: string, sources: InputSources): Promise<string> {
  if (file === '-') return sources.stdin();
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new UsageError(`cannot read ${flag} ${JSON.stringify(file)}${typeof code === 'string' ? ` (${code})` : ''}`, command);
  }
}

async function readProcessStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Reading from stdin; paste the value, then press Ctrl-D.\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function fieldErrors(what: string, errors: readonly FieldError[], flags: Readonly<Record<string, string>>): string {
  const lines = errors.map((e) => `  ${flags[e.field] ?? e.field}: ${e.message}`);
  return `pushsync ${what}: ${errors.length === 1 ? 'invalid value' : `${errors.length} invalid values`}\n${lines.join('\n')}\n`;
}


