import { escapeMarkdown } from './markdown';
import type http from 'node:http';
import zlib from 'node:zlib';
import { Readability } from '@mozilla/readability';
import { JSDOM, VirtualConsole } from 'jsdom';
import { extractDocument } from './documents';
import { SourceError } from './errors';
import { defaultLookup, describeUrl, networkError, openPinned, parseTargetUrl, type ResolvedAddress, type TargetPolicy } from './safeRequest';
import { normaliseText } from './text';

// ---------------------------------------------------------------------------
// Options and result

export type { ResolvedAddress };

export interface FetchOptions {
  /** Allow loopback destinations (tests only). Never allows private/link-local ranges. */
  allowLoopback?: boolean;
  /** Cap on the decoded body size. Default 5 MiB. */
  maxBytes?: number;
  /** Total budget for the whole fetch, redirects included. Default 15000. */
  timeoutMs?: number;
  /** Default 5. */
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Name resolution; injectable so tests need no DNS. Default: dns.promises.lookup with all:true. */
  lookup?: (hostname: string) => Promise<ResolvedAddress[]>;
  userAgent?: string;
}

export interface ReadableText {
  title: string | null;
  text: string;
  finalUrl: string;
  /** Decoded (decompressed) body size in bytes. */
  bytes: number;
}

const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_REDIRECTS = 5;
const DEFAULT_USER_AGENT = 'AIMake/0.1 (+podcast source fetcher)';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

// ---------------------------------------------------------------------------
// One HTTP hop

interface HopContext extends TargetPolicy {
  userAgent: string;
}

function openHop(u: URL, ctx: HopContext): Promise<http.IncomingMessage> {
  return openPinned(u, ctx, {
    method: 'GET',
    headers: {
      'User-Agent': ctx.userAgent,
      Accept: 'text/html,application/xhtml+xml,text/plain;q=0.9,application/pdf;q=0.8,*/*;q=0.1',
      'Accept-Encoding': 'gzip, deflate, br',
    },
  });
}

// ---------------------------------------------------------------------------
// Body

function createDecoder(contentEncoding: string | undefined): zlib.Gunzip | zlib.BrotliDecompress | zlib.Inflate | null {
  const encodings = (contentEncoding ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '' && e !== 'identity');
  if (encodings.length === 0) return null;
  if (encodings.length > 1) {
    throw new SourceError('SOURCE_UNSUPPORTED_TYPE', `Unsupported content encoding: ${contentEncoding}.`);
  }
  switch (encodings[0]) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'deflate':
      // HTTP "deflate" is the zlib format (RFC 9110 §8.4.1.2).
      return zlib.createInflate();
    default:
      throw new SourceError('SOURCE_UNSUPPORTED_TYPE', `Unsupported content encoding: ${encodings[0]}.`);
  }
}

function tooLarge(maxBytes: number): SourceError {
  return new SourceError('SOURCE_TOO_LARGE', `The page is larger than the ${formatBytes(maxBytes)} limit.`);
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** Reads the body, decompressing, and fails as soon as it passes maxBytes. */
async function readBody(res: http.IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  let decoder: ReturnType<typeof createDecoder>;
  try {
    decoder = createDecoder(res.headers['content-encoding']);
  } catch (err) {
    res.destroy();
    throw err;
  }
  const source: AsyncIterable<Buffer> = decoder ?? res;

  const onAbort = () => {
    const reason = new Error('aborted');
    res.destroy(reason);
    decoder?.destroy(reason);
  };
  signal.addEventListener('abort', onAbort, { once: true });

  let networkFailed = false;
  if (decoder) {
    let raw = 0;
    // Compressed bytes are capped too, so a huge incompressible stream is cut off.
    res.on('data', (chunk: Buffer) => {
      raw += chunk.length;
      if (raw > maxBytes) decoder!.destroy(tooLarge(maxBytes));
    });
    res.on('error', (err) => {
      networkFailed = true;
      decoder!.destroy(err);
    });
    res.pipe(decoder);
  }

  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of source) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof SourceError || signal.aborted) throw err;
    if (decoder && !networkFailed) {
      throw new SourceError('SOURCE_FETCH_FAILED', 'The page could not be decompressed.', { retryable: false, cause: err });
    }
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    res.destroy();
    decoder?.destroy();
  }
  return Buffer.concat(chunks, total);
}

// ---------------------------------------------------------------------------
// Decoding and extraction

function parseContentType(header: string | undefined): { mime: string; charset: string | null } {
  if (!header) return { mime: '', charset: null };
  const [mime = '', ...params] = header.split(';');
  let charset: string | null = null;
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(p);
    if (m?.[1]) charset = m[1];
  }
  return { mime: mime.trim().toLowerCase(), charset };
}

function sniffMetaCharset(body: Buffer): string | null {
  // The HTML spec only looks at the first 1024 bytes for <meta charset>.
  const head = body.subarray(0, 1024).toString('latin1');
  const m = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head);
  return m?.[1] ?? null;
}

