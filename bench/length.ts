/**
 * Length benchmark: how close podcasts come to their target duration on the offline defaults
 * (espeak-ng voices, the local writer, the length loop), up to two hours.
 *
 *   npm run bench:length                       (en and zh-CN at 5, 30 and 120 minutes)
 *   LENGTH_TARGETS=600 LENGTH_LANGUAGES=en npm run bench:length
 *
 * Prints, per podcast, the final file's duration over the target (1.00 is on target; the
 * promise is 0.90–1.10), the lines in the script, the lines spoken (more than the script's when
 * the length loop rewrote it) and the wall time. The baseline is the target itself. It checks
 * nothing.
 */
import { performance } from 'node:perf_hooks';
import { call, registerUser } from '../test/helpers/api';
import { downloadedDuration, longArticle, pollJob } from '../test/helpers/generation';
import { startTestStack } from '../test/helpers/stack';
import { installTestRuntime } from '../test/helpers/temporal';
import { runBench } from './run';

const TARGETS = (process.env.LENGTH_TARGETS ?? '300,1800,7200').split(',').map(Number);
const LANGUAGES = (process.env.LENGTH_LANGUAGES ?? 'en,zh').split(',') as Array<'en' | 'zh'>;

async function main() {
  installTestRuntime();
  const stack = await startTestStack();
  console.log(`length benchmark: offline defaults (${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'})`);
  console.log(`\n| language | target s | duration s | duration / target | script lines | lines spoken | wall s |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|`);
  for (const language of LANGUAGES) {
    for (const target of TARGETS) {
      const { token, user } = await registerUser(stack, `bench-length-${language}-${target}`);
      await stack.knex('users').where({ id: user.id }).update({ plan: 'team', quota_limit: 10_000_000 });
      // Enough material for two hours: ~40 sentences per section, 30 sections.
      const sourceContent = longArticle(language, 30, language === 'zh' ? 70 : 60);
      const started = performance.now();
      const res = await call(stack.url, 'POST', '/v1/podcasts', {
        token,
        body: {
          sourceType: 'text',
          sourceContent,
          targetDuration: target,
          language: language === 'zh' ? 'zh-CN' : 'en-US',
          hostVoiceId: language === 'zh' ? 'local-zh-female' : 'local-en-female',
          guestVoiceId: language === 'zh' ? 'local-zh-male' : 'local-en-male',
        },
      });
      if (res.status !== 202) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
      const podcastId = res.body.podcast.id as string;
      const { job } = await pollJob(stack, token, podcastId, 3_600_000);
      const wallS = (performance.now() - started) / 1000;
      if (job.status !== 'completed') {
        console.log(`| ${language} | ${target} | ${job.status}: ${job.errorMessage} | | | | ${wallS.toFixed(0)} |`);
        continue;
      }
      const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
      const file = await downloadedDuration(stack.url + podcast.audioUrl, token, 'mp3');
      const spoken = await stack.knex('podcast_segments').where({ podcast_id: podcastId }).countDistinct<{ n: string }[]>('storage_key as n');
      console.log(
        `| ${language} | ${target} | ${file.duration.toFixed(1)} | ${(file.duration / target).toFixed(3)} | ${podcast.script.length} | ${spoken[0]!.n} | ${wallS.toFixed(0)} |`,
      );
    }
  }
}

runBench(main);
