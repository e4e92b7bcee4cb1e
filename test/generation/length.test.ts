import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { downloadedDuration, longArticle, pollJob } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * Podcasts come out at the length asked for (±10 %) on the offline defaults (espeak-ng voices,
 * local writer), in Chinese and English, short and long: the script is sized at the voices'
 * measured pace and, after speaking, fitted by the length loop.
 */
describe('podcast length on target', function () {
  this.timeout(900_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });

  async function podcastOf(language: 'en' | 'zh', targetDuration: number, sourceContent: string) {
    const { token, user } = await registerUser(stack, `length-${language}-${targetDuration}`);
    // Long podcasts need a paid plan's quota.
    await stack.knex('users').where({ id: user.id }).update({ quota_limit: 72_000 });
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        title: language === 'zh' ? '广播的故事' : 'Stories of radio',
        sourceType: 'text',
        sourceContent,
        targetDuration,
        language: language === 'zh' ? 'zh-CN' : 'en-US',
        hostVoiceId: language === 'zh' ? 'local-zh-female' : 'local-en-female',
        guestVoiceId: language === 'zh' ? 'local-zh-male' : 'local-en-male',
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return { token, podcastId: res.body.podcast.id as string };
  }

  const cases: Array<['en' | 'zh', number]> = [
    ['en', 300],
    ['zh', 300],
    ['en', 1800],
    ['zh', 1800],
  ];

  it('is within ±10 % of targetDuration for zh-CN and en at 5 and 30 minutes', async () => {
    // All four at once: the machine's cores are shared anyway, and the wall time is what CI pays.
    const started = await Promise.all(cases.map(([language, target]) => podcastOf(language, target, longArticle(language, 12, language === 'zh' ? 60 : 50))));
    const results = await Promise.all(
      started.map(async ({ token, podcastId }, i) => {
        const [language, target] = cases[i]!;
        const { job } = await pollJob(stack, token, podcastId, 840_000);
        assert.equal(job.status, 'completed', JSON.stringify(job));
        assert.equal(job.lengthNote, null);
        const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
        const file = await downloadedDuration(stack.url + podcast.audioUrl, token, 'mp3');
        return { language, target, duration: file.duration, lines: podcast.script.length };
      }),
    );
    console.log(`      lengths: ${results.map((r) => `${r.language} ${r.target} s → ${r.duration.toFixed(1)} s`).join(', ')}`);
    for (const r of results) {
      const off = r.duration / r.target - 1;
      assert.ok(Math.abs(off) <= 0.1, `${r.language} ${r.target} s came out at ${r.duration.toFixed(1)} s (${(off * 100).toFixed(1)} %, ${r.lines} lines)`);
    }
  });

  it('says so in the job view when the source is shorter than the target', async () => {
    const { token, podcastId } = await podcastOf('en', 600, longArticle('en', 1, 6));
    const { job } = await pollJob(stack, token, podcastId, 300_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.match(job.lengthNote, /source holds about 1 min of speech; the target was 10 min/);
  });

  describe('when the voices speak faster than the rates say', () => {
    let fastStack: TestStack;
    before(async () => {
      // The writer believes espeak-ng speaks English at half its speed: its first script is half as long as it should be.
      fastStack = await startTestStack({ SPEAKING_RATES: JSON.stringify({ local: { other: { charsPerSecond: 9 } } }) });
    });

    it('extends the script after speaking and speaks only the new lines', async () => {
      const { token, user } = await registerUser(fastStack, 'length-loop');
      const res = await call(fastStack.url, 'POST', '/v1/podcasts', {
        token,
        body: {
          sourceType: 'text',
          sourceContent: longArticle('en', 6, 40),
          targetDuration: 300,
          language: 'en-US',
          hostVoiceId: 'local-en-female',
          guestVoiceId: 'local-en-male',
        },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const podcastId = res.body.podcast.id as string;
      const { job } = await pollJob(fastStack, token, podcastId, 600_000);
      assert.equal(job.status, 'completed', JSON.stringify(job));
      const podcast = (await call(fastStack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
      const file = await downloadedDuration(fastStack.url + podcast.audioUrl, token, 'mp3');
      assert.ok(Math.abs(file.duration / 300 - 1) <= 0.1, `came out at ${file.duration.toFixed(1)} s`);
      // Every line spoken is in the final script, bar the few host lines a longer script words differently.
      const spoken = await fastStack.knex('podcast_segments').where({ podcast_id: podcastId }).countDistinct<{ n: string }[]>('storage_key as n');
      const files = Number(spoken[0]!.n);
      const distinctLines = new Set(podcast.script.map((l: { text: string; voiceId: string }) => `${l.voiceId}|${l.text}`)).size;
      assert.ok(files >= distinctLines && files <= distinctLines * 1.1 + 2, `${files} lines spoken for ${distinctLines} distinct lines in the script`);
      const usage = await fastStack.knex('usage_logs').where({ podcast_id: podcastId });
      assert.equal(usage.length, 1);
      const u = await fastStack.knex('users').where({ id: user.id }).first();
      assert.equal(u!.quota_used, Math.ceil(podcast.duration), 'charged once, for the final file');
    });
  });
});
