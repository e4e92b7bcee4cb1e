/**
 * Text utilities shared by the source fetchers and the script writers:
 * normalisation, sentence splitting, chunking, and speech-length estimates.
 *
 * Splitting and chunking work on spans (offsets into the input) so that the
 * pieces are always exact slices of the input: nothing is rewritten, dropped
 * or reordered except whitespace at piece boundaries.
 */

export interface TextSpan {
  start: number;
  end: number;
}

// ---------------------------------------------------------------------------
// Normalisation

// C0/C1 controls except \n and \t (tab becomes a space below), plus BOM/ZWNBSP.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFEFF]/g;

export function normaliseText(s: string): string {
  return s
    .normalize('NFC')
    .replace(/\r\n?|[\u0085\u2028\u2029]/g, '\n')
    .replace(/[\t\v\f]/g, ' ')
    .replace(CONTROL_CHARS, '')
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

// ---------------------------------------------------------------------------
// Sentence splitting

const WHITESPACE = /\s/;

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && WHITESPACE.test(ch);
}

/** Shrinks a span so it has no leading/trailing whitespace; null if nothing is left. */
function trimSpan(text: string, start: number, end: number): TextSpan | null {
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  return start < end ? { start, end } : null;
}

function makeSegmenter(language: string | undefined): Intl.Segmenter {
  try {
    return new Intl.Segmenter(language || undefined, { granularity: 'sentence' });
  } catch {
    // An invalid language tag should not make splitting fail.
    return new Intl.Segmenter(undefined, { granularity: 'sentence' });
  }
}

// ICU's sentence rules do not know abbreviations; a segment that ends in one of
// these is glued to the next segment.
const ALWAYS_ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'mx',
  'dr',
  'prof',
  'rev',
  'hon',
  'gen',
  'col',
  'capt',
  'lt',
  'sgt',
  'gov',
  'sen',
  'rep',
  'st',
  'mt',
  'vs',
  'e.g',
  'i.e',
  'cf',
  'viz',
  'approx',
]);
// Only abbreviations when a number follows ("No. 5", "Fig. 3", "pp. 12").
const NUMERIC_ABBREVIATIONS = new Set(['no', 'nos', 'fig', 'figs', 'vol', 'p', 'pp', 'ch', 'sec', 'art']);

