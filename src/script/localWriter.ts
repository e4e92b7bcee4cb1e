import { chunkSpans, estimateSpeechSeconds, normaliseText, sentenceSpans, type TextSpan } from '../sources/text';

/**
 * Offline script writer, used when no LLM is configured.
 *
 * It is deliberately dumb and honest: the dialogue is the source's own
 * sentences, in order, split between two voices. The only words it adds are a
 * fixed opening and closing line for the host. Same input, same output.
 */

export type ScriptStyle = 'casual' | 'formal' | 'debate';

export interface LocalScriptInput {
  title?: string | null;
  text: string;
  language: string;
  targetDurationSec: number;
  hostVoiceId: string;
  guestVoiceId: string;
  style?: ScriptStyle;
}

export interface ScriptLine {
  role: 'host' | 'guest';
  text: string;
  voiceId: string;
}

/** Hard ceiling for one turn, in characters. */
export const MAX_TURN_CHARS = 400;
const MAX_TURN_SENTENCES = 3;
const MAX_TITLE_CHARS = 120;

interface StyleShape {
  /** Stop adding sentences to a turn once it is this long, in seconds of speech. */
  softTurnSec: number;
  maxSentences: number;
}

const STYLE_SHAPES: Record<ScriptStyle, StyleShape> = {
  casual: { softTurnSec: 12, maxSentences: 2 },
  formal: { softTurnSec: 20, maxSentences: MAX_TURN_SENTENCES },
  debate: { softTurnSec: 8, maxSentences: 2 },
};

function isChinese(language: string): boolean {
  return /^zh(?:$|[-_])/i.test(language.trim()) || /^(cmn|yue|zho)(?:$|[-_])/i.test(language.trim());
}

function cleanTitle(title: string | null | undefined): string | null {
  if (!title) return null;
  let t = normaliseText(title).replace(/\s+/g, ' ');
  if (t === '') return null;
  if (t.length > MAX_TITLE_CHARS) t = `${t.slice(0, MAX_TITLE_CHARS - 1).trimEnd()}…`;
  return t;
}

/** The fixed framing lines. Exported so callers and tests can tell them apart from content. */
export function framingLines(language: string, title: string | null | undefined, style: ScriptStyle = 'casual'): { opening: string; closing: string } {
  const t = cleanTitle(title);
  if (isChinese(language)) {
    // Don't double the full stop when the title already ends a sentence.
    const end = t && /[。！？!?…]$/.test(t) ? '' : '。';
    const opening = t ? `欢迎收听。今天我们来聊：${t}${end}` : '欢迎收听。今天我们来读一篇文章。';
    const closing =
      style === 'formal'
        ? '本期节目到此结束，感谢您的收听。'
        : style === 'debate'
          ? '今天就讨论到这里，感谢收听。'
          : '以上就是今天的内容，感谢收听，我们下期再见。';
    return { opening, closing };
  }
  const end = t && /[.!?…]$/.test(t) ? '' : '.';
  const opening = t ? `Welcome. Today: ${t}${end}` : "Welcome. Today we're reading an article together.";
  const closing =
    style === 'formal'
      ? 'That concludes this episode. Thank you for listening.'
      : style === 'debate'
        ? "That's where we'll leave the debate today. Thanks for listening."
        : "That's all for today. Thanks for listening.";
  return { opening, closing };
}

function assertInput(input: LocalScriptInput): void {
  if (typeof input.text !== 'string') throw new TypeError('writeLocalScript: text must be a string');
  if (!Number.isFinite(input.targetDurationSec) || input.targetDurationSec <= 0) {
    throw new RangeError(`writeLocalScript: targetDurationSec must be a positive number, got ${input.targetDurationSec}`);
  }
  if (!input.hostVoiceId || !input.guestVoiceId) {
    throw new TypeError('writeLocalScript: hostVoiceId and guestVoiceId are required');
  }
  if (input.style !== undefined && !(input.style in STYLE_SHAPES)) {
    throw new RangeError(`writeLocalScript: unknown style ${String(input.style)}`);
  }
}

function isSubstantive(source: string, span: TextSpan): boolean {
  return /[\p{L}\p{N}]/u.test(source.slice(span.start, span.end));
}

function spanSeconds(text: string, span: TextSpan, language: string): number {
  return estimateSpeechSeconds(text.slice(span.start, span.end), language);
}

/**
 * Picks the leading content that fits the budget, cutting at a sentence
 * boundary, and breaks any sentence longer than a turn into turn-sized pieces.
 */
