import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { call, registerUser } from '../helpers/api';
import { ARTICLE_ZH_EN, pollJob } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';

/** PATCH and DELETE /v1/podcasts/{id}: the studio's library renames, publishes and deletes podcasts as it does audios. */
describe('the podcast library: rename, publish, delete', function () {
  this.timeout(240_000);
  let stack: TestStack;

  let working = false;
  const startWorker = async () => {
    if (!working) await stack.startWorker();
    working = true;
  };

  before(async () => {
    // No worker at first: the first test needs a job that stays running.
    stack = await startTestStack({}, { worker: false });
  });

  const textPodcast = (title: string, review = false) => ({
    title,
    sourceType: 'text',
    sourceContent: ARTICLE_ZH_EN,
    targetDuration: 60,
    hostVoiceId: 'local-zh-female',
    guestVoiceId: 'local-zh-male',
    review,
  });

  async function create(token: string, title: string, review = false): Promise<string> {
    const res = await call(stack.url, 'POST', '/v1/podcasts', { token, body: textPodcast(title, review) });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.podcast.id;
  }

  /** Every stored file under the podcast's folder. */
  const filesOf = (podcastId: string): string[] => {
    const dir = stack.storage.localPath(`podcasts/${podcastId}`)!;
    return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : [];
  };

  it('will not delete a running podcast or a waiting draft (409), only once it is canceled', async () => {
    const { token } = await registerUser(stack, 'running');
    const running = await create(token, 'Still running');
    const refused = await call(stack.url, 'DELETE', `/v1/podcasts/${running}`, { token });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'CONFLICT');
    assert.match(refused.body.error.message, /cancel/);
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${running}`, { token })).status, 200, 'still there');

    // Without audio there is nothing to publish, but the title is the podcast's own.
    const publish = await call(stack.url, 'PATCH', `/v1/podcasts/${running}`, { token, body: { isPublic: true } });
    assert.equal(publish.status, 409, JSON.stringify(publish.body));
    assert.equal(publish.body.error.code, 'CONFLICT');
    const renamed = await call(stack.url, 'PATCH', `/v1/podcasts/${running}`, { token, body: { title: 'Renamed while running' } });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.title, 'Renamed while running');
    assert.equal(renamed.body.isPublic, false);

    assert.equal((await call(stack.url, 'POST', `/v1/podcasts/${running}/cancel`, { token })).status, 202);
    await startWorker();
    assert.equal((await pollJob(stack, token, running)).job.status, 'canceled');
    assert.equal((await call(stack.url, 'DELETE', `/v1/podcasts/${running}`, { token })).status, 204);
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${running}`, { token })).status, 404);

    const draft = await create(token, 'Draft', true);
    await eventually(
      async () => ((await call(stack.url, 'GET', `/v1/podcasts/${draft}`, { token })).body.status === 'draft' ? true : undefined),
      60_000,
      'the draft to wait for review',
    );
    assert.equal((await call(stack.url, 'DELETE', `/v1/podcasts/${draft}`, { token })).status, 409);
  });

  it("renames and publishes a completed podcast and its audio together; validation 400s; others' podcasts are 404", async () => {
    await startWorker();
    const owner = await registerUser(stack, 'podcast-owner');
    const other = await registerUser(stack, 'podcast-stranger');
    const id = await create(owner.token, 'First title');
    assert.equal((await pollJob(stack, owner.token, id)).job.status, 'completed');
    const before = await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token: owner.token });
    assert.equal(before.body.isPublic, false, 'private until published');

    const patched = await call(stack.url, 'PATCH', `/v1/podcasts/${id}`, { token: owner.token, body: { title: '  Renamed podcast  ' } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const { updatedAt: _a, ...patchedRest } = patched.body;
    const { updatedAt: _b, ...beforeRest } = before.body;
    assert.deepEqual(patchedRest, { ...beforeRest, title: 'Renamed podcast' }, 'the podcast view, renamed (trimmed)');
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token: owner.token })).body.title, 'Renamed podcast');
    const audios = await call(stack.url, 'GET', '/v1/audios?type=podcast', { token: owner.token });
    assert.equal(audios.body.total, 1);
    const audio = audios.body.items[0];
    assert.equal(audio.title, 'Renamed podcast', 'the audio library shows the new title too');

    const transcript = `${stack.url}/v1/podcasts/${id}/transcript`;
    assert.equal((await fetch(transcript)).status, 404, 'private: no transcript without auth');
    const published = await call(stack.url, 'PATCH', `/v1/podcasts/${id}`, { token: owner.token, body: { isPublic: true } });
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.equal(published.body.isPublic, true);
    assert.equal(published.body.title, 'Renamed podcast', 'a visibility change keeps the title');
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token: owner.token })).body.isPublic, true);
    assert.equal((await call(stack.url, 'GET', '/v1/podcasts', { token: owner.token })).body.items[0].isPublic, true);
    assert.equal((await call(stack.url, 'GET', `/v1/audios/${audio.id}`, { token: owner.token })).body.isPublic, true);
    assert.equal((await fetch(transcript)).status, 200, 'public: anyone reads the transcript');
    assert.equal((await fetch(`${stack.url}/v1/audios/${audio.id}/file`)).status, 200, 'and hears the audio');

    const both = await call(stack.url, 'PATCH', `/v1/podcasts/${id}`, { token: owner.token, body: { title: null, isPublic: false } });
    assert.equal(both.status, 200, JSON.stringify(both.body));
    assert.equal(both.body.title, null);
    assert.equal(both.body.isPublic, false);
    assert.equal((await fetch(transcript)).status, 404, 'private again');
    assert.equal((await call(stack.url, 'GET', `/v1/audios/${audio.id}`, { token: owner.token })).body.title, null);

    for (const body of [{}, { isPublic: 'yes' }, { title: '   ' }, { title: 'x'.repeat(201) }, { title: 'ok', status: 'completed' }, { isPublic: null }]) {
      const r = await call(stack.url, 'PATCH', `/v1/podcasts/${id}`, { token: owner.token, body });
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'VALIDATION_FAILED');
    }
    assert.equal((await call(stack.url, 'PATCH', '/v1/podcasts/not-a-uuid', { token: owner.token, body: { title: 'x' } })).status, 400);
    assert.equal((await call(stack.url, 'PATCH', `/v1/podcasts/${id}`, { body: { title: 'x' } })).status, 401);

    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { title: 'mine now', isPublic: true }],
      ['DELETE', undefined],
    ] as const) {
      const r = await call(stack.url, method, `/v1/podcasts/${id}`, { token: other.token, body });
      assert.equal(r.status, 404, `${method} by another user`);
      assert.equal(r.body.error.code, 'NOT_FOUND');
    }
    const after = await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token: owner.token });
    assert.equal(after.body.title, null, 'unchanged by the other user');
    assert.equal(after.body.isPublic, false);
  });

  it('deletes a completed podcast: its rows and files go, its audio leaves the library, usage and quota stay', async () => {
    await startWorker();
    const { token, user } = await registerUser(stack, 'podcast-deleter');
    const id = await create(token, 'To be deleted');
    assert.equal((await pollJob(stack, token, id)).job.status, 'completed');
    const keep = await create(token, 'To be kept');
    assert.equal((await pollJob(stack, token, keep)).job.status, 'completed');
    assert.equal((await call(stack.url, 'PATCH', `/v1/podcasts/${id}`, { token, body: { isPublic: true } })).status, 200);

    const row = (await stack.knex('podcasts').where({ id }).first())!;
    const audio = (await stack.knex('audios').where({ audio_url: row.audio_url!, type: 'podcast' }).first())!;
    const files = filesOf(id);
    assert.ok(files.some((f) => f.endsWith('.mp3')) && files.some((f) => f.startsWith('segments')), `audio and spoken lines stored: ${files}`);
    const usage = await stack.knex('usage_logs').where({ podcast_id: id });
    assert.equal(usage.length, 1, 'one charge for the one generation');
    const quotaBefore = (await stack.knex('users').where({ id: user.id }).first())!;
    const month = new Date().toISOString().slice(0, 7);
    const usageBefore = (await call(stack.url, 'GET', `/v1/usage?month=${month}`, { token })).body;
    assert.ok(usageBefore.totals.duration > 0);

    const del = await call(stack.url, 'DELETE', `/v1/podcasts/${id}`, { token });
    assert.equal(del.status, 204, JSON.stringify(del.body));
    assert.equal(del.body, '');

    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token })).status, 404);
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}/job`, { token })).status, 404);
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}/file`, { token })).status, 404);
    assert.equal((await fetch(`${stack.url}/v1/podcasts/${id}/transcript`)).status, 404, 'no longer public');
    const list = await call(stack.url, 'GET', '/v1/podcasts', { token });
    assert.deepEqual(
      list.body.items.map((p: { id: string }) => p.id),
      [keep],
    );
    assert.equal(list.body.total, 1);
    assert.equal((await call(stack.url, 'GET', `/v1/audios/${audio.id}`, { token })).status, 404, 'its audio left the library');
    assert.equal((await fetch(`${stack.url}/v1/audios/${audio.id}/file`)).status, 404);
    assert.equal((await call(stack.url, 'GET', '/v1/audios?type=podcast', { token })).body.total, 1, 'the other podcast stays');

    assert.deepEqual(filesOf(id), [], 'every stored file of the podcast is gone');
    assert.ok(filesOf(keep).length > 0, "the other podcast's files stay");
    assert.equal(await stack.storage.exists(stack.storage.keyOf(row.audio_url!)), false);
    assert.equal((await stack.knex('podcast_jobs').where({ podcast_id: id })).length, 0);
    assert.equal((await stack.knex('podcast_segments').where({ podcast_id: id })).length, 0);
    const audioRow = (await stack.knex('audios').where({ id: audio.id }).first())!;
    assert.equal(audioRow.is_deleted, true, 'soft-deleted, as an audio delete does: usage rows point at it');
    assert.equal(audioRow.is_public, false);

    const usageAfter = await stack.knex('usage_logs').whereIn(
      'id',
      usage.map((u) => u.id),
    );
    assert.deepEqual(
      usageAfter.map((u) => ({ ...u, podcast_id: id })),
      usage,
      'the usage rows stay as they were, without the link to the deleted podcast',
    );
    assert.equal(usageAfter[0]!.podcast_id, null);
    assert.equal(usageAfter[0]!.audio_id, audio.id);
    const quotaAfter = (await stack.knex('users').where({ id: user.id }).first())!;
    assert.equal(quotaAfter.quota_used, quotaBefore.quota_used, 'deleting refunds nothing');
    assert.equal(quotaAfter.quota_reserved, quotaBefore.quota_reserved);
    assert.deepEqual((await call(stack.url, 'GET', `/v1/usage?month=${month}`, { token })).body, usageBefore);

    const again = await call(stack.url, 'DELETE', `/v1/podcasts/${id}`, { token });
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'NOT_FOUND');
  });
});
