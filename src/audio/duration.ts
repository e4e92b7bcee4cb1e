/**
 * Durations of spoken lines, read in-process from the file's headers: a WAV's fmt and data
 * chunks, an MP3's Xing/Info or VBRI header, else its frame headers counted one by one. A podcast
 * has up to ~1,500 lines, and an ffprobe process per line cost more CPU than everything else a
 * line does. Hand-written rather than music-metadata: that library (ESM-only, so require(esm))
 * took 5–7 ms per short file and ~60 ms for a 5 s VBR MP3 without a Xing header, this ~0.05 ms.
 *
 * Figures match ffprobe's `format=duration` for what it reads exactly (WAV, MP3 with a Xing/Info
 * header, CBR MP3); for a VBR MP3 without one, ffprobe guesses from the first bitrate while the
 * frame count here is exact. Anything else falls back to ffprobe.
 */
import { promises as fsp } from 'node:fs';
import { probeDuration } from './ffmpeg';

const isWav = (buf: Buffer) => buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WAVE';

/**
 * Seconds of audio in a WAV or MP3 file, or null when the bytes are neither (or unusual). A WAV
 * needs only its head and the file's size; an MP3 needs all its bytes unless it has a Xing header.
 */
export function parseDuration(buf: Buffer, fileSize = buf.length): number | null {
  return isWav(buf) ? wavDuration(buf, fileSize) : mp3Duration(buf);
}

/** Enough for a WAV's chunks before its data, and for an MP3's ID3 tag and first frame as a rule. */
const HEAD_BYTES = 64 * 1024;

/**
 * A spoken line's duration without spawning a process; ffprobe only for a file the headers do not
 * explain. Rejects, as ffprobe does, when the file is not audio at all.
 */
export async function lineDuration(file: string, signal?: AbortSignal): Promise<number> {
  const fh = await fsp.open(file);
  let buf: Buffer;
  let size: number;
  try {
    size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    buf = head.subarray(0, bytesRead);
    if (!isWav(buf) && size > buf.length) buf = await fsp.readFile(file);
  } finally {
    await fh.close();
  }
  return parseDuration(buf, size) ?? probeDuration(file, signal, { estimate: true });
}

// ─── WAV ───────────────────────────────────────────────────────────────────────────────────────

const WAVE_PCM = 1;
const WAVE_FLOAT = 3;
const WAVE_EXTENSIBLE = 0xfffe;

function wavDuration(buf: Buffer, fileSize: number): number | null {
  let byteRate = 0;
  let blockAlign = 0;
  for (let at = 12; at + 8 <= buf.length;) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      if (body + 16 > buf.length) return null;
      const tag = buf.readUInt16LE(body);
      // Compressed WAVs carry only an average byte rate: leave those to ffprobe.
      if (tag !== WAVE_PCM && tag !== WAVE_FLOAT && tag !== WAVE_EXTENSIBLE) return null;
      byteRate = buf.readUInt32LE(body + 8);
      blockAlign = buf.readUInt16LE(body + 12);
    } else if (id === 'data') {
      if (!byteRate || !blockAlign) return null;
      // A writer that streams (espeak-ng to a pipe) cannot go back to fill in the size: it leaves
      // 0, 0xFFFFFFFF or a huge placeholder. The audio then runs to the end of the file.
      const available = Math.max(0, fileSize - body);
      const bytes = size === 0 || size > available ? available : size;
      return (bytes - (bytes % blockAlign)) / byteRate;
    }
    at = body + size + (size % 2); // chunks are word-aligned
  }
  return null;
}

// ─── MP3 ───────────────────────────────────────────────────────────────────────────────────────

