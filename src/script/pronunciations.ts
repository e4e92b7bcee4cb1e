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
 * - Longest term first, in one pass: where terms overlap the longest one wins, and a replacement
 *   is never itself replaced again (`SQL` → `sequel` and `sequel` → `…` do not chain).
 */
export interface Pronunciation {
  term: string;
  say: string;
}

/** Scripts whose words touch each other (or take attached particles): their edges need no boundary. */
const UNSPACED = String.raw`\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}`;
/** A character that continues a word of a spaced script. */
const WORD_CHAR = String.raw`[[\p{L}\p{N}\p{M}_]--[${UNSPACED}]]`;
const wordChar = new RegExp(`^${WORD_CHAR}$`, 'v');
const escape = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/**
 * Compiles a dictionary once into the function that rewrites a text; a job speaks many lines with
 * the same dictionary. An empty dictionary gives the text back unchanged.
 */
export function compilePronunciations(entries: readonly Pronunciation[]): (text: string) => string {
  const say = new Map(entries.filter((e) => e.term.length > 0).map((e) => [e.term, e.say]));
  if (say.size === 0) return (text) => text;
  const byLength = [...say.keys()].sort((a, b) => [...b].length - [...a].length || (a < b ? -1 : a > b ? 1 : 0));
  const alternatives = byLength.map((term) => {
    const chars = [...term];
    const lead = wordChar.test(chars[0]!) ? `(?<!${WORD_CHAR})` : '';
    const trail = wordChar.test(chars[chars.length - 1]!) ? `(?!${WORD_CHAR})` : '';
    return `${lead}${escape(term)}${trail}`;
  });
  // One alternation: at each position the first (longest) term that fits wins, and the scan goes
  // on after the replaced text, so a replacement is never looked at again.
  const pattern = new RegExp(alternatives.join('|'), 'gv');
  return (text) => text.replace(pattern, (term) => say.get(term) ?? term);
}

/** The text as it is sent to the speech engine. */
export function applyPronunciations(text: string, entries: readonly Pronunciation[]): string {
  return compilePronunciations(entries)(text);
}
