/**
 * Is a script in the language it was asked in? Judged by writing system, over the whole script:
 * a Chinese podcast is written in Han characters, an English one in Latin letters. Statistical
 * detectors are no judge here: on a podcast's short lines tinyld takes plain English for Afrikaans
 * or Czech, and a Chinese script may quote English names (Kubernetes, PostgreSQL) in any line.
 * Languages that share a writing system (English and French) are not told apart.
 */

/** Writing systems as Unicode scripts. Those written without spaces count characters, the others words. */
const SYSTEMS = {
  Han: { unicode: ['Han'], perChar: true },
  Kana: { unicode: ['Hiragana', 'Katakana'], perChar: true },
  Hangul: { unicode: ['Hangul'], perChar: true },
  Thai: { unicode: ['Thai'], perChar: true },
  Lao: { unicode: ['Lao'], perChar: true },
  Khmer: { unicode: ['Khmer'], perChar: true },
  Myanmar: { unicode: ['Myanmar'], perChar: true },
  Latin: { unicode: ['Latin'], perChar: false },
  Cyrillic: { unicode: ['Cyrillic'], perChar: false },
  Greek: { unicode: ['Greek'], perChar: false },
  Arabic: { unicode: ['Arabic'], perChar: false },
  Hebrew: { unicode: ['Hebrew'], perChar: false },
  Devanagari: { unicode: ['Devanagari'], perChar: false },
  Bengali: { unicode: ['Bengali'], perChar: false },
  Gurmukhi: { unicode: ['Gurmukhi'], perChar: false },
  Gujarati: { unicode: ['Gujarati'], perChar: false },
  Tamil: { unicode: ['Tamil'], perChar: false },
  Telugu: { unicode: ['Telugu'], perChar: false },
  Kannada: { unicode: ['Kannada'], perChar: false },
  Malayalam: { unicode: ['Malayalam'], perChar: false },
  Sinhala: { unicode: ['Sinhala'], perChar: false },
  Georgian: { unicode: ['Georgian'], perChar: false },
  Armenian: { unicode: ['Armenian'], perChar: false },
  Ethiopic: { unicode: ['Ethiopic'], perChar: false },
} as const;
type WritingSystem = keyof typeof SYSTEMS;

const COUNTERS = Object.entries(SYSTEMS).map(([name, s]) => ({
  name: name as WritingSystem,
  pattern: new RegExp(`[${s.unicode.map((u) => `\\p{Script=${u}}`).join('')}]${s.perChar ? '' : '+'}`, 'gu'),
}));

const BY_LANGUAGE: Record<string, WritingSystem[]> = {};
const written = (systems: WritingSystem[], languages: string) => languages.split(' ').forEach((l) => (BY_LANGUAGE[l] = systems));
written(['Han'], 'zh zho chi cmn yue wuu');
written(['Han', 'Kana'], 'ja jpn');
written(['Hangul', 'Han'], 'ko kor');
written(['Thai'], 'th');
written(['Lao'], 'lo');
written(['Khmer'], 'km');
written(['Myanmar'], 'my');
written(['Cyrillic'], 'ru uk be bg mk kk ky mn tg tt ba');
written(['Greek'], 'el');
written(['Arabic'], 'ar fa ur ps ckb sd ug');
written(['Hebrew'], 'he iw yi');
written(['Devanagari'], 'hi mr ne sa');
written(['Bengali'], 'bn as');
written(['Gurmukhi'], 'pa');
written(['Gujarati'], 'gu');
written(['Tamil'], 'ta');
written(['Telugu'], 'te');
written(['Kannada'], 'kn');
written(['Malayalam'], 'ml');
written(['Sinhala'], 'si');
written(['Georgian'], 'ka');
written(['Armenian'], 'hy');
written(['Ethiopic'], 'am ti');
written(
  ['Latin'],
  'en eng fr fra de deu es spa it ita pt por nl sv no nb nn da fi is pl cs sk sl hr bs hu ro tr vi id ms tl fil sw ca eu gl et lv lt sq ga cy af az uz mt lb zu xh yo ha so eo la',
);

/** ISO 15924 script subtags (zh-Hant, sr-Latn, uz-Cyrl) name the writing system outright. */
const BY_SCRIPT_SUBTAG: Record<string, WritingSystem[]> = {
  hans: ['Han'],
  hant: ['Han'],
  jpan: ['Han', 'Kana'],
  kore: ['Hangul', 'Han'],
  latn: ['Latin'],
  cyrl: ['Cyrillic'],
  arab: ['Arabic'],
  deva: ['Devanagari'],
};

/** The writing systems a language tag is written in, or null where we do not know it (no judgement then). */
function writingSystemsOf(language: string): WritingSystem[] | null {
  const [primary = '', ...rest] = language.trim().toLowerCase().split(/[-_]/);
  const script = rest.find((s) => /^[a-z]{4}$/.test(s));
  return (script && BY_SCRIPT_SUBTAG[script]) || BY_LANGUAGE[primary] || null;
}

const FOREIGN_NAMES: Partial<Record<WritingSystem, string>> = { Han: 'Chinese characters', Kana: 'Japanese kana', Hangul: 'Korean Hangul' };

/**
 * Null when most of the text (by words, and by characters in scripts without spaces) is in the
 * language's writing system, or when that cannot be judged; otherwise the writing system most of
 * it is in, to tell the model.
 */
export function foreignWritingSystem(text: string, language: string): string | null {
  const expected = writingSystemsOf(language);
  if (!expected) return null;
  const counts = COUNTERS.map((c) => ({ name: c.name, n: text.match(c.pattern)?.length ?? 0 }));
  const total = counts.reduce((sum, c) => sum + c.n, 0);
  const inLanguage = counts.filter((c) => expected.includes(c.name)).reduce((sum, c) => sum + c.n, 0);
  if (total === 0 || inLanguage * 2 >= total) return null;
  const most = counts.reduce((a, b) => (b.n > a.n ? b : a));
  return FOREIGN_NAMES[most.name] ?? `${most.name} script`;
}

/** The language's name for a prompt: "Simplified Chinese", "French", "Brazilian Portuguese". */
export function languageName(language: string): string {
  const tag = language.trim();
  if (/^zh(?:$|[-_])/i.test(tag)) return /[-_](hant|tw|hk|mo)(?:$|[-_])/i.test(tag) ? 'Traditional Chinese' : 'Simplified Chinese';
  try {
    const name = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' }).of(tag);
    if (name) return name;
  } catch {
    // A tag ICU does not parse: say it as it is.
  }
  return `the language with tag ${tag}`;
}
