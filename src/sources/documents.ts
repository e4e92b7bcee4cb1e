import { escapeMarkdown } from './markdown';
import path from 'node:path';
import { JSDOM, VirtualConsole } from 'jsdom';
import mammoth from 'mammoth';
import { marked } from 'marked';
import { normaliseText } from './text';
import { SourceError } from './errors';

/**
 * Documents as podcast sources: PDF, DOCX, Markdown and plain text, read into the text the script
 * writers take as Markdown: headings as ATX lines (`# Title`, `## Part`), every other block a
 * paragraph on one line, blocks separated by a blank line, and characters Markdown would act on
 * escaped so they stay text. What a listener does not want read out is dropped:
 * running heads, footers and page numbers of PDFs, DOCX footnotes, and a closing reference list.
 * Pure functions: bytes in, text out.
 */

export type DocumentKind = 'pdf' | 'docx' | 'markdown' | 'text';

/** The content type each kind is stored and reported with, whatever the client declared. */
export const DOCUMENT_CONTENT_TYPES: Record<DocumentKind, string> = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  markdown: 'text/markdown',
  text: 'text/plain',
};

export interface ExtractedDocument {
  /** Markdown-shaped plain text (see above); '' when the document has no text layer. */
  text: string;
  /** The document's own title (PDF metadata, or a Markdown/DOCX top heading), if it names one. */
  title: string | null;
}

const startsWith = (bytes: Uint8Array, magic: string) => bytes.length >= magic.length && [...magic].every((c, i) => bytes[i] === c.charCodeAt(0));

/**
 * What a file is, from its first bytes (PDF and DOCX are recognised by content, never by name) and,
 * for text, its name or declared type. null: not a document we read (an executable, an archive,
 * an image, a text file whose kind nothing names).
 */
