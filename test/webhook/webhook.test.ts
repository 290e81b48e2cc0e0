import { describe, expect, it } from 'vitest';
import { createWebhookHandler, MAX_PUSH_CHANGED_PATHS, WebhookConfigError } from '../../lib/github/webhook.ts';
import type { PushJob, WebhookHandlerOptions } from '../../lib/github/webhook.ts';
import { createLogSampler, SUPPRESSED_MSG } from '../../lib/http/log-sampler.ts';
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

  it('bytes that are not UTF-8 are 401 unsigned, and 400 (not UTF-8) when the signature holds', async () => {
    const { handler } = setup();
    const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    const headers = { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'x' };
    expect((await handler({ method: 'POST', headers: { ...headers, 'x-hub-signature-256': signature(bytes, 'forged') }, body: bytes })).status).toBe(401);
    const signed = await handler({ method: 'POST', headers: { ...headers, 'x-hub-signature-256': signature(bytes) }, body: bytes });
    expect(signed.status).toBe(400);
    expect(body(signed)).toMatchObject({ code: 'WEBHOOK_BAD_BODY', message: 'body is not UTF-8 text' });
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

describe('webhook: the head is judged before the body (both runtimes share this path)', () => {
  it('a well-formed but wrong signature without X-GitHub-Event is 400 before the body is verified', async () => {
    const { handler } = setup();
    const res = await handler(delivery(branchPush(), { secret: 'forged', headers: { 'x-github-event': undefined } }));
    expect(res.status).toBe(400);
    expect(body(res)).toMatchObject({ code: 'WEBHOOK_HEADER_MISSING' });
  });

  it('a signature that is not sha256=<64 hex> is 401 WEBHOOK_SIGNATURE_MALFORMED, naming the form GitHub sends', async () => {
    const { handler } = setup();
    for (const sig of ['sha256=', 'sha256=zz', 'deadbeef', `sha1=${'a'.repeat(40)}`, `sha256=${'a'.repeat(63)}`, `sha256=${'a'.repeat(65)}`]) {
      const res = await handler(delivery(branchPush(), { headers: { 'x-hub-signature-256': sig } }));
      expect(res.status, sig).toBe(401);
      expect(body(res), sig).toMatchObject({ code: 'WEBHOOK_SIGNATURE_MALFORMED', message: expect.stringContaining('64 hex digits') });
    }
  });

  it('a delivery id that is not one (a 10 KB header) is 400 and never echoed in full', async () => {
    const { handler, lines } = setup();
    const res = await handler(delivery(branchPush(), { deliveryId: 'x'.repeat(10_000) }));
    expect(res.status).toBe(400);
    expect(body(res)).toMatchObject({ code: 'WEBHOOK_HEADER_INVALID' });
    expect(res.body.length).toBeLessThan(1_000);
    expect(lines.join('\n').length).toBeLessThan(2_000);
  });

  it('head() refuses without being given a body, and accepts with a sink that limits and verifies as chunks arrive', async () => {
    const { handler, jobs } = setup({ maxBodyBytes: 64 * 1024 });
    const unsigned = await handler.head({ method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'd' } });
    expect('refuse' in unsigned && unsigned.refuse.status).toBe(401);
    const declaredTooLarge = await handler.head({ method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(64 * 1024 + 1) } });
    expect('refuse' in declaredTooLarge && declaredTooLarge.refuse.status).toBe(413);

    const request = delivery(branchPush());
    const accepted = await handler.head({ method: 'POST', headers: request.headers });
    if (!('accept' in accepted)) throw new Error(`refused: ${JSON.stringify(accepted)}`);
    const bytes = Buffer.from(request.body as string);
    for (let at = 0; at < bytes.byteLength; at += 100) expect(accepted.accept.write(bytes.subarray(at, at + 100))).toBeUndefined();
    expect((await accepted.accept.end()).status).toBe(202);
    expect(jobs).toHaveLength(1);

    // Streamed past the limit without a Content-Length: 413 at the chunk that crosses it.
    const chunked = await handler.head({ method: 'POST', headers: { ...request.headers, 'content-length': undefined } });
    if (!('accept' in chunked)) throw new Error('refused');
    expect(chunked.accept.write(new Uint8Array(64 * 1024 - 100))).toBeUndefined();
    expect(chunked.accept.write(new Uint8Array(200))?.status).toBe(413);
  });
});