function endsWithAbbreviation(segment: string, next: string): boolean {
  const m = /(?:^|[\s([“"'‘])([A-Za-z](?:[A-Za-z]*|(?:\.[A-Za-z])+))\.$/.exec(segment);
  if (!m) return false;
  const word = m[1]!;
  const lower = word.toLowerCase();
  if (ALWAYS_ABBREVIATIONS.has(lower)) return true;
  if (NUMERIC_ABBREVIATIONS.has(lower) && /^\d/.test(next)) return true;
  // A single capital initial ("John F. Kennedy", "J. K. Rowling") when it sits
  // after a capitalised word or another initial, or opens the segment.
  if (/^[A-Z]$/.test(word) && /^[A-Z]/.test(next)) {
    const before = segment.slice(0, m.index + m[0].length - word.length - 1).trimEnd();
    if (before === '') return true;
    const prevWord = /(\S+)$/.exec(before)?.[1] ?? '';
    return /^[A-Z]/.test(prevWord);
  }
  return false;
}

// Chinese sentence-ish breaks that ICU does not make: after ；or an ellipsis,
// with any closing quotes/brackets kept on the left side.
const CJK_EXTRA_BREAK = /；|[…⋯]+/g;
const CLOSERS = /[”’」』）)\]】》〉"']/;
const CJK_CHAR = /[\u3000-\u303F\u3400-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]/;

function splitCjkExtra(text: string, span: TextSpan): TextSpan[] {
  const out: TextSpan[] = [];
  let start = span.start;
  const re = new RegExp(CJK_EXTRA_BREAK.source, 'g');
  const slice = text.slice(span.start, span.end);
  let m: RegExpExecArray | null;
  while ((m = re.exec(slice)) !== null) {
    const markStart = span.start + m.index;
    // An ellipsis only ends a sentence in Chinese context, so English
    // "wait… what" stays whole.
    if (m[0] !== '；' && !CJK_CHAR.test(text[markStart - 1] ?? '')) continue;
    let cut = markStart + m[0].length;
    while (cut < span.end && CLOSERS.test(text[cut] ?? '')) cut++;
    if (cut >= span.end) break;
    const piece = trimSpan(text, start, cut);
    if (piece) out.push(piece);
    start = cut;
  }
  const rest = trimSpan(text, start, span.end);
  if (rest) out.push(rest);
  return out;
}

/**
 * Sentence spans of `text`. Spans are trimmed, non-empty, ordered and
 * non-overlapping; only whitespace lies between them.
 */
export function sentenceSpans(text: string, language?: string): TextSpan[] {
  if (text.trim() === '') return [];
  const raw: TextSpan[] = [];
  for (const seg of makeSegmenter(language).segment(text)) {
    const span = trimSpan(text, seg.index, seg.index + seg.segment.length);
    if (span) raw.push(span);
  }

  const merged: TextSpan[] = [];
  for (const span of raw) {
    const prev = merged[merged.length - 1];
    if (prev) {
      const gap = text.slice(prev.end, span.start);
      // Never glue across a line break: that is a heading or paragraph edge.
      if (!gap.includes('\n') && endsWithAbbreviation(text.slice(prev.start, prev.end), text.slice(span.start, span.end))) {
        prev.end = span.end;
        continue;
      }
    }
    merged.push({ ...span });
  }

  return merged.flatMap((s) => splitCjkExtra(text, s));
}

/** Splits text into sentences (Chinese and English aware). */
export function splitSentences(text: string, language?: string): string[] {
  return sentenceSpans(text, language).map((s) => text.slice(s.start, s.end));
}

// ---------------------------------------------------------------------------
// Chunking

const CLAUSE_PUNCT = /[，、；：,;:—–)\]）」』”’》]/;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Breaks one trimmed span that is longer than maxChars into spans that fit. */
function splitLongSpan(text: string, span: TextSpan, maxChars: number): TextSpan[] {
  const out: TextSpan[] = [];
  let start = span.start;
  while (start < span.end) {
    if (span.end - start <= maxChars) {
      out.push({ start, end: span.end });
      break;
    }
    const limit = start + maxChars; // piece is [start, cut) with cut <= limit

    let punctCut = -1;
    for (let i = limit - 1; i > start; i--) {
      if (CLAUSE_PUNCT.test(text[i] ?? '')) {
        punctCut = i + 1;
        break;
      }
    }
    let spaceCut = -1;
    for (let i = limit; i > start; i--) {
      if (isSpace(text[i])) {
        spaceCut = i;
        break;
      }
    }

    let cut: number;
    // A clause break is nicer, but not if it leaves a tiny piece when a word
    // break further on would do.
    if (punctCut > 0 && (punctCut - start >= maxChars / 2 || spaceCut < 0)) cut = punctCut;
    else if (spaceCut > 0) cut = spaceCut;
    else {
      cut = limit;
      // Keep surrogate pairs together when there is room to.
      if (maxChars > 1 && isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
    }

    const piece = trimSpan(text, start, cut);
    if (piece) out.push(piece);
    start = cut;
    while (start < span.end && isSpace(text[start])) start++;
  }
  return out;
}

/**
 * Chunk spans of at most maxChars (UTF-16 code units) each, packed greedily
 * from whole sentences; sentences that are too long on their own are broken at
 * clause punctuation, then whitespace, then hard.
 */
export function chunkSpans(text: string, maxChars: number, language?: string): TextSpan[] {
  if (!Number.isInteger(maxChars) || maxChars < 1) {
    throw new RangeError(`maxChars must be a positive integer, got ${maxChars}`);
  }
  const atoms: TextSpan[] = [];
  for (const s of sentenceSpans(text, language)) {
    if (s.end - s.start <= maxChars) atoms.push(s);
    else atoms.push(...splitLongSpan(text, s, maxChars));
  }

  const chunks: TextSpan[] = [];
  let current: TextSpan | null = null;
  for (const atom of atoms) {
    if (current && atom.end - current.start <= maxChars) {
      current.end = atom.end;
    } else {
      if (current) chunks.push(current);
      current = { start: atom.start, end: atom.end };
    }
  }
  if (current) chunks.push(current);
  return chunks;
}

/** Splits text into chunks of at most maxChars, preferring sentence boundaries. */
export function chunkText(text: string, maxChars: number, language?: string): string[] {
  return chunkSpans(text, maxChars, language).map((s) => text.slice(s.start, s.end));
}
