/**
 * Offline text-to-speech through espeak-ng: robotic, but free, fast (hundreds of times real
 * time) and always available, so development, demos and tests never need an API key.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

import { AbortError, transcode } from '../../audio/ffmpeg';
import { ProviderError, type SynthesisRequest, type SynthesisResult, type TtsProvider } from './types';

/** espeak-ng's default rate, which speed 1.0 maps to. */
const BASE_WPM = 175;
const MIN_WPM = 80;
const MAX_WPM = 450;
export const LOCAL_MAX_CHARS = 4000;

/** Variants shipped with espeak-ng ('+f3' / '+m3' suit speech best among the stock ones). */
const FEMALE_VARIANT = 'f3';
const MALE_VARIANT = 'm3';

/**
 * espeak-ng 1.51 voice names (`espeak-ng --voices`), keyed by lower-case BCP 47-ish tag.
 * Only tags that differ from the voice name, or whose primary subtag alone is ambiguous, need
 * an alias; everything else is matched against ESPEAK_LANGUAGES.
 */
const ESPEAK_LANGUAGES = new Set([
  'af',
  'am',
  'an',
  'ar',
  'as',
  'az',
  'ba',
  'be',
  'bg',
  'bn',
  'bpy',
  'bs',
  'ca',
  'cmn',
  'cs',
  'cv',
  'cy',
  'da',
  'de',
  'el',
  'en-029',
  'en-gb',
  'en-us',
  'eo',
  'es',
  'es-419',
  'et',
  'eu',
  'fa',
  'fi',
  'fr-be',
  'fr-ch',
  'fr-fr',
  'ga',
  'gd',
  'gn',
  'grc',
  'gu',
  'hak',
  'haw',
  'he',
  'hi',
  'hr',
  'ht',
  'hu',
  'hy',
  'hyw',
  'ia',
  'id',
  'io',
  'is',
  'it',
  'ja',
  'jbo',
  'ka',
  'kk',
  'kl',
  'kn',
  'ko',
  'kok',
  'ku',
  'ky',
  'la',
  'lb',
  'lfn',
  'lt',
  'ltg',
  'lv',
  'mi',
  'mk',
  'ml',
  'mr',
  'ms',
  'mt',
  'my',
  'nb',
  'nci',
  'ne',
  'nl',
  'nog',
  'om',
  'or',
  'pa',
  'pap',
  'piqd',
  'pl',
  'pt',
  'pt-br',
  'py',
  'qdb',
  'qu',
  'quc',
  'qya',
  'ro',
  'ru',
  'ru-lv',
  'sd',
  'shn',
  'si',
  'sjn',
  'sk',
  'sl',
  'smj',
  'sq',
  'sr',
  'sv',
  'sw',
  'ta',
  'te',
  'th',
  'tk',
  'tn',
  'tr',
  'tt',
  'ug',
  'uk',
  'ur',
  'uz',
  'vi',
  'yue',
]);
const LANGUAGE_ALIASES: Record<string, string> = {
  fr: 'fr-fr',
  'pt-pt': 'pt',
  no: 'nb',
  nn: 'nb',
  iw: 'he',
  in: 'id',
  'es-mx': 'es-419',
  'es-us': 'es-419',
  'es-ar': 'es-419',
  'es-co': 'es-419',
  'es-cl': 'es-419',
  'es-pe': 'es-419',
  sh: 'sr',
};

/**
 * The espeak-ng voice spec for a language and gender: zh* → Mandarin ('cmn'), en* → 'en-us',
 * other languages → the closest espeak-ng language, falling back to 'en-us'. Female/male pick
 * the f3/m3 variant; neutral/null keep the voice's own (male-sounding) default.
 */
export function localVoiceFor(language: string, gender: 'male' | 'female' | 'neutral' | null): string {
  const base = espeakLanguageFor(language);
  if (gender === 'female') return `${base}+${FEMALE_VARIANT}`;
  if (gender === 'male') return `${base}+${MALE_VARIANT}`;
  return base;
}

function espeakLanguageFor(language: string): string {
  const tag = (language || '').trim().toLowerCase().replace(/_/g, '-');
  if (tag === 'zh' || tag.startsWith('zh-') || tag === 'cmn' || tag.startsWith('cmn-')) return 'cmn';
  if (tag === 'en' || tag.startsWith('en-')) return 'en-us';
  // Longest prefix first: 'pt-br-x' → 'pt-br' → 'pt'.
  const parts = tag.split('-').filter(Boolean);
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join('-');
    const alias = LANGUAGE_ALIASES[candidate];
    if (alias) return alias;
    if (ESPEAK_LANGUAGES.has(candidate)) return candidate;
  }
  return 'en-us';
}

/** '<language>' or '<language>+<variant>'; also guarantees the spec can never look like an option. */
const VOICE_SPEC = /^[a-z0-9][a-z0-9-]*(\+[a-z0-9][a-z0-9_-]*)?$/i;

