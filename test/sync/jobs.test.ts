/**
 * What a push tells its apply jobs (lib/sync/jobs.ts, lib/sync/apply.ts): the ancestry a
 * non-forced push proves, and the delta for a warm read; both checked at the payload edge.
 */
import { describe, expect, it } from 'vitest';
import { knowing } from '../../lib/sync/apply.ts';
import { fromPush, parseApplyJob, parsePushJob, toPayload, type ApplyJob, type PushJob } from '../../lib/jobs.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const T = 'd'.repeat(40);

const push: PushJob = {
  deliveryId: 'd-1', repo: 'acme/policy', owner: 'acme', name: 'policy', ref: 'refs/heads/main', branch: 'main',
  after: B, before: A, defaultBranch: 'main', pushedAt: '2026-01-01T00:00:00.000Z',
  changes: { treeId: T, paths: ['policy/a.yaml'] },
};

describe('fromPush', () => {
  it('a fast-forward push gives its before as a known ancestor, and its delta', () => {
    expect(fromPush(push)).toEqual({ ancestor: A, delta: { base: A, treeId: T, paths: ['policy/a.yaml'] } });
  });
  it('a force push proves no ancestry (the delta is still checked by its tree SHA)', () => {
    expect(fromPush({ ...push, forced: true })).toEqual({ delta: { base: A, treeId: T, paths: ['policy/a.yaml'] } });
  });
  it('a new branch has neither', () => {
    expect(fromPush({ ...push, before: '0'.repeat(40) })).toEqual({});
    expect(fromPush({ ...push, before: B })).toEqual({});
  });
});

describe('job payloads', () => {
  const job: ApplyJob = { deliveryId: 'd-1', owner: 'acme', name: 'policy', sha: B, cluster: 'c1', mode: 'apply', ...fromPush(push) };

  it('round-trip through JSON', () => {
    expect(parseApplyJob(toPayload(job))).toEqual(job);
    expect(parsePushJob(toPayload(push))).toEqual(push);
  });

  it('refuse a malformed ancestor or delta rather than trust it', () => {
    expect(() => parseApplyJob({ ...(toPayload(job) as object), ancestor: 'main' })).toThrow(/apply payload is malformed/);
    expect(() => parseApplyJob({ ...(toPayload(job) as object), delta: { base: A, treeId: 'x', paths: [] } })).toThrow(/apply payload is malformed/);
    expect(() => parseApplyJob({ ...(toPayload(job) as object), delta: { base: A, treeId: T, paths: [1] } })).toThrow(/apply payload is malformed/);
    expect(() => parsePushJob({ ...(toPayload(push) as object), changes: { treeId: T } })).toThrow(/"changes" is malformed/);
    expect(() => parsePushJob({ ...(toPayload(push) as object), forced: 'yes' })).toThrow(/"forced" is malformed/);
  });
});

describe('knowing: the ancestry oracle answers from the push first', () => {
  function oracle() {
    const asked: [string, string][] = [];
    const fallback = async (a: string, d: string) => {
      asked.push([a, d]);
      return a === C;
    };
    return { asked, fallback };
  }

  it('before → after is known in both directions; anything else goes to GitHub', async () => {
    const { asked, fallback } = oracle();
    const isAncestor = knowing({ sha: B, ancestor: A }, fallback);
    expect(await isAncestor(A, B)).toBe(true);
    expect(await isAncestor(B, A)).toBe(false);
    expect(await isAncestor(B.toUpperCase(), A)).toBe(false);
    expect(asked).toEqual([]);
    expect(await isAncestor(C, B)).toBe(true);
    expect(await isAncestor(B, C)).toBe(false);
    expect(asked).toEqual([[C, B], [B, C]]);
  });

  it('without a known ancestor (a force push, a resync) every question goes to GitHub', async () => {
    const { asked, fallback } = oracle();
    const isAncestor = knowing({ sha: B }, fallback);
    await isAncestor(A, B);
    await isAncestor(B, A);
    expect(asked).toHaveLength(2);
  });
});
