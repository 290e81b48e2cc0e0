/** What a thrown value means for a job: only what is marked retryable, or a socket failure, is an outage. */
import { describe, expect, it } from 'vitest';
import { ClusterError, Codes } from '../../lib/cluster/index.ts';
import { GitHubError } from '../../lib/github/index.ts';
import { JobPayloadError } from '../../lib/jobs.ts';
import { SyncError, classify, isRetryable } from '../../lib/sync/index.ts';

describe('classify / isRetryable', () => {
  it('a TypeError (or any exception without a code) is a bug: not retryable, reported with its name', () => {
    expect(isRetryable(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
    expect(classify(new TypeError('x is not a function'))).toEqual({ kind: 'bug', code: 'SYNC_INTERNAL', message: 'TypeError: x is not a function' });
    expect(classify(new RangeError('Invalid array length'))).toMatchObject({ kind: 'bug', message: 'RangeError: Invalid array length' });
    expect(classify(new Error('something odd'))).toMatchObject({ kind: 'bug' });
    expect(classify('a string was thrown')).toEqual({ kind: 'bug', code: 'SYNC_INTERNAL', message: 'a string was thrown' });
    expect(classify(undefined)).toMatchObject({ kind: 'bug' });
  });

  it('an explicit mark decides: GitHubError, ClusterError, SyncError, JobPayloadError', () => {
    expect(classify(new GitHubError('5xx', { code: 'GITHUB_UNAVAILABLE', retryable: true }))).toMatchObject({ kind: 'transient', code: 'GITHUB_UNAVAILABLE' });
    expect(classify(new GitHubError('404', { code: 'GITHUB_NOT_FOUND', retryable: false }))).toMatchObject({ kind: 'permanent', code: 'GITHUB_NOT_FOUND' });
    expect(classify(new ClusterError(Codes.transient, 'API server unreachable', true))).toMatchObject({ kind: 'transient', code: 'KNV2016' });
    expect(classify(new ClusterError(Codes.resource, 'kubeconfig: cannot parse'))).toMatchObject({ kind: 'permanent', code: 'KNV2010' });
    expect(classify(new SyncError('SYNC_NO_INSTALLATION', 'no installation', false))).toMatchObject({ kind: 'permanent' });
    expect(classify(new JobPayloadError('apply payload is malformed'))).toMatchObject({ kind: 'permanent', code: 'SYNC_BAD_PAYLOAD' });
    // The mark wins even over a socket errno: its thrower looked at it already.
    expect(isRetryable(Object.assign(new Error('reset'), { code: 'ECONNRESET', retryable: false }))).toBe(false);
  });

  it('node\'s socket failures are transient, also when wrapped (fetch\'s "TypeError: fetch failed" keeps the errno on its cause)', () => {
    for (const code of ['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN', 'UND_ERR_SOCKET']) {
      expect(classify(Object.assign(new Error(`connect ${code}`), { code }))).toMatchObject({ kind: 'transient', code });
    }
    const wrapped = new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
    expect(classify(wrapped)).toMatchObject({ kind: 'transient', code: 'ECONNRESET' });
  });

  it('an error with a code of its own but no mark is a permanent failure (a refusal we can name), not a bug', () => {
    expect(classify(Object.assign(new Error('Secrets Manager GetSecretValue failed'), { code: 'SECRET_IO' }))).toMatchObject({ kind: 'permanent', code: 'SECRET_IO' });
    expect(classify(Object.assign(new Error('permission denied'), { code: 'EACCES' }))).toMatchObject({ kind: 'permanent', code: 'EACCES' });
  });
});
