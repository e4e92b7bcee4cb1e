import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { lineDuration, parseDuration } from '../../src/audio/duration';
import { makeMp3, makeWav } from '../fakes/audio';

const run = (bin: string, args: string[], input?: string) => execFileSync(bin, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
const ffmpeg = (args: string[]) => run('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args]);

/** What ffprobe reports as the file's duration. */
const ffprobeSeconds = (file: string) => Number(run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]).trim());

/** Seconds of audio a full decode yields. */
function decodedSeconds(file: string): number {
  const out = run('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-progress', 'pipe:1', '-']);
  const us = [...out.matchAll(/out_time_us=(\d+)/g)].pop();
  assert.ok(us, `no progress from decoding ${file}`);
  return Number(us[1]) / 1e6;
}

/** The duration from the file's headers alone: no ffprobe fallback behind it. */
async function inProcess(file: string): Promise<number> {
  const d = parseDuration(await fsp.readFile(file));
  assert.ok(d !== null, `${file} was not understood in-process`);
  return d;
}

/** Within 1 % and within 20 ms of the reference. */
function assertClose(actual: number, expected: number, what: string) {
  const off = Math.abs(actual - expected);
  assert.ok(off <= 0.02 && off <= 0.01 * expected, `${what}: read ${actual} s, reference ${expected} s`);
}

describe('line durations read in-process, as ffprobe reads them', function () {
  this.timeout(60_000);
  let dir: string;
  const file = (name: string) => path.join(dir, name);

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'aimake-duration-'));
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('reads espeak-ng WAVs, written to a file and streamed to a pipe (no data size)', async () => {
    run('espeak-ng', ['-v', 'en-us', '-w', file('espeak.wav'), '--stdin'], 'A line of a podcast, spoken by the local engine.');
    // To stdout espeak-ng cannot seek back, so the data chunk carries a placeholder size.
    const streamed = execFileSync('espeak-ng', ['-v', 'zh', '--stdout', '--stdin'], { input: '音频的未来。Durable workflows make that possible.' });
    await fsp.writeFile(file('streamed.wav'), streamed);
    assert.ok(streamed.readUInt32LE(40) > streamed.length, 'the streamed WAV claims more data than it has');
    for (const name of ['espeak.wav', 'streamed.wav']) assertClose(await inProcess(file(name)), ffprobeSeconds(file(name)), name);
  });

  it('reads WAVs with extra chunks, stereo and 24-bit', async () => {
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=22050:duration=1.37', '-ac', '2', '-metadata', 'title=A LIST chunk', file('stereo.wav')]);
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000:duration=2.11', '-c:a', 'pcm_s24le', file('s24.wav')]);
    for (const name of ['stereo.wav', 's24.wav']) assertClose(await inProcess(file(name)), ffprobeSeconds(file(name)), name);
  });

  it('reads MP3s from ffmpeg: CBR and VBR, with and without a Xing header, with ID3 tags', async () => {
    const sine = (seconds: number, rate: number) => ['-f', 'lavfi', '-i', `sine=frequency=300:sample_rate=${rate}:duration=${seconds}`];
    ffmpeg([...sine(3.7, 24000), '-c:a', 'libmp3lame', '-b:a', '128k', file('cbr.mp3')]);
    ffmpeg([...sine(3.7, 24000), '-c:a', 'libmp3lame', '-b:a', '128k', '-write_xing', '0', file('cbr-no-xing.mp3')]);
    ffmpeg([...sine(5.3, 44100), '-ac', '2', '-c:a', 'libmp3lame', '-q:a', '4', file('vbr.mp3')]);
    ffmpeg([
      ...sine(0.4, 22050),
      '-c:a',
      'libmp3lame',
      '-b:a',
      '64k',
      '-id3v2_version',
      '3',
      '-write_id3v1',
      '1',
      '-metadata',
      'title=Tagged',
      file('tagged.mp3'),
    ]);
    for (const name of ['cbr.mp3', 'cbr-no-xing.mp3', 'vbr.mp3', 'tagged.mp3']) {
      assertClose(await inProcess(file(name)), ffprobeSeconds(file(name)), name);
    }
  });

  it('counts the frames of an MP3 without a Xing header where ffprobe guesses from the bitrate', async () => {
    // VBR: ffprobe takes the first frame's bitrate for all; a trailing ID3v1 tag: ffprobe takes it for audio.
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:sample_rate=44100:duration=5.3',
      '-c:a',
      'libmp3lame',
      '-q:a',
      '4',
      '-write_xing',
      '0',
      file('vbr-no-xing.mp3'),
    ]);
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:sample_rate=16000:duration=12.5',
      '-c:a',
      'libmp3lame',
      '-b:a',
      '32k',
      '-write_xing',
      '0',
      '-write_id3v1',
      '1',
      '-metadata',
      'title=Tagged',
      file('id3v1.mp3'),
    ]);
    for (const name of ['vbr-no-xing.mp3', 'id3v1.mp3']) assertClose(await inProcess(file(name)), decodedSeconds(file(name)), name);
  });

  it('reads the fake providers’ MP3 and WAV answers', async () => {
    await fsp.writeFile(file('fake.mp3'), await makeMp3({ seconds: 2.345, sampleRate: 24000, bitrateKbps: 128 }));
    await fsp.writeFile(file('fake-44k.mp3'), await makeMp3({ seconds: 0.3, sampleRate: 44100, bitrateKbps: 128 }));
    await fsp.writeFile(file('fake.wav'), makeWav({ seconds: 1.234, sampleRate: 24000 }));
    for (const name of ['fake.mp3', 'fake-44k.mp3', 'fake.wav']) assertClose(await inProcess(file(name)), ffprobeSeconds(file(name)), name);
  });

  it('measures a spoken line from its file, reading a long WAV’s head and a long MP3 whole', async () => {
    await fsp.writeFile(file('line.wav'), makeWav({ seconds: 3.5, sampleRate: 24000 }));
    assert.equal(await lineDuration(file('line.wav')), 3.5);
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:sample_rate=44100:duration=7.1',
      '-c:a',
      'libmp3lame',
      '-b:a',
      '128k',
      '-write_xing',
      '0',
      file('line.mp3'),
    ]);
    assert.ok((await fsp.stat(file('line.mp3'))).size > 64 * 1024, 'more than the head that is read first');
    assertClose(await lineDuration(file('line.mp3')), decodedSeconds(file('line.mp3')), 'line.mp3');
  });

  it('finds nothing in bytes that are not audio, and rejects such a file as ffprobe does', async () => {
    const junk = Buffer.from('this is not audio at all\n'.repeat(50));
    assert.equal(parseDuration(junk), null);
    await fsp.writeFile(file('not-audio.mp3'), junk);
    await assert.rejects(lineDuration(file('not-audio.mp3')), /ffprobe exited with code \d+/);
  });
});
