import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { ARTICLE_ZH_EN, downloadedDuration, pollJob } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';
import { asksForChinese, startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

const LINES = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Retention line ${i + 1}: a sentence worth keeping.` }));
// The podcasts from Chinese sources are written in Chinese, as the script writer checks.
const LINES_ZH = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `保留测试第 ${i + 1} 句：一句值得保存的话。` }));

/** Runs the hourly housekeeping workflow now. Its counts cover every stack of the run (they share a database). */
async function housekeeping(stack: TestStack): Promise<{ podcastSegments: number; segmentFiles: number }> {
  const client = await stack.temporal.client();
  return client.workflow.execute('housekeepingWorkflow', { taskQueue: stack.taskQueue, workflowId: `housekeeping-${Date.now()}`, args: [] });
}

/** The podcast's spoken lines: their rows, and how many of their files are still stored. */
async function spokenLines(stack: TestStack, podcastId: string) {
  const keys = await stack.knex('podcast_segments').where({ podcast_id: podcastId }).pluck('storage_key');
  let stored = 0;
  for (const key of keys) if (await stack.storage.exists(key)) stored++;
  return { rows: keys.length, stored, keys };
}

async function stillStored(stack: TestStack, keys: string[]): Promise<number> {
  let n = 0;
  for (const key of keys) if (await stack.storage.exists(key)) n++;
  return n;
}

/** Moves the end of a podcast's jobs back in time, as if they had finished `days` ago. */
async function endedDaysAgo(stack: TestStack, podcastId: string, days: number) {
  await stack
    .knex('podcast_jobs')
    .where({ podcast_id: podcastId })
    .update({ completed_at: stack.knex.raw(`NOW() - make_interval(days => ?)`, [days]) });
}

async function podcastPlays(stack: TestStack, token: string, podcastId: string) {
  const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
  const file = await downloadedDuration(stack.url + podcast.audioUrl, token, 'mp3');
  assert.ok(Math.abs(file.duration - podcast.duration) / podcast.duration < 0.02, `the MP3 plays in full: ${file.duration}s of ${podcast.duration}s`);
}

describe('spoken lines after a podcast ends', function () {
  this.timeout(180_000);
  let openai: FakeOpenAi;

  before(async () => {
    openai = await startFakeOpenAi({ latencyMs: 100 });
  });
  after(() => openai.close());
  beforeEach(() => {
    openai.reset();
    openai.setChatHandler((body) => ({ lines: asksForChinese(body) ? LINES_ZH : LINES }));
  });

  const localPodcast = (stack: TestStack, token: string) =>
    call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'text', sourceContent: ARTICLE_ZH_EN, targetDuration: 60, hostVoiceId: 'local-zh-female', guestVoiceId: 'local-zh-male' },
    });

  /** A podcast whose fifth line is refused by the provider: it fails with four or so lines spoken. */
  async function failedPodcast(stack: TestStack, token: string): Promise<string> {
    openai.faults.push(
      { path: '/v1/audio/speech', times: 4 },
      { path: '/v1/audio/speech', status: 400, body: { error: { message: 'bad input', type: 'invalid_request_error' } } },
    );
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        sourceType: 'topic',
        sourceContent: 'Retention',
        targetDuration: 60,
        language: 'en-US',
        hostVoiceId: 'openai-alloy',
        guestVoiceId: 'openai-nova',
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const podcastId = res.body.podcast.id;
    const { job } = await pollJob(stack, token, podcastId);
    assert.equal(job.status, 'failed', JSON.stringify(job));
    // A line in flight at the failure may still land: wait until the count holds still.
    for (let last = -1; ;) {
      const now = (await spokenLines(stack, podcastId)).rows;
      if (now === last) break;
      last = now;
      await new Promise((r) => setTimeout(r, 1500));
    }
    return podcastId;
  }

  describe('with the default retention of 7 days', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, SYNTH_CONCURRENCY: '2' });
    });

    it('keeps a completed podcast’s lines for a week, then housekeeping removes them and the podcast still plays', async () => {
      const { token } = await registerUser(stack, 'retention-completed');
      const old = (await localPodcast(stack, token)).body.podcast.id;
      const fresh = (await localPodcast(stack, token)).body.podcast.id;
      for (const id of [old, fresh]) assert.equal((await pollJob(stack, token, id)).job.status, 'completed');

      const oldLines = await spokenLines(stack, old);
      const freshLines = await spokenLines(stack, fresh);
      assert.ok(oldLines.rows >= 3, `lines are kept after completion (${oldLines.rows})`);
      assert.equal(oldLines.stored, oldLines.rows, 'and their files too');
      await housekeeping(stack);
      assert.deepEqual(await spokenLines(stack, old), oldLines, 'nothing has expired yet');

      await endedDaysAgo(stack, old, 8);
      const removed = await housekeeping(stack);
      assert.equal((await spokenLines(stack, old)).rows, 0, 'no line row of the old podcast remains');
      assert.equal(await stillStored(stack, oldLines.keys), 0, 'no line file of the old podcast remains');
      assert.ok(removed.podcastSegments >= oldLines.rows, JSON.stringify(removed));
      assert.ok(removed.segmentFiles >= oldLines.rows, JSON.stringify(removed));
      await podcastPlays(stack, token, old);

      assert.deepEqual(await spokenLines(stack, fresh), freshLines, 'a podcast finished today keeps its lines');
    });

    it('removes a failed podcast’s lines a week after it failed, but never while a retry of it runs', async () => {
      const { token } = await registerUser(stack, 'retention-failed');
      const abandoned = await failedPodcast(stack, token);
      const retried = await failedPodcast(stack, token);
      const abandonedLines = await spokenLines(stack, abandoned);
      const retriedLines = await spokenLines(stack, retried);
      assert.ok(abandonedLines.rows >= 3 && abandonedLines.stored === abandonedLines.rows, JSON.stringify(abandonedLines));
      assert.ok(retriedLines.rows >= 3 && retriedLines.stored === retriedLines.rows, JSON.stringify(retriedLines));
      await endedDaysAgo(stack, abandoned, 8);
      await endedDaysAgo(stack, retried, 8);

      // The retry is slowed down so housekeeping runs while it is still speaking.
      openai.faults.push({ path: '/v1/audio/speech', delayMs: 1500, times: 100 });
      const spokenBeforeRetry = openai.requests.length;
      const retry = await call(stack.url, 'POST', `/v1/podcasts/${retried}/generate`, { token });
      assert.equal(retry.status, 202, JSON.stringify(retry.body));
      const removed = await housekeeping(stack);
      const during = (await call(stack.url, 'GET', `/v1/podcasts/${retried}/job`, { token })).body;
      assert.ok(!['completed', 'failed', 'canceled'].includes(during.status), `the retry was still running (${during.status})`);

      assert.equal((await spokenLines(stack, abandoned)).rows, 0, 'the failed podcast’s line rows are gone');
      assert.equal(await stillStored(stack, abandonedLines.keys), 0, 'and its files');
      assert.ok(removed.podcastSegments >= abandonedLines.rows, JSON.stringify(removed));
      assert.equal(await stillStored(stack, retriedLines.keys), retriedLines.rows, 'the lines of a podcast being retried stay');

      const { job } = await pollJob(stack, token, retried);
      assert.equal(job.status, 'completed', JSON.stringify(job));
      const spokenByRetry = openai.requests
        .slice(spokenBeforeRetry)
        .filter((r) => r.path === '/v1/audio/speech')
        .map((r) => r.body.input as string);
      for (const key of retriedLines.keys) {
        const line = await stack.knex('podcast_segments').where({ podcast_id: retried, storage_key: key }).first();
        assert.ok(line, `line ${key} is still recorded`);
        assert.ok(!spokenByRetry.includes(LINES[line.line_index]!.text), `line ${line.line_index} was reused by the retry, not spoken again`);
      }
    });
  });

  describe('with SEGMENT_RETENTION_DAYS=0', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, SYNTH_CONCURRENCY: '2', SEGMENT_RETENTION_DAYS: '0' });
    });

    it('removes the lines as the podcast completes, and the podcast still plays', async () => {
      const { token } = await registerUser(stack, 'retention-zero');
      const id = (await localPodcast(stack, token)).body.podcast.id;
      assert.equal((await pollJob(stack, token, id)).job.status, 'completed');
      await (await stack.temporal.client()).workflow.getHandle(`podcast-${id}`).result();
      const history = await (await stack.temporal.client()).workflow.getHandle(`podcast-${id}`).fetchHistory();
      const lines = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'synthesizePodcastLine').length;
      assert.ok(lines >= 3, `lines were spoken (${lines})`);

      assert.equal((await spokenLines(stack, id)).rows, 0, 'no line row remains');
      assert.equal(await stack.storage.deletePrefix(`podcasts/${id}/segments`), 0, 'no line file remains');
      await podcastPlays(stack, token, id);
    });

    it('removes a failed podcast’s lines as it fails', async () => {
      const { token } = await registerUser(stack, 'retention-zero-failed');
      const spokenBefore = openai.count('/v1/audio/speech');
      const id = await failedPodcast(stack, token);
      assert.ok(openai.count('/v1/audio/speech') - spokenBefore >= 4, 'lines were spoken before the failure');
      const lines = await spokenLines(stack, id);
      assert.equal(lines.rows, 0, JSON.stringify(lines));
      assert.equal(await stack.storage.deletePrefix(`podcasts/${id}/segments`), 0, 'no line file remains');
    });
  });
});
