/** Entry of the `pushsync` command line (bin/pushsync.js loads it through tsx). */
import type { Io } from './commands/common.ts';
import { runCli } from './commands/dispatch.ts';

const io: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

// exitCode, not exit(): pending writes to a piped stdout must drain first.
process.exitCode = await runCli(process.argv.slice(2), io, { env: process.env });
