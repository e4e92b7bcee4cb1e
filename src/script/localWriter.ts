import { sourceDocument, type SourceDocument } from '../sources/markdown';
import { chunkSpans, sentenceSpans } from '../sources/text';
import { DEFAULT_SPEAKING_RATES, lineSeconds, PAUSE_BETWEEN_TURNS_SEC, scriptSeconds, speakingRateOf, type ScriptPace, type SpeakingRate } from './pace';
import { closingLine, followUpLine, isChinese, openingLine, sectionIntroLine, type ScriptStyle } from './phrases';

export type { ScriptStyle } from './phrases';

/**
 * Offline script writer, used when no LLM is configured.
 *
 * It writes a conversation without inventing anything: the host opens, introduces each section
 * of the source by its title and asks short questions from a phrase bank; the guest carries the
 * source's own sentences, in order. Sections are covered evenly (each gets its first turn before
 * any gets its second), so a short podcast touches every part of a long source, and a longer
 * target only adds turns: the lines of a shorter script stay as they were, which is what lets the
 * length loop re-speak just the new ones. Same input, same output.
 */

export interface LocalScriptInput {
  title?: string | null;
  /** The source as stored: Markdown or plain text. */
  text: string;
  language: string;
  targetDurationSec: number;
  hostVoiceId: string;
  guestVoiceId: string;
  style?: ScriptStyle;
  /** How fast the two voices speak; default espeak-ng's measured rate for the language. */
  pace?: ScriptPace;
}

export interface ScriptLine {
  role: 'host' | 'guest';
  text: string;
  voiceId: string;
  /** Set on the host line that opens a section of the source: its chapter title. */
  section?: string;
}

export interface LocalScript {
  lines: ScriptLine[];
  /** Length of the final file at `pace`, pauses included. */
  expectedSeconds: number;
  /** True when the script uses all of the source: a longer target could not be met. */
  usedAllMaterial: boolean;
}

/** Hard ceiling for one turn, in characters (Chinese says fewer characters a second). */
export function maxTurnChars(language: string): number {
  return isChinese(language) ? 200 : 400;
}

interface StyleShape {
  /** Stop adding sentences to a turn once it is this long, in seconds of speech. */
  softTurnSec: number;
  maxSentences: number;
}

const STYLE_SHAPES: Record<ScriptStyle, StyleShape> = {
  casual: { softTurnSec: 16, maxSentences: 3 },
  formal: { softTurnSec: 24, maxSentences: 4 },
  debate: { softTurnSec: 12, maxSentences: 2 },
};

