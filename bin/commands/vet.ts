import { formatVetErrors, vetReport, VET_SUCCESS_MESSAGE } from '../../lib/repo/format.ts';
import {
  compileDir,
  EXIT_FAILED,
  EXIT_OK,
  parseClusters,
  parseCommand,
  parseSourceFormat,
  policyDirArg,
  type Command,
  type Io,
} from './common.ts';

const help = `Usage: pushsync vet [DIR] [flags]

Validate the Config Sync policy repo in DIR the way \`nomos vet\` does: every rule, once
for each cluster the repo names plus the placeholder cluster "defaultcluster". Works
offline: no cluster is contacted. Errors go to stderr in nomos' format, with a "line:"
after each "source:".

Arguments:
  DIR                        The policy dir (default: ".")

Flags:
  --source-format <format>   "hierarchy" or "unstructured" (default: "hierarchy")
  --clusters <a,b,...>       Only report these clusters; "" reports none (default: all)
  --json                     Print a JSON report on stdout instead of text (default: false)
  -h, --help                 Show this help

Exit status: 0 no errors, 1 validation errors, 2 usage error, 3 internal error.

Examples:
  pushsync vet
  pushsync vet ../policy --source-format unstructured --clusters prod-east,prod-west
  pushsync vet --json | jq '.counts'
`;

export const vetCommand: Command = {
  name: 'vet',
  summary: 'Validate a policy repo, like `nomos vet`',
  help,
  async run(args: readonly string[], io: Io): Promise<number> {
    const parsed = parseCommand(vetCommand, args, io, {
      'source-format': { type: 'string' },
      clusters: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (!parsed) return EXIT_OK;
    const { values, positionals } = parsed;
    const dir = policyDirArg('vet', positionals);
    const { results, root } = await compileDir('vet', dir, {
      sourceFormat: parseSourceFormat('vet', values['source-format']),
      clusters: parseClusters(values.clusters),
      keepObjects: false,
    });

    if (values.json) {
      const report = vetReport(results);
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return report.ok ? EXIT_OK : EXIT_FAILED;
    }
    const errors = formatVetErrors(results, { policyDir: root });
    if (errors === undefined) {
      io.stdout(`${VET_SUCCESS_MESSAGE}\n`);
      return EXIT_OK;
    }
    // "Error: " is what nomos' command framework puts in front; kept so the text diffs cleanly.
    io.stderr(`Error: ${errors}\n`);
    return EXIT_FAILED;
  },
};
