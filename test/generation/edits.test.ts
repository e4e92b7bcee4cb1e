import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { downloadedDuration, pollJob } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

/** Forty distinct lines, so every line is one speech request. */
const SCRIPT = {
  lines: Array.from({ length: 40 }, (_, i) => ({
    role: i % 2 ? 'guest' : 'host',
    text: `Line ${i + 1}: ${i % 2 ? 'the guest answers about durable audio' : 'the host asks about long jobs'}, take ${i + 1}.`,
  })),
};

/**
 * Cheap edits: after a podcast is completed its script can be edited, and the next generation
 * speaks only the changed lines (counted at the fake provider) and charges only their seconds.
 */
describe('editing a completed podcast', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let openai: FakeOpenAi;

  before(async () => {
    openai = await startFakeOpenAi();
    openai.setChatHandler(() => SCRIPT);
    stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, ELEVENLABS_API_KEY: '' });
  });
  after(async () => {
    await openai.close();
  });

  const speechInputs = () => openai.requests.filter((r) => r.path === '/v1/audio/speech').map((r) => r.body.input as string);
  type Line = { role: string; text: string; voiceId: string };

  async function completedPodcast(label: string) {
    const { token, user } = await registerUser(stack, label);
    await stack.knex('users').where({ id: user.id }).update({ quota_limit: 10_000 });
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        sourceType: 'topic',
        sourceContent: 'Durable audio',
        targetDuration: 300,
        language: 'en-US',
        hostVoiceId: 'openai-alloy',
        guestVoiceId: 'openai-nova',
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.podcast.id as string;
    const { job } = await pollJob(stack, token, id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token })).body;
    assert.equal(podcast.script.length, 40);
    return { token, userId: user.id, id, podcast };
  }

  async function regenerate(token: string, id: string) {
    const res = await call(stack.url, 'POST', `/v1/podcasts/${id}/generate`, { token });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { job } = await pollJob(stack, token, id);
    return job;
  }

  const quotaUsed = async (userId: string) => Number((await stack.knex('users').where({ id: userId }).first())!.quota_used);

  it('re-speaks only the edited line, charges only its seconds, and replaces the audio in place', async () => {
    const { token, userId, id, podcast } = await completedPodcast('edit-one-line');
    assert.equal(speechInputs().length, 40, 'the first generation speaks every line');
    const usedBefore = await quotaUsed(userId);
    assert.equal(usedBefore, Math.ceil(podcast.duration), 'the first generation charges the whole file');

    const script: Line[] = podcast.script;
    script[6] = { ...script[6]!, text: 'Line 7, rewritten: a sharper question about retries.' };
    const put = await call(stack.url, 'PUT', `/v1/podcasts/${id}/script`, { token, body: { script } });
    assert.equal(put.status, 200, JSON.stringify(put.body));

    openai.reset();
    const job = await regenerate(token, id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(speechInputs(), ['Line 7, rewritten: a sharper question about retries.'], 'one provider call for one edited line of 40');

    const after = (await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token })).body;
    const file = await downloadedDuration(stack.url + after.audioUrl, token, 'mp3');
    assert.ok(Math.abs(file.duration - after.duration) < 0.5);
    const timeline = (await stack.knex('podcast_jobs').where({ id: job.id }).first())!.timeline as Array<{ index: number; start: number; end: number }>;
    const edited = timeline.find((t) => t.index === 6)!;
    const charged = (await quotaUsed(userId)) - usedBefore;
    assert.equal(charged, Math.ceil(edited.end - edited.start), `charged ${charged} s for a line of ${(edited.end - edited.start).toFixed(2)} s`);

    const usage = await stack.knex('usage_logs').where({ podcast_id: id }).orderBy('created_at');
    assert.equal(usage.length, 2, 'one usage_logs row per generation');
    assert.ok(Math.abs(Number(usage[1]!.duration_used) - (edited.end - edited.start)) < 0.05);
    const library = (await call(stack.url, 'GET', '/v1/audios?type=podcast', { token })).body;
    assert.equal(library.items.length, 1, 'the podcast is still one audio in the library');
    assert.ok(Math.abs(library.items[0].duration - after.duration) < 0.01);

    // A voice change is a change too: one call, in the new voice.
    script[11] = { ...script[11]!, voiceId: 'openai-echo' };
    assert.equal((await call(stack.url, 'PUT', `/v1/podcasts/${id}/script`, { token, body: { script } })).status, 200);
    openai.reset();
    assert.equal((await regenerate(token, id)).status, 'completed');
    const calls = openai.requests.filter((r) => r.path === '/v1/audio/speech');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.body.voice, 'echo');
  });

  it('refuses edits while a generation runs, and a canceled regeneration keeps the audio and the paid lines', async () => {
    const { token, userId, id, podcast } = await completedPodcast('edit-cancel');
    const usedBefore = await quotaUsed(userId);
    const script: Line[] = podcast.script;
    script[0] = { ...script[0]!, text: 'A new opening line.' };
    assert.equal((await call(stack.url, 'PUT', `/v1/podcasts/${id}/script`, { token, body: { script } })).status, 200);

    // Hold the one new line at the provider so the regeneration is still running when we act.
    openai.reset();
    openai.faults.push({ path: '/v1/audio/speech', delayMs: 20_000 });
    const gen = await call(stack.url, 'POST', `/v1/podcasts/${id}/generate`, { token });
    assert.equal(gen.status, 202, JSON.stringify(gen.body));
    const busy = await call(stack.url, 'PUT', `/v1/podcasts/${id}/script`, { token, body: { script } });
    assert.equal(busy.status, 409, JSON.stringify(busy.body));
    assert.equal((await call(stack.url, 'POST', `/v1/podcasts/${id}/cancel`, { token })).status, 202);
    const { job } = await pollJob(stack, token, id);
    assert.equal(job.status, 'canceled');

    const now = (await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token })).body;
    assert.equal(now.status, 'completed', 'the podcast keeps its audio');
    const file = await downloadedDuration(stack.url + now.audioUrl, token, 'mp3');
    assert.ok(Math.abs(file.duration - podcast.duration) < 0.5);
    assert.equal(await quotaUsed(userId), usedBefore, 'a canceled generation charges nothing');

    // The paid lines survived the cancel: generating again speaks only the new line.
    openai.reset();
    assert.equal((await regenerate(token, id)).status, 'completed');
    assert.deepEqual(speechInputs(), ['A new opening line.']);
  });
});
