import { apply, ClusterError, Codes, DEFAULT_INVENTORY, describeObjectHealth, describeProgress, renderHealthTable } from '../../lib/cluster/index.ts';
import type { ApplyOptions, ApplyResult, Connection, ObjectHealth } from '../../lib/cluster/index.ts';
import { renderApply, renderRunError, shortCommit } from '../../lib/cluster/render.ts';
import { gitHasChanges, gitHasCommit, gitIsAncestor, gitPrefix, looksLikeCommit } from '../../lib/source/index.ts';
import { gitHeadCommit } from '../../lib/source/index.ts';
import {
  compileForCluster,
  connectWithKubeconfig,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_RETRY,
  parseInventoryName,
  CLUSTER_FLAGS,
  parseCommand,
  parseSourceFormat,
  policyDirArg,
  printVetErrors,
  required,
  UsageError,
  type Command,
  type Io,
} from './common.ts';
import { formatSeconds, parseDuration } from './duration.ts';
import { waitForRollout } from './rollout-wait.ts';
import type { WaitOutcome } from './rollout-wait.ts';

const DEFAULT_LEASE_WAIT_SECONDS = 120;
/** `--wait` without a duration: Config Sync's reconcileTimeout, as a registration's health timeout. */
const DEFAULT_WAIT_SECONDS = 300;
const MAX_WAIT_SECONDS = 24 * 3600;

