import { checkRollout, DEFAULT_INVENTORY, describeObjectHealth, describeProgress, renderHealthTable, status } from '../../lib/cluster/index.ts';
import type { ClusterStatus, RolloutCheck } from '../../lib/cluster/index.ts';
import { renderRunError, renderStatus } from '../../lib/cluster/render.ts';
import {
  connectWithKubeconfig,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_RETRY,
  parseInventoryName,
  CLUSTER_FLAGS,
  parseCommand,
  required,
  UsageError,
  type Command,
  type Io,
} from './common.ts';

const help = `Usage: pushsync status --kubeconfig <file> [flags]

Show what the cluster records about pushsync's applies, from its inventory (ConfigMap
<inventory> in namespace pushsync-system): the last commit applied in full and when, the last
commit attempted and how it ended, that run's counts and errors, and how many objects the
inventory holds now (objects with its ApplySet label). Reads only; no policy repo needed.

Then the health of every object the inventory holds, as \`kubectl get\` would list it:
KIND NAMESPACE NAME HEALTH REASON, and CAUSE (why a workload's pods are not ready, e.g.
"pod web-7d4b9-x2x: ImagePullBackOff") when there is one. HEALTH is kstatus' word: Current,
InProgress, Failed, Terminating or NotFound. An object annotated pushsync.dev/health: ignore is
Current whatever its status. The last line says whether the rollout is healthy, still
progressing (and how far) or failed (and on which object).

Flags:
  --kubeconfig <file>        The cluster's kubeconfig (required)
  --context <name>           Context in the kubeconfig (default: its current-context)
  --inventory <name>         The inventory to read (default: "${DEFAULT_INVENTORY}")
  --json                     Print {inventory, state, objects, health} as JSON instead of text;
                             health is {state, counts, objects} (default: false)
  -h, --help                 Show this help

Exit status: 0 the last apply attempted was applied in full (whatever its objects' health), 1
no inventory, or the last apply was partial or failed, 2 usage error, 3 internal error, 4 the
API server could not be reached (try again).

Examples:
  pushsync status --kubeconfig ~/.kube/config
  pushsync status --kubeconfig prod.yaml --context admin@prod --inventory platform --json | jq '.state.summary'
`;

export const statusCommand: Command = {
  name: 'status',
  summary: "Show the last commit applied to a cluster and that run's result",
  help,
  async run(args: readonly string[], io: Io): Promise<number> {
    const parsed = parseCommand(statusCommand, args, io, {
      ...CLUSTER_FLAGS,
      json: { type: 'boolean', default: false },
    });
    if (!parsed) return EXIT_OK;
    const { values, positionals } = parsed;
    if (positionals.length > 0) {
      throw new UsageError(`status reads the cluster, not a policy dir: unexpected argument ${positionals.join(' ')}`, 'status');
    }
    const kubeconfig = required('status', 'kubeconfig', values.kubeconfig);
    const inventory = parseInventoryName('status', values.inventory, DEFAULT_INVENTORY);

    const conn = await connectWithKubeconfig('status', kubeconfig, values.context);
    try {
      // The members and their health, through the same label-selected reads an apply makes.
      // Its errors are values; an unreachable server is reported before anything else.
      const health = await checkRollout(conn, { inventory });
      if (health.kind === 'error' && health.error.retryable) {
        io.stderr(renderRunError(health.error));
        return EXIT_RETRY;
      }
      let read: ClusterStatus;
      try {
        read = await status(conn, { inventory });
      } catch (err) {
        io.stderr(`Error: cannot read the inventory: ${err instanceof Error ? err.message : String(err)}\n`);
        return EXIT_FAILED;
      }
      if (read.state.exists && health.kind !== 'checked') {
        // Inventory present but its members unreadable (e.g. 403 on a kind).
        if (health.kind === 'error') io.stderr(renderRunError(health.error));
        return EXIT_FAILED;
      }
      const checked = read.state.exists && health.kind === 'checked' ? health : undefined;
      const objects = checked?.objects.length ?? 0;
      if (values.json) {
        const shown = checked ? { health: { state: checked.state, counts: checked.counts, objects: checked.objects } } : {};
        io.stdout(`${JSON.stringify({ ...read, objects, ...shown }, null, 2)}\n`);
      } else {
        io.stdout(renderStatus({ status: read, members: objects }));
        if (checked) io.stdout(renderHealth(checked));
      }
      const s = read.state;
      return s.exists && s.lastStatus === 'applied' && s.lastCommit === s.appliedCommit ? EXIT_OK : EXIT_FAILED;
    } finally {
      conn.close();
    }
  },
};

/** The health table, then one line: healthy, how far the rollout is, or the first failure. */
function renderHealth(c: Extract<RolloutCheck, { kind: 'checked' }>): string {
  if (c.objects.length === 0) return '';
  const verdict =
    c.state === 'healthy'
      ? `healthy: ${c.objects.length === 1 ? 'the only object is' : `all ${c.objects.length} objects are`} Current`
      : c.state === 'failed' && c.failed
        ? `failed: ${describeObjectHealth(c.failed)}`
        : `progressing: ${describeProgress(c.objects)}`;
  return `\n${renderHealthTable(c.objects)}\nRollout: ${verdict}\n`;
}