export function documentKindOf(file: { filename: string; contentType?: string | null; head: Uint8Array }): DocumentKind | null {
  const ext = path.extname(file.filename).toLowerCase();
  const mime = (file.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (startsWith(file.head, '%PDF-')) return 'pdf';
  // A DOCX is a zip; any other zip (or a zip named .docx that is not one) fails in mammoth.
  if (startsWith(file.head, 'PK\x03\x04')) return ext === '.docx' || mime === DOCUMENT_CONTENT_TYPES.docx ? 'docx' : null;
  // Text never holds NUL bytes; binaries nearly always do within their first bytes.
  if (file.head.includes(0)) return null;
  if (['.md', '.markdown', '.mdown', '.mkd'].includes(ext) || mime === 'text/markdown' || mime === 'text/x-markdown') return 'markdown';
  if (['.txt', '.text'].includes(ext) || mime === 'text/plain') return 'text';
  return null;
}

/** The document's text (see the file comment). Throws SourceError SOURCE_UNREADABLE when the bytes are not the kind they claim. */
export async function extractDocument(bytes: Uint8Array, kind: DocumentKind): Promise<ExtractedDocument> {
  let read: { blocks: Block[]; title: string | null };
  switch (kind) {
    case 'pdf':
      read = await pdfBlocks(bytes);
      break;
    case 'docx':
      read = await docxBlocks(bytes);
      break;
    case 'markdown':
      read = htmlBlocks(await marked.parse(decodeText(bytes), { async: false }));
      break;
    case 'text':
      read = { blocks: textBlocks(decodeText(bytes)), title: null };
      break;
  }
  return { text: render(withoutReferences(read.blocks)), title: read.title };
}

// ---------------------------------------------------------------------------
// Blocks: a heading (level 1–6) or a paragraph, each on one line.

interface Block {
  text: string;
  level?: number;
}

// Scripts that write no spaces between words: a line break between two of their characters is no space.
const NO_SPACE = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u3000-\u303f\uff00-\uffef`;
const SPACE_BETWEEN_NO_SPACE = new RegExp(`([${NO_SPACE}]) (?=[${NO_SPACE}])`, 'gu');

/** One line of text: whitespace runs become one space, none between Chinese or Japanese characters. */
function oneLine(s: string): string {
  return normaliseText(s).replace(/\s+/g, ' ').replace(SPACE_BETWEEN_NO_SPACE, '$1');
}

function render(blocks: Block[]): string {
  return blocks.map((b) => `${b.level ? `${'#'.repeat(b.level)} ` : ''}${escapeMarkdown(b.text)}`).join('\n\n');
}

// A reference list's heading, alone on its line, optionally numbered ("7. References", "VII. Bibliography").
const REFERENCES_HEADING =
  /^(?:\d+(?:\.\d+)*\.?\s*|[ivxlc]+\.\s*)?(?:references|bibliography|works cited|literature cited|reference list|参考文献|參考文獻)\s*[:：]?$/iu;

/**
 * Drops the last reference list: from its heading to the next heading of the same or a higher
 * level (an appendix after it stays), or to the end when the document marks no headings (PDF).
 * Never the first block: a document that is only a reference list keeps it.
 */
function withoutReferences(blocks: Block[]): Block[] {
  for (let i = blocks.length - 1; i > 0; i--) {
    const heading = blocks[i]!;
    if (!REFERENCES_HEADING.test(heading.text)) continue;
    let end = blocks.findIndex((b, j) => j > i && b.level !== undefined && heading.level !== undefined && b.level <= heading.level);
    if (end < 0) end = blocks.length;
    return [...blocks.slice(0, i), ...blocks.slice(end)];
  }
  return blocks;
}

// ---------------------------------------------------------------------------
// Plain text and Markdown

/** UTF-8 (or UTF-16 with a byte order mark); text that is not valid UTF-8 is read as GB 18030, the usual other encoding of Chinese text. */
function decodeText(bytes: Uint8Array): string {
  if (startsWith(bytes, '\xff\xfe')) return new TextDecoder('utf-16le').decode(bytes);
  if (startsWith(bytes, '\xfe\xff')) return new TextDecoder('utf-16be').decode(bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('gb18030').decode(bytes);
  }
}

/** Paragraphs are separated by blank lines; a paragraph's hard line breaks are only wrapping. A reference list's heading stands alone. */
function textBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  let lines: string[] = [];
  const close = () => {
    const text = oneLine(lines.join('\n'));
    if (text) blocks.push({ text });
    lines = [];
  };
  for (const line of normaliseText(text).split('\n')) {
    if (line === '' || REFERENCES_HEADING.test(line)) close();
    if (REFERENCES_HEADING.test(line)) blocks.push({ text: line });
    else lines.push(line);
  }
  close();
  return blocks;
}

// ---------------------------------------------------------------------------
// HTML (what mammoth makes of a DOCX, and marked of Markdown)

const SKIP_TAGS = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG', 'IMG', 'HEAD', 'IFRAME', 'OBJECT']);
const BLOCK_TAGS = new Set([
  'ADDRESS',
  'ARTICLE',
  'ASIDE',
  'BLOCKQUOTE',
  'DD',
  'DIV',
  'DL',
  'DT',
  'FIGCAPTION',
  'FIGURE',
  'FOOTER',
  'HEADER',
  'HR',
  'LI',
  'MAIN',
  'OL',
  'P',
  'PRE',
  'SECTION',
  'TABLE',
  'TR',
  'UL',
]);
// mammoth's footnote and endnote markers ([1]) and the notes themselves, listed at the end.
const NOTE = /^#?(footnote|endnote)-/;

function htmlBlocks(html: string): { blocks: Block[]; title: string | null } {
  const dom = new JSDOM(html, { virtualConsole: new VirtualConsole() });
  try {
    const blocks: Block[] = [];
    let inline: string[] = [];
    const flush = () => {
      const text = oneLine(inline.join(''));
      inline = [];
      if (text) blocks.push({ text });
    };
    const walk = (node: Node): void => {
      if (node.nodeType === 3) {
        inline.push(node.nodeValue ?? '');
        return;
      }
      if (node.nodeType !== 1) return;
      const el = node as Element;
      const tag = el.tagName.toUpperCase();
      if (SKIP_TAGS.has(tag) || NOTE.test(el.getAttribute('href') ?? '') || NOTE.test(el.id)) return;
      const heading = /^H([1-6])$/.exec(tag);
      if (heading) {
        flush();
        const text = oneLine(el.textContent ?? '');
        if (text) blocks.push({ text, level: Number(heading[1]) });
        return;
      }
      if (tag === 'BR') inline.push(' ');
      // Cells of a row read as one paragraph, one cell after another.
      if ((tag === 'TD' || tag === 'TH') && inline.join('').trim() !== '') inline = [`${inline.join('').trimEnd()}; `];
      const block = BLOCK_TAGS.has(tag);
      if (block) flush();
      for (let child = el.firstChild; child; child = child.nextSibling) walk(child);
      if (block) flush();
    };
    walk(dom.window.document.body);
    flush();
    const first = blocks[0];
    return { blocks, title: first?.level === 1 ? first.text : null };
  } finally {
    dom.window.close();
  }
}

async function docxBlocks(bytes: Uint8Array): Promise<{ blocks: Block[]; title: string | null }> {
  let html: string;
  try {
    // Word's Title style is the document's top heading; headers and footers mammoth never reads.
    const result = await mammoth.convertToHtml({ buffer: Buffer.from(bytes) }, { styleMap: ["p[style-name='Title'] => h1:fresh"] });
    html = result.value;
  } catch (err) {
    throw new SourceError('SOURCE_UNREADABLE', 'The file could not be read as a Word document (DOCX).', { cause: err });
  }
  return htmlBlocks(html);
}

// ---------------------------------------------------------------------------
// PDF (pdf.js): lines from the text layer, page furniture dropped, lines joined into paragraphs.

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let pdfjs: Promise<PdfJs> | undefined;
// The legacy build is the one pdf.js supports on Node; it is an ES module, loaded on first use.
const loadPdfJs = () => (pdfjs ??= import('pdfjs-dist/legacy/build/pdf.mjs'));
const PDFJS_DIR = path.dirname(require.resolve('pdfjs-dist/package.json'));

interface PdfLine {
  text: string;
  /** Left edge and baseline, in PDF units (y grows upwards). */
  x: number;
  y: number;
  /** Font size. */
  size: number;
}

async function pdfBlocks(bytes: Uint8Array): Promise<{ blocks: Block[]; title: string | null }> {
  const { getDocument, VerbosityLevel } = await loadPdfJs();
  const task = getDocument({
    data: new Uint8Array(bytes), // a copy: pdf.js takes ownership of what it is given
    // Character maps read Chinese and Japanese fonts' codes as text; standard fonts need their metrics.
    cMapUrl: path.join(PDFJS_DIR, 'cmaps/'),
    cMapPacked: true,
    standardFontDataUrl: path.join(PDFJS_DIR, 'standard_fonts/'),
    useSystemFonts: false,
    isEvalSupported: false,
    disableFontFace: true,
    verbosity: VerbosityLevel.ERRORS,
  });
  let doc: Awaited<typeof task.promise>;
  try {
    doc = await task.promise;
  } catch (err) {
    await task.destroy();
    throw new SourceError('SOURCE_UNREADABLE', 'The file could not be read as a PDF.', { cause: err });
  }
  try {
    const pages: PdfLine[][] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      pages.push(pdfLines((await page.getTextContent()).items));
      page.cleanup();
    }
    const info = (await doc.getMetadata().catch(() => null))?.info as { Title?: unknown } | undefined;
    const title = typeof info?.Title === 'string' ? oneLine(info.Title) : '';
    return { blocks: pdfParagraphs(withoutPageFurniture(pages)), title: title || null };
  } finally {
    await doc.destroy();
  }
}

type PdfTextItem = { str: string; transform: number[]; height: number; hasEOL: boolean };

/** The text layer's items as lines, in the page's reading order. */
function pdfLines(items: ReadonlyArray<object>): PdfLine[] {
  const lines: PdfLine[] = [];
  let current: (Omit<PdfLine, 'text'> & { parts: string[] }) | null = null;
  const end = () => {
    if (current) {
      const text = oneLine(current.parts.join(''));
      if (text) lines.push({ text, x: current.x, y: current.y, size: current.size });
    }
    current = null;
  };
  for (const item of items as PdfTextItem[]) {
    if (typeof item.str !== 'string') continue; // marked-content boundaries
    const [, , c = 0, d = 0, x = 0, y = 0] = item.transform;
    const size = Math.hypot(c, d) || item.height;
    // A new baseline is a new line, even where pdf.js marked no line end.
    if (current && item.str !== '' && Math.abs(y - current.y) > Math.max(current.size, size) / 2) end();
    if (item.str !== '') {
      current ??= { parts: [], x, y, size };
      current.size = Math.max(current.size, size);
    }
    if (current) current.parts.push(item.str);
    if (item.hasEOL) end();
  }
  end();
  return lines;
}

// Lines at each edge of a page where running heads, footers and page numbers sit.
const EDGE_LINES = 2;
const PAGE_NUMBER =
  /^(?:(?:page|p\.)\s*)?[-–—]?\s*(?:\d{1,4}|[ivxlc]{1,7})\s*[-–—]?(?:\s*(?:of|\/)\s*\d{1,4})?$|^第\s*\d{1,4}\s*页(?:\s*[，,/]?\s*共\s*\d{1,4}\s*页)?$/iu;
// A running head repeats with its page number changing: compare lines with their numbers masked.
const furnitureKey = (text: string) => text.toLowerCase().replace(/\d+/g, '#');

/**
 * Drops running heads and footers (a line at a page's top or bottom edge that repeats at an edge
 * of most pages, numbers aside) and page numbers (a bare number at an edge).
 */
function withoutPageFurniture(pages: PdfLine[][]): PdfLine[][] {
  const edgesOf = (lines: PdfLine[]) => {
    const byHeight = [...lines].sort((a, b) => b.y - a.y);
    return new Set([...byHeight.slice(0, EDGE_LINES), ...byHeight.slice(-EDGE_LINES)]);
  };
  const edges = pages.map(edgesOf);
  const pagesWith = new Map<string, number>();
  for (const edge of edges) {
    for (const key of new Set([...edge].map((l) => furnitureKey(l.text)))) pagesWith.set(key, (pagesWith.get(key) ?? 0) + 1);
  }
  const repeated = (key: string) => {
    const n = pagesWith.get(key) ?? 0;
    return n >= 2 && n > pages.length / 2;
  };
  return pages.map((lines, i) => lines.filter((l) => !(edges[i]!.has(l) && (PAGE_NUMBER.test(l.text) || repeated(furnitureKey(l.text))))));
}

const SENTENCE_END = /[.!?。！？…:;：；"'”’)\]）」』]$/u;

/**
 * Lines joined into paragraphs: a paragraph ends at a wider gap than line spacing, a change of
 * font size, an indented first line, a jump up the page (a new column), or a reference list's
 * heading. A paragraph broken by a page break is joined again when the next page goes on mid-sentence.
 */
function pdfParagraphs(pages: PdfLine[][]): Block[] {
  const blocks: Block[] = [];
  let open: string[] | null = null;
  const close = () => {
    if (open) {
      const text = oneLine(open.join(' '));
      if (text) blocks.push({ text });
    }
    open = null;
  };
  const add = (text: string) => {
    if (!open) {
      open = [text];
      return;
    }
    const last = open[open.length - 1]!;
    // A word hyphenated across lines ("exam-" / "ple") is one word again.
    if (/\p{L}-$/u.test(last) && /^\p{Ll}/u.test(text)) open[open.length - 1] = last.slice(0, -1) + text;
    else open.push(text);
  };
  for (const lines of pages) {
    lines.forEach((line, i) => {
      const prev = lines[i - 1];
      if (REFERENCES_HEADING.test(line.text)) {
        close();
        blocks.push({ text: line.text });
        return;
      }
      if (!prev) {
        // First line of a page: it continues the paragraph only mid-sentence, in lower case.
        const last = open?.[open.length - 1];
        if (!last || SENTENCE_END.test(last) || !/^\p{Ll}/u.test(line.text)) close();
      } else {
        const gap = prev.y - line.y;
        const size = Math.max(prev.size, line.size);
        const newParagraph =
          gap > size * 1.7 || gap < -size / 2 || Math.abs(line.size - prev.size) > size * 0.15 || (line.x > prev.x + size && SENTENCE_END.test(prev.text));
        if (newParagraph) close();
      }
      add(line.text);
    });
  }
  close();
  return blocks;
}
