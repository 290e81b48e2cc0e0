/**
 * One run of kustomize or helm as a child process, in its own process group so that a kill on
 * a limit also takes its children (helm under kustomize, git) with it: a wall-clock limit, an
 * output limit counted as the bytes arrive, the caller's AbortSignal, and optional stdin (a
 * password for `helm repo add --password-stdin`, never an argument other processes could read).
 *
 *   runTool(command, args, {cwd, env, limits, signal?, input?}) → {code, stdout, stderr, stopped?}
 */
import { spawn } from 'node:child_process';

export interface ToolLimits {
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
}

/** stderr kept in memory; the first lines are the ones that say what failed. */
const MAX_STDERR_BYTES = 256 * 1024;

export interface RunOutcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stopped?: 'timeout' | 'output' | 'aborted';
}

export interface RunOptions {
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly limits: ToolLimits;
  /** Written to the tool's stdin, which is then closed (default: no stdin). */
  readonly input?: string;
  readonly signal?: AbortSignal;
}

/**
 * Run one command in its own process group, so a kill on a limit also takes helm and git with it.
 * Output is counted as it arrives; nothing past the limit is kept.
 */
export function runTool(command: string, args: readonly string[], o: RunOptions): Promise<RunOutcome> {
  return new Promise((resolve) => {
    if (o.signal?.aborted) {
      resolve({ code: null, stdout: '', stderr: '', stopped: 'aborted' });
      return;
    }
    const child = spawn(command, args, { cwd: o.cwd, env: o.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    let outBytes = 0;
    const err: Buffer[] = [];
    let errBytes = 0;
    let stopped: RunOutcome['stopped'];
    let spawnError: Error | undefined;
    const stop = (why: NonNullable<RunOutcome['stopped']>): void => {
      if (stopped) return;
      stopped = why;
      killGroup(child.pid);
    };
    // Closed at once (empty without input): a tool that asks for input reads EOF, never waits.
    child.stdin.on('error', () => undefined); // a tool that exits without reading: its close says why
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => stop('timeout'), o.limits.timeoutMs);
    const onAbort = (): void => stop('aborted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      if (stopped) return;
      outBytes += chunk.length;
      if (outBytes > o.limits.maxOutputBytes) {
        out.length = 0;
        stop('output');
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes >= MAX_STDERR_BYTES) return;
      err.push(chunk.subarray(0, MAX_STDERR_BYTES - errBytes));
      errBytes += chunk.length;
    });
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      // A grandchild (helm) that outlived kustomize goes too.
      killGroup(child.pid);
      const stderr = spawnError ? `cannot run ${command}: ${spawnError.message}` : Buffer.concat(err).toString('utf8');
      resolve({ code: spawnError ? -1 : code, stdout: Buffer.concat(out).toString('utf8'), stderr, ...(stopped ? { stopped } : {}) });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
