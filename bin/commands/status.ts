import { Codes, DEFAULT_INVENTORY, plan, status } from '../../lib/cluster/index.ts';
import type { ClusterStatus, Connection, ErrorInfo } from '../../lib/cluster/index.ts';
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

Flags:
  --kubeconfig <file>        The cluster's kubeconfig (required)
  --context <name>           Context in the kubeconfig (default: its current-context)
  --inventory <name>         The inventory to read (default: "${DEFAULT_INVENTORY}")
  --json                     Print {inventory, state, objects} as JSON instead of text (default: false)
  -h, --help                 Show this help

Exit status: 0 the last apply attempted was applied in full, 1 no inventory, or the last
apply was partial or failed, 2 usage error, 3 internal error, 4 the API server could not be
reached (try again).

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
      const members = await countMembers(conn, inventory);
      if ('error' in members) {
        io.stderr(renderRunError(members.error));
        return members.error.retryable ? EXIT_RETRY : EXIT_FAILED;
      }
      let read: ClusterStatus;
      try {
        read = await status(conn, { inventory });
      } catch (err) {
        io.stderr(`Error: cannot read the inventory: ${err instanceof Error ? err.message : String(err)}\n`);
        return EXIT_FAILED;
      }
      const objects = read.state.exists ? members.count : 0;
      if (values.json) io.stdout(`${JSON.stringify({ ...read, objects }, null, 2)}\n`);
      else io.stdout(renderStatus({ status: read, members: objects }));
      const s = read.state;
      return s.exists && s.lastStatus === 'applied' && s.lastCommit === s.appliedCommit ? EXIT_OK : EXIT_FAILED;
    } finally {
      conn.close();
    }
  },
};

/**
 * The members of the ApplySet on the cluster now. status() reports the parent's record only;
 * a plan of an empty commit lists every member (each as a prune candidate) through the same
 * label-selected reads apply uses, and never writes. Its KNV2006 verdict is meaningless here.
 */
async function countMembers(conn: Connection, inventory: string): Promise<{ count: number } | { error: ErrorInfo }> {
  const planned = await plan(conn, [], { inventory });
  if (planned.error && planned.error.code !== Codes.deleteAll) return { error: planned.error };
  return { count: planned.objects.length };
}
