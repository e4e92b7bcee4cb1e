import assert from 'node:assert/strict';
import { registerUser } from '../helpers/api';
import { pollJob, startTopicPodcast } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';
import { makeAudio } from '../fakes/audio';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

const SPEECH = '/v1/audio/speech';
const LINES = Array.from({ length: 6 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line ${i + 1}, a sentence long enough to take two seconds.` }));

/** Providers sometimes answer 200 with audio that is not the speech: it must never be stitched or charged. */
describe('unusable audio from the provider', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let openai: FakeOpenAi;
  let truncated: Buffer;

  before(async () => {
    openai = await startFakeOpenAi();
    openai.setChatHandler(() => ({ lines: LINES }));
    stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url });
    // Three seconds of MP3 cut to its first twentieth: it decodes, to a sliver of the line.
    const full = await makeAudio('mp3', { seconds: 3 });
    truncated = full.subarray(0, Math.floor(full.length / 20));
  });
  after(() => openai.close());
  beforeEach(() => openai.reset());

  const topicPodcast = (token: string) => startTopicPodcast(stack, token, 'Bad audio', 60);

  it('asks again for lines that came back empty, as a few bytes, or cut short, and completes at full length', async () => {
    openai.faults.push(
      { path: SPEECH, status: 200, headers: { 'content-type': 'audio/mpeg' }, body: Buffer.alloc(0) },
      { path: SPEECH, status: 200, headers: { 'content-type': 'audio/mpeg' }, body: Buffer.alloc(260, 0xff) },
      { path: SPEECH, status: 200, headers: { 'content-type': 'audio/mpeg' }, body: truncated },
    );
    const { token, user } = await registerUser(stack, 'bad-some');
    const id = await topicPodcast(token);
    const { job } = await pollJob(stack, token, id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.equal(openai.count(SPEECH), LINES.length + 3, 'each bad answer was asked for once more');
    const segments = await stack.knex('podcast_segments').where({ podcast_id: id });
    assert.equal(segments.length, LINES.length);
    // The fake speaks 0.06 s per character: every stored line has its full length.
    for (const s of segments) assert.ok(s.duration > 2, `line ${s.line_index} is ${s.duration} s`);
    const u = await stack.knex('users').where({ id: user.id }).first();
    const podcast = await stack.knex('podcasts').where({ id }).first();
    assert.equal(u!.quota_used, Math.ceil(podcast!.duration!));
  });

  it('fails the job with TTS_BAD_AUDIO, charging nothing, when the provider keeps answering so', async () => {
    openai.faults.push({ path: SPEECH, status: 200, headers: { 'content-type': 'audio/mpeg' }, body: Buffer.alloc(260, 0xff), times: 1000 });
    const { token, user } = await registerUser(stack, 'bad-all');
    const id = await topicPodcast(token);
    const { job } = await pollJob(stack, token, id);
    assert.equal(job.status, 'failed', JSON.stringify(job));
    assert.equal(job.errorCode, 'TTS_BAD_AUDIO');
    assert.equal((await stack.knex('usage_logs').where({ podcast_id: id })).length, 0, 'no charge');
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.equal(u!.quota_used, 0);
    assert.equal(u!.quota_reserved, 0);
    assert.equal((await stack.knex('podcast_segments').where({ podcast_id: id })).length, 0, 'no unusable line was kept');
  });
});
