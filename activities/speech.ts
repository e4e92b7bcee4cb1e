import crypto from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runPool } from '../src/audio/ffmpeg';
import { spokenAudioProblem, stitchedAudioProblem } from '../src/audio/checks';
import { lineDuration } from '../src/audio/duration';
import type { LaneTicket, ProviderLanes } from '../src/capacity/providerLanes';
import type { ResolvedVoice } from '../src/providers';
import { ProviderError, type SynthesisRequest } from '../src/providers/tts/types';
import type { Storage } from '../src/storage/types';

/**
 * Speaking one piece of text into storage, shared by podcasts and text to speech. The storage key
 * carries a hash of everything that shapes the sound, so a retried activity or a retried job
 * finds the audio it already paid for and never asks the provider again.
 */
export function segmentHash(args: { text: string; voiceId: string; speed: number; language: string; voice: ResolvedVoice; instructions?: string }): string {
  // `text` is what the engine is sent (pronunciations applied), so a dictionary change re-speaks
  // exactly the lines it changes. Delivery instructions are hashed only when there are some, so
  // lines spoken without them keep their hash. Neighbouring text (ElevenLabs context) is not
  // hashed: it only smooths the flow, and editing one line must not re-speak its neighbours.
  const sound = [args.text, args.voiceId, args.speed, args.language, args.voice.provider.name, args.voice.providerVoice, args.voice.format];
  if (args.instructions) sound.push(args.instructions);
  return crypto.createHash('sha256').update(JSON.stringify(sound)).digest('hex');
}

export const contentTypeOf = (format: 'mp3' | 'wav') => (format === 'mp3' ? 'audio/mpeg' : 'audio/wav');

export async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'aimake-'));
  try {
    return await work(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Heartbeats while `work` runs, so a dead worker is noticed within the heartbeat timeout and a
 * cancel arrives within about a second (the worker sends at most one heartbeat a second).
 */
export async function whileHeartbeating<T>(work: () => Promise<T>, everyMs = 500): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** A stitched file that is not its lines and pauses, whole, is never stored nor charged. */
export function assertWhole(duration: number, lineSeconds: number[], pausesMs: number[]): void {
  const problem = stitchedAudioProblem(duration, lineSeconds, pausesMs);
  if (problem) throw ApplicationFailure.create({ type: 'TTS_BAD_AUDIO', message: `Stitching failed: ${problem}`, nonRetryable: true });
}

/** How often one line is asked for again when its audio fails the check (src/audio/checks.ts). */
const BAD_AUDIO_ATTEMPTS = 3;

/**
 * Speaks one line or chunk, checks the audio and stores it. Only the provider request holds a slot of its lane
 * (speakInLane): the slot is free again the moment the audio has arrived, before it is stored.
 */
export async function speakToStorage(
  storage: Storage,
  args: {
    key: string;
    text: string;
    language: string;
    speed: number;
    voice: ResolvedVoice;
    signal: AbortSignal;
  } & Pick<SynthesisRequest, 'instructions' | 'previousText' | 'nextText'>,
  lane: { lanes: ProviderLanes; ticket: LaneTicket },
): Promise<{ duration: number; bytes: number; characters: number; apiCost: number | null }> {
  return whileHeartbeating(() =>
    withTempDir(async (dir) => {
      const file = path.join(dir, `speech.${args.voice.format}`);
      for (let attempt = 1; ; attempt++) {
        const result = await speakInLane(lane.lanes, args.voice.provider.name, lane.ticket, args.signal, () =>
          args.voice.provider.synthesize({
            text: args.text,
            providerVoice: args.voice.providerVoice,
            language: args.language,
            speed: args.speed,
            format: args.voice.format,
            outputPath: file,
            signal: args.signal,
            instructions: args.instructions,
            previousText: args.previousText,
            nextText: args.nextText,
          }),
        );
        // Checked before it is stored (reading the headers spawns nothing), then stored at once.
        const duration = await lineDuration(file, args.signal).catch(() => null);
        const problem = spokenAudioProblem({ duration, text: args.text, engine: args.voice.provider.name, language: args.language, speed: args.speed });
        if (duration !== null && !problem) {
          await storage.putFile(args.key, file, contentTypeOf(args.voice.format));
          return { duration, bytes: result.bytes, characters: result.characters, apiCost: result.apiCost };
        }
        // Asked again at once; a provider that keeps answering so fails the job, charging nothing.
        if (attempt >= BAD_AUDIO_ATTEMPTS) throw new ProviderError('TTS_BAD_AUDIO', `The speech provider returned unusable audio: ${problem}`, false);
      }
    }),
  );
}

/** Downloads at once when stitching from S3: a two-hour podcast is ~1,500 small objects. */
export const DOWNLOAD_CONCURRENCY = 16;

/**
 * Paths ffmpeg can read for stored keys, in order: in place for local storage, else downloaded
 * into dir, DOWNLOAD_CONCURRENCY at a time. onProgress after each download lets the caller
 * heartbeat, so a long download is told apart from a dead worker.
 */
export async function localCopies(
  storage: Storage,
  keys: string[],
  dir: string,
  opts: { concurrency?: number; signal?: AbortSignal; onProgress?: (downloaded: number, total: number) => void } = {},
): Promise<string[]> {
  const paths = keys.map((key) => storage.localPath(key));
  const downloads = paths.flatMap((p, i) => (p === null ? [i] : []));
  let downloaded = 0;
  await runPool(downloads.length, opts.concurrency ?? DOWNLOAD_CONCURRENCY, opts.signal, async (n) => {
    const i = downloads[n]!;
    const key = keys[i]!;
    const target = path.join(dir, `in-${String(i).padStart(5, '0')}${path.extname(key)}`);
    await storage.getFile(key, target);
    paths[i] = target;
    opts.onProgress?.(++downloaded, downloads.length);
  });
  return paths as string[];
}

// How long a line keeps waiting out a provider's 429s before that counts as a failed attempt.
const RATE_LIMIT_PATIENCE_MS = 30 * 60_000;

/**
 * Speaks within the provider's lane (src/capacity): waiting for a slot is not a failed attempt,
 * and a 429 pauses the whole lane until its Retry-After, then the line waits for a slot again.
 */
export async function speakInLane<T>(lanes: ProviderLanes, provider: string, ticket: LaneTicket, signal: AbortSignal, speak: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const patience = Date.now() + RATE_LIMIT_PATIENCE_MS;
  for (;;) {
    try {
      return await lanes.run(provider, ticket, speak, { signal, onWait: () => ctx.heartbeat() });
    } catch (err) {
      const rateLimited = err instanceof ProviderError && err.status === 429;
      if (!rateLimited || Date.now() > patience) throw err;
      await lanes.pause(provider, err.retryAfterMs ?? 1_000);
    }
  }
}