const help = `Usage: pushsync apply [DIR] --kubeconfig <file> --cluster <name> [flags]

Make a cluster match the policy repo in DIR: vet and hydrate it for the cluster, then
server-side apply every object (field manager "pushsync", taking over fields other managers
changed: Git wins), in order (CRDs, then Namespaces, other cluster-scoped objects, namespaced
objects), and delete the objects an earlier apply created that the repo no longer declares.
Objects pushsync did not create are never deleted. Validation errors are printed as
\`pushsync vet\` prints them and the cluster is not contacted.

What was applied is recorded on the cluster in an inventory (a kubectl ApplySet: ConfigMap
<inventory> in namespace pushsync-system), with the commit; see \`pushsync status\`.

The commit: --commit, else \`git rev-parse HEAD\` of the work tree holding DIR (with a warning
when DIR has uncommitted changes: they are applied, recorded as HEAD). Outside a git work tree
--commit is required: the commit recorded on the cluster must be one later applies can
compare with, so pushsync does not make one up.

Never backwards: when the cluster already has a commit that descends from this one (asked of
git in DIR's repo), nothing is done and the run reports "superseded" (exit 0). When the
cluster's commit is a SHA this repo does not have, apply refuses: \`git fetch\` first. Outside a
git work tree, or when either commit is not a SHA, there is no such check.

Applies to one cluster never interleave: a Lease in pushsync-system is held for the run; a
second apply waits for it (see --lease-timeout), then gives up with exit status 4.

Applied is not running: with --wait, apply then waits for the rollout, as \`kubectl rollout
status\` does, checking every 2 s and printing how far it is when that changes ("rolling out:
1/2 Deployments available"). Every object of the inventory is judged from its own status
(kstatus: a Deployment is healthy once Available with every replica updated, a Service of type
LoadBalancer once it has an address, a Job once Complete, …); an object annotated
pushsync.dev/health: ignore is not waited for. It ends with "N objects healthy in X s" (exit 0),
or exit 1 when an object fails (e.g. "Deployment shop/web: ProgressDeadlineExceeded; pod
web-7d4b9-x2x: ImagePullBackOff"), when another apply supersedes this one, or when the duration
passes first (with what was still in progress). The rollout itself goes on either way.

Arguments:
  DIR                        The policy dir (default: ".")

Flags:
  --kubeconfig <file>        The cluster's kubeconfig (required)
  --context <name>           Context in the kubeconfig (default: its current-context)
  --cluster <name>           The cluster's name, for cluster selectors and Cluster objects in the
                             repo (required)
  --source-format <format>   "hierarchy" or "unstructured" (default: "hierarchy")
  --inventory <name>         The inventory (ApplySet ConfigMap in pushsync-system), one per sync
                             source (default: "${DEFAULT_INVENTORY}")
  --commit <sha>             The commit recorded as applied (default: HEAD of DIR's git repo)
  --allow-delete-all         Allow a commit that deletes every managed Namespace, or every
                             managed object (refused otherwise: KNV2006) (default: false)
  --lease-timeout <seconds>  How long to wait for another apply to the cluster to finish
                             (default: ${DEFAULT_LEASE_WAIT_SECONDS})
  --wait[=<duration>]        After the apply, wait until every object is healthy, e.g. --wait,
                             --wait=90s, --wait=10m (the duration after "="; default when
                             given: ${formatSeconds(DEFAULT_WAIT_SECONDS)}; default: no wait)
  --show-unchanged           List unchanged objects too (default: false)
  --json                     Print the result as JSON on stdout instead of text; with --wait,
                             once the wait is over, with its outcome as "wait" (default: false)
  -h, --help                 Show this help

Exit status: 0 applied (or superseded: nothing to do; with --wait: and healthy), 1 validation
errors, objects that failed, a refused commit, or with --wait a rollout that failed, was
superseded or was not healthy in time, 2 usage error, 3 internal error, 4 try again later:
another apply held the cluster's lease, or the API server could not be reached.

Examples:
  pushsync apply --kubeconfig ~/.kube/config --cluster prod-east
  pushsync apply ../policy --kubeconfig prod.yaml --context admin@prod --cluster prod --inventory platform
  pushsync apply build/policy --kubeconfig prod.yaml --cluster prod --commit "$GITHUB_SHA" --json > result.json
  pushsync apply --kubeconfig ~/.kube/config --cluster staging --wait=10m
`;

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Make a cluster match the policy repo (server-side apply, prune)',
  help,
  async run(args: readonly string[], io: Io): Promise<number> {
    const parsed = parseCommand(applyCommand, waitWithValue(args), io, {
      ...CLUSTER_FLAGS,
      cluster: { type: 'string' },
      'source-format': { type: 'string' },
      commit: { type: 'string' },
      'allow-delete-all': { type: 'boolean', default: false },
      'lease-timeout': { type: 'string' },
      'show-unchanged': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      wait: { type: 'string' },
    });
    if (!parsed) return EXIT_OK;
    const { values, positionals } = parsed;
    const dir = policyDirArg('apply', positionals);
    const kubeconfig = required('apply', 'kubeconfig', values.kubeconfig);
    const cluster = required('apply', 'cluster', values.cluster);
    const sourceFormat = parseSourceFormat('apply', values['source-format']);
    const inventory = parseInventoryName('apply', values.inventory, DEFAULT_INVENTORY);
    const leaseWaitMs = parseLeaseTimeout(values['lease-timeout']);
    if (values.commit !== undefined) validateCommit(values.commit);
    const waitMs = parseWait(values.wait);

    const { root, result } = await compileForCluster('apply', dir, sourceFormat, cluster);
    if (result.errors.length > 0) {
      printVetErrors(result, root, values.json, io);
      return EXIT_FAILED;
    }
    const commit = await resolveCommit(root, dir, values.commit, io);
    const inGit = (await gitPrefix(root)) !== undefined;

    const conn = await connectWithKubeconfig('apply', kubeconfig, values.context);
    // The first Ctrl-C stops the run cleanly (the lease is released, the inventory stays
    // truthful); a second one kills the process as usual.
    const interrupt = new AbortController();
    const onSigint = (): void => {
      io.stderr('Interrupted: stopping after the requests in flight (Ctrl-C again to quit at once).\n');
      interrupt.abort(new Error('interrupted'));
    };
    process.once('SIGINT', onSigint);
    try {
      const options: ApplyOptions = {
        commit,
        inventory,
        allowDeleteAll: values['allow-delete-all'],
        signal: interrupt.signal,
        ...(inGit ? { isAncestor: ancestryOracle(root) } : {}),
        ...(leaseWaitMs === undefined ? {} : { lease: { waitMs: leaseWaitMs } }),
      };
      const applied = await apply(conn, result.objects.map((d) => d.obj), options);
      const waiting = waitMs !== undefined && applied.status === 'applied';
      // With --json and --wait the one JSON document comes at the end, with the wait's outcome.
      if (values.json && !waiting) io.stdout(`${JSON.stringify(applied, null, 2)}\n`);
      if (!values.json) io.stdout(renderApply(applied, cluster, { showUnchanged: values['show-unchanged'] }));
      if (applied.error && !values.json) io.stderr(renderRunError(applied.error));
      if (waiting) return await waitAndReport(conn, applied, { inventory, timeoutMs: waitMs, json: values.json, signal: interrupt.signal }, io);
      switch (applied.status) {
        case 'applied':
        case 'superseded':
          return EXIT_OK;
        case 'partial':
          return EXIT_FAILED;
        case 'failed':
          return applied.error?.retryable ? EXIT_RETRY : EXIT_FAILED;
      }
    } finally {
      process.removeListener('SIGINT', onSigint);
      conn.close();
    }
  },
};

