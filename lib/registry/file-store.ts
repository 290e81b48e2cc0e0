/**
 * The local-file SecretStore: one file per secret in `<home>/secrets/`, mode 0600 in a 0700
 * directory, each write a temp file + fsync + rename so a reader never sees half a secret.
 * File names are the URI-encoded secret names (`clusters%2Fprod`): flat, so `a/b` and `a/b/c`
 * cannot collide as file and directory.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { checkSecretName, SecretStoreCodes, SecretStoreError } from './secret-store.ts';
import type { SecretStore } from './secret-store.ts';

export const HOME_ENV = 'PUSHSYNC_HOME';
export const DEFAULT_HOME = '.pushsync';
const SUFFIX = '.secret';

export class FileSecretStore implements SecretStore {
  /** The directory holding the secret files. */
  readonly dir: string;

  /** @param home the pushsync home directory; secrets go in its `secrets/` subdirectory. */
  constructor(readonly home: string) {
    this.dir = path.join(path.resolve(home), 'secrets');
  }

  private file(name: string): string {
    checkSecretName(name);
    return path.join(this.dir, `${encodeURIComponent(name)}${SUFFIX}`);
  }

  async get(name: string): Promise<string | undefined> {
    const file = this.file(name);
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw ioError(`reading secret ${JSON.stringify(name)} from ${file}`, err);
    }
  }

  async put(name: string, value: string): Promise<void> {
    const file = this.file(name);
    const tmp = path.join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await chmod(this.dir, 0o700);
      const handle = await open(tmp, 'wx', 0o600);
      try {
        // open()'s mode is filtered by the umask; set it explicitly.
        await handle.chmod(0o600);
        await handle.writeFile(value, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
      await syncDir(this.dir);
    } catch (err) {
      await rm(tmp, { force: true });
      throw ioError(`writing secret ${JSON.stringify(name)} to ${file}`, err);
    }
  }

  async delete(name: string): Promise<boolean> {
    const file = this.file(name);
    try {
      await unlink(file);
      await syncDir(this.dir);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw ioError(`deleting secret ${JSON.stringify(name)} (${file})`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw ioError(`listing secrets in ${this.dir}`, err);
    }
    const names: string[] = [];
    for (const entry of entries) {
      if (entry.startsWith('.') || !entry.endsWith(SUFFIX)) continue;
      let name: string;
      try {
        name = decodeURIComponent(entry.slice(0, -SUFFIX.length));
      } catch {
        continue;
      }
      if (name.startsWith(prefix)) names.push(name);
    }
    return names.sort();
  }
}

/** The store the CLI and the local server use: `$PUSHSYNC_HOME`, default `./.pushsync`. */
export function secretStoreFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): FileSecretStore {
  const home = env[HOME_ENV];
  return new FileSecretStore(home === undefined || home === '' ? DEFAULT_HOME : home);
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable. Some filesystems refuse fsync on a directory; the rename is
  // still atomic there, only its durability across a crash is weaker.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // see above
  }
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'ENOENT';
}

function ioError(what: string, err: unknown): SecretStoreError {
  const code = (err as { code?: unknown }).code;
  return new SecretStoreError(SecretStoreCodes.io, `${what}: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}`);
}
