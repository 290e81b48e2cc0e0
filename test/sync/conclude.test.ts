/**
 * concludeContext (lib/github/report.ts), the one function every job path ends a context with:
 * status and check run are both written even when one of them fails, so a refused status never
 * leaves a check run in progress.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concludeContext, reportPending } from '../../lib/github/index.ts';
import { OWNER, REPO, REPO_YAML, startWorld, type World } from './support.ts';

let world: World;
let sha: string;

beforeAll(async () => {
  world = await startWorld();
  sha = await world.github.git.commit({ 'system/repo.yaml': REPO_YAML });
});
afterAll(async () => {
  await world?.close();
});

describe('concludeContext', () => {
  it('completes the started check run even when the status write is refused, then throws that refusal', async () => {
    const { octokit } = await world.deps.github({ deliveryId: 'd-c', installationId: 7 });
    const commit = { owner: OWNER, repo: REPO, sha };
    const checkRunId = await reportPending(octokit, commit, 'east', 'applying…', { checkRuns: true });
    world.github.fail({ method: 'POST', path: /\/statuses\//, status: 422, times: 1, body: { message: 'Validation Failed' } });
    await expect(concludeContext(octokit, commit, { name: 'east', state: 'error', description: 'will retry: x', conclusion: 'timed_out' }, { checkRuns: true, checkRunId })).rejects.toMatchObject({
      code: 'GITHUB_REJECTED',
    });
    expect(world.github.checkRuns.find((r) => r.id === checkRunId)).toMatchObject({ status: 'completed', conclusion: 'timed_out', output: { title: 'will retry: x', summary: 'will retry: x' } });
    expect(world.github.violations).toEqual([]);
  });

  it('without a started run (a resync job, a context sync concludes first) creates a completed one; without an App, only the status', async () => {
    const { octokit } = await world.deps.github({ deliveryId: 'd-c2', installationId: 7 });
    const commit = { owner: OWNER, repo: REPO, sha };
    await concludeContext(octokit, commit, { name: 'west', state: 'failure', description: 'not applied' }, { checkRuns: true });
    expect(world.checkRuns(sha).filter((r) => r.name === 'pushsync/west')).toEqual([expect.objectContaining({ status: 'completed', conclusion: 'failure' })]);
    await concludeContext(octokit, commit, { name: 'north', state: 'success', description: 'ok' }, { checkRuns: false });
    expect(world.statuses(sha)['pushsync/north']).toBe('success: ok');
    expect(world.checkRuns(sha).filter((r) => r.name === 'pushsync/north')).toEqual([]);
  });
});
