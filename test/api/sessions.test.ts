import assert from 'node:assert/strict';
// A cache that would keep a session a minute: changes must still be seen within moments.
const SESSION_CACHE_MS = 60_000;
// A notification's trip from PostgreSQL to the API process, with room for a busy machine.
const NOTIFIED_WITHIN_MS = 3_000;
import { call, registerUser, startTestApi, type TestApi } from '../helpers/api';

/**
 * An API process remembers the sessions it has looked up (SESSION_CACHE_MS), so a polling client
 * does not cost a session query per poll, and forgets one as soon as the database says it or its
 * user changed. These are the promises that cache must keep.
 */
describe('sessions while a client polls its job', function () {
  this.timeout(60_000);
  let api: TestApi;
  let other: TestApi;

  before(async () => {
    // Polling never talks to Temporal: nothing listens at this address.
    api = await startTestApi({ TEMPORAL_ADDRESS: '127.0.0.1:1', SESSION_CACHE_MS: String(SESSION_CACHE_MS) });
    // A second API process on the same database, with a cache of its own.
    other = await startTestApi({ TEMPORAL_ADDRESS: '127.0.0.1:1', SESSION_CACHE_MS: String(SESSION_CACHE_MS) });
  });

  /** A user with a podcast whose job is running, as the worker leaves it mid-way. */
  async function pollingUser(label: string) {
    const { token, user } = await registerUser(api, label);
    const [podcast] = await api
      .knex('podcasts')
      .insert({ user_id: user.id, source_type: 'text', source_content: 'Hello.', status: 'processing' })
      .returning('*');
    const [job] = await api
      .knex('podcast_jobs')
      .insert({ podcast_id: podcast!.id, status: 'synthesizing', progress: 40, current_step: 'synthesizing' })
      .returning('*');
    const poll = (base = api.url, headers: Record<string, string> = {}) => call(base, 'GET', `/v1/podcasts/${podcast!.id}/job`, { token, headers });
    return { token, user, podcast: podcast!, job: job!, poll };
  }

  /** Polls until the answer is 401, and says how long that took. */
  async function msUntilRefused(poll: () => Promise<{ status: number }>, limitMs: number): Promise<number> {
    const started = Date.now();
    for (;;) {
      const { status } = await poll();
      if (status === 401) return Date.now() - started;
      assert.equal(status, 200);
      assert.ok(Date.now() - started < limitMs, `still accepted after ${limitMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('refuses a logged-out token on the very next poll', async () => {
    const { token, poll } = await pollingUser('logout');
    for (let i = 0; i < 3; i++) assert.equal((await poll()).status, 200);
    assert.equal((await call(api.url, 'POST', '/v1/auth/logout', { token })).status, 204);
    const after = await poll();
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'UNAUTHENTICATED');
  });

  it('refuses a token logged out through another API process within moments', async () => {
    const { token, poll } = await pollingUser('elsewhere');
    assert.equal((await poll(api.url)).status, 200);
    assert.equal((await poll(other.url)).status, 200);
    assert.equal((await call(other.url, 'POST', '/v1/auth/logout', { token })).status, 204);
    assert.equal((await poll(other.url)).status, 401, 'at once where the logout happened');
    const ms = await msUntilRefused(() => poll(api.url), NOTIFIED_WITHIN_MS);
    assert.ok(ms <= NOTIFIED_WITHIN_MS, `refused after ${ms} ms`);
  });

  it('refuses a deactivated user within moments, though they were polling', async () => {
    const { user, poll } = await pollingUser('deactivated');
    assert.equal((await poll()).status, 200);
    await api.knex('users').where({ id: user.id }).update({ is_active: false });
    const ms = await msUntilRefused(() => poll(), NOTIFIED_WITHIN_MS);
    assert.ok(ms <= NOTIFIED_WITHIN_MS, `refused after ${ms} ms`);
  });

  it('sees a plan changed elsewhere (a Stripe event in the worker) within moments', async () => {
    const { token, user, poll } = await pollingUser('upgraded');
    assert.equal((await poll()).status, 200);
    const before = await call(api.url, 'POST', '/v1/api-keys', { token, body: { name: 'ci' } });
    assert.equal(before.status, 403, 'API keys need the team plan');
    await api.knex('users').where({ id: user.id }).update({ plan: 'team' });
    const started = Date.now();
    for (;;) {
      const r = await call(api.url, 'POST', '/v1/api-keys', { token, body: { name: 'ci' } });
      if (r.status === 201) break;
      assert.equal(r.status, 403);
      assert.ok(Date.now() - started < NOTIFIED_WITHIN_MS, `the upgrade was not seen within ${NOTIFIED_WITHIN_MS} ms`);
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  it('refuses a session the moment it expires, even one used a moment before', async () => {
    const { user, poll } = await pollingUser('expiring');
    const expiresAt = new Date(Date.now() + 1500);
    await api.knex('sessions').where({ user_id: user.id }).update({ expires_at: expiresAt });
    assert.equal((await poll()).status, 200);
    await new Promise((r) => setTimeout(r, expiresAt.getTime() - Date.now() + 50));
    assert.equal((await poll()).status, 401);
  });

  it('answers 304 while the job is unchanged and the new job as soon as it changes', async () => {
    const { job, poll } = await pollingUser('etag');
    const first = await poll();
    assert.equal(first.status, 200);
    assert.equal(first.body.progress, 40);
    const etag = first.headers.get('etag')!;
    assert.ok(etag);
    assert.equal((await poll(api.url, { 'If-None-Match': etag })).status, 304);
    await api.knex('podcast_jobs').where({ id: job.id }).update({ progress: 55 });
    const changed = await poll(api.url, { 'If-None-Match': etag });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.progress, 55);
    assert.notEqual(changed.headers.get('etag'), etag);
  });

  it("answers 404 for another user's podcast, though both are signed in and polling", async () => {
    const owner = await pollingUser('owner');
    const stranger = await pollingUser('stranger');
    assert.equal((await stranger.poll()).status, 200);
    const r = await call(api.url, 'GET', `/v1/podcasts/${owner.podcast.id}/job`, { token: stranger.token });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'NOT_FOUND');
  });
});
