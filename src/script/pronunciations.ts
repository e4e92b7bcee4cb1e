/**
 * A user's pronunciation dictionary applied to text before it is spoken: each `term` is sent to
 * the speech engine as its `say` form, while scripts and the API keep the original words.
 *
 * Matching rules (documented in the README):
 * - Case-sensitive: `US` is not `us`, so an acronym's entry never rewrites an ordinary word.
 * - Whole words where words are spaced: an edge of a term that is a letter or digit must not
 *   touch another letter or digit of the text (`AI` matches in `AI's` and `用AI做`, not in `PAID`).
 *   In scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) and in
 *   Korean, whose particles attach to words, such an edge matches anywhere (plain substring).
 * - Longest term first, in one pass: the text is read once from the start, at each place the
 *   longest term that fits wins, and a replacement is never itself replaced again (`SQL` →
 *   `sequel` and `sequel` → `…` do not chain).
 */
export interface Pronunciation {
  term: string;
  say: string;
}

/** Scripts whose words touch each other (or take attached particles): their edges need no boundary. */
const UNSPACED = String.raw`\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}`;
/** A character that continues a word of a spaced script. */
const WORD_CHAR = new RegExp(String.raw`^[[\p{L}\p{N}\p{M}_]--[${UNSPACED}]]$`, 'v');
const isWordChar = (ch: string | undefined) => ch !== undefined && WORD_CHAR.test(ch);

/** The character (code point) that ends just before `at`, and the one that starts at `at`. */
function charBefore(text: string, at: number): string | undefined {
  if (at <= 0) return undefined;
  const low = text.charCodeAt(at - 1);
  const start = low >= 0xdc00 && low <= 0xdfff && at >= 2 ? at - 2 : at - 1;
  return String.fromCodePoint(text.codePointAt(start)!);
}
const charAt = (text: string, at: number) => (at < text.length ? String.fromCodePoint(text.codePointAt(at)!) : undefined);

interface Entry {
  term: string;
  say: string;
  /** The term's edge is a letter or digit of a spaced script, so the text must not continue the word there. */
  wholeStart: boolean;
  wholeEnd: boolean;
}

/**
 * Compiles a dictionary once into the function that rewrites a text; a job speaks many lines with
 * the same dictionary. An empty dictionary gives the text back unchanged.
 */
export function compilePronunciations(entries: readonly Pronunciation[]): (text: string) => string {
  // Candidates by their first UTF-16 unit, longest first: one scan of the text, a few
  // comparisons where a term could start (a single regular expression of 500 alternatives is
  // hundreds of times slower).
  const byFirst = new Map<number, Entry[]>();
  const seen = new Set<string>();
  for (const { term, say } of entries) {
    if (term.length === 0 || seen.has(term)) continue;
    seen.add(term);
    const chars = [...term];
    const entry = { term, say, wholeStart: isWordChar(chars[0]), wholeEnd: isWordChar(chars[chars.length - 1]) };
    const list = byFirst.get(term.charCodeAt(0)) ?? [];
    list.push(entry);
    byFirst.set(term.charCodeAt(0), list);
  }
  if (byFirst.size === 0) return (text) => text;
  for (const list of byFirst.values()) list.sort((a, b) => [...b.term].length - [...a.term].length || (a.term < b.term ? -1 : 1));

  const matchAt = (text: string, at: number): Entry | undefined =>
    byFirst
      .get(text.charCodeAt(at))
      ?.find(
        (e) =>
          text.startsWith(e.term, at) && !(e.wholeStart && isWordChar(charBefore(text, at))) && !(e.wholeEnd && isWordChar(charAt(text, at + e.term.length))),
      );

  return (text) => {
    let out = '';
    let copied = 0;
    for (let at = 0; at < text.length;) {
      const hit = matchAt(text, at);
      if (!hit) {
        at++;
        continue;
      }
      // The scan goes on after the replaced text, so a replacement is never looked at again.
      out += text.slice(copied, at) + hit.say;
      at += hit.term.length;
      copied = at;
    }
    return copied === 0 ? text : out + text.slice(copied);
  };
}

/** The text as it is sent to the speech engine. */
export function applyPronunciations(text: string, entries: readonly Pronunciation[]): string {
  return compilePronunciations(entries)(text);
}
