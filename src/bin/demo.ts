// `npm run demo`: the first run. Starts the whole stack on its embedded defaults (like
// `npm run dev`), signs in a demo user, turns a bundled Chinese and English article into a short
// two-voice podcast with a progress bar, and prints the MP3's path, its duration and the run's
// Temporal UI link. The stack keeps running until Ctrl-C (or exits at once with --exit).
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config';
import { onShutdown } from '../shutdown';
import { startDevStack } from './dev';

const DEMO_EMAIL = process.env.DEMO_EMAIL ?? 'demo@aimake.local';
const DEMO_PASSWORD = process.env.DEMO_PASSWORD ?? 'aimake-demo-password';

async function api(base: string, method: string, route: string, body?: unknown, token?: string) {
  const res = await fetch(base + route, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function bar(progress: number, step: string) {
  const width = 30;
  const filled = Math.round((progress / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(progress).padStart(3)}%  ${step}`;
}

async function main() {
  const exitWhenDone = process.argv.includes('--exit');
  // Request logs would scroll the progress bar away; LOG_LEVEL=info brings them back.
  process.env.LOG_LEVEL ??= 'warn';
  const config = loadConfig();
  console.log('[demo] starting AIMake on its embedded defaults…');
  const stack = await startDevStack();
  try {
    let auth = await api(stack.apiUrl, 'POST', '/v1/auth/register', { email: DEMO_EMAIL, password: DEMO_PASSWORD, name: 'Demo' });
    if (auth.status === 409) auth = await api(stack.apiUrl, 'POST', '/v1/auth/login', { email: DEMO_EMAIL, password: DEMO_PASSWORD });
    if (auth.status >= 300) throw new Error(`could not sign in the demo user: ${JSON.stringify(auth.body)}`);
    const token = auth.body.token as string;
    console.log(`[demo] signed in as ${DEMO_EMAIL}`);

    const article = fs.readFileSync(path.join(config.root, 'assets/demo-article.md'), 'utf8');
    const created = await api(
      stack.apiUrl,
      'POST',
      '/v1/podcasts',
      {
        title: '声音工作室的一天 / A Day in a Voice Studio',
        sourceType: 'text',
        sourceContent: article,
        targetDuration: 90,
        language: 'zh-CN',
        hostVoiceId: 'local-zh-female',
        guestVoiceId: 'local-zh-male',
      },
      token,
    );
    if (created.status === 402) throw new Error(`the demo user's monthly quota is used up: ${created.body.error.message}`);
    if (created.status !== 202) throw new Error(`could not create the podcast: ${JSON.stringify(created.body)}`);
    const podcastId = created.body.podcast.id as string;

    let job = created.body.job;
    const tty = process.stdout.isTTY;
    let lastLine = '';
    while (!['completed', 'failed', 'canceled'].includes(job.status)) {
      await new Promise((r) => setTimeout(r, 300));
      job = (await api(stack.apiUrl, 'GET', `/v1/podcasts/${podcastId}/job`, undefined, token)).body;
      const line = bar(job.progress, job.currentStep ?? job.status);
      if (line === lastLine) continue;
      lastLine = line;
      if (tty) process.stdout.write(`\r${line.padEnd(90)}`);
      else console.log(line);
    }
    if (tty) process.stdout.write('\n');
    const runUrl = `${stack.temporalUiUrl}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows/podcast-${podcastId}`;
    if (job.status !== 'completed') throw new Error(`the podcast ${job.status}: ${job.errorCode} ${job.errorMessage} (see ${runUrl})`);

    const podcast = (await api(stack.apiUrl, 'GET', `/v1/podcasts/${podcastId}`, undefined, token)).body;
    const file = await fetch(stack.apiUrl + podcast.audioUrl, { headers: { authorization: `Bearer ${token}` } });
    const outDir = path.join(config.DATA_DIR, 'demo');
    fs.mkdirSync(outDir, { recursive: true });
    const mp3 = path.join(outDir, `podcast-${podcastId}.mp3`);
    fs.writeFileSync(mp3, Buffer.from(await file.arrayBuffer()));
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