// kbit/s by [version is MPEG-1][layer 1..3][index]; index 0 (free format) and 15 are invalid.
const BITRATES_V1 = [
  [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
];
const BITRATES_V2 = [
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];
// Hz by version bits (0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1) and index.
const SAMPLE_RATES: Record<number, number[]> = { 0: [11025, 12000, 8000], 2: [22050, 24000, 16000], 3: [44100, 48000, 32000] };

interface Frame {
  bytes: number;
  samples: number;
  sampleRate: number;
  mpeg1: boolean;
  mono: boolean;
}

/** The MPEG audio frame header at `at`, or null if there is none. */
function frameAt(buf: Buffer, at: number): Frame | null {
  if (at + 4 > buf.length || buf[at] !== 0xff || (buf[at + 1]! & 0xe0) !== 0xe0) return null;
  const b1 = buf[at + 1]!;
  const b2 = buf[at + 2]!;
  const version = (b1 >> 3) & 3;
  const layer = 4 - ((b1 >> 1) & 3); // 1..3; 4 is reserved
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  if (version === 1 || layer === 4 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return null;
  const mpeg1 = version === 3;
  const kbps = (mpeg1 ? BITRATES_V1 : BITRATES_V2)[layer - 1]![bitrateIndex]!;
  const sampleRate = SAMPLE_RATES[version]![rateIndex]!;
  const padding = (b2 >> 1) & 1;
  const samples = layer === 1 ? 384 : layer === 3 && !mpeg1 ? 576 : 1152;
  const bytes = layer === 1 ? (Math.floor((12_000 * kbps) / sampleRate) + padding) * 4 : Math.floor(((samples / 8) * 1000 * kbps) / sampleRate) + padding;
  return { bytes, samples, sampleRate, mpeg1, mono: buf[at + 3]! >> 6 === 3 };
}

/** A frame whose successor (or the end of the data) follows where its length says: not a false sync. */
function confirmedFrameAt(buf: Buffer, at: number): Frame | null {
  const f = frameAt(buf, at);
  if (!f) return null;
  const next = at + f.bytes;
  return next >= buf.length - 4 || frameAt(buf, next) ? f : null;
}

/**
 * The first frame's Xing/Info or VBRI header: its frame count (null without one), and whether the
 * frame is such a header (it holds no audio then).
 */
function vbrHeader(buf: Buffer, at: number, f: Frame): { frames: number | null; bytes: number | null; isHeader: boolean } {
  const sideInfo = f.mpeg1 ? (f.mono ? 17 : 32) : f.mono ? 9 : 17;
  const xing = at + 4 + sideInfo;
  if (xing + 8 <= buf.length && ['Xing', 'Info'].includes(buf.toString('latin1', xing, xing + 4))) {
    const flags = buf.readUInt32BE(xing + 4);
    const hasFrames = flags & 1 && xing + 12 <= buf.length;
    const bytesAt = xing + (hasFrames ? 12 : 8);
    const hasBytes = flags & 2 && bytesAt + 4 <= buf.length;
    return { frames: hasFrames ? buf.readUInt32BE(xing + 8) : null, bytes: hasBytes ? buf.readUInt32BE(bytesAt) : null, isHeader: true };
  }
  const vbri = at + 36;
  if (vbri + 18 <= buf.length && buf.toString('latin1', vbri, vbri + 4) === 'VBRI') {
    return { frames: buf.readUInt32BE(vbri + 14), bytes: buf.readUInt32BE(vbri + 10), isHeader: true };
  }
  return { frames: null, bytes: null, isHeader: false };
}

function mp3Duration(buf: Buffer): number | null {
  let at = 0;
  // An ID3v2 tag first: 10-byte header, syncsafe size, and a 10-byte footer when flagged.
  if (buf.length >= 10 && buf.toString('latin1', 0, 3) === 'ID3') {
    const size = ((buf[6]! & 0x7f) << 21) | ((buf[7]! & 0x7f) << 14) | ((buf[8]! & 0x7f) << 7) | (buf[9]! & 0x7f);
    at = 10 + size + (buf[5]! & 0x10 ? 10 : 0);
  }
  // The first frame: a sync whose next frame is where its header says.
  let first: Frame | null = null;
  for (const limit = Math.min(buf.length, at + 64 * 1024); at < limit; at++) if ((first = confirmedFrameAt(buf, at))) break;
  if (!first) return null;

  const header = vbrHeader(buf, at, first);
  // The header describes the whole stream; a file cut short (a provider's truncated answer) holds
  // fewer bytes than it says, and then only its own frames count.
  const whole = header.bytes === null || buf.length - at >= header.bytes * 0.9;
  if (header.frames !== null && whole) return (header.frames * first.samples) / first.sampleRate;
  if (header.isHeader) at += first.bytes;

  // No frame count in a header: count every whole frame (a line has a few hundred). After junk
  // (a trailing ID3v1 or APE tag) only a confirmed frame counts, so a stray 0xFFE is not one.
  let samples = 0;
  let inSync = true;
  while (at + 4 <= buf.length) {
    const f: Frame | null = inSync ? frameAt(buf, at) : confirmedFrameAt(buf, at);
    inSync = f !== null && f.sampleRate === first.sampleRate && at + f.bytes <= buf.length;
    if (inSync) {
      samples += f!.samples;
      at += f!.bytes;
    } else {
      at++;
    }
  }
  return samples / first.sampleRate;
}
