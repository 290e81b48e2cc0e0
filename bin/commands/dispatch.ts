/**
 * Dispatch of the `pushsync` command line over the table in ./index.ts. Exit status: 0 ok,
 * 1 the command found problems, 2 usage error, 3 internal error. User errors never show a stack.
 */
import { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, UsageError, type Command, type Io } from './common.ts';
import { COMMANDS } from './index.ts';
import { PUSHSYNC_VERSION } from '../../lib/version.ts';

export interface CliOptions {
  readonly commands?: readonly Command[];
  /** PUSHSYNC_DEBUG=1 prints the stack of an internal error. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Run one command line; never throws. */
export async function runCli(argv: readonly string[], io: Io, options: CliOptions = {}): Promise<number> {
  try {
    return await dispatch(argv, io, options.commands ?? COMMANDS);
  } catch (err) {
    if (err instanceof UsageError) {
      const where = err.command === undefined ? 'pushsync' : `pushsync ${err.command}`;
      io.stderr(`${where}: ${err.message}\nRun '${where} --help' for usage.\n`);
      return EXIT_USAGE;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`pushsync: internal error: ${message}\n`);
    if (options.env?.PUSHSYNC_DEBUG === '1' && err instanceof Error && err.stack !== undefined) {
      io.stderr(`${err.stack}\n`);
    } else {
      io.stderr('This is a bug in pushsync. Rerun with PUSHSYNC_DEBUG=1 to see the stack trace.\n');
    }
    return EXIT_INTERNAL;
  }
}

function topHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 'help'.length) + 3;
  const rows = [...commands.map((c) => [c.name, c.summary]), ['help', 'Show help for a command']]
    .map(([name = '', summary = '']) => `  ${name.padEnd(width)}${summary}`)
    .join('\n');
  return `pushsync: GitOps continuous delivery for Kubernetes from Config Sync (ACM) policy repos.

Usage:
  pushsync <command> [flags]

Commands:
${rows}

Flags:
  -h, --help      Show this help
  --version       Print the pushsync version

Run 'pushsync help <command>' for a command's flags and examples.
`;
}

function version(): string {
  return PUSHSYNC_VERSION;
}

function findCommand(commands: readonly Command[], name: string): Command {
  const command = commands.find((c) => c.name === name);
  if (command !== undefined) return command;
  const suggestion = closest(name, [...commands.map((c) => c.name), 'help']);
  throw new UsageError(`unknown command ${JSON.stringify(name)}${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`);
}

async function dispatch(argv: readonly string[], io: Io, commands: readonly Command[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr(topHelp(commands));
    return EXIT_USAGE;
  }
  if (first === '-h' || first === '--help') {
    io.stdout(topHelp(commands));
    return EXIT_OK;
  }
  if (first === '--version') {
    io.stdout(`${version()}\n`);
    return EXIT_OK;
  }
  if (first.startsWith('-')) throw new UsageError(`unknown flag ${first}; flags go after the command`);
  if (first === 'help') {
    if (rest.length === 0) {
      io.stdout(topHelp(commands));
      return EXIT_OK;
    }
    if (rest.length > 1) throw new UsageError('usage: pushsync help <command>');
    io.stdout(findCommand(commands, rest[0] ?? '').help);
    return EXIT_OK;
  }
  return findCommand(commands, first).run(rest, io);
}

/** The nearest name within two edits, for "did you mean". */
function closest(input: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of names) {
    const d = editDistance(input, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