interface Section {
  title: string | null;
  /** The guest's turns: each a run of whole sentences from one paragraph. */
  turns: string[];
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

/**
 * A paragraph's sentences, long ones cut at clauses, grouped into turns of speakable length.
 * Turn sizes are measured at a fixed rate, not the voices' pace: the length loop changes the
 * pace, and the turns (and so their audio) must stay the same.
 */
function paragraphTurns(paragraph: string, language: string, shape: StyleShape, rate: SpeakingRate): string[] {
  const limit = maxTurnChars(language);
  const units = sentenceSpans(paragraph, language)
    .filter((s) => /[\p{L}\p{N}]/u.test(paragraph.slice(s.start, s.end)))
    .flatMap((s) =>
      s.end - s.start <= limit
        ? [s]
        : chunkSpans(paragraph.slice(s.start, s.end), limit, language).map((c) => ({ start: s.start + c.start, end: s.start + c.end })),
    );
  const turns: string[] = [];
  let first: (typeof units)[number] | undefined;
  let last: (typeof units)[number] | undefined;
  let count = 0;
  const flush = () => {
    if (first && last) turns.push(paragraph.slice(first.start, last.end));
  };
  for (const unit of units) {
    const canJoin =
      first !== undefined &&
      count < shape.maxSentences &&
      unit.end - first.start <= limit &&
      lineSeconds(paragraph.slice(first.start, last!.end), rate) < shape.softTurnSec;
    if (canJoin) {
      last = unit;
      count++;
    } else {
      flush();
      first = last = unit;
      count = 1;
    }
  }
  flush();
  return turns;
}

/** A turn this short (a list item, a one-line paragraph) joins the next one when both fit in a turn. */
const TINY_TURN_SEC = 4;

function sectionsOf(doc: SourceDocument, language: string, shape: StyleShape): Section[] {
  const joiner = isChinese(language) ? '' : ' ';
  const rate = speakingRateOf('local', language, DEFAULT_SPEAKING_RATES);
  return doc.sections
    .map((s) => {
      const turns: string[] = [];
      for (const turn of s.paragraphs.flatMap((p) => paragraphTurns(p, language, shape, rate))) {
        const prev = turns[turns.length - 1];
        const joined = prev === undefined ? '' : `${prev}${joiner}${turn}`;
        if (
          prev !== undefined &&
          lineSeconds(prev, rate) < TINY_TURN_SEC &&
          joined.length <= maxTurnChars(language) &&
          lineSeconds(joined, rate) <= shape.softTurnSec
        ) {
          turns[turns.length - 1] = joined;
        } else turns.push(turn);
      }
      return { title: s.title, turns };
    })
    .filter((s) => s.turns.length > 0);
}

/** Turns taken per section → the dialogue. */
function render(sections: Section[], taken: number[], input: LocalScriptInput, language: string, style: ScriptStyle, title: string | null): ScriptLine[] {
  const host = (text: string): ScriptLine => ({ role: 'host', text, voiceId: input.hostVoiceId });
  const guest = (text: string): ScriptLine => ({ role: 'guest', text, voiceId: input.guestVoiceId });
  const lines: ScriptLine[] = [];
  let hostNext = openingLine(language, style, title);
  let afterPrevious: (() => string) | null = null;
  sections.forEach((section, k) => {
    const n = taken[k] ?? 0;
    if (n === 0) return;
    // The host line before a section: its introduction when it has a title, else a question.
    const intro = section.title && section.title !== title ? sectionIntroLine(language, style, section.title, k) : null;
    if (lines.length === 0) hostNext = intro ? `${hostNext}${isChinese(language) ? '' : ' '}${intro}` : hostNext;
    else hostNext = intro ?? afterPrevious!();
    for (let r = 0; r < n; r++) {
      const opener = host(hostNext);
      // Chapters: the opening line starts the first; every titled section starts its own.
      const chapter = r === 0 ? (section.title ?? (lines.length === 0 ? title : null)) : null;
      lines.push(chapter ? { ...opener, section: chapter } : opener, guest(section.turns[r]!));
      hostNext = followUpLine(language, style, k, r);
    }
    const lastTurn = n - 1;
    afterPrevious = () => followUpLine(language, style, k, lastTurn);
  });
  lines.push(host(closingLine(language, style)));
  return lines;
}

/**
 * Turns a source into a host/guest dialogue without inventing content, sized to the target at
 * the given pace. Throws if the text has no sentences.
 */
export function writeLocalScript(input: LocalScriptInput): LocalScript {
  assertInput(input);
  const language = input.language || 'en';
  const style = input.style ?? 'casual';
  const shape = STYLE_SHAPES[style];
  const pace = input.pace ?? {
    host: speakingRateOf('local', language, DEFAULT_SPEAKING_RATES),
    guest: speakingRateOf('local', language, DEFAULT_SPEAKING_RATES),
  };
  const doc = sourceDocument(input.text);
  const title = input.title?.trim() || doc.title;
  const sections = sectionsOf(doc, language, shape);
  if (sections.length === 0) throw new Error('The source text has no sentences to turn into a script.');

  // Every section's first turn, then every section's second, and so on: a fixed order, so a
  // larger budget takes a longer prefix of it and keeps everything a smaller one took.
  const order: Array<[number, number]> = [];
  const rounds = Math.max(...sections.map((s) => s.turns.length));
  for (let r = 0; r < rounds; r++) sections.forEach((s, k) => r < s.turns.length && order.push([k, r]));

  const typicalHostSec = lineSeconds(followUpLine(language, style, 0, 0), pace.host) + 2 * PAUSE_BETWEEN_TURNS_SEC;
  const taken: number[] = sections.map((_, k) => (k === 0 ? 1 : 0));
  let taking = 1;
  let estimate = scriptSeconds(render(sections, taken, input, language, style, title), pace);
  for (; taking < order.length; taking++) {
    const [k, r] = order[taking]!;
    const cost = lineSeconds(sections[k]!.turns[r]!, pace.guest) + typicalHostSec;
    // Aim at the target, not under it: take a turn when most of it fits.
    if (estimate + cost / 2 > input.targetDurationSec) break;
    estimate += cost;
    taken[k] = r + 1;
  }
  let lines = render(sections, taken, input, language, style, title);
  let expected = scriptSeconds(lines, pace);
  // The per-turn costs were approximate: give back whole turns, newest first, until it fits.
  while (expected > input.targetDurationSec * 1.03 && taking > 1) {
    const [k, r] = order[--taking]!;
    taken[k] = r;
    lines = render(sections, taken, input, language, style, title);
    expected = scriptSeconds(lines, pace);
  }
  return { lines, expectedSeconds: expected, usedAllMaterial: taking >= order.length };
}
