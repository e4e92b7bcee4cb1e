import { marked, type Token, type Tokens } from 'marked';
import { normaliseText } from './text';

/**
 * Sources as the script writers see them: sections with a title and paragraphs of speakable
 * text. Every source is stored as Markdown (text as given, web pages and documents converted),
 * and this is the one place that turns it into something a voice can say: headings become
 * section titles, emphasis and links keep their words, and code, images, tables, raw HTML,
 * link definitions and bare URLs are dropped.
 */

export interface SourceSection {
  title: string | null;
  paragraphs: string[];
}

export interface SourceDocument {
  /** A leading top-level heading, when the source has one. */
  title: string | null;
  sections: SourceSection[];
}

const URL_LIKE = /(?:\b[a-z][a-z0-9+.-]*:\/\/|\bwww\.)[^\s<>"'）)\]】」]*[^\s<>"'.,;:!?，。；：！？）)\]】」]/giu;
const HAS_URL = new RegExp(URL_LIKE.source, 'iu');
const CJK = /[\u3000-\u303F\u3400-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]/;
const SENTENCE_END = /[.!?…。！？」』”’"')）]$/u;

// Sections a listener does not want read out: a document's apparatus rather than its content.
const APPARATUS_TITLE =
  /^(?:references?|notes|footnotes|endnotes|see also|external links|further reading|bibliography|sources|citations|works cited|参考文献|参考资料|参考|注释|脚注|外部链接|延伸阅读|相关链接)$/i;

/** Inline tokens → plain words: markup goes, the words stay; links keep their text unless it is the address. */
function inlineText(tokens: Token[] | undefined): string {
  if (!tokens) return '';
  return tokens
    .map((t): string => {
      switch (t.type) {
        case 'image':
        case 'html':
        case 'def':
          return '';
        case 'br':
          return '\n';
        case 'codespan':
          return (t as Tokens.Codespan).text;
        case 'link': {
          const link = t as Tokens.Link;
          const words = inlineText(link.tokens);
          return words.trim() === link.href || HAS_URL.test(words) ? words.replace(URL_LIKE, '') : words;
        }
        case 'escape':
          return (t as Tokens.Escape).text;
        case 'text':
          // A text token may carry its own inline tokens (inside list items).
          return 'tokens' in t && t.tokens ? inlineText(t.tokens) : decodeEntities((t as Tokens.Text).text);
        default:
          return 'tokens' in t && Array.isArray(t.tokens) ? inlineText(t.tokens) : '';
      }
    })
    .join('');
}

// marked escapes these in text tokens; speech wants the characters.
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
function decodeEntities(s: string): string {
  return s.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e);
}

/** One speakable paragraph: no URLs, soft line breaks joined (without a space between CJK characters). */
function speakable(raw: string): string {
  const text = normaliseText(raw.replace(URL_LIKE, ''))
    .replace(/\n+/g, (m, at: number, s: string) => (CJK.test(s[at - 1] ?? '') && CJK.test(s[at + m.length] ?? '') ? '' : ' '))
    .replace(/\(\s*\)|（\s*）|\[\s*\]/g, '') // brackets a dropped link or image leaves empty
    .replace(/ +([,.;:!?，。；：！？])/g, '$1')
    .replace(/ {2,}/g, ' ')
    .trim();
  return /[\p{L}\p{N}]/u.test(text) ? text : '';
}

/** A list item or a heading read as part of the text ends like a sentence, so it is spoken as one. */
function asSentence(text: string): string {
  if (text === '' || SENTENCE_END.test(text)) return text;
  return CJK.test(text[text.length - 1] ?? '') ? `${text}。` : `${text}.`;
}

/** Text from a web page or a document is stored as Markdown: characters Markdown would act on stay literal. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>#|~]/g, '\\$&');
}

/** Parses a Markdown (or plain text) source into sections of speakable paragraphs. */
export function sourceDocument(markdown: string): SourceDocument {
  const tokens = marked.lexer(normaliseText(markdown), { gfm: true });
  const doc: SourceDocument = { title: null, sections: [] };
  let current: SourceSection = { title: null, paragraphs: [] };
  const add = (text: string) => {
    if (text) current.paragraphs.push(text);
  };

  // Inside a references (or similar) section: skipped up to the next heading at its level or above.
  let skipBelow: number | null = null;
  const blocks = (list: Token[]): void => {
    for (const t of list) {
      if (skipBelow !== null && !(t.type === 'heading' && (t as Tokens.Heading).depth <= skipBelow)) continue;
      switch (t.type) {
        case 'heading': {
          const title = speakable(inlineText((t as Tokens.Heading).tokens)).replace(/[:：]$/, '');
          skipBelow = APPARATUS_TITLE.test(title) ? (t as Tokens.Heading).depth : null;
          if (!title || skipBelow !== null) break;
          if (
            doc.title === null &&
            doc.sections.length === 0 &&
            current.paragraphs.length === 0 &&
            current.title === null &&
            (t as Tokens.Heading).depth === 1
          ) {
            doc.title = title;
            break;
          }
          if (current.paragraphs.length > 0 || current.title !== null) doc.sections.push(current);
          current = { title, paragraphs: [] };
          break;
        }
        case 'paragraph':
          add(speakable(inlineText((t as Tokens.Paragraph).tokens)));
          break;
        case 'text':
          add(speakable(inlineText([t])));
          break;
        case 'list':
          for (const item of (t as Tokens.List).items) {
            const nested = item.tokens.filter((x) => x.type !== 'list');
            add(asSentence(speakable(nested.map((x) => (x.type === 'text' || x.type === 'paragraph' ? inlineText([x]) : '')).join(' '))));
            blocks(item.tokens.filter((x) => x.type === 'list'));
          }
          break;
        case 'blockquote':
          blocks((t as Tokens.Blockquote).tokens);
          break;
        // code, tables, raw HTML, rules, link definitions: nothing a listener should hear.
        default:
          break;
      }
    }
  };
  blocks(tokens);
  if (current.paragraphs.length > 0 || current.title !== null) doc.sections.push(current);
  // A document that opens with a heading straight over another one (a web page's title as h2)
  // is titled by it; elsewhere a heading with nothing under it (a part over its chapters) joins
  // the next section's title.
  const [first, second] = doc.sections;
  if (doc.title === null && first?.title && first.paragraphs.length === 0 && second?.title) {
    doc.title = first.title;
    doc.sections.shift();
  }
  const sections: SourceSection[] = [];
  for (const s of doc.sections) {
    const prev = sections[sections.length - 1];
    if (prev && prev.paragraphs.length === 0) {
      prev.title = prev.title && s.title ? `${prev.title}: ${s.title}` : (prev.title ?? s.title);
      prev.paragraphs = s.paragraphs;
    } else sections.push({ ...s });
  }
  doc.sections = sections.filter((s) => s.paragraphs.length > 0);
  return doc;
}

/** The document as plain text (titles on their own lines), for LLM prompts and length checks. */
export function documentText(doc: SourceDocument): string {
  const parts: string[] = [];
  if (doc.title) parts.push(doc.title);
  for (const s of doc.sections) {
    if (s.title) parts.push(s.title);
    parts.push(...s.paragraphs);
  }
  return parts.join('\n\n');
}

/** A line of a script as a voice should get it: no Markdown syntax, no URLs. */
export function speakableLine(line: string): string {
  const doc = sourceDocument(line);
  const parts = [doc.title, ...doc.sections.flatMap((s) => [s.title, ...s.paragraphs])].filter((p): p is string => Boolean(p));
  return parts.length > 1 ? parts.map(asSentence).join(' ') : (parts[0] ?? '');
}
