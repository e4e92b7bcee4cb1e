import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { pollJob } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

const lines = (n: number) => Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line ${i + 1} of a job that is stopped early.` }));
const SPEECH = '/v1/audio/speech';

/**
 * After a job reads canceled or failed, nothing of it may still be running: no provider request
 * in flight or starting, no line being stored behind the clean-up's back, nothing reserved.
 */
describe('stopping a job: cancel and failure wait for the work they stop', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let openai: FakeOpenAi;

  before(async () => {
    openai = await startFakeOpenAi();
    stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, SYNTH_CONCURRENCY: '2' });
  });
  after(() => openai.close());
  beforeEach(() => openai.reset());

  const topicPodcast = (token: string) =>
    call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'topic', sourceContent: 'Stopping', targetDuration: 60, language: 'en-US', hostVoiceId: 'openai-alloy', guestVoiceId: 'openai-nova' },
    });
  const endedAt = async (jobId: string) => {
    const job = await stack.knex('podcast_jobs').where({ id: jobId }).first();
    assert.ok(job?.completed_at);
    return job.completed_at.getTime();
  };
  const speechRequests = () => openai.requests.filter((r) => r.path === SPEECH);

  it('cancels only once the lines being spoken have stopped: no file, row, request or reservation outlives it', async () => {
    openai.setChatHandler(() => ({ lines: lines(12) }));
    // Slow lines, so two are always in flight when the cancel arrives.
    openai.faults.push({ path: SPEECH, delayMs: 2500, times: 100 });
    const { token, user } = await registerUser(stack, 'cancel-wait');
    const podcastId = (await topicPodcast(token)).body.podcast.id as string;
    await eventually(async () => ((await stack.knex('podcast_segments').where({ podcast_id: podcastId })).length >= 2 ? true : undefined), 60_000, 'two lines');
    await eventually(
      async () => (openai.requests.filter((r) => r.path === SPEECH && r.finishedAt === undefined).length > 0 ? true : undefined),
      10_000,
      'a line in flight',
    );

    assert.equal((await call(stack.url, 'POST', `/v1/podcasts/${podcastId}/cancel`, { token })).status, 202);
    const { job } = await pollJob(stack, token, podcastId);
    assert.equal(job.status, 'canceled');
    const canceledAt = await endedAt(job.id);

    // Give anything still running the time to land: nothing may.
    await new Promise((r) => setTimeout(r, 3500));
    for (const r of speechRequests()) {
      assert.ok(
        r.finishedAt !== undefined && r.finishedAt <= canceledAt,
        `a provider request was still running when the job read canceled (${r.finishedAt} > ${canceledAt})`,
      );
    }
    assert.equal(await stack.storage.deletePrefix(`podcasts/${podcastId}/`), 0, 'no file of the podcast remains');
    assert.equal((await stack.knex('podcast_segments').where({ podcast_id: podcastId })).length, 0, 'no segment row remains');
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.equal(u.quota_used, 0);
    assert.equal(u.quota_reserved, 0);
  });

  it('records a failure only once the other lines have stopped, and starts no line after it', async () => {
    openai.setChatHandler(() => ({ lines: lines(12) }));
    // The first line is refused for good while the second is still being spoken.
    openai.faults.push(
      { path: SPEECH, status: 400, body: { error: { message: 'bad input', type: 'invalid_request_error' } } },
      { path: SPEECH, delayMs: 2500, times: 100 },
    );
    const { token, user } = await registerUser(stack, 'fail-wait');
    const podcastId = (await topicPodcast(token)).body.podcast.id as string;
    const { job } = await pollJob(stack, token, podcastId);
    assert.equal(job.status, 'failed');
    assert.equal(job.errorCode, 'TTS_INVALID_REQUEST');
    const failedAt = await endedAt(job.id);

    await new Promise((r) => setTimeout(r, 3500));
    const requests = speechRequests();
    assert.ok(requests.length >= 2, 'the other lane was speaking when the line failed');
    for (const r of requests) {
      assert.ok(r.finishedAt !== undefined && r.finishedAt <= failedAt, `a provider request outlived the recorded failure (${r.finishedAt} > ${failedAt})`);
    }
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.equal(u.quota_reserved, 0);
    assert.equal(u.quota_used, 0);
  });
});

describe('an odd SYNTH_CONCURRENCY shared by two child workflows', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let openai: FakeOpenAi;

  before(async () => {
    openai = await startFakeOpenAi({ latencyMs: 300 });
    // 40 lines in children of 10: two children speak at once and must share the cap of 3.
    stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, SYNTH_CONCURRENCY: '3', LINES_PER_CHILD_WORKFLOW: '10' });
  });
  after(() => openai.close());

  it('never has more lines in flight than SYNTH_CONCURRENCY', async () => {
    openai.setChatHandler(() => ({ lines: lines(40) }));
    const { token } = await registerUser(stack, 'odd-cap');
    const podcastId = (
      await call(stack.url, 'POST', '/v1/podcasts', {
        token,
        body: { sourceType: 'topic', sourceContent: 'Caps', targetDuration: 300, language: 'en-US', hostVoiceId: 'openai-alloy', guestVoiceId: 'openai-nova' },
      })
    ).body.podcast.id;
    const { job } = await pollJob(stack, token, podcastId, 150_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.equal(openai.count(SPEECH), 40);
    assert.ok(openai.maxInFlight() <= 3, `at most 3 lines at once, saw ${openai.maxInFlight()}`);
    assert.ok(openai.maxInFlight() >= 2, `the children spoke in parallel (${openai.maxInFlight()})`);
  });
});
