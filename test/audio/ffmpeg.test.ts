import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { probeDuration, stitch, transcode } from '../../src/audio/ffmpeg';
import { createLocalTts } from '../../src/providers/tts/local';

function ffmpeg(args: string[]): string {
  return execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-y', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Integrated loudness (LUFS) as the ebur128 filter measures it. */
function integratedLoudness(file: string): number {
  const res = execFileSync('sh', ['-c', 'ffmpeg -nostdin -hide_banner -nostats -i "$1" -af ebur128=framelog=verbose -f null - 2>&1', 'sh', file], {
    encoding: 'utf8',
  });
  const m = /Integrated loudness:\s+I:\s+(-?[\d.]+) LUFS/.exec(res);
  assert.ok(m, `no ebur128 summary in:\n${res.slice(-2000)}`);
  return Number(m[1]);
}

function streamInfo(file: string): { codec: string; sampleRate: number; channels: number } {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=codec_name,sample_rate,channels', '-of', 'json', file],
    {
      encoding: 'utf8',
    },
  );
  const s = (JSON.parse(out) as { streams: Array<{ codec_name: string; sample_rate: string; channels: number }> }).streams[0]!;
  return { codec: s.codec_name, sampleRate: Number(s.sample_rate), channels: s.channels };
}

/** Pids of live ffmpeg processes whose parent is this test process. */
function ffmpegChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const [state, ppid] = stat.slice(close + 2).split(' ');
      if (comm === 'ffmpeg' && Number(ppid) === process.pid && state !== 'Z') pids.push(Number(entry));
    } catch {
      // Process vanished while scanning.
    }
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('audio/ffmpeg', () => {
  let dir: string;
  let espeakWav: string;
  let espeakZhWav: string;
  let speechMp3: string;
  let sineStereo: string;

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ffmpeg-test-'));
    const tts = createLocalTts();
    espeakWav = path.join(dir, 'en.wav');
    espeakZhWav = path.join(dir, 'zh.wav');
    speechMp3 = path.join(dir, 'en2.mp3');
    sineStereo = path.join(dir, 'sine-22k-stereo.wav');
    await tts.synthesize({
      text: 'Welcome to the show. Today we talk about audio pipelines.',
      providerVoice: 'en-us+f3',
      language: 'en-US',
      speed: 1,
      format: 'wav',
      outputPath: espeakWav,
    });
    await tts.synthesize({
      text: '这是第二位主持人。我们继续讨论。',
      providerVoice: 'cmn+m3',
      language: 'zh-CN',
      speed: 1,
      format: 'wav',
      outputPath: espeakZhWav,
    });
    await tts.synthesize({
      text: 'And this line arrived as an MP3 from another provider.',
      providerVoice: 'en-us+m3',
      language: 'en-US',
      speed: 1.2,
      format: 'mp3',
      outputPath: speechMp3,
    });
    ffmpeg([
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=330:sample_rate=22050:duration=1.5',
      '-af',
      'volume=-12dB',
      '-ac',
      '2',
      '-c:a',
      'pcm_s16le',
      sineStereo,
    ]);
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  describe('probeDuration', () => {
    it('reads WAV duration', async () => {
      const d = await probeDuration(sineStereo);
      assert.ok(Math.abs(d - 1.5) < 0.001, `got ${d}`);
    });

    it('is exact for MP3, with or without a Xing header', async () => {
      const src = path.join(dir, 'one-sec.wav');
      ffmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=1', src]);
      const withXing = path.join(dir, 'xing.mp3');
      const noXing = path.join(dir, 'noxing.mp3');
      await transcode(src, withXing, 'mp3');
      ffmpeg(['-v', 'error', '-i', src, '-c:a', 'libmp3lame', '-b:a', '128k', '-write_xing', '0', noXing]);
      assert.ok(Math.abs((await probeDuration(withXing)) - 1) < 0.002);
      // No header means no delay/padding info: decoding still counts real frames, not a bitrate guess.
      const d = await probeDuration(noXing);
      assert.ok(Math.abs(d - 1) < 0.1, `got ${d}`);
    });

    it('rejects with ffprobe’s message for a file that is not audio', async () => {
      const bad = path.join(dir, 'not-audio.mp3');
      await fsp.writeFile(bad, 'this is not audio at all\n'.repeat(50));
      await assert.rejects(probeDuration(bad), /ffprobe exited with code \d+: .*not-audio\.mp3/s);
    });
  });

  describe('stitch', () => {
    it('joins mixed formats, rates and channel counts with pauses, normalised to -16 LUFS', async () => {
      const segments = [
        { path: espeakWav, pauseAfterMs: 400 },
        { path: speechMp3, pauseAfterMs: 250 },
        { path: sineStereo, pauseAfterMs: 600 },
        { path: espeakZhWav, pauseAfterMs: 300 },
        { path: espeakWav, pauseAfterMs: 0 },
      ];
      const durations = await Promise.all(segments.map((s) => probeDuration(s.path)));
      const expected = durations.reduce((a, b) => a + b, 0) + segments.reduce((a, s) => a + s.pauseAfterMs, 0) / 1000;
      const workDir = path.join(dir, 'work-mixed');
      const outputPath = path.join(dir, 'out', 'mixed.mp3');
      const progress: number[] = [];

      const res = await stitch({ segments, outputPath, format: 'mp3', workDir, onProgress: (f) => progress.push(f) });

      assert.ok(Math.abs(res.duration - expected) / expected < 0.02, `duration ${res.duration} vs expected ${expected}`);
      assert.equal(res.bytes, (await fsp.stat(outputPath)).size);
      assert.deepEqual(streamInfo(outputPath), { codec: 'mp3', sampleRate: 44100, channels: 1 });
      const lufs = integratedLoudness(outputPath);
      assert.ok(Math.abs(lufs - -16) <= 2, `integrated loudness ${lufs} LUFS`);
      assert.ok(progress.length >= 2);
      for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! > progress[i - 1]!, `progress not increasing: ${progress.join(',')}`);
      assert.equal(progress[progress.length - 1], 1);
      assert.deepEqual(await fsp.readdir(workDir), [], 'scratch files left behind');
      assert.deepEqual(await fsp.readdir(path.dirname(outputPath)), ['mixed.mp3']);
    });

    it('writes 16-bit 44.1 kHz mono WAV, and can skip normalisation', async () => {
      const outputPath = path.join(dir, 'plain.wav');
      const res = await stitch({
        segments: [
          { path: sineStereo, pauseAfterMs: 500 },
          { path: sineStereo, pauseAfterMs: 500 },
        ],
        outputPath,
        format: 'wav',
        normalise: false,
        workDir: path.join(dir, 'work-plain'),
      });
      assert.deepEqual(streamInfo(outputPath), { codec: 'pcm_s16le', sampleRate: 44100, channels: 1 });
      assert.ok(Math.abs(res.duration - 4) < 0.005, `duration ${res.duration}`);
      // Untouched level: the -12 dB sine stays well below -16 LUFS.
      assert.ok(integratedLoudness(outputPath) < -18);
    });

    it('normalises by linear gain: a steady tone lands on -16 LUFS almost exactly', async () => {
      const quiet = path.join(dir, 'quiet.wav');
      ffmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=3', '-af', 'volume=-8dB', quiet]);
      const outputPath = path.join(dir, 'quiet-norm.wav');
      await stitch({ segments: [{ path: quiet, pauseAfterMs: 200 }], outputPath, format: 'wav', workDir: path.join(dir, 'work-quiet') });
      const lufs = integratedLoudness(outputPath);
      assert.ok(Math.abs(lufs - -16) <= 0.5, `integrated loudness ${lufs} LUFS`);
    });

    it('stitches 600 tiny segments without a huge command line', async function () {
      this.timeout(60000);
      const tinyA = path.join(dir, 'tiny-a.wav');
      const tinyB = path.join(dir, 'tiny-b.mp3');
      ffmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=500:sample_rate=24000:duration=0.1', tinyA]);
      ffmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=700:sample_rate=44100:duration=0.1', '-c:a', 'libmp3lame', '-q:a', '4', tinyB]);
      const [dA, dB] = [await probeDuration(tinyA), await probeDuration(tinyB)];
      const segments = Array.from({ length: 600 }, (_, i) => ({ path: i % 2 ? tinyB : tinyA, pauseAfterMs: 50 }));
      const expected = 300 * dA + 300 * dB + 600 * 0.05;

      const started = Date.now();
      const res = await stitch({ segments, outputPath: path.join(dir, 'many.mp3'), format: 'mp3', workDir: path.join(dir, 'work-many') });
      const seconds = (Date.now() - started) / 1000;
      console.log(`      stitch of 600 segments (${expected.toFixed(1)} s of audio) took ${seconds.toFixed(2)} s`);
      assert.ok(Math.abs(res.duration - expected) / expected < 0.02, `duration ${res.duration} vs ${expected}`);
    });

    it('abort kills ffmpeg promptly and rejects with AbortError', async () => {
      const long = path.join(dir, 'long.wav');
      ffmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=22050:duration=1800', long]);
      const ctrl = new AbortController();
      const seen = new Set<number>();
      const poll = setInterval(() => ffmpegChildren().forEach((p) => seen.add(p)), 20);
      const outputPath = path.join(dir, 'aborted.mp3');
      const workDir = path.join(dir, 'work-abort');
      const running = stitch({
        segments: [
          { path: long, pauseAfterMs: 100 },
          { path: long, pauseAfterMs: 100 },
        ],
        outputPath,
        format: 'mp3',
        workDir,
        signal: ctrl.signal,
      });
      let abortedAt = 0;
      setTimeout(() => {
        abortedAt = Date.now();
        ctrl.abort();
      }, 500);
      try {
        await assert.rejects(running, { name: 'AbortError' });
      } finally {
        clearInterval(poll);
      }
      const lag = Date.now() - abortedAt;
      assert.ok(abortedAt > 0, 'stitch finished before it could be aborted');
      assert.ok(lag < 2500, `rejected ${lag} ms after abort`);
      assert.ok(seen.size > 0, 'never saw an ffmpeg child');
      for (const pid of seen) assert.equal(isAlive(pid), false, `ffmpeg ${pid} still running`);
      assert.deepEqual(ffmpegChildren(), []);
      await assert.rejects(fsp.stat(outputPath), { code: 'ENOENT' });
      assert.deepEqual(await fsp.readdir(workDir), []);
    });

    it('rejects at once when the signal is already aborted', async () => {
      const ctrl = new AbortController();
      ctrl.abort();
      await assert.rejects(
        stitch({ segments: [{ path: espeakWav, pauseAfterMs: 0 }], outputPath: path.join(dir, 'never.mp3'), format: 'mp3', workDir: dir, signal: ctrl.signal }),
        { name: 'AbortError' },
      );
    });

    it('reports ffmpeg’s own message for a corrupt input', async () => {
      const bad = path.join(dir, 'corrupt.wav');
      await fsp.writeFile(bad, 'definitely not a wav file\n'.repeat(100));
      const outputPath = path.join(dir, 'corrupt-out.mp3');
      await assert.rejects(
        stitch({
          segments: [
            { path: espeakWav, pauseAfterMs: 100 },
            { path: bad, pauseAfterMs: 100 },
          ],
          outputPath,
          format: 'mp3',
          workDir: path.join(dir, 'work-corrupt'),
        }),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.match(err.message, /^ffmpeg exited with code \d+:/);
          assert.match(err.message, /corrupt\.wav.*Invalid data found when processing input/s);
          return true;
        },
      );
      await assert.rejects(fsp.stat(outputPath), { code: 'ENOENT' });
    });

    it('rejects an empty segment list', async () => {
      await assert.rejects(stitch({ segments: [], outputPath: path.join(dir, 'x.mp3'), format: 'mp3', workDir: dir }), /no segments/);
    });
  });
});
