/**
 * A git remote on 127.0.0.1 for remote-base tests (issue #12 §4): bare repositories made with the
 * real `git`, served over smart HTTP by `git http-backend` run as CGI from a Node http server, so
 * pushsync's fetch goes through the same protocol as against GitHub. It counts requests, and a
 * `/stall/…` path accepts a request and never answers (the timeout test).
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GitRemote {
  /** `http://127.0.0.1:<port>`: a repository `name` is at `${url}/${name}.git`. */
  readonly url: string;
  /** A URL prefix whose every request hangs: `${stallUrl}/x.git` never answers. */
  readonly stallUrl: string;
  /** Request paths (with query) received so far, stalled ones included, in order. */
  readonly requests: readonly string[];
  /**
   * Commit `files` (path → content; `fromDir` copies a fixture directory first) on `branch` of
   * repository `name` (created on first use); the new commit's SHA.
   */
  commit(name: string, branch: string, change: { fromDir?: string; files?: Record<string, string>; message?: string }): Promise<string>;
  /** An annotated tag `tag` at the head of `branch`. */
  tag(name: string, tag: string, branch: string): Promise<void>;
  close(): Promise<void>;
}

export async function startGitRemote(): Promise<GitRemote> {
  const root = await mkdtemp(path.join(tmpdir(), 'pushsync-git-remote-'));
  const repos = path.join(root, 'repos');
  await mkdir(repos);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
  };
  const git = async (cwd: string, ...args: string[]): Promise<string> => (await run('git', args, { cwd, env })).stdout.trim();
  const backend = (await git(root, '--exec-path')) + '/git-http-backend';

  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '/');
    if ((req.url ?? '').startsWith('/stall/')) return; // never answered
    cgi(backend, repos, req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const work = (name: string) => path.join(root, 'work', name);
  const ensure = async (name: string): Promise<void> => {
    const bare = path.join(repos, `${name}.git`);
    try {
      await mkdir(bare);
    } catch {
      return; // exists
    }
    await git(bare, 'init', '--bare', '--quiet', '--initial-branch=main');
    await mkdir(work(name), { recursive: true });
    await git(work(name), 'init', '--quiet', '--initial-branch=main');
    await git(work(name), 'remote', 'add', 'origin', bare);
  };

  return {
    url,
    stallUrl: `${url}/stall`,
    requests,
    async commit(name, branch, change) {
      await ensure(name);
      const w = work(name);
      const branches = await git(w, 'branch', '--list', branch);
      const any = await git(w, 'branch', '--list');
      if (branches === '' && any !== '') await git(w, 'checkout', '--quiet', '-b', branch);
      else if (any !== '') await git(w, 'checkout', '--quiet', branch);
      else await git(w, 'checkout', '--quiet', '-B', branch);
      if (change.fromDir) await cp(change.fromDir, w, { recursive: true });
      for (const [p, content] of Object.entries(change.files ?? {})) {
        await mkdir(path.dirname(path.join(w, p)), { recursive: true });
        await writeFile(path.join(w, p), content);
      }
      await git(w, 'add', '--all');
      await git(w, 'commit', '--quiet', '--allow-empty', '-m', change.message ?? 'change');
      await git(w, 'push', '--quiet', '--force', 'origin', branch);
      return git(w, 'rev-parse', 'HEAD');
    },
    async tag(name, tag, branch) {
      const w = work(name);
      await git(w, 'tag', '--annotate', '--force', '-m', tag, tag, branch);
      await git(w, 'push', '--quiet', '--force', 'origin', `refs/tags/${tag}`);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** One request through `git http-backend` (CGI): environment in, request body on stdin, CGI headers + body out. */
function cgi(backend: string, projectRoot: string, req: IncomingMessage, res: ServerResponse): void {
  const u = new URL(req.url ?? '/', 'http://localhost');
  const child = spawn(backend, [], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(u.pathname),
      QUERY_STRING: u.search.replace(/^\?/, ''),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      REMOTE_ADDR: '127.0.0.1',
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let headDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf('\r\n\r\n');
    const lf = head.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
    if (end < 0) return;
    headDone = true;
    const sepLen = end === crlf ? 4 : 2;
    let status = 200;
    let message = 'OK';
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === 'status') {
        status = Number(v.split(' ')[0]) || 500;
        message = v.split(' ').slice(1).join(' ') || message;
      } else headers[k] = v;
    }
    res.writeHead(status, message, headers);
    res.write(head.subarray(end + sepLen));
  });
  child.on('close', () => {
    if (!headDone) res.writeHead(502).end('git http-backend gave no answer\n');
    else res.end();
  });
  child.on('error', () => {
    if (!res.headersSent) res.writeHead(500).end();
  });
}
