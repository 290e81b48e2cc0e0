/**
 * What a local server still needs before a push does anything, and the exact commands that
 * provide it. Read from the store at start; a store entry that cannot be read counts as
 * missing, with the reason, so the fix is the same command.
 */
import { getGitHubCredentials, getWebhookSecrets, listClusters, type ClusterSummary, type SecretStore } from '../registry/index.ts';

export interface SetupState {
  /** undefined: set; otherwise why not ("not set", or what is wrong with the stored value). */
  readonly webhookSecret: string | undefined;
  readonly githubCredentials: { readonly kind: 'app' | 'token' } | { readonly kind: 'missing'; readonly reason: string };
  readonly clusters: readonly ClusterSummary[];
  readonly clustersProblem: string | undefined;
}

export type SetupStep = 'webhook-secret' | 'github-credentials' | 'cluster';

export async function readSetup(store: SecretStore): Promise<SetupState> {
  const problem = (err: unknown): string => (err instanceof Error ? err.message : String(err));
  let webhookSecret: string | undefined;
  try {
    webhookSecret = (await getWebhookSecrets(store)).length > 0 ? undefined : 'not set';
  } catch (err) {
    webhookSecret = problem(err);
  }
  let githubCredentials: SetupState['githubCredentials'];
  try {
    const creds = await getGitHubCredentials(store);
    githubCredentials = creds === undefined ? { kind: 'missing', reason: 'not set' } : { kind: creds.kind };
  } catch (err) {
    githubCredentials = { kind: 'missing', reason: problem(err) };
  }
  let clusters: readonly ClusterSummary[] = [];
  let clustersProblem: string | undefined;
  try {
    clusters = await listClusters(store);
  } catch (err) {
    clustersProblem = problem(err);
  }
  return { webhookSecret, githubCredentials, clusters, clustersProblem };
}

export function missingSteps(state: SetupState): SetupStep[] {
  const steps: SetupStep[] = [];
  if (state.webhookSecret !== undefined) steps.push('webhook-secret');
  if (state.githubCredentials.kind === 'missing') steps.push('github-credentials');
  if (state.clusters.length === 0) steps.push('cluster');
  return steps;
}

export interface HintContext {
  /** The URL GitHub should deliver to. */
  readonly webhookUrl: string;
  /** Absolute path of the pushsync home, for the reader. */
  readonly home: string;
  /** Set when PUSHSYNC_HOME was given: every command is prefixed with it, so it writes the same store. */
  readonly homeEnv?: string;
  /** True when the server listens on a loopback address only (GitHub cannot reach it as is). */
  readonly loopbackOnly: boolean;
}

/**
 * Human text for the terminal: the missing steps, numbered, each with a command to copy, then
 * the GitHub webhook settings. Empty when nothing is missing.
 */
export function setupHints(state: SetupState, ctx: HintContext): string {
  const steps = missingSteps(state);
  if (steps.length === 0) return '';
  const cli = cliPrefix(ctx.homeEnv);
  // Each block: its first line follows the number; the others are indented under it.
  const blocks: string[][] = [];
  for (const step of steps) {
    switch (step) {
      case 'webhook-secret':
        blocks.push([
          `Set the webhook secret${state.webhookSecret === 'not set' ? '' : ` (${state.webhookSecret})`}; until then every delivery is refused (401):`,
          `  openssl rand -hex 32 > webhook-secret.txt`,
          `  ${cli} secrets set webhook-secret --from-file webhook-secret.txt`,
        ]);
        break;
      case 'github-credentials': {
        const reason = state.githubCredentials.kind === 'missing' && state.githubCredentials.reason !== 'not set' ? ` (${state.githubCredentials.reason})` : '';
        blocks.push([
          `Give pushsync GitHub credentials${reason}: a fine-grained token with "Commit statuses:`,
          `read and write", "Deployments: read and write" (a GitHub Deployment per cluster: the`,
          `Environments page shows which commit runs where) and "Contents: read-only" on the policy`,
          `repo, saved in github-token.txt:`,
          `  ${cli} secrets set github-token --from-file github-token.txt`,
          `or a GitHub App with the same permissions and "Checks: read and write", which adds check`,
          `runs with annotations:`,
          `  ${cli} secrets set github-app --app-id ID --private-key-file KEY.pem`,
        ]);
        break;
      }
      case 'cluster':
        blocks.push([
          `Register a cluster and the repo, branch and policy dir it follows${state.clustersProblem === undefined ? '' : ` (${state.clustersProblem})`}:`,
          `  ${cli} clusters register mycluster --kubeconfig ~/.kube/config \\`,
          `      --repo OWNER/REPO --branch main --dir .`,
        ]);
        break;
      default: {
        const unreachable: never = step;
        throw new Error(`unknown setup step ${String(unreachable)}`);
      }
    }
  }
  blocks.push([
    'On GitHub, in the policy repo: Settings → Webhooks → Add webhook:',
    `  Payload URL:   ${ctx.webhookUrl}`,
    '  Content type:  application/json',
    '  Secret:        the contents of webhook-secret.txt',
    '  Events:        Just the push event',
    ...(ctx.loopbackOnly
      ? ['GitHub cannot reach a loopback address: start with --host 0.0.0.0 on a machine GitHub', 'can reach (and put its address in the Payload URL), or forward the URL through a tunnel.']
      : ["Put an address of this machine that GitHub can reach in the Payload URL."]),
  ]);
  const numbered = blocks.map((lines, i) => lines.map((l, j) => (j === 0 ? `  ${i + 1}. ${l}` : `     ${l}`)).join('\n')).join('\n\n');
  return `pushsync is not set up yet; it is serving anyway. Secrets live in ${ctx.home}.\nWhat is left to do:\n\n${numbered}\n\nThe running server picks each of these up without a restart.\n`;
}

/** One line for a server that has everything it needs. */
export function readySummary(state: SetupState): string {
  const auth = state.githubCredentials.kind === 'app' ? 'GitHub App' : 'GitHub token';
  const clusters = state.clusters.map((c) => `${c.name} ← ${c.repo}@${c.branch}${c.dir === '.' ? '' : `:${c.dir}`}`).join(', ');
  return `pushsync is set up: ${auth}; ${state.clusters.length} cluster(s): ${clusters}\n`;
}

/** How to run the CLI against the same store: with PUSHSYNC_HOME when the server was given one. */
export function cliPrefix(homeEnv: string | undefined): string {
  return `${homeEnv === undefined ? '' : `PUSHSYNC_HOME=${shellQuote(homeEnv)} `}npx pushsync`;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