/**
 * `--wait` takes its duration after "=" only (`--wait=5m`), so `--wait DIR` keeps DIR as the
 * policy dir; node:util's parser needs a value for a string flag, so a bare `--wait` gets an
 * empty one (= the default).
 */
function waitWithValue(args: readonly string[]): string[] {
  const end = args.indexOf('--');
  return args.map((a, i) => {
    if (a !== '--wait' || (end >= 0 && i > end)) return a;
    const next = args[i + 1];
    if (next !== undefined && /^\d+[hms]?(\d+[ms])?(\d+s)?$/.test(next)) {
      throw new UsageError(`give --wait its duration after "=": --wait=${next}`, 'apply');
    }
    return '--wait=';
  });
}

/** Milliseconds to wait for health; undefined without --wait. */
function parseWait(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === '') return DEFAULT_WAIT_SECONDS * 1000;
  const seconds = parseDuration('apply', '--wait', value, MAX_WAIT_SECONDS);
  if (seconds === 0) throw new UsageError(`invalid --wait ${JSON.stringify(value)}: give a duration above 0, or leave out --wait not to wait`, 'apply');
  return seconds * 1000;
}

interface WaitReport {
  readonly inventory: string;
  readonly timeoutMs: number;
  readonly json: boolean;
  readonly signal: AbortSignal;
}

/** Waits for the rollout the apply started, prints how it went, returns the exit status. */
async function waitAndReport(conn: Connection, applied: ApplyResult, w: WaitReport, io: Io): Promise<number> {
  // Progress goes to stderr with --json: stdout holds only the JSON document.
  const progress = w.json ? io.stderr : io.stdout;
  const outcome = await waitForRollout(
    conn,
    { inventory: w.inventory, commit: applied.commit, ...(applied.rollout ? { rollout: applied.rollout } : {}), timeoutMs: w.timeoutMs, signal: w.signal },
    (text) => progress(`${text}\n`),
  );
  if (w.json) io.stdout(`${JSON.stringify({ ...applied, wait: outcome }, null, 2)}\n`);
  else io.stdout(describeOutcome(outcome, w.timeoutMs));
  switch (outcome.kind) {
    case 'healthy':
      return EXIT_OK;
    case 'error':
      if (!w.json) io.stderr(renderRunError(outcome.error));
      return EXIT_FAILED;
    case 'timeout':
      // Never answered at the end: the cluster may be fine, only unreachable.
      return outcome.error ? EXIT_RETRY : EXIT_FAILED;
    case 'failed':
    case 'superseded':
    case 'interrupted':
      return EXIT_FAILED;
  }
}

