import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';
import { call, registerUser } from '../helpers/api';
import { assertMonotonicProgress } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';

const LINES = 24;
const SCRIPT = {
  lines: Array.from({ length: LINES }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line number ${i + 1} of the show.` })),
};

describe('spoken lines of a podcast on a cloud provider', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let openai: FakeOpenAi;
  let bin: string;
  const savedPath = process.env.PATH;

  before(async () => {
    // ffmpeg.ts reads FFPROBE_PATH once; unset, it runs whatever `ffprobe` PATH finds at each spawn.
    assert.equal(process.env.FFPROBE_PATH, undefined, 'this test counts ffprobe runs through PATH');
    bin = await fsp.mkdtemp(path.join(os.tmpdir(), 'aimake-ffprobe-'));
    await fsp.writeFile(path.join(bin, 'ffprobe'), `#!/bin/sh\necho run >> "${bin}/runs"\nexec /usr/bin/ffprobe "$@"\n`, { mode: 0o755 });
    process.env.PATH = `${bin}:${savedPath}`;
    openai = await startFakeOpenAi();
    openai.setChatHandler(() => SCRIPT);
    // Slow enough that the client sees synthesis under way.
    openai.faults.push({ path: '/v1/audio/speech', delayMs: 250, times: Number.MAX_SAFE_INTEGER });
    stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, ELEVENLABS_API_KEY: '', SYNTH_CONCURRENCY: '4' });
  });
  after(async () => {
    process.env.PATH = savedPath;
    await openai.close();
    await fsp.rm(bin, { recursive: true, force: true });
  });

  const ffprobeRuns = async () => (await fsp.readFile(path.join(bin, 'runs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

  it('spawns no process per line, and shows the lines spoken so far, never going back', async () => {
    const { token } = await registerUser(stack, 'lines');
    const runsBefore = await ffprobeRuns();
    const created = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        sourceType: 'topic',
        sourceContent: 'Cheap lines',
        targetDuration: 60,
        language: 'en-US',
        hostVoiceId: 'openai-alloy',
        guestVoiceId: 'openai-nova',
      },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const podcastId: string = created.body.podcast.id;

    const seen: Array<{ status: string; progress: number; currentStep: string; linesDone: number | null; linesTotal: number | null }> = [];
    const job = await eventually(
      async () => {
        const r = await call(stack.url, 'GET', `/v1/podcasts/${podcastId}/job`, { token });
        const { status, progress, currentStep, linesDone, linesTotal } = r.body;
        seen.push({ status, progress, currentStep, linesDone, linesTotal });
        return ['completed', 'failed', 'canceled'].includes(r.body.status) ? r.body : undefined;
      },
      120_000,
      'the podcast to finish',
    );
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual({ done: job.linesDone, total: job.linesTotal }, { done: LINES, total: LINES });
    assert.equal(openai.count('/v1/audio/speech'), LINES);
    // The finished file is measured once; the 24 lines themselves start no ffprobe.
    assert.ok((await ffprobeRuns()) - runsBefore <= 1, `ffprobe ran ${(await ffprobeRuns()) - runsBefore} times for ${LINES} lines`);

    assertMonotonicProgress(seen);
    const spoken = seen.flatMap((s) => {
      const m = /^Synthesizing line (\d+) of (\d+)$/.exec(s.currentStep ?? '');
      if (!(s.status === 'synthesizing' && m)) return [];
      // The same count as numbers, for clients that show "line n of N" in their own words.
      assert.deepEqual({ n: s.linesDone, of: s.linesTotal }, { n: Number(m[1]), of: Number(m[2]) });
      return [{ n: Number(m[1]), of: Number(m[2]), progress: s.progress }];
    });
    assert.ok(
      spoken.some((s) => s.n > 0 && s.n < LINES && s.of === LINES && s.progress > 15 && s.progress < 90),
      `lines spoken so far shown during synthesis: ${JSON.stringify(seen)}`,
    );
    for (let i = 1; i < spoken.length; i++) assert.ok(spoken[i]!.n >= spoken[i - 1]!.n, `line count went back: ${JSON.stringify(spoken)}`);
  });
});