describe('webhook: push input that can never succeed is 400, naming the field and value', () => {
  const cases: [string, (p: Record<string, unknown>) => void, string, RegExp][] = [
    ['"before" that is not a commit id', (p) => (p.before = 'not-a-sha'), 'before', /"before" "not-a-sha" is not a commit id/],
    ['"before" of the wrong length', (p) => (p.before = 'a'.repeat(41)), 'before', /commit id \(40 or 64 hex digits\)/],
    ['"after" that is not a commit id', (p) => (p.after = 'HEAD'), 'after', /"after" "HEAD" is not a commit id/],
    ['an empty branch (refs/heads/)', (p) => (p.ref = 'refs/heads/'), 'ref', /"ref" "refs\/heads\/" names no branch/],
    ['a branch git refuses', (p) => (p.ref = 'refs/heads/a..b'), 'ref', /not a valid branch: its name contains ".."/],
    ['a branch with a space', (p) => (p.ref = 'refs/heads/my branch'), 'ref', /contains a space/],
    ['".." as the owner', (p) => ((p.repository as Record<string, unknown>).full_name = '../Hello-World'), 'repository.full_name', /invalid owner/],
    ['".." as the repository name', (p) => ((p.repository as Record<string, unknown>).full_name = 'Codertocat/..'), 'repository.full_name', /invalid repository name/],
    ['three path segments', (p) => ((p.repository as Record<string, unknown>).full_name = 'a/b/c'), 'repository.full_name', /must be owner\/name/],
    ['a default branch git refuses', (p) => ((p.repository as Record<string, unknown>).default_branch = 'main~1'), 'repository.default_branch', /contains a space, a control character or one of/],
    ['an installation id that is not a number', (p) => (p.installation = { id: '1; drop' }), 'installation.id', /not a GitHub App installation id/],
  ];
  for (const [what, mutate, field, message] of cases) {
    it(what, async () => {
      const { handler, jobs } = setup();
      const payload = branchPush();
      mutate(payload);
      const res = await handler(delivery(payload));
      expect(res.status).toBe(400);
      expect(body(res)).toMatchObject({ ok: false, code: 'WEBHOOK_BAD_PAYLOAD', field });
      expect(String(body(res).message)).toMatch(message);
      expect(String(body(res).message)).toMatch(/a redelivery would fail the same way/);
      expect(jobs).toHaveLength(0);
    });
  }

  it('a 300 KB default branch is 400 with the value truncated, not a 503 "redeliver to retry"', async () => {
    const { handler, jobs, lines } = setup();
    const payload = branchPush();
    (payload.repository as Record<string, unknown>).default_branch = 'b'.repeat(300 * 1024);
    const res = await handler(delivery(payload));
    expect(res.status).toBe(400);
    const parsed = body(res);
    expect(parsed).toMatchObject({ field: 'repository.default_branch', value: `${'b'.repeat(97)}...` });
    expect(String(parsed.message)).toMatch(/longer than 1024 bytes/);
    expect(res.body.length).toBeLessThan(1_000);
    expect(lines.join('\n').length).toBeLessThan(2_000);
    expect(jobs).toHaveLength(0);
  });

  it('a branch at the length bound is fine; one byte more is not', async () => {
    const { handler, jobs } = setup();
    const payload = branchPush();
    payload.ref = `refs/heads/${'b'.repeat(1024)}`;
    expect((await handler(delivery(payload))).status).toBe(202);
    payload.ref = `refs/heads/${'b'.repeat(1025)}`;
    expect((await handler(delivery(payload))).status).toBe(400);
    expect(jobs).toHaveLength(1);
  });

  it('a 64-hex (SHA-256 repository) before and after are commit ids', async () => {
    const { handler, jobs } = setup();
    const payload = branchPush();
    Object.assign(payload, { before: 'a'.repeat(64), after: 'B'.repeat(64) });
    expect((await handler(delivery(payload))).status).toBe(202);
    expect(jobs[0]).toMatchObject({ before: 'a'.repeat(64), after: 'b'.repeat(64) });
  });

  it('changed paths too large to carry are dropped (the tree is listed instead): the job stays small', async () => {
    const { handler, jobs } = setup();
    const payload = branchPush();
    const commit = (payload.commits as Record<string, unknown>[])[0] as Record<string, unknown>;
    const long = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(3, '0')}/${'p'.repeat(1000)}.yaml`);
    Object.assign(payload, { before: 'a'.repeat(40), commits: [{ ...commit, added: long, removed: [], modified: [] }], head_commit: { ...commit, tree_id: 'c'.repeat(40) } });
    expect((await handler(delivery(payload))).status).toBe(202);
    expect(jobs[0]).not.toHaveProperty('changes');
    expect(JSON.stringify(jobs[0]).length).toBeLessThan(2_000);
  });

  it('a job the fan-out refuses for what it holds is 400 (a redelivery cannot help); an outage stays 503', async () => {
    const refusing = setup({ enqueue: () => Promise.reject(Object.assign(new Error('payload must not carry secrets: $.branch holds a registered secret value'), { code: 'FANOUT_SECRET_IN_PAYLOAD' })) });
    const refused = await refusing.handler(delivery(branchPush()));
    expect(refused.status).toBe(400);
    expect(body(refused)).toMatchObject({ code: 'WEBHOOK_JOB_REFUSED', cause: 'FANOUT_SECRET_IN_PAYLOAD' });
    const down = setup({ enqueue: () => Promise.reject(Object.assign(new Error('Rate exceeded'), { code: 'FANOUT_UNKNOWN_FUNCTION' })) });
    expect((await down.handler(delivery(branchPush()))).status).toBe(503);
  });
});

describe('webhook: refusals of unauthenticated requests are sampled in the logs', () => {
  it('a flood of 1000 forged deliveries writes 10 lines, then one line with the count when the minute is over', async () => {
    let clock = 0;
    const lines: string[] = [];
    const logger = createLogger({ sink: (l) => lines.push(l) });
    const { handler } = setup({ logger, sampler: createLogSampler(logger, { now: () => clock, flushOnTimer: false }) });
    for (let i = 0; i < 1000; i++) {
      const res = await handler(delivery(branchPush(), { secret: i % 2 === 0 ? 'forged' : null }));
      expect(res.status).toBe(401);
    }
    expect(lines).toHaveLength(10);
    clock = 60_000;
    expect((await handler(delivery(branchPush(), { secret: 'forged' }))).status).toBe(401);
    const summary = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === SUPPRESSED_MSG);
    expect(summary).toMatchObject({ level: 'warn', suppressed: 990, byCode: [
        { code: 'WEBHOOK_SIGNATURE_MISMATCH', count: 495 },
        { code: 'WEBHOOK_SIGNATURE_MISSING', count: 495 },
      ] });
    // The new minute's first refusal is written again.
    expect(lines).toHaveLength(12);
  });

  it('authenticated answers are never sampled away', async () => {
    const lines: string[] = [];
    const logger = createLogger({ sink: (l) => lines.push(l) });
    const { handler } = setup({ logger, sampler: createLogSampler(logger, { perWindow: 1, flushOnTimer: false }) });
    await handler(delivery(branchPush(), { secret: 'forged' }));
    await handler(delivery(branchPush(), { secret: 'forged' }));
    for (let i = 0; i < 5; i++) expect((await handler(delivery(branchPush()))).status).toBe(202);
    expect(lines.map((l) => (JSON.parse(l) as { status: number }).status)).toEqual([401, 202, 202, 202, 202, 202]);
  });
});
