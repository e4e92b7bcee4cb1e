import type { Knex } from 'knex';
import type { Config } from '../config';
import type { User, Voice } from '../models';
import { speakingEngine } from '../providers';
import { lineSeconds, speakingRateOf, type Engine, type SpeakingRate } from '../script/pace';

/**
 * What a request would cost before it is made (POST /v1/podcasts/estimate, /v1/audios/estimate):
 * the expected duration, the quota it takes, whether it fits, and how long it should take. The
 * same rates size scripts and reservations, so an estimate is what the job will then charge.
 */

export interface Estimate {
  estimatedDuration: number;
  quotaCost: number;
  quotaRemaining: number;
  fits: boolean;
  etaSeconds: number;
}

/** The engine that will speak a voice here, by the worker's rule (speakingEngine). */
export function engineOf(config: Config, voice: Pick<Voice, 'id' | 'provider'>): Engine {
  return speakingEngine(voice, { openai: Boolean(config.OPENAI_API_KEY), elevenlabs: Boolean(config.ELEVENLABS_API_KEY) });
}

export function rateOf(config: Config, voice: Pick<Voice, 'id' | 'provider'>, language: string): SpeakingRate {
  return speakingRateOf(engineOf(config, voice), language, config.SPEAKING_RATES);
}

/** Seconds of quota the user has left: the limit less what is used and what running jobs hold. */
export async function quotaRemaining(knex: Knex, user: Pick<User, 'id'>): Promise<number> {
  const u = await knex('users').where({ id: user.id }).first('quota_limit', 'quota_used', 'quota_reserved');
  return Math.max(0, (u?.quota_limit ?? 0) - (u?.quota_used ?? 0) - (u?.quota_reserved ?? 0));
}

/** Typical seconds a provider takes for one request (measured against the real APIs; espeak-ng runs ~60× real time). */
const REQUEST_SECONDS: Record<Engine, (audioSec: number) => number> = {
  local: (audioSec) => 0.05 + audioSec / 60,
  openai: (audioSec) => 1 + audioSec / 15,
  elevenlabs: (audioSec) => 1.2 + audioSec / 12,
};

/**
 * How long a job should take once it starts: reading and scripting, its lines at the engine's
 * concurrency, and the stitch (~0.05 s a line). Not counted: other users' work ahead of it.
 */
export function etaOf(config: Config, a: { engine: Engine; seconds: number; lines: number; scriptSeconds: number }): number {
  const cap = { local: config.LOCAL_TTS_MAX_CONCURRENCY, openai: config.OPENAI_MAX_CONCURRENCY, elevenlabs: config.ELEVENLABS_MAX_CONCURRENCY }[a.engine];
  const concurrency = Math.max(1, Math.min(cap, config.SYNTH_CONCURRENCY ?? cap));
  const lines = Math.max(1, a.lines);
  const perLine = REQUEST_SECONDS[a.engine](a.seconds / lines);
  return Math.ceil(a.scriptSeconds + Math.ceil(lines / concurrency) * perLine + lines * 0.05 + 1);
}

export function estimateOf(seconds: number, remaining: number, etaSeconds: number): Estimate {
  const estimatedDuration = Math.round(seconds * 10) / 10;
  const quotaCost = Math.ceil(seconds);
  return { estimatedDuration, quotaCost, quotaRemaining: remaining, fits: quotaCost <= remaining, etaSeconds };
}

/** Seconds of speech in a text for TTS at a voice's rate and speed. */
export function ttsSeconds(text: string, rate: SpeakingRate, speed: number): number {
  return lineSeconds(text, rate) / (speed > 0 ? speed : 1);
}
