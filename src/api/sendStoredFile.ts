import { Readable, Stream } from 'node:stream';
import type Koa from 'koa';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import { ObjectNotFoundError, type Storage } from '../storage';
import { loggedPath } from './request';

type ByteRange = { start: number; end: number };

/**
 * RFC 9110 §14: one range → that range; several ranges, a malformed header or an unknown unit →
 * null (serve the whole representation, which the RFC allows); a well-formed but unsatisfiable
 * range → 'unsatisfiable'.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return null;
  const specs = m[1]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (specs.length !== 1) return null;
  const spec = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!spec) return null;
  const [, first, last] = spec as unknown as [string, string, string];
  if (first === '' && last === '') return null;

  if (first === '') {
    // Suffix range: the last n bytes (all of them when n exceeds the size).
    const n = Number(last);
    if (!Number.isSafeInteger(n)) return null;
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return null;
  if (last !== '' && end < start) return null; // invalid range-spec → ignored
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

function contentDisposition(filename: string): string {
  // Quoted ASCII fallback for old clients plus RFC 8187 filename* for the real name.
  const fallback = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `inline; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/**
 * Serves a stored object with single-range support. A row whose object is gone from storage is a
 * 404 NOT_FOUND for the client and a warning for us: the file was lost, not never made.
 */
export async function sendStoredFile(
  ctx: Koa.Context,
  storage: Storage,
  key: string,
  opts: { contentType: string; filename?: string; logger: Logger },
): Promise<void> {
  const missing = () => {
    opts.logger.warn({ key, storage: storage.kind, path: loggedPath(ctx), requestId: ctx.state.requestId }, 'stored file missing: its row points to nothing');
    return new AppError('NOT_FOUND', 'The file is missing from storage');
  };
  const info = await storage.stat(key);
  if (!info) throw missing();
  const size = info.bytes;

  ctx.set('Accept-Ranges', 'bytes');
  // Without validators we cannot honour If-Range, so such requests get the whole file (RFC 9110 §13.1.5).
  const range = ctx.get('If-Range') ? null : parseRange(ctx.get('Range') || undefined, size);

  if (range === 'unsatisfiable') {
    ctx.status = 416;
    ctx.set('Content-Range', `bytes */${size}`);
    ctx.body = { error: { code: 'VALIDATION_FAILED', message: 'Requested range not satisfiable' } };
    return;
  }

  const length = range ? range.end - range.start + 1 : size;
  const headersOnly = ctx.method === 'HEAD';
  if (!headersOnly && length > 0) {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await storage.read(key, range ?? undefined);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw missing(); // deleted since the stat
      throw err;
    }
    // Koa pipes only real node streams; the interface type is wider.
    ctx.body = stream instanceof Stream ? stream : Readable.from(stream as AsyncIterable<Buffer>);
  } else if (!headersOnly) {
    ctx.body = Buffer.alloc(0);
  }

  // Status and headers after the body: Koa's body setter adjusts Content-Type/Length itself.
  ctx.status = range ? 206 : 200;
  ctx.set('Content-Type', opts.contentType);
  ctx.set('Content-Length', String(length));
  if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
  if (opts.filename) ctx.set('Content-Disposition', contentDisposition(opts.filename));
}