function decodeBody(body: Buffer, charset: string | null, isHtml: boolean): string {
  // A byte order mark outranks any declared charset.
  let label: string | null = null;
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) label = 'utf-8';
  else if (body[0] === 0xff && body[1] === 0xfe) label = 'utf-16le';
  else if (body[0] === 0xfe && body[1] === 0xff) label = 'utf-16be';
  label ??= charset ?? (isHtml ? sniffMetaCharset(body) : null) ?? 'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    // Unknown labels are common in the wild; UTF-8 is the best guess.
    decoder = new TextDecoder('utf-8');
  }
  return decoder.decode(body);
}

// Besides what never holds text, what a listener should not hear: navigation, captions, tables,
// code, footnote marks and the page's furniture.
const SKIP_TAGS = new Set([
  'SCRIPT',
  'STYLE',
  'NOSCRIPT',
  'TEMPLATE',
  'SVG',
  'CANVAS',
  'IFRAME',
  'OBJECT',
  'EMBED',
  'SELECT',
  'BUTTON',
  'NAV',
  'FIGURE',
  'FIGCAPTION',
  'CAPTION',
  'TABLE',
  'PRE',
  'SUP',
  'FORM',
  'HEADER',
  'FOOTER',
  'ASIDE',
]);
const SKIP_CLASS =
  /(?:^|[\s_-])(?:references?|reflist|footnotes?|citations?|bibliography|navbox|toc|breadcrumbs?|caption|share|related|comments?)(?:$|[\s_-])/i;
const SKIP_ROLES = new Set(['navigation', 'doc-endnotes', 'doc-bibliography', 'doc-noteref', 'doc-footnote', 'complementary']);
const HEADING = /^H([1-6])$/;

function isSkipped(el: Element): boolean {
  return SKIP_CLASS.test(`${el.getAttribute('class') ?? ''} ${el.id}`) || SKIP_ROLES.has(el.getAttribute('role') ?? '');
}

const BLOCK_TAGS = new Set([
  'ADDRESS',
  'ARTICLE',
  'ASIDE',
  'BLOCKQUOTE',
  'CAPTION',
  'DD',
  'DETAILS',
  'DIV',
  'DL',
  'DT',
  'FIELDSET',
  'FIGCAPTION',
  'FIGURE',
  'FOOTER',
  'FORM',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'HEADER',
  'HR',
  'LI',
  'MAIN',
  'NAV',
  'OL',
  'P',
  'PRE',
  'SECTION',
  'SUMMARY',
  'TABLE',
  'TBODY',
  'THEAD',
  'TFOOT',
  'TR',
  'UL',
]);

