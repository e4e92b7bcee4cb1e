import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { call, registerUser } from './helpers/api';
import { ARTICLE_ZH_EN, downloadedDuration, pollJob } from './helpers/generation';
import { eventually, startTestStack, type TestStack } from './helpers/stack';
import { startWorkerProcess } from './helpers/workerProcess';
import { startOtlpReceiver } from './helpers/otlpReceiver';

const ROOT = path.resolve(__dirname, '..');
// Plain node: nothing may load tsx into the built processes.
const PLAIN_NODE = { NODE_OPTIONS: '' };

/** CPU time (user + system, all threads) a live process has used, from /proc (Linux). */
function cpuSecondsOf(pid: number): number {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th, in clock ticks (100 a second).
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe('the production build (npm run build, then plain node)', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let worker: ChildProcess | undefined;

  before(async function () {
    // tsc to dist/ plus the prebuilt workflow bundle: tens of seconds.
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, `npm run build failed:\n${build.stdout}\n${build.stderr}`);
    stack = await startTestStack({}, { worker: false });
  });
  after(() => {
    if (worker?.exitCode === null) worker.kill('SIGKILL');
  });

  async function textPodcast(token: string, title: string) {
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        title,
        sourceType: 'text',
        sourceContent: ARTICLE_ZH_EN,
        targetDuration: 60,
        hostVoiceId: 'local-zh-female',
        guestVoiceId: 'local-zh-male',
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { job } = await pollJob(stack, token, res.body.podcast.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    return res.body.podcast.id as string;
  }

  it('migrates: a database migrated from TypeScript is up to date for the build, and the other way round', () => {
    const migrate = spawnSync(process.execPath, [path.join(ROOT, 'dist/src/bin/migrate.js'), 'latest'], {
      cwd: ROOT,
      env: { ...process.env, ...PLAIN_NODE, DATABASE_URL: stack.databaseUrl, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    assert.equal(migrate.status, 0, migrate.stdout + migrate.stderr);
    assert.match(migrate.stdout, /already up to date/);
  });

  it('the built worker starts from the prebuilt bundle in seconds and completes a podcast requested through the API', async () => {
    const started = Date.now();
    const child = await startWorkerProcess(stack, PLAIN_NODE, { built: true, untilRunning: true });
    worker = child;
    const startSeconds = (Date.now() - started) / 1000;
    const cpuSeconds = cpuSecondsOf(child.pid!);
    console.log(`      built worker: running ${startSeconds.toFixed(2)} s after spawn, ${cpuSeconds.toFixed(2)} s of CPU`);
    assert.equal(child.runningLog?.workflows, path.join(ROOT, 'dist/workflow-bundle.js'), 'workflows loaded from the build, not bundled with webpack');
    // The machine is shared, so wall time is only sanity-bounded; the CPU it took is what the build saves.
    assert.ok(cpuSeconds < 5, `the built worker used ${cpuSeconds.toFixed(1)} s of CPU to start`);
    assert.ok(startSeconds < 60, `the built worker took ${startSeconds.toFixed(1)} s to start`);

    const { token } = await registerUser(stack, 'build');
    const podcastId = await textPodcast(token, 'Built');
    const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
    const file = await downloadedDuration(stack.url + podcast.audioUrl, token, 'mp3');
    assert.ok(file.duration > 10 && Math.abs(file.duration - podcast.duration) < 0.5, `MP3 of ${file.duration} s for a podcast of ${podcast.duration} s`);
  });

  it('a traced built worker loads the traced bundle and exports its workflow runs over OTLP', async () => {
    worker?.kill('SIGTERM');
    const receiver = await startOtlpReceiver();
    try {
      const traced = await startWorkerProcess(stack, { ...PLAIN_NODE, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, { built: true, untilRunning: true });
      worker = traced;
      assert.equal(traced.runningLog?.workflows, path.join(ROOT, 'dist/workflow-bundle.traced.js'));
      const { token } = await registerUser(stack, 'build-traced');
      await textPodcast(token, 'Built and traced');
      // The worker exports every second; a run's span is made by the interceptors inside the bundle.
      await eventually(
        async () => receiver.spans.some((s) => s.name === 'RunWorkflow:podcastWorkflow' && s.service === 'aimake-worker') || undefined,
        30_000,
        'the built worker’s workflow span',
      );
      assert.ok(receiver.spans.some((s) => s.name === 'RunActivity:stitchPodcast' && s.service === 'aimake-worker'));
    } finally {
      await receiver.close();
    }
  });
});
