import { describe, expect, it } from 'vitest';
import { createWebhookHandler, MAX_PUSH_CHANGED_PATHS, WebhookConfigError } from '../../lib/github/webhook.ts';
import type { PushJob, WebhookHandlerOptions } from '../../lib/github/webhook.ts';
import type { HttpResponse } from '../../lib/http/types.ts';
import { createLogger } from '../../lib/log.ts';
import { branchPush, delivery, example, SECRET, signature } from './support.ts';

function setup(options: Partial<WebhookHandlerOptions> = {}) {
  const jobs: PushJob[] = [];
  const lines: string[] = [];
  const handler = createWebhookHandler({
    secrets: [SECRET],
    enqueue: async (job) => {
      jobs.push(job);
    },
    logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }),
    ...options,
  });
  return { handler, jobs, lines };
}

function body(response: HttpResponse): Record<string, unknown> {
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const parsed = JSON.parse(response.body) as Record<string, unknown>;
  expect(typeof parsed.message).toBe('string');
  expect(String(parsed.message).length).toBeGreaterThan(5);
  return parsed;
}

describe('webhook: push', () => {
  it('accepts a signed push, enqueues the job and answers 202', async () => {
    const { handler, jobs } = setup();
    const payload = branchPush();
    const res = await handler(delivery(payload, { deliveryId: 'delivery-1' }));
    expect(res.status).toBe(202);
    expect(body(res)).toMatchObject({ ok: true, deliveryId: 'delivery-1', repo: 'Codertocat/Hello-World', branch: 'master', commit: payload.after });
    expect(jobs).toEqual([
      {
        deliveryId: 'delivery-1',
        repo: 'Codertocat/Hello-World',
        owner: 'Codertocat',
        name: 'Hello-World',
        ref: 'refs/heads/master',
        branch: 'master',
        after: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
        before: '0000000000000000000000000000000000000000',
        installationId: 1,
        defaultBranch: 'master',
        pushedAt: '2019-05-15T15:20:57.000Z',
      },
    ]);
  });

  it('the job is plain serialisable data with nothing secret in it', async () => {
    const { handler, jobs } = setup();
    await handler(delivery(branchPush()));
    const job = jobs[0];
    expect(JSON.parse(JSON.stringify(job))).toEqual(job);
    expect(JSON.stringify(job)).not.toContain(SECRET);
    expect(Object.keys(job ?? {}).sort()).toEqual(
      ['after', 'before', 'branch', 'defaultBranch', 'deliveryId', 'installationId', 'name', 'owner', 'pushedAt', 'ref', 'repo'].sort(),
    );
  });

  it('carries what the commits touched and the new root tree, for a warm read of only the changes', async () => {
    const { handler, jobs } = setup();
    const payload = branchPush();
    const commit = (payload.commits as Record<string, unknown>[])[0] as Record<string, unknown>;
    const second = { ...commit, id: 'b'.repeat(40), added: ['policy/namespaces/a/ns.yaml'], removed: ['old.yaml'], modified: ['README.md'] };
    Object.assign(payload, {
      before: 'a'.repeat(40),
      created: false,
      commits: [{ ...commit, added: ['README.md'], removed: [], modified: [] }, second],
      head_commit: { ...second, tree_id: 'C'.repeat(40) },
    });
    expect((await handler(delivery(payload))).status).toBe(202);
    expect(jobs[0]).toMatchObject({ before: 'a'.repeat(40), changes: { treeId: 'c'.repeat(40), paths: ['README.md', 'policy/namespaces/a/ns.yaml', 'old.yaml'] } });
    expect(jobs[0]).not.toHaveProperty('forced');

    // A force push says so; a new branch (before = zeros) has nothing to start from.
    expect((await handler(delivery({ ...payload, forced: true }))).status).toBe(202);
    expect(jobs[1]?.forced).toBe(true);
    expect((await handler(delivery({ ...payload, before: '0'.repeat(40) }))).status).toBe(202);
    expect(jobs[2]).not.toHaveProperty('changes');

    // Too many paths to carry, or lists that are not lists: no changes, the tree is listed instead.
    const many = Array.from({ length: MAX_PUSH_CHANGED_PATHS + 1 }, (_, i) => `f${i}.yaml`);
    expect((await handler(delivery({ ...payload, commits: [{ ...second, added: many }] }))).status).toBe(202);
    expect(jobs[3]).not.toHaveProperty('changes');
    expect((await handler(delivery({ ...payload, commits: [{ ...second, added: 'x.yaml' }] }))).status).toBe(202);
    expect(jobs[4]).not.toHaveProperty('changes');
  });

  it('a push without an installation (a plain repository webhook) has no installationId', async () => {
    const { handler, jobs } = setup();
    const payload = branchPush();
    delete payload.installation;
    expect((await handler(delivery(payload))).status).toBe(202);
    expect(jobs[0]).not.toHaveProperty('installationId');
  });

  it('accepts the body as raw bytes (the adapters pass bytes)', async () => {
    const { handler, jobs } = setup();
    const res = await handler(delivery(branchPush(), { asBytes: true }));
    expect(res.status).toBe(202);
    expect(jobs).toHaveLength(1);
  });

  it('verifies the exact bytes: non-ASCII content signed by GitHub passes', async () => {
    const { handler, jobs } = setup();
    const payload = branchPush();
    (payload.head_commit as Record<string, unknown>).message = 'Füge Ümlaute hinzu ✓ 🚀';
    const res = await handler(delivery(payload, { asBytes: true }));
    expect(res.status).toBe(202);
    expect(jobs).toHaveLength(1);
  });

  it('a redelivery (same X-GitHub-Delivery) is enqueued again: it is the user\'s retry', async () => {
    const { handler, jobs } = setup();
    const payload = branchPush();
    const first = await handler(delivery(payload, { deliveryId: 'same-guid' }));
    const again = await handler(delivery(payload, { deliveryId: 'same-guid' }));
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(jobs.map((j) => j.deliveryId)).toEqual(['same-guid', 'same-guid']);
  });

  it('a branch deletion applies nothing', async () => {
    const { handler, jobs } = setup();
    const payload = example('push', (p) => p.deleted === true);
    payload.ref = 'refs/heads/feature-x';
    const res = await handler(delivery(payload));
    expect(res.status).toBe(202);
    expect(body(res).message).toMatch(/^branch deleted, nothing to apply/);
    expect(jobs).toHaveLength(0);
  });

  it('all-zero "after" counts as a deletion even without deleted: true', async () => {
    const { handler, jobs } = setup();
    const payload = branchPush();
    payload.after = '0'.repeat(40);
    expect(body(await handler(delivery(payload))).message).toMatch(/branch deleted/);
    expect(jobs).toHaveLength(0);
  });

  it('a tag push is ignored', async () => {
    const { handler, jobs } = setup();
    const payload = example('push', (p) => p.ref === 'refs/tags/simple-tag' && p.deleted === false);
    const res = await handler(delivery(payload));
    expect(res.status).toBe(202);
    expect(body(res).message).toMatch(/ignored: tag push/);
    expect(jobs).toHaveLength(0);
  });

  it('a push payload without a repository is a 400', async () => {
    const { handler, jobs } = setup();
    const payload = branchPush();
    delete payload.repository;
    const res = await handler(delivery(payload));
    expect(res.status).toBe(400);
    expect(body(res)).toMatchObject({ ok: false, code: 'WEBHOOK_BAD_PAYLOAD' });
    expect(jobs).toHaveLength(0);
  });

  it('an enqueue that fails answers 503 so GitHub shows the delivery as failed (redeliver to retry)', async () => {
    const { handler } = setup({ enqueue: () => Promise.reject(new Error('Lambda throttled')) });
    const res = await handler(delivery(branchPush()));
    expect(res.status).toBe(503);
    expect(body(res)).toMatchObject({ ok: false, code: 'WEBHOOK_ENQUEUE_FAILED' });
    expect(String(body(res).message)).toContain('Lambda throttled');
  });

  it('an enqueue that hangs is cut off: the answer never waits for the work', async () => {
    const { handler } = setup({ enqueue: () => new Promise(() => undefined), enqueueTimeoutMs: 50 });
    const started = Date.now();
    const res = await handler(delivery(branchPush()));
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('answers before the work finishes: enqueue only hands the job over', async () => {
    let finishWork: () => void = () => undefined;
    const work = new Promise<void>((resolve) => (finishWork = resolve));
    let workDone = false;
    const { handler } = setup({
      enqueue: async () => {
        void work.then(() => (workDone = true));
      },
    });
    const res = await handler(delivery(branchPush()));
    expect(res.status).toBe(202);
    expect(workDone).toBe(false);
    finishWork();
    await work;
  });
});

describe('webhook: signature', () => {
  it('a missing signature is 401 and nothing runs', async () => {
    const { handler, jobs } = setup();
    const res = await handler(delivery(branchPush(), { secret: null }));
    expect(res.status).toBe(401);
    expect(body(res)).toMatchObject({ ok: false, code: 'WEBHOOK_SIGNATURE_MISSING' });
    expect(jobs).toHaveLength(0);
  });

  it('a signature made with another secret is 401', async () => {
    const { handler, jobs } = setup();
    const res = await handler(delivery(branchPush(), { secret: 'not the secret' }));
    expect(res.status).toBe(401);
    expect(body(res)).toMatchObject({ code: 'WEBHOOK_SIGNATURE_MISMATCH' });
    expect(jobs).toHaveLength(0);
  });

  it('a body changed after signing is 401', async () => {
    const { handler, jobs } = setup();
    const request = delivery(branchPush());
    const tampered = { ...request, body: (request.body as string).replace('Codertocat/Hello-World', 'Codertocat/Evil-World') };
    expect((await handler(tampered)).status).toBe(401);
    expect(jobs).toHaveLength(0);
  });

  it('a garbage or sha1-only signature is 401', async () => {
    const { handler } = setup();
    const payload = JSON.stringify(branchPush());
    for (const sig of ['sha256=', 'sha256=zz', 'deadbeef', signature(payload).replace('sha256=', 'sha1=')]) {
      const res = await handler(delivery(payload, { headers: { 'x-hub-signature-256': sig } }));
      expect(res.status, sig).toBe(401);
    }
  });

  it('the signature is checked before the body is parsed: unsigned non-JSON is 401, not 400', async () => {
    const { handler } = setup();
    const res = await handler(delivery('{not json', { secret: null }));
    expect(res.status).toBe(401);
  });

  it('bytes that are not UTF-8 are 401 (GitHub never sends them, so they cannot be signed by it)', async () => {
    const { handler } = setup();
    const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    const res = await handler({ method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'x', 'x-hub-signature-256': signature(bytes) }, body: bytes });
    expect(res.status).toBe(401);
  });

  it('rotation: both the current and the previous secret verify; a third does not', async () => {
    const { handler, jobs } = setup({ secrets: ['new-secret', 'old-secret'] });
    expect((await handler(delivery(branchPush(), { secret: 'new-secret' }))).status).toBe(202);
    expect((await handler(delivery(branchPush(), { secret: 'old-secret' }))).status).toBe(202);
    expect((await handler(delivery(branchPush(), { secret: 'other-secret' }))).status).toBe(401);
    expect(jobs).toHaveLength(2);
  });

  it('there is no unsigned mode: no secret is a construction error', () => {
    const enqueue = async () => undefined;
    expect(() => createWebhookHandler({ secrets: [], enqueue })).toThrow(WebhookConfigError);
    expect(() => createWebhookHandler({ secrets: [''], enqueue })).toThrow(/no webhook secret configured/);
  });

  it('the secret never appears in responses or logs', async () => {
    const { handler, lines } = setup();
    const responses = [
      await handler(delivery(branchPush())),
      await handler(delivery(branchPush(), { secret: 'wrong' })),
      await handler(delivery(branchPush(), { secret: null })),
    ];
    for (const r of responses) expect(r.body).not.toContain(SECRET);
    expect(lines.join('\n')).not.toContain(SECRET);
    expect(lines.length).toBe(3);
  });
});

describe('webhook: request shape', () => {
  it('a body over the limit is 413 and nothing runs', async () => {
    const { handler, jobs } = setup({ maxBodyBytes: 1024 });
    const payload = branchPush();
    (payload.head_commit as Record<string, unknown>).message = 'x'.repeat(2048);
    const res = await handler(delivery(payload));
    expect(res.status).toBe(413);
    expect(body(res)).toMatchObject({ code: 'WEBHOOK_TOO_LARGE' });
    expect(jobs).toHaveLength(0);
  });

  it('the default limit is GitHub\'s 25 MB: a 26 MB body is 413 before any hashing', async () => {
    const { handler } = setup();
    const big = new Uint8Array(26 * 1024 * 1024);
    const res = await handler({ method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' }, body: big });
    expect(res.status).toBe(413);
  });

  it('a declared content-length over the limit is 413', async () => {
    const { handler } = setup({ maxBodyBytes: 1024 });
    const res = await handler(delivery(branchPush(), { headers: { 'content-length': String(10 * 1024 * 1024) } }));
    expect(res.status).toBe(413);
  });

  it('signed but malformed JSON is 400', async () => {
    const { handler, jobs } = setup();
    const res = await handler(delivery('{"ref": "refs/heads/main",'));
    expect(res.status).toBe(400);
    expect(body(res)).toMatchObject({ ok: false, code: 'WEBHOOK_BAD_BODY' });
    expect(jobs).toHaveLength(0);
  });

  it('signed JSON that is not an object is 400', async () => {
    const { handler } = setup();
    expect((await handler(delivery('[1,2,3]'))).status).toBe(400);
  });

  it('form-encoded deliveries are 415 with a hint to choose application/json', async () => {
    const { handler, jobs } = setup();
    const form = `payload=${encodeURIComponent(JSON.stringify(branchPush()))}`;
    const res = await handler(delivery(form, { contentType: 'application/x-www-form-urlencoded' }));
    expect(res.status).toBe(415);
    expect(res.headers.accept).toBe('application/json');
    expect(body(res).message).toMatch(/set "Content type" to application\/json in the webhook settings/);
    expect(jobs).toHaveLength(0);
  });

  it('other content types are 415; application/json with a charset is fine', async () => {
    const { handler } = setup();
    expect((await handler(delivery(branchPush(), { contentType: 'text/plain' }))).status).toBe(415);
    expect((await handler(delivery(branchPush(), { headers: { 'content-type': undefined } }))).status).toBe(415);
    expect((await handler(delivery(branchPush(), { contentType: 'application/json; charset=utf-8' }))).status).toBe(202);
  });

  it('GET (or anything but POST) is 405 with Allow: POST', async () => {
    const { handler } = setup();
    const res = await handler(delivery(branchPush(), { method: 'GET' }));
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(body(res)).toMatchObject({ code: 'WEBHOOK_METHOD' });
  });

  it('a signed request without X-GitHub-Event is 400', async () => {
    const { handler } = setup();
    const res = await handler(delivery(branchPush(), { headers: { 'x-github-event': undefined } }));
    expect(res.status).toBe(400);
    expect(body(res)).toMatchObject({ code: 'WEBHOOK_HEADER_MISSING' });
  });

  it('header names are matched case-insensitively for callers that did not lower-case them', async () => {
    const { handler, jobs } = setup();
    const text = JSON.stringify(branchPush());
    const res = await handler({
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'abc', 'X-Hub-Signature-256': signature(text) },
      body: text,
    });
    expect(res.status).toBe(202);
    expect(jobs[0]?.deliveryId).toBe('abc');
  });
});

describe('webhook: other events', () => {
  it('ping answers 200 with the zen', async () => {
    const { handler, jobs } = setup();
    const payload = example('ping');
    const res = await handler(delivery(payload, { event: 'ping' }));
    expect(res.status).toBe(200);
    expect(body(res)).toMatchObject({ ok: true, zen: payload.zen });
    expect(jobs).toHaveLength(0);
  });

  it('a ping must be signed too', async () => {
    const { handler } = setup();
    expect((await handler(delivery(example('ping'), { event: 'ping', secret: null }))).status).toBe(401);
  });

  it('events other than push are 202 with the reason', async () => {
    const { handler, jobs } = setup();
    const res = await handler(delivery(example('pull_request'), { event: 'pull_request' }));
    expect(res.status).toBe(202);
    expect(body(res).message).toMatch(/push events only.*pull_request/);
    expect(jobs).toHaveLength(0);
  });
});

describe('webhook: logs', () => {
  it('one line per delivery, carrying the delivery id', async () => {
    const { handler, lines } = setup();
    await handler(delivery(branchPush(), { deliveryId: 'trace-me' }));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ level: 'info', msg: 'webhook answered', deliveryId: 'trace-me', event: 'push', status: 202, repo: 'Codertocat/Hello-World' });
  });
});
