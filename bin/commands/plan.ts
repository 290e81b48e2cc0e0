import { DEFAULT_INVENTORY, plan } from '../../lib/cluster/index.ts';
import { renderPlan, renderRunError } from '../../lib/cluster/render.ts';
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
  type Command,
  type Io,
} from './common.ts';

const help = `Usage: pushsync plan [DIR] --kubeconfig <file> --cluster <name> [flags]

Show what \`pushsync apply\` would change on a cluster, without changing anything: the policy
repo in DIR is vetted and hydrated for the cluster, every object is checked with a
server-side-apply dry-run and compared with what is live, and the objects that left the repo
are listed for deletion. Nothing is written to the cluster, not even pushsync's own namespace.
Validation errors are printed as \`pushsync vet\` prints them and the cluster is not contacted.

One line per object that would change, in the words \`pushsync apply\` reports:
  + create   ~ configure (the changed fields below it)   - prune (delete)
  ! failed (with the API server's message)                = left alone (with why)
Unchanged objects are counted on the last line: Plan: 3 to create, 1 to configure, 0 to prune, 21 unchanged.
A Secret's data is never compared: a Secret that declares data is always "configure", with
the line "Secret data (not compared)", so a plan cannot confirm a guessed value.

Arguments:
  DIR                        The policy dir (default: ".")

Flags:
  --kubeconfig <file>        The cluster's kubeconfig (required)
  --context <name>           Context in the kubeconfig (default: its current-context)
  --cluster <name>           The cluster's name, for cluster selectors and Cluster objects in the
                             repo (required)
  --source-format <format>   "hierarchy" or "unstructured" (default: "hierarchy")
  --inventory <name>         The inventory (ApplySet ConfigMap in pushsync-system) to compare
                             with, one per sync source (default: "${DEFAULT_INVENTORY}")
  --allow-delete-all         Plan as \`apply --allow-delete-all\` would run: no KNV2006 refusal
                             when every Namespace or every object would be deleted (default: false)
  --show-unchanged           List unchanged objects too (default: false)
  --json                     Print the plan as JSON on stdout instead of text (default: false)
  -h, --help                 Show this help

Exit status: 0 planned, 1 validation errors, an object that would fail or an apply that would
be refused, 2 usage error, 3 internal error, 4 the API server could not be reached (try again).

Examples:
  pushsync plan --kubeconfig ~/.kube/config --cluster prod-east
  pushsync plan ../policy --kubeconfig prod.yaml --context admin@prod --cluster prod --source-format unstructured
  pushsync plan --kubeconfig prod.yaml --cluster prod --json | jq '.counts'
`;

export const planCommand: Command = {
  name: 'plan',
  summary: 'Show what apply would change on a cluster (dry-run, never writes)',
  help,
  async run(args: readonly string[], io: Io): Promise<number> {
    const parsed = parseCommand(planCommand, args, io, {
      ...CLUSTER_FLAGS,
      cluster: { type: 'string' },
      'source-format': { type: 'string' },
      'allow-delete-all': { type: 'boolean', default: false },
      'show-unchanged': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    if (!parsed) return EXIT_OK;
    const { values, positionals } = parsed;
    const dir = policyDirArg('plan', positionals);
    const kubeconfig = required('plan', 'kubeconfig', values.kubeconfig);
    const cluster = required('plan', 'cluster', values.cluster);
    const sourceFormat = parseSourceFormat('plan', values['source-format']);
    const inventory = parseInventoryName('plan', values.inventory, DEFAULT_INVENTORY);

    const { root, result } = await compileForCluster('plan', dir, sourceFormat, cluster);
    if (result.errors.length > 0) {
      printVetErrors(result, root, values.json, io);
      return EXIT_FAILED;
    }
    const conn = await connectWithKubeconfig('plan', kubeconfig, values.context);
    try {
      const planned = await plan(
        conn,
        result.objects.map((d) => d.obj),
        { inventory, allowDeleteAll: values['allow-delete-all'] },
      );
      if (values.json) io.stdout(`${JSON.stringify(planned, null, 2)}\n`);
      else io.stdout(renderPlan(planned, { showUnchanged: values['show-unchanged'] }));
      if (planned.error) {
        if (!values.json) io.stderr(renderRunError(planned.error));
        return planned.error.retryable ? EXIT_RETRY : EXIT_FAILED;
      }
      return planned.counts.failed > 0 ? EXIT_FAILED : EXIT_OK;
    } finally {
      conn.close();
    }
  },
};
