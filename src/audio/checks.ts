import { lineSeconds, speakingRateOf } from '../script/pace';

/**
 * Is this plausibly the spoken text? Providers sometimes answer 200 with an empty body, a few
 * hundred bytes of headers, or audio cut short; such a line must never be stored, stitched and
 * charged as if it were speech. The bounds are wide on purpose (voices, languages and speeds
 * differ a lot): a line fails only when it does not decode, lasts under 0.15 s, under a tenth of
 * what its text should take, or more than four times that plus 3 s.
 * Returns what is wrong, or null when the audio passes.
 */
export function spokenAudioProblem(a: { duration: number | null; text: string; engine: string; language: string; speed: number }): string | null {
  if (a.duration === null || !Number.isFinite(a.duration)) return 'the audio does not decode';
  // The engine's typical pace (src/script/pace.ts); the bounds are wide enough for any voice of it.
  const expected = lineSeconds(a.text, speakingRateOf(a.engine, a.language)) / (a.speed > 0 ? a.speed : 1);
  if (a.duration < 0.15 || a.duration < expected * 0.1) return `${a.duration.toFixed(2)} s of audio for text that takes about ${expected.toFixed(1)} s`;
  if (a.duration > expected * 4 + 3) return `${a.duration.toFixed(1)} s of audio for text that takes about ${expected.toFixed(1)} s`;
  return null;
}

/**
 * Is a stitched file its lines and pauses, whole: within 2 % (at least a second), plus 0.1 s a
 * line, since a line's duration read from its MP3 headers includes the encoder's delay and padding
 * (about 50 ms) that decoding trims?
 */
export function stitchedAudioProblem(duration: number, lineSeconds: number[], pausesMs: number[]): string | null {
  const expected = lineSeconds.reduce((a, b) => a + b, 0) + pausesMs.reduce((a, b) => a + b, 0) / 1000;
  if (Math.abs(duration - expected) <= Math.max(1, expected * 0.02) + 0.1 * lineSeconds.length) return null;
  return `the stitched audio lasts ${duration.toFixed(1)} s where its lines and pauses make ${expected.toFixed(1)} s`;
}
