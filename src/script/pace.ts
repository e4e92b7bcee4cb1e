/**
 * How long a script will take to say, per engine and language: what sizes a script to its
 * target before anything is spoken. Rates are at speed 1.0; the pauses are the ones the stitcher
 * puts between lines, so the estimate is the length of the final file.
 */

export type Engine = 'local' | 'openai' | 'elevenlabs';

/** Seconds for a line = lineSeconds + characters / charsPerSecond (whitespace runs count once). */
export interface SpeakingRate {
  charsPerSecond: number;
  /** The silence and onset every line carries whatever its length. */
  lineSeconds: number;
}

type LanguageClass = 'cjk' | 'other';
export type SpeakingRates = Record<Engine, Record<LanguageClass, SpeakingRate>>;

/**
 * local: espeak-ng 1.51 at 175 wpm, measured by test/audio/speakingRate.test.ts (which fails if
 * these drift more than 10 % from what the installed engine does). The cloud voices: measured
 * typical figures (OpenAI tts-1/gpt-4o-mini-tts and ElevenLabs multilingual voices speak English
 * at ~150–165 words a minute and Mandarin at ~4.5–5 characters a second); override with
 * SPEAKING_RATES when a voice differs.
 */
export const DEFAULT_SPEAKING_RATES: SpeakingRates = {
  local: { cjk: { charsPerSecond: 3.0, lineSeconds: 0.25 }, other: { charsPerSecond: 17.7, lineSeconds: 0.3 } },
  openai: { cjk: { charsPerSecond: 4.7, lineSeconds: 0.3 }, other: { charsPerSecond: 15, lineSeconds: 0.3 } },
  elevenlabs: { cjk: { charsPerSecond: 4.5, lineSeconds: 0.35 }, other: { charsPerSecond: 14.5, lineSeconds: 0.35 } },
};

/** Silence between two lines of different speakers, and of the same speaker. */
export const PAUSE_BETWEEN_TURNS_SEC = 0.45;
export const PAUSE_SAME_SPEAKER_SEC = 0.2;

const CJK_LANGUAGE = /^(zh|zho|ja|jpn|ko|kor|cmn|yue|wuu)(?:$|[-_])/i;

export function languageClass(language: string): LanguageClass {
  return CJK_LANGUAGE.test(language.trim()) ? 'cjk' : 'other';
}

export function speakingRateOf(engine: string, language: string, rates: SpeakingRates = DEFAULT_SPEAKING_RATES): SpeakingRate {
  const byEngine = rates[engine as Engine] ?? rates.openai;
  return byEngine[languageClass(language)];
}

export function lineSeconds(text: string, rate: SpeakingRate): number {
  const compact = text.replace(/\s+/g, ' ').trim();
  if (compact === '') return 0;
  return rate.lineSeconds + [...compact].length / rate.charsPerSecond;
}

/** The pause after each line (none after the last), as the stitcher lays them out. */
export function pausesAfter(roles: readonly string[]): number[] {
  return roles.map((role, i) => (i === roles.length - 1 ? 0 : role !== roles[i + 1] ? PAUSE_BETWEEN_TURNS_SEC : PAUSE_SAME_SPEAKER_SEC));
}

/** How fast each of a podcast's two voices speaks. */
export interface ScriptPace {
  host: SpeakingRate;
  guest: SpeakingRate;
}

export function scaledRate(rate: SpeakingRate, factor: number): SpeakingRate {
  // Slower than estimated (factor > 1) means fewer characters a second and longer line onsets.
  return { charsPerSecond: rate.charsPerSecond / factor, lineSeconds: rate.lineSeconds * factor };
}

/** Expected length of a script's final file: every line at its voice's rate plus the pauses. */
export function scriptSeconds(lines: ReadonlyArray<{ role: 'host' | 'guest'; text: string }>, pace: ScriptPace): number {
  const pauses = pausesAfter(lines.map((l) => l.role));
  return lines.reduce((sum, l, i) => sum + lineSeconds(l.text, pace[l.role]) + pauses[i]!, 0);
}

/** Parses SPEAKING_RATES: JSON like {"openai": {"cjk": {"charsPerSecond": 5}}}, merged over the defaults. */
export function speakingRatesFrom(json: string | undefined): SpeakingRates {
  const out: SpeakingRates = structuredClone(DEFAULT_SPEAKING_RATES);
  if (!json) return out;
  const given = JSON.parse(json) as Partial<Record<Engine, Partial<Record<LanguageClass, Partial<SpeakingRate>>>>>;
  for (const [engine, classes] of Object.entries(given)) {
    if (!(engine in out)) throw new Error(`SPEAKING_RATES: unknown engine ${engine} (local, openai, elevenlabs)`);
    for (const [cls, rate] of Object.entries(classes ?? {})) {
      if (cls !== 'cjk' && cls !== 'other') throw new Error(`SPEAKING_RATES: unknown language class ${cls} (cjk, other)`);
      const target = out[engine as Engine][cls];
      if (rate?.charsPerSecond !== undefined) {
        if (!(rate.charsPerSecond > 0)) throw new Error(`SPEAKING_RATES: ${engine}.${cls}.charsPerSecond must be positive`);
        target.charsPerSecond = rate.charsPerSecond;
      }
      if (rate?.lineSeconds !== undefined) {
        if (!(rate.lineSeconds >= 0)) throw new Error(`SPEAKING_RATES: ${engine}.${cls}.lineSeconds must be zero or more`);
        target.lineSeconds = rate.lineSeconds;
      }
    }
  }
  return out;
}