function isHidden(el: Element): boolean {
  if (el.hasAttribute('hidden') || el.getAttribute('aria-hidden') === 'true') return true;
  const style = el.getAttribute('style');
  return style !== null && /(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\b/i.test(style);
}

/**
 * A DOM subtree as Markdown: headings as `#` lines (they become the podcast's sections), a
 * paragraph break at every block element (textContent has none), everything else as plain text.
 */
function nodeToMarkdown(root: Node): string {
  const parts: string[] = [];
  const walk = (node: Node): void => {
    if (node.nodeType === 3 || node.nodeType === 4) {
      parts.push(escapeMarkdown((node.nodeValue ?? '').replace(/\s+/g, ' ')));
      return;
    }
    if (node.nodeType !== 1 && node.nodeType !== 9 && node.nodeType !== 11) return;
    const tag = node.nodeType === 1 ? (node as Element).tagName.toUpperCase() : '';
    if (SKIP_TAGS.has(tag) || (node.nodeType === 1 && (isHidden(node as Element) || isSkipped(node as Element)))) return;
    if (tag === 'BR') {
      parts.push('\n');
      return;
    }
    const heading = HEADING.exec(tag);
    if (heading) {
      const text = (node.textContent ?? '').replace(/\s+/g, ' ').trim();
      if (text) parts.push(`\n\n${'#'.repeat(Number(heading[1]))} ${escapeMarkdown(text)}\n\n`);
      return;
    }
    const block = BLOCK_TAGS.has(tag);
    if (block) parts.push('\n\n');
    else if (tag === 'TD' || tag === 'TH') parts.push(' ');
    for (let child = node.firstChild; child; child = child.nextSibling) walk(child);
    if (block) parts.push('\n\n');
  };
  walk(root);
  return parts.join('');
}

function cleanTitle(t: string | null | undefined): string | null {
  if (!t) return null;
  const s = normaliseText(t).replace(/\s+/g, ' ');
  return s === '' ? null : s;
}

function extractHtml(html: string, finalUrl: string): { title: string | null; text: string } {
  // Scripts and subresources stay off (jsdom defaults); the silent console
  // keeps CSS parse noise out of our logs.
  const dom = new JSDOM(html, { url: finalUrl, virtualConsole: new VirtualConsole() });
  try {
    const doc = dom.window.document;
    const docTitle = doc.title;
    // Readability mutates what it reads; keep the original for the fallback.
    const clone = doc.cloneNode(true) as Document;
    // Readability keeps <nav> on short pages; it is never article text.
    for (const d of [doc, clone]) {
      for (const el of Array.from(d.querySelectorAll('nav, [role="navigation"]'))) el.remove();
    }
    let article: ReturnType<Readability<Node>['parse']> = null;
    try {
      article = new Readability<Node>(clone, { serializer: (n) => n }).parse();
    } catch {
      article = null;
    }
    let text = article?.content ? normaliseText(nodeToMarkdown(article.content)) : '';
    if (text === '' && doc.body) text = normaliseText(nodeToMarkdown(doc.body));
    const title = cleanTitle(article?.title) ?? cleanTitle(docTitle);
    // The page's own title heading is the podcast's title, not a section of it.
    const lead = /^#{1,6} (.*)\n*/.exec(text);
    if (lead && title && lead[1]!.replace(/\\/g, '') === title) text = text.slice(lead[0].length);
    return { title, text };
  } finally {
    dom.window.close();
  }
}

// ---------------------------------------------------------------------------
// Public entry point

function checkPositive(name: string, value: number, allowZero = false): void {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`);
  }
}

/**
 * Fetches a user-supplied URL under the SSRF policy and returns its readable text.
 * Throws SourceError for every expected failure; rethrows the caller's abort reason
 * if options.signal aborts.
 */
export async function fetchReadableText(url: string, options: FetchOptions = {}): Promise<ReadableText> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  checkPositive('maxBytes', maxBytes);
  checkPositive('timeoutMs', timeoutMs);
  checkPositive('maxRedirects', maxRedirects, true);

  let current = parseTargetUrl(url, 'The URL');
  const external = options.signal;
  if (external?.aborted) throw external.reason;

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, timeoutMs);
  const onExternalAbort = () => controller.abort(external?.reason);
  external?.addEventListener('abort', onExternalAbort, { once: true });

  const ctx: HopContext = {
    allowLoopback: options.allowLoopback === true,
    lookup: options.lookup ?? defaultLookup,
    signal: controller.signal,
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
  };

  try {
    for (let redirects = 0; ;) {
      const res = await openHop(current, ctx);
      const status = res.statusCode ?? 0;

      if (REDIRECT_STATUSES.has(status)) {
        const location = res.headers.location;
        res.destroy();
        if (!location) {
          throw new SourceError('SOURCE_HTTP_ERROR', `${describeUrl(current)} sent a redirect (${status}) without a location.`, { status });
        }
        if (redirects >= maxRedirects) {
          throw new SourceError('SOURCE_TOO_MANY_REDIRECTS', `Gave up after ${maxRedirects} redirects.`);
        }
        redirects++;
        let next: URL;
        try {
          next = new URL(location, current);
        } catch {
          throw new SourceError('SOURCE_INVALID_URL', `${describeUrl(current)} redirected to an invalid URL.`);
        }
        current = parseTargetUrl(next, 'The redirect target');
        continue;
      }

      if (status < 200 || status >= 300) {
        res.destroy();
        throw new SourceError('SOURCE_HTTP_ERROR', `${describeUrl(current)} answered with HTTP ${status}.`, {
          status,
          retryable: status >= 500 || status === 429,
        });
      }

      const { mime, charset } = parseContentType(res.headers['content-type']);
      const isHtml = mime === 'text/html' || mime === 'application/xhtml+xml';
      const isPdf = mime === 'application/pdf';
      if (!isHtml && !isPdf && mime !== 'text/plain') {
        res.destroy();
        throw new SourceError(
          'SOURCE_UNSUPPORTED_TYPE',
          mime === '' ? 'The page did not say what type of content it is.' : `Unsupported content type: ${mime}.`,
        );
      }

      const declared = Number(res.headers['content-length']);
      if (res.headers['content-length'] !== undefined && Number.isFinite(declared) && declared > maxBytes) {
        res.destroy();
        throw tooLarge(maxBytes);
      }

      const body = await readBody(res, maxBytes, controller.signal);
      const finalUrl = current.href;
      let extracted: { title: string | null; text: string };
      if (isPdf) extracted = await extractDocument(body, 'pdf');
      else {
        const decoded = decodeBody(body, charset, isHtml);
        extracted = isHtml ? extractHtml(decoded, finalUrl) : { title: null, text: normaliseText(decoded) };
      }
      if (extracted.text === '') {
        const what = isPdf
          ? `The PDF at ${describeUrl(current)} has no text layer (a scanned document?).`
          : `No readable text was found at ${describeUrl(current)}.`;
        throw new SourceError('SOURCE_EMPTY', what);
      }
      return { title: extracted.title, text: extracted.text, finalUrl, bytes: body.length };
    }
  } catch (err) {
    if (timedOut) {
      throw new SourceError('SOURCE_TIMEOUT', `Fetching ${describeUrl(current)} took longer than ${timeoutMs} ms.`, {
        retryable: true,
      });
    }
    if (external?.aborted) throw external.reason;
    if (err instanceof SourceError) throw err;
    throw networkError(err, current);
  } finally {
    clearTimeout(timer);
    external?.removeEventListener('abort', onExternalAbort);
  }
}
