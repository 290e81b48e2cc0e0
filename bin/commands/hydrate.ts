import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatHydrateErrors } from '../../lib/repo/format.ts';
import { hydrateFiles, hydrateFlat, type HydratedFile, type HydrateFormat } from '../../lib/repo/hydrate-output.ts';
import { validateSnapshotPath } from '../../lib/source/index.ts';
import {
  compileDir,
  EXIT_FAILED,
  EXIT_OK,
  parseClusters,
  parseCommand,
  parseSourceFormat,
  policyDirArg,
  UsageError,
  type Command,
  type Io,
} from './common.ts';

const DEFAULT_OUTPUT = 'compiled';

const help = `Usage: pushsync hydrate [DIR] [flags]

Write the objects each cluster would get from the policy repo in DIR, in the layout of
\`nomos hydrate\`: one file per object, <kind>_<name>.<ext>, namespaced objects under
<namespace>/, and everything under <cluster>/ when more than one cluster is reported.
Config Sync's own labels and annotations are removed, so the result re-vets as an
unstructured repo and can be applied with \`kubectl apply -R -f\`. Clusters with
validation errors are left out; their errors go to stderr and the exit status is 1.
Existing files in the output dir are not removed.

Arguments:
  DIR                        The policy dir (default: ".")

Flags:
  --source-format <format>   "hierarchy" or "unstructured" (default: "hierarchy")
  --clusters <a,b,...>       Only hydrate these clusters; "" hydrates none (default: all)
  --output <path>            Output dir, or the output file with --flat; "-" writes
                             everything to stdout as one stream (default: "${DEFAULT_OUTPUT}")
  --format <format>          "yaml" or "json" (default: "yaml")
  --flat                     Write all objects to one file, the --output path (default: false)
  -h, --help                 Show this help

Exit status: 0 written, 1 validation errors or output not writable, 2 usage error,
3 internal error.

Examples:
  pushsync hydrate
  pushsync hydrate ../policy --output /tmp/out --format json
  pushsync hydrate --source-format unstructured --clusters prod-east --output - | kubectl diff -f -
`;

export const hydrateCommand: Command = {
  name: 'hydrate',
  summary: 'Write the objects each cluster would get, like `nomos hydrate`',
  help,
  async run(args: readonly string[], io: Io): Promise<number> {
    const parsed = parseCommand(hydrateCommand, args, io, {
      'source-format': { type: 'string' },
      clusters: { type: 'string' },
      output: { type: 'string', default: DEFAULT_OUTPUT },
      format: { type: 'string', default: 'yaml' },
      flat: { type: 'boolean', default: false },
    });
    if (!parsed) return EXIT_OK;
    const { values, positionals } = parsed;
    const format = parseFormat(values.format);
    if (values.output === '') throw new UsageError('--output must not be empty', 'hydrate');
    const dir = policyDirArg('hydrate', positionals);
    const { results, root } = await compileDir('hydrate', dir, {
      sourceFormat: parseSourceFormat('hydrate', values['source-format']),
      clusters: parseClusters(values.clusters),
    });

    const errors = formatHydrateErrors(results, { policyDir: root });
    if (errors !== '') io.stderr(errors);
    const written = await writeOutput(values.output, values.flat, format, results, io);
    return errors === '' && written ? EXIT_OK : EXIT_FAILED;
  },
};

function parseFormat(value: string): HydrateFormat {
  if (value === 'yaml' || value === 'json') return value;
  throw new UsageError(`invalid --format ${JSON.stringify(value)}: use yaml or json`, 'hydrate');
}

async function writeOutput(
  output: string,
  flat: boolean,
  format: HydrateFormat,
  results: Parameters<typeof hydrateFiles>[0],
  io: Io,
): Promise<boolean> {
  if (output === '-') {
    io.stdout(hydrateFlat(results, { format }));
    return true;
  }
  try {
    if (flat) {
      await writeFileMkdir(output, hydrateFlat(results, { format }));
    } else {
      for (const file of hydrateFiles(results, { format })) await writeInside(output, file);
    }
    return true;
  } catch (err) {
    io.stderr(`pushsync hydrate: cannot write the output: ${describe(err)}\n`);
    return false;
  }
}

/** Object names become file names: refuse any that would land outside the output dir. */
async function writeInside(outputDir: string, file: HydratedFile): Promise<void> {
  const invalid = validateSnapshotPath(file.path);
  if (invalid !== undefined) throw new Error(invalid.message);
  await writeFileMkdir(path.join(outputDir, ...file.path.split('/')), file.content);
}

async function writeFileMkdir(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EISDIR') return `${e.path ?? 'the output path'} is a directory (with --flat, --output names a file)`;
  if (e.code === 'EACCES' || e.code === 'EPERM') return `permission denied: ${e.path ?? ''}`;
  if (e.code === 'ENOTDIR') return `a parent of ${e.path ?? 'the output path'} is not a directory`;
  return err instanceof Error ? err.message : String(err);
}
