/**
 * A real git repository on disk (bare, in a temp dir) that tests "push" to by running git.
 * Commits are written with `git fast-import`, one process per commit whatever its size, so a
 * test can make a repository with thousands of files in well under a second.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A file's new content; `null` deletes it; `{symlink}` makes a symbolic link to that target. */
export type FileChange = string | Uint8Array | null | { readonly symlink: string } | { readonly executable: string };

export interface CommitOptions {
  /** Default: the default branch. */
  readonly branch?: string;
  readonly message?: string;
  /** Parent commit; default the branch head (none for a new branch's first commit). */
  readonly parent?: string;
  /** Start from an empty tree instead of the parent's. */
  readonly replace?: boolean;
}

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  LANG: 'C',
  LC_ALL: 'C',
};

export class GitRepo {
  readonly dir: string;
  readonly defaultBranch: string;
  #clock = 1_700_000_000;

  private constructor(dir: string, defaultBranch: string) {
    this.dir = dir;
    this.defaultBranch = defaultBranch;
  }

  static async create(options: { defaultBranch?: string } = {}): Promise<GitRepo> {
    const branch = options.defaultBranch ?? 'main';
    const dir = await mkdtemp(path.join(tmpdir(), 'pushsync-gh-'));
    const repo = new GitRepo(dir, branch);
    try {
      await repo.git(['init', '--quiet', '--bare', dir]);
    } catch (err) {
      throw new Error(`the GitHub stand-in needs the git CLI on PATH: ${(err as Error).message}`);
    }
    await repo.git(['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
    return repo;
  }

  /** Run git in the repository; stdout as text. */
  async git(args: readonly string[], input?: string | Uint8Array): Promise<string> {
    return (await this.gitBytes(args, input)).toString('utf8');
  }

  gitBytes(args: readonly string[], input?: string | Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        'git',
        ['-C', this.dir, ...args],
        { env: { ...process.env, ...GIT_ENV }, encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`git ${args.join(' ')} failed: ${stderr.toString('utf8').trim() || err.message}`));
          else resolve(stdout);
        },
      );
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  /** Like git(), but a failing command is `undefined` (a missing ref, an unknown object). */
  async tryGit(args: readonly string[]): Promise<string | undefined> {
    try {
      return await this.git(args);
    } catch {
      return undefined;
    }
  }

  /** The commit a branch points at, or undefined. */
  async head(branch = this.defaultBranch): Promise<string | undefined> {
    return (await this.tryGit(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]))?.trim() || undefined;
  }

  /** Commit `files` (path → change) on a branch; returns the new commit's SHA. */
  async commit(files: Readonly<Record<string, FileChange>>, options: CommitOptions = {}): Promise<string> {
    const branch = options.branch ?? this.defaultBranch;
    const parent = options.parent ?? (await this.head(branch));
    const ref = `refs/pushsync-tmp/${randomBytes(6).toString('hex')}`;
    const time = this.#clock++;
    const chunks: Buffer[] = [];
    const line = (s: string) => chunks.push(Buffer.from(`${s}\n`, 'utf8'));
    const data = (bytes: Buffer) => {
      line(`data ${bytes.byteLength}`);
      chunks.push(bytes, Buffer.from('\n'));
    };
    line(`commit ${ref}`);
    line(`author Pushsync Test <test@pushsync.invalid> ${time} +0000`);
    line(`committer Pushsync Test <test@pushsync.invalid> ${time} +0000`);
    data(Buffer.from(options.message ?? `commit ${time}`, 'utf8'));
    if (parent !== undefined) line(`from ${parent}`);
    if (options.replace) line('deleteall');
    for (const [p, change] of Object.entries(files)) {
      if (change === null) {
        line(`D ${quote(p)}`);
      } else if (typeof change === 'object' && 'symlink' in change) {
        line(`M 120000 inline ${quote(p)}`);
        data(Buffer.from(change.symlink, 'utf8'));
      } else if (typeof change === 'object' && 'executable' in change) {
        line(`M 100755 inline ${quote(p)}`);
        data(Buffer.from(change.executable, 'utf8'));
      } else {
        line(`M 100644 inline ${quote(p)}`);
        data(typeof change === 'string' ? Buffer.from(change, 'utf8') : Buffer.from(change));
      }
    }
    line('done');
    await this.#fastImport(Buffer.concat(chunks));
    const sha = (await this.git(['rev-parse', ref])).trim();
    await this.git(['update-ref', '-d', ref]);
    await this.git(['update-ref', `refs/heads/${branch}`, sha]);
    return sha;
  }

  /** Point `name` at `from` (a commit or branch). */
  async createBranch(name: string, from: string): Promise<string> {
    const sha = (await this.git(['rev-parse', '--verify', `${from}^{commit}`])).trim();
    await this.git(['update-ref', `refs/heads/${name}`, sha]);
    return sha;
  }

  /** A merge commit on `into` with the tree of `from` (a "theirs" merge, enough for ancestry). */
  async merge(into: string, from: string, message = `Merge ${from} into ${into}`): Promise<string> {
    const ours = (await this.git(['rev-parse', '--verify', `refs/heads/${into}^{commit}`])).trim();
    const theirs = (await this.git(['rev-parse', '--verify', `${from}^{commit}`])).trim();
    const tree = (await this.git(['rev-parse', `${theirs}^{tree}`])).trim();
    const time = this.#clock++;
    const sha = (
      await this.gitEnv(['commit-tree', tree, '-p', ours, '-p', theirs, '-m', message], {
        GIT_AUTHOR_DATE: `${time} +0000`,
        GIT_COMMITTER_DATE: `${time} +0000`,
      })
    ).trim();
    await this.git(['update-ref', `refs/heads/${into}`, sha]);
    return sha;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private gitEnv(args: readonly string[], env: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        ['-C', this.dir, ...args],
        {
          env: { ...process.env, ...GIT_ENV, GIT_AUTHOR_NAME: 'Pushsync Test', GIT_AUTHOR_EMAIL: 'test@pushsync.invalid', GIT_COMMITTER_NAME: 'Pushsync Test', GIT_COMMITTER_EMAIL: 'test@pushsync.invalid', ...env },
        },
        (err, stdout, stderr) => (err ? reject(new Error(`git ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`)) : resolve(String(stdout))),
      );
    });
  }

  #fastImport(stream: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('git', ['-C', this.dir, 'fast-import', '--quiet', '--done', '--date-format=raw'], {
        env: { ...process.env, ...GIT_ENV },
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import failed (${code}): ${stderr.trim()}`))));
      child.stdin.end(stream);
    });
  }
}

/** fast-import's C-style path quoting: always accepted, needed for quotes and newlines. */
function quote(p: string): string {
  let out = '"';
  for (const byte of Buffer.from(p, 'utf8')) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte === 0x0a) out += '\\n';
    else if (byte < 0x20 || byte >= 0x7f) out += `\\${byte.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}
