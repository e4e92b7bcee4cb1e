import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';

describe('the audio library and usage', function () {
  this.timeout(120_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });

  async function speak(token: string, text: string) {
    const res = await call(stack.url, 'POST', '/v1/audios', { token, body: { text, voiceId: 'local-en-female', title: text.slice(0, 20) } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return eventually(
      async () => {
        const r = await call(stack.url, 'GET', `/v1/audios/${res.body.id}`, { token });
        return r.status === 200 ? r.body : undefined;
      },
      60_000,
      'the audio',
    );
  }

  it('lists the library newest first with pagination and a type filter, and hides deleted audios', async () => {
    const { token, user } = await registerUser(stack, 'library');
    const rows = Array.from({ length: 5 }, (_, i) => ({
      user_id: user.id,
      title: `Clip ${i}`,
      text: `text ${i}`,
      text_length: 6,
      voice_id: 'openai-alloy',
      audio_url: 'local:nowhere.mp3',
      duration: i + 1,
      type: i === 4 ? ('podcast' as const) : ('tts' as const),
      created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    }));
    await stack.knex('audios').insert(rows);
    const page = await call(stack.url, 'GET', '/v1/audios?limit=2&offset=1', { token });
    assert.equal(page.status, 200);
    assert.equal(page.body.total, 5);
    assert.deepEqual(
      page.body.items.map((a: { title: string }) => a.title),
      ['Clip 3', 'Clip 2'],
    );
    assert.equal(page.body.items[0].voiceName, 'Alloy', 'joined with its voice (seed query 3.1)');
    const podcasts = await call(stack.url, 'GET', '/v1/audios?type=podcast', { token });
    assert.deepEqual(
      podcasts.body.items.map((a: { title: string }) => a.title),
      ['Clip 4'],
    );
    assert.equal((await call(stack.url, 'GET', '/v1/audios?limit=0', { token })).status, 400);
    assert.equal((await call(stack.url, 'GET', '/v1/audios?limit=101', { token })).status, 400);

    const id = page.body.items[0].id;
    assert.equal((await call(stack.url, 'DELETE', `/v1/audios/${id}`, { token })).status, 204);
    assert.equal((await call(stack.url, 'GET', '/v1/audios', { token })).body.total, 4);
    assert.equal((await call(stack.url, 'GET', `/v1/audios/${id}`, { token })).status, 404);
    assert.equal((await call(stack.url, 'DELETE', `/v1/audios/${id}`, { token })).status, 404);
    const row = await stack.knex('audios').where({ id }).first();
    assert.ok(row);
    assert.equal(row.is_deleted, true, 'a soft delete keeps the row');
  });

  it('renames and publishes an audio; public files need no auth, private ones only their owner', async () => {
    const owner = await registerUser(stack, 'publisher');
    const other = await registerUser(stack, 'stranger');
    const audio = await speak(owner.token, 'A public announcement for everyone.');
    const fileUrl = `${stack.url}/v1/audios/${audio.id}/file`;

    assert.equal((await fetch(fileUrl)).status, 404, 'private: not even its existence shows without auth');
    assert.equal((await fetch(fileUrl, { headers: { authorization: `Bearer ${other.token}` } })).status, 404);
    assert.equal((await fetch(fileUrl, { headers: { authorization: `Bearer ${owner.token}` } })).status, 200);

    const patched = await call(stack.url, 'PATCH', `/v1/audios/${audio.id}`, { token: owner.token, body: { title: 'Announcement', isPublic: true } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.title, 'Announcement');
    assert.equal(patched.body.isPublic, true);
    const anonymous = await fetch(fileUrl);
    assert.equal(anonymous.status, 200);
    assert.equal(anonymous.headers.get('content-type'), 'audio/mpeg');
    const ranged = await fetch(fileUrl, { headers: { range: 'bytes=0-9' } });
    assert.equal(ranged.status, 206);

    assert.equal((await call(stack.url, 'PATCH', `/v1/audios/${audio.id}`, { token: owner.token, body: {} })).status, 400);
    assert.equal((await call(stack.url, 'PATCH', `/v1/audios/${audio.id}`, { token: owner.token, body: { isPublic: 'yes' } })).status, 400);
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { title: 'mine now' }],
      ['DELETE', undefined],
    ] as const) {
      const r = await call(stack.url, method, `/v1/audios/${audio.id}`, { token: other.token, body });
      assert.equal(r.status, 404, `${method} by another user`);
    }
    assert.equal((await stack.knex('audios').where({ id: audio.id }).first())!.title, 'Announcement', 'unchanged by the other user');

    assert.equal((await call(stack.url, 'DELETE', `/v1/audios/${audio.id}`, { token: owner.token })).status, 204);
    assert.equal((await fetch(fileUrl)).status, 404, 'a deleted audio is no longer public');
  });

  it('reports usage per UTC month, counting the first and last second of the month and nothing outside it', async () => {
    const { token, user } = await registerUser(stack, 'usage');
    const log = (at: string, duration: number, chars: number, cost: number | null) => ({
      user_id: user.id,
      type: 'tts' as const,
      chars_used: chars,
      duration_used: duration,
      api_cost: cost,
      provider: 'local',
      created_at: new Date(at),
    });
    await stack
      .knex('usage_logs')
      .insert([
        log('2026-09-30T23:59:59Z', 100, 1000, 1),
        log('2026-10-01T00:00:00Z', 10.5, 100, 0.25),
        log('2026-10-01T12:00:00Z', 4.5, 40, null),
        log('2026-10-15T08:00:00Z', 20, 200, 0.5),
        log('2026-10-31T23:59:59Z', 5, 50, 0.125),
        log('2026-11-01T00:00:00Z', 100, 1000, 1),
      ]);
    const r = await call(stack.url, 'GET', '/v1/usage?month=2026-10', { token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      month: '2026-10',
      totals: { requests: 4, duration: 40, chars: 390, cost: 0.875 },
      days: [
        { date: '2026-10-01', requests: 2, duration: 15, chars: 140 },
        { date: '2026-10-15', requests: 1, duration: 20, chars: 200 },
        { date: '2026-10-31', requests: 1, duration: 5, chars: 50 },
      ],
    });
    const empty = await call(stack.url, 'GET', '/v1/usage?month=2025-01', { token });
    assert.deepEqual(empty.body.totals, { requests: 0, duration: 0, chars: 0, cost: 0 });
    assert.equal((await call(stack.url, 'GET', '/v1/usage?month=2026-13', { token })).status, 400);
    const other = await registerUser(stack, 'usage-other');
    assert.equal((await call(stack.url, 'GET', '/v1/usage?month=2026-10', { token: other.token })).body.totals.requests, 0);
  });
});
