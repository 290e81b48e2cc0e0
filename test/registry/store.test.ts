import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_HOME, FileSecretStore, secretStoreFromEnv, SecretStoreError } from '../../lib/registry/index.ts';

let home: string;
let store: FileSecretStore;

beforeEach(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'pushsync-store-'));
  store = new FileSecretStore(home);
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

describe('FileSecretStore', () => {
  it('put/get/delete round-trip; a missing secret is undefined', async () => {
    expect(await store.get('github/token')).toBeUndefined();
    await store.put('github/token', 'ghp_abc\n');
    expect(await store.get('github/token')).toBe('ghp_abc\n');
    await store.put('github/token', 'ghp_new');
    expect(await store.get('github/token')).toBe('ghp_new');
    expect(await store.delete('github/token')).toBe(true);
    expect(await store.delete('github/token')).toBe(false);
    expect(await store.get('github/token')).toBeUndefined();
  });

  it('writes files with mode 0600 in a 0700 directory, whatever the umask', async () => {
    const old = process.umask(0o022);
    try {
      await store.put('clusters/prod', '{"kubeconfig":"x"}');
    } finally {
      process.umask(old);
    }
    expect(await mode(store.dir)).toBe(0o700);
    const files = await readdir(store.dir);
    expect(files).toEqual(['clusters%2Fprod.secret']);
    expect(await mode(path.join(store.dir, files[0] ?? ''))).toBe(0o600);
  });

  it('replaces atomically: no temp file is left, and a concurrent reader sees old or new, never a mix', async () => {
    const a = 'a'.repeat(512 * 1024);
    const b = 'b'.repeat(512 * 1024);
    await store.put('big', a);
    const seen = new Set<string>();
    const reads: Promise<void>[] = [];
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      writes.push(store.put('big', i % 2 === 0 ? b : a));
      reads.push(store.get('big').then((v) => void seen.add(v === a ? 'a' : v === b ? 'b' : 'torn')));
    }
    await Promise.all([...writes, ...reads]);
    expect(seen.has('torn')).toBe(false);
    expect(await readdir(store.dir)).toEqual(['big.secret']);
  });

  it('a failed write leaves the previous value and no temp file', async () => {
    await store.put('github/token', 'old');
    // A directory where the target file should be makes rename() fail.
    const target = path.join(store.dir, 'github%2Fapp.secret');
    await rm(target, { force: true });
    await (await import('node:fs/promises')).mkdir(target);
    await expect(store.put('github/app', 'new')).rejects.toMatchObject({ code: 'SECRET_IO' });
    expect((await readdir(store.dir)).filter((f) => f.startsWith('.tmp'))).toEqual([]);
    expect(await store.get('github/token')).toBe('old');
  });

  it('lists names by prefix, sorted, without values; ignores stray files', async () => {
    await store.put('clusters/b', '1');
    await store.put('clusters/a', '2');
    await store.put('github/token', '3');
    await writeFile(path.join(store.dir, '.tmp-123-abc'), 'partial');
    await writeFile(path.join(store.dir, 'README'), 'hi');
    expect(await store.list('clusters/')).toEqual(['clusters/a', 'clusters/b']);
    expect(await store.list('')).toEqual(['clusters/a', 'clusters/b', 'github/token']);
    expect(await new FileSecretStore(path.join(home, 'nothing-here')).list('')).toEqual([]);
  });

  it('refuses names that could escape the directory or differ by backend', async () => {
    for (const name of ['../etc/passwd', '/abs', 'Upper', 'a//b', 'a/', '', 'x y']) {
      await expect(store.put(name, 'v'), name).rejects.toBeInstanceOf(SecretStoreError);
      await expect(store.get(name), name).rejects.toMatchObject({ code: 'SECRET_BAD_NAME' });
    }
  });

  it('stores the exact bytes of the value', async () => {
    const value = 'line1\r\nline2\n  ünïcode ✓\n';
    await store.put('x', value);
    expect(await readFile(path.join(store.dir, 'x.secret'), 'utf8')).toBe(value);
  });

  it('secretStoreFromEnv uses PUSHSYNC_HOME, default ./.pushsync', () => {
    expect(secretStoreFromEnv({ PUSHSYNC_HOME: home }).dir).toBe(path.join(home, 'secrets'));
    expect(secretStoreFromEnv({}).dir).toBe(path.resolve(DEFAULT_HOME, 'secrets'));
  });
});