export function speedToWpm(speed: number): number {
  const s = Number.isFinite(speed) && speed > 0 ? speed : 1;
  return Math.min(MAX_WPM, Math.max(MIN_WPM, Math.round(BASE_WPM * s)));
}

export function createLocalTts(opts: { espeakPath?: string } = {}): TtsProvider {
  const espeakPath = opts.espeakPath ?? process.env.ESPEAK_PATH ?? 'espeak-ng';

  async function synthesize(req: SynthesisRequest): Promise<SynthesisResult> {
    const { text, providerVoice, speed, format, outputPath, signal } = req;
    if (signal?.aborted) throw new AbortError('The operation was aborted', { cause: signal.reason });
    if (typeof text !== 'string' || text.trim().length === 0) {
      throw new ProviderError('TTS_INVALID_INPUT', 'local TTS: text is empty', false);
    }
    if (text.length > LOCAL_MAX_CHARS) {
      throw new ProviderError('TTS_INVALID_INPUT', `local TTS: text is ${text.length} characters, limit is ${LOCAL_MAX_CHARS}`, false);
    }
    if (!VOICE_SPEC.test(providerVoice)) {
      throw new ProviderError('TTS_VOICE_UNKNOWN', `local TTS: invalid espeak-ng voice spec '${providerVoice}'`, false);
    }
    if (format !== 'wav' && format !== 'mp3') {
      throw new ProviderError('TTS_INVALID_INPUT', `local TTS: unsupported format '${String(format)}'`, false);
    }

    const target = path.resolve(outputPath);
    const stem = `${target}.${randomBytes(6).toString('hex')}`;
    const tmpWav = `${stem}.tmp.wav`;
    const tmpMp3 = `${stem}.tmp.mp3`;
    try {
      await runEspeak(espeakPath, ['-b', '1', '-v', providerVoice, '-s', String(speedToWpm(speed)), '-w', tmpWav, '--stdin'], escapeForEspeak(text), signal);
      const wavStat = await fsp.stat(tmpWav).catch(() => null);
      if (!wavStat) throw new ProviderError('TTS_LOCAL_FAILED', 'local TTS: espeak-ng wrote no audio', true);

      if (format === 'mp3') {
        try {
          await transcode(tmpWav, tmpMp3, 'mp3', signal);
        } catch (err) {
          if (err instanceof Error && err.name === 'AbortError') throw err;
          throw new ProviderError('TTS_LOCAL_FAILED', `local TTS: MP3 encoding failed: ${(err as Error).message}`, true);
        }
        await fsp.rename(tmpMp3, target);
      } else {
        await fsp.rename(tmpWav, target);
      }
      const { size } = await fsp.stat(target);
      return { bytes: size, characters: text.length, apiCost: 0 };
    } finally {
      await Promise.all([fsp.rm(tmpWav, { force: true }), fsp.rm(tmpMp3, { force: true })]).catch(() => undefined);
    }
  }

  return { name: 'local', maxChars: LOCAL_MAX_CHARS, synthesize };
}

/**
 * espeak-ng reads '[[…]]' as raw phoneme input even in plain-text mode; splitting the brackets
 * keeps user text from being interpreted as phonemes.
 */
function escapeForEspeak(text: string): string {
  return text.replace(/\[\[/g, '[ [').replace(/\]\]/g, '] ]');
}

/** Text goes in on stdin, so nothing in it can be mistaken for an option or reach a shell. */
function runEspeak(bin: string, args: string[], text: string, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    let aborted = false;
    let settled = false;
    const onAbort = (): void => {
      aborted = true;
      // espeak-ng has nothing to flush; a partial file is deleted by the caller.
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        finish(new ProviderError('TTS_ENGINE_MISSING', `local TTS: espeak-ng not runnable at '${bin}' (${err.code})`, false));
      } else {
        finish(new ProviderError('TTS_LOCAL_FAILED', `local TTS: could not start espeak-ng: ${err.message}`, true));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    // EPIPE if espeak-ng dies before reading everything; its exit status tells the real story.
    child.stdin.on('error', () => undefined);
    child.stdin.end(text, 'utf8');

    child.on('close', (code, sig) => {
      if (aborted) return finish(new AbortError('The operation was aborted', { cause: signal?.reason }));
      if (code === 0) return finish();
      const detail = stderr.trim() || (code !== null ? `exit code ${code}` : `killed by ${sig}`);
      if (/voice does not exist/i.test(detail)) {
        return finish(new ProviderError('TTS_VOICE_UNKNOWN', `local TTS: ${detail}`, false));
      }
      finish(new ProviderError('TTS_LOCAL_FAILED', `local TTS: espeak-ng failed: ${detail}`, true));
    });
  });
}
