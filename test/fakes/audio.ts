/**
 * Real, decodable audio for the fake TTS servers, plus an ffprobe helper for tests.
 * WAV is built by hand; MP3 goes through ffmpeg once per distinct shape and is then cached, so
 * a test that synthesizes hundreds of lines does not spawn hundreds of encoders.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

export const FFMPEG = '/usr/bin/ffmpeg';
export const FFPROBE = '/usr/bin/ffprobe';

/** Seconds of fake speech per character of input. */
export const SECONDS_PER_CHAR = 0.06;
export const MIN_SECONDS = 0.3;

/** How long the fakes' audio is for a text: proportional to length, shorter when sped up. */
export function fakeSpeechSeconds(chars: number, speed = 1): number {
  const s = Math.max(MIN_SECONDS, (chars * SECONDS_PER_CHAR) / (speed > 0 ? speed : 1));
  // Millisecond granularity keeps the mp3 cache keys finite.
  return Math.round(s * 1000) / 1000;
}

/** A stable, voice-specific pitch so that two podcast speakers are audibly different. */
export function toneForVoice(voice: string): number {
  let h = 0;
  for (const ch of voice) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return 140 + (h % 200);
}

export interface PcmShape {
  seconds: number;
  sampleRate?: number;
  toneHz?: number;
}

/** Signed 16-bit little-endian mono PCM: a quiet sine with short fades, so it is not silence. */
export function makePcm({ seconds, sampleRate = 24000, toneHz = 220 }: PcmShape): Buffer {
  const frames = Math.max(1, Math.round(seconds * sampleRate));
  const buf = Buffer.alloc(frames * 2);
  const fade = Math.min(Math.floor(sampleRate * 0.01), Math.floor(frames / 2));
  for (let i = 0; i < frames; i++) {
    let gain = 0.1;
    if (fade > 0 && i < fade) gain *= i / fade;
    if (fade > 0 && i >= frames - fade) gain *= (frames - 1 - i) / fade;
    const v = Math.sin((2 * Math.PI * toneHz * i) / sampleRate) * gain;
    buf.writeInt16LE(Math.round(v * 32767), i * 2);
  }
  return buf;
}

export function wavHeader(dataBytes: number, sampleRate: number, channels = 1, bitsPerSample = 16): Buffer {
  const h = Buffer.alloc(44);
  const blockAlign = (channels * bitsPerSample) / 8;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size for PCM
  h.writeUInt16LE(1, 20); // format tag: PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bitsPerSample, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export function makeWav(shape: PcmShape): Buffer {
  const pcm = makePcm(shape);
  return Buffer.concat([wavHeader(pcm.length, shape.sampleRate ?? 24000), pcm]);
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const mp3Cache = new Map<string, Promise<Buffer>>();
const MP3_CACHE_LIMIT = 128;

/**
 * MP3 of the given shape. Encoded to a temporary file rather than a pipe so that ffmpeg can go
 * back and write the Xing/LAME header, which is what lets decoders report an exact duration.
 */
export function makeMp3(shape: PcmShape & { bitrateKbps?: number }): Promise<Buffer> {
  const sampleRate = shape.sampleRate ?? 24000;
  const bitrate = shape.bitrateKbps ?? 128;
  const toneHz = shape.toneHz ?? 220;
  const key = `${shape.seconds}:${sampleRate}:${bitrate}:${toneHz}`;
  const hit = mp3Cache.get(key);
  if (hit) {
    // Re-insert so that eviction below drops the least recently used entry.
    mp3Cache.delete(key);
    mp3Cache.set(key, hit);
    return hit;
  }
  const made = (async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fake-tts-'));
    try {
      const wavPath = path.join(dir, 'in.wav');
      const mp3Path = path.join(dir, `${randomUUID()}.mp3`);
      await fs.writeFile(wavPath, makeWav({ seconds: shape.seconds, sampleRate, toneHz }));
      await run(FFMPEG, [
        '-hide_banner',
        '-loglevel',
        'error',
        '-nostdin',
        '-y',
        '-i',
        wavPath,
        '-codec:a',
        'libmp3lame',
        '-b:a',
        `${bitrate}k`,
        '-ar',
        String(sampleRate),
        mp3Path,
      ]);
      return await fs.readFile(mp3Path);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  })();
  made.catch(() => mp3Cache.delete(key));
  mp3Cache.set(key, made);
  while (mp3Cache.size > MP3_CACHE_LIMIT) {
    const oldest = mp3Cache.keys().next().value;
    if (oldest === undefined) break;
    mp3Cache.delete(oldest);
  }
  return made;
}

export type FakeAudioFormat = 'mp3' | 'wav' | 'pcm';

export async function makeAudio(format: FakeAudioFormat, shape: PcmShape & { bitrateKbps?: number }): Promise<Buffer> {
  if (format === 'mp3') return makeMp3(shape);
  if (format === 'wav') return makeWav(shape);
  return makePcm(shape);
}

export interface ProbeResult {
  formatName: string;
  durationSec: number;
  codecName: string;
  sampleRate: number;
}

/** What ffprobe makes of a file; rejects when ffprobe cannot decode it. */
export async function probeAudio(file: string): Promise<ProbeResult> {
  const out = await run(FFPROBE, ['-v', 'error', '-show_entries', 'format=format_name,duration:stream=codec_name,sample_rate', '-of', 'json', file]);
  const j = JSON.parse(out) as {
    format?: { format_name?: string; duration?: string };
    streams?: Array<{ codec_name?: string; sample_rate?: string }>;
  };
  const stream = j.streams?.[0];
  if (!j.format || !stream) throw new Error(`ffprobe found no audio stream in ${file}`);
  return {
    formatName: j.format.format_name ?? '',
    durationSec: Number(j.format.duration),
    codecName: stream.codec_name ?? '',
    sampleRate: Number(stream.sample_rate),
  };
}
