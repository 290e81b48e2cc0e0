/**
 * How the Secrets Manager endpoint tests find moto's server (scripts/ensure-moto.sh): as
 * `moto_server`, or as `python3 -m moto.server` when only the module is reachable; and, when it
 * is absent, a failure that says exactly what to install (never a skip).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMotoServer, MOTO_MISSING, startMoto } from './support.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/ensure-moto.sh', import.meta.url));

/**
 * An interpreter that can import moto: the python3 on PATH, or else the one moto_server's
 * shebang names (pipx and virtualenvs keep moto away from the python3 on PATH).
 */
function pythonWithMoto(): string {
  const probe = 'import moto, sys; print(sys.executable)';
  try {
    return execFileSync('python3', ['-c', probe], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    const script = execFileSync('bash', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).trim();
    const shebang = /^#!\s*(\S+)/.exec(readFileSync(script, 'utf8'))?.[1] ?? 'python3';
    return execFileSync(shebang, ['-c', probe], { encoding: 'utf8' }).trim();
  }
}

let bare: string;
beforeAll(async () => {
  bare = await mkdtemp(path.join(tmpdir(), 'pushsync-moto-'));
});
afterAll(async () => {
  await rm(bare, { recursive: true, force: true });
});

describe("moto's server for the Secrets Manager endpoint tests", () => {
  it('is found on this machine (scripts/test.sh installs it where it is missing)', async () => {
    const command = await findMotoServer({ ...process.env, PUSHSYNC_MOTO_SERVER: '' });
    expect([['moto_server'], ['python3', '-m', 'moto.server'], ['python', '-m', 'moto.server']]).toContainEqual(command);
  });

  it('is run as `python3 -m moto.server` where only the Python module is reachable', async () => {
    // A PATH with a python3 that has moto and no moto_server script beside it.
    const python = pythonWithMoto();
    await symlink(python, path.join(bare, 'python3'));
    const env = { PATH: bare, HOME: process.env.HOME ?? bare };
    expect(await findMotoServer(env)).toEqual(['python3', '-m', 'moto.server']);
    const moto = await startMoto({ env });
    try {
      const res = await fetch(`${moto.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets', authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0' },
        body: '{}',
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ SecretList: [] });
    } finally {
      await moto.close();
    }
  }, 60_000);

  it('fails where it is absent, with the one line that says what to install', async () => {
    const expected = /^MISSING="(.*)"$/m.exec(await readFile(SCRIPT, 'utf8'))?.[1];
    expect(expected).toMatch(/python3 -m pip install 'moto\[server\]'/);
    const env = { PATH: path.join(bare, 'empty') };
    await expect(findMotoServer(env)).rejects.toMatchObject({ code: MOTO_MISSING, message: expected });
    await expect(startMoto({ env })).rejects.toMatchObject({ code: MOTO_MISSING, message: expected });
  });
});