function selectUnits(source: string, language: string, budgetSec: number): TextSpan[] {
  // Punctuation-only fragments ("……", "***") carry nothing to say.
  const sentences = sentenceSpans(source, language).filter((s) => isSubstantive(source, s));
  const pieces = (s: TextSpan): TextSpan[] =>
    s.end - s.start <= MAX_TURN_CHARS
      ? [s]
      : chunkSpans(source.slice(s.start, s.end), MAX_TURN_CHARS, language).map((c) => ({
          start: s.start + c.start,
          end: s.start + c.end,
        }));

  const kept: TextSpan[] = [];
  let used = 0;
  for (const s of sentences) {
    const sec = spanSeconds(source, s, language);
    if (kept.length > 0 && used + sec > budgetSec) break;
    if (kept.length === 0 && sec > budgetSec) {
      // Even the first sentence is over budget: keep as many of its pieces as
      // fit (at least one) rather than blowing far past the target.
      const [head, ...rest] = pieces(s);
      if (!head) return [];
      const out: TextSpan[] = [head];
      let firstUsed = spanSeconds(source, head, language);
      for (const p of rest) {
        const psec = spanSeconds(source, p, language);
        if (firstUsed + psec > budgetSec) break;
        firstUsed += psec;
        out.push(p);
      }
      return out;
    }
    kept.push(s);
    used += sec;
  }
  return kept.flatMap(pieces);
}

/** Groups consecutive units into turns of 1–3 sentences, never across a line break. */
function groupTurns(source: string, units: TextSpan[], language: string, shape: StyleShape): TextSpan[][] {
  const turns: TextSpan[][] = [];
  let turn: TextSpan[] = [];
  for (const unit of units) {
    const last = turn[turn.length - 1];
    const opening = turn[0];
    const canJoin =
      last !== undefined &&
      opening !== undefined &&
      turn.length < shape.maxSentences &&
      !source.slice(last.end, unit.start).includes('\n') &&
      unit.end - opening.start <= MAX_TURN_CHARS &&
      estimateSpeechSeconds(source.slice(opening.start, last.end), language) < shape.softTurnSec;
    if (canJoin) {
      turn.push(unit);
    } else {
      if (turn.length > 0) turns.push(turn);
      turn = [unit];
    }
  }
  if (turn.length > 0) turns.push(turn);
  return turns;
}

function canMerge(source: string, a: TextSpan[], b: TextSpan[]): boolean {
  const [aFirst, aLast, bFirst, bLast] = [a[0], a[a.length - 1], b[0], b[b.length - 1]];
  if (!aFirst || !aLast || !bFirst || !bLast) return false;
  return a.length + b.length <= MAX_TURN_SENTENCES && !source.slice(aLast.end, bFirst.start).includes('\n') && bLast.end - aFirst.start <= MAX_TURN_CHARS;
}

/**
 * Content turns start with the guest (the host has just opened), so an odd
 * number of them lets the host close without two host lines in a row. Returns
 * false if no regrouping within the limits achieves that.
 */
function makeTurnCountOdd(source: string, turns: TextSpan[][]): boolean {
  if (turns.length % 2 === 1) return true;
  // Splitting the last multi-sentence turn adds exactly one turn.
  for (let i = turns.length - 1; i >= 0; i--) {
    const t = turns[i]!;
    if (t.length > 1) {
      turns.splice(i, 1, t.slice(0, -1), t.slice(-1));
      return true;
    }
  }
  // Otherwise merging one adjacent pair removes exactly one.
  for (let i = turns.length - 2; i >= 0; i--) {
    const [a, b] = [turns[i]!, turns[i + 1]!];
    if (canMerge(source, a, b)) {
      turns.splice(i, 2, [...a, ...b]);
      return true;
    }
  }
  return false;
}

/**
 * Turns source text into a host/guest dialogue without inventing content.
 * Throws if the text has no sentences.
 */
export function writeLocalScript(input: LocalScriptInput): ScriptLine[] {
  assertInput(input);
  const language = input.language || 'en';
  const style = input.style ?? 'casual';
  const source = normaliseText(input.text);
  if (sentenceSpans(source, language).every((s) => !isSubstantive(source, s))) {
    throw new Error('The source text has no sentences to turn into a script.');
  }

  const { opening, closing } = framingLines(language, input.title, style);
  const framingSec = estimateSpeechSeconds(opening, language) + estimateSpeechSeconds(closing, language);
  const budgetSec = Math.max(0, input.targetDurationSec - framingSec);

  const units = selectUnits(source, language, budgetSec);
  const turns = groupTurns(source, units, language, STYLE_SHAPES[style]);
  const closeWithHost = makeTurnCountOdd(source, turns);

  const host = (text: string): ScriptLine => ({ role: 'host', text, voiceId: input.hostVoiceId });
  const guest = (text: string): ScriptLine => ({ role: 'guest', text, voiceId: input.guestVoiceId });

  const lines: ScriptLine[] = [host(opening)];
  turns.forEach((turn, i) => {
    // A turn is one contiguous slice of the source, so it is the source's own words.
    const text = source.slice(turn[0]!.start, turn[turn.length - 1]!.end);
    lines.push(i % 2 === 0 ? guest(text) : host(text));
  });
  // Strict alternation matters more than the sign-off when the turns can't be evened out.
  if (closeWithHost) lines.push(host(closing));
  return lines;
}

/** Rough spoken length of a script, for logging and tests. */
export function estimateScriptSeconds(lines: ScriptLine[], language: string): number {
  return lines.reduce((sum, l) => sum + estimateSpeechSeconds(l.text, language), 0);
}
