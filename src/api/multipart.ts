import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Context } from 'koa';
import { AppError } from '../errors';
import type { ReceivedFile } from '../services/uploads';

// Room for the multipart boundaries and part headers around the file itself.
const MULTIPART_OVERHEAD = 64 * 1024;

const invalid = (message: string, field = 'body') => new AppError('VALIDATION_FAILED', message, { fields: [{ field, message }] });
const tooLarge = (maxBytes: number) => new AppError('PAYLOAD_TOO_LARGE', `The file is larger than ${(maxBytes / 1024 / 1024).toFixed(0)} MB`);

// eslint-disable-next-line no-control-regex -- removing control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;

/** A file name as a person would read it: no folders, no control characters, at most 255 characters. */
function cleanFilename(name: string | undefined): string {
  const base = (name ?? '').normalize('NFC').split(/[/\\]/).pop()!.replace(CONTROL_CHARS, '').trim();
  return Array.from(base).slice(0, 255).join('') || 'upload';
}

/**
 * Receives the one file of a multipart/form-data request, in the form field `field`, into a
 * temporary file, and hands it to `use`; the file is removed afterwards. The size limit holds
 * while the body streams in: a declared length over it is refused before anything is read, and
 * a body that passes it is refused the moment it does (413), without reading the rest.
 */
export async function receiveFile<T>(ctx: Context, opts: { field: string; maxBytes: number }, use: (file: ReceivedFile) => Promise<T>): Promise<T> {
  if (!ctx.request.is('multipart/form-data')) throw invalid(`Send the file as multipart/form-data, in a field named ${opts.field}`);
  if ((ctx.request.length ?? 0) > opts.maxBytes + MULTIPART_OVERHEAD) throw tooLarge(opts.maxBytes);
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: ctx.req.headers,
      defParamCharset: 'utf8', // file names as browsers send them (UTF-8), not Latin-1
      limits: { files: 1, fileSize: opts.maxBytes, fields: 20, fieldSize: 64 * 1024, parts: 30, headerPairs: 100 },
    });
  } catch (err) {
    throw invalid(`Malformed multipart/form-data request: ${(err as Error).message}`);
  }

  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'aimake-upload-'));
  try {
    const file = await new Promise<ReceivedFile>((resolve, reject) => {
      let received: ReceivedFile | null = null;
      let written: Promise<void> = Promise.resolve();
      let out: fs.WriteStream | null = null;
      let failed = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        // Stop reading: the rest of the body is never parsed or stored.
        ctx.req.unpipe(parser);
        out?.destroy();
        reject(err);
      };
      parser.on('file', (name, stream, info) => {
        if (name !== opts.field || received) {
          stream.resume();
          fail(invalid(`Send exactly one file, in the form field ${opts.field}`, `body.${name}`));
          return;
        }
        const file: ReceivedFile = { path: path.join(dir, 'file'), filename: cleanFilename(info.filename), contentType: info.mimeType || null, bytes: 0 };
        received = file;
        stream.on('data', (chunk: Buffer) => {
          file.bytes += chunk.length;
        });
        stream.on('limit', () => fail(tooLarge(opts.maxBytes)));
        out = fs.createWriteStream(file.path);
        written = pipeline(stream, out).catch((err: unknown) => fail(err));
      });
      parser.on('filesLimit', () => fail(invalid(`Send exactly one file, in the form field ${opts.field}`)));
      parser.on('partsLimit', () => fail(invalid('Too many parts in the form')));
      parser.on('fieldsLimit', () => fail(invalid('Too many fields in the form')));
      parser.on('error', (err: Error) => fail(invalid(`Malformed multipart/form-data request: ${err.message}`)));
      parser.on('close', () => {
        void written.then(() => {
          if (failed) return;
          if (!received) fail(invalid(`No file: send one in the form field ${opts.field}`, `body.${opts.field}`));
          else resolve(received);
        });
      });
      ctx.req.on('error', fail);
      ctx.req.pipe(parser);
    });
    return await use(file);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
