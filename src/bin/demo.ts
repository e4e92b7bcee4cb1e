// `npm run demo`: the first run. Starts the whole stack on its embedded defaults (like
// `npm run dev`), signs in a demo user, turns a bundled Chinese and English article into a short
// two-voice podcast with a progress bar, and prints the MP3's path, its duration and the run's
// Temporal UI link, all through the typed client (clients/typescript). The stack keeps running
// until Ctrl-C (or exits at once with --exit).
import fs from 'node:fs';
import path from 'node:path';
import { AimakeError, createAimakeClient, downloadPodcast, unwrap, waitForPodcast, type PodcastJob } from '../../clients/typescript';
import { loadConfig } from '../config';
import { onShutdown } from '../shutdown';
import { startDevStack } from './dev';

const DEMO_EMAIL = process.env.DEMO_EMAIL ?? 'demo@aimake.local';
const DEMO_PASSWORD = process.env.DEMO_PASSWORD ?? 'aimake-demo-password';

function bar(progress: number, step: string) {
  const width = 30;
  const filled = Math.round((progress / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(progress).padStart(3)}%  ${step}`;
}

/** The demo user's session token: registered on the first run, signed in on later ones. */
async function signIn(baseUrl: string): Promise<string> {
  const anonymous = createAimakeClient({ baseUrl });
  try {
    return (await unwrap(anonymous.POST('/v1/auth/register', { body: { email: DEMO_EMAIL, password: DEMO_PASSWORD, name: 'Demo' } }))).token;
  } catch (err) {
    if (!(err instanceof AimakeError && err.status === 409)) throw err;
    return (await unwrap(anonymous.POST('/v1/auth/login', { body: { email: DEMO_EMAIL, password: DEMO_PASSWORD } }))).token;
  }
}

async function main() {
  const exitWhenDone = process.argv.includes('--exit');
  // Request logs would scroll the progress bar away; LOG_LEVEL=info brings them back.
  process.env.LOG_LEVEL ??= 'warn';
  const config = loadConfig();
  console.log('[demo] starting AIMake on its embedded defaults…');
  const stack = await startDevStack();
  try {
    const client = createAimakeClient({ baseUrl: stack.apiUrl, token: await signIn(stack.apiUrl) });
    console.log(`[demo] signed in as ${DEMO_EMAIL}`);

    const article = fs.readFileSync(path.join(config.root, 'assets/demo-article.md'), 'utf8');
    const created = (await unwrap(
      client.POST('/v1/podcasts', {
        body: {
          title: '声音工作室的一天 / A Day in a Voice Studio',
          sourceType: 'text',
          sourceContent: article,
          targetDuration: 90,
          language: 'zh-CN',
          hostVoiceId: 'local-zh-female',
          guestVoiceId: 'local-zh-male',
        },
      }),
    ).catch((err: unknown) => {
      if (err instanceof AimakeError && err.code === 'QUOTA_EXCEEDED') throw new Error(`the demo user's monthly quota is used up: ${err.message}`);
      throw err;
    })) as unknown as { podcast: { id: string } };
    const podcastId = created.podcast.id;

    const tty = process.stdout.isTTY;
    const show = (job: PodcastJob) => {
      const line = bar(job.progress, job.currentStep ?? job.status);
      if (tty) process.stdout.write(`\r${line.padEnd(90)}`);
      else console.log(line);
    };
    const job = await waitForPodcast(client, podcastId, { intervalMs: 300, onProgress: show });
    if (tty) process.stdout.write('\n');
    const runUrl = `${stack.temporalUiUrl}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows/podcast-${podcastId}`;
    if (job.status !== 'completed') throw new Error(`the podcast ${job.status}: ${job.errorCode} ${job.errorMessage} (see ${runUrl})`);

    const podcast = (await unwrap(client.GET('/v1/podcasts/{id}', { params: { path: { id: podcastId } } }))) as unknown as {
      duration: number;
      script: unknown[];
    };
    const outDir = path.join(config.DATA_DIR, 'demo');
    fs.mkdirSync(outDir, { recursive: true });
    const mp3 = path.join(outDir, `podcast-${podcastId}.mp3`);
    await downloadPodcast(client, podcastId, mp3);
    console.log(`
Your first podcast is ready.
  MP3          ${mp3}
  Duration     ${podcast.duration.toFixed(1)} s (${podcast.script.length} lines, two voices)
  Temporal UI  ${runUrl}
  Studio       ${stack.apiUrl}/studio/  (sign in as ${DEMO_EMAIL}, password ${process.env.DEMO_PASSWORD ? 'from DEMO_PASSWORD' : DEMO_PASSWORD})
  API          ${stack.apiUrl}`);
  } catch (err) {
    console.error(`[demo] ${err instanceof Error ? err.message : err}`);
    await stack.stop();
    process.exit(1);
  }
  if (exitWhenDone) {
    await stack.stop();
    process.exit(0);
  }
  console.log('AIMake keeps running; press Ctrl-C to stop.');
  onShutdown(() => stack.stop());
}

main().catch((err) => {
  console.error(`[demo] ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
