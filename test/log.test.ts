import { afterEach, describe, expect, it } from 'vitest';
import { clearRegisteredSecrets, createLogger, isSensitiveKey, redact, redactText, REDACTED, registerSecret } from '../lib/log.ts';

function capture(options: Parameters<typeof createLogger>[0] = {}) {
  const lines: string[] = [];
  const logger = createLogger({ sink: (l) => lines.push(l), now: () => new Date('2026-01-02T03:04:05.000Z'), ...options });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, parsed };
}

afterEach(() => clearRegisteredSecrets());

describe('log lines', () => {
  it('writes one JSON object per line with time, level, msg first', () => {
    const { logger, lines, parsed } = capture({ level: 'debug' });
    logger.info('hello', { n: 1 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(Object.keys(parsed()[0] ?? {}).slice(0, 3)).toEqual(['time', 'level', 'msg']);
    expect(parsed()[0]).toEqual({ time: '2026-01-02T03:04:05.000Z', level: 'info', msg: 'hello', n: 1 });
  });

  it('child fields are on every line, and children of children add to them', () => {
    const { logger, parsed } = capture();
    const delivery = logger.child({ deliveryId: 'd-1', repo: 'acme/policy', commit: 'abc' });
    const cluster = delivery.child({ cluster: 'prod' });
    delivery.info('one');
    cluster.warn('two', { extra: true });
    cluster.error('three');
    for (const line of parsed()) expect(line).toMatchObject({ deliveryId: 'd-1', repo: 'acme/policy', commit: 'abc' });
    expect(parsed()[0]).not.toHaveProperty('cluster');
    expect(parsed()[1]).toMatchObject({ cluster: 'prod', extra: true, level: 'warn' });
    expect(parsed()[2]).toMatchObject({ cluster: 'prod', level: 'error' });
  });

  it('a field named like a fixed key does not overwrite it', () => {
    const { logger, parsed } = capture();
    logger.info('real', { msg: 'fake', level: 'error' });
    expect(parsed()[0]).toMatchObject({ msg: 'real', level: 'info', 'field.msg': 'fake', 'field.level': 'error' });
  });

  it('filters by level, from the option or PUSHSYNC_LOG_LEVEL', () => {
    const a = capture({ level: 'warn' });
    a.logger.debug('d');
    a.logger.info('i');
    a.logger.warn('w');
    expect(a.parsed().map((l) => l.msg)).toEqual(['w']);

    const b = capture({ env: { PUSHSYNC_LOG_LEVEL: 'DEBUG' } });
    b.logger.debug('d');
    expect(b.logger.level).toBe('debug');
    expect(b.parsed().map((l) => l.msg)).toEqual(['d']);

    const c = capture({ env: {} });
    c.logger.debug('d');
    expect(c.logger.level).toBe('info');
    expect(c.lines).toHaveLength(0);
  });

  it('an invalid PUSHSYNC_LOG_LEVEL falls back to info and says so', () => {
    const { logger, parsed } = capture({ env: { PUSHSYNC_LOG_LEVEL: 'verbose' } });
    expect(logger.level).toBe('info');
    expect(parsed()[0]).toMatchObject({ level: 'warn' });
    expect(String(parsed()[0]?.msg)).toContain('PUSHSYNC_LOG_LEVEL="verbose"');
  });

  it('serialises errors with their code and cause', () => {
    const { logger, parsed } = capture();
    const cause = new Error('socket hang up');
    const err = Object.assign(new Error('apply failed', { cause }), { code: 'KNV2016' });
    logger.error('boom', { error: err });
    const line = parsed()[0] as { error: Record<string, unknown> };
    expect(line.error).toMatchObject({ name: 'Error', message: 'apply failed', code: 'KNV2016', cause: { message: 'socket hang up' } });
    expect(String(line.error.stack)).toContain('apply failed');
  });

  it('survives cycles, BigInt and functions', () => {
    const { logger, parsed } = capture();
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    logger.info('odd', { a, big: 10n, fn: () => 1 });
    expect(parsed()[0]).toMatchObject({ a: { name: 'a', self: '[circular]' }, big: '10', fn: '[function]' });
  });
});

describe('redaction', () => {
  it('recognises credential-like keys in any spelling', () => {
    for (const k of ['token', 'GITHUB_TOKEN', 'privateKey', 'private-key', 'kubeconfig', 'webhookSecret', 'password', 'Authorization', 'client-key-data', 'x-hub-signature-256']) {
      expect(isSensitiveKey(k), k).toBe(true);
    }
    for (const k of ['deliveryId', 'repo', 'commit', 'cluster', 'installationId', 'branch']) expect(isSensitiveKey(k), k).toBe(false);
  });

  it('drops sensitive keys at any depth, in arrays and maps too', () => {
    const { logger, lines, parsed } = capture();
    logger.info('config', {
      cluster: { name: 'prod', kubeconfig: 'apiVersion: v1\nusers: [{user: {token: abc}}]' },
      github: { auth: { token: 'ghp_x', privateKey: '-----BEGIN' } },
      headers: [{ authorization: 'Bearer zzz', accept: 'json' }],
      map: new Map([['password', 'hunter2']]),
      password: 'hunter2',
    });
    const line = parsed()[0];
    expect(line).toMatchObject({
      cluster: { name: 'prod', kubeconfig: REDACTED },
      github: { auth: { token: REDACTED, privateKey: REDACTED } },
      headers: [{ authorization: REDACTED, accept: 'json' }],
      map: { password: REDACTED },
      password: REDACTED,
    });
    for (const secret of ['ghp_x', 'BEGIN', 'Bearer zzz', 'hunter2', 'abc']) expect(lines[0]).not.toContain(secret);
  });

  it('masks registered secret values wherever they appear, including in messages and errors', () => {
    const token = 'ghs_0123456789abcdefABCDEF';
    registerSecret(token);
    const { logger, lines } = capture();
    logger.info(`calling GitHub with ${token}`, { note: token, nested: { list: [`x ${token} y`] }, error: new Error(`401 for ${token}`) });
    expect(lines[0]).not.toContain(token);
    expect(lines[0]).toContain(REDACTED);
  });

  it('masks each long line of a registered multi-line secret (a PEM key)', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1234567890abcdefghij\nQWERTYUIOPASDFGHJKLZXCVBNM0987654321\n-----END RSA PRIVATE KEY-----';
    registerSecret(pem);
    expect(redact({ line: 'parse error near MIIEowIBAAKCAQEAx1234567890abcdefghij' })).toEqual({ line: `parse error near ${REDACTED}` });
  });

  it('masks a short secret only where a whole value equals it', () => {
    registerSecret('abc');
    expect(redact({ a: 'abc', b: 'abcdef' })).toEqual({ a: REDACTED, b: 'abcdef' });
  });

  it('never mutates what it is given', () => {
    const value = { token: 't', inner: { password: 'p' } };
    redact(value);
    expect(value).toEqual({ token: 't', inner: { password: 'p' } });
  });
});

describe('redactText: every status, check run and log line passes through it', () => {
  it('masks the value after a credential-like key, keeping the rest of the line', () => {
    expect(redactText('will retry: plugin stderr: refresh failed token=abc123 for arn:aws:iam::1:role/x')).toBe(
      `will retry: plugin stderr: refresh failed token=${REDACTED} for arn:aws:iam::1:role/x`,
    );
    expect(redactText('--password=hunter2 --user=admin')).toBe(`--password=${REDACTED} --user=admin`);
    expect(redactText('GET /x?access_token=s3cr3t&page=2')).toBe(`GET /x?access_token=${REDACTED}&page=2`);
    expect(redactText('client-key-data: LS0tLS1CRUdJTiBSU0E=')).toBe(`client-key-data: ${REDACTED}`);
    expect(redactText('{"token":"abc","user":"me"}')).toBe(`{"token":"${REDACTED}","user":"me"}`);
    expect(redactText("client_secret: 'xyz' next")).toBe(`client_secret: ${REDACTED} next`);
  });

  it('masks bearer and basic credentials, URL passwords, private keys and well-known token shapes', () => {
    expect(redactText('Authorization: Bearer abc.def-ghi')).not.toMatch(/abc|def-ghi/);
    expect(redactText('sent Bearer abc.def-ghi to the server')).toBe(`sent Bearer ${REDACTED} to the server`);
    expect(redactText('with basic dXNlcjpwYXNz')).toBe(`with basic ${REDACTED}`);
    expect(redactText('cloning https://x-access-token:ghs_abc@github.com/acme/policy')).toBe(`cloning https://x-access-token:${REDACTED}@github.com/acme/policy`);
    expect(redactText('key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY----- done')).toBe(`key: ${REDACTED} done`);
    expect(redactText('got ghp_0123456789abcdefghijABCDEFGHIJ back')).toBe(`got ${REDACTED} back`);
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl';
    expect(redactText(`service account ${jwt} rejected`)).toBe(`service account ${REDACTED} rejected`);
  });

  it('masks registered secrets inside text, as the logger does', () => {
    registerSecret('kube-token-0123456789abcdef');
    expect(redactText('401 with kube-token-0123456789abcdef')).toBe(`401 with ${REDACTED}`);
  });

  it('leaves what pushsync reports alone: object ids, file:line, counts, kinds', () => {
    for (const text of [
      '25 created, 0 pruned, 3 unchanged',
      'KNV1017 namespaces/shop/secret.yaml:4: missing field',
      'secret.yaml:4: KNV2001 cannot parse',
      'Secret/shop/db-password: created',
      'update `.data.password` of Secret shop/db',
      'kind: Secret',
      'superseded by abc1234',
      'credentials for cluster prod failed: exec plugin "aws" failed',
      'kubeconfig: no context "x" (contexts: a, b)',
      'PUSHSYNC_SECRET_PREFIX="pushsync" is not a valid secret name prefix',
      'tokenFile: /var/run/secrets/token',
    ]) {
      expect(redactText(text), text).toBe(text);
    }
  });

  it('log lines get the same pattern masking in messages and string fields', () => {
    const { lines } = (() => {
      const out: string[] = [];
      createLogger({ sink: (l) => out.push(l) }).error('plugin said token=abc123', { error: 'password=hunter2', detail: { text: 'Bearer zzz' } });
      return { lines: out };
    })();
    for (const secret of ['abc123', 'hunter2', 'zzz']) expect(lines[0]).not.toContain(secret);
  });
});