/** What a wait ended with, for people: one line, and the objects that were not healthy. */
function describeOutcome(o: WaitOutcome, timeoutMs: number): string {
  const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;
  const notHealthy = (c: { readonly objects: readonly ObjectHealth[] }): string => {
    const rest = c.objects.filter((x) => x.health.status !== 'Current');
    return rest.length === 0 ? '' : `\n${renderHealthTable(rest)}`;
  };
  switch (o.kind) {
    case 'healthy':
      return `${o.check.objects.length} object${o.check.objects.length === 1 ? '' : 's'} healthy in ${seconds(o.ms)}\n`;
    case 'failed':
      return `Rollout failed after ${seconds(o.ms)}: ${describeObjectHealth(o.check.failed)}\n${notHealthy(o.check)}`;
    case 'timeout':
      if (!o.last) return `Rollout not checked within ${formatSeconds(timeoutMs / 1000)}: ${o.error?.message ?? 'no answer'}\n`;
      return `Rollout not healthy after ${formatSeconds(timeoutMs / 1000)}: ${describeProgress(o.last.objects)}\n${notHealthy(o.last)}`;
    case 'superseded':
      return o.sameCommit
        ? `Rollout superseded: commit ${shortCommit(o.by)} was applied again before this rollout finished\n`
        : `Rollout superseded: commit ${shortCommit(o.by)} was applied before this rollout finished\n`;
    case 'error':
      return `Rollout not checked: ${o.error.message}\n`;
    case 'interrupted':
      return 'Interrupted: stopped waiting (the rollout goes on on the cluster).\n';
  }
}

function parseLeaseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
    throw new UsageError(`invalid --lease-timeout ${JSON.stringify(value)}: use a number of seconds from 0 to 3600`, 'apply');
  }
  return Math.round(seconds * 1000);
}

/** The commit becomes an annotation value and is shown in statuses: one printable word. */
function validateCommit(commit: string): void {
  if (!/^[\x21-\x7e]{1,128}$/.test(commit)) {
    throw new UsageError(`invalid --commit ${JSON.stringify(commit)}: use a commit SHA (at most 128 printable characters, no spaces)`, 'apply');
  }
}

async function resolveCommit(root: string, dir: string, given: string | undefined, io: Io): Promise<string> {
  if (given !== undefined) return given;
  const head = await gitHeadCommit(root);
  if (head === undefined) {
    throw new UsageError(
      `${JSON.stringify(dir)} is not in a git work tree with a commit, so there is no commit to record: pass --commit <sha>`,
      'apply',
    );
  }
  if (await gitHasChanges(root)) {
    io.stderr(`warning: ${dir} has changes that are not committed; they are applied and recorded as commit ${shortCommit(head)}\n`);
  }
  return head;
}

/**
 * "Is A an ancestor of B?" from the local repo. A SHA the repo does not know cannot be ordered:
 * guessing "no" could let a stale checkout roll the cluster back, so the run is refused.
 */
function ancestryOracle(root: string): NonNullable<ApplyOptions['isAncestor']> {
  return async (ancestor, descendant) => {
    const known = await gitIsAncestor(root, ancestor, descendant);
    if (known !== undefined) return known;
    if (!looksLikeCommit(ancestor) || !looksLikeCommit(descendant)) return false;
    if ((await gitHasCommit(root, descendant)) === false) {
      throw new ClusterError(
        Codes.conflict,
        `the cluster records commit ${descendant}, which the git repository at ${root} does not have: ` +
          `run \`git fetch\` so pushsync can tell whether it is newer than ${shortCommit(ancestor)}`,
      );
    }
    throw new ClusterError(
      Codes.conflict,
      `commit ${ancestor} is not in the git repository at ${root}, so pushsync cannot tell whether it is ` +
        `newer than commit ${shortCommit(descendant)}, which the cluster records: use a commit of this repository`,
    );
  };
}
