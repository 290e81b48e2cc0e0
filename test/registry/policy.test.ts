/**
 * The second check: what a registration allows its kubeconfig to do, enforced by connect()
 * itself, so a registration written past `clusters register` (a hand-edited store) is refused
 * where the credentials would be used. And credential failures are summarised, never echoed:
 * an exec plugin's stderr once reached a commit status with a token in it.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, DEFAULT_EXEC_ALLOWLIST } from '../../lib/cluster/index.ts';
import { clearRegisteredSecrets, REDACTED, redactText } from '../../lib/log.ts';
import { credentialPolicy, FileSecretStore, getCluster } from '../../lib/registry/index.ts';
import { KUBECONFIG, KUBE_TOKEN } from './support.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pushsync-policy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => clearRegisteredSecrets());

const withExec = (command: string) => KUBECONFIG.replace(`token: ${KUBE_TOKEN}`, `exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ${JSON.stringify(command)}}`);
const insecure = KUBECONFIG.replace('certificate-authority-data: TUlJQ0FBQUFBQUFB', 'insecure-skip-tls-verify: true');
const plainHttp = KUBECONFIG.replace('server: https://127.0.0.1:6443', 'server: http://127.0.0.1:6443');

async function plugin(name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

describe('credentialPolicy: the registration, held to the deployment allowlist', () => {
  const base = { name: 'prod', repo: 'acme/policy', branch: 'main', dir: '.', sourceFormat: 'hierarchy' as const, registeredAt: '2026-01-01T00:00:00.000Z' };

  it('strict unless the registration says otherwise', () => {
    expect(credentialPolicy(base, {})).toEqual({ allowInsecure: false, exec: [] });
    expect(credentialPolicy({ ...base, allowInsecure: true }, {})).toEqual({ allowInsecure: true, exec: [] });
    expect(credentialPolicy({ ...base, allowExec: true }, {})).toEqual({ allowInsecure: false, exec: DEFAULT_EXEC_ALLOWLIST });
    // execAllow without allowExec (a hand-edited store) allows nothing.
    expect(credentialPolicy({ ...base, execAllow: ['bash'] }, {}).exec).toEqual([]);
  });

  it('a registration cannot widen $PUSHSYNC_EXEC_ALLOWLIST', () => {
    expect(credentialPolicy({ ...base, allowExec: true, execAllow: ['bash', 'aws'] }, {}).exec).toEqual(['aws']);
    expect(credentialPolicy({ ...base, allowExec: true, execAllow: ['bash', 'aws'] }, { PUSHSYNC_EXEC_ALLOWLIST: 'kubelogin, bash' }).exec).toEqual(['bash']);
    expect(credentialPolicy({ ...base, allowExec: true }, { PUSHSYNC_EXEC_ALLOWLIST: '/opt/bin/aws' }).exec).toEqual([]);
  });

  it('an unusable $PUSHSYNC_EXEC_ALLOWLIST is an error naming it', () => {
    expect(() => credentialPolicy(base, { PUSHSYNC_EXEC_ALLOWLIST: 'aws,../x' })).toThrow(/PUSHSYNC_EXEC_ALLOWLIST: exec allowlist entry "\.\.\/x" must be a command name/);
  });
});

describe('connect() enforces the policy before any credential is used', () => {
  it.each([
    ['insecure-skip-tls-verify', insecure, /credentials for cluster prod refused: kubeconfig cluster "mycluster" sets insecure-skip-tls-verify/],
    ['an http:// server', plainHttp, /credentials for cluster prod refused: kubeconfig cluster "mycluster" has a http:\/\/ server/],
    ['an exec plugin', withExec('aws'), /credentials for cluster prod refused: kubeconfig user "admin" runs the exec plugin "aws", and running commands is not allowed/],
  ])('%s is refused by default', async (_label, kubeconfig, message) => {
    const err = await connect(kubeconfig, { cluster: 'prod' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'ClusterError', code: 'KNV2013', retryable: false });
    expect((err as Error).message).toMatch(message);
  });

  it('a hand-edited registration (exec plugin, no allowExec) is refused at connect, and the plugin never runs', async () => {
    const marker = path.join(dir, 'ran');
    const evil = await plugin('evil', `touch ${marker}; exit 1`);
    const store = new FileSecretStore(path.join(dir, 'home'));
    await store.put('clusters/prod', JSON.stringify({ version: 2, name: 'prod', repo: 'acme/policy', branch: 'main', dir: '.', sourceFormat: 'hierarchy', execAllow: [evil], registeredAt: '2026-01-01T00:00:00.000Z' }));
    await store.put('kubeconfigs/prod', withExec(evil));
    const reg = await getCluster(store, 'prod');
    if (!reg) throw new Error('not registered');
    await expect(connect(reg.kubeconfig, { cluster: reg.name, policy: credentialPolicy(reg, {}) })).rejects.toThrow(/runs the exec plugin .*evil", and running commands is not allowed/);
    const { access } = await import('node:fs/promises');
    await expect(access(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('allowed: insecure with allowInsecure, a listed plugin with its token masked from then on', async () => {
    const token = 'exec-issued-token-0123456789';
    const good = await plugin('good', `echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"${token}"}}'`);
    for (const kubeconfig of [insecure, plainHttp.replace('certificate-authority-data: TUlJQ0FBQUFBQUFB', 'insecure-skip-tls-verify: true')]) {
      const conn = await connect(kubeconfig, { policy: { allowInsecure: true, exec: [] } });
      conn.close();
    }
    // client-node's own rule, said as such rather than as a credential failure.
    await expect(connect(plainHttp, { policy: { allowInsecure: true, exec: [] } })).rejects.toThrow(/cluster "mycluster" has an http:\/\/ server, which is only used with insecure-skip-tls-verify: true as well/);
    const viaPlugin = await connect(withExec(good), { policy: { allowInsecure: false, exec: [good] } });
    viaPlugin.close();
    expect(redactText(`401 for ${token}`)).toBe(`401 for ${REDACTED}`);
  });

  it('a failing plugin is summarised: never its stderr, which can hold a token', async () => {
    const leak = 'leaked-value-0123456789';
    const failing = await plugin('failing', `echo "error: refresh failed token=${leak} for role arn:aws:iam::1:role/x" >&2; exit 1`);
    const err = await connect(withExec(failing), { cluster: 'prod', policy: { allowInsecure: false, exec: [failing] } }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string; retryable?: boolean },
    );
    expect(err?.message).toBe(`credentials for cluster prod failed: exec plugin ${JSON.stringify(failing)} exited with an error (its output is withheld: it may hold credentials)`);
    expect(err).toMatchObject({ code: 'KNV2013', retryable: true });
    expect(JSON.stringify(err)).not.toContain(leak);
  });

  it('a plugin that is not installed, or prints no ExecCredential, is a permanent failure', async () => {
    const missing = await connect(withExec('kubelogin'), { cluster: 'prod', policy: { allowInsecure: false, exec: ['kubelogin'] } }).catch((e: unknown) => e as Error);
    expect(missing).toMatchObject({ retryable: false, message: 'credentials for cluster prod failed: exec plugin "kubelogin" could not be started (ENOENT): is it installed where pushsync runs?' });
    const garbage = await plugin('garbage', 'echo not-json token=abc');
    const bad = await connect(withExec(garbage), { cluster: 'prod', policy: { allowInsecure: false, exec: [garbage] } }).catch((e: unknown) => e as Error);
    expect(bad).toMatchObject({ retryable: false, message: `credentials for cluster prod failed: exec plugin ${JSON.stringify(garbage)} did not print an ExecCredential` });
  });

  it('a kubeconfig YAML error gives its line, not the text around it', async () => {
    await expect(connect(`${KUBECONFIG}\n  bad: [unclosed ${KUBE_TOKEN}`)).rejects.toThrow(/^kubeconfig: cannot parse \(YAML error at line \d+\)$/);
  });
});
