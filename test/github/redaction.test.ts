/**
 * Every text pushsync writes on a commit goes through lib/log.ts's redactText at the choke
 * points (postStatus, startCheckRun, completeCheckRun), whichever job wrote it: an exec plugin's
 * stderr once reached `pushsync/<cluster>` verbatim.
 */
import type { Octokit } from '@octokit/rest';
import { afterEach, describe, expect, it } from 'vitest';
import { completeCheckRun, postStatus, reportPending } from '../../lib/github/index.ts';
import { clearRegisteredSecrets, REDACTED, registerSecret } from '../../lib/log.ts';

interface Call {
  readonly method: string;
  readonly params: Record<string, unknown>;
}

/** Records the Octokit calls report.ts makes; nothing else is needed to see what would be sent. */
function recorder(): { octokit: Octokit; calls: Call[] } {
  const calls: Call[] = [];
  const record = (method: string) => async (params: Record<string, unknown>) => {
    calls.push({ method, params });
    return { data: { id: 7 } };
  };
  const octokit = { rest: { repos: { createCommitStatus: record('status') }, checks: { create: record('create'), update: record('update') } } };
  return { octokit: octokit as unknown as Octokit, calls };
}

const commit = { owner: 'acme', repo: 'policy', sha: 'a'.repeat(40) };
const STDERR = 'will retry: plugin stderr: error: refresh failed token=abc123secretvalue';

afterEach(() => clearRegisteredSecrets());

describe('what leaves for GitHub is redacted', () => {
  it('a status description keeps what failed and masks the value', async () => {
    const { octokit, calls } = recorder();
    await postStatus(octokit, { ...commit, name: 'prod', state: 'error', description: STDERR });
    const description = String(calls[0]?.params.description);
    expect(description).not.toContain('abc123secretvalue');
    expect(description).toBe(`will retry: plugin stderr: error: refresh failed token=${REDACTED}`);
  });

  it('a registered secret cut by the 140-character fit leaks no part of it (redacted before fitting)', async () => {
    const secret = 'kube-token-0123456789abcdefghijklmnopqrstuvwxyz';
    registerSecret(secret);
    const { octokit, calls } = recorder();
    await postStatus(octokit, { ...commit, name: 'prod', state: 'error', description: `${'x'.repeat(60)} ${secret} ${'y'.repeat(200)}` });
    const description = String(calls[0]?.params.description);
    expect(description.length).toBeLessThanOrEqual(140);
    expect(description).not.toContain(secret.slice(0, 8));
  });

  it('check runs: the in-progress title and summary, the final output and every annotation', async () => {
    registerSecret('hunter2-is-the-password');
    const { octokit, calls } = recorder();
    await reportPending(octokit, commit, 'prod', `applying with Bearer abc.def.ghi`, { checkRuns: true });
    await completeCheckRun(octokit, {
      ...commit,
      name: 'prod',
      conclusion: 'failure',
      checkRunId: 7,
      output: { title: STDERR, summary: 'password=hunter2 failed', text: 'the key was hunter2-is-the-password' },
      annotations: [{ path: 'a.yaml', start_line: 1, end_line: 1, annotation_level: 'failure', title: 'token=abc123secretvalue', message: 'Bearer abc.def.ghi' }],
    });
    const sent = JSON.stringify(calls);
    for (const leak of ['abc.def.ghi', 'abc123secretvalue', 'hunter2']) expect(sent).not.toContain(leak);
    expect(calls.map((c) => c.method)).toEqual(['status', 'create', 'update']);
    expect(sent).toContain(`token=${REDACTED}`);
  });
});
