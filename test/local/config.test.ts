import { describe, expect, it } from 'vitest';
import { JOB_TIMEOUT_ENV, SERVE_DEFAULTS, serveConfig } from '../../lib/local/index.ts';

describe('serveConfig --job-timeout', () => {
  it('defaults to the longest Lambda timeout and takes the flag before the environment', () => {
    const none = serveConfig({}, {});
    expect(none.ok && none.config.jobTimeoutMs).toBe(SERVE_DEFAULTS.jobTimeoutSeconds * 1000);
    const fromEnv = serveConfig({}, { [JOB_TIMEOUT_ENV]: '120' });
    expect(fromEnv.ok && fromEnv.config.jobTimeoutMs).toBe(120_000);
    const fromFlag = serveConfig({ jobTimeout: '60' }, { [JOB_TIMEOUT_ENV]: '120' });
    expect(fromFlag.ok && fromFlag.config.jobTimeoutMs).toBe(60_000);
  });

  it('refuses a timeout that leaves no room to report, naming where the value came from', () => {
    const flag = serveConfig({ jobTimeout: '10' }, {});
    expect(flag).toMatchObject({ ok: false, problems: [{ code: 'LOCAL_CONFIG_INVALID', field: '--job-timeout', value: '10' }] });
    const env = serveConfig({}, { [JOB_TIMEOUT_ENV]: '5m' });
    expect(env).toMatchObject({ ok: false, problems: [{ field: JOB_TIMEOUT_ENV, value: '5m' }] });
  });
});
